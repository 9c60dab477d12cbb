"""Bad sizes, crafted states, races and out-of-range values get errors, never a crash (regressions of the
crashes found by probing the library as an attacker and a careless caller would)."""

import os
import struct
import threading
import time

import numpy as np
import pytest

import swquant
from swquant import _swquant


def heavy(rows, cols, seed=0):
    return np.random.default_rng(seed).standard_t(df=3, size=(rows, cols)).astype(np.float32)


def toggling_threads(seconds):
    """A thread that changes the thread count as fast as it can for `seconds`."""
    stop = time.monotonic() + seconds

    def run():
        i = 0
        while time.monotonic() < stop:
            swquant.set_num_threads(1 + i % 4)
            i += 1
        swquant.set_num_threads(0)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_results_survive_thread_count_changes_during_every_call():
    """Each call takes one snapshot of the thread setting, and results never depend on it."""
    x, w = heavy(64, 300), heavy(40, 300, seed=1)
    stats = swquant.LayerStats(300)
    stats.observe(x)

    def run_all():
        outputs = []
        for method in ("percentile", "mse", "entropy", "minmax"):
            observer = swquant.Observer(method, axis=None if method != "minmax" else 1)
            observer.observe(x)
            outputs.append(np.asarray(observer.range()))
        q = swquant.quantize(w, bits=4, group_size=64, clip_search=True)
        outputs += [q.dequantize(), swquant.matmul(x, q), swquant.matmul(x, q, path="int8_row")]
        outputs.append(swquant.gptq(w, stats, bits=4, group_size=64).dequantize())
        outputs.append(swquant.awq(w, stats, bits=4, group_size=64, grid=4)[0].dequantize())
        outputs.append(swquant.fake_quantize_grad(w, w, 0.05, bits=4)[1])
        outputs.append(swquant.fake_quantize(x, 0.1, bits=6))
        fresh = swquant.LayerStats(300)
        fresh.observe(x)
        outputs.append(fresh.gram)
        outputs.append(swquant.matmul_static_int8(np.full((3, 300), 7, np.uint8), 0.1, 128,
                                                  swquant.quantize(w, bits=8, group_size=None, symmetric=True)))
        return outputs

    expected = run_all()
    toggler = toggling_threads(2.0)
    rounds = 0
    while toggler.is_alive():
        for got, want in zip(run_all(), expected):
            np.testing.assert_array_equal(got, want)
        rounds += 1
    toggler.join()
    assert rounds >= 2


def test_thread_count_is_capped():
    with pytest.raises(swquant.QuantizationError, match="1024"):
        swquant.set_num_threads(5000)
    swquant.set_num_threads(1024)
    assert swquant.get_num_threads() == 1024
    swquant.set_num_threads(0)


def test_input_changed_by_another_thread_during_a_call_is_no_crash():
    """Writing NaN into the input while a call reads it breaks the contract; the answer must still be an
    error or some result for that call, never a trap (no trap may depend on the values read)."""
    x = heavy(256, 1024)
    stop = time.monotonic() + 1.5

    def scribble():
        rng = np.random.default_rng(1)
        while time.monotonic() < stop:
            x.flat[rng.integers(0, x.size, 64)] = rng.choice([np.nan, np.inf, -np.inf, 3e38, 0.0], 64)
            x.flat[rng.integers(0, x.size, 64)] = 1.0

    thread = threading.Thread(target=scribble)
    thread.start()
    weights = swquant.quantize(heavy(64, 1024, seed=2), bits=4, group_size=32)
    stats = swquant.LayerStats(1024)
    calls = [
        lambda: swquant.Observer("percentile").observe(x), lambda: swquant.Observer("entropy", axis=1).observe(x),
        lambda: swquant.Observer("mse").observe(x), lambda: swquant.quantize(x, bits=4, group_size=32),
        lambda: swquant.quantize(x, bits=3, group_size=64, clip_search=True), lambda: stats.observe(x),
        lambda: swquant.matmul(x, weights, path="int8"), lambda: swquant.matmul(x, weights, path="int8_row"),
        lambda: swquant.fake_quantize(x, 0.1, bits=4),
    ]
    made = 0
    while thread.is_alive():
        for call in calls:
            try:
                call()
            except swquant.QuantizationError:
                pass
            made += 1
    thread.join()
    assert made > len(calls)


