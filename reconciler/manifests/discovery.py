"""Finding and reading manifest files: directory walks, ``.reconcilerignore``, size and encoding checks.

Parsing is ``reconciler.manifests.load``; this module only decides which files are manifests and turns
each into text (or a ``Diagnostic`` saying why it cannot be read).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler.localfiles import LIMITS, UnreadableFile, read_capped
from reconciler.model import Diagnostic, Location

__all__ = [
    "IGNORE_FILE",
    "MAX_FILE_BYTES",
    "YAML_SUFFIXES",
    "UnreadableFile",
    "discover",
    "inside",
    "read_capped",
    "read_manifest",
    "repo_root",
]

MAX_FILE_BYTES = LIMITS["manifest"]  # one manifest file
MAX_IGNORE_BYTES = 64 * 1024  # one .reconcilerignore
YAML_SUFFIXES = (".yaml", ".yml")
IGNORE_FILE = ".reconcilerignore"


def inside(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or somewhere below it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def repo_root(file: str | Path) -> str:
    """The repository a manifest belongs to, for files it names (images): the nearest directory
    above it holding ``.git``, else the manifest's own directory."""
    here = os.path.dirname(os.path.abspath(file))
    probe = here
    while True:
        if os.path.lexists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _ignore_patterns(directory: str) -> list[str]:
    """Patterns of a ``.reconcilerignore`` (gitignore-like: one per line, ``#`` comments,
    ``dir/`` for a directory, ``*`` wildcards, matched relative to the file's directory)."""
    try:
        lines = (
            read_capped(os.path.join(directory, IGNORE_FILE), MAX_IGNORE_BYTES)
            .decode("utf-8", "replace")
            .splitlines()
        )
    except UnreadableFile:
        return []
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    for pat in patterns:
        want_dir = pat.endswith("/")
        pat = pat.strip("/")
        if want_dir and not is_dir:
            continue
        target = rel if "/" in pat else rel.rsplit("/", 1)[-1]
        if fnmatch.fnmatchcase(target, pat):
            return True
    return False


def _skip(rules: dict[str, list[str]], dirpath: str, name: str, is_dir: bool) -> bool:
    full = os.path.join(dirpath, name)
    for base, patterns in rules.items():
        rel = os.path.relpath(full, base).replace(os.sep, "/")
        if not rel.startswith("..") and _ignored(rel, is_dir, patterns):
            return True
    return False


def _outside(full: str, root: str, diags: list[Diagnostic]) -> bool:
    """A symlink under ``root`` that resolves outside it is refused (a hostile change could
    otherwise pull ``/etc`` into a plan)."""
    if inside(full, root):
        return False
    diags.append(
        Diagnostic(
            Location(os.path.normpath(full), 1, 1),
            f"symbolic link to {os.path.realpath(full)!r}, outside {root}: refused",
            code="file",
        )
    )
    return True


def _entries(dirpath: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(dirpath) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:  # unreadable, or gone since it was listed: as ``os.walk``, not an error here
        return []


def _walk(directory: str, diags: list[Diagnostic]) -> list[tuple[str, str]]:
    """The manifest files under ``directory`` (each with its real path), sorted, depth first,
    hidden and ignored ones left out; symlinks followed, those that resolve outside ``directory``
    refused (added to ``diags``). One ``scandir`` per directory: whether an entry is a link comes
    with the listing, not from a ``stat`` of its own."""
    found: list[tuple[str, str]] = []
    visited: set[str] = set()
    rules: dict[str, list[str]] = {}  # directory -> its .reconcilerignore patterns
    pending = [directory]
    while pending:
        dirpath = pending.pop()
        real = os.path.realpath(dirpath)
        if real in visited:  # a symlink loop
            continue
        visited.add(real)
        entries = _entries(dirpath)
        if any(e.name == IGNORE_FILE for e in entries):
            rules[dirpath] = _ignore_patterns(dirpath)
        subdirs: list[str] = []
        for entry in entries:
            name = entry.name
            if _is_hidden(name):
                continue
            link = entry.is_symlink()
            try:
                is_dir = entry.is_dir()  # (a link: what it points to)
            except OSError:
                is_dir = False
            if not is_dir and not name.lower().endswith(YAML_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            if _skip(rules, dirpath, name, is_dir) or (link and _outside(full, directory, diags)):
                continue
            if is_dir:
                subdirs.append(full)
            else:  # a file that is not a link is where its directory really is (no realpath each)
                found.append(
                    (os.path.normpath(full), os.path.realpath(full) if link else os.path.join(real, name))
                )
        pending.extend(reversed(subdirs))
    return found


def discover(paths: Sequence[str | Path]) -> tuple[list[str], list[Diagnostic]]:
    """Manifest files named by ``paths``: files as given, directories walked recursively for
    ``*.yaml`` / ``*.yml`` (sorted; hidden files and directories skipped, and what a
    ``.reconcilerignore`` in a walked directory names). Each file once."""
    files: list[str] = []
    diags: list[Diagnostic] = []
    seen: set[str] = set()

    def add(path: str, real: str | None = None) -> None:
        real = real or os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(path)

    for given in paths:
        p = os.fspath(given)
        if os.path.isfile(p):
            add(os.path.normpath(p))
        elif os.path.isdir(p):
            before = len(diags)
            found = _walk(p, diags)
            if not found and len(diags) == before:
                diags.append(Diagnostic(None, f"{p}: no *.yaml or *.yml files found", code="file"))
            for f, real in found:
                add(f, real)
        elif os.path.lexists(p):  # a FIFO, a device, a dangling link: read_manifest says why
            add(os.path.normpath(p))
        else:
            diags.append(Diagnostic(None, f"{p}: no such file or directory", code="file"))
    return files, diags


def read_manifests(files: Sequence[str], problems: list[Diagnostic]) -> Iterator[tuple[str, str]]:
    """(file, text) of each readable file, in order; why the others cannot be read goes to
    ``problems``."""
    for file in files:
        text, problem = read_manifest(file)
        if problem is not None:
            problems.append(problem)
        elif text is not None:
            yield file, text


def read_manifest(file: str) -> tuple[str | None, Diagnostic | None]:
    """The text of one manifest file (UTF-8, a leading BOM dropped), or why it cannot be read
    (only regular files of at most ``MAX_FILE_BYTES`` are read: see ``read_capped``)."""
    try:
        raw = read_capped(file, MAX_FILE_BYTES)
    except UnreadableFile as exc:
        return None, Diagnostic(Location(file, 1, 1), str(exc), code="file")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(Location(file, line, col), "not UTF-8 text", code="file")
