"""Calibration observers against numpy references and ONNX Runtime's calibrators (an optional test
dependency that Tests/run_all.sh installs)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import swquant

ort_calibrate = pytest.importorskip("onnxruntime.quantization.calibrate")


def batches(seed=0, count=4, shape=(64, 512)):
    rng = np.random.default_rng(seed)
    return [(rng.standard_t(df=3, size=shape) * scale).astype(np.float32) for scale in (1.0, 1.5, 0.7, 2.0)[:count]]


def our_bin_width(values) -> float:
    """swquant's histogram bin width: the smallest power of two whose 2048 bins cover max|x|."""
    amax = max(float(np.abs(v).max()) for v in values)
    width = 1.0
    while width * 1024 <= amax:
        width *= 2
    while width / 2 * 1024 > amax:
        width /= 2
    return width


def onnxruntime_range(method, values, symmetric, percentile=99.99):
    collector = ort_calibrate.HistogramCollector(method=method, symmetric=symmetric, num_bins=2048,
                                                 num_quantized_bins=128, percentile=percentile, scenario="same")
    with contextlib.redirect_stdout(io.StringIO()):  # the collector prints progress
        for v in values:
            collector.collect({"t": v})
        low, high = collector.compute_collection_result()["t"][:2]
    ort_width = float(collector.histogram_dict["t"][1][1] - collector.histogram_dict["t"][1][0])
    return float(low), float(high), ort_width


def observe_all(observer, values):
    for v in values:
        observer.observe(v)
    return observer


def test_minmax_and_moving_average_follow_their_formulas():
    data = batches()
    low, high = observe_all(swquant.Observer("minmax", symmetric=False), data).range()
    assert low == min(v.min() for v in data) and high == max(v.max() for v in data)
    # ONNX Runtime's moving average in float32: m = m + c * (batch - m), from the first batch.
    c = np.float32(0.1)
    m_low, m_high = data[0].min(), data[0].max()
    for v in data[1:]:
        m_low = np.float32(m_low + c * (v.min() - m_low))
        m_high = np.float32(m_high + c * (v.max() - m_high))
    low, high = observe_all(swquant.Observer("ema", momentum=0.1, symmetric=False), data).range()
    assert (low, high) == (m_low, m_high)


@pytest.mark.parametrize("method", ["minmax", "ema", "percentile", "mse", "entropy"])
@pytest.mark.parametrize("axis", [None, 0])
def test_symmetric_observers_report_symmetric_ranges(method, axis):
    """A symmetric observer's range is (-t, t) with t the larger magnitude of the affine observer's ends,
    whatever the method: here on all-positive data, where the two differ most."""
    data = [np.abs(v) + 0.5 for v in batches(seed=4, count=3)]
    symmetric = observe_all(swquant.Observer(method, axis=axis), data).range()
    affine = observe_all(swquant.Observer(method, axis=axis, symmetric=False), data).range()
    low, high = (np.asarray(v) for v in symmetric)
    np.testing.assert_array_equal(low, -high)
    if method in ("minmax", "ema"):
        np.testing.assert_array_equal(high, np.maximum(np.abs(affine[0]), np.abs(affine[1])))
    assert (high > 0).all()


@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "affine"])
def test_percentile_agrees_with_onnxruntime_within_a_bin(symmetric):
    data = batches(seed=1)
    low, high = observe_all(swquant.Observer("percentile", symmetric=symmetric, percentile=99.99), data).range()
    ort_low, ort_high, ort_width = onnxruntime_range("percentile", data, symmetric)
    tolerance = our_bin_width(data) + ort_width
    assert abs(low - ort_low) <= tolerance and abs(high - ort_high) <= tolerance


@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "affine"])
def test_entropy_agrees_with_onnxruntime_on_the_same_bins(symmetric):
    """One batch whose max|x| sits just under 1024: both histograms then have 2048 bins of width ~1,
    and the KL searches pick the same window."""
    x = np.random.default_rng(2).standard_t(df=3, size=(256, 512)).astype(np.float32)
    x *= np.float32(1023.99 / np.abs(x).max())
    low, high = observe_all(swquant.Observer("entropy", symmetric=symmetric), [x]).range()
    ort_low, ort_high, ort_width = onnxruntime_range("entropy", [x], symmetric)
    assert abs(low - ort_low) <= 1.0 + ort_width and abs(high - ort_high) <= 1.0 + ort_width


def test_onnxruntime_bins_depend_on_batch_order_and_ours_do_not():
    """Why entropy thresholds may differ from ONNX Runtime's by more than a bin: its bin width is set
    by the first batch, so the same data in another order gives another histogram and threshold; the
    entropy search is sensitive to that resolution. swquant's histogram depends on the data alone."""
    data = batches(seed=3)
    forward, backward = onnxruntime_range("entropy", data, True), onnxruntime_range("entropy", data[::-1], True)
    assert forward[2] != backward[2]  # different bin widths for the same values
    ours = observe_all(swquant.Observer("entropy"), data), observe_all(swquant.Observer("entropy"), data[::-1])
    assert ours[0].to_bytes() == ours[1].to_bytes()
    assert ours[0].range() == ours[1].range()


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse", "entropy"])
def test_merging_halves_equals_observing_everything(method):
    data = batches(seed=4)
    whole = observe_all(swquant.Observer(method), data)
    first, second = observe_all(swquant.Observer(method), data[:2]), observe_all(swquant.Observer(method), data[2:])
    first.merge(second)
    assert first.to_bytes() == whole.to_bytes()
    assert first.range() == whole.range()


