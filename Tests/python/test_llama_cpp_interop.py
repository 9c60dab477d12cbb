"""llama.cpp runs what swquant writes: an F32 GGUF of SmolLM2 written by swquant gives llama-perplexity
the same perplexity as llama-quantize's own F32 conversion of the original file."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

import ggml_oracle
import swquant

TEXT = "/usr/share/common-licenses/GPL-3"


def tool(name: str):
    path = ggml_oracle.ROOT / "build" / "bin" / name
    if not path.is_file():
        from conftest import _require
        _require(f"llama.cpp's {name}", "run Tests/oracles/build_llama_cpp.sh")
    return str(path)


def perplexity(model: str) -> str:
    result = subprocess.run([tool("llama-perplexity"), "-m", model, "-f", TEXT, "-c", "128", "--chunks", "4",
                             "-t", "2", "-b", "128"], capture_output=True, text=True, check=True)
    found = re.search(r"Final estimate: PPL = ([0-9.]+)", result.stdout + result.stderr)
    assert found, result.stderr[-2000:]
    return found.group(1)


def test_swquant_f32_gguf_runs_in_llama_cpp(tmp_path, smollm2_path):
    ours, theirs = str(tmp_path / "swquant-f32.gguf"), str(tmp_path / "llama-quantize-f32.gguf")
    with swquant.open_model(smollm2_path) as model, swquant.GGUFWriter(ours) as writer:
        for key, value in model.metadata.items():
            if key == "general.file_type":
                writer.add_metadata(key, 0, type="UINT32")  # LLAMA_FTYPE_ALL_F32
            else:
                writer.add_metadata(key, value, type=model.metadata_types[key])
        for name, tensor in model.items():
            writer.add_tensor(name, tensor.numpy())
    subprocess.run([tool("llama-quantize"), "--allow-requantize", smollm2_path, theirs, "F32"],
                   capture_output=True, check=True)
    with swquant.open_model(ours) as a, swquant.open_model(theirs) as b:
        assert set(a) == set(b) and all(np.array_equal(a[n].numpy(), b[n].numpy()) for n in a)
    assert perplexity(ours) == perplexity(theirs)
