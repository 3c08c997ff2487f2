"""``reconciler drift``: every difference between the manifests and live state, posted to a Webex
space when asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.applying.resume import journal_to_read, owed_by
from reconciler.flows import notify
from reconciler.flows.connect import DEFAULT_LOG, Connection, connect, run
from reconciler.flows.make import make_plan
from reconciler.render.notify import drift_message

if TYPE_CHECKING:
    from reconciler.planning.drift import DriftReport


def drift_command(
    conn: Connection,
    paths: list[str],
    room: str | None = None,
    bot: str | None = None,
    log_path: str = DEFAULT_LOG,
) -> tuple[DriftReport, str | None]:
    """``drift``: every difference between ``paths`` and live state; when there is drift and a
    ``room`` and ``bot`` token are given, a summary is posted there. Returns the report and a
    warning when the post failed (never the command's outcome)."""
    from reconciler.planning.drift import drift_report

    async def go() -> tuple[DriftReport, str | None]:
        async with connect(conn) as client:
            noted: list[str] = []
            journal = journal_to_read(log_path, client.base_url, noted.append)
            plan = await make_plan(client, paths, owed=owed_by(journal, read_only=True))
            plan.warnings[:0] = noted
            found = drift_report(plan)
            problem = None
            if room and bot and found.has_drift:
                message = drift_message(found, paths, notify.run_link(conn.environ))
                problem = await notify.post(client, room, message, bot)
            return found, problem

    return run(go())