def test_moving_average_does_not_merge():
    a, b = observe_all(swquant.Observer("ema"), batches()[:1]), observe_all(swquant.Observer("ema"), batches()[1:2])
    with pytest.raises(swquant.QuantizationError, match="order"):
        a.merge(b)


@pytest.mark.parametrize("method,options", [("minmax", {}), ("ema", {"momentum": 0.2}), ("percentile", {"percentile": 99.9}),
                                            ("mse", {}), ("entropy", {"quantized_bins": 64})])
def test_bytes_round_trip(method, options):
    observer = observe_all(swquant.Observer(method, bits=6, symmetric=False, **options), batches(seed=5))
    restored = swquant.Observer.from_bytes(observer.to_bytes())
    assert restored.to_bytes() == observer.to_bytes()
    assert restored.range() == observer.range() and repr(restored) == repr(observer)
    np.testing.assert_array_equal(restored.qparams()[0], observer.qparams()[0])
    with pytest.raises(swquant.QuantizationError):
        swquant.Observer.from_bytes(observer.to_bytes()[:-3])
    with pytest.raises(swquant.QuantizationError):
        swquant.Observer.from_bytes(b"not an observer at all")


def test_defaults_come_from_the_core():
    """The options a method takes by default are the core's (ONNX Runtime's), shown and restored as such."""
    assert repr(swquant.Observer("percentile")) == "Observer('percentile', bits=8, symmetric=True, axis=None, percentile=99.999)"
    assert repr(swquant.Observer("ema")).endswith("momentum=0.01)")
    entropy = swquant.Observer("entropy", axis=1)
    assert repr(swquant.Observer.from_bytes(entropy.to_bytes())) == repr(entropy)
    assert repr(entropy).endswith("axis=1, quantized_bins=128)")


def test_state_does_not_grow_with_the_data():
    observer = swquant.Observer("entropy")
    observer.observe(batches()[0])
    size = len(observer.to_bytes())
    for v in batches(seed=6) * 5:
        observer.observe(v * 10)
    assert len(observer.to_bytes()) == size


@pytest.mark.parametrize("bits", [4, 6])
def test_histogram_methods_beat_minmax_on_outlier_heavy_activations(bits):
    """LLM-like activations: a heavy-tailed bulk (Student t, 3 degrees of freedom) and a few channels
    twenty times larger. Clipping the rare extremes (percentile, MSE, entropy) gives a higher SQNR than
    min-max, whose range the extremes set."""
    rng = np.random.default_rng(7)
    x = rng.standard_t(df=3, size=(512, 768)).astype(np.float32)
    x[:, :4] *= 20

    def sqnr(method, **options):
        obs = swquant.Observer(method, bits=bits, **options)
        obs.observe(x)
        scale, _ = obs.qparams()  # symmetric: the zero point is the signed grid's 0
        return swquant.sqnr(x, swquant.fake_quantize(x, scale, bits=bits))

    baseline = sqnr("minmax")
    for method, options in [("percentile", {"percentile": 99.99}), ("mse", {}), ("entropy", {})]:
        assert sqnr(method, **options) > baseline + 0.5, method


@pytest.mark.parametrize("axis", [0, 1])
def test_per_channel_minmax(axis):
    data = batches(seed=8, count=2)
    low, high = observe_all(swquant.Observer("minmax", axis=axis, symmetric=False), data).range()
    stacked = np.concatenate(data, axis=0) if axis == 1 else np.stack(data)
    np.testing.assert_array_equal(low, stacked.min(axis=(0 if axis == 1 else (0, 2))) if axis == 1 else np.minimum(*[d.min(axis=1) for d in data]))
    scales, zeros = observe_all(swquant.Observer("minmax", axis=axis), data).qparams()
    assert scales.shape == low.shape and zeros.dtype == np.int32


@pytest.mark.parametrize("method,options", [("percentile", {"percentile": 99.9}), ("mse", {}), ("entropy", {})])
@pytest.mark.parametrize("axis", [0, 1])
def test_per_channel_histograms_equal_one_observer_per_channel(method, options, axis):
    data = batches(seed=9, count=2, shape=(6, 300))
    channel = observe_all(swquant.Observer(method, axis=axis, bins=256, **options), data)
    low, high = channel.range()
    for c in range(6 if axis == 0 else 300)[:6]:
        single = swquant.Observer(method, bins=256, **options)
        for v in data:
            single.observe(v[c] if axis == 0 else np.ascontiguousarray(v[:, c]))
        assert (low[c], high[c]) == single.range()


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        swquant.Observer("kl")
    with pytest.raises(TypeError, match="unexpected option"):
        swquant.Observer("minmax", percentile=99)
    with pytest.raises(swquant.QuantizationError, match="percentile"):
        swquant.Observer("percentile", percentile=120)
    with pytest.raises(swquant.QuantizationError, match="not seen"):
        swquant.Observer("minmax").range()
    observer = swquant.Observer("minmax")
    with pytest.raises(swquant.QuantizationError, match="NaN|nan"):
        observer.observe(np.array([1.0, np.nan], np.float32))
    with pytest.raises(swquant.QuantizationError, match="not seen"):
        observer.range()  # the failed batch left no trace
    channel = swquant.Observer("minmax", axis=0)
    channel.observe(np.ones((3, 4), np.float32))
    with pytest.raises(swquant.QuantizationError, match="channels"):
        channel.observe(np.ones((5, 4), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        channel.observe(np.ones(4, np.float32))
    with pytest.raises(ValueError, match="itself"):
        observer.merge(observer)
