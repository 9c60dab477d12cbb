"""Quantization parameters from ranges and data, and fake quantization."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _swquant
from ._arrays import F16, as_matrix
from ._scheme import PER_CHANNEL, PER_GROUP, PER_TENSOR, Scheme, flag, integer


def qparams_from_range(min: float, max: float, bits: int = 8, symmetric: bool = True, *,
                       signed: bool | None = None, scale_dtype: Any = "float32") -> tuple[float, int]:
    """The (scale, zero_point) that map [min, max] onto the grid, by the formulas of ``quantize``.

    >>> qparams_from_range(-1.0, 3.0, bits=8, symmetric=False)
    (0.01568627543747425, 64)
    """
    scheme = Scheme.make(bits, None, symmetric, per_tensor=True, signed=signed, scale_dtype=scale_dtype)
    return _swquant.qparams_from_range(scheme.native(), float(min), float(max))


def compute_qparams(w: Any, bits: int = 4, group_size: int | None = 128, symmetric: bool = False, *,
                    per_tensor: bool = False, axis: int = 0, signed: bool | None = None,
                    scale_dtype: Any = "float32", dtype: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (scales, zero_points) ``quantize`` would choose for ``w``, shaped like its attributes."""
    scheme = Scheme.make(bits, group_size, symmetric, per_tensor=per_tensor, axis=axis, signed=signed,
                         scale_dtype=scale_dtype)
    ndim = np.ndim(w)
    matrix, code, rows, cols = as_matrix(w, dtype, "w")
    shape = scheme.qparam_shape(rows, cols, ndim)
    count = int(np.prod(shape, dtype=np.int64))
    scales = np.empty(count, dtype=np.float32)
    zero_points = np.empty(count, dtype=np.int32)
    _swquant.compute_qparams(matrix, code, rows, cols, scheme.native(), scales, zero_points)
    return scales.reshape(shape), zero_points.reshape(shape)


def fake_quantize(x: Any, scale: Any, zero_point: Any = None, bits: int = 8, *, signed: bool | None = None,
                  axis: int | None = None, group_size: int | None = None, dtype: str | None = None) -> np.ndarray:
    """Quantize then dequantize in float, the forward pass of quantization-aware training:
    ``(clip(rint(x / scale) + zero_point, qmin, qmax) - zero_point) * scale``.

    ``scale`` and ``zero_point`` are scalars (per tensor), 1-D arrays along ``axis`` (per channel: 0 for
    rows, 1 for columns), or [rows, groups] arrays with ``group_size``. The result has the shape of ``x``
    and is float16 for float16 input, else float32. It equals ``quantize`` + ``dequantize`` bit for bit
    when given the parameters ``quantize`` chose.

    The grid follows the rule of ``quantize``: without ``zero_point`` the scheme is symmetric and the grid
    signed (zero point 0); with one it is affine and the grid unsigned; ``signed`` overrides. A float zero
    point (LSQ+ learns it as a float, as torch's learnable fake quantization does) is rounded half to even
    and clamped to the grid, as torch does in its forward pass.

    >>> fake_quantize(np.array([0.26, -1.0], np.float32), scale=0.5, bits=8).tolist()
    [0.5, -1.0]
    >>> fake_quantize(np.array([0.26, -1.0], np.float32), scale=0.5, zero_point=3.6, bits=8).tolist()
    [0.5, -1.0]
    """
    args = _FakeQuantArgs(x, scale, zero_point, bits, signed, axis, group_size, dtype)
    out = np.empty(args.shape, dtype=np.float16 if args.code == F16 else np.float32)
    _swquant.fake_quantize(args.matrix, args.code, args.rows, args.cols, args.scheme.native(), args.scales,
                           args.zeros, out, 1 if args.code == F16 else 0)
    return out


def quantize_codes(x: Any, scale: Any, zero_point: Any = None, bits: int = 8, *, signed: bool | None = None,
                   axis: int | None = None, group_size: int | None = None) -> np.ndarray:
    """Static quantization with given parameters (e.g. from an ``Observer``): one code per element,
    ``clip(rint(x / scale) + zero_point, qmin, qmax)``, uint8 on an unsigned grid (an affine scheme: the
    activations of ``matmul_static_int8``) and int8 on a signed one. Parameters and grid as in
    ``fake_quantize``.

    >>> quantize_codes(np.array([0.0, 1.0, 9.0], np.float32), scale=0.5, zero_point=128).tolist()
    [128, 130, 146]
    """
    args = _FakeQuantArgs(x, scale, zero_point, bits, signed, axis, group_size, None)
    codes = np.empty(args.shape, np.int8 if args.scheme.signed else np.uint8)
    _swquant.quantize_codes(args.matrix, args.code, args.rows, args.cols, args.scheme.native(), args.scales,
                            args.zeros, codes.view(np.uint8))
    return codes


