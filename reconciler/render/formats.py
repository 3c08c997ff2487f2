"""The output formats, one renderer each, chosen once by the command layer: ``renderer(fmt)``.

Every format renders plans, pull-request reviews and drift reports (``Renderer``); text and JSON
also render what a command did (``ResultRenderer``: a validation, an explanation, an apply) and
the click options of those commands offer only them. A new format is a class in its own module
and a line in ``RENDERERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from reconciler.render.jsonfmt import JsonRenderer
from reconciler.render.markdown import MarkdownRenderer
from reconciler.render.text import TextRenderer

if TYPE_CHECKING:
    from reconciler.applying.results import ApplyOutcome
    from reconciler.planning.drift import DriftReport
    from reconciler.planning.plan import Plan
    from reconciler.planning.review import PlanReview
    from reconciler.validation.validate import ValidationResult


T = TypeVar("T")


class Renderer(Protocol):
    """What every format renders. ``artifact``: where the whole output is (a markdown comment,
    cut to fit, points there)."""

    @property
    def prompts(self) -> bool:
        """Whether a person reads this output (a command may ask before it writes)."""

    def plan(self, plan: Plan, *, artifact: str | None = None) -> str: ...

    def review(self, review: PlanReview, *, artifact: str | None = None) -> str: ...

    def drift(self, report: DriftReport, *, artifact: str | None = None) -> str: ...

    def saved(self, path: str) -> str:
        """What to say after saving a plan to ``path`` (nothing but in text)."""

    def error(self, exc: BaseException, base_url: str | None) -> str:
        """What a failed command prints on stdout (the error document in JSON; text goes to stderr)."""


class ResultRenderer(Renderer, Protocol):
    """What text and JSON also render: the result of ``validate``, ``explain`` and ``apply``."""

    def validation(self, result: ValidationResult) -> str: ...

    def explain(self, doc: dict[str, Any]) -> str: ...

    def preview(self, plan: Plan) -> str:
        """The plan ``apply`` shows before it asks (JSON shows everything at the end)."""

    def applied(self, outcome: ApplyOutcome) -> str: ...


RENDERERS: dict[str, Callable[[bool, bool], Renderer]] = {
    "text": lambda color, verbose: TextRenderer(color, verbose),
    "markdown": lambda color, verbose: MarkdownRenderer(verbose),
    "json": lambda color, verbose: JsonRenderer(),
}
RESULT_RENDERERS: dict[str, Callable[[bool, bool], ResultRenderer]] = {
    "text": lambda color, verbose: TextRenderer(color, verbose),
    "json": lambda color, verbose: JsonRenderer(),
}
FORMATS = tuple(RENDERERS)  # text (the default), markdown, json
RESULT_FORMATS = tuple(RESULT_RENDERERS)


def renderer(fmt: str, *, color: bool = False, verbose: bool = False) -> Renderer:
    """The renderer of ``fmt`` (one of ``FORMATS``); ``color`` and ``verbose`` where it has them."""
    return _pick(RENDERERS, fmt)(color, verbose)


def result_renderer(fmt: str, *, color: bool = False, verbose: bool = False) -> ResultRenderer:
    """The renderer of ``fmt`` for a command's result (one of ``RESULT_FORMATS``)."""
    return _pick(RESULT_RENDERERS, fmt)(color, verbose)


def _pick(table: dict[str, T], fmt: str) -> T:
    if fmt not in table:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(table)}")
    return table[fmt]
