"""Saved plans are claims that apply verifies: strict reading, where they may point, what they equal.

``parse`` reads a saved plan's JSON strictly (every field of the type ``Plan.to_json`` writes, reads
that are GETs of API paths) and raises one ``ConfigError`` line naming the file and the field.
``differences`` compares a saved plan with a plan made again, step for step, in a canonical form
(what is sent, not how it is rendered). ``contained_paths`` keeps the manifest paths a saved plan or
an apply log names inside the working directory or its repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from reconciler.errors import ConfigError, PlanMismatch
from reconciler.planning.diff import to_jsonable
from reconciler.planning.plan import ACTIONS, FORMAT_VERSION, PHASES, Plan, Step
from reconciler.textsafe import clip, visible
from reconciler.webex.untrusted import api_text, without_userinfo

METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
_READ = re.compile(r"^GET /(?!/)\S*$")
_MAC = re.compile(r"^[0-9A-Fa-f]{12}$")


class _Bad(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))


def _want(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, required: bool) -> None:
    if key not in data:
        if required:
            raise _Bad(f"{where}{key}", "missing")
        return
    if not _is(data[key], kind):
        names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        names = names.replace("NoneType", "null")
        raise _Bad(f"{where}{key}", f"expected {names}, got {_typename(data[key])}")


def _typename(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _strings(data: dict[str, Any], key: str, where: str) -> None:
    _want(data, key, list, where, False)
    for i, item in enumerate(data.get(key, [])):
        if not isinstance(item, str):
            raise _Bad(f"{where}{key}[{i}]", f"expected str, got {_typename(item)}")


def _check_step(step: Any, where: str) -> None:
    if not isinstance(step, dict):
        raise _Bad(where.rstrip("."), f"expected an object, got {_typename(step)}")
    for key in ("address", "resource", "path"):
        _want(step, key, str, where, True)
    _want(step, "action", str, where, True)
    if step["action"] not in ACTIONS:
        raise _Bad(f"{where}action", f"unknown action {step['action']!r}")
    _want(step, "phase", int, where, True)
    if step["phase"] not in PHASES:
        raise _Bad(f"{where}phase", f"unknown phase {step['phase']!r}")
    _want(step, "method", str, where, True)
    if step["method"] not in METHODS:
        raise _Bad(f"{where}method", f"unknown method {step['method']!r}")
    if "id" in step and step["id"] != step["address"]:
        raise _Bad(f"{where}id", "differs from the step's address")
    _strings(step, "depends_on", where)
    for key in ("source", "job_type"):
        _want(step, key, (str, type(None)), where, False)
    _want(step, "summary", str, where, False)
    _want(step, "meta", (dict, type(None)), where, False)
    _want(step, "counts", bool, where, False)
    _want(step, "changes", list, where, False)
    for i, change in enumerate(step.get("changes", [])):
        if not isinstance(change, dict):
            raise _Bad(f"{where}changes[{i}]", f"expected an object, got {_typename(change)}")
        _want(change, "path", str, f"{where}changes[{i}].", True)


def step_problem(step: Any) -> str | None:
    """What is wrong with one step's JSON (as ``Step.to_json`` writes it), or None."""
    try:
        _check_step(step, "")
    except _Bad as exc:
        return str(exc)
    return None


def _objects(data: dict[str, Any], key: str) -> None:
    """``key``: a list of objects, or null."""
    _want(data, key, (list, type(None)), "", False)
    for i, item in enumerate(data.get(key) or []):
        if not isinstance(item, dict):
            raise _Bad(f"{key}[{i}]", f"expected an object, got {_typename(item)}")


def _check_reads(data: dict[str, Any]) -> None:
    """What the plan read: a digest per GET of an API path (a saved plan's reads only read)."""
    _want(data, "reads", dict, "", False)
    for key, value in data.get("reads", {}).items():
        if not _READ.match(key):
            raise _Bad("reads", f"{key!r} is not a GET of an API path (a saved plan's reads only read)")
        if not isinstance(value, str):
            raise _Bad(f"reads[{key!r}]", f"expected str, got {_typename(value)}")


def _check(data: Any) -> None:
    if not isinstance(data, dict):
        raise _Bad("the file", f"expected a JSON object, got {_typename(data)}")
    if data.get("format_version") != FORMAT_VERSION:
        found = data.get("format_version")
        raise _Bad("format_version", f"is {found!r}; this reconciler reads {FORMAT_VERSION}")
    _strings(data, "paths", "")
    _strings(data, "targets", "")
    if data.get("only") is not None:
        _strings(data, "only", "")
    _strings(data, "warnings", "")
    _want(data, "prune", bool, "", False)
    for key in ("base_url", "org_id", "checksum"):
        _want(data, key, (str, type(None)), "", False)
    _want(data, "managed", int, "", False)
    _want(data, "safety", (dict, type(None)), "", False)
    for key in ("secrets", "held"):
        _objects(data, key)
    _check_reads(data)
    _want(data, "steps", list, "", True)
    seen: set[str] = set()
    for i, step in enumerate(data["steps"]):
        _check_step(step, f"steps[{i}].")
        if step["address"] in seen:
            raise _Bad(f"steps[{i}].address", f"step {step['address']!r} appears twice")
        seen.add(step["address"])


