"""Quantizes a weight matrix with several schemes and reports size and error.

Run after `pip install .`:  python examples/python/quantize_demo.py
"""

import numpy as np

import swquant


def main() -> None:
    rng = np.random.default_rng(0)
    w = (rng.standard_t(df=4, size=(256, 576)) * 0.02).astype(np.float32)  # heavy-tailed, like LLM weights
    print(f"swquant {swquant.__version__}: {w.shape[0]} x {w.shape[1]} weights, {swquant.get_num_threads()} threads")
    for name, kwargs in [
        ("int8 symmetric per channel", dict(bits=8, group_size=None, symmetric=True)),
        ("int4 affine groups of 128", dict(bits=4, group_size=128)),
        ("int4 affine g128, fp16 scales", dict(bits=4, group_size=128, scale_dtype="float16")),
        ("int3 affine groups of 64", dict(bits=3, group_size=64)),
    ]:
        q = swquant.quantize(w, **kwargs)
        m = swquant.error_metrics(w, q.dequantize())
        print(f"  {name:32s} {q.bits_per_weight:6.3f} bits/w  SQNR {m.sqnr_db:6.2f} dB  max err {m.max_abs_error:.4f}")
    # fake quantization (the QAT forward) with the parameters quantize chose is the same computation
    q = swquant.quantize(w, bits=4, group_size=128)
    assert np.array_equal(swquant.fake_quantize(w, q.scales, q.zero_points, bits=4, signed=False, group_size=128),
                          q.dequantize())


if __name__ == "__main__":
    main()
