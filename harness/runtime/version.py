"""The package version (one place; the facade, the reports and the CLI read it)."""

__version__ = "0.1.0"
