"""What ``export`` writes besides the manifests' content: the files of one export staged and moved
into place together (an interrupted export leaves the output directory as it was), the
``.gitignore`` of a config repo, and ``{fromEnv: NAME}`` placeholders for every secret value
(an SNMP community, a password), one variable per distinct value, listed for the user to set.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.localfiles import WORKDIR, make_parent
from reconciler.model import is_secret_field

STAGING = "export-staging"  # under OUT/.reconciler/: hidden, so never read as manifests
GITIGNORE_LINE = f"{WORKDIR}/"
SECRET_PREFIX = "RECONCILER_SECRET_"  # what fromEnv may read without a Policy (validation/envpolicy)


class Staging:
    """The files of one export, written under ``OUT/.reconciler/export-staging/`` and moved into
    ``OUT`` only once all of them are (``commit``); ``discard`` drops them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.root = out / WORKDIR / STAGING
        self.created: Path | None = None  # the topmost directory ``begin`` made (None: none)
        self.committed = False

    def begin(self) -> None:
        """Start afresh: what an export killed earlier staged is dropped first."""
        shutil.rmtree(self.root, ignore_errors=True)
        missing = [d for d in (self.root, *self.root.parents) if not d.exists()]
        self.created = missing[-1] if missing else None
        make_parent(self.root / "-")

    def path_for(self, final: Path) -> Path:
        """Where the file that goes to ``final`` (under ``out``) is staged."""
        return self.root / final.relative_to(self.out)

    def commit(self) -> None:
        """Move every staged file into place, a Ctrl-C held until the last one is (a few renames
        within one file system); then the ``.gitignore``."""
        with _interrupts_held():
            made: set[Path] = set()
            for staged in sorted(_files(self.root)):
                final = self.out / staged.relative_to(self.root)
                if final.parent not in made:  # one ``mkdir`` a directory, not one a file
                    final.parent.mkdir(parents=True, exist_ok=True)
                    made.add(final.parent)
                os.replace(staged, final)
            write_gitignore(self.out)
        self.committed = True
        self.discard()

    def discard(self) -> None:
        """Drop the staged files; before a ``commit``, also every directory ``begin`` made (an
        interrupted export into a new directory leaves none)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if not self.committed and self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)


def _files(root: Path) -> Iterator[Path]:
    for top, _dirs, files in os.walk(root):
        for name in files:
            yield Path(top) / name


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) ignored while inside: the export is finishing, and half of it must not be."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def write_gitignore(out: Path) -> bool:
    """Make ``out/.gitignore`` keep the working directory's state out of git (added to an existing
    file, once); whether it was written."""
    path = out / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = {line.strip().rstrip("/") for line in text.splitlines()}
    if WORKDIR in lines or f"/{WORKDIR}" in lines:
        return False
    note = "# reconciler's local state (parse cache, apply logs, locks)\n"
    sep = "" if not text or text.endswith("\n") else "\n"
    path.write_text(f"{text}{sep}{note}{GITIGNORE_LINE}\n", encoding="utf-8")
    return True


# -- secrets ----------------------------------------------------------------------------------------


@dataclass
class SecretNames:
    """One ``RECONCILER_SECRET_*`` variable per distinct secret value met (the value stays in this
    object, never in a file or a message), named after the first field that holds it."""

    names: dict[str, str] = field(default_factory=dict)  # value -> variable
    taken: set[str] = field(default_factory=set)

    def name_for(self, path: tuple[str, ...], value: str) -> str:
        known = self.names.get(value)
        if known is not None:
            return known
        base = SECRET_PREFIX + "_".join(_upper_snake(p) for p in path[-2:])
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        self.names[value] = name
        return name

    def placeholders(self, value: Any, path: tuple[str, ...] = ()) -> Any:
        """``value`` with each secret field's text replaced by ``{fromEnv: NAME}`` (an empty one
        left out, as the API's default)."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if not is_secret_field(k):
                    out[k] = self.placeholders(v, (*path, k))
                elif isinstance(v, str) and v:
                    out[k] = {"fromEnv": self.name_for((*path, k), v)}
            return out
        if isinstance(value, list):
            return [self.placeholders(v, path) for v in value]
        return value


def _upper_snake(name: str) -> str:
    """``getCommunity`` -> ``GET_COMMUNITY``; ``httpProxy`` -> ``HTTP_PROXY``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).strip("_").upper()


def references(node: Any) -> Iterator[str]:
    """The variable of every ``{fromEnv: NAME}`` mapping in a document."""
    if isinstance(node, dict):
        if set(node) == {"fromEnv"} and isinstance(node["fromEnv"], str):
            yield node["fromEnv"]
            return
        for v in node.values():
            yield from references(v)
    elif isinstance(node, list):
        for v in node:
            yield from references(v)


def secret_lines(used: dict[str, list[str]], shown: int = 3) -> list[str]:
    """What ``export`` says about the secrets its files reference: each variable and where."""
    if not used:
        return []
    out = [
        f"Secret values are not exported: the files reference {len(used)} as {{fromEnv: NAME}}. Before an "
        "apply that writes one, set its variable to the org's value (never commit it):"
    ]
    for name in sorted(used):
        files = sorted(set(used[name]))
        more = f" and {len(files) - shown} more" if len(files) > shown else ""
        out.append(f"  {name}: {', '.join(files[:shown])}{more}")
    return out
