"""What a run takes from an earlier apply's log: jobs to wait for, pushes still owed.

``reconciler.workdir.journal`` reads the facts; this module turns them into what the flows use: the jobs an
interrupted apply started are waited for (reads only, never a new start), and its pending pushes
become the ``Owed`` that a fresh plan checks and plans itself (``reconciler.planning.pushes``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.model import mac_with_colons
from reconciler.planning.plan import Plan, Step
from reconciler.planning.pushes import Owed
from reconciler.workdir.journal import Journal, PendingPush, clean_base_url, read_journal

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

Say = Callable[[str], None]


def journal_for(log_path: str, base_url: str | None, warn: Say | None) -> Journal | None:
    """The journal at ``log_path``, refused when git tracks it or it was written against another API
    than ``base_url`` (None: checked later, once connected)."""
    journal = read_journal(log_path, warn)
    if journal is not None and base_url is not None:
        journal.check_api(base_url)
    return journal


def journal_to_read(log_path: str, base_url: str, warn: Say) -> Journal | None:
    """``journal_for`` for a command that only reads (plan, drift): a log written against another
    API than ``base_url`` is left out with one warning instead of refused (only apply and push,
    which act on what it owes, refuse it)."""
    journal = read_journal(log_path, warn)
    if journal is None or journal.base_url == clean_base_url(base_url):
        return journal
    warn(
        f"apply log {log_path} belongs to another API ({journal.base_url}, not "
        f"{clean_base_url(base_url)}): its pending pushes are not considered"
    )
    return None


def owed_by(journal: Journal | None, read_only: bool = False) -> Owed | None:
    """The pending pushes of ``journal``, for a fresh plan to check and plan (``read_only``: for
    plan and drift, which leave a log of another org out with a warning; apply refuses it)."""
    if journal is None:
        return None
    items = sorted(journal.pending.values(), key=lambda p: p.mac)
    return Owed(items, f"apply log {journal.path}", journal, read_only=read_only)


def owed_by_saved(saved: Plan, source: str, journal: Journal | None) -> Owed:
    """The pending pushes a saved plan shows (and no other): ``apply --plan`` runs those at most, and
    of those only the ones ``journal`` (the apply log now) still owes: a device pushed since the
    plan was saved (``reconciler push``, another apply) is not pushed again; the plan made now lacks
    its push, and the saved plan is refused as out of date."""
    items: dict[str, PendingPush] = {}
    for step in saved.steps:
        for entry in step.meta.get("pending") or []:
            item = _pending_of(entry)
            if item is not None and (journal is None or item.mac in journal.pending):
                items[item.mac] = item
    return Owed(sorted(items.values(), key=lambda p: p.mac), f"saved plan {source}", journal)


def _pending_of(entry: Any) -> PendingPush | None:
    from reconciler.model import normalize_mac
    from reconciler.textsafe import clip, visible

    if not isinstance(entry, dict):
        return None
    mac = normalize_mac(str(entry.get("device") or ""))
    since = entry.get("since")
    if mac is None or not isinstance(since, int | float) or isinstance(since, bool):
        return None
    reason = clip(visible(str(entry.get("reason") or "")), 120)
    return PendingPush(mac, float(since), entry.get("interrupted") is not False, reason, 0)


def left_pending(journal: Journal | None, plan: Plan) -> str | None:
    """What to say about the pending pushes of ``journal`` that ``plan`` neither pushes nor holds
    (outside ``--target``, or not in a reviewed plan): they stay pending in the new apply log."""
    if journal is None or not journal.pending:
        return None
    planned = {mac for s in plan.steps for mac in s.meta.get("pushes") or []}
    planned.update(str(h.get("device", "")).partition("/")[2] for h in plan.held)
    left = sorted(set(journal.pending) - planned)
    if not left:
        return None
    shown = ", ".join(mac_with_colons(m) for m in left[:5]) + (
        f" and {len(left) - 5} more" if len(left) > 5 else ""
    )
    return (
        f"{len(left)} device(s) written by an earlier apply and not pushed are not in this plan and stay "
        f"pending in the apply log: {shown} (reconciler push sends them)"
    )


async def finish_jobs(client: WebexClient, journal: Journal | None, log_path: str, say: Say) -> None:
    """Wait for the jobs an interrupted apply started (found through the job ids it logged before
    each POST when the answer never arrived). Reads only: a job is never started from a log."""
    from reconciler.applying.executor import Executor
    from reconciler.applying.results import StepResult
    from reconciler.webex import jobs
    from reconciler.workdir.applylog import ApplyLog

    if journal is None or not journal.unfinished:
        return
    say(f"An earlier apply did not finish its jobs ({log_path}); waiting for them first.")
    executor = Executor(client, ApplyLog(Path(log_path + ".resume")), say)
    listed: dict[str, list[dict[str, Any]]] = {}  # one listing per job type serves every record
    running = {step: (job_type, job_id) for step, (job_type, job_id, _) in journal.running_jobs.items()}
    for step_id, (job_type, known, body, _) in sorted(journal.posting.items()):
        if job_type not in listed:
            listed[job_type] = await jobs.list_jobs(client, job_type)
        found = jobs.new_job_for(listed[job_type], known, body)
        if len(found) == 1:
            say(f"  {step_id}: its {job_type} job {found[0]['id']} did start")
            running[step_id] = (job_type, str(found[0]["id"]))
        else:
            say(f"  {step_id}: its {job_type} job did not start")
    for step_id, (job_type, job_id) in sorted(running.items()):
        say(f"  waiting for {job_type} job {job_id} started by {step_id}")
        stub = Step(address=step_id, resource=step_id, action="job", phase=0, method="GET", path="")
        result: StepResult = await executor.wait(stub, job_type, job_id)
        say(f"  {step_id}: {result.status}")
        if result.status == "applied":
            journal.pushed(step_id)
