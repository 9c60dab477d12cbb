"""Model files: reading GGUF, safetensors and Hugging Face folders, writing GGUF and safetensors.

The parsing, checking and writing happen in the core (swq_model_*); this layer maps the files for
zero-copy views and turns metadata into Python values.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from . import _swquant
from . import ggml as _ggml

FORMATS = {0: "gguf", 1: "safetensors", 2: "huggingface"}

# numpy dtype names -> ggml plain types and safetensors dtypes
_GGML_PLAIN = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int8": "I8",
               "int16": "I16", "int32": "I32", "int64": "I64"}
_SAFETENSORS = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int8": "I8",
                "uint8": "U8", "int16": "I16", "uint16": "U16", "int32": "I32", "uint32": "U32", "int64": "I64",
                "uint64": "U64", "bool": "BOOL", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
                "float8_e8m0fnu": "F8_E8M0", "complex64": "C64"}


def _plain(typed: Any) -> Any:
    """A Python value from the core's typed JSON: [TYPE, value] or ["ARRAY", TYPE, [values]]."""
    if typed[0] == "ARRAY":
        return [_plain(v) for v in typed[2]] if typed[1] == "ARRAY" else list(typed[2])
    return typed[1]


def _type_name(typed: Any) -> str:
    return f"ARRAY[{_type_name(typed[2][0]) if typed[1] == 'ARRAY' and typed[2] else typed[1]}]" if typed[0] == "ARRAY" else typed[0]


class Tensor:
    """One tensor of an open model: ``.shape`` (rows first), ``.type`` (``"Q4_K"``, ``"BF16"``, ...),
    ``.nbytes``, ``.raw`` (a zero-copy memoryview of its bytes in the mapped file) and ``.numpy()``
    (its values as float32, dequantized)."""

    __slots__ = ("_model", "_index", "name", "type", "ggml_type", "shape", "nbytes", "file_index", "file_offset")

    def __init__(self, model: Model, index: int, row: tuple) -> None:
        self._model, self._index = model, index
        self.name, self.type, self.ggml_type, self.shape, self.nbytes, self.file_index, self.file_offset = row

    @property
    def raw(self) -> memoryview:
        return self._model._view(self.file_index, self.file_offset, self.nbytes)

    def numpy(self) -> np.ndarray:
        """The values as a new float32 array of ``shape`` (GGUF blocks dequantized as ggml does; integers,
        booleans and FP8 converted). Raises QuantizationError for types swquant cannot decode."""
        if self._model._capsule is None:
            raise ValueError("the model is closed")
        out = np.empty(self.shape, dtype=np.float32)
        _swquant.model_tensor_to_f32(self._model._capsule, self._index, out.reshape(-1))
        return out

    def __repr__(self) -> str:
        return f"Tensor({self.name!r}, type={self.type}, shape={self.shape}, nbytes={self.nbytes})"


class Model(Mapping):
    """A model opened with ``open_model``: a read-only mapping from tensor name to ``Tensor``, in file
    order, with ``.format`` (``"gguf"``, ``"safetensors"``, ``"huggingface"``), ``.metadata`` (GGUF keys
    and values, safetensors ``__metadata__``, a folder's config.json), ``.metadata_types`` (GGUF value
    types) and ``.paths``. Usable as a context manager; ``close()`` releases the mappings."""

    def __init__(self, path: str) -> None:
        self._capsule = _swquant.model_open(str(path))
        code, self.paths, rows = _swquant.model_describe(self._capsule)
        self.format = FORMATS[code]
        self._tensors = {row[0]: Tensor(self, i, row) for i, row in enumerate(rows)}
        typed = json.loads(_swquant.model_metadata_json(self._capsule))
        if self.format == "gguf":
            self.metadata = {key: _plain(value) for key, value in typed.items()}
            self.metadata_types = {key: _type_name(value) for key, value in typed.items()}
        else:
            self.metadata, self.metadata_types = typed, {}
        self._maps: dict[int, mmap.mmap] = {}

    def _view(self, file_index: int, offset: int, nbytes: int) -> memoryview:
        if nbytes == 0:
            return memoryview(b"")
        if self._capsule is None:
            raise ValueError("the model is closed")
        mapping = self._maps.get(file_index)
        if mapping is None:
            with open(self.paths[file_index], "rb") as f:
                mapping = self._maps[file_index] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return memoryview(mapping)[offset:offset + nbytes]

    def __getitem__(self, name: str) -> Tensor:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def close(self) -> None:
        """Releases the mappings (a mapping still viewed by a live ``raw`` memoryview is left to the
        garbage collector)."""
        for mapping in self._maps.values():
            try:
                mapping.close()
            except BufferError:
                pass
        self._maps.clear()
        self._capsule = None

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Model({self.paths[0] if len(self.paths) == 1 else self.paths!r}, format={self.format}, tensors={len(self)})"


