"""An apply killed while its rebuildPhones jobs run: the next apply waits for those jobs, which push
every device the killed apply wrote. Nothing is left to apply, and nothing is pending any more:
`plan --detailed-exitcode` and `drift` must then say so. Before, "Nothing to apply" left the killed
run's log as it was, so every later plan and drift listed the ten pushes again (exit 2) while no
phone was pending, until some other change was applied."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.sim import telephony

from .conftest import EXAMPLES, TOKEN, Harness, record


def _events(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def test_a_finished_kill_leaves_no_pending_push_in_plan_or_drift(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    h = harness(job_duration_s=2.0)  # the rebuild jobs run long enough to be killed during them
    log = tmp_path / "apply.jsonl"
    argv = [sys.executable, "-m", "reconciler.cli", "apply", str(EXAMPLES), "--base-url", h.url]
    argv += ["--auto-approve", "--log", str(log)]
    env = {**os.environ, "WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    started = time.monotonic()
    killed = False
    while proc.poll() is None and time.monotonic() - started < 60:
        rebuilds = [e for e in _events(log) if e.get("event") == "job_started"]
        if sum(str(e.get("step", "")).endswith(".rebuildPhones") for e in rebuilds) == 2:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    assert killed, "the rebuild jobs never started"
    finish = h.run("apply", str(EXAMPLES), "--auto-approve", "--log", str(log))
    assert finish.exit_code == 0, finish.output
    assert "waiting for rebuildPhones job" in finish.output, finish.output
    assert telephony.pending_view(h.sim.store)["count"] == 0
    plan = h.run("plan", str(EXAMPLES), "--detailed-exitcode", "--log", str(log))
    assert plan.exit_code == 0 and "No changes" in plan.output, plan.output
    drift = h.run("drift", str(EXAMPLES), "--base-url", h.url, "--log", str(log))
    assert drift.exit_code == 0, drift.output
    record(
        "SIGKILL while both rebuildPhones jobs run, then apply, then plan and drift",
        result="the apply waits for the jobs; plan and drift show nothing pending (exit 0)",
    )
