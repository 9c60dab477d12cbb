"""swquant: quantization of LLM tensors on the CPU.

A numpy-friendly facade over libswquant, whose Swift core does all the arithmetic; the C ABI, this
package and the Swift API give bit-identical results for the same call.

>>> import numpy as np, swquant
>>> w = np.random.default_rng(0).standard_normal((64, 576)).astype(np.float32)
>>> q = swquant.quantize(w, bits=4, group_size=128)
>>> swquant.sqnr(w, q.dequantize()) > 15
True
"""

from . import ggml
from ._matmul import QuantizedLinear, matmul, matmul_static_int8
from ._model_files import GGUFWriter, Model, SafetensorsWriter, Tensor, open_model, save_safetensors
from ._layer_stats import LayerStats, awq, gptq, smoothquant_scales
from ._observer import Observer
from ._metrics import ErrorMetrics, error_metrics, max_abs_error, mse, sqnr
from ._params import compute_qparams, fake_quantize, fake_quantize_grad, qparams_from_range, quantize_codes
from . import _swquant
from ._swquant import ABI_VERSION, QuantizationError
from ._swquant import get_num_threads as _get_num_threads
from ._swquant import set_num_threads as _set_num_threads
from ._swquant import version as _native_version
from ._tensor import QuantizedTensor, dequantize, quantize

__version__ = _native_version()


def cpu_features() -> str:
    """The CPU's features and the kernel tiers compiled in and in use (SWQUANT_ISA caps the tier)."""
    return _swquant.cpu_features()


def set_num_threads(count: int) -> None:
    """Sets the worker thread count, 0 to 1024; 0 restores the default (SWQUANT_NUM_THREADS, else the core
    count). Results never depend on it; a call already running keeps the count it started with."""
    _set_num_threads(count)


def get_num_threads() -> int:
    """The worker thread count in use."""
    return _get_num_threads()


__all__ = [
    "ABI_VERSION", "ErrorMetrics", "GGUFWriter", "LayerStats", "Model", "SafetensorsWriter", "Tensor", "ggml", "open_model",
    "save_safetensors", "Observer", "awq", "QuantizationError", "QuantizedLinear", "QuantizedTensor", "compute_qparams",
    "cpu_features", "dequantize", "matmul", "matmul_static_int8",
    "error_metrics", "fake_quantize", "fake_quantize_grad", "get_num_threads", "gptq", "max_abs_error", "mse", "qparams_from_range",
    "quantize", "quantize_codes", "set_num_threads", "smoothquant_scales", "sqnr",
]
