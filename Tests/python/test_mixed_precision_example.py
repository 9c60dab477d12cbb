"""The SmolLM2 example's mixed-precision helpers (examples/python/mixed_precision.py) on hand-worked cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import swquant

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "python"))
import mixed_precision as mp  # noqa: E402


def ratios(step=0.25):
    """Every configuration `step` times the KL of the one before it."""
    return {config: step ** i for i, config in enumerate(mp.CONFIGS)}


def sizes(weights):
    """unit_bits for units of `weights` weights each: codes plus a float16 scale and an 8-bit zero point
    per group."""
    return {u: {(b, g): w * (b + 24 / g) for b, g in mp.CONFIGS} for u, w in weights.items()}


def test_allocation_upgrades_the_most_sensitive_unit_first_within_the_budget():
    bits = sizes({"a": 1000, "b": 1000})
    cheapest = bits["a"][mp.CONFIGS[0]] + bits["b"][mp.CONFIGS[0]]
    one_step = bits["a"][mp.CONFIGS[1]] - bits["a"][mp.CONFIGS[0]]
    # Room for one step (3/128 -> 3/64) only: it goes to the unit with 10x the KL.
    allocation = mp.allocate({"a": 1.0, "b": 0.1}, bits, ratios(), cheapest + one_step)
    assert allocation == {"a": mp.CONFIGS[1], "b": mp.CONFIGS[0]}
    # Less than one step: nothing moves.
    assert set(mp.allocate({"a": 1.0, "b": 0.1}, bits, ratios(), cheapest + one_step / 2).values()) == {mp.CONFIGS[0]}
    # Room for everything: both at the most precise configuration.
    assert set(mp.allocate({"a": 1.0, "b": 0.1}, bits, ratios(), 1e9).values()) == {mp.CONFIGS[-1]}


@pytest.mark.parametrize("budget", [3.3, 4.0, 4.6, 5.5])
def test_allocation_never_exceeds_its_budget(budget):
    rng = np.random.default_rng(int(budget * 10))
    units = [(b, u) for b in range(6) for u in mp.UNITS]
    unit_kl = dict(zip(units, rng.uniform(0.001, 0.05, len(units))))
    weights = dict(zip(units, rng.integers(10_000, 900_000, len(units))))
    bits = sizes(weights)
    allocation = mp.allocate(unit_kl, bits, ratios(), budget * sum(weights.values()))
    used = sum(bits[u][c] for u, c in allocation.items())
    assert used <= budget * sum(weights.values())
    # The budget is spent up to at most one upgrade of one unit.
    span = max(bits[u][mp.CONFIGS[-1]] - bits[u][mp.CONFIGS[0]] for u in units)
    assert used > budget * sum(weights.values()) - span


def test_at_equal_sizes_a_more_sensitive_unit_never_gets_fewer_bits():
    units = list(range(40))
    unit_kl = dict(zip(units, np.random.default_rng(9).uniform(0.001, 0.05, 40)))
    allocation = mp.allocate(unit_kl, sizes(dict.fromkeys(units, 1000)), ratios(), 4.2 * 40 * 1000)
    by_kl = sorted(units, key=unit_kl.get)
    bits = [b + 24 / g for b, g in (allocation[u] for u in by_kl)]
    assert bits == sorted(bits) and bits[0] < bits[-1]


def test_a_table_round_trips_through_its_text():
    allocation = {(b, u): mp.CONFIGS[(b + i) % len(mp.CONFIGS)] for b in range(3) for i, u in enumerate(mp.UNITS)}
    layers = mp.parse_table(mp.format_table(allocation, 3))
    for (b, u), config in allocation.items():
        for kind in mp.UNITS[u]:
            assert layers[(b, kind)] == config
    assert len(layers) == 3 * 7


def test_token_usage_adds_input_shares_and_mean_predicted_probabilities():
    usage = mp.TokenUsage(4)
    usage.add_tokens([0, 0, 1, 3])
    usage.add_logits(np.log(np.array([[0.5, 0.5, 1e-30, 1e-30], [1e-30, 1.0, 1e-30, 1e-30]])))
    np.testing.assert_allclose(usage.importance, [0.5 + 0.25, 0.25 + 0.75, 0.0, 0.25], atol=1e-12)


def quantizer(bits, group):
    return lambda w, stats: (swquant.quantize(w, bits=bits, group_size=group), None)


def test_split_embedding_quantizes_the_important_rows_apart():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((50, 64)).astype(np.float32)
    importance = rng.uniform(size=50)
    split = mp.SplitEmbedding(w, None, importance, 10, quantizer(8, 32), quantizer(3, 32))
    top = np.sort(np.argsort(-importance)[:10])
    rest = np.setdiff1d(np.arange(50), top)
    expected = np.empty_like(w)
    expected[top] = swquant.quantize(w[top], bits=8, group_size=32).dequantize()
    expected[rest] = swquant.quantize(w[rest], bits=3, group_size=32).dequantize()
    np.testing.assert_array_equal(split.dequantize(), expected)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_allclose(split.matmul(x), x.astype(np.float64) @ expected.T.astype(np.float64), rtol=1e-4, atol=1e-4)
    parts = swquant.quantize(w[top], bits=8, group_size=32).nbytes + swquant.quantize(w[rest], bits=3, group_size=32).nbytes
    assert split.nbytes == parts + 7  # one bit per row for the split
