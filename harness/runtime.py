"""Session-wide settings claims read: device, dtype, profile (set by the pytest plugin)."""

from __future__ import annotations

import torch

from .devices import RunSettings
from .profiles import Profile, current_profile

__all__ = ["device", "dtype", "profile", "set_run_settings"]

_settings = RunSettings()


def set_run_settings(s: RunSettings) -> None:
    global _settings
    _settings = s


def run_settings() -> RunSettings:
    return _settings


def device() -> str:
    """The device claims train on (``--device``; ``cpu`` outside pytest)."""
    return _settings.device


def dtype() -> torch.dtype:
    """The dtype claims train in (``--claims-dtype``; float64 by default)."""
    return _settings.torch_dtype


def profile() -> Profile:
    """The active effort profile (``--claims-profile``)."""
    return current_profile()
