"""Values in a hand-edited apply log are data, bounded like any other: a time far in the future, a
list of manifest paths a hundred thousand long, a path holding terminal controls. Each is one clean
error or a bounded, escaped line, on every command that reads the log. Before: "internal error
(OverflowError: timestamp out of range)" from plan, apply, push and drift, and `apply --resume`
printed the log's 100,000 paths (600 KB) and a path's escape sequences raw."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Harness, log_header, record

WRITTEN = {"event": "written", "step": "Device/0A1B2C3D4E01.members", "devices": ["0A1B2C3D4E01"]}


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _run(h: Harness, command: str, log: Path) -> Any:
    if command == "plan":
        return h.run("plan", "repo", "--log", str(log), "--detailed-exitcode")
    if command == "drift":
        return h.run("drift", "repo", "--log", str(log), "--base-url", h.url)
    if command == "push":
        return h.run("push", "repo", "--log", str(log), "--base-url", h.url, "--auto-approve")
    return h.run("apply", "repo", "--auto-approve", "--log", str(log))


@pytest.mark.parametrize("command", ["plan", "apply", "push", "drift"])
@pytest.mark.parametrize("where", ["carried", "header"])
def test_a_time_out_of_range_is_refused_or_ignored_cleanly(
    harness: Callable[..., Harness], repo: Path, command: str, where: str
) -> None:
    h = harness()
    log = Path("log.jsonl")
    if where == "carried":
        carried = {**WRITTEN, "carried": True, "since": 1e300, "interrupted": True, "reason": "x"}
        _write(log, [log_header(h), carried])
    else:
        _write(log, [log_header(h, ts=1e300), {**WRITTEN, "reason": "x"}])
    r = _run(h, command, log)
    assert "internal error" not in r.output and "Traceback" not in r.output, r.output
    if where == "carried":
        assert r.exit_code == 1 and "log.jsonl: line 2" in r.output, r.output
    else:  # the run's own time is unknown: the push is still owed, its time not shown
        named = "0A:1B:2C:3D:4E:01" in r.output or "0A1B2C3D4E01" in r.output
        assert r.exit_code in (0, 2) and named, r.output
    record(f"apply log: a time of 1e300 ({where}) read by {command}", result=f"exit {r.exit_code}, clean")


def test_the_paths_of_a_log_are_shown_bounded_and_escaped(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    log = Path("log.jsonl")
    _write(log, [log_header(h, paths=["repo"] * 100_000 + ["repo/\x1b]0;pwned\x07"])])
    r = h.run("apply", "--resume", str(log), "--auto-approve", "--base-url", h.url, "--log", str(log))
    line = next(ln for ln in r.output.splitlines() if ln.startswith("Manifest paths from"))
    assert len(line) < 1000 and "\x1b" not in r.output and "\x07" not in r.output, line[:300]
    assert "internal error" not in r.output, r.output[-2000:]
