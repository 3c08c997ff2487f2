"""The apply log is a journal of its own run, never an instruction.

A log records facts (the org and API it ran against, the plan it ran, the steps done, the jobs
started, the devices written and not yet pushed). Nothing in it becomes a request by itself: every
request is built by a fresh plan of the manifests, and anything a fresh plan would not contain is
refused with one error naming the log line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.folded import flat

from .conftest import Harness, log_header, record

TEMPLATES = "/v1/telephony/config/devices/lineKeyTemplates"


def clean(output: str) -> None:
    assert "internal error" not in output and "Traceback" not in output, output


def template_id(h: Harness, name: str) -> str | None:
    return next((t.id for t in h.sim.store.templates.values() if t.name == name), None)


def writes(h: Harness, since: int = 0) -> list[tuple[str, str]]:
    """The requests after ``since`` that can change something (a preview only reads)."""
    return [
        (s.method, s.path)
        for s in h.perturb.seen[since:]
        if s.method != "GET" and not s.path.endswith("/previewApplyLineKeyTemplate/invoke")
    ]


def forged_push_log(h: Harness, path: str, method: str = "DELETE") -> list[dict[str, Any]]:
    """An old-style log: a ``begin`` whose owed pushes hold any request, and a ``start`` of the step
    the push claims to follow."""
    step = {
        "id": "Device/0A1B2C3D4E01.applyChanges",
        "address": "Device/0A1B2C3D4E01.applyChanges",
        "resource": "Device/0A1B2C3D4E01",
        "action": "invoke",
        "phase": 7,
        "method": method,
        "path": path,
        "depends_on": ["Device/0A1B2C3D4E01.layout"],
    }
    return [
        {"event": "begin", "paths": ["repo"], "steps": 1, "pushes": [step], "secret_writes": [], "plan": "x"},
        {"event": "start", "step": "Device/0A1B2C3D4E01.layout"},
    ]


def write_log(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_a_forged_push_in_a_log_is_never_sent_even_with_a_reviewed_plan(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    legacy = template_id(h, "Legacy 7841")
    assert legacy is not None
    r = h.run("plan", "repo", "--out", "plan.json")
    assert r.exit_code == 0, r.output
    reviewed = json.loads(Path("plan.json").read_text())["steps"]
    write_log(Path("log.jsonl"), forged_push_log(h, f"{TEMPLATES}/{legacy}".removeprefix("/v1")))
    seen = len(h.perturb.seen)
    r = h.run("apply", "--plan", "plan.json", "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert ("DELETE", f"{TEMPLATES}/{legacy}") not in writes(h, seen)
    assert template_id(h, "Legacy 7841") == legacy
    assert r.exit_code == 1, r.output
    assert "Error: apply log log.jsonl" in r.output, r.output
    assert not writes(h, seen), writes(h, seen)  # refused before anything was sent
    assert len(reviewed) > 0
    record("log trust: a forged push in an apply log with apply --plan", result="refused, 0 writes")


# -- helpers for logs written the way this version writes them ------------------------------------


def logged(h: Harness, *records: dict[str, Any], path: str = "log.jsonl", **header: Any) -> Path:
    out = Path(path)
    write_log(out, [log_header(h, **header), *records])
    return out


def written(*macs: str, reason: str = "its own settings") -> dict[str, Any]:
    return {"event": "written", "step": "Device/x.settings", "devices": list(macs), "reason": reason}


OTHER_ORG = "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9vdGhlcg"
FOREIGN = {
    "API": ({"base_url": "https://other.example/v1"}, "written by an apply against https://other.example/v1"),
    "org": ({"org_id": OTHER_ORG}, f"written by an apply for org {OTHER_ORG}"),
}


@pytest.mark.parametrize("what", sorted(FOREIGN))
def test_a_log_of_another_api_or_org_is_refused_before_any_write(
    harness: Callable[..., Harness], repo: Path, what: str
) -> None:
    h = harness()
    header, message = FOREIGN[what]
    logged(h, written("0A1B2C3D4E05"), **header)
    for args in (
        ("plan", "repo", "--log", "log.jsonl"),
        ("apply", "repo", "--auto-approve", "--log", "log.jsonl"),
    ):
        seen = len(h.perturb.seen)
        r = h.run(*args)
        clean(r.output)
        if args[0] == "plan":  # plan only reads: it leaves the log out, and says so
            assert r.exit_code == 0, r.output
            other = "API (https://other.example/v1" if what == "API" else f"org ({OTHER_ORG}"
            assert f"Warning: apply log log.jsonl belongs to another {other}" in flat(r.output), r.output
            assert "its pending pushes are not considered" in flat(r.output) and not writes(h, seen)
            continue
        assert r.exit_code == 1, r.output
        assert f"Error: apply log log.jsonl was {message}" in r.output, r.output
        assert not writes(h, seen)
        if what == "API":
            assert len(h.perturb.seen) == seen  # refused before the first request
    record(f"log trust: a log of another {what} (plan, apply)", result="refused naming the file, 0 writes")


def test_a_pending_push_of_a_device_not_in_the_org_is_refused_naming_the_line(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    logged(h, {"event": "start", "step": "Device/x.settings"}, written("AABBCCDDEEFF"))
    seen = len(h.perturb.seen)
    r = h.run("apply", "repo", "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert r.exit_code == 1, r.output
    assert (
        "Error: apply log log.jsonl: line 3 names device AA:BB:CC:DD:EE:FF as written and not pushed"
        in r.output
    )
    assert "this org has no Webex Calling device with that MAC" in r.output
    assert not writes(h, seen)


def test_a_pending_push_of_a_device_no_manifest_manages_is_refused(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    only_templates = Path("templates-only")
    only_templates.mkdir()
    for f in (repo / "templates").iterdir():
        (only_templates / f.name).write_bytes(f.read_bytes())
    logged(h, written("0A1B2C3D4E05"), paths=[str(only_templates)])
    r = h.run("plan", str(only_templates), "--log", "log.jsonl")
    clean(r.output)
    assert r.exit_code == 1, r.output
    assert (
        "line 2 names device 0A:1B:2C:3D:4E:05 as written and not pushed, but no manifest manages" in r.output
    )
    record("log trust: a pending push of a device no manifest manages", result="refused naming the line")


def test_a_job_of_a_step_no_manifest_declares_is_refused(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    job = {"event": "job_started", "step": "Evil/x", "job_type": "rebuildPhones", "job_id": "abc"}
    logged(h, job)
    r = h.run("apply", "repo", "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert r.exit_code == 1, r.output
    assert "apply log log.jsonl: line 2 names a job of 'Evil/x', which no manifest declares" in r.output
    assert not h.perturb.seen


def test_local_state_that_git_tracks_is_refused(harness: Callable[..., Harness], repo: Path) -> None:
    import subprocess

    h = harness()
    r = h.run("plan", "repo", "--out", "plan.json")
    assert r.exit_code == 0, r.output
    logged(h, written("0A1B2C3D4E05"))
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", "log.jsonl", "plan.json"], check=True)
    seen = len(h.perturb.seen)
    r = h.run("plan", "repo", "--log", "log.jsonl")
    assert r.exit_code == 1 and "apply log log.jsonl is tracked by git" in r.output, r.output
    r = h.run("apply", "--plan", "plan.json", "--auto-approve", "--log", "other.jsonl")
    assert r.exit_code == 1 and "saved plan plan.json is tracked by git" in r.output, r.output
    assert not writes(h, seen)
    record("log trust: an apply log or saved plan that git tracks", result="refused, 0 writes")


# -- pending pushes: never invisible, finished by the next apply, only what the plan shows ---------


def test_an_apply_killed_between_writes_and_pushes_leaves_pending_pushes_that_plan_shows(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import TOKEN

    h = harness(job_duration_s=3.0)  # the template job runs while the kill lands
    log = tmp_path / "log.jsonl"
    argv = [sys.executable, "-m", "reconciler.cli", "apply", "repo", "--base-url", h.url, "--auto-approve"]
    env = {**os.environ, "WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"}
    proc = subprocess.Popen([*argv, "--log", str(log)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        if '"job_started"' in text and "LineKeyTemplateAssignment/" in text:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert h.unpushed_writes(), "the kill came after the pushes"

    r = h.run("plan", "repo", "--detailed-exitcode", "--log", str(log))
    clean(r.output)
    assert r.exit_code == 2, r.output
    assert "Device 0A:1B:2C:3D:4E:08" in r.output and "written by the interrupted apply of " in r.output
    r = h.run("drift", "repo", "--log", str(log), "--base-url", h.url)
    assert r.exit_code == 2 and "written by the interrupted apply of " in r.output, r.output

    r = h.apply("--log", str(log))
    clean(r.output)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert r.output.index("written by the interrupted apply of") < r.output.index("[1/")  # shown first
    assert not h.unpushed_writes()
    r = h.run("plan", "repo", "--detailed-exitcode", "--log", str(log))
    assert r.exit_code == 0, r.output
    record(
        "pending pushes: an apply killed between its device writes and their pushes",
        result="plan exits 2 naming each push; the next apply shows and sends them; then no changes",
    )


def test_a_failed_push_stays_pending_until_an_apply_sends_it(
    harness: Callable[..., Harness], repo: Path
) -> None:
    from .conftest import Rule, route

    h = harness()
    h.perturb.add(Rule(route("POST", r"/jobs/devices/rebuildPhones$"), "status", status=400, times=1))
    r = h.apply("--log", "log.jsonl")
    failed = "rebuild the phones of the location (4 changed devices): failed"
    assert r.exit_code == 1 and failed in r.output, r.output
    r = h.run("plan", "repo", "--detailed-exitcode", "--log", "log.jsonl")
    assert r.exit_code == 2, r.output
    assert "written by the apply of " in r.output and "interrupted" not in r.output, r.output
    r = h.apply("--log", "log.jsonl")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert not h.unpushed_writes()
    assert h.run("plan", "repo", "--detailed-exitcode", "--log", "log.jsonl").exit_code == 0


def test_apply_of_a_reviewed_plan_runs_only_its_steps_and_keeps_other_pending_pushes(
    harness: Callable[..., Harness], repo: Path
) -> None:
    from reconciler.workdir.journal import read_journal

    h = harness()
    assert h.apply("--log", "first.jsonl").exit_code == 0
    (repo / "people" / "alice.yaml").write_text(
        (repo / "people" / "alice.yaml").read_text().replace("enabled: true", "enabled: false", 1)
    )
    r = h.run("plan", "repo", "--out", "plan.json", "--log", "none.jsonl")
    assert r.exit_code == 0, r.output
    reviewed = {s["id"] for s in json.loads(Path("plan.json").read_text())["steps"]}
    logged(h, written("0A1B2C3D4E05"))
    seen = len(h.perturb.seen)
    r = h.run("apply", "--plan", "plan.json", "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert r.exit_code == 0, r.output
    assert "1 device(s) written by an earlier apply and not pushed are not in this plan" in r.output
    cid = next(d.calling_id for d in h.sim.store.devices.values() if d.mac == "0A1B2C3D4E05")
    assert ("POST", f"/v1/telephony/config/devices/{cid}/actions/applyChanges/invoke") not in writes(h, seen)
    journal = read_journal("log.jsonl")
    assert journal is not None and "0A1B2C3D4E05" in journal.pending  # still pending, carried
    assert reviewed  # the reviewed plan had steps, and ran
    r = h.run("plan", "repo", "--out", "again.json", "--log", "log.jsonl")
    assert "Device 0A:1B:2C:3D:4E:05" in r.output, r.output
    r = h.run("apply", "--plan", "again.json", "--auto-approve", "--log", "log.jsonl")
    assert r.exit_code == 0, r.output
    assert ("POST", f"/v1/telephony/config/devices/{cid}/actions/applyChanges/invoke") in writes(h, seen)
    journal = read_journal("log.jsonl")
    assert journal is not None and not journal.pending


def test_a_simulated_apply_keeps_its_own_log(harness: Callable[..., Harness], repo: Path) -> None:
    """``--simulate`` without ``--log`` journals to a log of its own: a run against the API in the
    same directory is not refused for the simulator's log."""
    h = harness()
    sim = ("--simulate", "--sim-state", "sim.json")
    r = h.run("apply", "repo", "--auto-approve", *sim, connect=False)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert (
        Path(".reconciler/sim-apply-log.jsonl").exists() and not Path(".reconciler/apply-log.jsonl").exists()
    )
    r = h.run("plan", "repo", "--detailed-exitcode")
    assert r.exit_code == 2 and "Error" not in r.output, r.output  # the API's org still differs
    r = h.run("plan", "repo", "--log", ".reconciler/sim-apply-log.jsonl")
    assert r.exit_code == 0 and "belongs to another API (http://sim.invalid/v1" in r.output
    r = h.run("apply", "repo", "--auto-approve", "--log", ".reconciler/sim-apply-log.jsonl")
    assert r.exit_code == 1 and "was written by an apply against http://sim.invalid/v1" in r.output


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"event": "pushed", "devices": 5}, "line 2 is a 'pushed' record without a list of devices"),
        ({"event": "pushed", "devices": "0A1B2C3D4E01"}, "line 2 is a 'pushed' record without a list"),
        ({"event": "start", "step": "Device/x.settings", "pushes": {"a": 1}}, "line 2 is a 'start' record"),
        ({"event": "written", "devices": 7, "step": "Device/x.settings"}, "line 2 is a 'written' record"),
    ],
)
def test_a_record_of_the_wrong_shape_is_refused_naming_its_line(
    harness: Callable[..., Harness], repo: Path, bad: dict[str, Any], says: str
) -> None:
    """Every record the journal folds is checked for its shape: a damaged one is one error naming the
    line, for plan, drift and apply alike, never an internal error."""
    h = harness()
    logged(h, bad)
    seen = len(h.perturb.seen)
    for args in (["plan", "repo"], ["drift", "repo"], ["apply", "repo", "--auto-approve"]):
        r = h.run(*args, "--log", "log.jsonl")
        clean(r.output)
        assert r.exit_code == 1, r.output
        assert "apply log log.jsonl: " + says in r.output, r.output
    assert not writes(h, seen)


