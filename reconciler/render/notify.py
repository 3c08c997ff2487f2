"""Notification texts: a drift or apply summary, or an error, as the markdown of one Webex message.

The Messages API takes at most 7,439 bytes of markdown, so every message is cut to fit, saying how
much was left out and where the rest is (the CI run, when known).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.render.common import drift_summary_line, group_phrase, plural, summary_line
from reconciler.render.markdown import md_span, md_text
from reconciler.webex.redact import redact

if TYPE_CHECKING:
    from reconciler.applying.results import ApplyOutcome
    from reconciler.errors import ReconcilerError
    from reconciler.planning.drift import DriftReport

MESSAGE_LIMIT = 7439  # bytes of markdown the Messages API accepts


def fit_message(head: list[str], items: list[str], more: str, limit: int = MESSAGE_LIMIT) -> str:
    """``head`` lines, then as many ``items`` as fit in ``limit`` UTF-8 bytes, then ``more``.

    ``more`` may hold ``{n}``: the number of items left out (it is only added when some were).
    """

    def size(lines: list[str]) -> int:
        return len("\n".join(lines).encode("utf-8"))

    reserve = len(more.encode("utf-8")) + 40
    lines = list(head)
    if size(lines) + reserve > limit:  # an oversize head: cut it to what fits
        text = "\n".join(lines).encode("utf-8")[: max(0, limit - reserve)].decode("utf-8", "ignore")
        lines = [text]
    shown = 0
    for item in items:
        if size([*lines, item]) + reserve > limit:
            break
        lines.append(item)
        shown += 1
    if shown < len(items):
        lines.append(more.format(n=len(items) - shown))
    return "\n".join(lines)


def drift_message(report: DriftReport, paths: list[str], link: str | None = None) -> str:
    """``**reconciler drift**``, the counts, then one line per resource with what differs."""
    where = ", ".join(md_span(p) for p in paths)
    head = [f"**reconciler drift** in {where}: {drift_summary_line(report)}"]
    if link:
        head.append(f"Full report: {link}")
    items = []
    for resource, groups in report.by_resource().items():
        first = next(iter(groups.values()))[0]
        detail = ", ".join(group_phrase(k, v) for k, v in groups.items())
        example = f" (e.g. {md_span(first.path)})" if first.path else ""
        items.append(f"- {md_span(resource)}: {detail}{example}")
    return fit_message(head, items, "- ... and {n} more resource(s); see the full report.")


def apply_message(outcome: ApplyOutcome, link: str | None = None) -> str:
    """The apply summary: what was applied, failed, skipped; whether live state converged."""
    report = outcome.report
    applied, failed, skipped = (report.by_status(s) for s in ("applied", "failed", "skipped"))
    where = ", ".join(md_span(p) for p in outcome.plan.paths) or "a saved plan"
    verdict = ""
    if outcome.remaining is not None:
        verdict = (
            " Converged: live state matches the manifests."
            if outcome.remaining.empty
            else f" Not converged: {summary_line(outcome.remaining)}"
        )
    status = "failed" if failed or skipped else "done"
    head = [
        f"**reconciler apply** {status} for {where}: {plural(len(applied), 'step')} applied, "
        f"{len(failed)} failed, {len(skipped)} skipped.{verdict}",
        summary_line(outcome.plan),
    ]
    if link:
        head.append(f"Run: {link}")
    items = [f"- failed {md_span(r.step)}: {md_text(redact(r.message)[:300])}" for r in failed]
    items += [f"- skipped {md_span(r.step)}: {md_text(redact(r.message)[:300])}" for r in skipped]
    return fit_message(head, items, "- ... and {n} more; see the run's output and apply log.")


def error_message(command: str, error: ReconcilerError, link: str | None = None) -> str:
    head = [f"**reconciler {command}** did not run to the end: {md_text(str(error))}"]
    if link:
        head.append(f"Run: {link}")
    return fit_message(head, [], "")
