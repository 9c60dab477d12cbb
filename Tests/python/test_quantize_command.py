"""`swquant quantize` against `llama-quantize`: the same GGUF, byte for byte, for every preset, on
SmolLM2 (its F32 conversion, and the shipped Q4_1 file requantized)."""

from __future__ import annotations

import filecmp
import os
import subprocess

import pytest

from test_llama_cpp_interop import tool

PRESETS = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L",
           "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "MXFP4_MOE"]


def swquant_cli() -> str:
    cli = os.environ.get("SWQUANT_CLI")
    if not cli:
        pytest.skip("SWQUANT_CLI is not set: Tests/run_all.sh builds swquant-cli and sets it")
    return cli


@pytest.fixture(scope="module")
def smollm2_f32(tmp_path_factory, smollm2_path) -> str:
    path = str(tmp_path_factory.mktemp("f32") / "smollm2-f32.gguf")
    subprocess.run([tool("llama-quantize"), "--allow-requantize", smollm2_path, path, "F32"], capture_output=True, check=True)
    return path


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_match_llama_quantize(tmp_path, smollm2_f32, preset):
    ours, theirs = tmp_path / "swquant.gguf", tmp_path / "llama.gguf"
    subprocess.run([tool("llama-quantize"), smollm2_f32, str(theirs), preset, "2"], capture_output=True, check=True)
    subprocess.run([swquant_cli(), "quantize", smollm2_f32, str(ours), "--type", preset, "--quiet"], check=True)
    assert filecmp.cmp(ours, theirs, shallow=False)


def test_requantizing_the_shipped_file_matches(tmp_path, smollm2_path):
    ours, theirs = tmp_path / "swquant.gguf", tmp_path / "llama.gguf"
    subprocess.run([tool("llama-quantize"), "--allow-requantize", smollm2_path, str(theirs), "Q4_K_M", "2"],
                   capture_output=True, check=True)
    subprocess.run([swquant_cli(), "quantize", smollm2_path, str(ours), "--type", "Q4_K_M", "--quiet"], check=True)
    assert filecmp.cmp(ours, theirs, shallow=False)


def test_bad_arguments_get_errors(tmp_path, smollm2_f32):
    for arguments, message in ([[smollm2_f32, str(tmp_path / "o.gguf"), "--type", "Q9_K"], "unknown preset"],
                               [[smollm2_f32], "usage"],
                               [[str(tmp_path / "missing.gguf"), str(tmp_path / "o.gguf"), "--type", "Q4_K_M"], "cannot open"]):
        result = subprocess.run([swquant_cli(), "quantize", *arguments], capture_output=True, text=True)
        assert result.returncode != 0 and message in result.stderr
    assert not (tmp_path / "o.gguf").exists()
