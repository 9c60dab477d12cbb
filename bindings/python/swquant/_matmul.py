"""Quantized matrix multiplication: ``matmul`` and ``QuantizedLinear``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _swquant
from ._tensor import QuantizedTensor, quantize

PATHS = {"auto": 0, "weight_only": 1, "int8": 2, "int8_row": 3}


def _checked_bias(bias: Any, n: int) -> np.ndarray | None:
    """``bias`` as a contiguous float32 [n] array (None stays None). Floating-point arrays of any
    precision are converted, as the other float inputs are; other dtypes raise ``TypeError``, other
    shapes ``ValueError``."""
    if bias is None:
        return None
    array = np.asarray(bias)
    if array.dtype.kind != "f":
        raise TypeError(f"bias must be a floating-point array, got dtype {array.dtype}")
    if array.shape != (n,):
        raise ValueError(f"bias must have shape ({n},), got {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def matmul(x: Any, qw: QuantizedTensor, bias: Any = None, *, path: str = "auto") -> np.ndarray:
    """``y = x @ W.T (+ bias)`` with W a 2-D ``QuantizedTensor`` of shape [n, k] (rows are outputs).

    Args:
        x: float32 array [m, k] (or [k] for one row), C-contiguous; other layouts and dtypes raise.
        qw: the quantized weights.
        bias: None or a floating-point [n] array (converted to float32).
        path: "weight_only" (float activations times weights dequantized a few rows at a time),
            "int8" (activations quantized to int8 per block of 32, integer dot products; 4- and 8-bit
            weights in groups that are multiples of 32, per row or per tensor) or "auto" (int8 where the
            weights allow it), or "int8_row" (one int8 scale per activation row: integer sums across whole
            weight groups, the fastest for batches; any bits; coarser on rows with outliers).

    Returns float32 [m, n] ([n] for a 1-D x). NaN or Inf in x propagate on the weight-only path and raise
    ``QuantizationError`` on the int8 path.
    """
    if not isinstance(qw, QuantizedTensor):
        raise TypeError(f"qw must be a swquant.QuantizedTensor, got {type(qw).__name__}")
    if path not in PATHS:
        raise ValueError(f"path must be one of {sorted(PATHS)}, got {path!r}")
    if len(qw.shape) != 2:
        raise ValueError(f"weights must be 2-D [n, k], got shape {qw.shape}")
    n, k = qw.shape
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"x must be float32, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError("x must be C-contiguous (use np.ascontiguousarray)")
    if x.ndim not in (1, 2) or x.shape[-1] != k or x.size == 0:
        raise ValueError(f"x must have shape [m, {k}] or [{k}], got {x.shape}")
    bias = _checked_bias(bias, n)
    m = 1 if x.ndim == 1 else x.shape[0]
    y = np.empty((m, n) if x.ndim == 2 else (n,), np.float32)
    _swquant.matmul(qw._handle, x, m, bias, y, PATHS[path])
    return y


OUTPUTS = {"int32": (0, np.int32), "float32": (1, np.float32), "uint8": (2, np.uint8)}


def matmul_static_int8(a: Any, a_scale: float, a_zero_point: int, qw: QuantizedTensor, bias: Any = None, *,
                       output: str = "float32", out_scale: float = 1.0, out_zero_point: int = 0) -> np.ndarray:
    """Static int8 GEMM (gemmlowp): ``acc = (a - a_zero_point) @ (W_codes - w_zero_point).T`` in exact int32.

    Args:
        a: uint8 [m, k] activation codes quantized with a calibrated ``a_scale`` and ``a_zero_point``.
        qw: 8-bit weights [n, k], per tensor or per row (``group_size=None``).
        bias: None or a floating-point [n] array (converted to float32), added to the float result.
        output: "int32" (the sums), "float32" (``a_scale * w_scale[n] * acc + bias``) or "uint8" (the float
            result requantized with ``out_scale`` and ``out_zero_point``, round half to even, clamped).
    """
    if not isinstance(qw, QuantizedTensor):
        raise TypeError(f"qw must be a swquant.QuantizedTensor, got {type(qw).__name__}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got {output!r}")
    if len(qw.shape) != 2:
        raise ValueError(f"weights must be 2-D [n, k], got shape {qw.shape}")
    n, k = qw.shape
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8:
        raise TypeError(f"a must be a uint8 numpy array, got {getattr(a, 'dtype', type(a).__name__)}")
    if a.ndim != 2 or a.shape[1] != k or a.shape[0] == 0:
        raise ValueError(f"a must have shape [m, {k}], got {a.shape}")
    a = np.ascontiguousarray(a)
    bias = _checked_bias(bias, n)
    code, dtype = OUTPUTS[output]
    out = np.empty((a.shape[0], n), dtype)
    _swquant.matmul_static_int8(qw._handle, a, a.shape[0], float(a_scale), int(a_zero_point), bias, code,
                                float(out_scale), int(out_zero_point), out)
    return out


class QuantizedLinear:
    """A linear layer ``y = x @ W.T + b`` holding quantized weights, for inference.

    >>> layer = QuantizedLinear(np.ones((8, 64), np.float32), bits=4, group_size=32)
    >>> layer(np.ones((2, 64), np.float32)).shape
    (2, 8)
    """

    def __init__(self, weight: Any, bias: Any = None, *, bits: int = 4, group_size: int | None = 128,
                 symmetric: bool = False, path: str = "auto", **quantize_options: Any) -> None:
        if path not in PATHS:
            raise ValueError(f"path must be one of {sorted(PATHS)}, got {path!r}")
        self.weight = weight if isinstance(weight, QuantizedTensor) else quantize(
            weight, bits=bits, group_size=group_size, symmetric=symmetric, **quantize_options)
        if len(self.weight.shape) != 2:
            raise ValueError(f"weights must be 2-D [out_features, in_features], got shape {self.weight.shape}")
        self.bias = _checked_bias(bias, self.weight.shape[0])
        self.path = path

    @property
    def in_features(self) -> int:
        return self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]

    def __call__(self, x: Any) -> np.ndarray:
        return matmul(x, self.weight, self.bias, path=self.path)

    def __repr__(self) -> str:
        return f"QuantizedLinear({self.in_features} -> {self.out_features}, {self.weight!r}, path={self.path!r})"
