"""One apply per org at a time: a second apply refuses at once (or waits), whatever its apply log.

Two real ``reconciler apply`` processes against the simulator on a loopback port: the second
refuses, naming the first (PID and host), before any request; one started with ``--lock-timeout``
waits and then finds nothing left to do. Every bulk job ran once per planned job step and the
background image was uploaded once. A lock file left by a killed apply does not block the next;
``apply --resume`` takes the same lock, and so does an apply with another ``--log``. The lock file
is never followed through a symbolic link nor written through a hard link: the file it names
stays as it was, and the apply refuses in one line before any request.
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

import pytest

from reconciler.errors import LockHeld
from reconciler.workdir.lock import apply_lock, lock_path

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
    held = lock_path(h.url, None)
    assert (
        f"another apply is running for the token's org at {h.url}: {held} is held by PID {first.pid} "
        f"on host {platform.node()}" in second.stderr
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
    lock = tmp_path / lock_path(h.url, None)
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
    with apply_lock(h.url, None):
        r = h.run("apply", "--resume", LOG, "--auto-approve")
        assert r.exit_code == 1, r.output
        assert f"is held by PID {os.getpid()} on host {platform.node()}" in r.output
        assert not h.perturb.seen  # refused before any request

    held = threading.Event()

    def hold() -> None:
        with apply_lock(h.url, None):
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


def test_applies_with_different_logs_exclude_each_other(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    with apply_lock(h.url + "/", None):  # the same org and base URL, written another way
        r = h.run("apply", "repo", "--auto-approve", "--log", "other-log.jsonl")
        assert r.exit_code == 1, r.output
        assert f"is held by PID {os.getpid()} on host {platform.node()}" in r.output
        assert "internal error" not in r.output
        assert not h.perturb.seen  # refused before any request
        org = h.sim.store.org_id
        named = h.run("apply", "repo", "--auto-approve", "--log", "third-log.jsonl", "--org-id", org)
        assert named.exit_code == 1, named.output  # the same org, named: the same lock
        assert f"is held by PID {os.getpid()} on host {platform.node()}" in named.output
        assert not h.perturb.seen
    record(
        "concurrency: two applies of one org with different --log paths, or one naming the org",
        result="the second refused before any request (the lock is keyed by the API's base URL)",
    )


def test_the_lock_is_keyed_by_the_api_as_the_server_sees_it(tmp_path: Path) -> None:
    """One lock per API, whatever the org is called: the token's own org and the same org named with
    --org-id must not hold two locks (each apply would start the other's jobs again); nor may a
    spelling of the same URL (case, userinfo, default port, trailing slash)."""
    base = "https://WebexAPIs.com/v1/"
    same = [
        "https://webexapis.com/v1",
        "https://webexapis.com:443/v1",
        "https://user:pw@webexapis.com/v1",
        "HTTPS://WEBEXAPIS.COM/v1//",
    ]
    for spelling in same:
        assert lock_path(base, None) == lock_path(spelling, None), spelling
    assert lock_path(base, None) == lock_path(base, "ORG-B")
    assert lock_path(base, None) != lock_path("https://webexapis.com:8443/v1", None)
    assert lock_path(base, None) != lock_path("https://api.example.com/v1", None)
    assert lock_path(base, None) != lock_path("https://webexapis.com/v2", None)
    with (
        apply_lock(base, None, directory=tmp_path),
        pytest.raises(LockHeld),
        apply_lock("https://webexapis.com/v1", "ORG-A", directory=tmp_path),
    ):
        pass


def test_a_symlink_or_hard_link_at_the_lock_path_is_refused_and_its_target_kept(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    h = harness()
    assert h.apply("--log", LOG, paths=("repo",)).exit_code == 0  # converged: "Nothing to apply" next
    h.perturb.seen.clear()
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    lock = tmp_path / lock_path(h.url, None)
    lock.unlink()
    lock.symlink_to(victim)
    r = h.apply("--log", LOG, paths=("repo",))
    assert r.exit_code == 1 and "symbolic link" in r.output and "internal error" not in r.output, r.output
    assert victim.read_text() == "keep me\n" and not h.perturb.seen
    lock.unlink()
    os.link(victim, lock)  # a hard link: writing the holder into it would write the victim
    r = h.apply("--log", LOG, paths=("repo",))
    assert r.exit_code == 1 and "hard links" in r.output and "internal error" not in r.output, r.output
    assert victim.read_text() == "keep me\n" and not h.perturb.seen
    lock.unlink()
    r = h.apply("--log", LOG, paths=("repo",))
    assert r.exit_code == 0 and "Nothing to apply." in r.output, r.output
    record(
        "lock: a symbolic link or hard link planted at the lock's path",
        result="refused in one line before any request; the file it names untouched",
    )
