"""Every local file the tool reads, read with bounds: regular files only, size-capped, never blocking.

A file read by the tool may be anything its path names: a FIFO (a read waits forever for a
writer), ``/dev/zero`` (a read never ends), a symlink to either (git can commit one), a 3 GB file.
``read_capped`` is the one way such a file is read: opened non-blocking (a FIFO does not wait for
a writer), refused unless ``fstat`` shows a regular file, and read for at most ``cap + 1`` bytes
whatever its reported size. ``read_local`` does the same for one kind of local state
(``LIMITS``), and turns a refusal into one ``ConfigError`` line naming the file and what it is.

Depends on ``reconciler.errors`` only, so that any module (the client's token file too) can use it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.errors import UnreadableFile as UnreadableFile

__all__ = [
    "LIMITS",
    "WORKDIR",
    "UnreadableFile",
    "make_parent",
    "read_capped",
    "read_local",
    "read_local_text",
]

MIB = 1024 * 1024

# The most bytes each kind of local file may have (named in the error when it has more).
LIMITS: dict[str, int] = {
    "manifest": 32 * MIB,
    "parse cache": 512 * MIB,
    "apply log": 256 * MIB,
    "saved plan": 256 * MIB,
    "token file": 64 * 1024,
    "lock file": 64 * 1024,
    "cache key": 1024,
    "image": 625 * 1024,  # the API's upload limit
    "simulator state": 512 * MIB,
}

# What a working directory keeps between runs (parse cache, apply logs, locks, the simulator's
# state): it ignores itself in git, so that a plain `plan` leaves `git status` clean.
WORKDIR = ".reconciler"
_WORKDIR_IGNORE = b"# reconciler's local state (parse cache, apply logs, locks): never committed\n*\n"

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = MIB
_UNSIZED_CHUNK = 64 * 1024


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_capped(path: str | Path, cap: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of a regular file of at most ``cap`` bytes; ``UnreadableFile`` for anything else.

    Never blocks and never reads without bound: the file is opened non-blocking, refused unless
    it is a regular file (a FIFO, a device like ``/dev/zero``, a socket, a directory), and read for
    at most ``cap + 1`` bytes whatever its reported size. ``follow_symlinks=False`` refuses a
    symbolic link itself (``O_NOFOLLOW``) instead of reading what it points to.
    """
    flags = _FLAGS
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise UnreadableFile("a symbolic link (never followed here)") from None
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{_kind(info.st_mode)}, not a regular file (never read)")
        if info.st_size > cap:
            raise UnreadableFile(f"file too large ({info.st_size:,} bytes; at most {cap:,})")
        chunks: list[bytes] = []
        size = 0
        # the first read asks for one byte more than the file says it has (a buffer of 1 MiB for
        # a 2 KB manifest costs more than reading it); a file that says nothing gets 64 KiB reads
        want = info.st_size + 1 if info.st_size else _UNSIZED_CHUNK
        while size <= cap:
            asked = min(want, _CHUNK, cap + 1 - size)
            want = _CHUNK
            try:
                chunk = os.read(fd, asked)
            except BlockingIOError:  # a regular file never does this; anything else is not read
                raise UnreadableFile("the file would block (never read)") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if len(chunk) < asked and size >= info.st_size > 0:
                break  # short at the size it said it has: its end (no read more to see it)
        if size > cap:
            raise UnreadableFile(f"file too large (more than {cap:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_local(path: str | Path, what: str, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the ``what`` (a key of ``LIMITS``: "apply log", "saved plan", ...) at ``path``;
    one ``ConfigError`` line naming it and the reason when it cannot be read within bounds."""
    try:
        return read_capped(path, LIMITS[what], follow_symlinks=follow_symlinks)
    except UnreadableFile as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None


def read_local_text(path: str | Path, what: str) -> str:
    """``read_local`` decoded as UTF-8 (a ``ConfigError`` when it is not)."""
    data = read_local(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {what} {path}: not UTF-8 text (byte {exc.start:,})") from None


def make_parent(path: str | Path) -> None:
    """Make the directory ``path`` goes into; a ``.reconciler`` directory on the way gets a
    ``.gitignore`` of ``*`` (written once, never through a link), so git never lists its files."""
    parent = Path(path).parent
    parent.mkdir(parents=True, exist_ok=True)
    workdir = next((d for d in (parent, *parent.parents) if d.name == WORKDIR), None)
    if workdir is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(workdir / ".gitignore", flags, 0o644)
    except OSError:  # there already (or not writable: the files are still written)
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(_WORKDIR_IGNORE)
