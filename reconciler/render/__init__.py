"""Rendering, in one place: plans, PR reviews and drift reports as text, JSON and markdown.

One module per format (``text``, ``jsonfmt``, ``markdown``) plus what they share (``common``).
Dependencies point one way: ``reconciler.render`` reads the data of ``reconciler.planning.plan``,
``reconciler.planning.review`` and ``reconciler.planning.drift``; those never import ``reconciler.render``.
A new format is a new module here and a line in each ``render*`` below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.render.common import (
    change_lines,
    drift_summary_line,
    group_phrase,
    plural,
    summary_line,
)
from reconciler.render.jsonfmt import (
    drift_document,
    render_drift_json,
    render_json,
    render_review_json,
    review_document,
)
from reconciler.render.markdown import (
    MARKDOWN_LIMIT,
    fit_markdown,
    markdown_warnings,
    render_drift_markdown,
    render_markdown,
    render_review_markdown,
)
from reconciler.render.text import render_drift_text, render_review_text, render_text

if TYPE_CHECKING:
    from reconciler.planning.drift import DriftReport
    from reconciler.planning.plan import Plan
    from reconciler.planning.review import PlanReview

__all__ = [
    "MARKDOWN_LIMIT",
    "change_lines",
    "drift_document",
    "drift_summary_line",
    "fit_markdown",
    "group_phrase",
    "markdown_warnings",
    "plural",
    "render",
    "render_drift",
    "render_drift_json",
    "render_drift_markdown",
    "render_drift_text",
    "render_json",
    "render_markdown",
    "render_review",
    "render_review_json",
    "render_review_markdown",
    "render_review_text",
    "render_text",
    "review_document",
    "summary_line",
]


def render(
    plan: Plan, fmt: str, color: bool = False, artifact: str | None = None, verbose: bool = False
) -> str:
    """``verbose``: each step's API call too (JSON always has it)."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, artifact=artifact, verbose=verbose)
    return render_text(plan, color=color, verbose=verbose)


def render_review(
    review: PlanReview, fmt: str, color: bool = False, artifact: str | None = None, verbose: bool = False
) -> str:
    if fmt == "json":
        return render_review_json(review)
    if fmt == "markdown":
        return render_review_markdown(review, artifact=artifact, verbose=verbose)
    return render_review_text(review, color=color, verbose=verbose)


def render_drift(report: DriftReport, fmt: str, color: bool = False, artifact: str | None = None) -> str:
    if fmt == "json":
        return render_drift_json(report)
    if fmt == "markdown":
        return render_drift_markdown(report, artifact=artifact)
    return render_drift_text(report, color=color)
