"""swquant.matmul and QuantizedLinear against float64 references, every path, shape and scheme.

Run under each kernel tier with SWQUANT_ISA=scalar|simd|avx2|avx512vnni (Tests/run_all.sh does)."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import swquant

SHAPES = [(33, 32), (17, 100), (65, 576), (7, 4096)]  # (n, k): odd n, k from 32 to 4096, ragged tails
BATCHES = [1, 2, 3, 7, 16, 33, 128]
SCHEMES = [
    pytest.param(dict(bits=4, group_size=32), id="int4-g32"),
    pytest.param(dict(bits=4, group_size=64, symmetric=True), id="int4-sym-g64"),
    pytest.param(dict(bits=4, group_size=128), id="int4-g128"),
    pytest.param(dict(bits=4, group_size=None, symmetric=True, signed=False), id="int4-sym-unsigned-channel"),
    pytest.param(dict(bits=8, group_size=None, symmetric=True), id="int8-sym-channel"),
    pytest.param(dict(bits=8, group_size=64, signed=True), id="int8-affine-signed-g64"),
    pytest.param(dict(bits=8, per_tensor=True), id="int8-affine-tensor"),
]
WEIGHT_ONLY_ONLY = [
    pytest.param(dict(bits=3, group_size=64), id="int3-g64"),
    pytest.param(dict(bits=2, group_size=32), id="int2-g32"),
    pytest.param(dict(bits=4, group_size=100), id="int4-g100"),
    pytest.param(dict(bits=4, group_size=30), id="int4-g30"),  # groups that are not a multiple of 4 codes
]


def data(n, k, m, seed=0):
    rng = np.random.default_rng(seed)
    w = (rng.standard_t(df=4, size=(n, k)) * 0.05).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    x[:, :: max(1, k // 5)] *= 10  # a few outlier features, as LLM activations have
    return w, x


def check(y, x64, w64, bias=None, rtol=2e-5):
    """|y - x64 @ w64.T| within rtol of the sum of absolute products (a bound on float32 rounding)."""
    expected = x64 @ w64.T + (0 if bias is None else bias.astype(np.float64))
    scale = np.abs(x64) @ np.abs(w64).T + 1e-30
    assert np.all(np.abs(y - expected) <= rtol * scale), np.max(np.abs(y - expected) / scale)


def check_path(path, activations, scheme, n, k, seed):
    """``matmul`` on ``path`` over every batch size against float64 with the path's activation rounding."""
    w, x = data(n, k, 33, seed=seed)
    q = swquant.quantize(w, **scheme)
    wd = q.dequantize().astype(np.float64)
    for m in BATCHES:
        xm = np.ascontiguousarray(np.resize(x, (m, k)))
        check(swquant.matmul(xm, q, path=path), activations(xm), wd)


@pytest.mark.parametrize("scheme", SCHEMES + WEIGHT_ONLY_ONLY)
@pytest.mark.parametrize("n,k", SHAPES)
def test_weight_only_path(scheme, n, k):
    check_path("weight_only", lambda xm: xm.astype(np.float64), scheme, n, k, seed=0)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("n,k", SHAPES)
def test_int8_path(scheme, n, k):
    check_path("int8", ref.int8_activations, scheme, n, k, seed=1)


@pytest.mark.parametrize("scheme", SCHEMES + WEIGHT_ONLY_ONLY)
@pytest.mark.parametrize("n,k", SHAPES)
def test_int8_per_row_path(scheme, n, k):
    check_path("int8_row", ref.int8_row_activations, scheme, n, k, seed=4)


def test_int8_path_error_against_float_is_small():
    """The int8 paths' extra error (activation rounding) on outlier-heavy activations, stated: the
    relative Frobenius error against the weight-only result stays below 1% with blocks of 32 and below
    4% with one scale per row (measured 0.87% and 3.1%)."""
    w, x = data(256, 1024, 16, seed=2)
    q = swquant.quantize(w, bits=4, group_size=128)
    exact = swquant.matmul(x, q, path="weight_only").astype(np.float64)
    for path, bound in (("int8", 0.01), ("int8_row", 0.04)):
        approx = swquant.matmul(x, q, path=path).astype(np.float64)
        assert np.linalg.norm(approx - exact) / np.linalg.norm(exact) < bound, path


