"""LayerStats against float64 numpy: X^T X, mean |x|, mean x^2; merging, bytes, thread independence."""

from __future__ import annotations

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert stats.row_count == len(every)
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
    assert first.row_count == whole.row_count
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


@given(k=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_scaled_statistics_are_those_of_the_scaled_inputs(k, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((17, k))
    scales = rng.choice([-1.0, 1.0], k) * np.exp(rng.uniform(-6, 6, k))  # signs and a wide range of sizes
    scales = scales.astype(np.float32)
    stats = swquant.LayerStats(k)
    stats.observe(x.astype(np.float32))
    before = stats.to_bytes()
    scaled = stats.scaled(scales)
    y = x.astype(np.float32).astype(np.float64) * scales.astype(np.float64)  # the scaled inputs, in float64
    expected = y.T @ y
    # each entry within float64 rounding of its Cauchy-Schwarz size sqrt(G_ii G_jj) (off-diagonal sums cancel)
    size = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.all(np.abs(scaled.gram - expected) <= 1e-12 * size)
    np.testing.assert_allclose(scaled.mean_abs, np.abs(y).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaled.mean_sq, (y**2).mean(axis=0), rtol=1e-12)
    assert scaled.row_count == 17 and stats.to_bytes() == before  # the original is unchanged


def test_scaled_statistics_bad_input():
    stats = swquant.LayerStats(4)
    stats.observe(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="one value per input feature"):
        stats.scaled(np.ones(5, np.float32))
    with pytest.raises(swquant.QuantizationError, match="finite"):
        stats.scaled(np.array([1, np.inf, 1, 1], np.float32))


def test_bad_input():
    stats = swquant.LayerStats(8)
    with pytest.raises(ValueError, match="features"):
        stats.observe(np.ones((2, 9), np.float32))
    with pytest.raises(swquant.QuantizationError, match="nan"):
        stats.observe(np.array([[np.nan] * 8], np.float32))
    assert stats.row_count == 0 and not stats.gram.any()
    with pytest.raises(swquant.QuantizationError, match="in_features"):
        swquant.LayerStats(0)
    with pytest.raises(swquant.QuantizationError, match="merge"):
        stats.merge(swquant.LayerStats(9))
    with pytest.raises(ValueError, match="themselves"):
        stats.merge(stats)
