"""``python -m reconciler.cli``: the ``reconciler`` command."""

from __future__ import annotations

from reconciler.cli.app import console

if __name__ == "__main__":
    console()
