"""Turning user arrays into the contiguous buffers the native shim accepts."""

from __future__ import annotations

from typing import Any

import numpy as np

# swq_dtype codes of include/swquant.h
F32, F16, BF16 = 0, 1, 2

_CODES = {np.dtype(np.float32): F32, np.dtype(np.float16): F16}


def input_code(array: np.ndarray, dtype: str | None) -> int:
    """The swq_dtype of an input array: float32, float16, bfloat16 (ml_dtypes), or raw bfloat16 bits
    as uint16 with ``dtype="bfloat16"``; -1 for float64, which the caller converts to float32.

    Integer and boolean arrays are rejected: a uint16 array is as likely to hold bfloat16 bit patterns
    as numbers, so its meaning must be said (``dtype="bfloat16"``, or ``astype(np.float32)``)."""
    if dtype is not None:
        if dtype != "bfloat16":
            raise ValueError(f"dtype must be None or 'bfloat16', got {dtype!r}")
        if array.dtype.itemsize != 2 or array.dtype.kind not in "uV" and array.dtype.name != "bfloat16":
            raise TypeError(f"dtype='bfloat16' needs uint16 bit patterns or a bfloat16 array, got {array.dtype}")
        return BF16
    if array.dtype.name == "bfloat16":
        return BF16
    code = _CODES.get(array.dtype)
    if code is not None:
        return code
    if array.dtype.kind == "f":
        return -1
    if array.dtype.kind in "iub":
        hint = " (raw bfloat16 bits: pass dtype='bfloat16')" if array.dtype == np.uint16 else ""
        raise TypeError(f"expected a floating-point array, got {array.dtype}{hint}; convert numbers with "
                        f".astype(np.float32)")
    raise TypeError(f"expected a float32, float16 or bfloat16 array, got dtype {array.dtype}")


def as_matrix(x: Any, dtype: str | None = None, name: str = "x") -> tuple[np.ndarray, int, int, int]:
    """A C-contiguous 2-D view of ``x`` (1-D becomes one row) with its swq_dtype code and shape.

    float64 arrays and Python sequences of numbers are converted to float32; float16 and bfloat16 are
    read as they are. Raises TypeError for integer arrays (see ``input_code``), strings, objects and
    complex numbers, ValueError for empty arrays and arrays of more than two dimensions.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, not {type(x).__name__}")
    array = _from_python(x, name) if isinstance(x, (list, tuple, float, int)) and dtype is None else np.asarray(x)
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    code = input_code(array, dtype)
    if code == -1:
        array, code = array.astype(np.float32), F32
    if array.ndim == 0 or array.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {array.shape}; reshape it to [rows, cols]")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    matrix = np.ascontiguousarray(array.reshape(1, -1) if array.ndim == 1 else array)
    if code == BF16:
        matrix = matrix.view(np.uint16)
    return matrix, code, matrix.shape[0], matrix.shape[1]


def _from_python(x: Any, name: str) -> np.ndarray:
    """A Python number or (nested) sequence of numbers as float32."""
    try:
        return np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must hold real numbers: {error}") from None


def output_code(dtype: Any) -> int:
    """The swq_dtype of an output dtype: float32 or float16."""
    resolved = np.dtype(dtype)
    if resolved == np.float32:
        return F32
    if resolved == np.float16:
        return F16
    raise TypeError(f"output dtype must be float32 or float16, got {resolved}")
