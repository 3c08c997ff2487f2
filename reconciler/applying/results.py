"""The machine-readable result of ``apply --format json`` (schemas/apply.schema.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler import __version__

if TYPE_CHECKING:
    from reconciler.flows.apply import ApplyOutcome

APPLY_FORMAT_VERSION = 1
STATUSES = ("applied", "failed", "skipped")


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
