"""Calibration throughput and memory: 2 GB of float32 activations observed in 64 MB batches.

For each method, swquant observes 32 batches of 64 MB (one buffer, rescaled in place between batches so
every batch differs) with 1 and 2 threads and reports GB/s and how much the process's peak memory grew
beyond the batch itself. ONNX Runtime's HistogramCollector (numpy) runs on a few of the same batches in the
same process for comparison (it is much slower, so it sees fewer batches).

Run after `pip install .`:  python benchmarks/bench_observer.py
"""

from __future__ import annotations

import contextlib
import datetime
import io
import resource
import time

import numpy as np

import swquant

BATCH = 16 << 20  # float32 values: 64 MB
BATCHES = 32      # 2 GB in all


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    rng = np.random.default_rng(0)
    batch = rng.standard_t(df=4, size=BATCH).astype(np.float32)
    print(f"swquant {swquant.__version__}, {datetime.date.today()}: {BATCHES} batches of 64 MB (2 GB of float32)")
    print(f"{'method':<12}{'threads':>8}{'GB/s':>8}{'peak memory growth MB':>24}")
    for method, options in [("minmax", {}), ("ema", {}), ("percentile", {"percentile": 99.99}), ("mse", {}), ("entropy", {})]:
        for threads in (1, 2):
            swquant.set_num_threads(threads)
            observer = swquant.Observer(method, **options)
            before = peak_mb()
            start = time.perf_counter()
            for i in range(BATCHES):
                observer.observe(batch)
                batch *= np.float32(1.001 if i % 2 else 0.999)
            elapsed = time.perf_counter() - start
            observer.range()
            print(f"{method:<12}{threads:>8}{BATCHES * batch.nbytes / elapsed / 1e9:>8.2f}{peak_mb() - before:>24.1f}")
    swquant.set_num_threads(0)
    try:
        from onnxruntime.quantization.calibrate import HistogramCollector
    except ImportError:
        return
    collector = HistogramCollector(method="percentile", symmetric=False, num_bins=2048, num_quantized_bins=128,
                                   percentile=99.99, scenario="same")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(4):
            collector.collect({"t": batch})
    elapsed = time.perf_counter() - start
    print(f"{'onnxruntime histogram (numpy), 4 batches':<40}{4 * batch.nbytes / elapsed / 1e9:>8.2f} GB/s")


if __name__ == "__main__":
    main()
