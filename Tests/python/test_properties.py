"""Property tests (hypothesis): round trips and invariants over random shapes, values and schemes."""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import swquant

finite = st.floats(min_value=-2.0**100, max_value=2.0**100, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def cases(draw):
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 70))  # crosses the 16-lane vector width and odd tails
    w = draw(hnp.arrays(np.float32, (rows, cols), elements=finite))
    bits = draw(st.integers(2, 8))
    symmetric = draw(st.booleans())
    signed = draw(st.booleans())
    kind = draw(st.sampled_from(["tensor", "rows", "cols", "group"]))
    group = draw(st.integers(1, 40))
    return w, bits, symmetric, signed, kind, group


def run(w, bits, symmetric, signed, kind, group):
    return swquant.quantize(w, bits=bits, symmetric=symmetric, signed=signed, per_tensor=kind == "tensor",
                            group_size=group if kind == "group" else None, axis=1 if kind == "cols" else 0)


def reference(w, bits, symmetric, signed, kind, group):
    granularity = {"tensor": "tensor", "rows": "channel", "cols": "channel", "group": "group"}[kind]
    return ref.quantize(w, bits, symmetric, signed, granularity, group=group, axis=1 if kind == "cols" else 0)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_codes_and_values_match_the_reference(case):
    w, bits, symmetric, signed, kind, group = case
    q = run(*case)
    codes, scales, zeros, expected = reference(*case)
    qmin, qmax = ref.grid(bits, signed)
    unpacked = np.stack([ref.unpack(row, w.shape[1], bits, signed) for row in q.packed])
    assert unpacked.min() >= qmin and unpacked.max() <= qmax
    np.testing.assert_array_equal(unpacked, codes)
    np.testing.assert_array_equal(q.scales.ravel(), scales)
    np.testing.assert_array_equal(q.zero_points.ravel(), zeros)
    np.testing.assert_array_equal(q.dequantize(), expected)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_round_trip_error_is_at_most_half_a_step(case):
    w, bits, symmetric, signed, kind, group = case
    q = run(*case)
    _, scales, _, _ = reference(*case)
    rows, cols = w.shape
    if kind == "tensor":
        step = np.full(w.shape, scales[0], np.float64)
    elif kind == "rows":
        step = np.repeat(scales[:, None], cols, axis=1).astype(np.float64)
    elif kind == "cols":
        step = np.repeat(scales[None, :], rows, axis=0).astype(np.float64)
    else:
        step = np.repeat(scales.reshape(rows, -1), group, axis=1)[:, :cols].astype(np.float64)
    # A symmetric signed grid loses nothing at -max; an unsigned symmetric grid reaches -2^(b-1) too.
    slack = 4 * np.finfo(np.float32).eps * np.abs(w.astype(np.float64)) + np.finfo(np.float32).tiny
    assert np.all(np.abs(q.dequantize().astype(np.float64) - w) <= step / 2 + slack)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_fake_quantize_equals_quantize_then_dequantize(case):
    w, bits, symmetric, signed, kind, group = case
    q = run(*case)
    kwargs = {"tensor": {}, "rows": {"axis": 0}, "cols": {"axis": 1}, "group": {"group_size": group}}[kind]
    out = swquant.fake_quantize(w, q.scales, q.zero_points, bits=bits, signed=signed, **kwargs)
    np.testing.assert_array_equal(out, q.dequantize())


@settings(max_examples=100, deadline=None)
@given(cases())
def test_quantization_is_idempotent(case):
    """Dequantized values are on the grid: quantizing them again with the same parameters is exact."""
    w, bits, symmetric, signed, kind, group = case
    q = run(*case)
    kwargs = {"tensor": {}, "rows": {"axis": 0}, "cols": {"axis": 1}, "group": {"group_size": group}}[kind]
    once = q.dequantize()
    np.testing.assert_array_equal(
        swquant.fake_quantize(once, q.scales, q.zero_points, bits=bits, signed=signed, **kwargs), once)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 300), elements=finite),
       hnp.arrays(np.float32, st.integers(1, 300), elements=finite))
def test_metrics_match_float64_numpy(a, b):
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    m = swquant.error_metrics(a, b)
    err = a.astype(np.float64) - b.astype(np.float64)
    np.testing.assert_allclose(m.mse, np.mean(err**2), rtol=1e-12)
    assert m.max_abs_error == np.max(np.abs(err))
    signal, noise = np.sum(a.astype(np.float64) ** 2), np.sum(err**2)
    if noise > 0 and signal > 0:
        np.testing.assert_allclose(m.sqnr_db, 10 * np.log10(signal / noise), rtol=1e-9, atol=1e-9)
