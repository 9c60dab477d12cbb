"""Quantization schemes as the native shim takes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _swquant

# swq_granularity and swq_grid codes of include/swquant.h
PER_TENSOR, PER_CHANNEL, PER_GROUP = 0, 1, 2
UNSIGNED, SIGNED = 0, 1


def flag(value: object, name: str, optional: bool = False) -> bool | None:
    """A boolean option as bool: True, False or a numpy bool (None too when ``optional``); anything else,
    such as the string "yes", raises TypeError."""
    if value is None and optional:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def integer(value: object, name: str) -> int:
    """An integer option (not a bool) as int; anything else raises TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


@dataclass(frozen=True)
class Scheme:
    """A linear quantization scheme (see ``swquant.quantize`` for the meaning of each field)."""

    bits: int
    symmetric: bool
    signed: bool
    granularity: int
    axis: int = 0
    group_size: int = 0
    scale_dtype: str = "float32"

    @staticmethod
    def make(bits: int, group_size: int | None, symmetric: bool, *, per_tensor: bool = False, axis: int = 0,
             signed: bool | None = None, scale_dtype: object = "float32") -> "Scheme":
        bits, axis = integer(bits, "bits"), integer(axis, "axis")
        group_size = None if group_size is None else integer(group_size, "group_size")
        symmetric, signed = flag(symmetric, "symmetric"), flag(signed, "signed", optional=True)
        per_tensor = flag(per_tensor, "per_tensor")
        scale_name = np.dtype(scale_dtype).name
        if scale_name not in ("float32", "float16"):
            raise ValueError(f"scale_dtype must be float32 or float16, got {scale_name}")
        if per_tensor:
            granularity, group = PER_TENSOR, 0
        elif group_size is None:
            granularity, group = PER_CHANNEL, 0
        else:
            granularity, group = PER_GROUP, int(group_size)
        return Scheme(bits, symmetric, symmetric if signed is None else signed, granularity, axis, group, scale_name)

    def native(self) -> tuple[int, int, int, int, int, int, int]:
        """The 7-tuple of swq_scheme fields."""
        return (self.bits, SIGNED if self.signed else UNSIGNED, int(self.symmetric), self.granularity,
                self.axis, self.group_size, 1 if self.scale_dtype == "float16" else 0)

    @staticmethod
    def from_native(fields: tuple[int, ...]) -> "Scheme":
        bits, grid, symmetric, granularity, axis, group, scale = fields
        return Scheme(bits, bool(symmetric), grid == SIGNED, granularity, axis, group,
                      "float16" if scale == 1 else "float32")

    def qparam_shape(self, rows: int, cols: int, original_ndim: int) -> tuple[int, ...]:
        """Shape of the scale and zero-point arrays for a tensor of this shape (the count from the core)."""
        count = _swquant.qparams_count(self.native(), rows, cols)
        if self.granularity == PER_TENSOR:
            return ()
        if self.granularity == PER_CHANNEL or original_ndim == 1:
            return (count,)
        return (rows, count // rows)