def test_bias_and_one_dimensional_input():
    w, x = data(9, 64, 1)
    bias = np.arange(9, dtype=np.float32)
    for path in ("weight_only", "int8"):
        q = swquant.quantize(w, bits=8, group_size=32)
        y = swquant.matmul(x[0], q, bias, path=path)
        assert y.shape == (9,)
        x64 = x.astype(np.float64) if path == "weight_only" else ref.int8_activations(x)
        check(y[None, :], x64, q.dequantize().astype(np.float64), bias)


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("scheme", [dict(bits=4, group_size=64), dict(bits=8, group_size=None, symmetric=True)])
def test_results_do_not_depend_on_thread_count(batch, scheme):
    w, x = data(301, 512, batch)
    q = swquant.quantize(w, **scheme)
    results = []
    for threads in (1, 2, 3):
        swquant.set_num_threads(threads)
        results.append([swquant.matmul(x, q, path=p) for p in ("weight_only", "int8", "int8_row")])
    swquant.set_num_threads(0)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_non_finite_activations():
    w, x = data(5, 64, 2)
    q = swquant.quantize(w, bits=4, group_size=32)
    x[1, 3] = np.nan
    y = swquant.matmul(x, q, path="weight_only")
    assert np.all(np.isnan(y[1])) and np.all(np.isfinite(y[0]))
    with pytest.raises(swquant.QuantizationError, match="NaN or infinity"):
        swquant.matmul(x, q, path="int8")


def test_auto_path_falls_back_for_weights_int8_cannot_take():
    w, x = data(5, 100, 2)
    q = swquant.quantize(w, bits=3, group_size=50)
    np.testing.assert_array_equal(swquant.matmul(x, q), swquant.matmul(x, q, path="weight_only"))
    with pytest.raises(swquant.QuantizationError, match="weight-only"):
        swquant.matmul(x, q, path="int8")


@pytest.mark.parametrize("x,exc,match", [
    (np.ones((2, 64)), TypeError, "float32"),
    (np.ones((64, 2), np.float32).T, ValueError, "C-contiguous"),
    (np.ones((2, 63), np.float32), ValueError, "shape"),
    (np.ones((0, 64), np.float32), ValueError, "shape"),
    ([[1.0] * 64], TypeError, "numpy"),
])
def test_bad_activations(x, exc, match):
    q = swquant.quantize(np.ones((4, 64), np.float32))
    with pytest.raises(exc, match=match):
        swquant.matmul(x, q)


def test_bad_weights_and_options():
    x = np.ones((2, 8), np.float32)
    with pytest.raises(swquant.QuantizationError, match="per-column"):
        swquant.matmul(x, swquant.quantize(np.ones((4, 8), np.float32), group_size=None, axis=1))
    with pytest.raises(ValueError, match="path"):
        swquant.matmul(x, swquant.quantize(np.ones((4, 8), np.float32)), path="fast")
    with pytest.raises(ValueError, match="bias"):
        swquant.matmul(x, swquant.quantize(np.ones((4, 8), np.float32)), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="2-D"):
        swquant.matmul(x, swquant.quantize(np.ones(8, np.float32)))


def test_quantized_linear():
    w, x = data(12, 256, 4)
    bias = np.linspace(-1, 1, 12).astype(np.float32)
    layer = swquant.QuantizedLinear(w, bias, bits=4, group_size=64, path="weight_only")
    assert (layer.in_features, layer.out_features) == (256, 12)
    check(layer(x), x.astype(np.float64), layer.weight.dequantize().astype(np.float64), bias)


def test_bias_follows_one_rule_in_matmul_and_quantized_linear():
    """Both take a floating-point bias of any precision as float32, and both refuse a wrong length or an
    integer bias when called or built, not at the first call."""
    w, x = data(12, 256, 4)
    q = swquant.quantize(w, bits=4, group_size=64)
    bias = np.linspace(-1, 1, 12)
    expected = swquant.matmul(x, q, bias.astype(np.float32))
    np.testing.assert_array_equal(swquant.matmul(x, q, bias), expected)
    np.testing.assert_array_equal(swquant.QuantizedLinear(q, bias)(x), expected)
    for make in (lambda b: swquant.QuantizedLinear(q, b), lambda b: swquant.matmul(x, q, b)):
        with pytest.raises(ValueError, match=r"shape \(12,\)"):
            make(np.ones(11, np.float32))
        with pytest.raises(TypeError, match="floating-point"):
            make(np.ones(12, np.int32))


