"""JSON for machines (versioned, stable): plans, PR reviews (the plan plus a ``baseline`` section),
drift reports and apply results (schemas/apply.schema.json).

Named ``jsonfmt`` so that it does not shadow the standard library's ``json``. Depends on the data it
renders (``planning``'s plans, reviews and drift, ``applying.results``); none of them imports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.planning.diff import to_jsonable
from reconciler.planning.plan import Plan
from reconciler.render.failures import error_document
from reconciler.textsafe import json_visible
from reconciler.validation.validate import FORMAT_VERSION as VALIDATION_FORMAT_VERSION
from reconciler.webex.redact import redact

if TYPE_CHECKING:
    from reconciler.applying.results import ApplyOutcome
    from reconciler.planning.drift import DriftItem, DriftReport
    from reconciler.planning.review import PlanReview
    from reconciler.validation.validate import ValidationResult

DRIFT_FORMAT_VERSION = 1
APPLY_FORMAT_VERSION = 1
STATUSES = ("applied", "failed", "skipped")


def dump(doc: dict[str, Any]) -> str:
    return json_visible(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def render_json(plan: Plan) -> str:
    return dump(plan.to_json())


# -- a pull request's plan against its base branch's ---------------------------------------------


def review_document(review: PlanReview) -> dict[str, Any]:
    """The plan document (format_version 1, unchanged) plus a ``baseline`` section."""
    doc = review.plan.to_json()
    doc["baseline"] = {
        "paths": list(review.baseline_paths),
        "warnings": list(review.warnings),
        "introduced": _part_document(review.introduced),
        "preexisting": _part_document(review.preexisting),
    }
    return doc


def _part_document(part: Plan) -> dict[str, Any]:
    return {
        "summary": {**part.counts(), "changed_objects": part.changed_objects(), "steps": len(part.steps)},
        "steps": [
            {
                "id": s.id,
                "address": s.address,
                "resource": s.resource,
                "action": s.action,
                "phase": s.phase,
                "changes": [c.to_json() for c in s.changes],
            }
            for s in part.ordered()
        ],
    }


def render_review_json(review: PlanReview) -> str:
    return dump(review_document(review))


# -- drift -----------------------------------------------------------------------------------------


def drift_document(report: DriftReport) -> dict[str, Any]:
    """The drift report (format_version 1): summary, warnings, then resources -> groups -> items."""
    by_kind: dict[str, int] = {}
    sources = report.sources_by_resource()
    for r in report.by_resource():
        kind = r.partition("/")[0]
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "format_version": DRIFT_FORMAT_VERSION,
        "kind": "drift",
        "tool": {"name": "reconciler", "version": __version__},
        "paths": list(report.paths),
        "drift": report.has_drift,
        "summary": {
            "differences": len(report.items),
            "resources": len(report.by_resource()),
            **report.counts(),
            "resources_by_kind": by_kind,
        },
        "warnings": list(report.warnings),
        "resources": [
            {
                "resource": resource,
                "files": sources.get(resource, []),
                "groups": [
                    {
                        "group": label,
                        "kind": items[0].kind,
                        "what": items[0].what,
                        "items": [drift_item_document(i) for i in items],
                    }
                    for label, items in groups.items()
                ],
            }
            for resource, groups in report.by_resource().items()
        ],
    }


def drift_item_document(item: DriftItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "address": item.address,
        "kind": item.kind,
        "what": item.what,
        "path": item.path,
        "live": "(sensitive)" if item.sensitive else to_jsonable(item.live),
        "declared": "(sensitive)" if item.sensitive else to_jsonable(item.declared),
        "source": item.source,
    }
    if item.label:
        out["label"] = item.label
    if item.sensitive:
        out["sensitive"] = True
    return out


def render_drift_json(report: DriftReport) -> str:
    return dump(drift_document(report))


# -- what an apply did ----------------------------------------------------------------------------


def apply_document(outcome: ApplyOutcome) -> dict[str, Any]:
    """What apply did, step by step, and whether live state converged.

    ``converged`` is true when the verification plan is empty (or nothing needed doing), false
    when it still differs, null when apply executed steps but could not verify (no paths)."""
    plan, report, remaining = outcome.plan, outcome.report, outcome.remaining
    steps_by_id = {s.id: s for s in plan.steps}
    steps = []
    for r in report.results.values():
        step = steps_by_id.get(r.step)
        counts: dict[str, Any] = {k: r.output[k] for k in ("updatedCount", "advisoryCount") if k in r.output}
        steps.append(
            {
                "id": r.step,
                "address": step.address if step else r.step,
                "action": step.action if step else None,
                "status": r.status,
                "message": r.message,
                "trackingId": r.tracking_id,
                "jobId": r.job_id,
                "jobErrors": list(r.job_errors),
                **counts,
            }
        )
    if remaining is not None:
        converged: bool | None = remaining.empty
    elif not report.results:
        converged = plan.empty
    else:
        converged = None
    return {
        "format_version": APPLY_FORMAT_VERSION,
        "kind": "apply",
        "tool": {"name": "reconciler", "version": __version__},
        "ok": outcome.succeeded,
        "plan": {"checksum": plan.checksum, "paths": list(plan.paths), "steps": len(plan.steps)},
        "summary": {status: len(report.by_status(status)) for status in STATUSES},
        "interrupted": report.interrupted,
        "steps": steps,
        "converged": converged,
        "remaining": [
            {"address": s.address, "action": s.action} for s in (remaining.ordered() if remaining else [])
        ],
    }


def render_apply_json(outcome: ApplyOutcome) -> str:
    return dump(apply_document(outcome))


# -- validation, explanations, errors ------------------------------------------------------------


def render_validation_json(result: ValidationResult) -> str:
    """A versioned document with every diagnostic (non-ASCII text escaped, as it always was)."""
    doc = {
        "format_version": VALIDATION_FORMAT_VERSION,
        "valid": result.ok,
        "files": result.files,
        "manifests": len(result.resources),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "diagnostics": [d.to_json() for d in result.diagnostics],
    }
    return json.dumps(doc, indent=2) + "\n"


def render_error_json(exc: BaseException, base_url: str | None) -> str:
    """The error document (schemas/error.schema.json), masked as the text output is: an API error
    may echo a secret value back."""
    document = json.dumps(error_document(exc, base_url), indent=2, ensure_ascii=False)
    return json_visible(redact(document)) + "\n"


@dataclass(frozen=True)
class JsonRenderer:
    """The JSON format: one versioned document per command, for machines (never a prompt)."""

    @property
    def prompts(self) -> bool:
        return False

    def plan(self, plan: Plan, *, artifact: str | None = None) -> str:
        return render_json(plan)

    def review(self, review: PlanReview, *, artifact: str | None = None) -> str:
        return render_review_json(review)

    def drift(self, report: DriftReport, *, artifact: str | None = None) -> str:
        return render_drift_json(report)

    def saved(self, path: str) -> str:
        return ""

    def error(self, exc: BaseException, base_url: str | None) -> str:
        return render_error_json(exc, base_url)

    def validation(self, result: ValidationResult) -> str:
        return render_validation_json(result)

    def explain(self, doc: dict[str, Any]) -> str:
        return dump(doc)

    def preview(self, plan: Plan) -> str:
        return ""  # the result document, at the end, holds everything

    def applied(self, outcome: ApplyOutcome) -> str:
        return render_apply_json(outcome)
