"""Quantized matmul against numpy float32 (OpenBLAS), interleaved in one run.

y = x @ W.T for (K, N) weight shapes and batch sizes M; swquant's weight-only, dynamic int8 (blocks of 32)
and per-row int8 paths at
4-bit groups of 128 (affine) and 8-bit per channel (symmetric), and the static int8 GEMM on the 8-bit
weights (activations already uint8), with 1 and 2 threads. For M = 1 every
contender rotates through distinct copies of its weights totalling at least 512 MB, so that weights
stream from memory as when decoding a model larger than the 260 MB last-level cache. Prints median
microseconds, GFLOP/s, weight GB/s (M = 1) and the ratio to numpy; numpy's M = 1 weight GB/s is the
machine's achievable read bandwidth (float32 GEMV is memory-bound).

Run after `pip install .`:  python benchmarks/bench_matmul.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time

# OpenBLAS threads spin for about 2^28 cycles after each call by default, stealing the second core from
# whatever runs next in an interleaved benchmark; 2^4 makes them yield at once (set before numpy loads).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

import swquant  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # numpy then uses its default thread count for both rows
    threadpool_limits = None

ROTATION_BYTES = 512 << 20
SCHEMES = {
    "q4 g128": dict(bits=4, group_size=128),
    "q8 chan": dict(bits=8, group_size=None, symmetric=True),
}


def copies_for(nbytes: int, m: int) -> int:
    return max(1, -(-ROTATION_BYTES // nbytes)) if m == 1 else 1


def timed(fn, index: int) -> float:
    start = time.perf_counter()
    fn(index)
    return time.perf_counter() - start


def run(k: int, n: int, batches: list[int], threads: list[int]) -> None:
    rng = np.random.default_rng(0)
    base = (rng.standard_t(df=4, size=(n, k)) * 0.02).astype(np.float32)
    for m in batches:
        x = rng.standard_normal((m, k)).astype(np.float32)
        floats = [base + np.float32(i * 1e-3) for i in range(copies_for(base.nbytes, m))]
        quantized = {}
        for name, options in SCHEMES.items():
            q0 = swquant.quantize(base, **options)
            quantized[name] = [q0] + [swquant.quantize(base + np.float32(i * 1e-3), **options)
                                      for i in range(1, copies_for(q0.nbytes, m))]
        contenders = {"numpy f32": (lambda i: x @ floats[i % len(floats)].T, base.nbytes)}
        for name, qs in quantized.items():
            for path in ("weight_only", "int8", "int8_row"):
                contenders[f"{name} {path}"] = ((lambda i, qs=qs, path=path: swquant.matmul(x, qs[i % len(qs)], path=path)),
                                                qs[0].nbytes)
        # Static int8: activations already uint8 with calibrated parameters (the previous layer's
        # requantized output), against the same 8-bit per-channel weights.
        a_scale, a_zero = swquant.qparams_from_range(float(x.min()), float(x.max()), bits=8, symmetric=False)
        a_codes = np.clip(np.rint(x / np.float32(a_scale)) + a_zero, 0, 255).astype(np.uint8)
        q8 = quantized["q8 chan"]
        contenders["q8 chan static-int8"] = ((lambda i: swquant.matmul_static_int8(a_codes, a_scale, a_zero, q8[i % len(q8)])),
                                             q8[0].nbytes)
        flops = 2.0 * m * k * n
        for t in threads:
            swquant.set_num_threads(t)
            limits = threadpool_limits(t) if threadpool_limits else None
            samples = {name: [] for name in contenders}
            for fn, _ in contenders.values():
                fn(0)  # warm up
            for r in range(20 if m <= 8 else 5):  # interleaved rounds; medians
                for name, (fn, _) in contenders.items():
                    samples[name].append(timed(fn, r))
            if limits:
                limits.unregister()
            base_time = statistics.median(samples["numpy f32"])
            for name, (_, nbytes) in contenders.items():
                median = statistics.median(samples[name])
                bandwidth = f"{nbytes / median / 1e9:7.1f}" if m == 1 else "      -"
                print(f"{k:>6} {n:>6} {m:>4} {t:>2}  {name:<22}{median * 1e6:>10.0f}{flops / median / 1e9:>9.1f}"
                      f"{bandwidth:>8}{base_time / median:>8.2f}x")
        swquant.set_num_threads(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4096 x 4096 only, M in {1, 512}")
    args = parser.parse_args()
    shapes = [(4096, 4096)] if args.quick else [(4096, 4096), (4096, 11008), (11008, 4096)]
    batches = [1, 512] if args.quick else [1, 8, 32, 128, 512]
    print(f"swquant {swquant.__version__} vs numpy {np.__version__}; {os.cpu_count()} cores; {datetime.date.today()}")
    print(f"kernels: {swquant.cpu_features()}")
    print(f"{'K':>6} {'N':>6} {'M':>4} {'th':>2}  {'contender':<22}{'us':>10}{'GFLOP/s':>9}{'GB/s':>8}{'vs np':>9}")
    for k, n in shapes:
        run(k, n, batches, [1, 2])


if __name__ == "__main__":
    main()