def test_cpu_features_reports_the_active_tier():
    text = swquant.cpu_features()
    assert "compiled:" in text and "active:" in text


# ---- static int8 GEMM (gemmlowp) -------------------------------------------------------------------

@pytest.mark.parametrize("scheme", [
    pytest.param(dict(bits=8, group_size=None, symmetric=True), id="signed-per-row"),
    pytest.param(dict(bits=8, group_size=None, symmetric=False), id="unsigned-affine-per-row"),
    pytest.param(dict(bits=8, per_tensor=True, symmetric=False, signed=True), id="signed-affine-per-tensor"),
])
@pytest.mark.parametrize("n,k", [(33, 32), (17, 100), (7, 4096)])
def test_static_int8_sums_are_exact(scheme, n, k):
    w, _ = data(n, k, 1)
    q = swquant.quantize(w, **scheme)
    codes = np.stack([ref.unpack(row, k, 8, q.signed) for row in q.packed]).astype(np.int64)
    w_zero = np.broadcast_to(q.zero_points.reshape(-1, 1) if q.zero_points.ndim else q.zero_points, (n, 1))
    rng = np.random.default_rng(k)
    for m in (1, 3, 16, 33):
        a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
        a_zero = int(rng.integers(0, 256))
        expected = (a.astype(np.int64) - a_zero) @ (codes - w_zero).T
        acc = swquant.matmul_static_int8(a, 0.05, a_zero, q, output="int32")
        np.testing.assert_array_equal(acc, expected)
        w_scale = np.broadcast_to(q.scales, (n,)).astype(np.float32)
        y = swquant.matmul_static_int8(a, 0.05, a_zero, q)
        np.testing.assert_allclose(y, (np.float32(0.05) * w_scale * acc.astype(np.float32)), rtol=1e-6, atol=1e-30)
        out = swquant.matmul_static_int8(a, 0.05, a_zero, q, output="uint8", out_scale=0.5, out_zero_point=128)
        np.testing.assert_array_equal(out, np.clip(np.rint(y / np.float32(0.5)) + 128, 0, 255).astype(np.uint8))


def test_static_int8_approximates_the_float_product():
    w, x = data(64, 256, 8)
    q = swquant.quantize(w, bits=8, group_size=None, symmetric=True)
    lo, hi = float(x.min()), float(x.max())
    a_scale, a_zero = swquant.qparams_from_range(lo, hi, bits=8, symmetric=False)
    a = np.clip(np.rint(x / np.float32(a_scale)) + a_zero, 0, 255).astype(np.uint8)
    bias = np.linspace(-1, 1, 64).astype(np.float32)
    y = swquant.matmul_static_int8(a, a_scale, a_zero, q, bias)
    a_values = (a.astype(np.float64) - a_zero) * a_scale
    check(y, a_values, q.dequantize().astype(np.float64), bias)


def test_static_int8_bad_input():
    q8 = swquant.quantize(np.ones((4, 8), np.float32), bits=8, group_size=None)
    a = np.zeros((2, 8), np.uint8)
    with pytest.raises(swquant.QuantizationError, match="8-bit weights"):
        swquant.matmul_static_int8(a, 1.0, 0, swquant.quantize(np.ones((4, 8), np.float32), bits=4))
    with pytest.raises(swquant.QuantizationError, match="zero point"):
        swquant.matmul_static_int8(a, 1.0, 300, q8)
    with pytest.raises(swquant.QuantizationError, match="scale"):
        swquant.matmul_static_int8(a, 0.0, 0, q8)
    with pytest.raises(TypeError, match="uint8"):
        swquant.matmul_static_int8(a.astype(np.int8), 1.0, 0, q8)
    with pytest.raises(ValueError, match="output"):
        swquant.matmul_static_int8(a, 1.0, 0, q8, output="int8")
