"""Damaged state: corrupted apply logs and malformed saved plans give clean errors, never a crash.

A saved plan that is not what ``plan --out`` writes is refused with one line naming the file and
what is wrong, before any request. Damaged lines of an apply log are ignored with a warning (the
run goes on and converges); a damaged first record (the run's header) is one clean error. Paths an
apply log names must lie inside the working directory: a log naming ``/etc`` is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Harness, log_header, record, tally

PLAN = "plan.json"


def clean(output: str) -> None:
    assert "internal error" not in output and "Traceback" not in output, output


@pytest.fixture
def saved(harness: Callable[..., Harness], repo: Path) -> tuple[Harness, dict[str, Any]]:
    h = harness()
    r = h.run("plan", "repo", "--out", PLAN)
    assert r.exit_code == 0, r.output
    return h, json.loads(Path(PLAN).read_text())


def _edit(data: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> Any:
    copy = json.loads(json.dumps(data))
    out = change(copy)
    return copy if out is None else out


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a JSON list": (lambda d: [], "the file: expected a JSON object, got list"),
    "steps: 5": (lambda d: d.update(steps=5), "steps: expected list, got int"),
    "no steps": (lambda d: d.pop("steps") and None, "steps: missing"),
    "a step without address": (lambda d: d["steps"][0].pop("address") and None, "steps[0].address: missing"),
    "a step that is a string": (
        lambda d: d["steps"].__setitem__(1, "PUT /x"),
        "steps[1]: expected an object",
    ),
    "phase as text": (lambda d: d["steps"][0].update(phase="1"), "steps[0].phase: expected int, got str"),
    "an unknown action": (lambda d: d["steps"][0].update(action="nuke"), "unknown action 'nuke'"),
    "depends_on a number": (
        lambda d: d["steps"][2].update(depends_on=5),
        "steps[2].depends_on: expected list",
    ),
    "changes not objects": (
        lambda d: d["steps"][0].update(changes=[1]),
        "steps[0].changes[0]: expected an object",
    ),
    "meta a list": (lambda d: d["steps"][0].update(meta=[]), "steps[0].meta: expected dict/null, got list"),
    "reads a list": (lambda d: d.update(reads=[]), "reads: expected dict, got list"),
    "paths a string": (lambda d: d.update(paths="repo"), "paths: expected list, got str"),
    "managed as text": (lambda d: d.update(managed="many"), "managed: expected int, got str"),
    "prune as text": (lambda d: d.update(prune="yes"), "prune: expected bool, got str"),
    "format_version 2": (lambda d: d.update(format_version=2), "format_version: is 2"),
    "a duplicate step": (lambda d: d["steps"].append(d["steps"][0]), "appears twice"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_saved_plans_are_one_clean_error(saved: tuple[Harness, dict[str, Any]], case: str) -> None:
    h, data = saved
    change, expect = MALFORMED[case]
    Path(PLAN).write_text(json.dumps(_edit(data, change)))
    seen = len(h.perturb.seen)
    r = h.run("apply", "--plan", PLAN, "--auto-approve")
    clean(r.output)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"Error: saved plan {PLAN} is malformed: "), r.output
    assert expect in lines[0], r.output
    assert len(h.perturb.seen) == seen  # refused before any request
    tally("damaged state: malformed saved plans (apply --plan)", "one clean error line, 0 requests")


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\x00garbage", b"{not json", b"[" * 100_000 + b"]" * 100_000, b""]
)
def test_unreadable_saved_plans_are_one_clean_error(
    saved: tuple[Harness, dict[str, Any]], content: bytes
) -> None:
    h, _ = saved
    Path(PLAN).write_bytes(content)
    r = h.run("apply", "--plan", PLAN, "--auto-approve")
    clean(r.output)
    assert r.exit_code == 1 and r.output.startswith(f"Error: cannot read saved plan {PLAN}: "), r.output
    assert len(r.output.strip().splitlines()) == 1
    tally("damaged state: unreadable saved plans (apply --plan)", "one clean error line")


# -- apply logs -----------------------------------------------------------------------------------


def a_log(h: Harness) -> list[str]:
    """An apply log as a run killed after its first device write leaves it."""
    header = log_header(h, steps=3)
    return [
        json.dumps(header),
        json.dumps({"event": "start", "step": "Device/0A1B2C3D4E01.settings"}),
        json.dumps({"event": "applied", "step": "Device/0A1B2C3D4E01.settings"}),
    ]


DAMAGED_LINES: dict[str, bytes] = {
    "a JSON list": b"[1, 2, 3]",
    "a record without step": b'{"event": "applied"}',
    "a job record without job_id": b'{"event": "job_started", "step": "X", "job_type": "rebuildPhones"}',
    "an unknown job type": b'{"event": "job_started", "step": "X", "job_type": "formatDisk", "job_id": "1"}',
    "a posting of an unknown job type": b'{"event": "job_posting", "step": "Y", "job_type": "zap"}',
    "a posting with a bad body": b'{"event": "job_posting", "step": "Y", "job_type": "rebuildPhones", '
    b'"body": 5}',
    "non-UTF-8 bytes": b'{"event": "start", "step": "\xff\xfe"}',
    "no event": b'{"step": "X"}',
    "a number": b"42",
}


@pytest.mark.parametrize("case", sorted(DAMAGED_LINES))
@pytest.mark.parametrize("how", ["apply", "resume"])
def test_damaged_apply_log_lines_are_ignored_with_a_warning(
    harness: Callable[..., Harness], repo: Path, case: str, how: str
) -> None:
    h = harness()
    lines = [line.encode() for line in a_log(h)]
    lines.insert(2, DAMAGED_LINES[case])  # not the last line: not a line cut short by a kill
    Path("log.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    args = ["repo"] if how == "apply" else ["--resume", "log.jsonl"]
    r = h.run("apply", *args, "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert r.exit_code == 0, r.output
    assert "Warning: apply log log.jsonl: ignored damaged lines (line 3: " in r.output, r.output
    assert "Converged" in r.output
    tally(
        "damaged state: apply log with a damaged line (apply, apply --resume)",
        "warning naming the line, the run converges",
    )


@pytest.mark.parametrize(
    "first",
    [
        b"[]",
        b'{"event": "begin", "paths": "repo"}',
        b'{"event": "begin", "paths": [], "pushes": [{"a": 1}]}',
        b'{"event": "begin", "format": 2, "paths": ["repo"], "plan": "x"}',
    ],
)
def test_a_damaged_log_header_is_one_clean_error(
    harness: Callable[..., Harness], repo: Path, first: bytes
) -> None:
    h = harness()
    Path("log.jsonl").write_bytes(first + b'\n{"event": "start", "step": "Device/x.settings"}\n')
    for args in (["repo"], ["--resume", "log.jsonl"]):
        seen = len(h.perturb.seen)
        r = h.run("apply", *args, "--auto-approve", "--log", "log.jsonl")
        clean(r.output)
        assert r.exit_code == 1, r.output
        assert "Error: apply log log.jsonl: line 1, the run's first record, " in r.output, r.output
        assert "move the file away to start afresh" in r.output and len(r.output.splitlines()) == 1
        assert not [s for s in h.perturb.seen[seen:] if s.method != "GET"]
    tally("damaged state: apply log with a damaged header", "one clean error, no write")


@pytest.mark.parametrize("path", ["/etc", "../..", "repo/../../outside"])
def test_resume_refuses_log_paths_outside_the_working_directory(
    harness: Callable[..., Harness], repo: Path, path: str
) -> None:
    h = harness()
    header = log_header(h, [path])
    Path("log.jsonl").write_text(json.dumps(header) + "\n")
    r = h.run("apply", "--resume", "log.jsonl", "--auto-approve")
    clean(r.output)
    assert r.exit_code == 1
    assert f"apply log log.jsonl names the manifest path {path!r}, outside the working directory" in r.output
    assert not h.perturb.seen  # refused before any request
    tally("damaged state: apply --resume of a log naming paths outside the repo", "refused, 0 requests")


def test_resume_shows_the_log_paths_before_use(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    header = log_header(h)
    Path("log.jsonl").write_text(json.dumps(header) + "\n")
    r = h.run("apply", "--resume", "log.jsonl", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Manifest paths from apply log log.jsonl: repo" in r.output
    assert r.output.index("Manifest paths") < r.output.index("Converged")
    record("damaged state: apply --resume shows the log's paths", result="shown, then applied")