def open_model(path: Any) -> Model:
    """Opens a GGUF file, a safetensors file or a Hugging Face model folder (config.json with
    model.safetensors or model.safetensors.index.json). The files are mapped, not read: opening costs
    what the headers cost. A bad file raises QuantizationError naming the byte offset of the fault."""
    return Model(str(path))


def _gguf_scalar_type(value: Any) -> str:
    if isinstance(value, np.generic):
        name = {"uint8": "UINT8", "int8": "INT8", "uint16": "UINT16", "int16": "INT16", "uint32": "UINT32",
                "int32": "INT32", "uint64": "UINT64", "int64": "INT64", "float32": "FLOAT32", "float64": "FLOAT64",
                "bool": "BOOL"}.get(value.dtype.name)
        if name is None:
            raise TypeError(f"no GGUF type holds {value.dtype}")
        return name
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, float):
        return "FLOAT32"
    if isinstance(value, int):
        return "INT32"
    raise TypeError(f"no GGUF type holds {type(value).__name__} values")


def _json_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _typed(value: Any, type: str | None) -> list:
    """The core's typed JSON of a metadata value; ``type`` names a scalar type, an array's element type,
    or an array as ``Model.metadata_types`` spells it (``"ARRAY[STRING]"``); without it the type is
    inferred as gguf-py infers it (str STRING, bool BOOL, float FLOAT32, int INT32)."""
    if type is not None and type.upper().startswith("ARRAY[") and type.endswith("]"):
        type = type[6:-1]
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (list, tuple)):
            return ["ARRAY", "ARRAY", [_typed(v, type) for v in value]]
        element = type or (_gguf_scalar_type(value[0]) if value else "INT32")
        return ["ARRAY", element.upper(), [_json_scalar(v) for v in value]]
    return [(type or _gguf_scalar_type(value)).upper(), _json_scalar(value)]


