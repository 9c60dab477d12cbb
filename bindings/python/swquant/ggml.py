"""ggml's block types: the bytes of GGUF tensors, bit-exact with ggml's reference quantizers.

>>> import numpy as np
>>> from swquant import ggml
>>> w = np.random.default_rng(0).standard_normal((4, 512)).astype(np.float32)
>>> blocks = ggml.quantize(w, "Q4_K")
>>> blocks.shape, blocks.dtype
((4, 288), dtype('uint8'))
>>> float(np.abs(ggml.dequantize(blocks, "Q4_K", 512) - w).max()) < 0.5
True
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _swquant
from ._arrays import as_matrix


class TypeInfo(NamedTuple):
    """One row of ggml's type traits."""

    name: str
    id: int
    block_length: int
    block_bytes: int
    has_codec: bool
    uses_importance: bool


_TYPES = [TypeInfo(name, id_, length, size, bool(codec), bool(importance))
          for name, id_, length, size, codec, importance in _swquant.ggml_types()]
_BY_NAME = {info.name: info for info in _TYPES}
_BY_ID = {info.id: info for info in _TYPES}


def types() -> list[TypeInfo]:
    """Every ggml type (name, ggml id, block length, block bytes, whether swquant quantizes it, whether an
    importance row changes its codes), in id order."""
    return list(_TYPES)


def type_info(type: str | int) -> TypeInfo:
    """The traits of a type given by name (any case: ``"q4_k"``) or ggml id; ValueError if unknown."""
    if isinstance(type, str):
        info = _BY_NAME.get(type.upper())
    elif isinstance(type, (int, np.integer)) and not isinstance(type, bool):
        info = _BY_ID.get(int(type))
    else:
        raise TypeError(f"type must be a ggml type name or id, got {type!r}")
    if info is None:
        raise ValueError(f"unknown ggml type {type!r}; known: {', '.join(_BY_NAME)}")
    return info


def row_bytes(type: str | int, cols: int) -> int:
    """Bytes of one row of ``cols`` values; ValueError (QuantizationError) unless ``cols`` is a positive
    multiple of the block length."""
    info = type_info(type)
    if not isinstance(cols, (int, np.integer)) or isinstance(cols, bool):
        raise TypeError(f"cols must be an integer, got {cols!r}")
    return _swquant.ggml_row_size(info.id, int(cols))  # the core refuses rows of partial blocks (a ValueError)


def quantize(x: Any, type: str | int, importance: Any = None, *, dtype: str | None = None) -> np.ndarray:
    """ggml blocks of ``x`` (float32, float16 or bfloat16; ``[rows, cols]`` or 1-D): a ``uint8`` array
    ``[rows, row_bytes]`` holding each row's blocks exactly as ggml writes them and a GGUF file stores them.

    ``importance`` is an imatrix row (``cols`` non-negative values, the mean of x² per input column):
    with it the codes are those of ``llama-quantize --imatrix`` (types without ``uses_importance``
    ignore it). Raises ValueError when ``cols`` is not a multiple of the block length, QuantizationError
    for NaN or infinity."""
    info = _codec(type)
    matrix, code, rows, cols = as_matrix(x, dtype)
    size = row_bytes(info.id, cols)
    weights = None
    if importance is not None:
        weights = np.ascontiguousarray(importance, dtype=np.float32)
        if weights.shape != (cols,):
            raise ValueError(f"importance must hold one value per column ({cols}), got shape {weights.shape}")
    out = np.empty((rows, size), dtype=np.uint8)
    _swquant.ggml_quantize(info.id, matrix, code, rows, cols, weights, out)
    return out


def dequantize(blocks: Any, type: str | int, cols: int) -> np.ndarray:
    """float32 ``[rows, cols]`` values of ggml blocks (any ``uint8`` buffer of whole rows, as
    ``quantize`` returns or a GGUF tensor holds), as ggml's dequantizer computes them."""
    info = _codec(type)
    size = row_bytes(info.id, cols)
    data = np.ascontiguousarray(np.frombuffer(blocks, dtype=np.uint8) if isinstance(blocks, (bytes, bytearray, memoryview))
                                else np.asarray(blocks))
    if data.dtype != np.uint8:
        raise TypeError(f"blocks must be uint8, got {data.dtype}")
    if data.size == 0 or data.size % size:
        raise ValueError(f"blocks hold {data.size} bytes, not a whole number of {info.name} rows of {size} bytes")
    rows = data.size // size
    out = np.empty((rows, cols), dtype=np.float32)
    _swquant.ggml_dequantize(info.id, data.reshape(-1), rows, cols, out)
    return out


def _codec(type: str | int) -> TypeInfo:
    info = type_info(type)
    if not info.has_codec:
        codecs = ", ".join(t.name for t in _TYPES if t.has_codec)
        raise ValueError(f"swquant does not quantize or dequantize {info.name}; it does: {codecs}")
    return info
