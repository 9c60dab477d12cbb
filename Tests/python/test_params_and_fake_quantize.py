"""qparams_from_range, compute_qparams, fake_quantize and the metrics helpers."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import swquant


@pytest.mark.parametrize("lo,hi", [(-1.0, 3.0), (0.5, 2.0), (-4.0, -1.0), (0.0, 0.0), (-1e-40, 1e-40)])
@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("symmetric", [True, False])
def test_qparams_from_range_matches_reference(lo, hi, bits, symmetric):
    scale, zero = swquant.qparams_from_range(lo, hi, bits=bits, symmetric=symmetric)
    expected_scale, expected_zero = ref.params(lo, hi, bits, symmetric, symmetric)
    assert np.float32(scale) == expected_scale and zero == expected_zero


def test_qparams_hand_worked():
    # affine 8-bit on [-1, 3]: scale 4/255, zero point 0 - rint(-1 / (4/255)) = 64 (63.75 rounds to 64)
    scale, zero = swquant.qparams_from_range(-1, 3, bits=8, symmetric=False)
    assert np.float32(scale) == np.float32(4 / 255) and zero == 64
    # symmetric 4-bit on [-2, 7]: scale 7/7 = 1, zero 0
    assert swquant.qparams_from_range(-2, 7, bits=4, symmetric=True) == (1.0, 0)


@pytest.mark.parametrize("lo,hi,match", [(2, 1, "above"), (float("nan"), 1, "finite"), (0, float("inf"), "finite")])
def test_qparams_bad_range(lo, hi, match):
    with pytest.raises(swquant.QuantizationError, match=match):
        swquant.qparams_from_range(lo, hi)


def test_compute_qparams_equals_quantize():
    w = np.random.default_rng(3).standard_normal((9, 200)).astype(np.float32)
    scales, zeros = swquant.compute_qparams(w, bits=3, group_size=64)
    q = swquant.quantize(w, bits=3, group_size=64)
    np.testing.assert_array_equal(scales, q.scales)
    np.testing.assert_array_equal(zeros, q.zero_points)


def test_fake_quantize_hand_worked():
    x = np.array([0.26, -1.0, 0.75, 100.0, -100.0], np.float32)
    # no zero point: symmetric, signed 4-bit [-8, 7]: 0.52 -> 1, -2, 1.5 -> 2 (half to even), 200 -> 7, -200 -> -8
    out = swquant.fake_quantize(x, scale=0.5, bits=4)
    np.testing.assert_array_equal(out, np.float32([0.5, -1.0, 1.0, 3.5, -4.0]))
    # a zero point: affine, unsigned 4-bit [0, 15] with zero point 3: clamps at (0 - 3) * 0.5 and (15 - 3) * 0.5
    out = swquant.fake_quantize(x, scale=0.5, zero_point=3, bits=4)
    np.testing.assert_array_equal(out, np.float32([0.5, -1.0, 1.0, 6.0, -1.5]))
    # a zero point on a signed grid [-8, 7]: clamps at (-8 - 2) * 0.5 and (7 - 2) * 0.5
    out = swquant.fake_quantize(x, scale=0.5, zero_point=2, bits=4, signed=True)
    np.testing.assert_array_equal(out, np.float32([0.5, -1.0, 1.0, 2.5, -5.0]))
    # symmetric on the unsigned grid: the fixed zero point 2^(bits-1) = 8, so [-8, 7] steps as signed
    out = swquant.fake_quantize(x, scale=0.5, bits=4, signed=False)
    np.testing.assert_array_equal(out, np.float32([0.5, -1.0, 1.0, 3.5, -4.0]))


@pytest.mark.parametrize("zero", [2.5, 3.5, 2.4999, -0.6, 99.0, -40.0])
def test_fake_quantize_float_zero_point_rounds_half_even_and_clamps(zero):
    """A learned float zero point is used as round-half-even then clamped to the grid (torch's forward)."""
    x = np.linspace(-3, 3, 25, dtype=np.float32)
    integer = int(np.clip(np.rint(zero), 0, 15))  # numpy's rint rounds half to even
    expected = swquant.fake_quantize(x, 0.25, integer, bits=4)
    np.testing.assert_array_equal(swquant.fake_quantize(x, 0.25, np.float32(zero), bits=4), expected)
    grads = swquant.fake_quantize_grad(x, np.ones_like(x), 0.25, zero, bits=4)
    for got, want in zip(grads, swquant.fake_quantize_grad(x, np.ones_like(x), 0.25, integer, bits=4)):
        np.testing.assert_array_equal(got, want)


def test_fake_quantize_float_zero_point_rejects_nan():
    with pytest.raises(swquant.QuantizationError, match="finite"):
        swquant.fake_quantize(np.ones(4, np.float32), 0.1, float("nan"))


def test_fake_quantize_per_channel_and_dtype():
    x = np.arange(12, dtype=np.float16).reshape(3, 4)
    out = swquant.fake_quantize(x, scale=np.array([1, 2, 4], np.float32), bits=8, axis=0)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, np.float16([[0, 1, 2, 3], [4, 4, 6, 8], [8, 8, 8, 12]]))  # 5/2 and 10/4 round to even


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(scale=0.0), swquant.QuantizationError, "positive"),
    (dict(scale=float("nan")), swquant.QuantizationError, "positive"),
    (dict(scale=1.0, zero_point=300), swquant.QuantizationError, "grid"),
    (dict(scale=1.0, zero_point="3"), TypeError, "real numbers"),
    (dict(scale=np.ones(3, np.float32)), ValueError, "axis"),
    (dict(scale=np.ones(3, np.float32), axis=0), ValueError, "2 are needed"),
    (dict(scale=1.0, axis=0, group_size=2), ValueError, "not both"),
])
def test_fake_quantize_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        swquant.fake_quantize(np.ones((2, 4), np.float32), **kwargs)


