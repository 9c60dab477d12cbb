"""SmoothQuant migration scales against numpy, and W8A8 accuracy with and without them."""

from __future__ import annotations

import numpy as np
import pytest

import swquant


def test_scales_match_the_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 12)).astype(np.float32)
    w[:, 3] = 0
    act = rng.uniform(0.1, 50, size=12).astype(np.float32)
    act[5] = 0
    for alpha in (0.0, 0.5, 0.8, 1.0):
        s = swquant.smoothquant_scales(act, w, alpha=alpha)
        wmax = np.abs(w).max(axis=0).astype(np.float64)
        expected = np.where((act > 0) & (wmax > 0), act.astype(np.float64) ** alpha / np.where(wmax > 0, wmax, 1) ** (1 - alpha), 1)
        np.testing.assert_allclose(s, expected.astype(np.float32), rtol=1e-6)


def test_smoothing_improves_w8a8_with_outlier_channels():
    """Activations with a few channels 30x larger: per-tensor int8 activations lose the small channels;
    migrating the outliers into the weights (alpha 0.5) lowers the layer's output error."""
    rng = np.random.default_rng(1)
    channel = np.ones(256)
    channel[::32] = 30
    x = (rng.standard_normal((512, 256)) * channel).astype(np.float32)
    w = (rng.standard_normal((128, 256)) * 0.05).astype(np.float32)
    reference = x.astype(np.float64) @ w.T.astype(np.float64)

    def w8a8(xs, ws):
        obs = swquant.Observer("minmax", bits=8, symmetric=False)
        obs.observe(xs)
        scale, zero = obs.qparams()
        codes = swquant.quantize_codes(xs, scale, zero)
        qw = swquant.quantize(ws, bits=8, group_size=None, symmetric=True)
        return swquant.matmul_static_int8(codes, float(scale), int(zero), qw)

    plain = np.mean((w8a8(x, w) - reference) ** 2)
    s = swquant.smoothquant_scales(np.abs(x).max(axis=0), w, alpha=0.5)
    smoothed = np.mean((w8a8(np.ascontiguousarray(x / s), np.ascontiguousarray(w * s)) - reference) ** 2)
    assert smoothed < 0.5 * plain


def test_bad_input():
    with pytest.raises(ValueError, match="one value per input channel"):
        swquant.smoothquant_scales(np.ones(3, np.float32), np.ones((2, 4), np.float32))
    with pytest.raises(swquant.QuantizationError, match="alpha"):
        swquant.smoothquant_scales(np.ones(4, np.float32), np.ones((2, 4), np.float32), alpha=1.5)
    with pytest.raises(swquant.QuantizationError, match="non-negative"):
        swquant.smoothquant_scales(-np.ones(4, np.float32), np.ones((2, 4), np.float32))
