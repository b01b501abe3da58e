"""Layer 0, the run: what a session runs with, and nothing about networks or claims.

Profiles (effort levels), run seeds and per-trial generators, devices and dtypes, search budgets and
the cost table, work shared between claims of one session, and splitting work into chunks that fit
the device. Imports only the standard library and torch. The session settings (``device()``,
``dtype()``, ``profile()``, ``search()``; set by the pytest plugin) are re-exported here, so the
old ``from harness.runtime import device`` keeps working.
"""

from .session import device, dtype, profile, run_settings, search, set_run_settings, set_search

__all__ = ["device", "dtype", "profile", "run_settings", "search", "set_run_settings", "set_search"]
