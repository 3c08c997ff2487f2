"""Text for a terminal (Terraform-like, optionally in color): plans, PR reviews, drift reports,
validation results, explanations and what an apply did. ``TextRenderer`` is the text format.

Depends on ``reconciler.render.common`` and the data it renders; nothing below imports it back.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.planning.plan import PHASES, Plan, Step, secret_lines, threshold_line
from reconciler.planning.titles import step_title
from reconciler.render.common import (
    COLOR,
    INTRODUCED_TITLE,
    PREEXISTING_NOTE,
    PREEXISTING_TITLE,
    SYMBOL,
    call_line,
    drift_summary_line,
    held_lines,
    item_where,
    legend_line,
    paint,
    shown,
    shown_values,
    step_change_lines,
    summary_line,
    text_width,
    unreached_lines,
)
from reconciler.render.explain import render_explain_text
from reconciler.render.failures import capped
from reconciler.render.fold import fit
from reconciler.textsafe import terminal_safe

if TYPE_CHECKING:
    from reconciler.applying.results import ApplyOutcome, ApplyReport
    from reconciler.planning.drift import DriftItem, DriftReport
    from reconciler.planning.review import PlanReview
    from reconciler.validation.validate import ValidationResult


def _step_header(step: Step) -> str:
    """``~ Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com): device settings``."""
    what = f": {step.summary}" if step.summary else ""
    return f"{SYMBOL[step.action]} {step_title(step)}{what}"


def render_text(plan: Plan, color: bool = False, verbose: bool = False) -> str:
    """The plan by phase, each step under its object's name; ``verbose`` adds each API call."""
    out: list[str] = []
    for w in plan.warnings:
        out.extend(fit(paint(f"Warning: {w}", "33", color)))
    if plan.warnings:
        out.append("")
    if plan.steps:
        out += [*fit(legend_line(plan)), ""]
    for phase in sorted({s.phase for s in plan.steps}):
        out.append(paint(f"# {phase}. {PHASES[phase]}", "1", color))
        for step in [s for s in plan.ordered() if s.phase == phase]:
            out.extend(fit("  " + paint(_step_header(step), COLOR[step.action], color)))
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
            out.extend(part for line in step_change_lines(step, verbose) for part in fit("      " + line))
            width = text_width()
            for line in unreached_lines(step):
                out.extend(textwrap.wrap(line, width, initial_indent=" " * 6, subsequent_indent=" " * 10))
        out.append("")
    out.extend(_secret_section(plan))
    out.extend(held_lines(plan))
    out.extend(fit(summary_line(plan)))
    if not plan.empty:
        out.extend(fit(threshold_line(plan)))
    return terminal_safe("\n".join(out) + "\n", keep_colour=color)  # no raw control from the API


def _secret_section(plan: Plan) -> list[str]:
    """Each declared write-only secret: written or not, and why (shown even with no changes)."""
    notes = secret_lines(plan)
    if not notes:
        return []
    lines = [line for n in notes for line in fit(f"  {n}")]
    return ["Write-only secrets (never read back; see --rotate-secrets):", *lines, ""]


def render_review_text(review: PlanReview, color: bool = False, verbose: bool = False) -> str:
    """The plan in two sections: what the pull request introduces, and drift that was already there."""
    out: list[str] = []
    for w in [*review.plan.warnings, *review.warnings]:
        out.extend(fit(paint(f"Warning: {w}", "33", color)))
    if out:
        out.append("")
    for title, part, note in (
        (INTRODUCED_TITLE, review.introduced, ""),
        (PREEXISTING_TITLE, review.preexisting, PREEXISTING_NOTE),
    ):
        out.append(paint(f"== {title} ==", "1", color))
        if note and not part.empty:
            out.extend(fit(note))
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
    out: list[str] = [line for w in report.warnings for line in fit(paint(f"Warning: {w}", "33", color))]
    if out:
        out.append("")
    sources = report.sources_by_resource()
    for resource, groups in report.by_resource().items():
        files = sources.get(resource, [])
        out.extend(
            fit(paint(report.title(resource), "1", color) + (f"  ({', '.join(files)})" if files else ""))
        )
        for label, items in groups.items():
            out.append(f"  {label} ({len(items)})")
            out.extend(part for i in items for part in fit(f"    {item_line(i)}"))
        out.append("")
    out.extend(fit(drift_summary_line(report)))
    if report.items:
        out.extend(
            fit(
                "Live values are what the org has now; repo values are what the manifests declare. "
                "`reconciler apply` sets the org back to the manifests; or change the manifests to keep it."
            )
        )
    return terminal_safe("\n".join(out) + "\n", keep_colour=color)  # no raw control from the API


