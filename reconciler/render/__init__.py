"""Rendering, in one place: plans, PR reviews, drift reports and command results as text, JSON and
markdown, and the texts of notifications.

One module per format (``text``, ``jsonfmt``, ``markdown``) with its renderer class, plus what they
share (``common``, ``failures``); ``formats.renderer(fmt)`` picks one, once, at the command layer.
Dependencies point one way: ``reconciler.render`` reads the data of ``planning``, ``applying`` and
``validation``; none of those imports ``reconciler.render``.
"""

from __future__ import annotations

from reconciler.render.common import (
    change_lines,
    drift_summary_line,
    group_phrase,
    plural,
    summary_line,
)
from reconciler.render.formats import Renderer, ResultRenderer, renderer, result_renderer
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

__all__ = [
    "MARKDOWN_LIMIT",
    "Renderer",
    "ResultRenderer",
    "change_lines",
    "drift_document",
    "drift_summary_line",
    "fit_markdown",
    "group_phrase",
    "markdown_warnings",
    "plural",
    "render_drift_json",
    "render_drift_markdown",
    "render_drift_text",
    "render_json",
    "render_markdown",
    "render_review_json",
    "render_review_markdown",
    "render_review_text",
    "render_text",
    "renderer",
    "result_renderer",
    "review_document",
    "summary_line",
]
