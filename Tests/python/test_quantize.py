"""swquant.quantize / dequantize against the numpy reference, every scheme, edge cases, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import swquant


def llm_like(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Heavy-tailed weights with a few outlier columns, like real LLM weights."""
    rng = np.random.default_rng(seed)
    w = rng.standard_t(df=4, size=(rows, cols)).astype(np.float32) * 0.02
    w[:, rng.choice(cols, size=max(1, cols // 100), replace=False)] *= 20
    return w


SCHEMES = [
    pytest.param(dict(granularity="tensor"), id="tensor"),
    pytest.param(dict(granularity="channel", axis=0), id="channel-rows"),
    pytest.param(dict(granularity="channel", axis=1), id="channel-cols"),
    pytest.param(dict(granularity="group", group=32), id="g32"),
    pytest.param(dict(granularity="group", group=128), id="g128"),
    pytest.param(dict(granularity="group", group=100), id="g100-ragged"),
]


def swq(w, bits, symmetric, signed, granularity, group=0, axis=0, f16=False):
    return swquant.quantize(
        w, bits=bits, group_size=group if granularity == "group" else None, symmetric=symmetric,
        per_tensor=granularity == "tensor", axis=axis, signed=signed, scale_dtype="float16" if f16 else "float32")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("symmetric,signed", [(True, True), (False, False), (False, True), (True, False)],
                         ids=["sym-signed", "affine-unsigned", "affine-signed", "sym-unsigned"])
def test_matches_reference(scheme, bits, symmetric, signed):
    w = llm_like(7, 576, seed=bits)  # 576 = 4 x 128 + 64, and 576 % 100 = 76
    codes, scales, zeros, expected = ref.quantize(w, bits, symmetric, signed, **scheme)
    q = swq(w, bits, symmetric, signed, **scheme)
    np.testing.assert_array_equal(q.scales.ravel(), scales)
    np.testing.assert_array_equal(q.zero_points.ravel(), zeros)
    unpacked = np.stack([ref.unpack(row, w.shape[1], bits, signed) for row in q.packed])
    np.testing.assert_array_equal(unpacked, codes)
    np.testing.assert_array_equal(q.dequantize(), expected)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_half_step_bound(scheme):
    """Every element inside the range comes back within half a step (float64 check)."""
    w = llm_like(5, 333, seed=1)
    q = swq(w, 4, False, False, **scheme)
    step = _per_element(q.scales.ravel(), w.shape, **scheme)
    err = np.abs(w.astype(np.float64) - q.dequantize().astype(np.float64))
    assert np.all(err <= step * 0.5 * (1 + 1e-6))


def _per_element(scales, shape, granularity, group=0, axis=0):
    rows, cols = shape
    if granularity == "tensor":
        return np.full(shape, scales[0], np.float64)
    if granularity == "channel":
        return np.broadcast_to(scales[:, None] if axis == 0 else scales[None, :], shape).astype(np.float64)
    groups = -(-cols // group)
    return np.repeat(scales.reshape(rows, groups), group, axis=1)[:, :cols].astype(np.float64)


def test_group_shapes_and_ragged_last_group():
    w = llm_like(3, 576)
    q = swquant.quantize(w, bits=4, group_size=128)
    assert q.scales.shape == (3, 5) and q.zero_points.shape == (3, 5)
    assert q.packed.shape == (3, 288)
    assert q.group_size == 128 and q.granularity == "group"
    last = w[:, 512:]
    s, _ = ref.params(last[0].min(), last[0].max(), 4, False, False)
    assert q.scales[0, 4] == s  # the 64-element tail group has its own range


def test_bits_per_weight():
    w = llm_like(8, 1024)
    q = swquant.quantize(w, bits=4, group_size=128, scale_dtype="float16")
    assert q.nbytes == 8 * 512 + 8 * 8 * 2 + 8 * 8  # codes + fp16 scales + 1-byte zero points
    assert q.bits_per_weight == pytest.approx(4 + (16 + 8) / 128)
    sym = swquant.quantize(w, bits=8, group_size=None, symmetric=True)
    assert sym.bits_per_weight == pytest.approx(8 + 32 / 1024)


def test_float16_scales_are_exact_and_cover_the_range():
    w = llm_like(4, 256)
    q = swquant.quantize(w, bits=3, group_size=64, scale_dtype="float16")
    assert np.all(q.scales.astype(np.float16).astype(np.float32) == q.scales)
    _, scales, _, expected = ref.quantize(w, 3, False, False, "group", group=64, f16=True)
    np.testing.assert_array_equal(q.scales.ravel(), scales)
    np.testing.assert_array_equal(q.dequantize(), expected)


def test_float16_scale_overflow_is_an_error():
    with pytest.raises(swquant.QuantizationError, match="float16"):
        swquant.quantize(np.array([0, 1e9], np.float32), bits=8, group_size=None, scale_dtype="float16")


def test_one_dimensional_keeps_shape():
    w = llm_like(1, 300)[0]
    q = swquant.quantize(w, bits=8, group_size=64, symmetric=True)
    assert q.shape == (300,) and q.scales.shape == (5,)
    assert q.dequantize().shape == (300,)


def test_float16_output():
    w = llm_like(4, 64)
    q = swquant.quantize(w, bits=4, group_size=32)
    np.testing.assert_array_equal(q.dequantize(np.float16), q.dequantize().astype(np.float16))
    np.testing.assert_array_equal(swquant.dequantize(q, np.float16), q.dequantize(np.float16))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inputs(dtype):
    w32 = llm_like(6, 200)
    if dtype == "float16":
        w16 = w32.astype(np.float16)
        exact = w16.astype(np.float32)
        q = swquant.quantize(w16, bits=4, group_size=64)
    else:
        bits = w32.view(np.uint32) & 0xFFFF0000  # truncation gives exactly representable bfloat16 values
        exact = bits.view(np.float32)
        q = swquant.quantize((bits >> 16).astype(np.uint16), bits=4, group_size=64, dtype="bfloat16")
    expected = swquant.quantize(exact, bits=4, group_size=64)
    np.testing.assert_array_equal(q.packed, expected.packed)
    np.testing.assert_array_equal(q.scales, expected.scales)


# ---- edge cases ------------------------------------------------------------------------------------

def test_all_zeros():
    q = swquant.quantize(np.zeros((3, 40), np.float32), bits=4, group_size=16)
    assert np.all(q.scales == 1) and np.all(q.dequantize() == 0)


@pytest.mark.parametrize("value", [5.0, -3.25, 1e-30])
@pytest.mark.parametrize("symmetric", [True, False])
def test_constant_tensor_is_exact_at_the_range_end(value, symmetric):
    w = np.full((2, 33), value, np.float32)
    q = swquant.quantize(w, bits=8, group_size=None, symmetric=symmetric)
    np.testing.assert_allclose(q.dequantize(), w, rtol=1e-6)


def test_range_excluding_zero_is_widened_to_contain_it():
    w = np.linspace(10, 20, 64, dtype=np.float32)
    q = swquant.quantize(w, bits=8, per_tensor=True)
    assert q.zero_points == 0 and q.scales == np.float32(20 / 255)
    q0 = swquant.quantize(np.float32([0, 10, 20]), bits=8, per_tensor=True)
    assert q0.dequantize()[0] == 0


def test_denormals_and_tiny_values():
    w = np.array([1e-45, -3e-42, 2e-40, 0], np.float32)
    q = swquant.quantize(w, bits=8, per_tensor=True, symmetric=True)
    assert q.scales >= np.finfo(np.float32).tiny
    assert np.all(np.abs(q.dequantize() - w) <= q.scales / 2)


def test_huge_values():
    w = np.array([-3e38, 3e38, 1e38, 0], np.float32)
    q = swquant.quantize(w, bits=8, per_tensor=True)
    assert np.isfinite(q.scales)
    # Half a step, plus the float32 rounding of a scale and of products near the top of the range.
    slack = 4 * np.finfo(np.float32).eps * np.abs(w.astype(np.float64))
    assert np.all(np.abs(q.dequantize().astype(np.float64) - w) <= q.scales.astype(np.float64) / 2 + slack)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_is_a_clear_error(bad):
    w = llm_like(4, 64)
    w[2, 17] = bad
    with pytest.raises(swquant.QuantizationError, match="row 2, column 17") as info:
        swquant.quantize(w, bits=4, group_size=32)
    assert info.value.args[1] == "SWQ_ERR_NON_FINITE"


def test_non_contiguous_input_is_copied():
    w = llm_like(8, 128)
    np.testing.assert_array_equal(swquant.quantize(w.T, bits=4, group_size=32).packed,
                                  swquant.quantize(np.ascontiguousarray(w.T), bits=4, group_size=32).packed)


def test_float64_and_python_numbers_are_converted():
    w = llm_like(2, 64).astype(np.float64)
    np.testing.assert_array_equal(swquant.quantize(w).packed, swquant.quantize(w.astype(np.float32)).packed)
    assert swquant.quantize(list(range(8))).dequantize()[7] == 7


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int64, np.uint8, np.bool_])
def test_integer_arrays_need_an_explicit_meaning(dtype):
    """A uint16 array may hold bfloat16 bit patterns: quantizing it as numbers (0.126 back as 16390.7) is
    refused, as is every other integer array; dtype='bfloat16' or astype(np.float32) says what is meant."""
    bits = (np.float32([0.126, -1.5]).view(np.uint32) >> 16).astype(np.uint16)
    with pytest.raises(TypeError, match="dtype='bfloat16'" if dtype == np.uint16 else "astype"):
        swquant.quantize(bits.astype(dtype), bits=8, group_size=None)
    restored = swquant.quantize(bits, bits=8, group_size=None, dtype="bfloat16").dequantize()
    np.testing.assert_allclose(restored, [0.126, -1.5], rtol=0.02)


@pytest.mark.parametrize("bad,exc,match", [
    ("abc", TypeError, "str"),
    (np.array([1 + 2j]), TypeError, "real"),
    (np.array(["a"]), TypeError, "dtype"),
    (np.zeros((2, 2, 2), np.float32), ValueError, "2-D"),
    (np.zeros((0, 4), np.float32), ValueError, "empty"),
    (np.float32(3), ValueError, "1-D or 2-D"),
])
def test_bad_arrays(bad, exc, match):
    with pytest.raises(exc, match=match):
        swquant.quantize(bad)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(bits=9), ValueError, "bits"),
    (dict(bits=1), ValueError, "bits"),
    (dict(bits=4.0), TypeError, "bits"),
    (dict(group_size=0), ValueError, "group size"),
    (dict(group_size=None, axis=2), ValueError, "axis"),
    (dict(scale_dtype="float64"), ValueError, "scale_dtype"),
    (dict(dtype="int8"), ValueError, "dtype"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        swquant.quantize(np.ones((2, 8), np.float32), **kwargs)


def test_dequantize_into_a_reused_buffer():
    q = swquant.quantize(llm_like(4, 64), bits=4, group_size=32)
    out = np.full((4, 64), np.nan, np.float32)
    assert swquant.dequantize(q, out=out) is out
    np.testing.assert_array_equal(out, q.dequantize())
    for bad in (np.empty((4, 63), np.float32), np.empty((4, 64), np.float64), np.empty((64, 4), np.float32).T):
        with pytest.raises(ValueError, match="out must"):
            q.dequantize(out=bad)


def test_dequantize_rejects_other_objects():
    with pytest.raises(TypeError, match="QuantizedTensor"):
        swquant.dequantize(np.ones(3))
    with pytest.raises(TypeError, match="float32 or float16"):
        swquant.quantize(np.ones(4)).dequantize(np.int8)


def test_results_do_not_depend_on_thread_count():
    w = llm_like(300, 2000, seed=5)  # large enough to split into many work items
    results = []
    for threads in (1, 2, 3):
        swquant.set_num_threads(threads)
        assert swquant.get_num_threads() == threads
        q = swquant.quantize(w, bits=3, group_size=64)
        results.append((q.packed, q.scales, q.dequantize()))
    swquant.set_num_threads(0)
    for packed, scales, values in results[1:]:
        np.testing.assert_array_equal(packed, results[0][0])
        np.testing.assert_array_equal(scales, results[0][1])
        np.testing.assert_array_equal(values, results[0][2])


def test_long_single_row_splits_into_segments():
    """One row longer than a work item (16384 elements) with groups that straddle nothing."""
    w = llm_like(1, 50_000, seed=9)
    for scheme in SCHEMES:
        kwargs = scheme.values[0]
        codes, scales, zeros, expected = ref.quantize(w, 5, False, False, **kwargs)
        np.testing.assert_array_equal(swq(w, 5, False, False, **kwargs).dequantize(), expected)