def item_line(i: DriftItem) -> str:
    live, declared = shown_values(i)
    where = item_where(i)
    return f"{where}: live {live}; repo {declared}" if where else f"live {live}; repo {declared}"


# -- validation ----------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(result: ValidationResult) -> str:
    """The one-line summary, e.g. ``12 manifests in 9 files: valid``."""
    where = f"{_plural(len(result.resources), 'manifest')} in {_plural(result.files, 'file')}"
    warn = f", {_plural(len(result.warnings), 'warning')}" if result.warnings else ""
    if result.ok:
        return f"{where}: valid{warn}"
    return f"{where}: {_plural(len(result.errors), 'error')}{warn}"


def render_validation_text(result: ValidationResult) -> str:
    """One line per problem (``file:line:col: Kind/name: message``), then the summary."""
    lines = []
    for d in result.diagnostics:
        prefix = "" if d.severity == "error" else f"{d.severity}: "
        where = f"{d.location}: " if d.location else ""
        who = f"{d.resource}: " if d.resource else ""
        lines.append(f"{where}{who}{prefix}{d.message}")
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


# -- what an apply did -----------------------------------------------------------------------------


def report_text(report: ApplyReport, what: str) -> str:
    """``Apply: 3 applied, 1 failed, 0 skipped.`` and each failed or skipped step (masked, escaped)."""
    applied, failed, skipped = (report.by_status(s) for s in ("applied", "failed", "skipped"))
    out = [f"\n{what}: {len(applied)} applied, {len(failed)} failed, {len(skipped)} skipped."]
    lines = []
    for r in failed:
        lines.append(
            f"  failed  {r.step}: {r.message}"
            + (f" [trackingId {r.tracking_id}]" if r.tracking_id and r.tracking_id not in r.message else "")
        )
        lines.extend(f"          {line}" for line in capped(r.job_errors))
    lines.extend(f"  skipped {r.step}: {r.message}" for r in skipped)
    out += [shown(line) for line in capped(lines, more=" (apply --format json lists every one)")]
    return "\n".join(out) + "\n"


def applied_text(outcome: ApplyOutcome) -> str:
    """What an apply did, and whether live state converged (the rest of the plan when not)."""
    if outcome.plan.empty and not outcome.report.results:
        return "Nothing to apply.\n"
    out = report_text(outcome.report, "Apply")
    if outcome.remaining is not None:
        if outcome.remaining.empty:
            out += "Converged: live state matches the manifests.\n"
        else:
            out += "Not converged; still different:\n" + render_text(outcome.remaining)
    return out


@dataclass(frozen=True)
class TextRenderer:
    """The text format: for a person at a terminal (``color``: ANSI colors; ``verbose``: each
    step's API call too)."""

    color: bool = False
    verbose: bool = False

    @property
    def prompts(self) -> bool:
        return True

    def plan(self, plan: Plan, *, artifact: str | None = None) -> str:
        return render_text(plan, color=self.color, verbose=self.verbose)

    def review(self, review: PlanReview, *, artifact: str | None = None) -> str:
        return render_review_text(review, color=self.color, verbose=self.verbose)

    def drift(self, report: DriftReport, *, artifact: str | None = None) -> str:
        return render_drift_text(report, color=self.color)

    def saved(self, path: str) -> str:
        return f"Saved the plan to {path}. Apply exactly it with: reconciler apply --plan {path}\n"

    def error(self, exc: BaseException, base_url: str | None) -> str:
        return ""  # the error's lines go to stderr, in every format

    def validation(self, result: ValidationResult) -> str:
        return render_validation_text(result)

    def explain(self, doc: dict[str, Any]) -> str:
        return render_explain_text(doc, color=self.color)

    def preview(self, plan: Plan) -> str:
        return self.plan(plan)

    def applied(self, outcome: ApplyOutcome) -> str:
        return applied_text(outcome)
