"""AWQ against a float64 numpy implementation of the same search, the alpha = 0 case, and output error."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import swquant


def outlier_inputs(rng, tokens, k, seed=0):
    """Activations with a few channels much larger than the rest (the distribution AWQ targets), the same
    distribution for every `rng`."""
    channel = np.random.default_rng(seed).uniform(0.3, 1.0, size=k)
    channel[:: max(1, k // 8)] *= 20
    return (rng.standard_normal((tokens, k)) * channel).astype(np.float32)


def stats_of(x):
    stats = swquant.LayerStats(x.shape[1])
    stats.observe(x)
    return stats


def normalized_weight_means(w, group):
    """AutoAWQ's w_mean: |w| over its group's largest magnitude, averaged over the rows."""
    a = np.abs(w.astype(np.float64)).reshape(w.shape[0], -1, group)
    return (a / (a.max(axis=2, keepdims=True) + 1e-6)).reshape(w.shape).mean(axis=0)


def awq_reference(w, stats, bits, group, grid, duo=False):
    """The alpha search in numpy: scales from mean|x| (over mean|w'|^(1 - alpha) with duo scaling), RTN of
    w * s (swquant.quantize, the quantizer under test elsewhere), output error through X^T X in float64."""
    mean_abs, h = stats.mean_abs, stats.gram
    best = None
    for step in range(grid):
        alpha = step / grid
        raw = np.power(np.maximum(mean_abs, 0), alpha)
        if duo:
            raw = raw / (np.power(normalized_weight_means(w, group), 1 - alpha) + 1e-4)
        raw = np.maximum(raw, 1e-4)
        scales = (raw / np.sqrt(raw.max() * raw.min())).astype(np.float32)
        q = swquant.quantize(w * scales, bits=bits, group_size=group).dequantize()
        delta = w.astype(np.float64) - (q / scales).astype(np.float64)
        error = float(np.sum((delta @ h) * delta))
        if best is None or error < best[0]:
            best = (error, alpha, scales)
    return best


def test_alpha_search_matches_the_reference():
    rng = np.random.default_rng(1)
    w = (rng.standard_t(df=4, size=(32, 128)) * 0.05).astype(np.float32)
    stats = stats_of(outlier_inputs(rng, 512, 128))
    q, scales = swquant.awq(w, stats, bits=3, group_size=32, grid=10, clip_search=False)
    _, alpha, expected = awq_reference(w, stats, 3, 32, 10)
    np.testing.assert_allclose(scales, expected, rtol=1e-6)
    np.testing.assert_array_equal(q.dequantize(), swquant.quantize(w * scales, bits=3, group_size=32).dequantize())
    assert alpha > 0  # the outlier channels make scaling worth it


def test_duo_scaling_matches_the_reference():
    rng = np.random.default_rng(8)
    w = (rng.standard_t(df=4, size=(32, 128)) * 0.05).astype(np.float32)
    w[:, 5::16] *= 8  # columns of large weights: duo scaling scales them down
    stats = stats_of(outlier_inputs(rng, 512, 128))
    q, scales = swquant.awq(w, stats, bits=3, group_size=32, grid=10, clip_search=False, duo_scaling=True)
    _, _, expected = awq_reference(w, stats, 3, 32, 10, duo=True)
    np.testing.assert_allclose(scales, expected, rtol=1e-5)
    np.testing.assert_array_equal(q.dequantize(), swquant.quantize(w * scales, bits=3, group_size=32).dequantize())
    # alpha = 0 alone: duo scaling follows the weight means (not all ones), as in the reference
    _, at_zero = swquant.awq(w, stats, bits=3, group_size=32, grid=1, clip_search=False, duo_scaling=True)
    np.testing.assert_allclose(at_zero, awq_reference(w, stats, 3, 32, 1, duo=True)[2], rtol=1e-5)
    assert not np.allclose(at_zero, 1)


def output_error_clip_reference(w, gram, bits, group):
    """AWQ's clipping search in float64. A row's rounding errors D add D H D^T to the output error. Every
    group starts at round-to-nearest. In a first pass, in column order, group g takes the range
    [min a, max a] (a from ref.CLIP_SHRINK, ref.clip_shrinks with one sweep) whose rounding error d has the
    least d H_gg d^T + 2 d c^T, where c = D_rest H_rest,g holds the other groups' current errors, then twice
    the least-squares scale for the steps u = q - zero, s = (x H_gg u^T + u c^T) / (u H_gg u^T), kept when
    that error drops. With more than one group, a second pass refits each group's scale twice again.
    Returns the fake-quantized w."""
    groups = [slice(g, g + group) for g in range(0, w.shape[1], group)]

    def fake_quantized(x, params):
        return ref.dequant(ref.codes(x, *params, bits, False), *params)

    out = np.zeros_like(w)
    for r in range(w.shape[0]):
        params = [ref.params(w[r, g].min(), w[r, g].max(), bits, False, False) for g in groups]
        errors = np.concatenate([w[r, g] - fake_quantized(w[r, g], p) for g, p in zip(groups, params)]).astype(np.float64)
        for second_pass in [False, True][:1 + (len(groups) > 1)]:
            for i, g in enumerate(groups):
                x, h = w[r, g], gram[g, g]
                c = errors @ gram[:, g] - errors[g] @ h

                def error(p):
                    d = x.astype(np.float64) - fake_quantized(x, p)
                    return d @ h @ d + 2 * d @ c

                def shrunk(a, b):
                    return ref.params(np.float32(x.min() * a), np.float32(x.max() * b), bits, False, False)
                best = params[i] if second_pass else shrunk(*ref.clip_shrinks(lambda a, b: error(shrunk(a, b)), sweeps=1))
                for _ in range(2):
                    steps = ref.codes(x, *best, bits, False).astype(np.float64) - best[1]
                    refit = (np.float32((x @ h @ steps + steps @ c) / (steps @ h @ steps)), best[1])
                    if error(refit) < error(best):
                        best = refit
                params[i] = best
                errors[g] = x - fake_quantized(x, best)
        out[r] = np.concatenate([fake_quantized(w[r, g], p) for g, p in zip(groups, params)])
    return out


def test_alpha_zero_is_round_to_nearest():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((8, 64)).astype(np.float32)
    stats = stats_of(rng.standard_normal((64, 64)).astype(np.float32))
    q, scales = swquant.awq(w, stats, bits=4, group_size=16, grid=1, clip_search=False)
    np.testing.assert_array_equal(scales, np.ones(64, np.float32))
    np.testing.assert_array_equal(q.packed, swquant.quantize(w, bits=4, group_size=16).packed)


@pytest.mark.parametrize("rows,cols,group", [(24, 96, 32), (19, 70, 16), (5, 48, None)])  # ragged; per row
def test_clip_search_matches_the_output_error_reference(rows, cols, group):
    rng = np.random.default_rng(6)
    w = (rng.standard_t(df=4, size=(rows, cols)) * 0.05).astype(np.float32)
    mix = np.random.default_rng(7).standard_normal((cols, cols)) / 10 + np.eye(cols)  # correlated inputs
    stats = stats_of((outlier_inputs(rng, 512, cols) @ mix).astype(np.float32))
    q, scales = swquant.awq(w, stats, bits=3, group_size=group, grid=1)
    expected = output_error_clip_reference(w, stats.gram, 3, group or cols)
    same = np.isclose(q.dequantize(), expected, rtol=1e-4, atol=0)
    same_groups = [same[r, g:g + (group or cols)].all() for r in range(rows) for g in range(0, cols, group or cols)]
    # float32 products in swquant, float64 here: refit scales differ in their last bits, and a near tie
    # between two candidates may go either way
    assert np.mean(same_groups) > 0.97, np.mean(same_groups)
    rtn = swquant.quantize(w, bits=3, group_size=group).dequantize().astype(np.float64)

    def output_error(d):
        return float(np.sum((d @ stats.gram) * d))
    assert output_error(w - q.dequantize().astype(np.float64)) < 0.9 * output_error(w - rtn)


@pytest.mark.parametrize("bits,group", [(3, 32), (4, 64)])
def test_lower_output_error_than_round_to_nearest_on_held_out_data(bits, group):
    rng = np.random.default_rng(3)
    w = (rng.standard_t(df=4, size=(64, 128)) * 0.05).astype(np.float32)
    stats = stats_of(outlier_inputs(rng, 512, 128))
    held_out = outlier_inputs(np.random.default_rng(4), 256, 128).astype(np.float64)
    reference = held_out @ w.T.astype(np.float64)
    rtn = np.mean((held_out @ swquant.quantize(w, bits=bits, group_size=group).dequantize().T - reference) ** 2)
    q, scales = swquant.awq(w, stats, bits=bits, group_size=group)
    awq_out = (held_out / scales) @ q.dequantize().T.astype(np.float64)
    assert np.mean((awq_out - reference) ** 2) < 0.8 * rtn


def test_calibration_inputs_give_the_same_result_as_their_statistics():
    rng = np.random.default_rng(9)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    x = outlier_inputs(rng, 200, 64)
    q_from_x, scales_from_x = swquant.awq(w, x, bits=4, group_size=32)
    q, scales = swquant.awq(w, stats_of(x), bits=4, group_size=32)
    np.testing.assert_array_equal(scales_from_x, scales)
    np.testing.assert_array_equal(q_from_x.packed, q.packed)
    np.testing.assert_array_equal(q_from_x.scales, q.scales)


def test_bad_input():
    w = np.ones((4, 8), np.float32)
    with pytest.raises(swquant.QuantizationError, match="input features"):
        swquant.awq(w, swquant.LayerStats(9))
    with pytest.raises(ValueError, match="features"):
        swquant.awq(w, np.ones((5, 9), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        swquant.awq(w, np.ones(8, np.float32))
    with pytest.raises(TypeError, match="LayerStats"):
        swquant.awq(w, [[1.0] * 8])
    with pytest.raises(swquant.QuantizationError, match="nan"):
        swquant.awq(w, np.full((2, 8), np.nan, np.float32))
    with pytest.raises(swquant.QuantizationError, match="not seen"):
        swquant.awq(w, swquant.LayerStats(8))
    with pytest.raises(swquant.QuantizationError, match="grid"):
        swquant.awq(w, stats_of(np.ones((2, 8), np.float32)), group_size=4, grid=0)


def test_gptq_after_awq_scales_lowers_the_held_out_error():
    """AWQ's channel scales, then GPTQ of w * s with the statistics of x / s (LayerStats.scaled)."""
    rng = np.random.default_rng(9)
    w = (rng.standard_t(df=4, size=(64, 128)) * 0.05).astype(np.float32)
    mix = np.random.default_rng(10).standard_normal((128, 128)) / 8 + np.eye(128)  # correlated inputs
    stats = stats_of((outlier_inputs(rng, 1024, 128) @ mix).astype(np.float32))
    held_out = outlier_inputs(np.random.default_rng(11), 512, 128) @ mix
    reference = held_out @ w.T.astype(np.float64)
    q_awq, s = swquant.awq(w, stats, bits=3, group_size=32, clip_search=False)
    q = swquant.gptq(w * s, stats.scaled(1 / s), bits=3, group_size=32, act_order=True)

    def error(tensor):
        return np.mean(((held_out / s) @ tensor.dequantize().T.astype(np.float64) - reference) ** 2)
    assert error(q) < 0.8 * error(q_awq)
