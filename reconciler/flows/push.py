"""``reconciler push``: send the pushes an earlier apply left pending (held by ``Policy.push:
never`` for a maintenance window, or never sent because the run was interrupted or a push failed).

The pending devices come from the apply log, checked like every pending push
(``reconciler.planning.pushes``): a device of this org that a manifest manages. The requests are planned
afresh (``applyChanges``, or one ``rebuildPhones`` job per location where cheaper), shown, and sent
once confirmed; the log then records them as pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.applying.results import ApplyOutcome
from reconciler.applying.resume import journal_for, owed_by
from reconciler.errors import ConfigError
from reconciler.flows.apply import apply_flow
from reconciler.flows.connect import DEFAULT_LOG, Connection, connect, lock_target, run
from reconciler.flows.load import load
from reconciler.planning.plan import Plan
from reconciler.planning.pushes import pending_plan


@dataclass
class PushRequest:
    paths: list[str]
    locations: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    log_path: str = DEFAULT_LOG
    lock_timeout: float = 0.0


def push_command(
    conn: Connection,
    req: PushRequest,
    *,
    confirm: Callable[[Plan], bool],
    say: Callable[[str], None],
    show: Callable[[Plan], None],
) -> ApplyOutcome | None:
    """Holding the org's apply lock: plan the pending pushes (scoped by location and target), show
    them, send them once confirmed. None when nothing is pending."""
    from reconciler.planning.targets import select_targets
    from reconciler.workdir.lock import apply_lock

    resources = load(req.paths)
    managed = [r for r in resources if r.kind != "Policy"]
    selected = select_targets(managed, req.targets) if req.targets else managed
    with apply_lock(*lock_target(conn), req.lock_timeout):
        journal = journal_for(req.log_path, None, say)
        owed = owed_by(journal)
        if journal is None or owed is None or not owed.items:
            return None

        async def go() -> ApplyOutcome:
            async with connect(conn) as client:
                journal.check_api(client.base_url)
                plan = await pending_plan(client, managed, selected, owed, req.locations)
                plan.paths = list(req.paths)
                show(plan)
                if plan.empty:
                    raise ConfigError("no pending push matches --location / --target; nothing was sent")
                carried = list(journal.pending.values())
                return await apply_flow(
                    client,
                    plan,
                    confirm=confirm,
                    say=say,
                    log_path=req.log_path,
                    verify=False,
                    carried=carried,
                )

        return run(go())
