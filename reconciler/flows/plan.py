"""``reconciler plan``: the plan of some manifests against live state (with the pending pushes of
the apply log), or, with a baseline, the pull request's review."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.applying.resume import journal_to_read, owed_by
from reconciler.errors import ConfigError
from reconciler.flows.connect import DEFAULT_LOG, Connection, connect, run
from reconciler.flows.make import make_plan
from reconciler.planning.plan import Plan

if TYPE_CHECKING:
    from reconciler.planning.review import PlanReview


@dataclass
class PlanRequest:
    """What ``plan`` was asked for; ``baseline``: the base branch's checkout (a PR review)."""

    paths: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    prune: bool | None = None
    rotate_secrets: bool = False
    baseline: str | None = None
    # with a baseline: only what the paths change (``reconciler.planning.changed``)
    changed_only: bool = False
    log_path: str = DEFAULT_LOG  # the apply log whose pending pushes are plan steps


def plan_command(conn: Connection, req: PlanRequest) -> Plan | PlanReview:
    """``plan``: the plan of ``req.paths`` against live state, or (with a baseline) the review
    that splits it into what the paths introduce and drift that was already there."""

    if req.changed_only and not req.baseline:
        raise ConfigError("--changed-only needs --baseline DIR (what the changes are relative to)")

    async def go() -> Plan | PlanReview:
        async with connect(conn) as client:
            if req.baseline:
                from reconciler.flows.review import plan_with_baseline

                return await plan_with_baseline(
                    client,
                    req.paths,
                    req.baseline,
                    req.targets,
                    req.prune,
                    req.rotate_secrets,
                    req.changed_only,
                )
            noted: list[str] = []
            journal = journal_to_read(req.log_path, client.base_url, noted.append)
            plan = await make_plan(
                client,
                req.paths,
                req.targets,
                req.prune,
                req.rotate_secrets,
                owed=owed_by(journal, read_only=True),
                load_once=True,
            )
            plan.warnings[:0] = noted
            return plan

    return run(go())
