"""One apply per org at a time: an exclusive lock keyed by the org and the API's base URL.

Two applies against the same org must never run together (each would start the other's jobs
again), whatever apply log each writes: so the lock is not beside the log but in the working
directory's ``.reconciler/locks/``, named after a digest of the API's base URL
(``apply-<digest>.lock``). Two applies in one directory with different ``--log`` paths exclude each
other; so do ``apply`` and ``apply --resume``. The org is not part of the key: before the first
request it is not known for sure (without ``--org-id`` it is "the token's own", and the same org
named with ``--org-id`` must not get a second lock), so every apply through one API from one
working directory takes its turn (never wrong, only cautious). The base URL is keyed as the
server sees it: scheme and host lower-cased, no ``user:password@``, no default port, no trailing
slash. Across machines, the CI workflows' ``concurrency:`` groups do the same.

The lock itself is ``filelock`` (the operating system's lock: ``flock`` on Unix, ``msvcrt`` locking
on Windows), released when its holder exits or is killed, so a lock file left by a killed run
never blocks. ``filelock`` opens the file without following a symbolic link (``O_NOFOLLOW``; a
reparse point is refused on Windows) and never truncates it; our part only writes the holder (PID,
host, start time, base URL) into the file it holds, and only when that file has no other name (a
hard link planted at the lock's path is refused before anything is written to it).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import filelock

from reconciler.errors import ConfigError, LockHeld, ReconcilerError
from reconciler.localfiles import make_parent, read_local

LOCK_DIR = Path(".reconciler") / "locks"
POLL_S = 0.1


_DEFAULT_PORTS = {"http": 80, "https": 443}


def lock_key(base_url: str, org_id: str | None = None) -> str:
    """What one lock covers: the API at ``base_url`` (scheme and host lower-cased, no userinfo, no
    default port, no trailing slash), whatever the org (``org_id`` is not part of it: see above)."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if not parts.scheme:  # not a URL (an embedded simulator's key): as given
        return base_url.strip().rstrip("/")
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


def lock_path(base_url: str, org_id: str | None, directory: Path = LOCK_DIR) -> Path:
    digest = hashlib.sha256(lock_key(base_url, org_id).encode()).hexdigest()[:20]
    return directory / f"apply-{digest}.lock"


def _describe_org(org_id: str | None) -> str:
    return f"org {org_id}" if org_id else "the token's org"


def _holder(path: Path) -> str:
    try:
        data: Any = json.loads(read_local(path, "lock file", follow_symlinks=False))
        return f"PID {int(data['pid'])} on host {data['host']} (since {data['started']})"
    except (ReconcilerError, ValueError, KeyError, TypeError):
        return "another process"


def _stamp(base_url: str, org_id: str | None) -> bytes:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": platform.node(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "base_url": base_url,
            "org": org_id,
        }
    ).encode()


class _ForeignFile(Exception):
    """The file at the lock's path is not one of ours to write (a hard link, not a regular file)."""


def _writer(stamp: bytes) -> Any:
    def write(fd: int) -> None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise _ForeignFile("it has other names (hard links)" if info.st_nlink != 1 else "not a file")
        os.ftruncate(fd, 0)  # this very file, which has no other name: nothing else is truncated
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, stamp)

    return write


def _refusal(path: Path, base_url: str, org_id: str | None, timeout: float) -> LockHeld:
    waited = f" (waited {timeout:g}s)" if timeout else ""
    return LockHeld(
        f"another apply is running for {_describe_org(org_id)} at {base_url}: {path} is held by "
        f"{_holder(path)}{waited}. Let it finish, or pass --lock-timeout SECONDS to wait for it"
    )


@contextmanager
def apply_lock(
    base_url: str, org_id: str | None, timeout: float = 0.0, directory: Path = LOCK_DIR
) -> Iterator[Path]:
    """Hold the lock of the org at ``base_url`` (waiting up to ``timeout`` seconds for it) or raise
    ``LockHeld``; a lock path that is a symbolic link, a hard link or no file is a ``ConfigError``."""
    path = lock_path(base_url, org_id, directory)
    try:
        make_parent(path)
    except OSError as exc:
        raise ConfigError(f"cannot make the lock directory {path.parent}: {exc.strerror or exc}") from None
    lock = filelock.FileLock(
        str(path), timeout=timeout, poll_interval=POLL_S, on_acquired=_writer(_stamp(base_url, org_id))
    )
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _refusal(path, base_url, org_id, timeout) from None
    except _ForeignFile as exc:
        raise ConfigError(f"refusing the lock file {path}: {exc}; remove it and run again") from None
    except OSError as exc:
        what = "a symbolic link (never followed)" if os.path.islink(path) else (exc.strerror or str(exc))
        raise ConfigError(f"cannot take the lock file {path}: {what}; remove it and run again") from None
    try:
        yield path
    finally:
        lock.release()


__all__ = ["LOCK_DIR", "LockHeld", "apply_lock", "lock_key", "lock_path"]
