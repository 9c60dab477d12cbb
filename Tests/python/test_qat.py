"""fake_quantize_grad: straight-through and LSQ gradients against finite differences and a float64
reference of the formulas."""

from __future__ import annotations

import numpy as np
import pytest

import swquant

CASES = [
    pytest.param(dict(), (), id="tensor"),
    pytest.param(dict(axis=0), (6,), id="rows"),
    pytest.param(dict(axis=1), (40,), id="columns"),
    pytest.param(dict(group_size=16), (6, 3), id="groups"),
]


def setup(shape_params, bits=4, seed=0, signed=True):
    """x away from rounding boundaries: x / s has a fractional part in [0.1, 0.4] or [0.6, 0.9], and a
    few values far outside the range so that clipping is exercised."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.05, 0.2, size=shape_params).astype(np.float32)
    per_element = np.broadcast_to(_per_element(scale, shape_params), (6, 40)).astype(np.float64)
    integer = rng.integers(-10, 10, size=(6, 40))
    fraction = rng.uniform(0.1, 0.4, size=(6, 40)) * rng.choice([-1, 1], size=(6, 40))
    x = ((integer + fraction) * per_element).astype(np.float32)
    grad_out = rng.standard_normal((6, 40)).astype(np.float32)
    zero = np.zeros(shape_params, np.int32) if signed else np.full(shape_params, 3, np.int32)
    return x, grad_out, scale, zero


def _per_element(scale, shape_params):
    if shape_params == ():
        return np.full((6, 40), scale)
    if shape_params == (6,):
        return scale[:, None]
    if shape_params == (40,):
        return scale[None, :]
    return np.repeat(scale, 16, axis=1)[:, :40]


def reference(x, grad_out, scale, zero, bits, signed, shape_params):
    """float64 numpy formulas: the STE mask, dy/ds and dy/dz per element."""
    qmin, qmax = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    s = _per_element(scale, shape_params).astype(np.float32)
    z = _per_element(zero, shape_params)
    t = (x / s).astype(np.float64)
    v = np.rint(t) + z
    inside = (v >= qmin) & (v <= qmax)
    dyds = np.where(inside, np.rint(t) - t, np.where(v < qmin, qmin - z, qmax - z))
    dydz = np.where(inside, 0.0, -s)
    return inside, dyds * grad_out, dydz * grad_out


def reduce_to(per_element, shape_params):
    if shape_params == ():
        return per_element.sum()
    if shape_params == (6,):
        return per_element.sum(axis=1)
    if shape_params == (40,):
        return per_element.sum(axis=0)
    padded = np.zeros((6, 48))
    padded[:, :40] = per_element
    return padded.reshape(6, 3, 16).sum(axis=2)


@pytest.mark.parametrize("kwargs,shape_params", CASES)
@pytest.mark.parametrize("signed", [True, False])
def test_gradients_match_the_float64_formulas(kwargs, shape_params, signed):
    x, grad_out, scale, zero = setup(shape_params, signed=signed)
    gx, gs, gz = swquant.fake_quantize_grad(x, grad_out, scale, zero, bits=4, signed=signed, **kwargs)
    inside, ds, dz = reference(x, grad_out, scale, zero, 4, signed, shape_params)
    assert inside.any() and (~inside).any()  # both regimes are exercised
    np.testing.assert_array_equal(gx, np.where(inside, grad_out, 0))
    np.testing.assert_allclose(gs, reduce_to(ds, shape_params), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gz, reduce_to(dz, shape_params), rtol=1e-5, atol=1e-5)
    assert gs.shape == np.shape(scale) and gz.shape == np.shape(scale)


@pytest.mark.parametrize("kwargs,shape_params", CASES)
def test_scale_gradient_against_finite_differences(kwargs, shape_params):
    """Away from rounding boundaries the loss L = sum(grad_out * y) is smooth in each scale, with
    dL/ds = sum(g * round(x/s)) inside the range and sum(g * (qlimit - z)) where clipped. LSQ's
    straight-through estimate differs from it by exactly -sum(g * x / s) over the inside elements."""
    x, grad_out, scale, zero = setup(shape_params)
    _, gs, _ = swquant.fake_quantize_grad(x, grad_out, scale, zero, bits=4, signed=True, **kwargs)
    inside, _, _ = reference(x, grad_out, scale, zero, 4, True, shape_params)
    correction = reduce_to(np.where(inside, grad_out.astype(np.float64) * x / _per_element(scale, shape_params), 0), shape_params)
    flat_scale = np.atleast_1d(scale).ravel()
    for i in range(min(flat_scale.size, 8)):
        h = 1e-3 * flat_scale[i]
        losses = []
        for sign in (1, -1):
            perturbed = flat_scale.astype(np.float64).copy()
            perturbed[i] += sign * h
            s = perturbed.astype(np.float32).reshape(np.shape(scale))
            y = swquant.fake_quantize(x, s, zero, bits=4, signed=True, **kwargs).astype(np.float64)
            losses.append((grad_out.astype(np.float64) * y).sum())
        step = (np.float64(np.float32(flat_scale[i] + h)) - np.float64(np.float32(flat_scale[i] - h)))
        finite_difference = (losses[0] - losses[1]) / step
        expected = finite_difference - np.atleast_1d(correction).ravel()[i]
        assert abs(np.atleast_1d(gs).ravel()[i] - expected) <= 1e-3 * max(1.0, abs(expected)), i


def test_lsq_gradient_scaling():
    x, grad_out, scale, zero = setup((6, 3))
    _, gs, gz = swquant.fake_quantize_grad(x, grad_out, scale, zero, bits=4, signed=True, group_size=16)
    _, gs2, gz2 = swquant.fake_quantize_grad(x, grad_out, scale, zero, bits=4, signed=True, group_size=16,
                                          lsq_scaling=True)
    sharing = np.array([16, 16, 8], np.float64)  # 40 = 2 x 16 + 8: the last group is shorter
    factor = 1 / np.sqrt(sharing * 7)
    np.testing.assert_allclose(gs2, gs * factor, rtol=1e-6)
    np.testing.assert_allclose(gz2, gz * factor, rtol=1e-6)


def test_results_do_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 700)).astype(np.float32)
    g = rng.standard_normal((300, 700)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        swquant.set_num_threads(threads)
        results.append([swquant.fake_quantize_grad(x, g, 0.05, bits=3)[1],
                        swquant.fake_quantize_grad(x, g, np.full(700, 0.05, np.float32), bits=3, axis=1)[1]])
    swquant.set_num_threads(0)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_bad_input():
    x = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="grad_out"):
        swquant.fake_quantize_grad(x, np.ones((2, 3), np.float32), 0.1)
    with pytest.raises(swquant.QuantizationError, match="positive"):
        swquant.fake_quantize_grad(x, x, 0.0)
    with pytest.raises(swquant.QuantizationError, match="nan"):
        swquant.fake_quantize_grad(np.array([np.nan], np.float32), np.ones(1, np.float32), 0.1)
