"""Text for a terminal (Terraform-like, optionally in color): plans, PR reviews and drift reports.

Depends on ``reconciler.render.common`` and the data it renders; nothing below imports it back.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from reconciler.planning.plan import PHASES, Plan, Step, secret_lines, threshold_line
from reconciler.planning.titles import step_title
from reconciler.render.common import (
    COLOR,
    INTRODUCED_TITLE,
    PREEXISTING_NOTE,
    PREEXISTING_TITLE,
    SYMBOL,
    WIDTH,
    call_line,
    drift_summary_line,
    held_lines,
    item_where,
    paint,
    shown_values,
    step_change_lines,
    summary_line,
    unreached_lines,
)
from reconciler.textsafe import terminal_safe

if TYPE_CHECKING:
    from reconciler.planning.drift import DriftItem, DriftReport
    from reconciler.planning.review import PlanReview


def _step_header(step: Step) -> str:
    """``~ Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com): device settings``."""
    what = f": {step.summary}" if step.summary else ""
    return f"{SYMBOL[step.action]} {step_title(step)}{what}"


def render_text(plan: Plan, color: bool = False, verbose: bool = False) -> str:
    """The plan by phase, each step under its object's name; ``verbose`` adds each API call."""
    out: list[str] = []
    for w in plan.warnings:
        out.append(paint(f"Warning: {w}", "33", color))
    if plan.warnings:
        out.append("")
    for phase in sorted({s.phase for s in plan.steps}):
        out.append(paint(f"# {phase}. {PHASES[phase]}", "1", color))
        for step in [s for s in plan.ordered() if s.phase == phase]:
            out.append("  " + paint(_step_header(step), COLOR[step.action], color))
            if step.source:
                out.append(f"      # {step.source}")
            if verbose:
                out.append(f"      {call_line(step)}")
            if step.job_type == "applyLineKeyTemplate":
                count = step.meta.get("deviceCount")
                shown = count if count is not None else "(known after apply)"
                out.append(
                    f"      preview: {shown} device(s) match; "
                    f"{len(step.meta.get('differingDevices', []))} differ from the template"
                )
            out.extend("      " + line for line in step_change_lines(step))
            for line in unreached_lines(step):
                out.extend(textwrap.wrap(line, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 10))
        out.append("")
    out.extend(_secret_section(plan))
    out.extend(held_lines(plan))
    out.append(summary_line(plan))
    if not plan.empty:
        out.extend(textwrap.wrap(threshold_line(plan), WIDTH, break_long_words=False))
    return terminal_safe("\n".join(out) + "\n", keep_colour=color)  # no raw control from the API


def _secret_section(plan: Plan) -> list[str]:
    """Each declared write-only secret: written or not, and why (shown even with no changes)."""
    notes = secret_lines(plan)
    if not notes:
        return []
    return ["Write-only secrets (never read back; see --rotate-secrets):", *(f"  {n}" for n in notes), ""]


def render_review_text(review: PlanReview, color: bool = False, verbose: bool = False) -> str:
    """The plan in two sections: what the pull request introduces, and drift that was already there."""
    out: list[str] = []
    for w in [*review.plan.warnings, *review.warnings]:
        out.append(paint(f"Warning: {w}", "33", color))
    if out:
        out.append("")
    for title, part, note in (
        (INTRODUCED_TITLE, review.introduced, ""),
        (PREEXISTING_TITLE, review.preexisting, PREEXISTING_NOTE),
    ):
        out.append(paint(f"== {title} ==", "1", color))
        if note and not part.empty:
            out.append(note)
        out.append("")
        if part.empty:
            out += ["None.", ""]
        else:
            out.append(render_text(part, color=color, verbose=verbose))
    out.extend(_secret_section(review.plan))
    out.append(summary_line(review.plan))
    return terminal_safe("\n".join(out) + "\n", keep_colour=color)  # no raw control from the API


def render_drift_text(report: DriftReport, color: bool = False) -> str:
    """Each resource with its differences by group, live value next to the declared one."""
    out: list[str] = [paint(f"Warning: {w}", "33", color) for w in report.warnings]
    if out:
        out.append("")
    sources = report.sources_by_resource()
    for resource, groups in report.by_resource().items():
        files = sources.get(resource, [])
        out.append(paint(resource, "1", color) + (f"  ({', '.join(files)})" if files else ""))
        for label, items in groups.items():
            out.append(f"  {label} ({len(items)})")
            out.extend(f"    {item_line(i)}" for i in items)
        out.append("")
    out.append(drift_summary_line(report))
    if report.items:
        out.append(
            "Live values are what the org has now; repo values are what the manifests declare. "
            "`reconciler apply` sets the org back to the manifests; or change the manifests to keep it."
        )
    return terminal_safe("\n".join(out) + "\n", keep_colour=color)  # no raw control from the API


def item_line(i: DriftItem) -> str:
    live, declared = shown_values(i)
    where = item_where(i)
    return f"{where}: live {live}; repo {declared}" if where else f"live {live}; repo {declared}"
