"""Model files against their peers: GGUF through the gguf package (reader and writer), safetensors
through the safetensors package (numpy API and its Rust serializer), in both directions; SmolLM2's
GGUF; Hugging Face folders; atomic writes; and crafted files that must give errors, not crashes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

import gguf
import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy as stn

import swquant
from swquant import ggml

METADATA = {  # key: (value, GGUF value type name)
    "general.architecture": ("llama", "STRING"),
    "t.uint8": (255, "UINT8"), "t.int8": (-128, "INT8"), "t.uint16": (65535, "UINT16"), "t.int16": (-32768, "INT16"),
    "t.uint32": (2**32 - 1, "UINT32"), "t.int32": (-2**31, "INT32"), "t.uint64": (2**64 - 1, "UINT64"),
    "t.int64": (-2**63, "INT64"), "t.float32": (float(np.float32(0.1)), "FLOAT32"), "t.float64": (1e-300, "FLOAT64"),
    "t.bool": (True, "BOOL"), "t.unicode": ("héllo ✓ \n\"quoted\"", "STRING"), "t.empty": ("", "STRING"),
    "t.strings": (["a", "", "ü"], "ARRAY[STRING]"), "t.floats": ([0.5, -2.0], "ARRAY[FLOAT32]"),
    "t.empty_array": ([], "ARRAY[INT32]"), "t.u64s": ([0, 2**64 - 1], "ARRAY[UINT64]"),
}

GGUF_TENSORS = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
                "IQ4_NL", "MXFP4", "NVFP4"]


def weights(rows: int = 6, cols: int = 512, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)


def write_swquant_gguf(path: str) -> dict[str, np.ndarray]:
    blocks = {}
    with swquant.GGUFWriter(path) as w:
        for key, (value, type_name) in METADATA.items():
            w.add_metadata(key, value, type=type_name)
        for i, type_name in enumerate(GGUF_TENSORS):
            x = weights(seed=i)
            w.add_tensor(f"t.{type_name}", x, type=type_name)
            blocks[type_name] = ggml.quantize(x, type_name)
        w.add_tensor("t.int32", np.arange(7, dtype=np.int32))
        w.add_tensor("t.cube", np.ones((2, 3, 32), np.float32))
    return blocks


def test_gguf_written_by_swquant_reads_identically_with_gguf(tmp_path):
    path = str(tmp_path / "s.gguf")
    blocks = write_swquant_gguf(path)
    reader = gguf.GGUFReader(path)
    for key, (value, type_name) in METADATA.items():
        field = reader.fields[key]
        assert field.contents() == pytest.approx(value) if isinstance(value, float) else field.contents() == value, key
        assert gguf.GGUFValueType(field.types[0]).name == type_name.split("[")[0], key
    tensors = {t.name: t for t in reader.tensors}
    for type_name in GGUF_TENSORS:
        t = tensors[f"t.{type_name}"]
        assert t.tensor_type.name == type_name and list(t.shape) == [512, 6]
        assert np.asarray(t.data).tobytes() == blocks[type_name].tobytes()
    assert np.array_equal(tensors["t.int32"].data, np.arange(7))
    assert list(tensors["t.cube"].shape) == [32, 3, 2]


def test_gguf_written_by_gguf_reads_identically_with_swquant(tmp_path):
    path = str(tmp_path / "g.gguf")
    w = gguf.GGUFWriter(path, "llama")
    for key, (value, type_name) in METADATA.items():
        if key == "general.architecture" or value == []:  # gguf-py refuses empty arrays
            continue
        if type_name.startswith("ARRAY"):
            w.add_key_value(key, value, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType[type_name[6:-1]])
        else:
            w.add_key_value(key, value, gguf.GGUFValueType[type_name])
    x = weights()
    expected = {}
    for type_name in ["F32", "F16", "Q4_0", "Q8_0", "MXFP4"]:
        qtype = gguf.GGMLQuantizationType[type_name]
        data = x.astype(np.float16) if type_name == "F16" else x if type_name == "F32" else gguf.quants.quantize(x, qtype)
        w.add_tensor(f"t.{type_name}", data, raw_dtype=None if type_name in ("F32", "F16") else qtype)
        expected[type_name] = np.ascontiguousarray(data).tobytes()
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    model = swquant.open_model(path)
    assert model.format == "gguf"
    for key, (value, type_name) in METADATA.items():
        if value == []:
            continue
        assert model.metadata[key] == (pytest.approx(value) if isinstance(value, float) else value), key
        assert model.metadata_types[key] == type_name, key
    for type_name, raw in expected.items():
        tensor = model[f"t.{type_name}"]
        assert tensor.type == type_name and tensor.shape == (6, 512) and bytes(tensor.raw) == raw
        np.testing.assert_array_equal(tensor.numpy(), gguf.quants.dequantize(np.frombuffer(raw, np.uint8) if type_name not in ("F32", "F16") else np.frombuffer(raw, np.float32 if type_name == "F32" else np.float16), gguf.GGMLQuantizationType[type_name]).reshape(6, 512))


@pytest.mark.parametrize("writer_class,suffix", [(swquant.GGUFWriter, "gguf"), (swquant.SafetensorsWriter, "safetensors")])
def test_declared_tensors_are_written_in_order(tmp_path, writer_class, suffix):
    path = str(tmp_path / f"d.{suffix}")
    a, b = weights(2, 256), np.arange(6, dtype=np.int32).reshape(2, 3)
    blocks = ggml.quantize(a, "Q8_0")
    with writer_class(path) as w:
        w.declare_tensor("a", "Q8_0" if suffix == "gguf" else "U8", a.shape if suffix == "gguf" else blocks.shape)
        w.declare_tensor("b", "I32", b.shape)
        with pytest.raises(swquant.QuantizationError, match="not mixed"):
            w.add_tensor("c", b)
        with pytest.raises(swquant.QuantizationError, match="needs"):
            w.write_tensor_data(blocks[:1])
        w.write_tensor_data(blocks)
        w.write_tensor_data(b)
    model = swquant.open_model(path)
    assert bytes(model["a"].raw) == blocks.tobytes() and np.array_equal(model["b"].numpy(), b)


def test_nested_arrays_round_trip(tmp_path):
    path = str(tmp_path / "n.gguf")
    with swquant.GGUFWriter(path) as w:
        w.add_metadata("x.nested", [[1, 2], [], [3]], type="UINT16")
        w.add_metadata("x.deep", [[["a"]], [["b", "c"]]])
    model = swquant.open_model(path)
    assert model.metadata["x.nested"] == [[1, 2], [], [3]] and model.metadata_types["x.nested"] == "ARRAY[ARRAY[UINT16]]"
    assert model.metadata["x.deep"] == [[["a"]], [["b", "c"]]]


def test_smollm2_tensors_and_metadata_match_gguf(smollm2_path):
    reader = gguf.GGUFReader(smollm2_path)
    with swquant.open_model(smollm2_path) as model:
        assert len(model) == len(reader.tensors) == 272
        for t in reader.tensors:
            ours = model[t.name]
            assert ours.type == t.tensor_type.name and ours.shape == tuple(reversed([int(d) for d in t.shape]))
            reference = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(ours.shape)
            np.testing.assert_array_equal(ours.numpy(), reference)
        for field in reader.fields.values():
            if not field.name.startswith("GGUF."):
                value = field.contents()
                assert model.metadata[field.name] == (pytest.approx(value) if isinstance(value, float) else value)
        assert len(model.metadata["tokenizer.ggml.tokens"]) == 49152


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F64": np.float64,
                      "I8": np.int8, "U8": np.uint8, "I16": np.int16, "U16": np.uint16, "I32": np.int32,
                      "U32": np.uint32, "I64": np.int64, "U64": np.uint64, "BOOL": np.bool_,
                      "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2}


def sample(dtype, shape=(3, 5), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 3).astype(dtype)


def test_safetensors_round_trips_every_dtype_both_ways(tmp_path):
    arrays = {f"t.{name}": sample(dtype, seed=i) for i, (name, dtype) in enumerate(SAFETENSORS_DTYPES.items())}
    arrays["t.scalar"] = np.array(2.5, np.float32)
    arrays["t.empty"] = np.zeros((0, 4), np.float32)
    ours = str(tmp_path / "ours.safetensors")
    swquant.save_safetensors(ours, arrays, {"format": "pt", "note": "ü"})
    # read by the safetensors package (its Rust deserializer: every dtype)
    with open(ours, "rb") as f:
        theirs = dict(safetensors.deserialize(f.read()))
    for name, array in arrays.items():
        assert theirs[name]["dtype"] == (name[2:] if name[2:] in SAFETENSORS_DTYPES else "F32")
        assert list(theirs[name]["shape"]) == list(array.shape) and bytes(theirs[name]["data"]) == array.tobytes()
    # written by the safetensors package, read by swquant
    torch_names = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I8": "int8", "U8": "uint8",
                   "I16": "int16", "U16": "uint16", "I32": "int32", "U32": "uint32", "I64": "int64", "U64": "uint64",
                   "BOOL": "bool", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
    specs = {name: safetensors.TensorSpec(dtype=torch_names[theirs[name]["dtype"]], shape=list(array.shape),
                                          data_ptr=array.ctypes.data, data_len=array.nbytes) for name, array in arrays.items()}
    peer = str(tmp_path / "peer.safetensors")
    safetensors.serialize_file(specs, peer, metadata={"format": "pt"})
    for path in (ours, peer):
        model = swquant.open_model(path)
        assert model.format == "safetensors"
        for name, array in arrays.items():
            tensor = model[name]
            assert tensor.shape == array.shape and bytes(tensor.raw) == array.tobytes()
            np.testing.assert_array_equal(tensor.numpy(), array.astype(np.float32))
    assert swquant.open_model(ours).metadata == {"format": "pt", "note": "ü"}


def test_safetensors_numpy_api_reads_swquant_files(tmp_path):
    arrays = {"b": np.arange(12, dtype=np.int64).reshape(3, 4), "a": weights()}
    path = str(tmp_path / "x.safetensors")
    swquant.save_safetensors(path, arrays)
    loaded = stn.load_file(path)
    assert all(np.array_equal(loaded[k], v) for k, v in arrays.items())
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
    assert n % 8 == 0


def test_huggingface_folder_with_shards(tmp_path):
    a, b = weights(seed=1), weights(seed=2).astype(np.float16)
    stn.save_file({"model.embed.weight": a}, str(tmp_path / "model-00001-of-00002.safetensors"))
    stn.save_file({"lm_head.weight": b}, str(tmp_path / "model-00002-of-00002.safetensors"))
    index = {"metadata": {"total_size": a.nbytes + b.nbytes},
             "weight_map": {"model.embed.weight": "model-00001-of-00002.safetensors",
                            "lm_head.weight": "model-00002-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 512}))
    with swquant.open_model(tmp_path) as model:
        assert model.format == "huggingface" and model.metadata["hidden_size"] == 512
        assert set(model) == {"model.embed.weight", "lm_head.weight"} and len(model.paths) == 2
        np.testing.assert_array_equal(model["lm_head.weight"].numpy(), b.astype(np.float32))
    index["weight_map"]["lm_head.weight"] = "../elsewhere.safetensors"
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(swquant.QuantizationError, match="outside the folder"):
        swquant.open_model(tmp_path)
    index["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors"
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(swquant.QuantizationError, match="not in model-00001"):
        swquant.open_model(tmp_path)


def test_writes_are_atomic(tmp_path):
    path = str(tmp_path / "m.gguf")
    write_swquant_gguf(path)
    assert os.stat(path).st_mode & 0o7777 == 0o644  # a new file; a replaced one keeps its permissions
    os.chmod(path, 0o600)
    write_swquant_gguf(path)
    assert os.stat(path).st_mode & 0o7777 == 0o600
    before = open(path, "rb").read()
    with pytest.raises(RuntimeError):
        with swquant.GGUFWriter(path) as w:
            w.add_tensor("x", weights())
            raise RuntimeError("interrupted")
    assert open(path, "rb").read() == before and sorted(os.listdir(tmp_path)) == ["m.gguf"]
    # a process killed while writing leaves the old file as it was
    script = (f"import numpy as np, os, swquant\nw = swquant.GGUFWriter({path!r})\n"
              "w.add_tensor('x', np.ones((64, 4096), np.float32))\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", script], check=False)
    assert open(path, "rb").read() == before
    with pytest.raises(swquant.QuantizationError, match="duplicate"):
        with swquant.GGUFWriter(str(tmp_path / "d.gguf")) as w:
            w.add_tensor("x", weights())
            w.add_tensor("x", weights())
    assert not (tmp_path / "d.gguf").exists()


def test_opening_costs_the_header_not_the_data(tmp_path):
    """A 4 GiB tensor (a sparse file): opening and reading a small tensor stays fast and small."""
    path = str(tmp_path / "big.gguf")
    small = weights(1, 256)
    with swquant.GGUFWriter(path) as w:
        w.add_tensor("small", small)
    model = swquant.open_model(path)
    offset = model["small"].file_offset
    # a second tensor of 2^30 float32 values placed after it: patch the header by writing one anew
    header = bytearray(open(path, "rb").read(offset))
    raw_small = small.tobytes()
    names = [b"small", b"big"]
    out = bytearray(b"GGUF" + struct.pack("<IqQ", 3, 2, 0))
    data_offset = 0
    for name, dims in zip(names, ([256, 1], [1 << 15, 1 << 15])):
        out += struct.pack("<Q", len(name)) + name + struct.pack("<I", 2) + struct.pack("<qq", *dims)
        out += struct.pack("<iQ", 0, data_offset)
        data_offset += 1024
    out += b"\0" * ((32 - len(out) % 32) % 32)
    start = len(out)
    with open(path, "wb") as f:
        f.write(out + raw_small)
        f.truncate(start + 1024 + 4 * (1 << 30))
    del header
    rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    before, t0 = rss(), time.perf_counter()
    with swquant.open_model(path) as big:
        assert big["big"].nbytes == 4 << 30
        np.testing.assert_array_equal(big["small"].numpy(), small)
        assert bytes(big["big"].raw[:16]) == b"\0" * 16
    assert time.perf_counter() - t0 < 1.0 and rss() - before < 64 << 20


def gguf_bytes(kv: bytes = b"", n_kv: int = 0, tensors: bytes = b"", n_tensors: int = 0, data: bytes = b"") -> bytes:
    head = b"GGUF" + struct.pack("<Iqq", 3, n_tensors, n_kv) + kv + tensors
    return head + b"\0" * ((32 - len(head) % 32) % 32 if n_tensors else 0) + data


def gguf_string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def tensor_info(name: bytes, dims, type_id: int = 0, offset: int = 0) -> bytes:
    return gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims) + struct.pack("<iQ", type_id, offset)


CRAFTED_GGUF = {
    "GiB string in 160 bytes": (gguf_bytes(gguf_string(b"k") + struct.pack("<IQ", 8, 3 << 30) + b"x" * 111, 1), "claims"),
    "huge key count": (gguf_bytes(n_kv=2**62), "key-value count"),
    "negative tensor count": (gguf_bytes(n_tensors=-1), "tensor count"),
    "dims overflow": (gguf_bytes(tensors=tensor_info(b"t", [2**62, 2**62]), n_tensors=1), "overflow"),
    "negative dim": (gguf_bytes(tensors=tensor_info(b"t", [-4]), n_tensors=1), "negative"),
    "offset outside the file": (gguf_bytes(tensors=tensor_info(b"t", [8], offset=1 << 40), n_tensors=1, data=b"\0" * 32), "past the end"),
    "tensor past the end": (gguf_bytes(tensors=tensor_info(b"t", [64]), n_tensors=1, data=b"\0" * 32), "past the end"),
    "overlapping tensors": (gguf_bytes(tensors=tensor_info(b"a", [16]) + tensor_info(b"b", [16], offset=32), n_tensors=2, data=b"\0" * 128), "overlap"),
    "duplicate tensor": (gguf_bytes(tensors=tensor_info(b"a", [8]) + tensor_info(b"a", [8], offset=32), n_tensors=2, data=b"\0" * 64), "duplicate"),
    "unaligned offset": (gguf_bytes(tensors=tensor_info(b"a", [8], offset=4), n_tensors=1, data=b"\0" * 64), "alignment"),
    "partial block": (gguf_bytes(tensors=tensor_info(b"a", [33], type_id=2), n_tensors=1, data=b"\0" * 64), "whole"),
    "unknown ggml type": (gguf_bytes(tensors=tensor_info(b"a", [8], type_id=4), n_tensors=1, data=b"\0" * 64), "unknown ggml type"),
    "five dims": (gguf_bytes(tensors=tensor_info(b"a", [1, 1, 1, 1, 1]), n_tensors=1, data=b"\0" * 64), "dimensions"),
    "tokens of INT32": (gguf_bytes(gguf_string(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 5, 2) + struct.pack("<ii", 1, 2), 1), "ARRAY of STRING"),
    "scores shorter than tokens": (gguf_bytes(gguf_string(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + gguf_string(b"a") + gguf_string(b"b")
                                              + gguf_string(b"tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 1) + struct.pack("<f", 0), 2), "entries for 2 tokens"),
    "unknown array element type": (gguf_bytes(gguf_string(b"k") + struct.pack("<IIQ", 9, 77, 1), 1), "element type"),
    "array longer than the file": (gguf_bytes(gguf_string(b"k") + struct.pack("<IIQ", 9, 8, 2**40), 1), "claims"),
    "bad bool": (gguf_bytes(gguf_string(b"k") + struct.pack("<IB", 7, 2), 1), "BOOL"),
    "bad alignment": (gguf_bytes(gguf_string(b"general.alignment") + struct.pack("<II", 4, 24), 1), "power of two"),
    "duplicate key": (gguf_bytes(gguf_string(b"k") + struct.pack("<IB", 0, 1) + gguf_string(b"k") + struct.pack("<IB", 0, 1), 2), "duplicate key"),
    "invalid UTF-8 key": (gguf_bytes(gguf_string(b"\xff\xfe") + struct.pack("<IB", 0, 1), 1), "UTF-8"),
    "big-endian version": (b"GGUF" + struct.pack(">I", 3) + b"\0" * 16, "byte-swapped"),
    "version 1": (b"GGUF" + struct.pack("<I", 1) + b"\0" * 16, "not supported"),
    "truncated": (b"GGUF\x03\0\0", "truncated"),
}


@pytest.mark.parametrize("case", list(CRAFTED_GGUF), ids=list(CRAFTED_GGUF))
def test_crafted_gguf_files_get_errors(tmp_path, case):
    data, message = CRAFTED_GGUF[case]
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(swquant.QuantizationError, match=message):
        swquant.open_model(path)


def test_gguf_truncated_anywhere_gets_an_error(tmp_path):
    path = str(tmp_path / "m.gguf")
    with swquant.GGUFWriter(path) as w:
        w.add_metadata("general.architecture", "llama")
        w.add_metadata("t.list", ["a", "bb"])
        w.add_tensor("a", weights(2, 32), type="Q8_0")
    whole = open(path, "rb").read()
    data_end = swquant.open_model(path)["a"].file_offset + 68  # the padding after the last tensor is optional
    cut = tmp_path / "cut.gguf"
    for length in range(data_end):
        cut.write_bytes(whole[:length])
        with pytest.raises(swquant.QuantizationError):
            swquant.open_model(cut)


def safetensors_bytes(header: dict | str, data: bytes = b"") -> bytes:
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack("<Q", len(text)) + text + data


CRAFTED_SAFETENSORS = {
    "huge header length": (struct.pack("<Q", 2**63) + b"{}", "exceeds"),
    "header past the end": (struct.pack("<Q", 1000) + b"{}", "runs past the end"),
    "not an object": (safetensors_bytes("[1, 2]"), "does not start"),
    "invalid JSON": (safetensors_bytes('{"a": }'), "expected a value"),
    "duplicate key": (safetensors_bytes('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 4), "duplicate key"),
    "shape and bytes disagree": (safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4), "does not match"),
    "gap": (safetensors_bytes({"a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}, b"\0" * 8), "contiguous"),
    "overlap": (safetensors_bytes({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\0" * 6), "contiguous"),
    "trailing bytes": (safetensors_bytes({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, b"\0" * 9), "data bytes"),
    "offsets past the end": (safetensors_bytes({"a": {"dtype": "U8", "shape": [4000], "data_offsets": [0, 4000]}}, b"\0" * 4), "past the end"),
    "unknown dtype": (safetensors_bytes({"a": {"dtype": "F7", "shape": [1], "data_offsets": [0, 1]}}, b"\0"), "dtype"),
    "shape overflow": (safetensors_bytes({"a": {"dtype": "F32", "shape": [2**62, 8], "data_offsets": [0, 4]}}, b"\0" * 4), "overflow"),
    "metadata not strings": (safetensors_bytes({"__metadata__": {"a": 1}}), "not a string"),
    "deep nesting": (safetensors_bytes("{" + '"a":' * 0 + '"x": ' + "[" * 200 + "]" * 200 + "}"), "nesting"),
    "invalid UTF-8": (struct.pack("<Q", 7) + b'{"\xff":1}', "UTF-8"),
}


@pytest.mark.parametrize("case", list(CRAFTED_SAFETENSORS), ids=list(CRAFTED_SAFETENSORS))
def test_crafted_safetensors_files_get_errors(tmp_path, case):
    data, message = CRAFTED_SAFETENSORS[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(swquant.QuantizationError, match=message):
        swquant.open_model(path)


def test_writer_refuses_bad_tensors(tmp_path):
    with swquant.GGUFWriter(str(tmp_path / "w.gguf")) as w:
        with pytest.raises(swquant.QuantizationError, match="63 bytes"):
            w.add_tensor("x" * 64, weights())
        with pytest.raises(ValueError, match="whole blocks"):
            w.add_tensor("k", weights(2, 576), type="Q4_K")
        with pytest.raises(swquant.QuantizationError, match="needs 144 bytes"):
            w.add_tensor("b", np.zeros(100, np.uint8), type="Q4_K", shape=(1, 256))
        with pytest.raises(swquant.QuantizationError, match="general.alignment"):
            w.add_metadata("general.alignment", 24, type="UINT32")
    with pytest.raises(TypeError, match="no safetensors dtype"):
        swquant.save_safetensors(str(tmp_path / "c.safetensors"), {"c": np.zeros(2, np.complex128)})
