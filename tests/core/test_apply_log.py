"""What an interrupted apply's log owes the next run."""

from __future__ import annotations

from typing import Any

from reconciler.apply import read_log_records
from reconciler.plan import Step


def _push(address: str, deps: list[str]) -> dict[str, Any]:
    step = Step(address=address, resource=address, action="invoke", phase=7, method="POST", path="/x")
    step.depends_on = deps
    return step.to_json()


def _records(*events: tuple[str, str]) -> list[dict[str, Any]]:
    header = {
        "event": "begin",
        "pushes": [_push(f"Device/{d}.applyChanges", [f"Device/{d}.layout"]) for d in "AB"],
    }
    return [header, *({"event": e, "step": s} for e, s in events)]


def test_a_write_killed_in_flight_still_owes_its_push() -> None:
    # A's layout PUT started and its answer never came back (the process was killed): it may have
    # been written, and a re-plan would see nothing to change, so the push must come from the log.
    left = read_log_records(_records(("start", "Device/A.layout")))
    assert [s.id for s in left.pushes] == ["Device/A.applyChanges"]


def test_a_write_never_started_owes_nothing_and_a_done_push_is_not_repeated() -> None:
    left = read_log_records(
        _records(
            ("start", "Device/A.layout"),
            ("applied", "Device/A.layout"),
            ("start", "Device/A.applyChanges"),
            ("applied", "Device/A.applyChanges"),
        )
    )
    assert left.pushes == []