def layer_stats_bytes(count):
    stats = swquant.LayerStats(4)
    stats.observe(np.ones((2, 4), np.float32))
    raw = bytearray(stats.to_bytes())
    struct.pack_into("<q", raw, 12, count)
    return bytes(raw)


def test_crafted_layer_statistics_fail_cleanly():
    restored = swquant.LayerStats.from_bytes(layer_stats_bytes(2**63 - 1))  # a valid, if absurd, count
    with pytest.raises(swquant.QuantizationError, match="overflow"):
        restored.observe(np.ones(4, np.float32))
    with pytest.raises(swquant.QuantizationError, match="overflow"):
        restored.merge(swquant.LayerStats.from_bytes(layer_stats_bytes(2)))
    assert restored.row_count == 2**63 - 1  # unchanged by the refused calls
    with pytest.raises(swquant.QuantizationError, match="negative"):
        swquant.LayerStats.from_bytes(layer_stats_bytes(-1))


def observer_bytes(method="percentile", axis=None, **options):
    observer = swquant.Observer(method, axis=axis, bins=16, **options)
    observer.observe(heavy(3, 40))
    return bytearray(observer.to_bytes())


# Offsets in the observer layout of docs/formats.md for one channel and 16 bins.
COUNT, CHANNELS, HISTOGRAMS, WIDTH, BINS = 24, 32, 44, 48, 56


@pytest.mark.parametrize("mutate,match", [
    (lambda b: struct.pack_into("<q", b, BINS, -5), "counts"),
    (lambda b: struct.pack_into("<q", b, BINS, 2**62), "counts"),
    (lambda b: struct.pack_into("<d", b, WIDTH, 5e-324), "width"),
    (lambda b: struct.pack_into("<d", b, WIDTH, 3.0), "width"),
    (lambda b: struct.pack_into("<q", b, COUNT, -1), "negative"),
])
def test_crafted_observer_states_are_refused(mutate, match):
    raw = observer_bytes()
    mutate(raw)
    with pytest.raises(swquant.QuantizationError, match=match):
        swquant.Observer.from_bytes(bytes(raw))


def test_observer_states_that_disagree_with_their_configuration_are_refused():
    # A histogram method without its histograms.
    raw = observer_bytes()
    no_histograms = bytes(raw[:HISTOGRAMS]) + struct.pack("<I", 0)
    with pytest.raises(swquant.QuantizationError, match="histograms"):
        swquant.Observer.from_bytes(no_histograms)
    # A per-tensor observer claiming three channels (min-max: no histograms).
    raw = observer_bytes("minmax")
    three = bytes(raw[:CHANNELS]) + struct.pack("<I", 3) + struct.pack("<3f", -1, -2, -3) + struct.pack("<3f", 1, 2, 3) \
        + struct.pack("<I", 0)
    with pytest.raises(swquant.QuantizationError, match="per-tensor"):
        swquant.Observer.from_bytes(three)
    # A range whose minimum lies above its maximum.
    swapped = bytes(raw[:CHANNELS]) + struct.pack("<I", 1) + struct.pack("<f", 2) + struct.pack("<f", 1) + struct.pack("<I", 0)
    with pytest.raises(swquant.QuantizationError, match="minimum"):
        swquant.Observer.from_bytes(swapped)


def test_accepted_states_can_be_used():
    """Bytes that pass the checks give an observer every later call works on."""
    for method in ("minmax", "percentile", "mse", "entropy"):
        restored = swquant.Observer.from_bytes(bytes(observer_bytes(method, **({"quantized_bins": 4} if method == "entropy" else {}))))
        restored.observe(heavy(2, 40, seed=3) * 100)
        restored.merge(swquant.Observer.from_bytes(restored.to_bytes()))
        low, high = restored.range()
        assert np.isfinite(low) and np.isfinite(high)


def test_the_shim_checks_every_buffer_against_the_handle():
    stats = swquant.LayerStats(64)
    stats.observe(np.ones((2, 64), np.float32))
    with pytest.raises(ValueError, match="mean_abs"):
        _swquant.layer_stats_read(stats._handle, np.empty((64, 64)), np.empty(1), np.empty(1))
    with pytest.raises(ValueError, match="scales"):
        _swquant.layer_stats_scaled(stats._handle, np.ones(3, np.float32))