def fake_quantize_grad(x: Any, grad_out: Any, scale: Any, zero_point: Any = None, bits: int = 8, *,
                       signed: bool | None = None, axis: int | None = None, group_size: int | None = None,
                       lsq_scaling: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward pass of ``fake_quantize`` for training loops on numpy arrays.

    Returns ``(grad_x, grad_scale, grad_zero_point)`` for ``grad_out = dL/dy``: the straight-through
    estimator for x (``grad_out`` where the value is inside the quantization range, 0 where clipped), the
    learned-step-size (LSQ) gradient for each scale, and the LSQ+ gradient for each zero point (treated as
    continuous; useful for affine schemes). ``lsq_scaling`` multiplies the parameter gradients by
    ``1 / sqrt(n * qmax)``, n the elements sharing the parameter. Parameters and grid as in
    ``fake_quantize`` (a float zero point is rounded the same way); the parameter gradients have the
    shape of ``scale``.

    >>> gx, gs, gz = fake_quantize_grad(np.array([0.3, 9.0], np.float32), np.ones(2, np.float32), 0.5, bits=4)
    >>> gx.tolist(), float(gs)
    ([1.0, 0.0], 7.4)
    """
    args = _FakeQuantArgs(x, scale, zero_point, bits, signed, axis, group_size, None)
    grad = np.ascontiguousarray(grad_out, dtype=np.float32)
    if grad.shape != tuple(args.shape):
        raise ValueError(f"grad_out has shape {grad.shape}, x has {tuple(args.shape)}")
    grad_x = np.empty(args.shape, np.float32)
    grad_scale = np.empty(args.scales.shape, np.float32)
    grad_zero = np.empty(args.scales.shape, np.float32)
    _swquant.fake_quantize_grad(args.matrix, args.code, args.rows, args.cols, args.scheme.native(), args.scales,
                                args.zeros, grad, grad_x, grad_scale, grad_zero, int(flag(lsq_scaling, "lsq_scaling")))
    return grad_x, grad_scale, grad_zero


class _FakeQuantArgs:
    """The checked, contiguous arguments of ``fake_quantize``, ``quantize_codes`` and the gradient."""

    def __init__(self, x: Any, scale: Any, zero_point: Any, bits: int, signed: bool | None, axis: int | None,
                 group_size: int | None, dtype: str | None) -> None:
        if axis is not None and group_size is not None:
            raise ValueError("give axis (per channel) or group_size (per group), not both")
        axis = None if axis is None else integer(axis, "axis")
        group_size = None if group_size is None else integer(group_size, "group_size")
        self.shape = np.shape(x)
        self.matrix, self.code, self.rows, self.cols = as_matrix(x, dtype, "x")
        self.scales = np.array(scale, dtype=np.float32, order="C")  # ascontiguousarray would make 0-d 1-D
        if group_size is not None:
            granularity = PER_GROUP
        elif axis is not None:
            if axis not in (0, 1):
                raise ValueError(f"axis must be 0 (rows) or 1 (columns), got {axis}")
            granularity = PER_CHANNEL
        else:
            if self.scales.ndim != 0:
                raise ValueError(f"a scale array of shape {self.scales.shape} needs axis= or group_size=")
            granularity = PER_TENSOR
        symmetric = zero_point is None
        signed = flag(signed, "signed", optional=True)
        self.scheme = Scheme(integer(bits, "bits"), symmetric, symmetric if signed is None else signed, granularity,
                             int(axis or 0), int(group_size or 0))
        expected = _swquant.qparams_count(self.scheme.native(), self.rows, self.cols)
        if self.scales.size != expected:
            raise ValueError(f"scale has {self.scales.size} values, {expected} are needed for shape {self.shape}")
        self.zeros = None if symmetric else self._zero_points(zero_point)

    def _zero_points(self, zero_point: Any) -> np.ndarray:
        """Integer zero points broadcast to the scales' shape; float ones rounded by the core."""
        zeros = np.asarray(zero_point)
        if zeros.dtype.kind not in "iubf":
            raise TypeError(f"zero_point must hold real numbers, got dtype {zeros.dtype}")
        zeros = np.broadcast_to(zeros, self.scales.shape)
        if zeros.dtype.kind == "f":
            values = np.ascontiguousarray(zeros, dtype=np.float32)
            rounded = np.empty(values.shape, np.int32)
            _swquant.round_zero_points(self.scheme.native(), values.reshape(-1), rounded.reshape(-1))
            return rounded
        if zeros.size and (zeros.min() < np.iinfo(np.int32).min or zeros.max() > np.iinfo(np.int32).max):
            raise ValueError(f"zero_point must lie on the grid, got values in [{zeros.min()}, {zeros.max()}]")
        return np.array(zeros, dtype=np.int32, order="C")