def parse(data: Any, source: str) -> Plan:
    """The saved plan in ``data`` (read from ``source``), or one clean ``ConfigError``."""
    try:
        _check(data)
    except _Bad as exc:
        raise ConfigError(f"saved plan {source} is malformed: {exc}") from None
    try:
        plan = Plan.from_json(data)
    except ConfigError as exc:
        raise ConfigError(f"saved plan {source}: {exc}") from None
    return plan


# -- where a saved plan or an apply log may point ---------------------------------------------------


def check_contained(paths: list[str], origin: str) -> None:
    """Refuse (``ConfigError``) a path named by ``origin`` (a saved plan, an apply log) unless it
    lies inside the working directory or its git repository (a log naming ``/etc`` is refused)."""
    from reconciler.manifests.discovery import repo_root

    cwd = os.path.realpath(os.getcwd())
    roots = [cwd, os.path.realpath(repo_root(os.path.join(cwd, "-")))]  # cwd's git repo, else cwd
    for path in paths:
        real = os.path.realpath(path)
        if not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
            raise ConfigError(
                f"{origin} names the manifest path {path!r}, outside the working directory and its "
                "repository; refusing to read it (run from the repository, or give the PATHs)"
            )


SHOWN_PATHS = 10  # manifest paths of a saved plan or log shown before they are read


def contained_paths(paths: list[str], origin: str, say: Callable[[str], None]) -> list[str]:
    """``check_contained``, then show the paths through ``say`` before they are read."""
    check_contained(paths, origin)
    paths = list(dict.fromkeys(paths))  # each once: a log may repeat one a hundred thousand times
    if paths:
        shown = ", ".join(clip(visible(p), 200) for p in paths[:SHOWN_PATHS])
        more = f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else ""
        say(f"Manifest paths from {origin}: {shown}{more}")
    return paths


# -- the same API and org -------------------------------------------------------------------------


def check_target(saved: Plan, base_url: str, org_id: str | None, source: str) -> None:
    """Refuse a saved plan made against another API or org than this run's."""
    if saved.base_url is not None and saved.base_url.rstrip("/") != base_url.rstrip("/"):
        made = api_text(without_userinfo(saved.base_url), 200)  # a saved plan is not trusted
        raise PlanMismatch(
            f"saved plan {source} was made against {made}, this run targets {base_url}; "
            "plan again against this one"
        )
    if saved.org_id != org_id and (saved.org_id is not None or saved.base_url is not None):
        own = "(the token's own)"
        raise PlanMismatch(
            f"saved plan {source} was made for org {saved.org_id or own}, this run "
            f"targets org {org_id or own}; plan again for this one"
        )


# -- a saved plan against a plan made again ---------------------------------------------------------


def canonical_step(step: Step) -> dict[str, Any]:
    """What a step does (what is sent, in what order), not how it is shown."""
    return {
        "id": step.id,
        "resource": step.resource,
        "action": step.action,
        "phase": step.phase,
        "method": step.method,
        "path": step.path,
        "body": to_jsonable(step.body),
        "depends_on": sorted(step.depends_on),
        "job_type": step.job_type,
        "file_sha256": step.meta.get("sha256"),
    }


def object_name(resource: str) -> str:
    """``Device 0A:1B:2C:3D:4E:5F``, ``LineKeyTemplate "Sales 8851"``."""
    kind, _, name = resource.partition("/")
    if not name:
        return resource
    if kind == "Device" and _MAC.match(name):
        return "Device " + ":".join(name[i : i + 2] for i in range(0, 12, 2)).upper()
    return f'{kind} "{name}"'


def differences(saved: Plan, fresh: Plan) -> list[str]:
    """The objects whose steps differ between ``saved`` and ``fresh``, each with how."""
    old = {s.id: s for s in saved.steps}
    new = {s.id: s for s in fresh.steps}
    found: dict[str, list[str]] = {}
    for sid in sorted(old.keys() | new.keys()):
        a, b = old.get(sid), new.get(sid)
        if a is not None and b is not None:
            ca, cb = canonical_step(a), canonical_step(b)
            if ca == cb:
                continue
            what = ", ".join(k for k in ca if ca[k] != cb[k])
            found.setdefault(b.resource, []).append(f"{sid}: {what} differ(s)")
        elif a is not None:
            found.setdefault(a.resource, []).append(f"{a.method} {sid}: not called for now")
        elif b is not None:
            found.setdefault(b.resource, []).append(f"{sid}: called for now, missing from the saved plan")
    return [f"{object_name(r)} ({'; '.join(why)})" for r, why in sorted(found.items())]


def check_same(saved: Plan, fresh: Plan, source: str) -> None:
    """Refuse (``PlanMismatch``) unless ``fresh`` equals ``saved`` step for step, body for body."""
    diff = differences(saved, fresh)
    if diff:
        shown = "; ".join(diff[:10]) + (f"; and {len(diff) - 10} more" if len(diff) > 10 else "")
        raise PlanMismatch(
            f"saved plan {source} is not what the manifests and live state call for now: {shown}. "
            "Nothing was written; plan again and review the new plan"
        )
