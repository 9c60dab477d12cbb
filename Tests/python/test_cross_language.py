"""Swift, C and Python give bit-identical packed codes, scales and zero points for the same input.

Python goes through the extension; C through ctypes on the same libswquant.so; Swift through the
`swquant-cli quantize-file` command, whose path Tests/run_all.sh passes in SWQUANT_CLI.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import swquant

CASES = [
    pytest.param(8, 0, True, id="int8-sym-per-channel"),
    pytest.param(4, 128, False, id="int4-affine-g128"),
    pytest.param(3, 64, False, id="int3-affine-g64"),
    pytest.param(2, -1, False, id="int2-affine-per-tensor"),
]


def weights() -> np.ndarray:
    rng = np.random.default_rng(42)
    return (rng.standard_t(df=3, size=(11, 576)) * 0.05).astype(np.float32)


def python_result(w, bits, group, symmetric):
    q = swquant.quantize(w, bits=bits, group_size=group if group > 0 else None, symmetric=symmetric,
                         per_tensor=group < 0)
    return q.packed.tobytes(), q.scales.ravel(), q.zero_points.ravel()


class SwqScheme(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in
                ("bits", "grid", "symmetric", "granularity", "axis", "group_size", "scale_dtype")]


def c_result(w, bits, group, symmetric):
    lib = ctypes.CDLL(str(Path(swquant.__file__).parent / "libswquant.so"))
    lib.swq_quantize.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
                                 ctypes.POINTER(SwqScheme), ctypes.POINTER(ctypes.c_void_p)]
    lib.swq_qtensor_packed.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                       ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p]
    lib.swq_qtensor_scales.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.swq_qtensor_zero_points.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.swq_qtensor_qparams_count.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64)]
    lib.swq_qtensor_free.argtypes = [ctypes.c_void_p]
    granularity = 2 if group > 0 else (1 if group == 0 else 0)
    scheme = SwqScheme(bits, int(symmetric), int(symmetric), granularity, 0, max(group, 0), 0)
    handle = ctypes.c_void_p()
    assert lib.swq_quantize(w.ctypes.data, 0, w.shape[0], w.shape[1], ctypes.byref(scheme), ctypes.byref(handle)) == 0
    try:
        data, nbytes, count = ctypes.c_void_p(), ctypes.c_int64(), ctypes.c_int64()
        assert lib.swq_qtensor_packed(handle, ctypes.byref(data), ctypes.byref(nbytes), None) == 0
        assert lib.swq_qtensor_qparams_count(handle, ctypes.byref(count)) == 0
        scales = np.empty(count.value, np.float32)
        zeros = np.empty(count.value, np.int32)
        assert lib.swq_qtensor_scales(handle, scales.ctypes.data, count.value) == 0
        assert lib.swq_qtensor_zero_points(handle, zeros.ctypes.data, count.value) == 0
        return ctypes.string_at(data, nbytes.value), scales, zeros
    finally:
        lib.swq_qtensor_free(handle)


def swift_result(w, bits, group, symmetric, tmp_path: Path):
    cli = os.environ.get("SWQUANT_CLI")
    if not cli:
        pytest.skip("SWQUANT_CLI is not set: Tests/run_all.sh builds swquant-cli and sets it")
    source = tmp_path / "w.f32"
    w.tofile(source)
    out = tmp_path / "q"
    subprocess.run([cli, "quantize-file", str(source), str(w.shape[0]), str(w.shape[1]), str(bits), str(group),
                    str(int(symmetric)), str(out)], check=True)
    return ((tmp_path / "q.packed").read_bytes(), np.fromfile(tmp_path / "q.scales", np.float32),
            np.fromfile(tmp_path / "q.zeros", np.int32))


@pytest.mark.parametrize("bits,group,symmetric", CASES)
def test_python_and_c_agree(bits, group, symmetric):
    w = weights()
    py, c = python_result(w, bits, group, symmetric), c_result(w, bits, group, symmetric)
    assert py[0] == c[0]
    np.testing.assert_array_equal(py[1], c[1])
    np.testing.assert_array_equal(py[2], c[2])


@pytest.mark.parametrize("bits,group,symmetric", CASES)
def test_python_and_swift_agree(bits, group, symmetric, tmp_path):
    w = weights()
    py, swift = python_result(w, bits, group, symmetric), swift_result(w, bits, group, symmetric, tmp_path)
    assert py[0] == swift[0]
    np.testing.assert_array_equal(py[1], swift[1])
    np.testing.assert_array_equal(py[2], swift[2])


@pytest.mark.parametrize("rows,cols,group,symmetric,size,match", [
    ("-1", "8", "4", "0", 32, "positive"),
    ("4294967296", "4294967296", "4", "0", 32, "positive"),
    ("100000000", "1", "0", "0", 4096, "holds 4096 bytes"),
    ("2", "4", "4", "7", 32, "SYMMETRIC"),
    ("2", "4", "4", "0", 36, "holds 36 bytes"),
    ("2", "4", "9223372036854775807", "0", 32, None),
])
def test_quantize_file_refuses_bad_arguments_and_writes_nothing(rows, cols, group, symmetric, size, match, tmp_path):
    """Bad shapes, sizes and options end the command with an error (never a trap), and no output file is
    left behind, not even a partial one."""
    cli = os.environ.get("SWQUANT_CLI")
    if not cli:
        pytest.skip("SWQUANT_CLI is not set: Tests/run_all.sh builds swquant-cli and sets it")
    source = tmp_path / "w.f32"
    source.write_bytes(np.linspace(-1, 1, size // 4, dtype=np.float32).tobytes())
    result = subprocess.run([cli, "quantize-file", str(source), rows, cols, "4", group, symmetric, str(tmp_path / "q")],
                            capture_output=True, text=True)
    if match is None:  # a group larger than the row is one group per row: a valid request
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert match in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.f32"]
