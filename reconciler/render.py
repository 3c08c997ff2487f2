"""Plan -> text (Terraform-like), JSON (versioned, stable) and markdown (a bounded PR comment)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from reconciler.diff import FieldChange, to_jsonable
from reconciler.plan import ACTIONS, PHASES, Plan, Step, threshold_line

if TYPE_CHECKING:
    from reconciler.drift import PlanReview

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
    if not plan.empty:
        out.append(threshold_line(plan))
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


# -- bounded markdown, and a plan split against a baseline (plan --baseline) ---------------------

WARNINGS_SHOWN = 10


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def markdown_step_block(step: Step) -> str:
    """One step as a collapsed ``<details>`` block with its call and field changes."""
    lines = [
        f"<details><summary><code>{SYMBOL[step.action]} {step.address}</code> {step.summary}</summary>",
        "",
        "```diff",
        f"{step.method} {step.path}",
    ]
    for change in step.changes:
        if step.job_type == "applyLineKeyTemplate":
            lines.extend(f"~ layout of {m}" for m in change.after or [])
        else:
            lines.extend(change_lines(change))
    lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


def markdown_warnings(warnings: list[str], shown: int = WARNINGS_SHOWN) -> list[str]:
    """At most ``shown`` warnings (each cut to 300 characters), then how many more there are."""
    out = [f"> Warning: {w[:300]}" for w in warnings[:shown]]
    if len(warnings) > shown:
        out.append(f"> ... and {len(warnings) - shown:,} more warning(s) (see the full output).")
    if out:
        out.append("")
    return out


def fit_markdown(
    head: list[str],
    sections: list[tuple[str, list[tuple[str, str]]]],
    *,
    limit: int,
    pointer: str,
    unit: str = "step",
) -> str:
    """``head``, then each (title, [(category, block)]) section in order, within ``limit`` characters.

    Blocks are kept in order until one does not fit; everything after it is left out, and a closing
    note says how many of each section and category were left out, and where the whole is.
    """
    note_budget = 600 + 80 * len({cat for _, blocks in sections for cat, _ in blocks})
    parts: list[str] = list(head)
    size = sum(len(p) + 1 for p in parts)
    left_out: dict[str, dict[str, int]] = {}
    full = False
    for title, blocks in sections:
        if title:
            parts += ["", title, ""]
            size += len(title) + 3
        if not blocks:
            parts.append("_None._")
            size += 8
        for category, block in blocks:
            if not full and size + len(block) + 1 + note_budget > limit:
                full = True
            if full:
                per = left_out.setdefault(title or "", {})
                per[category] = per.get(category, 0) + 1
                continue
            parts.append(block)
            size += len(block) + 1
    if left_out:
        total = sum(sum(per.values()) for per in left_out.values())
        detail = "; ".join(
            (f"{title.splitlines()[0].strip('#').strip()}: " if title else "")
            + ", ".join(f"{cat} {n:,}" for cat, n in per.items())
            for title, per in left_out.items()
        )
        note = (
            f"\n\n_Left out to stay under {limit:,} characters: {plural(total, unit)} ({detail}). "
            f"{pointer}_\n"
        )
    else:
        note = f"\n\n{pointer}\n"
    text = "\n".join(parts)
    if len(text) + len(note) > limit:  # a head larger than the budget: cut it, keep the note
        text = text[: max(0, limit - len(note) - 20)] + "\n\n(cut)"
    return text + note


def _counts_phrase(plan: Plan) -> str:
    if plan.empty:
        return "no changes"
    c = plan.counts()
    parts = [f"{c[a]:,} to {a}" for a in ("create", "update", "delete") if c[a]]
    if c["job"]:
        parts.append(f"{c['job']:,} job(s)")
    if c["invoke"]:
        parts.append(f"{c['invoke']:,} invocation(s)")
    return ", ".join(parts) + f"; {plural(plan.changed_objects(), 'object')} change"


INTRODUCED_TITLE = "Changes this pull request introduces"
PREEXISTING_TITLE = "Drift that was already there"
PREEXISTING_NOTE = (
    "Live state already differed from the base branch's manifests here (a change made outside git, "
    "e.g. in Control Hub). Applying this pull request also sets it back to the manifests."
)


def render_review_text(review: PlanReview, color: bool = False) -> str:
    """The plan in two sections: what the pull request introduces, and drift that was already there."""
    out: list[str] = []
    for w in [*review.plan.warnings, *review.warnings]:
        out.append(_paint(f"Warning: {w}", "33", color))
    if out:
        out.append("")
    for title, part, note in (
        (INTRODUCED_TITLE, review.introduced, ""),
        (PREEXISTING_TITLE, review.preexisting, PREEXISTING_NOTE),
    ):
        out.append(_paint(f"== {title} ==", "1", color))
        if note and not part.empty:
            out.append(note)
        out.append("")
        if part.empty:
            out += ["None.", ""]
        else:
            out.append(render_text(part, color=color))
    out.append(summary_line(review.plan))
    return "\n".join(out) + "\n"


def render_review_json(review: PlanReview) -> str:
    return json.dumps(review.to_json(), indent=2, ensure_ascii=False) + "\n"


def render_review_markdown(
    review: PlanReview, artifact: str | None = None, limit: int = MARKDOWN_LIMIT
) -> str:
    """A PR comment: summary first (introduced vs already there), details collapsed, bounded."""
    plan = review.plan
    head = [
        "### reconciler plan",
        "",
        f"**This pull request introduces:** {_counts_phrase(review.introduced)}.",
        "",
        f"**Drift that was already there** (not from this pull request): "
        f"{_counts_phrase(review.preexisting)}.",
        "",
        f"Applying the merged manifests: {summary_line(plan)}",
        "",
    ]
    if not plan.empty:
        head += [
            "| | create | update | delete | job | invoke | objects |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        rows = (("introduced by this PR", review.introduced), ("already there", review.preexisting))
        for label, part in rows:
            c = part.counts()
            cells = " | ".join(str(c[a]) for a in ACTIONS)
            head.append(f"| {label} | {cells} | {part.changed_objects()} |")
        head.append("")
    head += markdown_warnings([*plan.warnings, *review.warnings])
    if plan.empty:
        return "\n".join(head)
    pointer = (
        f"Full plan: the artifact `{artifact}`."
        if artifact
        else "Full plan: run `reconciler plan --format json`."
    )
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for title, part in ((INTRODUCED_TITLE, review.introduced), (PREEXISTING_TITLE, review.preexisting)):
        blocks = [(f"{s.phase}. {PHASES[s.phase]}", markdown_step_block(s)) for s in part.ordered()]
        heading = f"#### {title}"
        if title == PREEXISTING_TITLE and blocks:
            heading += f"\n\n_{PREEXISTING_NOTE}_"
        sections.append((heading, blocks))
    return fit_markdown(head, sections, limit=limit, pointer=pointer)


def render_review(review: PlanReview, fmt: str, color: bool = False, artifact: str | None = None) -> str:
    if fmt == "json":
        return render_review_json(review)
    if fmt == "markdown":
        return render_review_markdown(review, artifact=artifact)
    return render_review_text(review, color=color)
