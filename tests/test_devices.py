"""harness.devices: device and dtype resolution with clear errors."""

from __future__ import annotations

import pytest
import torch

from harness.runtime.devices import DTYPES, DeviceError, RunSettings, resolve_device, resolve_dtype

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@no_cuda
@pytest.mark.parametrize("req", ["cuda", "cuda:0", "CUDA"])
def test_cuda_without_cuda_is_a_clear_error(req):
    with pytest.raises(DeviceError, match="--device") as exc:
        resolve_device(req)
    msg = str(exc.value)
    assert "no CUDA" in msg, msg
    assert "--device=cpu" in msg, msg


@no_cuda
def test_auto_is_cpu_without_cuda():
    assert resolve_device("auto") == "cpu"
    assert resolve_device("") == "cpu"
    assert resolve_device(" AUTO ") == "cpu"


def test_cpu_and_bogus_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(" CPU ") == "cpu"
    with pytest.raises(DeviceError, match="not one of auto, cpu, cuda, cuda:N"):
        resolve_device("bogus")
    with pytest.raises(ValueError, match="'tpu' is not one of"):  # DeviceError is a ValueError
        resolve_device("tpu")


def test_resolve_dtype():
    assert resolve_dtype("float64") == "float64"
    assert resolve_dtype(" Float32 ") == "float32"
    assert resolve_dtype("") == "float64"
    with pytest.raises(
        DeviceError, match="--claims-dtype='float16' is not one of float64, float32"
    ):
        resolve_dtype("float16")


def test_run_settings_dtype():
    assert RunSettings().torch_dtype is torch.float64
    assert RunSettings(dtype="float32").torch_dtype is torch.float32
    assert set(DTYPES) == {"float64", "float32"}
