"""``python -m harness``: the theorem-check command line (see harness.cli)."""

from .tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
