"""``reconciler apply``: holding the org's apply lock, finish what an interrupted apply left, plan
(a saved plan is planned again and must come out the same), confirm, execute with a log, verify by
a second plan, and post the outcome when asked."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.applying.executor import Executor, first_of
from reconciler.applying.results import ApplyOutcome, ApplyReport
from reconciler.applying.resume import finish_jobs, journal_for, left_pending, owed_by, owed_by_saved
from reconciler.errors import ConfigError, Interrupted, PlanRefused, ReconcilerError
from reconciler.flows.connect import DEFAULT_LOG, Connection, connect, lock_target, run
from reconciler.flows.load import load, refuse_credential_values, require_env
from reconciler.flows.make import make_plan, remember_secrets
from reconciler.flows.notify import post_to_room, run_link
from reconciler.flows.saved import replan_saved
from reconciler.flows.stopping import Stop, first_interrupt_stops, interrupted
from reconciler.planning.kinds.device import SIP_PASSWORD_STEP
from reconciler.planning.plan import Plan, enforce_threshold, safety_of
from reconciler.progress import task
from reconciler.render.notify import apply_message, error_message
from reconciler.webex.limiter import DEFAULT_CONCURRENCY
from reconciler.workdir.applylog import ApplyLog
from reconciler.workdir.journal import Journal, PendingPush, clean_base_url

if TYPE_CHECKING:
    from reconciler.planning.listings import Listings
    from reconciler.webex.client import WebexClient


@dataclass
class ApplyRequest:
    """What ``apply`` was asked for: plan ``paths`` (or those of the apply log when resuming), or
    apply a ``saved`` plan; post the outcome to the Webex space ``room`` with the ``bot`` token."""

    paths: list[str] = field(default_factory=list)
    saved: Plan | None = None
    plan_file: str = "(saved plan)"  # where ``saved`` was read from (named in messages)
    targets: list[str] = field(default_factory=list)
    prune: bool | None = None
    log_path: str = DEFAULT_LOG
    resume: bool = False
    max_changes: int | None = None
    force: bool = False
    rotate_secrets: bool = False
    room: str | None = None
    bot: str | None = None
    lock_timeout: float = 0.0  # seconds to wait for another apply of the same org
    resume_command: str | None = None  # what finishes this apply once interrupted (shown then)


def apply_command(
    conn: Connection,
    req: ApplyRequest,
    *,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    show: Callable[[Plan], None],
) -> ApplyOutcome:
    """``apply``: holding the org's apply lock, finish what an interrupted apply left, plan (a
    saved plan is planned again and must come out the same), ``show`` the plan, apply it once
    confirmed, and post the outcome (or the error) to the room when asked. Progress and warnings
    go to ``say``."""
    from reconciler.workdir.lock import apply_lock

    try:
        with apply_lock(*lock_target(conn), req.lock_timeout):
            outcome = _apply_locked(conn, req, confirm, say, show)
    except ReconcilerError as exc:
        if req.room and req.bot and not isinstance(exc, Interrupted):
            message = error_message("apply", exc, run_link(os.environ))
            post_to_room(conn, req.room, req.bot, message, say)
        raise
    if req.room and req.bot and (outcome.report.results or not outcome.plan.empty):
        post_to_room(conn, req.room, req.bot, apply_message(outcome, run_link(os.environ)), say)
    return outcome


def _apply_locked(
    conn: Connection,
    req: ApplyRequest,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    show: Callable[[Plan], None],
) -> ApplyOutcome:
    """``apply_command`` once it holds the lock: the apply log is read only then (another apply
    may be writing it until the lock is ours)."""
    source, journal = _sources(req, say)
    require_env(source)
    if journal is not None:
        journal.check_steps(load(source))

    async def go() -> ApplyOutcome:
        from reconciler.applying.saved import check_target
        from reconciler.planning.listings import Listings

        async with connect(conn) as client:
            refuse_credential_values(source)  # the credentials are known now; nothing sent yet
            if journal is not None:
                journal.check_api(client.base_url)
            if req.saved is not None:  # checked before the first request
                check_target(req.saved, client.base_url, client.org_id, req.plan_file)
            settled = journal is not None and journal.unfinished
            await finish_jobs(client, journal, req.log_path, say)
            await wait_for_jobs(client, say)
            listings = Listings(client)  # the plan's lookups, reused by the verification
            plan = await _plan_to_apply(client, req, source, journal, listings)
            show(plan)
            note = left_pending(journal, plan)
            if note:
                say(f"Note: {note}")
            return await apply_flow(
                client,
                plan,
                confirm=confirm,
                say=say,
                log_path=req.log_path,
                max_changes=req.max_changes,
                force=req.force,
                concurrency=conn.concurrency,
                carried=list(journal.pending.values()) if journal is not None else [],
                listings=listings,
                resume=req.resume_command,
                settled=settled,
            )

    return run(go())


def _sources(req: ApplyRequest, say: Callable[[str], None]) -> tuple[list[str], Journal | None]:
    """Where the manifests are (the PATHs, a saved plan's or a resumed apply log's paths, only
    inside the repository, shown before they are read) and the apply log's journal."""
    from reconciler.applying.saved import contained_paths

    journal = journal_for(req.log_path, None, say)
    source = req.paths
    if req.saved is not None:
        source = contained_paths(req.saved.paths, f"saved plan {req.plan_file}", say)
        if not source:
            raise ConfigError(f"saved plan {req.plan_file} names no manifest paths; plan again")
    elif not source and req.resume and journal is not None:
        source = contained_paths(journal.paths, f"apply log {req.log_path}", say)
    if not source:
        raise ConfigError(f"{req.log_path} names no manifest paths; give the PATHs too")
    return source, journal


