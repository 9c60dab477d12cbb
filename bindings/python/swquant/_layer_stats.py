"""Calibration statistics of a linear layer's input, for post-training quantization."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import _swquant
from ._arrays import as_matrix
from ._native import NativeObject
from ._scheme import Scheme, flag, integer
from ._tensor import QuantizedTensor


class LayerStats(NativeObject):
    """Streams over batches of a linear layer's inputs ([tokens, in_features]) and keeps ``X^T X`` (GPTQ's
    Hessian), and per input channel the means of ``|x|`` (AWQ, SmoothQuant) and ``x^2`` (importance
    weights). Memory is fixed (``in_features^2`` doubles); sums run in float64 in a fixed order.

    >>> stats = LayerStats(64)
    >>> stats.observe(np.ones((10, 64), np.float32))
    >>> stats.gram[0, 0], stats.row_count
    (10.0, 10)
    """

    def __init__(self, in_features: int) -> None:
        in_features = integer(in_features, "in_features")
        self._handle = _swquant.layer_stats_new(in_features)
        self._in_features = in_features
        self._lock = threading.Lock()

    @property
    def in_features(self) -> int:
        return self._in_features

    def observe(self, x: Any) -> None:
        """Adds a batch of inputs, [tokens, in_features] (1-D: one token). Raises ``QuantizationError``
        for NaN or Inf and ValueError for another feature count."""
        matrix, code, rows, cols = as_matrix(x, None, "x")
        if cols != self._in_features:
            raise ValueError(f"x has {cols} features, these statistics {self._in_features}")
        with self._lock:
            _swquant.layer_stats_observe(self._handle, matrix, code, rows, cols)

    def merge(self, other: "LayerStats") -> None:
        """Adds ``other``'s statistics (same in_features), as if these had seen its batches too."""
        if not isinstance(other, LayerStats):
            raise TypeError(f"expected swquant.LayerStats, got {type(other).__name__}")
        if other is self:
            raise ValueError("statistics cannot merge into themselves")
        with self._lock, other._lock:
            _swquant.layer_stats_merge(self._handle, other._handle)

    def _read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        k = self._in_features
        gram, mean_abs, mean_sq = np.empty((k, k)), np.empty(k), np.empty(k)
        with self._lock:
            count = _swquant.layer_stats_read(self._handle, gram, mean_abs, mean_sq)
        return gram, mean_abs, mean_sq, count

    @property
    def gram(self) -> np.ndarray:
        """``X^T X`` over every observed row, float64 [in_features, in_features]."""
        return self._read()[0]

    @property
    def mean_abs(self) -> np.ndarray:
        """Mean ``|x|`` per input channel (float64; zeros before any data)."""
        return self._read()[1]

    @property
    def mean_sq(self) -> np.ndarray:
        """Mean ``x^2`` per input channel (float64; zeros before any data)."""
        return self._read()[2]

    @property
    def row_count(self) -> int:
        """Rows (tokens) observed."""
        return self._read()[3]

    def scaled(self, scales: Any) -> "LayerStats":
        """New statistics of the inputs scaled channel by channel, ``x * scales`` (one finite value per input
        feature), as if the scaled batches had been observed. For GPTQ after AWQ's channel scales ``s``:
        ``gptq(w * s, stats.scaled(1 / s), ...)``, then divide the layer's inputs by ``s``."""
        values = np.ascontiguousarray(scales, dtype=np.float32)
        if values.shape != (self._in_features,):
            raise ValueError(f"scales must have one value per input feature ({self._in_features}), got shape {values.shape}")
        result = LayerStats.__new__(LayerStats)
        with self._lock:
            result._handle = _swquant.layer_stats_scaled(self._handle, values)
        result._in_features, result._lock = self._in_features, threading.Lock()
        return result

    def to_bytes(self) -> bytes:
        with self._lock:
            return _swquant.layer_stats_serialize(self._handle)

    @classmethod
    def from_bytes(cls, data: bytes) -> "LayerStats":
        """Statistics restored from ``to_bytes()``; raises ``QuantizationError`` for other bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, got {type(data).__name__}")
        stats = cls.__new__(cls)
        stats._handle = _swquant.layer_stats_deserialize(bytes(data))
        stats._in_features = _swquant.layer_stats_in_features(stats._handle)
        stats._lock = threading.Lock()
        return stats

    def __repr__(self) -> str:
        return f"LayerStats(in_features={self._in_features}, row_count={self.row_count})"


def gptq(w: Any, stats: LayerStats, bits: int = 4, group_size: int | None = 128, symmetric: bool = False, *,
         damp: float = 0.01, act_order: bool = False, clip_search: bool = False, per_tensor: bool = False,
         signed: bool | None = None, scale_dtype: Any = "float32") -> QuantizedTensor:
    """GPTQ: quantizes ``w`` ([out_features, in_features]) column by column, spreading each column's
    rounding error over the columns still to come through the inverse Hessian ``X^T X`` of the layer's
    inputs (``stats``), plus ``damp * mean(diag)``. ``act_order`` sweeps columns by decreasing ``diag``
    with group parameters from the original weights. ``clip_search`` picks each group's range by the
    clipping search of ``quantize(clip_search=True)`` weighted by ``stats.mean_sq`` (both ends of the range
    shrunk together only) instead of its min and max. Returns a ``QuantizedTensor`` like ``quantize``.
    """
    if not isinstance(stats, LayerStats):
        raise TypeError(f"stats must be a swquant.LayerStats, got {type(stats).__name__}")
    scheme = Scheme.make(bits, group_size, symmetric, per_tensor=per_tensor, signed=signed, scale_dtype=scale_dtype)
    shape = np.shape(w)
    if len(shape) != 2:
        raise ValueError(f"w must be 2-D [out_features, in_features], got shape {shape}")
    matrix, code, rows, cols = as_matrix(w, None, "w")
    with stats._lock:
        handle = _swquant.gptq(matrix, code, rows, cols, scheme.native(), stats._handle, float(damp),
                                int(flag(act_order, "act_order")), int(flag(clip_search, "clip_search")))
    return QuantizedTensor(handle, tuple(shape))


def awq(w: Any, stats: LayerStats | np.ndarray, bits: int = 4, group_size: int | None = 128, symmetric: bool = False, *,
        grid: int = 20, clip_search: bool = True, duo_scaling: bool = False, signed: bool | None = None,
        scale_dtype: Any = "float32") -> tuple[QuantizedTensor, np.ndarray]:
    """AWQ: scales the input channels of ``w`` ([out_features, in_features]) by ``s = mean|x|^alpha``
    (normalised), alpha searched on ``grid`` points in [0, 1) to minimise the layer's output error on the
    calibration data (through ``stats.gram``), then quantizes ``w * s``; ``clip_search`` clips each group's
    range, group after group, to minimise that output error with the other groups' rounding errors fixed,
    then refits its scale by least squares (AWQ's clipping search). ``duo_scaling`` (AutoAWQ's
    default) searches ``s = mean|x|^alpha / (mean|w'|^(1 - alpha) + 1e-4)`` instead, ``w'`` being each weight
    divided by the largest magnitude of its group and the mean taken over the output rows.

    ``stats`` is the layer's ``LayerStats``, or its calibration inputs themselves as a numpy array
    [tokens, in_features], observed into fresh statistics.

    Returns ``(q, s)``: ``q`` quantizes ``w * s``, so the layer computes ``(x / s) @ q.dequantize().T``; fold
    ``1 / s`` into the previous operation (e.g. a norm's weights) or divide the activations.
    """
    if isinstance(stats, np.ndarray):
        inputs = stats
        if inputs.ndim != 2:
            raise ValueError(f"calibration inputs must be 2-D [tokens, in_features], got shape {inputs.shape}")
        stats = LayerStats(inputs.shape[1])
        stats.observe(inputs)
    if not isinstance(stats, LayerStats):
        raise TypeError(f"stats must be a swquant.LayerStats or a numpy array of inputs, got {type(stats).__name__}")
    scheme = Scheme.make(bits, group_size, symmetric, signed=signed, scale_dtype=scale_dtype)
    shape = np.shape(w)
    if len(shape) != 2:
        raise ValueError(f"w must be 2-D [out_features, in_features], got shape {shape}")
    matrix, code, rows, cols = as_matrix(w, None, "w")
    scales = np.empty(cols, np.float32)
    with stats._lock:
        handle, alpha = _swquant.awq(matrix, code, rows, cols, scheme.native(), stats._handle, int(grid),
                                     int(flag(clip_search, "clip_search")), int(flag(duo_scaling, "duo_scaling")), scales)
    return QuantizedTensor(handle, tuple(shape)), scales


def smoothquant_scales(act_absmax: Any, w: Any, alpha: float = 0.5) -> np.ndarray:
    """SmoothQuant migration scales for W8A8: ``s_j = act_absmax_j^alpha / max_i |w_ij|^(1 - alpha)`` (1
    where either maximum is 0). The layer computes ``(x / s) @ (w * s).T``: divide the activations (or fold
    ``1 / s`` into the previous operation) and scale the weight columns before quantizing both.
    ``act_absmax`` has one value per input channel (e.g. from an ``Observer`` with ``axis=1``)."""
    maxima = np.ascontiguousarray(act_absmax, dtype=np.float32)
    matrix, code, rows, cols = as_matrix(w, None, "w")
    if maxima.shape != (cols,):
        raise ValueError(f"act_absmax must have one value per input channel ({cols}), got shape {maxima.shape}")
    scales = np.empty(cols, np.float32)
    _swquant.smoothquant_scales(maxima, matrix, code, rows, cols, float(alpha), scales)
    return scales
