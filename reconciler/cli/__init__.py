"""The ``reconciler`` command line: click commands, each parsing its options, making one call into
``reconciler.flows``, rendering the result and choosing the exit code."""

from __future__ import annotations

from reconciler.cli.app import console, main

__all__ = ["console", "main"]
