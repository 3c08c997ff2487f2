"""Finding and reading manifest files: directory walks, ``.reconcilerignore``, size and encoding checks.

Parsing is ``reconciler.manifests``; this module only decides which files are manifests and turns
each into text (or a ``Diagnostic`` saying why it cannot be read).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from reconciler.model import Diagnostic, Location

__all__ = ["IGNORE_FILE", "MAX_FILE_BYTES", "YAML_SUFFIXES", "discover", "read_manifest"]

MAX_FILE_BYTES = 32 * 1024 * 1024  # one manifest file
YAML_SUFFIXES = (".yaml", ".yml")
IGNORE_FILE = ".reconcilerignore"


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _ignore_patterns(directory: str) -> list[str]:
    """Patterns of a ``.reconcilerignore`` (gitignore-like: one per line, ``#`` comments,
    ``dir/`` for a directory, ``*`` wildcards, matched relative to the file's directory)."""
    try:
        with open(os.path.join(directory, IGNORE_FILE), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
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


def _walk(directory: str) -> list[str]:
    """The manifest files under ``directory``, sorted, hidden and ignored ones left out."""
    found: list[str] = []
    visited: set[str] = set()
    rules: dict[str, list[str]] = {}  # directory -> its .reconcilerignore patterns
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:  # a symlink loop
            dirnames[:] = []
            continue
        visited.add(real)
        if IGNORE_FILE in filenames:
            rules[dirpath] = _ignore_patterns(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d) and not _skip(rules, dirpath, d, True))
        for name in sorted(filenames):
            if (
                not _is_hidden(name)
                and name.lower().endswith(YAML_SUFFIXES)
                and not _skip(rules, dirpath, name, False)
            ):
                found.append(os.path.normpath(os.path.join(dirpath, name)))
    return found


def discover(paths: Sequence[str | Path]) -> tuple[list[str], list[Diagnostic]]:
    """Manifest files named by ``paths``: files as given, directories walked recursively for
    ``*.yaml`` / ``*.yml`` (sorted; hidden files and directories skipped, and what a
    ``.reconcilerignore`` in a walked directory names). Each file once."""
    files: list[str] = []
    diags: list[Diagnostic] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(path)

    for given in paths:
        p = os.fspath(given)
        if os.path.isfile(p):
            add(os.path.normpath(p))
        elif os.path.isdir(p):
            found = _walk(p)
            if not found:
                diags.append(Diagnostic(None, f"{p}: no *.yaml or *.yml files found"))
            for f in found:
                add(f)
        else:
            diags.append(Diagnostic(None, f"{p}: no such file or directory"))
    return files, diags


def read_manifest(file: str) -> tuple[str | None, Diagnostic | None]:
    """The text of one manifest file (UTF-8, a leading BOM dropped), or why it cannot be read."""
    try:
        size = os.path.getsize(file)
        if size > MAX_FILE_BYTES:
            return None, Diagnostic(
                Location(file, 1, 1), f"file too large ({size} bytes; at most {MAX_FILE_BYTES})"
            )
        raw = Path(file).read_bytes()
    except OSError as exc:
        return None, Diagnostic(Location(file, 1, 1), f"cannot read file: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(Location(file, line, col), "not UTF-8 text")
