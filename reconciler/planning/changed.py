"""``plan --baseline DIR --changed-only``: plan only what a pull request changes.

A pull request that edits one device of 10,000 need not read the other 9,999 from the API. This
module finds, offline, the objects whose manifests differ between the baseline (the base branch)
and the pull request, plus what depends on them:

- a changed ``LineKeyTemplate``: the devices whose layout names it and the assignments of it;
- a changed device that declares a layout: every ``LineKeyTemplateAssignment`` (the check that no
  layout is owned twice needs their targets);
- a changed ``OrgDeviceSettings``: every location manifest and every device manifest that declares
  settings (a customized one follows the org's declared values: ``reconciler.planning.kinds.inherit``); a
  changed ``LocationDeviceSettings``: every device manifest that declares settings;
- ``BackgroundImages`` always (its images are files the manifest only names);
- a changed ``Policy`` (or a Policy added or removed): everything (it rules the whole plan).

The baseline is not parsed again where it is the same as the pull request: a baseline file whose
bytes equal the pull request's file at the same place gives the same resources, so only the
files that differ are read (``baseline_resources``). Pure data: no network.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.manifests.discovery import discover
from reconciler.manifests.load import to_raw
from reconciler.model import Diagnostic, Resource
from reconciler.planning.plan import canonical

ALWAYS = ("BackgroundImages",)


def content_key(res: Resource) -> str:
    """What a manifest says (not where or how it is written)."""
    return canonical([res.kind, res.name, to_raw(res.metadata), to_raw(res.spec)])


def changed_addresses(pr: Sequence[Resource], base: Sequence[Resource]) -> set[str] | None:
    """The addresses to plan: what differs between ``base`` and ``pr`` and what depends on it;
    None when everything must be planned (the Policy changed)."""
    before = {r.address: r for r in base}

    def differs(r: Resource) -> bool:
        was = before.get(r.address)
        if was is r:  # the same object: read once from a file the same on both sides
            return False
        return was is None or content_key(was) != content_key(r)

    changed = {r.address for r in pr if differs(r)}
    policies = [{r.address for r in side if r.kind == "Policy"} for side in (pr, base)]
    if policies[0] != policies[1] or any(a.startswith("Policy/") for a in changed):
        return None
    by_address = {r.address: r for r in pr}
    templates = {by_address[a].name for a in changed if by_address[a].kind == "LineKeyTemplate"}
    layouts = any(by_address[a].kind == "Device" and "layout" in by_address[a].spec for a in changed)
    kinds = {by_address[a].kind for a in changed if a in by_address} | {
        r.kind for r in base if r.address not in by_address
    }
    org = "OrgDeviceSettings" in kinds
    parents = org or "LocationDeviceSettings" in kinds

    def depends(r: Resource) -> bool:
        if r.kind == "LocationDeviceSettings":
            return org
        if r.kind == "Device":
            follows = parents and "settings" in r.spec
            return follows or bool(r.spec.get("layout", {}).get("template") in templates)
        if r.kind == "LineKeyTemplateAssignment":
            return layouts or r.spec.get("template") in templates
        return r.kind in ALWAYS

    return changed | {r.address for r in pr if depends(r)}


@dataclass
class Baseline:
    """The baseline's resources, and the problems found in the files that were read."""

    resources: list[Resource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_read: int = 0


def _pairs(pr_root: str, base_root: str, pr_sources: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each side's files by their path relative to its root (the pull request's: the files its
    resources were read from, ``pr_sources``, not walked again)."""
    if os.path.isfile(pr_root) or os.path.isfile(base_root):
        return {".": pr_root} if os.path.isfile(pr_root) else {}, (
            {".": base_root} if os.path.isfile(base_root) else {}
        )
    base_files, _ = discover([base_root])
    pr = {rel: f for rel, f in _by_relative(pr_sources, pr_root).items() if not _outside(rel)}
    return pr, _by_relative(base_files, base_root)


def _outside(rel: str) -> bool:
    return rel == os.pardir or rel.startswith(os.pardir + os.sep)


def _by_relative(files: Iterable[str], root: str) -> dict[str, str]:
    """``files`` by ``os.path.relpath(file, root)``, without its two ``abspath`` calls for each
    file found under ``root`` as written (what ``discover`` gives): 100,000 files took seconds."""
    top = os.path.normpath(root)
    prefix = "" if top == os.curdir else top.rstrip(os.sep) + os.sep
    out: dict[str, str] = {}
    for file in files:
        plain = file.startswith(prefix) and not (prefix == "" and (os.path.isabs(file) or _outside(file)))
        out[file[len(prefix) :] if plain else os.path.relpath(file, root)] = file
    return out


def _same_text(pr_file: str, base_file: str) -> bool:
    """Whether the two files hold the same text (the pull request's as it was loaded)."""
    from reconciler.manifests.discovery import read_manifest
    from reconciler.validation.parse_cache import loaded_text_is

    text, _ = read_manifest(base_file)
    if text is None:
        return False
    same = loaded_text_is(pr_file, text)
    return _same_bytes(pr_file, base_file) if same is None else same


def _same_bytes(a: str, b: str) -> bool:
    try:
        return Path(a).read_bytes() == Path(b).read_bytes()
    except OSError:
        return False


def baseline_resources(pairs: Sequence[tuple[str, str]], pr_resources: Sequence[Resource]) -> Baseline:
    """The baseline's resources for (PR path, baseline path) ``pairs``: the pull request's own for
    files with the same bytes at the same place, the rest parsed and checked (cached by content)."""
    from reconciler.validation.parse_cache import load_checked
    from reconciler.validation.validate import with_cross_file_checks

    same: set[str] = set()
    to_read: list[str] = []
    sources = {r.source.file for r in pr_resources}
    for pr_root, base_root in pairs:
        pr_files, base_files = _pairs(pr_root, base_root, sources)
        for rel, base_file in base_files.items():
            pr_file = pr_files.get(rel)
            if pr_file is not None and _same_text(pr_file, base_file):
                same.add(pr_file)
            else:
                to_read.append(base_file)
    kept = [r for r in pr_resources if r.source.file in same]
    read, diags, checked = load_checked(to_read)
    resources = kept + read
    # the kept ones passed every check of their own with the pull request's: only the files read
    # here are checked alone, all of them together
    found = with_cross_file_checks(resources, [*diags, *checked], alone=read)
    return Baseline(resources, found, len(to_read))