def test_a_reviewed_plan_never_pushes_a_device_pushed_since_it_was_saved(
    harness: Callable[..., Harness], repo: Path
) -> None:
    """A saved plan shows two pending pushes; one of them is sent by ``reconciler push`` before the
    plan is applied. ``apply --plan`` must not push that device a second time (a phone resync the
    log no longer owes): the saved plan is refused as out of date, and nothing is sent."""
    h = harness()
    assert h.apply("--log", "first.jsonl").exit_code == 0
    logged(h, written("0A1B2C3D4E05", "0A1B2C3D4E01"))
    r = h.run("plan", "repo", "--out", "plan.json", "--log", "log.jsonl")
    assert "Device 0A:1B:2C:3D:4E:05" in r.output and "Device 0A:1B:2C:3D:4E:01" in r.output, r.output
    push = ("push", "repo", "--target", "Device/0A1B2C3D4E05", "--auto-approve", "--log", "log.jsonl")
    r = h.run(*push, "--base-url", h.url)
    assert r.exit_code == 0, r.output
    cid = next(d.calling_id for d in h.sim.store.devices.values() if d.mac == "0A1B2C3D4E05")
    push_05 = ("POST", f"/v1/telephony/config/devices/{cid}/actions/applyChanges/invoke")
    seen = len(h.perturb.seen)
    r = h.run("apply", "--plan", "plan.json", "--auto-approve", "--log", "log.jsonl")
    clean(r.output)
    assert push_05 not in writes(h, seen), r.output
    assert r.exit_code == 1 and "plan.json" in r.output, r.output
    assert not writes(h, seen)
    r = h.run("apply", "repo", "--auto-approve", "--log", "log.jsonl")  # a fresh plan pushes the other
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert push_05 not in writes(h, seen)
    assert not h.unpushed_writes()
