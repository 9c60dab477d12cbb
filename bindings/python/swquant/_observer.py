"""Calibration observers: ranges of activations from streamed batches."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import _swquant
from ._arrays import as_matrix
from ._native import NativeObject
from ._scheme import flag, integer

METHODS = {"minmax": 0, "ema": 1, "percentile": 2, "mse": 3, "entropy": 4}
# The option each method takes, and its name as a keyword argument.
OPTIONS = {"ema": "momentum", "percentile": "percentile", "entropy": "quantized_bins"}


class Observer(NativeObject):
    """Streams over batches, keeps statistics (never the batches), and chooses a quantization range.

    Args:
        method: "minmax", "ema" (moving averages of batch minima and maxima, ``momentum=0.01``),
            "percentile" (``percentile=99.999``), "mse" (symmetric threshold of least expected squared
            error) or "entropy" (TensorRT's KL-divergence method, ``quantized_bins=128``).
        bits: 2 to 8; symmetric: symmetric or affine parameters.
        axis: None (per tensor), 0 (per row of 2-D batches) or 1 (per column): one range per channel.
        bins: histogram bins per channel for the histogram methods (2048, fixed). Bin widths are powers of two and
            double when larger values arrive (neighbouring bins merge), so the histogram depends only on
            the values seen, not their order: observers merge exactly.

    ``observe``, ``merge`` and the readers may be called from several threads: a lock orders them.

    >>> obs = Observer("percentile", percentile=99.9)
    >>> obs.observe(np.random.default_rng(0).standard_normal(100_000).astype(np.float32))
    >>> low, high = obs.range()
    """

    def __init__(self, method: str, bits: int = 8, symmetric: bool = True, axis: int | None = None,
                 bins: int = 2048, **options: Any) -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
        allowed = {OPTIONS[method]} if method in OPTIONS else set()
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(f"unexpected option(s) {sorted(unknown)} for method {method!r}; it takes {sorted(allowed)}")
        parameter = float(options.get(OPTIONS.get(method, ""), 0))
        if method in OPTIONS and OPTIONS[method] in options and parameter == 0:
            raise ValueError(f"{OPTIONS[method]} must not be 0")
        bits, bins, symmetric = integer(bits, "bits"), integer(bins, "bins"), flag(symmetric, "symmetric")
        axis = None if axis is None else integer(axis, "axis")
        if axis is not None and axis not in (0, 1):
            raise ValueError(f"axis must be None, 0 or 1, got {axis!r}")
        self._handle = _swquant.observer_new(METHODS[method], parameter, bits, int(symmetric), -1 if axis is None else axis, bins)
        self._config = _read_config(self._handle)
        self._lock = threading.Lock()

    @property
    def method(self) -> str:
        return self._config[0]

    @property
    def bits(self) -> int:
        return self._config[1]

    @property
    def symmetric(self) -> bool:
        return self._config[2]

    @property
    def axis(self) -> int | None:
        return self._config[3]

    def observe(self, x: Any) -> None:
        """Adds a batch (float32, float16 or bfloat16; 1-D or 2-D; per-channel observers need 2-D with
        the same channel count every time). Raises ``QuantizationError`` for NaN or Inf."""
        if self.axis is not None and np.ndim(x) != 2:
            raise ValueError(f"a per-channel observer needs 2-D batches, got shape {np.shape(x)}")
        matrix, code, rows, cols = as_matrix(x, None, "x")
        with self._lock:
            _swquant.observer_observe(self._handle, matrix, code, rows, cols)

    def merge(self, other: "Observer") -> None:
        """Adds ``other``'s statistics, exactly as if this observer had seen its batches ("ema" cannot merge)."""
        if not isinstance(other, Observer):
            raise TypeError(f"expected a swquant.Observer, got {type(other).__name__}")
        if other is self:
            raise ValueError("an observer cannot merge into itself")
        with self._lock, other._lock:
            _swquant.observer_merge(self._handle, other._handle)

    def range(self) -> tuple[np.ndarray, np.ndarray]:
        """The chosen (low, high) thresholds: 0-d float32 arrays per tensor, 1-D per channel."""
        with self._lock:
            count = _swquant.observer_channels(self._handle)
            low, high = np.empty(count, np.float32), np.empty(count, np.float32)
            _swquant.observer_range(self._handle, low, high)
        return (low[0], high[0]) if self.axis is None else (low, high)

    def qparams(self, signed: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scale, zero_point) for the observer's bits and symmetry: 0-d arrays per tensor, 1-D per channel.
        ``signed`` picks the code grid (default: signed for symmetric, unsigned for affine)."""
        with self._lock:
            count = _swquant.observer_channels(self._handle)
            scales, zeros = np.empty(count, np.float32), np.empty(count, np.int32)
            grid = flag(signed, "signed", optional=True)
            _swquant.observer_qparams(self._handle, -1 if grid is None else int(grid), scales, zeros)
        if self.axis is None:
            return scales.reshape(()), zeros.reshape(())
        return scales, zeros

    def to_bytes(self) -> bytes:
        """The observer's configuration and statistics as bytes (``Observer.from_bytes`` restores it)."""
        with self._lock:
            return _swquant.observer_serialize(self._handle)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Observer":
        """An observer restored from ``to_bytes()``; raises ``QuantizationError`` for other bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, got {type(data).__name__}")
        handle = _swquant.observer_deserialize(bytes(data))
        observer = cls.__new__(cls)
        observer._handle = handle
        observer._lock = threading.Lock()
        observer._config = _read_config(handle)
        return observer

    def __repr__(self) -> str:
        method, bits, symmetric, axis, _, options = self._config
        extra = "".join(f", {k}={v}" for k, v in options.items())
        return f"Observer({method!r}, bits={bits}, symmetric={symmetric}, axis={axis}{extra})"


def _read_config(handle: object) -> tuple[Any, ...]:
    """(method, bits, symmetric, axis, bins, options) of a native observer, defaults filled in by the core."""
    tag, parameter, bits, symmetric, axis, bins = _swquant.observer_config(handle)
    method = {v: k for k, v in METHODS.items()}[tag]
    options = {OPTIONS[method]: int(parameter) if method == "entropy" else parameter} if method in OPTIONS else {}
    return method, bits, bool(symmetric), None if axis < 0 else axis, bins, options
