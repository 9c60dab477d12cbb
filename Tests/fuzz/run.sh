#!/usr/bin/env bash
# Fuzzes every deserializer and file parser of the core with libFuzzer (FuzzDeserializers.swift built with
# the core's sources, AddressSanitizer on): `bash Tests/fuzz/run.sh [RUNS] [TARGET...]` runs each target
# (all by default) RUNS inputs (default 1,000,000). The state targets are seeded with valid states that the
# Python package writes when it is importable, the file parsers with the committed corpus in
# Tests/fuzz/corpus/ (small GGUF and safetensors files from swquant and from the gguf and safetensors
# packages). Exits non-zero on the first crash, leaving the input in .build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-1000000}"
shift || true
targets="${*:-observer layer_stats qtensor gguf safetensors}"
out=.build-fuzz
mkdir -p "$out"
swiftc -sanitize=fuzzer,address -use-ld=lld -parse-as-library -O -module-name SwQuantFuzz \
  $(find Sources/SwQuant -name '*.swift' | sort) Tests/fuzz/FuzzDeserializers.swift -o "$out/fuzz-deserializers"

for target in $targets; do
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  seeds=()
  [ -d "Tests/fuzz/corpus/$target" ] && seeds=("Tests/fuzz/corpus/$target")
  [ ${#seeds[@]} -eq 0 ] && "${PYTHON:-python3}" - "$target" "$corpus" <<'PY' 2>/dev/null || true
import sys, numpy as np, swquant
target, corpus = sys.argv[1], sys.argv[2]
x = np.random.default_rng(0).standard_t(df=3, size=(6, 40)).astype(np.float32)
if target == "observer":
    states = []
    for method in ("minmax", "ema", "percentile", "mse", "entropy"):
        for axis in (None, 0, 1):
            o = swquant.Observer(method, axis=axis, bins=16, **({"quantized_bins": 4} if method == "entropy" else {}))
            states.append(o.to_bytes())
            o.observe(x)
            states.append(o.to_bytes())
elif target == "layer_stats":
    s = swquant.LayerStats(6)
    states = [s.to_bytes()]
    s.observe(x[:, :6])
    states.append(s.to_bytes())
else:
    states = [swquant.quantize(x, bits=b, group_size=g, symmetric=sym).to_bytes()
              for b in (2, 4, 8) for g in (None, 16, 32) for sym in (False, True)]
for i, state in enumerate(states):
    open(f"{corpus}/seed-{i}", "wb").write(state)
PY
  echo "fuzzing the $target parser: $runs inputs"
  SWQUANT_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0 "$out/fuzz-deserializers" "$corpus" "${seeds[@]}" -runs="$runs" \
    -max_len=4096 -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix="$out/crash-$target-" 2>&1 |
    grep -E "^(Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true
  test -z "$(ls "$out"/crash-"$target"-* 2>/dev/null)"
done
