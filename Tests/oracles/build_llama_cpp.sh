#!/usr/bin/env bash
# Builds llama.cpp, the oracle of the ggml block-type and GGUF tests, into a cache outside the clone
# (default ~/.cache/swquant/llama.cpp, or $SWQUANT_LLAMA_CPP) and prints that folder. It rebuilds only what
# is missing: the source comes from the PyPI sdist of llama-cpp-python (which vendors llama.cpp), the build
# gives libggml-base.so (its reference quantizers, called through ctypes) and llama-quantize,
# llama-perplexity and llama-imatrix. Needs cmake, ninja, a C/C++ compiler and pip; it took 3 min 48 s on
# the 2-core development machine.
set -euo pipefail
root="${SWQUANT_LLAMA_CPP:-$HOME/.cache/swquant/llama.cpp}"
version=0.3.36
python="${PYTHON:-python3}"
mkdir -p "$root"
if [ ! -f "$root/src/CMakeLists.txt" ]; then
  tmp="$(mktemp -d)"
  "$python" -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
    "llama-cpp-python==$version" -d "$tmp" >&2
  tar xzf "$tmp/llama_cpp_python-$version.tar.gz" -C "$tmp"
  rm -rf "$root/src"
  mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$root/src"
  rm -rf "$tmp"
fi
if [ ! -x "$root/build/bin/llama-perplexity" ] || [ ! -f "$root/build/bin/libggml-base.so" ]; then
  cmake -S "$root/src" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DBUILD_SHARED_LIBS=ON > "$root/configure.log"
  cmake --build "$root/build" --target llama-quantize llama-perplexity llama-imatrix ggml-base \
    > "$root/build.log" 2>&1 || { tail -50 "$root/build.log" >&2; exit 1; }
fi
echo "$root"
