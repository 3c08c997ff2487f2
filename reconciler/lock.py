"""One apply at a time per apply log: an exclusive lock file beside it.

The lock is the operating system's file lock (``fcntl.flock``), released when its holder exits or
is killed, so a lock file left by a killed run never blocks: its content (the holder's PID, host
and start time) is only there to name the holder. Where ``fcntl`` is missing the file itself is
the lock (created with ``O_EXCL``, removed on release; a file naming a dead process on this host
is taken over).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

try:
    import fcntl
except ImportError:  # pragma: no cover - platforms without flock
    fcntl = None  # type: ignore[assignment]

POLL_S = 0.1


class LockHeld(ReconcilerError):
    """Another apply holds the lock of this apply log."""


def lock_path(log_path: str) -> Path:
    return Path(log_path + ".lock")


def _holder(path: Path) -> str:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return f"PID {int(data['pid'])} on host {data['host']} (since {data['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _stamp() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": platform.node(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )


def _refusal(path: Path, timeout: float) -> LockHeld:
    waited = f" (waited {timeout:g}s)" if timeout else ""
    return LockHeld(
        f"another apply is running with this apply log: {path} is held by {_holder(path)}{waited}. "
        "Let it finish, or pass --lock-timeout SECONDS to wait for it"
    )


def _try_flock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, _stamp().encode())
    return fd


def _dead_here(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["host"] != platform.node():
            return False
        os.kill(int(data["pid"]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return False


def _try_exclusive(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if _dead_here(path):
            path.unlink(missing_ok=True)
            return _try_exclusive(path)
        return None
    os.write(fd, _stamp().encode())
    return fd


@contextmanager
def apply_lock(log_path: str, timeout: float = 0.0) -> Iterator[Path]:
    """Hold the lock of ``log_path`` (waiting up to ``timeout`` seconds for it) or raise ``LockHeld``."""
    path = lock_path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    take = _try_flock if fcntl is not None else _try_exclusive
    deadline = time.monotonic() + timeout
    fd = take(path)
    while fd is None:
        if time.monotonic() >= deadline:
            raise _refusal(path, timeout)
        time.sleep(POLL_S)
        fd = take(path)
    try:
        yield path
    finally:
        if fcntl is None:
            path.unlink(missing_ok=True)
        os.close(fd)  # closing the descriptor releases the flock
