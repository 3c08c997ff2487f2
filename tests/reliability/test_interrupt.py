"""Kill apply (SIGKILL, SIGINT) at random points and at chosen moments of its jobs; re-runs finish.

The real CLI runs in a subprocess (``apply --base-url``) against the simulator on a loopback port
(served from this process, so its counters and hooks are at hand). After each kill, apply is run
again until it exits 0; then, against an uninterrupted run: every data write happened exactly as
often (none repeated, none lost), every job completed exactly once per step (none started twice,
none lost), every job POST the simulator processed started one job, and every device written was
pushed afterwards.

Moved here from tests/e2e/test_interrupt.py and grown: besides random moments, kills while a job
POST is in flight (processed by the server, answer not yet back), while waiting for a job, and
in the middle of the device writes. INTERRUPT_SEED / INTERRUPT_ROUNDS widen the random rounds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import EXAMPLES, TOKEN, Harness, Rule, record, route


@dataclass
class Reference:
    data_writes: dict[str, int]
    jobs: dict[str, int]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    h = Harness(tmp_path_factory.mktemp("interrupt-reference"))
    try:
        r = h.apply()
        assert r.exit_code == 0 and "Converged" in r.output, r.output
        yield Reference(h.data_writes(), h.jobs_started())
    finally:
        h.stop()


def apply_cmd(h: Harness, log: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reconciler.cli",
        "apply",
        str(EXAMPLES),
        "--base-url",
        h.url,
        "--auto-approve",
        "--log",
        str(log),
    ]


def env() -> dict[str, str]:
    return {**os.environ, "WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1"}


def log_events(log: Path) -> list[dict[str, object]]:
    out = []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def finish(h: Harness, log: Path, tmp: Path) -> list[str]:
    """Re-run apply until it exits 0 (at most 3 times); return the outputs."""
    outputs = []
    for _ in range(3):
        r = subprocess.run(apply_cmd(h, log), env=env(), capture_output=True, text=True, timeout=120, cwd=tmp)
        out = r.stdout + r.stderr
        assert "Traceback" not in out and "internal error" not in out, out
        outputs.append(out)
        if r.returncode == 0:
            return outputs
    raise AssertionError("apply did not finish:\n" + "\n=====\n".join(outputs))


Trigger = Callable[[list[dict[str, object]], float], bool]


def on_event(event: str, step_prefix: str, after: float = 0.0) -> Trigger:
    """When the log shows ``event`` for a step starting with ``step_prefix`` (plus ``after`` s)."""
    seen_at: list[float] = []

    def trigger(events: list[dict[str, object]], elapsed: float) -> bool:
        if not seen_at and any(
            e.get("event") == event and str(e.get("step", "")).startswith(step_prefix) for e in events
        ):
            seen_at.append(elapsed)
        return bool(seen_at) and elapsed >= seen_at[0] + after

    return trigger


@dataclass
class Round:
    name: str
    sig: signal.Signals
    trigger: Trigger
    slow_job_answer: str | None = None  # hold the answer to this job type's POST for 1.5 s
    slow_times: int = 1  # ... the first this many of them (the org's settings job comes first)
    job_duration_s: float = 0.05
    expect: str = ""  # what the re-run must say


def rounds() -> list[Round]:
    rng = random.Random(int(os.environ.get("INTERRUPT_SEED", "11")))
    out = [
        Round(
            "SIGKILL while a settings job POST is in flight (processed, answer not back)",
            signal.SIGKILL,
            on_event("job_posting", "LocationDeviceSettings/", after=0.4),
            slow_job_answer="callDeviceSettings",
            slow_times=2,
            expect="did start",
        ),
        Round(
            "SIGINT while waiting for the template job",
            signal.SIGINT,
            on_event("job_started", "LineKeyTemplateAssignment/", after=0.2),
            job_duration_s=2.0,  # the signal lands while the job runs, even on a busy machine
            expect="waiting for applyLineKeyTemplate job",
        ),
        Round(
            "SIGKILL in the middle of the device writes",
            signal.SIGKILL,
            on_event("start", "Device/", after=0.05),
        ),
        Round(
            "SIGKILL while the rebuildPhones job POST is in flight",
            signal.SIGKILL,
            on_event("job_posting", "Location/", after=0.4),
            slow_job_answer="rebuildPhones",
            expect="did start",
        ),
    ]
    for i in range(int(os.environ.get("INTERRUPT_ROUNDS", "1"))):
        sig = signal.SIGKILL if i % 2 else signal.SIGINT
        # a random moment of the apply itself (after its log began; jobs of 0.5 s keep it running)
        moment = round(rng.uniform(0.0, 1.0), 2)
        trigger = on_event("begin", "", after=moment)
        out.append(
            Round(
                f"{sig.name} at a random moment ({moment} s into the apply)", sig, trigger, job_duration_s=0.5
            )
        )
    return out


ROUNDS = rounds()


@pytest.mark.parametrize("case", ROUNDS, ids=[r.name for r in ROUNDS])
def test_killed_apply_is_finished_by_a_rerun_with_nothing_repeated_or_lost(
    case: Round, harness: Callable[..., Harness], reference: Reference, tmp_path: Path
) -> None:
    h = harness(job_duration_s=case.job_duration_s)
    if case.slow_job_answer:
        h.perturb.add(
            Rule(
                route("POST", rf"/jobs/devices/{case.slow_job_answer}$"),
                "delay_after",
                times=case.slow_times,
                delay=1.5,
            )
        )
    log = tmp_path / "apply.jsonl"
    proc = subprocess.Popen(
        apply_cmd(h, log), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    started = time.monotonic()
    killed_at: list[dict[str, object]] | None = None
    while proc.poll() is None and time.monotonic() - started < 30:
        events = log_events(log)
        if case.trigger(events, time.monotonic() - started):
            killed_at = events
            proc.send_signal(case.sig)
            break
        time.sleep(0.02)
    proc.wait(timeout=60)
    first = proc.stdout.read().decode() if proc.stdout else ""
    assert killed_at is not None, f"the kill moment never came:\n{first}"
    assert "Traceback" not in first, first
    if case.sig == signal.SIGINT:
        assert proc.returncode in (0, 1, 130), first
    else:
        assert proc.returncode == -signal.SIGKILL
    # A SIGINT that lands after the last await of the step it aimed at lets the run finish
    # (an "end" record): then there is nothing for the re-run to pick up.
    finished_anyway = case.sig == signal.SIGINT and any(e.get("event") == "end" for e in log_events(log))
    outputs = finish(h, log, tmp_path)
    assert "Converged" in outputs[-1] or "Nothing to apply" in outputs[-1], outputs[-1]
    assert finished_anyway or case.expect in outputs[0], (first, outputs[0])
    writes = Counter(h.data_writes())
    want = Counter(reference.data_writes)
    repeated = sum(max(0, writes[k] - want[k]) for k in set(writes) | set(want))
    lost = sum(max(0, want[k] - writes[k]) for k in set(writes) | set(want))
    outcomes = h.jobs_by_outcome()
    completed = Counter({t: n for (t, code), n in outcomes.items() if code == "COMPLETED"})
    jobs_repeated = sum(max(0, completed[t] - reference.jobs.get(t, 0)) for t in completed)
    jobs_lost = sum(max(0, n - completed[t]) for t, n in reference.jobs.items())
    job_posts = sum(v for k, v in h.perturb.processed_writes().items() if "/jobs/devices/" in k)
    unpushed = h.unpushed_writes()
    last: dict[str, object] = killed_at[-1] if killed_at else {"event": "(before the apply log was opened)"}
    last_event = str(last.get("event")) + " " + str(last.get("step", ""))
    record(
        f"interrupt: {case.name}",
        result=f"killed after '{last_event.strip()}'; converged on re-run {len(outputs)}",
        runs=1 + len(outputs),
        writes_duplicated=repeated,
        writes_lost=lost,
        jobs_duplicated=jobs_repeated,
        jobs_lost=jobs_lost,
        pushes_lost=len(unpushed),
    )
    assert repeated == 0 and lost == 0, (dict(writes), reference.data_writes)
    assert jobs_repeated == 0 and jobs_lost == 0, (outcomes, reference.jobs)
    assert job_posts == sum(h.jobs_started().values()), (job_posts, h.jobs_started())
    assert not unpushed, unpushed
