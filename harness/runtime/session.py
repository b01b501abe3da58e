"""Session-wide settings claims read: device, dtype, profile, search (set by the pytest plugin)."""

from __future__ import annotations

import torch

from .budget import SearchSettings
from .devices import RunSettings
from .profiles import Profile, current_profile

__all__ = ["device", "dtype", "profile", "search", "set_run_settings", "set_search"]

_settings = RunSettings()
_search = SearchSettings()


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


def set_search(s: SearchSettings) -> None:
    """Set the session's search settings (and the run seed trial seeds derive from)."""
    from .seeding import set_run_seed

    global _search
    set_run_seed(s.seed)
    _search = s


def search() -> SearchSettings:
    """Run seed, budget override, cost table and example database of this session."""
    return _search
