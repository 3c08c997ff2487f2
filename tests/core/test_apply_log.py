"""What an apply log says about its run: the devices written and not pushed, read back as facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.workdir.journal import clean_base_url, read_journal

URL = "https://webexapis.com/v1"


def _log(tmp_path: Path, *records: dict[str, Any]) -> str:
    header = {"event": "begin", "format": 2, "base_url": URL, "org_id": "ORG", "plan": "p", "paths": []}
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (dict(header, ts=1_700_000_000), *records)))
    return str(path)


def test_a_write_killed_in_flight_still_owes_its_push(tmp_path: Path) -> None:
    # A's layout PUT started and its answer never came back (the process was killed): it may have
    # been written, and a re-plan would see nothing to change, so the push is owed by the log.
    path = _log(
        tmp_path,
        {"event": "start", "step": "Device/0A1B2C3D4E01.layout"},
        {
            "event": "written",
            "step": "Device/0A1B2C3D4E01.layout",
            "devices": ["0A1B2C3D4E01"],
            "reason": "x",
        },
    )
    journal = read_journal(path)
    assert journal is not None and list(journal.pending) == ["0A1B2C3D4E01"]
    item = journal.pending["0A1B2C3D4E01"]
    assert item.interrupted and item.line == 3
    assert item.origin == "written by the interrupted apply of 2023-11-14 22:13:20 UTC (x)"


def test_a_pushed_device_is_not_pending_and_a_finished_run_was_not_interrupted(tmp_path: Path) -> None:
    path = _log(
        tmp_path,
        {"event": "written", "step": "a", "devices": ["0A1B2C3D4E01", "0A1B2C3D4E02"]},
        {"event": "pushed", "step": "b", "devices": ["0A1B2C3D4E01"]},
        {"event": "end"},
    )
    journal = read_journal(path)
    assert journal is not None and list(journal.pending) == ["0A1B2C3D4E02"]
    assert not journal.pending["0A1B2C3D4E02"].interrupted


def test_carried_entries_keep_the_run_that_wrote_them(tmp_path: Path) -> None:
    carried = {"event": "written", "carried": True, "devices": ["0A1B2C3D4E05"], "since": 1.0}
    path = _log(tmp_path, dict(carried, interrupted=True, reason="org settings"), {"event": "end"})
    journal = read_journal(path)
    assert journal is not None
    item = journal.pending["0A1B2C3D4E05"]
    assert item.since == 1.0 and item.interrupted and item.reason == "org settings"


@pytest.mark.parametrize(
    "record",
    [
        {"event": "written", "devices": ["not a mac"]},
        {"event": "written", "devices": []},
        {"event": "written", "carried": True, "devices": ["0A1B2C3D4E05"]},
        {"event": "job_started", "step": "X", "job_type": "rebuildPhones", "job_id": "../../people"},
    ],
)
def test_a_record_that_is_not_a_fact_of_the_run_is_refused_naming_its_line(
    tmp_path: Path, record: dict[str, Any]
) -> None:
    path = _log(tmp_path, {"event": "start", "step": "a"}, record)
    with pytest.raises(ConfigError, match=r"apply log .*log\.jsonl: line 3 "):
        read_journal(path)


def test_a_base_url_is_kept_without_its_userinfo() -> None:
    assert clean_base_url("https://admin:PW@host.example:8443/v1/") == "https://host.example:8443/v1"
    assert "PW" not in clean_base_url("http://admin:PW@[::1]:80/v1")
