#!/usr/bin/env bash
# The arm64 check, on any x86-64 Linux machine: the Swift core type-checks for aarch64 (with and without
# the NEON dot-product tier; the bare-metal embedded standard library stands in for Linux's, and
# Stubs.swift for the C library and Dispatch), and the NEON tier, compiled for aarch64 with its
# `sdot` instructions, runs under qemu-aarch64 against the scalar tier (test_neon_dot.c).
# Needs the Debian packages gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (installed here
# with apt-get when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v aarch64-linux-gnu-gcc > /dev/null || ! command -v qemu-aarch64 > /dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    echo "arm64 check needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user" >&2
    exit 1
  fi
  log="$(mktemp)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; } > "$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
aarch64=(-target aarch64-none-none-elf -enable-experimental-feature Embedded -enable-experimental-feature Extern
         -wmo -parse-as-library -module-name SwQuant)
dotprod=(-DSWQUANT_NEON_DOTPROD -Xcc -march=armv8.2-a+dotprod)
core=$(find Sources/SwQuant -name '*.swift' | sort)

swiftc "${aarch64[@]}" -typecheck $core Tests/arm64/Stubs.swift
swiftc "${aarch64[@]}" "${dotprod[@]}" -typecheck $core Tests/arm64/Stubs.swift
echo "core type-checks for aarch64, with and without the NEON dot-product tier"

swiftc "${aarch64[@]}" "${dotprod[@]}" -O -Xcc -fPIC -c Sources/SwQuant/Matmul/Int8Dot.swift \
  Sources/SwQuant/Matmul/Int8Dot+NEON.swift Tests/arm64/NEONCheck.swift -o "$out/int8_dot.o"
aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Werror -ffp-contract=off -static-pie Tests/arm64/test_neon_dot.c \
  "$out/int8_dot.o" -o "$out/test_neon_dot"
qemu-aarch64 -cpu max "$out/test_neon_dot"
