"""ggml block types: quantize and dequantize throughput of swquant against llama.cpp's own C quantizer
(ggml_quantize_chunk and the type's to_float, single-threaded as llama-quantize calls them per chunk,
through ctypes) and the gguf package's numpy code, on the same rows, in one run; and the cost of opening
a model file and reading one tensor.

Rows: 1024 x 4096 float32 (16 MB), standard normal with per-row scales. Runs are interleaved; each figure
is the median of the repeats, in MB/s of float32 values; ratios are the peer's time over swquant's
(higher: swquant faster), for swquant on one thread (the peers' condition) and on all threads. Needs the
llama.cpp build of Tests/oracles/build_llama_cpp.sh.

Run after `pip install .`:  python benchmarks/bench_ggml_blocks.py [--repeats N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time

import gguf
import numpy as np

import swquant
from swquant import ggml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "python"))
import ggml_oracle  # noqa: E402

NUMPY_QUANTIZE = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4"}


def median_seconds(samples: list[float]) -> float:
    return statistics.median(samples)


def single_threaded(run):
    def run_on_one_thread():
        swquant.set_num_threads(1)
        try:
            return run()
        finally:
            swquant.set_num_threads(0)
    return run_on_one_thread


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    oracle = ggml_oracle.GGML()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1024, 4096)) * rng.uniform(0.01, 2, (1024, 1))).astype(np.float32)
    importance = (rng.standard_normal(4096) ** 2).astype(np.float32)
    megabytes = x.nbytes / 1e6
    print(f"# {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, swquant {swquant.__version__} "
          f"({swquant.get_num_threads()} threads), rows 1024 x 4096 float32, medians of {args.repeats}")
    threads = swquant.get_num_threads()
    print(f"| type | op | swquant 1 thread | swquant {threads} threads | llama.cpp | gguf numpy | vs llama.cpp, 1 thread "
          f"| vs llama.cpp, {threads} threads | vs numpy, 1 thread |")
    print("|---|---|---|---|---|---|---|---|---|")
    for info in ggml.types():
        if not info.has_codec or info.name in ("F32", "F16", "BF16"):
            continue
        qtype = gguf.GGMLQuantizationType[info.name]
        contenders = {
            "quantize": {"swquant": lambda: ggml.quantize(x, info.name),
                         "llama.cpp": lambda: oracle.quantize(x, info.id)},
            "quantize, imatrix": {"swquant": lambda: ggml.quantize(x, info.name, importance),
                                  "llama.cpp": lambda: oracle.quantize(x, info.id, importance)},
        }
        for runners in contenders.values():
            runners["swquant 1t"] = single_threaded(runners["swquant"])
        if info.name in NUMPY_QUANTIZE:
            contenders["quantize"]["numpy"] = lambda: gguf.quants.quantize(x, qtype)
        blocks = ggml.quantize(x, info.name)
        dequantize = lambda: ggml.dequantize(blocks, info.name, 4096)  # noqa: E731
        contenders["dequantize"] = {"swquant": dequantize, "swquant 1t": single_threaded(dequantize),
                                    "llama.cpp": lambda: oracle.dequantize(blocks, info.id, 4096),
                                    "numpy": lambda: gguf.quants.dequantize(blocks, qtype)}
        if not info.uses_importance:
            del contenders["quantize, imatrix"]
        for op, runners in contenders.items():
            samples: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(args.repeats):
                for name, run in runners.items():
                    start = time.perf_counter()
                    run()
                    samples[name].append(time.perf_counter() - start)
            seconds = {name: median_seconds(s) for name, s in samples.items()}
            rate = {name: megabytes / s for name, s in seconds.items()}
            numpy_rate = f"{rate['numpy']:.0f}" if "numpy" in rate else "-"
            numpy_ratio = f"{seconds['numpy'] / seconds['swquant 1t']:.1f}x" if "numpy" in seconds else "-"
            print(f"| {info.name} | {op} | {rate['swquant 1t']:.0f} | {rate['swquant']:.0f} | {rate['llama.cpp']:.0f} | "
                  f"{numpy_rate} | {seconds['llama.cpp'] / seconds['swquant 1t']:.2f}x | "
                  f"{seconds['llama.cpp'] / seconds['swquant']:.2f}x | {numpy_ratio} |")

    print()
    print("| file | open (ms) | open + read one tensor (ms) | gguf.GGUFReader open (ms) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        small = os.path.join(folder, "small.gguf")
        big = os.path.join(folder, "big.gguf")
        for path, tensors in ((small, 4), (big, 64)):
            with swquant.GGUFWriter(path) as writer:
                for i in range(tensors):
                    writer.add_tensor(f"blk.{i}.ffn_up.weight", x, type="Q8_0")
            opened, read, peer = [], [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                model = swquant.open_model(path)
                opened.append(time.perf_counter() - start)
                model["blk.1.ffn_up.weight"].numpy()
                read.append(time.perf_counter() - start)
                model.close()
                start = time.perf_counter()
                gguf.GGUFReader(path)
                peer.append(time.perf_counter() - start)
            size = os.path.getsize(path) / 1e9
            print(f"| {tensors} Q8_0 tensors, {size:.2f} GB | {1e3 * median_seconds(opened):.2f} | "
                  f"{1e3 * median_seconds(read):.1f} | {1e3 * median_seconds(peer):.1f} |")


if __name__ == "__main__":
    main()
