"""Quantize/dequantize throughput of swquant against numpy doing the same formulas, in one run.

4096 x 4096 float32 weights; 4-bit affine groups of 128 and 8-bit symmetric per channel; swquant at 1
and 2 threads; runs interleaved, medians of several repeats, GB/s of float32 data and the ratio to numpy.
"deq. reused" dequantizes into a preallocated array (no page faults); numpy's row is its usual formula.

Run after `pip install .`:  python benchmarks/bench_quantize.py
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time

import numpy as np

import swquant


def numpy_quantize_g128(w):
    g = w.reshape(w.shape[0], -1, 128)
    lo = np.minimum(g.min(axis=2, keepdims=True), 0)
    hi = np.maximum(g.max(axis=2, keepdims=True), 0)
    scale = ((hi.astype(np.float64) - lo) / 15).astype(np.float32)
    scale[scale == 0] = 1
    zero = np.clip(-np.rint(lo / scale), 0, 15)
    q = np.clip(np.rint(g / scale) + zero, 0, 15).astype(np.uint8).reshape(w.shape[0], -1)
    return (q[:, 0::2] | (q[:, 1::2] << 4)), scale, zero.astype(np.int32)


def numpy_dequantize_g128(packed, scale, zero):
    q = np.empty((packed.shape[0], packed.shape[1] * 2), np.int32)
    q[:, 0::2] = packed & 15
    q[:, 1::2] = packed >> 4
    g = q.reshape(q.shape[0], -1, 128)
    return ((g - zero).astype(np.float32) * scale).reshape(q.shape)


def numpy_quantize_int8_channel(w):
    scale = (np.abs(w).max(axis=1, keepdims=True).astype(np.float64) / 127).astype(np.float32)
    scale[scale == 0] = 1
    return np.clip(np.rint(w / scale), -128, 127).astype(np.int8), scale


def numpy_dequantize_int8_channel(q, scale):
    return q.astype(np.float32) * scale


def median_seconds(fn, repeats):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(repeats: int = 7) -> None:
    rng = np.random.default_rng(0)
    w = (rng.standard_t(df=4, size=(4096, 4096)) * 0.02).astype(np.float32)
    gigabytes = w.nbytes / 1e9
    print(f"swquant {swquant.__version__} vs numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} cores, "
          f"{datetime.date.today()}; 4096 x 4096 float32, GB/s of float data, medians of {repeats}")
    cases = {
        "int4 affine g128": (lambda: swquant.quantize(w, bits=4, group_size=128),
                             lambda: numpy_quantize_g128(w), numpy_dequantize_g128),
        "int8 sym per-channel": (lambda: swquant.quantize(w, bits=8, group_size=None, symmetric=True),
                                 lambda: numpy_quantize_int8_channel(w), numpy_dequantize_int8_channel),
    }
    print(f"{'scheme':22s}{'op':>12s}{'numpy':>9s}{'swq 1t':>9s}{'swq 2t':>9s}{'ratio 1t':>10s}{'ratio 2t':>10s}")
    for name, (swq_quantize, np_quantize, np_dequantize) in cases.items():
        q, reference = swq_quantize(), np_quantize()
        timings = {"quantize": {}, "dequantize": {}, "deq. reused": {}}
        reused = np.empty(w.shape, np.float32)
        for _ in range(repeats):  # interleave: one sample of each contender per round
            for threads in (1, 2):
                swquant.set_num_threads(threads)
                timings["quantize"].setdefault(threads, []).append(median_seconds(swq_quantize, 1))
                timings["dequantize"].setdefault(threads, []).append(median_seconds(q.dequantize, 1))
                timings["deq. reused"].setdefault(threads, []).append(median_seconds(lambda: q.dequantize(out=reused), 1))
            timings["quantize"].setdefault("numpy", []).append(median_seconds(np_quantize, 1))
            numpy_dequantize = median_seconds(lambda: np_dequantize(*reference), 1)
            timings["dequantize"].setdefault("numpy", []).append(numpy_dequantize)
            timings["deq. reused"].setdefault("numpy", []).append(numpy_dequantize)  # numpy allocates temporaries anyway
        swquant.set_num_threads(0)
        for op, samples in timings.items():
            rate = {k: gigabytes / statistics.median(v) for k, v in samples.items()}
            print(f"{name:22s}{op:>12s}{rate['numpy']:9.2f}{rate[1]:9.2f}{rate[2]:9.2f}"
                  f"{rate[1] / rate['numpy']:9.1f}x{rate[2] / rate['numpy']:9.1f}x")


if __name__ == "__main__":
    main()
