"""The manifests of a command, loaded and checked offline before anything touches the network
(kept while their files do not change), and the checks that need the environment."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from reconciler import runtime
from reconciler.errors import ValidationFailed
from reconciler.model import Diagnostic, Resource
from reconciler.progress import task

# The last successful load: a digest of the files it read, and what they gave. ``apply`` loads the
# same manifests up to three times (plan, policy, verification plan): parsing and validating
# 10,000 files takes seconds, reading and hashing them again to see that nothing changed does not.
_last_load: dict[str, Any] = {}


def _files_digest(paths: list[str]) -> str | None:
    """A digest of what is under ``paths``: every file and directory (followed symlinks included,
    hidden directories left out) with its size, inode and modification and change times; None
    when a path cannot be read."""
    h = hashlib.sha256()
    seen: set[str] = set()
    # A file changed less than a timestamp tick ago may change again without its times changing
    # ("racily clean" in git's words): no digest then. A tick is taken to be 2 s (FAT) unless the
    # times carry fractions of a second, as on the usual Linux and macOS file systems, whose
    # clock ticks every few milliseconds: 100 ms then (a fresh checkout is reused within a run).
    now = time.time_ns()
    newest = 0
    coarse = False

    def add(path: str) -> None:
        nonlocal newest, coarse
        st = os.stat(path)
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        coarse = coarse or st.st_ctime_ns % 1_000_000_000 == 0
        h.update(f"{path}\0{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}\n".encode())

    try:
        for top in paths:
            if not os.path.isdir(top):
                add(top)
                continue
            for root, dirs, files in os.walk(top, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:
                    dirs[:] = []
                    continue
                seen.add(real)
                # (hidden directories hold no manifest, as discovery walks: ``.reconciler/``, where
                # an apply writes its log and the parse cache, would change the digest under it)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                add(root)
                for name in sorted(files):
                    add(os.path.join(root, name))
    except OSError:
        return None
    return None if newest >= now - (2_000_000_000 if coarse else 100_000_000) else h.hexdigest()


def load(paths: list[str]) -> list[Resource]:
    """Validate offline; raise with every problem, before anything touches the network.

    When no file or directory under ``paths`` changed since the last successful load (same size,
    inode, modification and change times), its resources are returned again instead of parsing
    everything anew (planning never modifies resources)."""
    return load_checked(paths)[0]


def load_checked(paths: list[str], *, once: bool = False) -> tuple[list[Resource], list[Diagnostic]]:
    """``load``, with the validation warnings (look-alike names). ``once``: the command loads these
    manifests no more after this (``plan``): unless a load is kept already (the Policy's
    concurrency, read before), no digest of the files to know them again (a walk of the whole
    tree: ~57 ms of a 10,000-manifest plan), and nothing kept."""
    from reconciler.validation.validate import validate_paths

    stamp = None if once and not _last_load else _files_digest(paths)
    if stamp is not None and _last_load.get("stamp") == stamp:
        return list(_last_load["resources"]), list(_last_load["warnings"])
    _last_load.clear()
    with task("loading manifests"), runtime.loading():
        result = validate_paths(paths)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        raise ValidationFailed(list(errors))
    if stamp is not None:
        _last_load.update(stamp=stamp, resources=list(result.resources), warnings=list(result.warnings))
    return result.resources, result.warnings


def require_env(paths: list[str]) -> None:
    """Refuse to start (before any request) while a ``fromEnv`` of the manifests under ``paths``
    names an environment variable that is not set, naming each with its file:line."""
    from reconciler.validation.inputs import unset_env

    if paths:
        missing = unset_env(load(paths), os.environ)
        if missing:
            problem = f"{len(missing)} fromEnv secret(s) name an unset environment variable"
            raise ValidationFailed([*missing], f"{problem}; nothing was sent")


def refuse_credential_values(paths: list[str]) -> None:
    """Refuse (before any request) a ``fromEnv`` whose variable holds one of the tool's own
    credentials, e.g. the content of ``--token-file`` copied into an allowed variable."""
    from reconciler.validation.envpolicy import credential_values
    from reconciler.webex.redact import is_credential

    found = credential_values(load(paths), os.environ, is_credential)
    if found:
        problem = f"{len(found)} fromEnv secret(s) hold a credential"
        raise ValidationFailed([*found], f"{problem}; nothing was sent")


def policy_concurrency(paths: list[str]) -> int | None:
    """The Policy's ``concurrency`` in the manifests under ``paths`` (validated first: a bad repo
    fails here, before anything touches the network), or None."""
    for r in load(paths):
        if r.kind == "Policy" and isinstance(r.spec.get("concurrency"), int):
            return int(r.spec["concurrency"])
    return None