async def _plan_to_apply(
    client: WebexClient, req: ApplyRequest, source: list[str], journal: Journal | None, listings: Listings
) -> Plan:
    """The plan this apply runs: the saved plan planned again (it must come out the same), or a
    fresh plan of ``source`` with the pending pushes and unwritten secrets of the apply log."""
    if req.saved is not None:
        owed = owed_by_saved(req.saved, req.plan_file, journal)
        return await replan_saved(client, req.saved, source, req.plan_file, listings, owed)
    # a sipPassword the last apply planned but did not write is planned again
    left = set(journal.unwritten_secrets) if journal is not None else set()
    return await make_plan(
        client,
        source,
        req.targets,
        req.prune,
        rotate_secrets=req.rotate_secrets,
        rewrite_secrets=left,
        listings=listings,
        log_path=req.log_path,
        owed=owed_by(journal),
    )


async def apply_flow(
    client: WebexClient,
    plan: Plan,
    *,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    log_path: str = DEFAULT_LOG,
    max_changes: int | None = None,
    force: bool = False,
    verify: bool = True,
    environ: Mapping[str, str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    carried: list[PendingPush] | None = None,
    listings: Listings | None = None,
    resume: str | None = None,
    settled: bool = False,
) -> ApplyOutcome:
    """Threshold, confirmation, execution with a log, and verification by a second plan of what
    the first one wrote (``reconciler.applying.verify``). ``listings``: the lookups ``plan`` was made with;
    the verification reuses those that no step of the plan can have changed. ``carried``: the
    pending pushes of the earlier apply log, kept pending in the new one until pushed (``settled``:
    the earlier log's jobs were waited for, so even an empty plan writes a new log). Only the
    steps of ``plan`` run: nothing is added to it here. A Ctrl-C while it writes stops it cleanly
    (``flows.stopping``): ``Interrupted`` names the log and ``resume``, the command that finishes."""
    from reconciler.planning.kinds.context import Policy

    resources = load(plan.paths) if plan.paths else []
    policy = Policy.from_resources(resources)
    if not plan.safety:  # a plan saved by an older version: the policy's limits
        plan.safety = safety_of(policy.max_changes, policy.max_changes_percent)
    enforce_threshold(plan, max_changes, None, force)
    if plan.empty:
        if settled:  # the earlier log's jobs ended since: its pending pushes are out of date
            _open_log(client, plan, log_path, carried).close(finished=True)
        return ApplyOutcome(plan, ApplyReport(), None)
    if not confirm(plan):
        raise PlanRefused("apply cancelled: the plan was not approved")
    log = _open_log(client, plan, log_path, carried)
    executor = Executor(client, log, say, environ=environ, concurrency=concurrency)
    with first_interrupt_stops(say) as stop:
        report = await _execute(client, plan, executor, log, log_path, stop, resume)
        remaining = None
        if verify and plan.paths:
            remaining = await _verified(client, plan, report, listings, stop)
    return ApplyOutcome(plan, report, remaining)


async def _execute(
    client: WebexClient,
    plan: Plan,
    executor: Executor,
    log: ApplyLog,
    log_path: str,
    stop: Stop,
    resume: str | None,
) -> ApplyReport:
    """Run the plan, its log closed as finished only when every step ran; ``Interrupted`` when a
    Ctrl-C stopped it (after the requests in flight, or at once for a second one)."""
    executor.stop = stop.event
    finished = False
    try:
        report = await executor.run(plan)
        finished = not stop.requested or len(executor.results) == len(plan.steps)
    except asyncio.CancelledError:
        if not stop.requested:
            raise
        raise interrupted(log_path, resume, len(executor.results), len(plan.steps), at_once=True) from None
    finally:
        log.close(finished=finished)
        remember_secrets(client, plan, ApplyReport(executor.results), log_path)
    if not finished:
        raise interrupted(log_path, resume, len(executor.results), len(plan.steps), at_once=False)
    return report


async def _verified(
    client: WebexClient, plan: Plan, report: ApplyReport, listings: Listings | None, stop: Stop
) -> Plan | None:
    """The plan of what is left after the apply (empty: converged); a Ctrl-C ends the check."""
    from reconciler.applying.listed import wait_until_listed
    from reconciler.applying.verify import verify_apply

    async def check() -> Plan:
        await wait_until_listed(client, [s for s in plan.steps if report_applied(report, s.id)])
        kept = listings.after(plan.steps) if listings is not None else None
        return await verify_apply(client, plan, load(plan.paths), kept)

    with task("verifying that live state converged"):
        ended, remaining = await first_of(check(), stop.event)
    if not ended:
        raise Interrupted(
            "every step was done; the check that live state converged was interrupted",
            hint=f"run `reconciler plan {shlex.join(plan.paths)}` to check it",
        )
    return remaining if isinstance(remaining, Plan) else None


def _open_log(client: WebexClient, plan: Plan, log_path: str, carried: list[PendingPush] | None) -> ApplyLog:
    """The apply log of this run, begun with what it runs against and what it carries over."""
    log = ApplyLog(Path(log_path))
    secrets = [
        {"step": s.id, "resource": s.resource} for s in plan.steps if s.address.endswith(SIP_PASSWORD_STEP)
    ]
    log.open(
        {
            "base_url": clean_base_url(client.base_url),
            "org_id": client.org_id or plan.org_seen,
            "plan": plan.checksum,
            "paths": plan.paths,
            "steps": len(plan.steps),
            "secret_writes": secrets,
        },
        carried=[p.to_json() for p in carried or []],
    )
    return log


def report_applied(report: ApplyReport, step_id: str) -> bool:
    result = report.results.get(step_id)
    return result is not None and result.status == "applied"


async def wait_for_jobs(client: WebexClient, say: Callable[[str], None]) -> None:
    """A plan made while a bulk job runs is stale at once: let running jobs finish first."""
    from reconciler.webex import jobs

    for job_type in jobs.JOB_PATHS:
        listed = await jobs.list_jobs(client, job_type)
        if any(j.get("latestExecutionStatus") in ("STARTING", "STARTED") for j in listed):
            say(f"A {job_type} job is running in the org; waiting for it before planning.")
            await jobs.wait_for_running_jobs(client, job_type)
