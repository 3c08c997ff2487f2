"""httpx without its command line, imported first by ``reconciler.webex``.

httpx's package ``__init__`` imports its own command line (``httpx._main``) whenever click, rich
and pygments are installed, as they are here: about 50 ms of every run's start-up (rich's console
and progress, pygments' lexers) for a ``main`` this process never calls. A placeholder module
registered under that name before httpx is first imported takes its place; ``httpx.main`` then
says it is not loaded. The ``httpx`` command itself (its own process) is unaffected.
"""

from __future__ import annotations

import sys
import types


def _main() -> None:
    raise SystemExit("httpx's command line is not loaded in this process (reconciler/webex/_lean_httpx.py)")


if "httpx" not in sys.modules:
    _placeholder = types.ModuleType("httpx._main", "httpx's command line, not loaded (reconciler)")
    _placeholder.main = _main  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", _placeholder)
