"""When a write-only secret (a third-party device's ``sipPassword``) is written.

The API never returns it, so a plan cannot compare it with live state. What triggers a write is
the declaration itself: a secret declared (or whose reference changed) since the baseline, the
repository as it was before the change under review (``plan --baseline DIR``; otherwise, in a git
checkout, the previous commit: ``git show HEAD~1:<file>``). ``--rotate-secrets`` forces the write;
an apply whose secret write did not land plans it again (from its log). The value is read from the
environment only when apply sends it; what is compared here is the reference (the variable's name,
or a digest of a literal), never a value.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.model import Resource, SecretRef
from reconciler.workdir.secret_record import LastWrite

SECRET_FIELDS = ("sipPassword",)


@dataclass(frozen=True)
class SecretBaseline:
    """The secret declarations of the baseline (address -> reference) and where they came from."""

    declarations: dict[str, str]
    origin: str  # "baseline DIR", "git HEAD~1"


def reference(value: Any) -> str:
    """What identifies a declaration without its value: ``env:NAME``, or a digest of a literal."""
    if isinstance(value, SecretRef):
        return f"env:{value.env}"
    if isinstance(value, dict) and isinstance(value.get("fromEnv"), str):
        return f"env:{value['fromEnv']}"
    return "literal:" + hashlib.sha256(str(value).encode()).hexdigest()


def declarations(resources: list[Resource]) -> dict[str, str]:
    """``Device/MAC.sipPassword`` -> reference, for every declared write-only secret."""
    out: dict[str, str] = {}
    for r in resources:
        if r.kind != "Device":
            continue
        for name in SECRET_FIELDS:
            if name in r.spec:
                out[f"{r.address}.{name}"] = reference(r.spec[name])
    return out


def from_resources(resources: list[Resource], origin: str) -> SecretBaseline:
    return SecretBaseline(declarations(resources), origin)


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def from_git(resources: list[Resource], rev: str = "HEAD~1") -> SecretBaseline | None:
    """The declarations of the files that declare a secret, as they were at ``rev`` (the previous
    commit: what an apply on merge compares with). None when there is no such commit (not a git
    checkout, or a first commit)."""
    from reconciler.manifests.load import load_text

    files = sorted({str(r.source.file) for r in resources if r.kind == "Device" and _declares(r)})
    if not files:
        return SecretBaseline({}, f"git {rev}")
    found: dict[str, str] = {}
    for file in files:
        here = Path(file).resolve().parent
        top = _git(here, "rev-parse", "--show-toplevel")
        if top is None or _git(here, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") is None:
            return None
        rel = Path(file).resolve().relative_to(Path(top.strip()).resolve()).as_posix()
        text = _git(here, "show", f"{rev}:{rel}")
        if text is None:
            continue  # the file is new since: every secret in it is new
        old, _ = load_text(text, file)
        found.update(declarations(old))
    return SecretBaseline(found, f"git {rev}")


def _declares(r: Resource) -> bool:
    return any(name in r.spec for name in SECRET_FIELDS)


def decide(
    address: str,
    ref: str,
    baseline: SecretBaseline | None,
    *,
    rotate: bool,
    rewrite: bool,
    last_write: LastWrite | None = None,
) -> tuple[bool, str]:
    """(whether the secret at ``address`` is written, why) for a declaration with reference ``ref``.
    ``last_write``: what this working directory's record says an apply last wrote there
    (``reconciler.workdir.secret_record``); it outranks the baseline, which cannot tell a write was made."""
    if rotate:
        return True, "--rotate-secrets"
    if rewrite:
        return True, "the last apply planned it but did not write it"
    if last_write is not None:
        if last_write.same:
            return False, (
                f"written with this declaration by the apply of {last_write.when}; --rotate-secrets to write"
            )
        return True, f"declaration changed since the apply of {last_write.when} wrote it"
    if baseline is None:
        return True, (
            "new, no baseline (no record of a write here, and neither plan --baseline DIR nor a git "
            "checkout to compare the declaration with)"
        )
    before = baseline.declarations.get(address)
    if before is None:
        return True, f"declaration new since the baseline ({baseline.origin})"
    if before != ref:
        return True, f"declaration changed since the baseline ({baseline.origin})"
    return False, f"unchanged since the baseline ({baseline.origin}); --rotate-secrets to write"
