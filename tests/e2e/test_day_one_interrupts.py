"""Ctrl-C per command, through the CLI on an in-process simulator: plan, drift and export say what
was interrupted and that nothing was written (an interrupted export leaves its directory as it
was); apply's first Ctrl-C lets the step in flight end, then names the log and the exact resume
command, which finishes the work; a second Ctrl-C stops at once."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

from .conftest import EXAMPLES


class CtrlC:
    """ASGI layer: after ``after`` requests matching ``path_part`` were processed, a Ctrl-C: a
    ``KeyboardInterrupt`` raised in the request (``how="raise"``, as Python does outside a signal
    handler of ours) or a SIGINT sent to this process (``how="signal"``), ``times`` times."""

    def __init__(
        self, app: Any, path_part: str, after: int = 1, how: str = "raise", times: int = 1, method: str = "*"
    ) -> None:
        self.app, self.path_part, self.after, self.how, self.times = app, path_part, after, how, times
        self.method = method
        self.seen = 0
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http" or self.path_part not in str(scope.get("path", "")):
            return
        if self.method not in ("*", scope["method"]):
            return
        self.seen += 1
        if self.seen < self.after or self.sent >= self.times:
            return
        if self.how == "raise":
            self.sent += 1
            raise KeyboardInterrupt
        while self.sent < self.times:
            self.sent += 1
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """The demo org in process behind the CLI, wrapped by a ``CtrlC`` made by ``make(...)``."""
    monkeypatch.chdir(tmp_path)
    app = create_app(seed="demo", job_duration_s=0.05)
    state: dict[str, Any] = {"app": app}

    def connection(kw: dict[str, Any]) -> Connection:
        return Connection(sim_app=state["wrapped"], concurrency=4)

    monkeypatch.setattr(cli_module, "make_connection", connection)

    def make(path_part: str = "/never", **kw: Any) -> CtrlC:
        state["wrapped"] = CtrlC(app, path_part, **kw)
        return state["wrapped"]  # type: ignore[no-any-return]

    make()
    return make


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_interrupted_plan_says_nothing_was_written(org: Callable[..., Any], tmp_path: Path) -> None:
    org("/devices", after=2)
    out = tmp_path / "plan.json"
    r = run("plan", str(EXAMPLES), "-o", str(out))
    assert r.exit_code == 130
    assert "Interrupted: the plan was not finished, no plan was saved to" in r.stderr
    assert "nothing was sent to the API" in r.stderr
    assert "apply log" not in r.stderr  # what plan never has
    assert not out.exists()


def test_interrupted_drift_says_nothing_was_written(org: Callable[..., Any]) -> None:
    org("/devices", after=2)
    r = run("drift", str(EXAMPLES))
    assert r.exit_code == 130
    assert "Interrupted: the drift report was not finished" in r.stderr
    assert "apply log" not in r.stderr


def test_interrupted_export_leaves_the_directory_as_it_was(org: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "config"
    org("/telephony/config/devices/", after=8)  # in the middle of the device reads
    r = run("export", "-o", str(out))
    assert r.exit_code == 130
    assert f"the export was not finished; nothing was written to {out}" in r.stderr
    left = (
        sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) if out.exists() else []
    )
    assert [p for p in left if not p.startswith(".reconciler/")] == []  # no partial manifests
    assert not (out / ".reconciler" / "export-staging").exists()
    # a re-run completes it, with the .gitignore of a config repo
    org()
    done = run("export", "-o", str(out))
    assert done.exit_code == 0, done.output
    devices = len(list(out.glob("locations/*/devices/*.yaml")))
    assert devices > 5 and f"; {devices} device(s)." in done.output
    assert ".reconciler/" in (out / ".gitignore").read_text()


def test_interrupted_export_keeps_an_earlier_export_whole(org: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "config"
    assert run("export", "-o", str(out)).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    org("/telephony/config/devices/", after=8)
    assert run("export", "-o", str(out), "--all-fields").exit_code == 130
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == before


def test_first_ctrl_c_finishes_the_step_in_flight_then_names_the_resume_command(
    org: Callable[..., Any], tmp_path: Path
) -> None:
    fault = org("/members", after=1, how="signal", method="PUT")  # while the device writes run
    log = tmp_path / "apply-log.jsonl"
    shutil.copytree(EXAMPLES, tmp_path / "repo")  # a resume reads manifests inside the working directory
    r = run("apply", "repo", "--auto-approve", "--log", str(log))
    assert fault.sent == 1
    assert r.exit_code == 130, r.output
    assert "Ctrl-C: letting the requests in flight finish" in r.stderr
    assert "stopped after the requests in flight" in r.stderr
    assert f"the apply log {log} holds what was done" in r.stderr
    resume = f"reconciler apply --resume {log}"
    assert resume in r.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    started = {e["step"] for e in events if e["event"] == "start"}
    finished = {e["step"] for e in events if e["event"] in ("applied", "failed")}
    assert started and started == finished  # every step in flight ended cleanly, none was cut
    assert not any(e["event"] == "end" for e in events)  # the log says it is unfinished
    # the exact command it printed finishes the work
    argv = shlex.split(resume)[1:]
    org()
    done = run(*argv, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "Converged" in done.output


def test_second_ctrl_c_stops_at_once(org: Callable[..., Any], tmp_path: Path) -> None:
    fault = org("/members", after=1, how="signal", times=2, method="PUT")
    log = tmp_path / "apply-log.jsonl"
    shutil.copytree(EXAMPLES, tmp_path / "repo")  # a resume reads manifests inside the working directory
    r = run("apply", "repo", "--auto-approve", "--log", str(log))
    assert fault.sent == 2
    assert r.exit_code == 130, r.output
    assert "stopped at once" in r.stderr
    assert f"reconciler apply --resume {log}" in r.stderr
    org()
    done = run("apply", "--resume", str(log), "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "Converged" in done.output