@pytest.mark.parametrize("call", [
    lambda: swquant.quantize(np.ones((2, 8), np.float32), bits=2**40),
    lambda: swquant.quantize(np.ones((2, 8), np.float32), group_size=2**40),
    lambda: swquant.quantize(np.ones((2, 8), np.float32), group_size=None, axis=2**40),
    lambda: swquant.Observer("percentile", bins=2**40),
    lambda: swquant.LayerStats(2**70),
    lambda: swquant.quantize_codes(np.ones(4, np.float32), 0.5, 2**32 + 128),
    lambda: swquant.fake_quantize(np.ones(4, np.float32), 0.5, -(2**40)),
])
def test_out_of_range_integers_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("call", [
    lambda: swquant.quantize(np.ones(8, np.float32), symmetric="no"),
    lambda: swquant.quantize(np.ones(8, np.float32), signed="yes"),
    lambda: swquant.Observer("minmax", axis=True),
    lambda: swquant.Observer("minmax", symmetric="yes"),
    lambda: swquant.fake_quantize(np.ones(4, np.float32), 0.5, signed="yes"),
    lambda: swquant.Observer("minmax").qparams(signed="yes"),
])
def test_options_of_the_wrong_type_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


def test_a_tensor_cannot_be_given_a_wrong_shape_or_changed():
    q = swquant.quantize(heavy(4, 64), bits=4, group_size=32)
    with pytest.raises(ValueError, match="shape"):
        swquant.QuantizedTensor(q._handle, (8, 32))
    for array in (q.scales, q.zero_points):
        with pytest.raises(ValueError):
            array.setflags(write=True)
        with pytest.raises(ValueError):
            array.base.setflags(write=True)
        with pytest.raises(ValueError):
            array[...] = 0


def test_values_that_would_be_silently_wrong_are_refused():
    w = np.ones((4, 8), np.float32)
    w[:, 0] = 1e-45  # the smallest denormal: 1 / it is beyond float32
    with pytest.raises(swquant.QuantizationError, match="normal range"):
        swquant.smoothquant_scales(np.ones(8, np.float32), w, alpha=0.0)


def test_requests_beyond_memory_raise_memory_error_before_allocating():
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGESIZE")
    if physical < 32 << 30:  # 65536^2 doubles are 32 GiB
        with pytest.raises(MemoryError, match="input features"):
            swquant.LayerStats(65536)
    observer = swquant.Observer("percentile", axis=1, bins=16384)
    with pytest.raises(MemoryError, match="channels"):
        observer.observe(np.ones((1, 1 << 24), np.float32))  # 2^24 channels x 16384 bins x 8 bytes: 2 TiB
    swquant.Observer("percentile", axis=1, bins=16384).observe(np.ones((2, 100), np.float32))  # still usable


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("group_size", [None, 2])
def test_values_near_float_max_dequantize_to_finite_values(bits, symmetric, group_size):
    """The end codes times a rounded scale could overflow to infinity: the scale steps down instead."""
    top = np.finfo(np.float32).max
    x = np.float32([[top, -top, 1, 0], [top, top * 0.99, -3, 2]])
    q = swquant.quantize(x, bits=bits, symmetric=symmetric, group_size=group_size)
    restored = q.dequantize()
    assert np.isfinite(restored).all()
    assert abs(float(restored[0, 0]) - float(top)) <= 1.001 * float(q.scales.max())  # within about a step of the top


@pytest.mark.parametrize("use", [
    lambda: swquant.Observer.__new__(swquant.Observer).observe(np.ones(4, np.float32)),
    lambda: swquant.Observer.__new__(swquant.Observer).range(),
    lambda: swquant.LayerStats.__new__(swquant.LayerStats).gram,
    lambda: swquant.QuantizedTensor.__new__(swquant.QuantizedTensor).dequantize(),
    lambda: swquant.matmul(np.ones((1, 4), np.float32), swquant.QuantizedTensor.__new__(swquant.QuantizedTensor)),
])
def test_uninitialised_objects_raise_type_error(use):
    with pytest.raises(TypeError, match="never initialised"):
        use()
