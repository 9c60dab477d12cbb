"""llama.cpp's own quantizers, called through ctypes: the oracle of the ggml block-type tests.

The library is libggml-base.so of the llama.cpp build that Tests/oracles/build_llama_cpp.sh caches
(SWQUANT_LLAMA_CPP, default ~/.cache/swquant/llama.cpp). `ggml_quantize_chunk` is the call
`llama-quantize` makes for each tensor, with or without an imatrix row.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

ROOT = Path(os.environ.get("SWQUANT_LLAMA_CPP", Path.home() / ".cache" / "swquant" / "llama.cpp"))
LIBRARY = ROOT / "build" / "bin" / "libggml-base.so"


def available() -> bool:
    return LIBRARY.is_file()


class _Traits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


_TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)


class GGML:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(str(LIBRARY))
        self.lib.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                 ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        self.lib.ggml_row_size.restype = ctypes.c_size_t
        self.lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
        self.lib.ggml_get_type_traits.restype = ctypes.POINTER(_Traits)
        self.lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
        self.lib.ggml_quantize_init.argtypes = [ctypes.c_int]

    def row_size(self, type_id: int, cols: int) -> int:
        return self.lib.ggml_row_size(type_id, cols)

    def quantize(self, x: np.ndarray, type_id: int, importance: np.ndarray | None = None) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        rows, cols = x.shape
        out = np.zeros((rows, self.row_size(type_id, cols)), dtype=np.uint8)
        weights = None if importance is None else np.ascontiguousarray(importance, dtype=np.float32)
        self.lib.ggml_quantize_init(type_id)
        self.lib.ggml_quantize_chunk(type_id, x.ctypes.data, out.ctypes.data, 0, rows, cols,
                                     None if weights is None else weights.ctypes.data)
        return out

    def dequantize(self, blocks: np.ndarray, type_id: int, cols: int) -> np.ndarray:
        blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
        rows = blocks.size // self.row_size(type_id, cols)
        out = np.zeros((rows, cols), dtype=np.float32)
        address = self.lib.ggml_get_type_traits(type_id).contents.to_float
        if address is None:  # F32: the bytes are the values
            return blocks.view(np.float32).reshape(rows, cols).copy()
        _TO_FLOAT(address)(blocks.ctypes.data, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), rows * cols)
        return out
