"""LayerStats against float64 numpy: X^T X, mean |x|, mean x^2; merging, bytes, thread independence."""

from __future__ import annotations

import numpy as np
import pytest

import swquant


def batches(k, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_t(df=3, size=(rows, k)).astype(np.float32) for rows in (7, 64, 33)]


@pytest.mark.parametrize("k", [1, 5, 64, 130])
def test_statistics_match_float64(k):
    data = batches(k)
    stats = swquant.LayerStats(k)
    for x in data:
        stats.observe(x)
    every = np.concatenate(data).astype(np.float64)
    np.testing.assert_allclose(stats.gram, every.T @ every, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(stats.mean_abs, np.abs(every).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.mean_sq, (every**2).mean(axis=0), rtol=1e-12)
    assert stats.count == len(every)
    np.testing.assert_array_equal(stats.gram, stats.gram.T)


def test_merge_bytes_and_threads():
    data = batches(96, seed=1)
    whole, first, second = swquant.LayerStats(96), swquant.LayerStats(96), swquant.LayerStats(96)
    for x in data:
        whole.observe(x)
    first.observe(data[0])
    for x in data[1:]:
        second.observe(x)
    first.merge(second)
    np.testing.assert_allclose(first.gram, whole.gram, rtol=1e-12, atol=1e-9)
    assert first.count == whole.count
    restored = swquant.LayerStats.from_bytes(whole.to_bytes())
    assert restored.to_bytes() == whole.to_bytes() and restored.in_features == 96
    with pytest.raises(swquant.QuantizationError):
        swquant.LayerStats.from_bytes(whole.to_bytes()[:-8])
    grams = []
    for threads in (1, 2, 3):
        swquant.set_num_threads(threads)
        stats = swquant.LayerStats(96)
        for x in data:
            stats.observe(x)
        grams.append(stats.to_bytes())
    swquant.set_num_threads(0)
    assert grams[0] == grams[1] == grams[2]


def test_bad_input():
    stats = swquant.LayerStats(8)
    with pytest.raises(ValueError, match="features"):
        stats.observe(np.ones((2, 9), np.float32))
    with pytest.raises(swquant.QuantizationError, match="nan"):
        stats.observe(np.array([[np.nan] * 8], np.float32))
    assert stats.count == 0 and not stats.gram.any()
    with pytest.raises(swquant.QuantizationError, match="in_features"):
        swquant.LayerStats(0)
    with pytest.raises(swquant.QuantizationError, match="merge"):
        stats.merge(swquant.LayerStats(9))
    with pytest.raises(ValueError, match="themselves"):
        stats.merge(stats)
