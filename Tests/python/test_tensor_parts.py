"""Saving and rebuilding quantized tensors: from_parts, to_bytes/from_bytes and pickle."""

import pickle
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import swquant

SCHEMES = [
    dict(bits=4, group_size=128),
    dict(bits=3, group_size=48, symmetric=True),
    dict(bits=8, group_size=None),
    dict(bits=5, group_size=None, axis=1),
    dict(bits=2, per_tensor=True, scale_dtype="float16"),
    dict(bits=6, group_size=32, symmetric=True, signed=False, scale_dtype="float16"),
]


def weights(rows=7, cols=300, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_t(df=4, size=(rows, cols)) * 0.02).astype(np.float32)


def same_tensor(a, b):
    assert a.shape == b.shape and repr(a) == repr(b)
    np.testing.assert_array_equal(a.packed, b.packed)
    np.testing.assert_array_equal(a.scales, b.scales)
    np.testing.assert_array_equal(a.zero_points, b.zero_points)
    np.testing.assert_array_equal(a.dequantize(), b.dequantize())


@pytest.mark.parametrize("scheme", SCHEMES, ids=str)
def test_from_parts_rebuilds_the_tensor(scheme):
    q = swquant.quantize(weights(), **scheme)
    again = swquant.QuantizedTensor.from_parts(q.packed, q.scales, q.zero_points, shape=q.shape, **scheme)
    same_tensor(q, again)
    x = np.random.default_rng(1).standard_normal((3, 300)).astype(np.float32)
    if q.granularity != "channel" or q.axis == 0:
        np.testing.assert_array_equal(swquant.matmul(x, again, path="weight_only"), swquant.matmul(x, q, path="weight_only"))


@pytest.mark.parametrize("scheme", SCHEMES, ids=str)
def test_bytes_and_pickle_round_trip(scheme):
    q = swquant.quantize(weights(), **scheme)
    same_tensor(swquant.QuantizedTensor.from_bytes(q.to_bytes()), q)
    same_tensor(pickle.loads(pickle.dumps(q)), q)


def test_one_dimensional_tensor_keeps_its_shape():
    q = swquant.quantize(np.linspace(-1, 1, 100, dtype=np.float32), bits=4, group_size=32)
    again = pickle.loads(pickle.dumps(q))
    assert again.shape == (100,) and again.scales.shape == (4,)
    assert swquant.QuantizedTensor.from_bytes(q.to_bytes()).shape == (1, 100)
    same_tensor(swquant.QuantizedTensor.from_bytes(q.to_bytes(), shape=(100,)), q)


def test_serialized_layout_is_the_documented_one():
    """Hand-decoded header of the bytes (little-endian): magic, rows, cols, scheme fields, then the parts."""
    q = swquant.quantize(weights(3, 70), bits=4, group_size=32)
    data = q.to_bytes()
    assert data[:8] == b"SWQQTN01"
    rows, cols, bits, grid, symmetric, granularity, axis, group, storage = struct.unpack_from("<qqBBBBBqB", data, 8)
    assert (rows, cols, bits, grid, symmetric, granularity, axis, group, storage) == (3, 70, 4, 0, 0, 2, 0, 32, 0)
    offset = 8 + struct.calcsize("<qqBBBBBqB")
    packed = np.frombuffer(data, np.uint8, 3 * 35, offset)
    scales = np.frombuffer(data, "<f4", 9, offset + 105)
    zeros = np.frombuffer(data, "<i4", 9, offset + 105 + 36)
    assert len(data) == offset + 105 + 72
    np.testing.assert_array_equal(packed.reshape(3, 35), q.packed)
    np.testing.assert_array_equal(scales.reshape(3, 3), q.scales)
    np.testing.assert_array_equal(zeros.reshape(3, 3), q.zero_points)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 200), bits=st.integers(2, 8),
       group=st.one_of(st.none(), st.integers(1, 80)), symmetric=st.booleans(), seed=st.integers(0, 2**16))
