"""What every format shares: step symbols, field-change lines, counts and summary sentences.

Depends on the data modules (``reconciler.plan``, ``reconciler.diff``, ``reconciler.entries``,
``reconciler.drift``); none of them imports ``reconciler.render``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler.diff import FieldChange, to_jsonable
from reconciler.entries import natural_key
from reconciler.plan import Plan, Step, canonical

if TYPE_CHECKING:
    from reconciler.drift import DriftItem, DriftReport

SYMBOL = {"create": "+", "update": "~", "delete": "-", "job": "*", "invoke": ">"}
COLOR = {"create": "32", "update": "33", "delete": "31", "job": "36", "invoke": "35"}

INTRODUCED_TITLE = "Changes this pull request introduces"
PREEXISTING_TITLE = "Drift that was already there"
PREEXISTING_NOTE = (
    "Live state already differed from the base branch's manifests here (a change made outside git, "
    "e.g. in Control Hub). Applying this pull request also sets it back to the manifests."
)


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# -- plans ----------------------------------------------------------------------------------------


def summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes. Live state matches the manifests."
    c = plan.counts()
    return (
        f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
        f"{c['job']} job(s), {c['invoke']} invocation(s); {plan.changed_objects()} object(s) change."
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=False)


def _keyed(value: Any) -> dict[str, Any] | None:
    """Lists of members / keys rendered item by item: key them by port or index."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(x, dict) for x in value):
        out: dict[str, Any] = {}
        for x in value:
            key = x.get("port", x.get("lineKeyIndex"))
            out[f"port {key}" if "port" in x else str(key)] = x
        return out
    return None


def change_lines(change: FieldChange) -> list[str]:
    """Human lines for one field change, before -> after."""
    path = change.path.lstrip("/").replace("/", ".")
    if change.sensitive:
        return [f"~ {path}: (sensitive)"]
    before, after = _keyed(change.before), _keyed(change.after)
    if before is not None or after is not None:
        before, after = before or {}, after or {}
        if (
            before is not None
            and after is not None
            and (before or after)
            and (isinstance(change.before, dict | list) or change.before is None)
        ):
            lines = []
            for key in sorted(set(before) | set(after), key=natural_key):
                b, a = before.get(key), after.get(key)
                if b == a:
                    continue
                if b is None:
                    lines.append(f"+ {path}[{key}]: {_fmt(a)}")
                elif a is None:
                    lines.append(f"- {path}[{key}]: {_fmt(b)}")
                else:
                    lines.append(f"~ {path}[{key}]: {_fmt(b)} -> {_fmt(a)}")
            if lines:
                return lines
    if change.before is None:
        return [f"+ {path}: {_fmt(change.after)}"]
    if change.after is None:
        return [f"- {path}: {_fmt(change.before)}"]
    return [f"~ {path}: {_fmt(change.before)} -> {_fmt(change.after)}"]


def step_change_lines(step: Step) -> list[str]:
    """A step's field changes, line by line (a template job: the devices whose layout changes)."""
    lines: list[str] = []
    for change in step.changes:
        if step.job_type == "applyLineKeyTemplate":
            lines.extend(f"~ layout of {m}" for m in change.after or [])
        else:
            lines.extend(change_lines(change))
    return lines


# -- drift reports --------------------------------------------------------------------------------


def drift_summary_line(report: DriftReport) -> str:
    if not report.items:
        return "No drift: live state matches the manifests."
    counts = ", ".join(f"{n:,} {k}" for k, n in report.counts().items() if n)
    return (
        f"Drift: {plural(len(report.items), 'difference')} in "
        f"{plural(len(report.by_resource()), 'resource')} ({counts})."
    )


def group_phrase(label: str, items: list[DriftItem]) -> str:
    """``2 changed``, ``1 missing member``, ``3 extra members``."""
    if len(items) == 1 and items[0].what != "field":
        return f"1 {items[0].kind} {items[0].what}"
    return f"{len(items)} {label}"


def item_where(i: DriftItem) -> str:
    """Where a difference is: its path, and the entry's label (``members[port 1] (person a@x)``)."""
    return i.path + (f" ({i.label})" if i.label else "")


def shown_values(i: DriftItem) -> tuple[str, str]:
    """(live, declared) for people: only the differing attributes of a changed list entry."""
    if i.sensitive:
        return "(sensitive)", "(sensitive)"
    live, declared = i.live, i.declared
    if i.label:  # the label names the entry already
        live = {k: v for k, v in live.items() if k != "member"} if isinstance(live, dict) else live
        declared = (
            {k: v for k, v in declared.items() if k != "member"} if isinstance(declared, dict) else declared
        )
    if i.kind == "changed" and isinstance(live, dict) and isinstance(declared, dict):
        keys = [k for k in {**live, **declared} if canonical(live.get(k)) != canonical(declared.get(k))]
        if keys:
            live = {k: live.get(k) for k in keys}
            declared = {k: declared.get(k) for k in keys}
    absent = "(not set)" if i.what == "field" else "(absent)"
    return _show(live, absent), _show(declared, "(not declared)")


def _show(value: Any, none: str) -> str:
    if value is None:
        return none
    return json.dumps(to_jsonable(value), ensure_ascii=False)
