"""An independent numpy reference of swquant's formulas (float32 arithmetic where the library
specifies float32, float64 for the range width), written from the documentation, not the code."""

from __future__ import annotations

import numpy as np

TINY = np.float32(np.finfo(np.float32).tiny)


def grid(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def round_up_to_f16(scale: np.float32) -> np.float32:
    half = np.float16(scale)
    if np.float32(half) < scale:
        half = np.nextafter(half, np.float16(np.inf))
    return np.float32(half)


def params(lo: float, hi: float, bits: int, symmetric: bool, signed: bool, f16: bool = False) -> tuple[np.float32, int]:
    qmin, qmax = grid(bits, signed)
    lo, hi = np.float32(lo), np.float32(hi)
    if symmetric:
        zero = 0 if signed else 1 << (bits - 1)
        width = max(abs(np.float64(lo)), abs(np.float64(hi))) / (qmax - zero)
    else:
        width = (max(np.float64(hi), 0.0) - min(np.float64(lo), 0.0)) / (qmax - qmin)
    scale = np.float32(1.0) if width == 0 else max(np.float32(width), TINY)
    if f16:
        scale = round_up_to_f16(scale)
    if symmetric:
        return scale, zero
    shift = int(np.rint(np.float32(min(lo, np.float32(0))) / scale))
    return scale, int(np.clip(qmin - shift, qmin, qmax))


def codes(x: np.ndarray, scale, zero, bits: int, signed: bool) -> np.ndarray:
    qmin, qmax = grid(bits, signed)
    q = np.rint(x.astype(np.float32) / np.float32(scale)) + np.float32(zero)
    return np.clip(q, qmin, qmax).astype(np.int32)


def dequant(q: np.ndarray, scale, zero) -> np.ndarray:
    return (q - np.int32(zero)).astype(np.float32) * np.float32(scale)


def quantize(w: np.ndarray, bits: int, symmetric: bool, signed: bool, granularity: str, group: int = 0,
             axis: int = 0, f16: bool = False):
    """Returns (codes [rows, cols], scales, zero points, dequantized) for a 2-D float32 array."""
    w = np.asarray(w, np.float32)
    rows, cols = w.shape
    if granularity == "tensor":
        blocks = [(slice(None), slice(None))]
    elif granularity == "channel" and axis == 0:
        blocks = [(r, slice(None)) for r in range(rows)]
    elif granularity == "channel":
        blocks = [(slice(None), c) for c in range(cols)]
    else:
        blocks = [(r, slice(g, min(g + group, cols))) for r in range(rows) for g in range(0, cols, group)]
    q = np.zeros((rows, cols), np.int32)
    out = np.zeros((rows, cols), np.float32)
    scales, zeros = [], []
    for block in blocks:
        part = w[block]
        s, z = params(part.min(), part.max(), bits, symmetric, signed, f16)
        q[block] = codes(part, s, z, bits, signed)
        out[block] = dequant(q[block], s, z)
        scales.append(s)
        zeros.append(z)
    return q, np.array(scales, np.float32), np.array(zeros, np.int32), out


def unpack(packed: np.ndarray, count: int, bits: int, signed: bool) -> np.ndarray:
    """Codes of one packed row: element j is bits [j*bits, (j+1)*bits) of the little-endian bit stream."""
    stream = np.unpackbits(packed, bitorder="little")
    fields = stream[: count * bits].reshape(count, bits).astype(np.int64)
    values = (fields << np.arange(bits)).sum(axis=1)
    if signed:
        values = np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
    return values.astype(np.int32)


def int8_activations(x: np.ndarray) -> np.ndarray:
    """Activations after the int8 path's rounding: blocks of 32 along each row, scale = max|x| / 127
    (float32), codes = clip(rint(x / scale), -127, 127), back to float64."""
    x = np.asarray(x, np.float32)
    rows, cols = x.shape
    padded = np.zeros((rows, -(-cols // 32) * 32), np.float32)
    padded[:, :cols] = x
    blocks = padded.reshape(rows, -1, 32)
    amax = np.abs(blocks).max(axis=2, keepdims=True)
    scale = np.where(amax == 0, np.float32(1), np.maximum(amax / np.float32(127), TINY)).astype(np.float32)
    codes = np.clip(np.rint(blocks / scale), -127, 127)
    return (codes.astype(np.float64) * scale.astype(np.float64)).reshape(rows, -1)[:, :cols]


def int8_row_activations(x: np.ndarray) -> np.ndarray:
    """Activations after the per-row int8 path's rounding: one scale per row, max|x| / 127 (float32)."""
    x = np.asarray(x, np.float32)
    amax = np.abs(x).max(axis=1, keepdims=True)
    scale = np.where(amax == 0, np.float32(1), np.maximum(amax / np.float32(127), TINY)).astype(np.float32)
    return np.clip(np.rint(x / scale), -127, 127).astype(np.float64) * scale.astype(np.float64)


CLIP_SHRINK = [np.float32(1 - i / 40) for i in range(21)]


def clip_shrinks(error_of, sweeps=3):
    """The clipping search's candidates in order: both ends of the range shrunk by the same factor from
    CLIP_SHRINK, then the low end alone (the high end at its best so far), then the high end alone; a
    candidate replaces the best only with a strictly smaller error_of(low, high). Returns the best
    (low, high) factors. With sweeps=1, only the first."""
    best, best_error = None, None
    for sweep in range(sweeps):
        for alpha in CLIP_SHRINK:
            shrinks = (alpha, alpha) if sweep == 0 else (alpha, best[1]) if sweep == 1 else (best[0], alpha)
            error = error_of(*shrinks)
            if best_error is None or error < best_error:
                best, best_error = shrinks, error
    return best


def clip_search(x, weights, bits, symmetric, signed, sweeps=3):
    """The clipping search for one group: the range shrinks of [min, max] (clip_shrinks) with the least
    weighted squared error, as (scale, zero)."""
    lo, hi = np.float32(x.min()), np.float32(x.max())

    def shrunk(a, b):
        return params(np.float32(lo * a), np.float32(hi * b), bits, symmetric, signed)

    def error_of(a, b):
        scale, zero = shrunk(a, b)
        fq = dequant(codes(x, scale, zero, bits, signed), scale, zero)
        error = 0.0
        for xi, fi, wi in zip(x.tolist(), fq.tolist(), weights.tolist()):
            error += wi * (xi - fi) * (xi - fi)
        return error
    return shrunk(*clip_shrinks(error_of, sweeps))
