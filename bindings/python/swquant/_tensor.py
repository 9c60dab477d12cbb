"""Quantized tensors: ``quantize``, ``dequantize`` and ``QuantizedTensor``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _swquant
from ._arrays import as_matrix, output_code
from ._native import NativeObject
from ._scheme import PER_CHANNEL, PER_GROUP, PER_TENSOR, Scheme


class QuantizedTensor(NativeObject):
    """Packed integer codes with their scales and zero points, owned by the native library.

    Immutable; safe to share between threads. Created by ``swquant.quantize`` (and ``gptq``, ``awq``),
    rebuilt from its parts by ``QuantizedTensor.from_parts`` and from bytes by ``from_bytes``; pickles.

    >>> import pickle
    >>> q = quantize(np.linspace(-1, 1, 256, dtype=np.float32).reshape(2, 128), bits=4, group_size=64)
    >>> again = pickle.loads(pickle.dumps(q))
    >>> bool((again.dequantize() == q.dequantize()).all()), again.shape
    (True, (2, 128))
    """

    __slots__ = ("_handle", "_shape", "_rows", "_cols", "_scheme", "_count", "_row_stride", "_nbytes", "_bpw",
                 "_scales", "_zero_points")

    def __init__(self, handle: object, shape: tuple[int, ...]) -> None:
        """Wraps a native tensor (use ``quantize``, ``from_parts`` or ``from_bytes`` to make one); ``shape``
        must be its [rows, cols], or [cols] for one row."""
        rows, cols, fields, count, stride, nbytes, bpw = _swquant.info(handle)
        if tuple(shape) not in ((rows, cols), (cols,) if rows == 1 else (rows, cols)):
            raise ValueError(f"shape {shape} does not match the tensor's [{rows}, {cols}]")
        shape = tuple(shape)
        self._handle = handle
        self._shape = shape
        self._rows, self._cols = rows, cols
        self._scheme = Scheme.from_native(fields)
        self._count, self._row_stride, self._nbytes, self._bpw = count, stride, nbytes, bpw
        qshape = self._scheme.qparam_shape(rows, cols, len(shape))
        scales = np.empty(count, dtype=np.float32)
        zero_points = np.empty(count, dtype=np.int32)
        _swquant.qparams(handle, scales, zero_points)
        # Read-only views of immutable bytes: no view can re-enable writes, so they cannot drift from the tensor.
        self._scales = np.frombuffer(scales.tobytes(), np.float32).reshape(qshape)
        self._zero_points = np.frombuffer(zero_points.tobytes(), np.int32).reshape(qshape)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the original tensor."""
        return self._shape

    @property
    def bits(self) -> int:
        return self._scheme.bits

    @property
    def symmetric(self) -> bool:
        return self._scheme.symmetric

    @property
    def signed(self) -> bool:
        """Whether codes live on the signed grid [-2^(bits-1), 2^(bits-1) - 1] (else [0, 2^bits - 1])."""
        return self._scheme.signed

    @property
    def group_size(self) -> int | None:
        """Elements per group along a row, or None for per-channel and per-tensor schemes."""
        return self._scheme.group_size if self._scheme.granularity == PER_GROUP else None

    @property
    def granularity(self) -> str:
        """'tensor', 'channel' or 'group'."""
        return {PER_TENSOR: "tensor", PER_CHANNEL: "channel", PER_GROUP: "group"}[self._scheme.granularity]

    @property
    def axis(self) -> int | None:
        """The channel axis of a per-channel scheme (0: rows, 1: columns), else None."""
        return self._scheme.axis if self._scheme.granularity == PER_CHANNEL else None

    @property
    def scale_dtype(self) -> np.dtype:
        """How scales are stored (float16 scales are exact float16 values widened to float32 here)."""
        return np.dtype(self._scheme.scale_dtype)

    @property
    def scales(self) -> np.ndarray:
        """float32 scales: 0-d per tensor, [rows] or [cols] per channel, [rows, groups] per group."""
        return self._scales

    @property
    def zero_points(self) -> np.ndarray:
        """int32 zero points, shaped as ``scales``."""
        return self._zero_points

    @property
    def packed(self) -> np.ndarray:
        """A copy of the packed codes as uint8 [rows, row_stride]. Element j of a row occupies bits
        [j*bits, (j+1)*bits) of the row read as a little-endian bit stream; signed grids store two's
        complement."""
        return np.frombuffer(_swquant.packed(self._handle), dtype=np.uint8).reshape(self._rows, self._row_stride)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored form: packed codes, scales at their storage width, one byte per stored
        zero point (affine schemes only)."""
        return self._nbytes

    @property
    def bits_per_weight(self) -> float:
        """8 * nbytes / number of elements: the code width plus the scale and zero-point overhead."""
        return self._bpw

    @classmethod
    def from_parts(cls, packed: Any, scales: Any, zero_points: Any = None, *, shape: tuple[int, ...], bits: int,
                   group_size: int | None = 128, symmetric: bool = False, per_tensor: bool = False, axis: int = 0,
                   signed: bool | None = None, scale_dtype: Any = "float32") -> "QuantizedTensor":
        """A tensor from the parts ``packed``, ``scales`` and ``zero_points`` of a tensor of ``shape`` with the
        scheme that ``quantize`` takes as the same keywords (for example read back from a file).

        ``packed`` is uint8 ``[rows, row_stride]`` (or bytes) in the layout of ``QuantizedTensor.packed``;
        ``scales`` float32 and ``zero_points`` int32, shaped as the attributes of those names (any shape with
        the right number of values is taken); ``zero_points`` may be None for a symmetric scheme. Every size
        and value is checked by the core: ``QuantizationError`` for parts that do not fit the scheme."""
        if not isinstance(shape, tuple) or len(shape) not in (1, 2) or not all(isinstance(d, int) for d in shape):
            raise ValueError(f"shape must be a tuple of one or two ints, got {shape!r}")
        rows, cols = (1, shape[0]) if len(shape) == 1 else shape
        scheme = Scheme.make(bits, group_size, symmetric, per_tensor=per_tensor, axis=axis, signed=signed,
                             scale_dtype=scale_dtype)
        codes = packed if isinstance(packed, (bytes, bytearray)) else _exact_array(packed, np.uint8, "packed")
        scale_values = _exact_array(scales, np.float32, "scales")
        zero_values = None if zero_points is None else _exact_array(zero_points, np.int32, "zero_points")
        handle = _swquant.qtensor_from_parts(rows, cols, scheme.native(), codes, scale_values, zero_values)
        return cls(handle, shape)

    def to_bytes(self) -> bytes:
        """The tensor as bytes: shape [rows, cols], scheme, codes, scales and zero points, little-endian (the
        core's format, the same from C and Swift). ``QuantizedTensor.from_bytes`` restores it."""
        return _swquant.qtensor_serialize(self._handle)

    @classmethod
    def from_bytes(cls, data: Any, shape: tuple[int, ...] | None = None) -> "QuantizedTensor":
        """A tensor restored from ``to_bytes()``; ``shape`` (default [rows, cols]) restores a 1-D tensor as
        1-D. Raises ``QuantizationError`` for bytes that are not a whole, consistent tensor."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, got {type(data).__name__}")
        handle = _swquant.qtensor_deserialize(bytes(data))
        return cls(handle, tuple(_swquant.info(handle)[:2]) if shape is None else shape)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.to_bytes(), self._shape))

    def dequantize(self, dtype: Any = np.float32, *, out: np.ndarray | None = None) -> np.ndarray:
        """The tensor in float32 (default) or float16, with the original shape.

        ``out``, a C-contiguous array of that shape and dtype, receives the values instead of a new
        array (reusing a buffer saves the page faults of a fresh allocation)."""
        code = output_code(dtype)
        expected = np.dtype(np.float32 if code == 0 else np.float16)
        if out is None:
            out = np.empty(self._shape, dtype=expected)
        elif not isinstance(out, np.ndarray) or out.dtype != expected or out.shape != self._shape:
            raise ValueError(f"out must be a {expected} array of shape {self._shape}")
        elif not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
        _swquant.dequantize(self._handle, code, out)
        return out

    def __repr__(self) -> str:
        detail = {"tensor": "per tensor", "channel": f"per channel (axis {self.axis})",
                  "group": f"groups of {self.group_size}"}[self.granularity]
        kind = "symmetric" if self.symmetric else "affine"
        return (f"QuantizedTensor(shape={self._shape}, {self.bits}-bit {kind}, {detail}, "
                f"{self._bpw:.4f} bits/weight)")


def quantize(w: Any, bits: int = 4, group_size: int | None = 128, symmetric: bool = False, *,
             per_tensor: bool = False, axis: int = 0, signed: bool | None = None,
             scale_dtype: Any = "float32", dtype: str | None = None, clip_search: bool = False,
             importance: Any = None) -> QuantizedTensor:
    """Quantizes a 1-D or 2-D tensor with scales and zero points computed from its values.

    ``q = clip(rint(w / scale) + zero_point, qmin, qmax)`` with round-half-to-even.

    Args:
        w: float32, float16 or bfloat16 array (other real dtypes are converted to float32); rows are
            output channels, columns the reduction dimension; 1-D is one row.
        bits: 2 to 8.
        group_size: elements per group along each row (the last group of a row is shorter when it
            does not divide the row); None for one scale per channel.
        symmetric: zero point fixed at 0 (signed grid) and scale = max|w| / (2^(bits-1) - 1); else affine,
            with [min, max] widened to contain 0 and scale = (max - min) / (2^bits - 1).
        per_tensor: one scale for the whole tensor (overrides group_size).
        axis: channel axis when group_size is None: 0 (rows) or 1 (columns).
        signed: code grid; defaults to signed for symmetric and unsigned for affine schemes.
        scale_dtype: "float32" or "float16" (scales rounded up to float16, so the range never shrinks).
        dtype: "bfloat16" when ``w`` holds raw bfloat16 bit patterns as uint16.
        clip_search: per group (or row), pick the range ``[min * a, max * b]`` (a, b in 1, 0.975, ..., 0.5:
            both ends together, then each end alone) with the least quantization error, as AWQ and
            llama.cpp do (per-row and per-group schemes).
        importance: weights of that error, one per column (an imatrix: e.g. ``LayerStats.mean_sq``);
            implies ``clip_search``.

    Raises:
        TypeError: for a non-numeric array or a wrongly typed option.
        ValueError: for a bad shape or option; ``QuantizationError`` (a ValueError) for NaN or Inf.

    >>> q = quantize(np.ones((4, 256), np.float32), bits=4, group_size=128)
    >>> q.scales.shape
    (4, 2)
    """
    scheme = Scheme.make(bits, group_size, symmetric, per_tensor=per_tensor, axis=axis, signed=signed,
                         scale_dtype=scale_dtype)
    shape = np.shape(w)
    matrix, code, rows, cols = as_matrix(w, dtype, "w")
    weights = None if importance is None else np.ascontiguousarray(importance, dtype=np.float32)
    if weights is not None and weights.shape != (cols,):
        raise ValueError(f"importance must have one value per column ({cols}), got shape {weights.shape}")
    search = bool(clip_search) or weights is not None
    return QuantizedTensor(_swquant.quantize(matrix, code, rows, cols, scheme.native(), weights, search), tuple(shape))


def dequantize(q: QuantizedTensor, dtype: Any = np.float32, *, out: np.ndarray | None = None) -> np.ndarray:
    """``q.dequantize(dtype, out=out)``: ``(code - zero_point) * scale`` for every element."""
    if not isinstance(q, QuantizedTensor):
        raise TypeError(f"expected a swquant.QuantizedTensor, got {type(q).__name__}")
    return q.dequantize(dtype, out=out)


def _restore(data: bytes, shape: tuple[int, ...]) -> QuantizedTensor:
    """Unpickles a tensor (``QuantizedTensor.__reduce__``)."""
    return QuantizedTensor.from_bytes(data, shape)


def _exact_array(values: Any, dtype: Any, name: str) -> np.ndarray:
    """``values`` as a C-contiguous array of ``dtype``, refusing conversions that would change a value."""
    array = np.asarray(values)
    if array.dtype != dtype:
        converted = array.astype(dtype)
        if array.dtype.kind not in "iufb" or not np.array_equal(converted, array):
            raise TypeError(f"{name} must hold {np.dtype(dtype)} values, got dtype {array.dtype}")
        array = converted
    return np.ascontiguousarray(array)
