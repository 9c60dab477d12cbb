"""Error metrics of an approximation against a reference."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _swquant


class ErrorMetrics(NamedTuple):
    """Mean squared error, SQNR in dB (``inf`` when exact) and largest absolute error."""

    mse: float
    sqnr_db: float
    max_abs_error: float


def error_metrics(reference: Any, approx: Any) -> ErrorMetrics:
    """Metrics of ``approx`` against ``reference`` (same shape), computed in float64 from float32 values.

    >>> error_metrics([1.0, 2.0], [1.0, 2.5]).max_abs_error
    0.5
    """
    a = np.ascontiguousarray(reference, dtype=np.float32)
    b = np.ascontiguousarray(approx, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: reference {a.shape}, approx {b.shape}")
    if a.size == 0:
        raise ValueError("metrics need at least one element")
    return ErrorMetrics(*_swquant.error_metrics(a, b, a.size))


def sqnr(reference: Any, approx: Any) -> float:
    """Signal-to-quantization-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - approx)^2)."""
    return error_metrics(reference, approx).sqnr_db


def mse(reference: Any, approx: Any) -> float:
    """Mean squared error."""
    return error_metrics(reference, approx).mse


def max_abs_error(reference: Any, approx: Any) -> float:
    """Largest absolute difference."""
    return error_metrics(reference, approx).max_abs_error
