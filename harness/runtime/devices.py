"""Device, dtype and thread set-up: TF32 off, one BLAS thread per xdist worker, CUDA touched late."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = [
    "DeviceError",
    "RunSettings",
    "configure_numerics",
    "configure_threads",
    "gpu_for_worker",
    "pin_worker_gpu",
    "resolve_device",
    "resolve_dtype",
    "visible_gpus",
]

DTYPES = {"float64": torch.float64, "float32": torch.float32}


class DeviceError(ValueError):
    """The requested device or dtype cannot be used on this machine."""


@dataclass(frozen=True)
class RunSettings:
    """What every claim in a session trains with (set once by the pytest plugin)."""

    device: str = "cpu"
    dtype: str = "float64"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]


def resolve_device(requested: str) -> str:
    """Map ``auto | cpu | cuda | cuda:N`` to a device string, with a clear error if unusable."""
    req = (requested or "auto").strip().lower()
    if req == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if req == "cpu":
        return "cpu"
    if req == "cuda" or req.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device={requested} was asked for, but this torch ({torch.__version__}) "
                "sees no CUDA device (torch.cuda.is_available() is False). "
                "Use --device=cpu or --device=auto."
            )
        if ":" in req:
            idx = int(req.split(":", 1)[1])
            if idx >= torch.cuda.device_count():
                raise DeviceError(f"--device={requested}: only {torch.cuda.device_count()} CUDA device(s) visible.")
        return req
    raise DeviceError(f"--device={requested!r} is not one of auto, cpu, cuda, cuda:N.")


def resolve_dtype(requested: str) -> str:
    req = (requested or "float64").strip().lower()
    if req not in DTYPES:
        raise DeviceError(f"--claims-dtype={requested!r} is not one of {', '.join(DTYPES)}.")
    return req


def configure_numerics() -> None:
    """Turn TF32 off everywhere (checks compare against float64 theory) and keep cuDNN deterministic."""
    torch.set_float32_matmul_precision("highest")
    try:  # torch >= 2.9 API
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
    except (AttributeError, RuntimeError):  # pragma: no cover - older torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def configure_threads() -> int:
    """Under pytest-xdist give each worker cores // workers threads (1 on the 2-core CI box).

    Two torch threads per process next to another busy process were measured 470x slower
    (oversubscription); two single-thread processes give 2x. Returns the thread count set.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers <= 0:
        return torch.get_num_threads()
    n = max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except Exception:  # pragma: no cover - threadpoolctl optional at runtime
        pass
    return n


# ----------------------------------------------------------------------------------------------
# one GPU per pytest-xdist worker
# ----------------------------------------------------------------------------------------------


def visible_gpus(env: dict | None = None, count=None) -> list[str]:
    """The GPUs this process may hand out, as entries for CUDA_VISIBLE_DEVICES.

    ``CUDA_VISIBLE_DEVICES`` when set (its entries: indices, ``GPU-<uuid>`` or MIG ids, kept as
    they are; ``""`` or ``-1`` mean none), else ``0..count()-1`` with ``count`` defaulting to
    ``torch.cuda.device_count`` (call this on the xdist controller only: counting may start CUDA).
    """
    env = os.environ if env is None else env
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is not None:
        entries = [e.strip() for e in raw.split(",") if e.strip()]
        # CUDA stops at the first invalid entry; "-1" is the usual way to hide every device
        out = []
        for e in entries:
            if e.startswith("-"):
                break
            out.append(e)
        return out
    n = (count or torch.cuda.device_count)()
    return [str(i) for i in range(int(n))]


def gpu_for_worker(worker_id: str, gpus: list[str]) -> str | None:
    """The GPU of xdist worker ``gwK``: ``gpus[K % len(gpus)]`` (None without GPUs).

    Workers beyond the number of GPUs share them round-robin; a worker xdist restarts after a
    crash gets the next id (gw2 for the third worker), hence the modulo."""
    if not gpus:
        return None
    digits = "".join(ch for ch in worker_id if ch.isdigit())
    if not digits:
        raise ValueError(f"not an xdist worker id: {worker_id!r}")
    return gpus[int(digits) % len(gpus)]


def pin_worker_gpu(worker_id: str, gpus: list[str], env: dict | None = None) -> str | None:
    """Set ``CUDA_VISIBLE_DEVICES`` to this worker's GPU, before CUDA starts in this process.

    Returns the GPU pinned (None when there are none). Raises DeviceError if CUDA is already
    initialized here: CUDA reads the variable once, so pinning now would silently do nothing."""
    gpu = gpu_for_worker(worker_id, gpus)
    if gpu is None:
        return None
    if torch.cuda.is_initialized():
        raise DeviceError(
            f"worker {worker_id}: CUDA was initialized before the plugin could pin it to GPU {gpu}; "
            "do not touch CUDA at import or in conftest.py"
        )
    (os.environ if env is None else env)["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu
