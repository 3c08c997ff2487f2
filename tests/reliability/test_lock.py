"""One apply at a time: a second apply with the same apply log refuses at once (or waits).

Two real ``reconciler apply`` processes against the simulator on a loopback port: the second
refuses, naming the first (PID and host), before any request; one started with ``--lock-timeout``
waits and then finds nothing left to do. Every bulk job ran once per planned job step and the
background image was uploaded once. A lock file left by a killed apply does not block the next;
``apply --resume`` takes the same lock.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from reconciler.lock import apply_lock

from .conftest import TOKEN, Harness, log_header, record

LOG = "log.jsonl"


def command(h: Harness, *extra: str) -> list[str]:
    base = [sys.executable, "-m", "reconciler.cli", "apply", "repo", "--base-url", h.url]
    return [*base, "--auto-approve", "--log", LOG, *extra]


def env() -> dict[str, str]:
    return {**os.environ, "WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"}


def started(log: Path, timeout: float = 60.0) -> None:
    """Wait until the apply writing ``log`` has begun its writes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and '"begin"' in log.read_text(encoding="utf-8"):
            return
        time.sleep(0.05)
    raise AssertionError("the first apply did not begin")


def planned_jobs(h: Harness) -> Counter[str]:
    r = h.run("plan", "repo", "--out", "plan.json")
    assert r.exit_code == 0, r.output
    steps = json.loads(Path("plan.json").read_text())["steps"]
    return Counter(s["job_type"] for s in steps if s["job_type"])


def uploads(h: Harness) -> int:
    return sum(v for k, v in h.sim.stats.writes_by_route.items() if "backgroundImageUpload" in k)


def test_a_second_apply_refuses_at_once_and_a_waiting_one_finds_nothing_to_do(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    h = harness(job_duration_s=1.5)  # the first apply runs for seconds
    jobs = planned_jobs(h)
    first = subprocess.Popen(
        command(h), env=env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        started(tmp_path / LOG)
        t0 = time.monotonic()
        second = subprocess.run(
            command(h), env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        refused_in = time.monotonic() - t0
        waiting = subprocess.Popen(
            command(h, "--lock-timeout", "300"),
            env=env(),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out_first = first.communicate(timeout=300)[0].decode()
        out_waiting = waiting.communicate(timeout=300)[0]
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
    assert first.returncode == 0 and "Converged" in out_first, out_first
    assert second.returncode == 1, second.stdout + second.stderr
    assert (
        f"another apply is running with this apply log: {LOG}.lock is held by PID {first.pid} on host "
        f"{platform.node()}" in second.stderr
    ), second.stderr
    assert "--lock-timeout" in second.stderr and "internal error" not in second.stderr
    assert waiting.returncode == 0 and "Nothing to apply." in out_waiting, out_waiting
    assert Counter(h.jobs_started()) == jobs  # every job once, none twice
    assert uploads(h) == 1
    first_log = (tmp_path / LOG).read_text(encoding="utf-8")
    assert first_log.count('"event": "begin"') <= 1  # nobody took over the first run's live log
    record(
        "concurrency: a second apply while one runs (two processes, same apply log)",
        result="refused at once, naming the holder; a --lock-timeout run waited, nothing to do",
        refused_in_s=round(refused_in, 1),
        jobs_started=sum(h.jobs_started().values()),
        image_uploads=uploads(h),
    )


def test_a_lock_file_left_by_a_killed_apply_does_not_block(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    h = harness(job_duration_s=1.5)
    first = subprocess.Popen(
        command(h), env=env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started(tmp_path / LOG)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    lock = tmp_path / f"{LOG}.lock"
    assert json.loads(lock.read_text())["pid"] == first.pid  # still there, naming the dead holder
    r = subprocess.run(command(h), env=env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Converged" in r.stdout
    record("concurrency: the lock file of a killed apply", result="does not block the next apply")


def test_resume_takes_the_same_lock_and_lock_timeout_waits(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    header = log_header(h)
    Path(LOG).write_text(json.dumps(header) + "\n")
    with apply_lock(LOG):
        r = h.run("apply", "--resume", LOG, "--auto-approve")
        assert r.exit_code == 1, r.output
        assert f"is held by PID {os.getpid()} on host {platform.node()}" in r.output
        assert not h.perturb.seen  # refused before any request

    held = threading.Event()

    def hold() -> None:
        with apply_lock(LOG):
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    t0 = time.monotonic()
    r = h.run("apply", "--resume", LOG, "--auto-approve", "--lock-timeout", "60")
    holder.join()
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 >= 0.9 and "Converged" in r.output
    record(
        "concurrency: apply --resume while an apply holds the lock",
        result="refused; waits with --lock-timeout",
    )
