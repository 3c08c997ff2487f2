"""Parse and schema-check a large batch of manifest files in helper processes, beside the parent.

On an empty parse cache, what one file costs (YAML parse, schema check, the cache entry) depends
on nothing but its text, so for tens of thousands of files ``parse_cache.load_checked`` hands a
share of them to helper processes: ``python -c`` children of the same interpreter that import only
the parse and check modules, read their share of the files, and answer each file's entry key and
cache entry (``parse_cache.serve``), all as ``marshal`` data (plain values, no code). The parent
does its own share meanwhile, then decodes the helpers' entries as it would cache hits: the same
resources and problems, in the same order. A helper that fails, or leaves a file out (unreadable,
not cacheable), costs only time: the parent reads and parses what it did not answer.

Below ``THRESHOLD`` uncached files, or on one CPU, nothing is started (a helper's start and the
decoding of its answers cost more CPU than the wall time they would save).
``RECONCILER_PARSE_WORKERS`` sets the number of helpers (0: none).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

THRESHOLD = 20_000  # uncached files from which helpers are started
MAX_WORKERS = 3
ENV = "RECONCILER_PARSE_WORKERS"

_CHILD = "from reconciler.validation.parse_cache import serve; serve()"  # its side of the exchange


def workers_for(misses: int) -> int:
    """How many helper processes to start for ``misses`` uncached files."""
    wanted = os.environ.get(ENV, "").strip()
    if wanted.isdigit():
        return min(int(wanted), MAX_WORKERS) if misses else 0
    if misses < THRESHOLD:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(0, min(cpus - 1, MAX_WORKERS))


class Helper:
    """One helper process given ``request`` (plain data); ``answer()`` waits for its answer."""

    def __init__(self, request: Any) -> None:
        self._answer: dict[Any, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        package_root = str(Path(__file__).resolve().parents[2])  # the child imports this package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
        with contextlib.suppress(OSError):
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        self._thread = threading.Thread(target=self._talk, args=(marshal.dumps(request),), daemon=True)
        self._thread.start()

    def _talk(self, request: bytes) -> None:
        if self._proc is None:
            return
        try:
            out, _ = self._proc.communicate(request)
            answer = marshal.loads(out) if self._proc.returncode == 0 else {}
        except (OSError, ValueError, EOFError, TypeError):
            answer = {}
        if isinstance(answer, dict):
            self._answer = answer

    def answer(self) -> dict[Any, Any]:
        """The helper's answer (empty when it failed or answered anything but a mapping)."""
        self._thread.join()
        return self._answer

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(OSError):
                self._proc.kill()
        self._thread.join()