def test_round_trip_property(rows, cols, bits, group, symmetric, seed):
    q = swquant.quantize(weights(rows, cols, seed), bits=bits, group_size=group, symmetric=symmetric)
    same_tensor(swquant.QuantizedTensor.from_bytes(q.to_bytes()), q)
    rebuilt = swquant.QuantizedTensor.from_parts(q.packed, q.scales, None if symmetric else q.zero_points,
                                                 shape=q.shape, bits=bits, group_size=group, symmetric=symmetric)
    same_tensor(rebuilt, q)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_bytes_raise_or_give_a_valid_tensor(data):
    """Any change to the bytes is either refused with QuantizationError or gives a tensor whose parts
    pass every check (it then dequantizes to finite values): never a crash."""
    q = swquant.quantize(weights(4, 90), bits=4, group_size=32)
    raw = bytearray(q.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        t = swquant.QuantizedTensor.from_bytes(bytes(raw[:cut] if data.draw(st.booleans()) else raw))
    except swquant.QuantizationError:
        return
    assert np.isfinite(t.dequantize()).all()


@pytest.mark.parametrize("change,match", [
    (dict(packed=np.zeros((7, 149), np.uint8)), "packed_nbytes"),
    (dict(scales=np.ones((7, 2), np.float32), zero_points=np.ones((7, 2), np.int32)), "qparam_count is 14, the scheme needs 21"),
    (dict(scales=-np.ones((7, 3), np.float32)), "positive"),
    (dict(scales=np.full((7, 3), np.nan, np.float32)), "positive"),
    (dict(zero_points=np.full((7, 3), 16, np.int32)), "grid"),
    (dict(zero_points=None), "NULL"),
    (dict(bits=9), "bits"),
])
def test_from_parts_checks_every_part(change, match):
    q = swquant.quantize(weights(), bits=4, group_size=128)
    parts = dict(packed=q.packed, scales=q.scales, zero_points=q.zero_points, shape=q.shape, bits=4, group_size=128)
    parts.update(change)
    with pytest.raises(swquant.QuantizationError, match=match):
        swquant.QuantizedTensor.from_parts(**parts)


def test_from_parts_checks_padding_float16_scales_and_symmetric_zero_points():
    q = swquant.quantize(weights(2, 5), bits=4, group_size=None, symmetric=True)  # 5 codes: 4 padding bits a row
    packed = q.packed.copy()
    packed[1, -1] |= 0x10
    with pytest.raises(swquant.QuantizationError, match="padding"):
        swquant.QuantizedTensor.from_parts(packed, q.scales, shape=q.shape, bits=4, group_size=None, symmetric=True)
    with pytest.raises(swquant.QuantizationError, match="symmetric"):
        swquant.QuantizedTensor.from_parts(q.packed, q.scales, np.ones(2, np.int32), shape=q.shape, bits=4,
                                           group_size=None, symmetric=True)
    with pytest.raises(swquant.QuantizationError, match="float16"):
        swquant.QuantizedTensor.from_parts(q.packed, np.float32([0.1, 0.2]), shape=q.shape, bits=4, group_size=None,
                                           symmetric=True, scale_dtype="float16")


def test_from_parts_refuses_lossy_conversions():
    q = swquant.quantize(weights(), bits=4, group_size=128)
    with pytest.raises(TypeError, match="zero_points"):
        swquant.QuantizedTensor.from_parts(q.packed, q.scales, q.zero_points + 0.5, shape=q.shape, bits=4)
    with pytest.raises(ValueError, match="shape"):
        swquant.QuantizedTensor.from_parts(q.packed, q.scales, q.zero_points, shape=[7, 300], bits=4)


def test_from_bytes_refuses_other_bytes():
    observer = swquant.Observer("minmax")
    observer.observe(np.ones(4, np.float32))
    for data in (b"", b"SWQQTN01", observer.to_bytes()):
        with pytest.raises(swquant.QuantizationError):
            swquant.QuantizedTensor.from_bytes(data)
    with pytest.raises(TypeError):
        swquant.QuantizedTensor.from_bytes("SWQQTN01")