class _Writer:
    def __init__(self, path: Any, format: int) -> None:
        self.path = str(path)
        self._capsule = _swquant.model_writer_new(self.path, format)

    def _live(self) -> Any:
        if self._capsule is None:
            raise ValueError("the writer is already committed or discarded")
        return self._capsule

    def declare_tensor(self, name: str, type: str, shape: Any) -> None:
        """Declares the next tensor (a ggml type name for GGUF, a safetensors dtype otherwise; shape rows
        first), for writers that know every tensor before any data: declare them all, then pass each one's
        bytes to ``write_tensor_data`` in the same order, and the data goes straight to the file after the
        header. Not mixed with ``add_tensor``."""
        _swquant.model_writer_declare_tensor(self._live(), name, type.upper(), tuple(int(d) for d in shape))

    def write_tensor_data(self, data: Any) -> None:
        """The bytes of the next declared tensor (a contiguous buffer of exactly its size)."""
        _swquant.model_writer_write_tensor_data(self._live(), np.ascontiguousarray(data).reshape(-1).view(np.uint8))

    def commit(self) -> None:
        """Writes what is due, flushes it and renames the file into place."""
        _swquant.model_writer_commit(self._live())
        self._capsule = None

    def discard(self) -> None:
        """Drops the writer: the destination stays as it was."""
        self._capsule = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class GGUFWriter(_Writer):
    """Writes a GGUF v3 file, atomically, one tensor at a time (each tensor's data waits in a scratch
    file, not in memory, until the header can be written):

    >>> import numpy as np, swquant, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.gguf")
    >>> with swquant.GGUFWriter(path) as w:
    ...     w.add_metadata("general.architecture", "llama")
    ...     w.add_tensor("blk.0.ffn_up.weight", np.ones((4, 256), np.float32), type="Q4_K")
    >>> swquant.open_model(path)["blk.0.ffn_up.weight"].type
    'Q4_K'
    """

    def __init__(self, path: Any) -> None:
        super().__init__(path, 0)

    def add_metadata(self, key: str, value: Any, type: str | None = None) -> None:
        """Adds a key; ``type`` is a GGUF value type name (``"UINT32"``) for a scalar or an array's elements,
        else inferred as gguf-py infers it."""
        _swquant.model_writer_set_metadata(self._live(), key, json.dumps(_typed(value, type), allow_nan=True))

    def add_tensor(self, name: str, data: Any, type: str | None = None, shape: Any = None,
                   importance: Any = None) -> None:
        """Adds a tensor. ``data`` is an array written as it is (``type`` None: float32, float16, bfloat16,
        float64, int8-int64), float values to quantize to ``type`` (a ggml type name, with ``importance``
        for the importance-aware quantizers), or ``uint8`` blocks of ``type`` with the tensor's ``shape``
        (rows first)."""
        array = np.asarray(data)
        if type is None:
            type = _GGML_PLAIN.get(array.dtype.name)
            if type is None:
                raise TypeError(f"no ggml type holds {array.dtype}; pass type= to quantize or to mark blocks")
            dims = tuple(array.shape) or (1,)
            raw = np.ascontiguousarray(array)
        elif array.dtype == np.uint8:
            if shape is None:
                raise ValueError("uint8 blocks need the tensor's shape (rows first)")
            dims, raw = tuple(int(d) for d in shape), np.ascontiguousarray(array)
        else:
            if array.ndim == 0:
                array = array.reshape(1)
            dims = tuple(array.shape)
            raw = _ggml.quantize(array.reshape(-1, dims[-1]), type, importance)
        _swquant.model_writer_add_tensor(self._live(), name, _ggml.type_info(type).name, dims, raw.reshape(-1).view(np.uint8))


class SafetensorsWriter(_Writer):
    """Writes a safetensors file, atomically, one tensor at a time (see ``GGUFWriter``)."""

    def __init__(self, path: Any) -> None:
        super().__init__(path, 1)

    def add_metadata(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"safetensors metadata values are strings, got {type(value).__name__}")
        _swquant.model_writer_set_metadata(self._live(), key, json.dumps(["STRING", value]))

    def add_tensor(self, name: str, array: Any, dtype: str | None = None) -> None:
        """Adds an array; ``dtype`` (a safetensors dtype such as ``"F8_E4M3"``) marks raw bytes of that type
        (an array of the same item size, for example uint8; the core checks that the bytes fit the shape),
        else it comes from the array's dtype."""
        array = np.asarray(array)
        if dtype is None:
            dtype = _SAFETENSORS.get(array.dtype.name)
            if dtype is None:
                raise TypeError(f"no safetensors dtype holds {array.dtype}; pass dtype=")
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        _swquant.model_writer_add_tensor(self._live(), name, dtype.upper(), tuple(array.shape), data)


def save_safetensors(path: Any, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> None:
    """Writes ``tensors`` (name -> array) to a safetensors file, atomically, in the mapping's order."""
    with SafetensorsWriter(path) as writer:
        for key, value in (metadata or {}).items():
            writer.add_metadata(key, value)
        for name, array in tensors.items():
            writer.add_tensor(name, array)
