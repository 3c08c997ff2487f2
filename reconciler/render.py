"""Plan -> text (Terraform-like), JSON (versioned, stable) and markdown (a bounded PR comment)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from reconciler.diff import FieldChange, to_jsonable
from reconciler.plan import PHASES, Plan, Step

SYMBOL = {"create": "+", "update": "~", "delete": "-", "job": "*", "invoke": ">"}
COLOR = {"create": "32", "update": "33", "delete": "31", "job": "36", "invoke": "35"}
MARKDOWN_LIMIT = 60_000


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=False)


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


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
            for key in sorted(set(before) | set(after), key=_natural):
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


def _natural(key: str) -> tuple[Any, ...]:
    parts = key.replace("port ", "").split(".")
    return (*(int(p) if p.isdigit() else 0 for p in parts), key)


def summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes. Live state matches the manifests."
    c = plan.counts()
    return (
        f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
        f"{c['job']} job(s), {c['invoke']} invocation(s); {plan.changed_objects()} object(s) change."
    )


def _step_header(step: Step) -> str:
    where = f"  ({step.source})" if step.source else ""
    return f"{SYMBOL[step.action]} {step.address}: {step.method} {step.path}{where}"


def render_text(plan: Plan, color: bool = False) -> str:
    out: list[str] = []
    for w in plan.warnings:
        out.append(_paint(f"Warning: {w}", "33", color))
    if plan.warnings:
        out.append("")
    for phase in sorted({s.phase for s in plan.steps}):
        out.append(_paint(f"# {phase}. {PHASES[phase]}", "1", color))
        for step in [s for s in plan.ordered() if s.phase == phase]:
            out.append("  " + _paint(_step_header(step), COLOR[step.action], color))
            if step.summary:
                out.append(f"      {step.summary}")
            if step.job_type == "applyLineKeyTemplate":
                count = step.meta.get("deviceCount")
                shown = count if count is not None else "(known after apply)"
                out.append(
                    f"      preview: {shown} device(s) match; "
                    f"{len(step.meta.get('differingDevices', []))} differ from the template"
                )
            for dev in step.meta.get("devices", [])[:20]:
                out.append(f"      covers {dev}")
            for change in step.changes:
                if step.job_type == "applyLineKeyTemplate":
                    out.extend(f"      ~ layout of {m}" for m in change.after or [])
                    continue
                out.extend("      " + line for line in change_lines(change))
        out.append("")
    out.append(summary_line(plan))
    return "\n".join(out) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n"


def render_markdown(plan: Plan, artifact: str | None = None, limit: int = MARKDOWN_LIMIT) -> str:
    """A PR comment: summary table first, details collapsed, cut to ``limit`` characters."""
    head = ["### reconciler plan", "", summary_line(plan), ""]
    if plan.empty:
        return "\n".join(head)
    per_phase: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in plan.steps:
        per_phase[s.phase][s.action] += 1
    head += [
        "| phase | create | update | delete | job | invoke |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in sorted(per_phase):
        c = per_phase[phase]
        cells = " | ".join(str(c[a]) for a in ("create", "update", "delete", "job", "invoke"))
        head.append(f"| {phase}. {PHASES[phase]} | {cells} |")
    head.append("")
    for w in plan.warnings:
        head.append(f"> Warning: {w}")
    pointer = f"Full plan: `{artifact}`." if artifact else "Full plan: run `reconciler plan --format json`."
    tail_note = "\n_{n} more step(s) not shown: the comment is limited to {limit} characters. {pointer}_\n"
    body: list[str] = []
    size = sum(len(x) + 1 for x in head) + len(tail_note) + 200
    steps = plan.ordered()
    shown = 0
    for step in steps:
        lines = [
            f"<details><summary><code>{SYMBOL[step.action]} {step.address}</code> {step.summary}</summary>",
            "",
        ]
        lines.append("```diff")
        lines.append(f"{step.method} {step.path}")
        for change in step.changes:
            if step.job_type == "applyLineKeyTemplate":
                lines.extend(f"~ layout of {m}" for m in change.after or [])
            else:
                lines.extend(change_lines(change))
        lines += ["```", "", "</details>"]
        block = "\n".join(lines)
        if size + len(block) + 1 > limit:
            break
        body.append(block)
        size += len(block) + 1
        shown += 1
    text = "\n".join(head + body)
    if shown < len(steps):
        text += tail_note.format(n=len(steps) - shown, limit=limit, pointer=pointer)
    else:
        text += f"\n\n{pointer}\n"
    return text


def render(plan: Plan, fmt: str, color: bool = False, artifact: str | None = None) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, artifact=artifact)
    return render_text(plan, color=color)