def test_fake_quantize_rejects_nan():
    with pytest.raises(swquant.QuantizationError, match="nan"):
        swquant.fake_quantize(np.array([1.0, np.nan], np.float32), scale=0.1)


def test_metrics_hand_worked():
    m = swquant.error_metrics([1.0, 2.0, 2.0], [1.0, 2.5, 2.0])
    assert m.mse == pytest.approx(0.25 / 3, rel=1e-15) and m.max_abs_error == 0.5
    assert m.sqnr_db == pytest.approx(10 * np.log10(9 / 0.25), rel=1e-14)
    assert swquant.sqnr([1, 2], [1, 2]) == float("inf")
    assert swquant.mse([0, 0], [1, 1]) == 1.0 and swquant.max_abs_error([0], [-2]) == 2.0
    with pytest.raises(ValueError, match="shapes differ"):
        swquant.sqnr([1, 2], [1, 2, 3])


@pytest.mark.parametrize("bits,signed", [(8, False), (8, True), (4, True), (3, False)])
def test_quantize_codes_match_the_reference_and_fake_quantize(bits, signed):
    rng = np.random.default_rng(bits)
    x = rng.standard_normal((7, 45)).astype(np.float32) * 3
    scale = rng.uniform(0.05, 0.5, size=7).astype(np.float32)
    qmin, qmax = ref.grid(bits, signed)
    zero = rng.integers(qmin, qmax + 1, size=7).astype(np.int32)
    codes = swquant.quantize_codes(x, scale, zero, bits=bits, signed=signed, axis=0)
    assert codes.dtype == (np.int8 if signed else np.uint8)
    expected = np.stack([ref.codes(x[r], scale[r], zero[r], bits, signed) for r in range(7)])
    np.testing.assert_array_equal(codes.astype(np.int32), expected)
    fake = swquant.fake_quantize(x, scale, zero, bits=bits, signed=signed, axis=0)
    np.testing.assert_array_equal((codes.astype(np.int32) - zero[:, None]).astype(np.float32) * scale[:, None], fake)
    with pytest.raises(swquant.QuantizationError, match="nan"):
        swquant.quantize_codes(np.array([np.nan], np.float32), 0.1)
