"""Round-to-nearest with a clipping search (and importance weights) against a float64 reference that
runs the same search element by element."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import swquant

@pytest.mark.parametrize("bits,symmetric", [(4, False), (3, False), (4, True), (2, False)])
@pytest.mark.parametrize("group", [32, 20, None], ids=["g32", "g20", "per-row"])
@pytest.mark.parametrize("weighted", [False, True], ids=["uniform", "importance"])
def test_matches_the_reference_search(bits, symmetric, group, weighted):
    rng = np.random.default_rng(bits)
    w = (rng.standard_t(df=3, size=(3, 96)) * 0.05).astype(np.float32)
    importance = rng.uniform(0.1, 10, size=96).astype(np.float32) if weighted else None
    q = swquant.quantize(w, bits=bits, group_size=group, symmetric=symmetric, clip_search=True, importance=importance)
    weights = importance if weighted else np.ones(96, np.float32)
    size = group or 96
    scales, zeros = [], []
    for r in range(3):
        for start in range(0, 96, size):
            s, z = ref.clip_search(w[r, start:start + size], weights[start:start + size], bits, symmetric, symmetric)
            scales.append(s)
            zeros.append(z)
    np.testing.assert_array_equal(q.scales.ravel(), np.array(scales, np.float32))
    np.testing.assert_array_equal(q.zero_points.ravel(), np.array(zeros, np.int32))


def test_never_worse_than_round_to_nearest():
    rng = np.random.default_rng(5)
    w = (rng.standard_t(df=3, size=(64, 256)) * 0.05).astype(np.float32)
    importance = rng.uniform(0.0, 5, size=256).astype(np.float32)
    plain = swquant.quantize(w, bits=3, group_size=64).dequantize()
    searched = swquant.quantize(w, bits=3, group_size=64, importance=importance).dequantize()
    err = lambda d: ((w.astype(np.float64) - d) ** 2 * importance).reshape(64, 4, 64).sum(axis=2)
    assert np.all(err(searched) <= err(plain) * (1 + 1e-12))
    assert err(searched).sum() < 0.95 * err(plain).sum()  # and clearly better overall at 3 bits


def test_bad_input():
    w = np.ones((2, 8), np.float32)
    with pytest.raises(swquant.QuantizationError, match="per-row or per-group"):
        swquant.quantize(w, per_tensor=True, clip_search=True)
    with pytest.raises(ValueError, match="one value per column"):
        swquant.quantize(w, importance=np.ones(7, np.float32))
    with pytest.raises(swquant.QuantizationError, match="non-negative"):
        swquant.quantize(w, group_size=4, importance=-np.ones(8, np.float32))
