"""The fault matrix: each fault, through the CLI, against the simulator on a loopback socket.

For every case the run either converges or stops with a clear error (no traceback), a re-run
finishes the work from the apply log, and the simulator's counters show, against a fault-free
reference run: no data write duplicated or lost, no job started twice for one step (only a job
that ended FAILED / COMPLETED_WITH_ERRORS is run again), no configuration push lost.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import TOKEN, Harness, Rule, record, route

JOB_POST = r"/jobs/devices/\w+$"


@dataclass
class Reference:
    data_writes: dict[str, int]
    jobs: dict[str, int]
    processed_job_posts: int


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """An apply of the example repo with no fault at all."""
    h = Harness(tmp_path_factory.mktemp("reference"))
    try:
        r = h.apply()
        assert r.exit_code == 0 and "Converged" in r.output, r.output
        assert not h.unpushed_writes()
        yield Reference(h.data_writes(), h.jobs_started(), _job_posts(h))
    finally:
        h.stop()


def _job_posts(h: Harness) -> int:
    return sum(v for k, v in h.perturb.processed_writes().items() if "/jobs/devices/" in k)


def clean(output: str) -> None:
    """No traceback, no internal error; a failure says what failed."""
    assert "Traceback" not in output, output
    assert "internal error" not in output and "RuntimeWarning" not in output, output


def converge(h: Harness, *extra: str, runs: int = 3) -> list[str]:
    """apply until it exits 0; every output checked; returns the outputs."""
    outputs: list[str] = []
    for _ in range(runs):
        # the simulator lists a new job or object at once: a short look proves a POST did not land
        r = h.apply("--listing-lag", "2", *extra)
        outputs.append(r.output)
        clean(r.output)
        if r.exit_code == 0:
            return outputs
        assert r.exit_code == 1, r.output
        assert "Error:" in r.output or "failed  " in r.output or "Not converged" in r.output, r.output
    raise AssertionError("no convergence after re-runs:\n" + "\n=====\n".join(outputs))


def check_and_record(
    case: str,
    h: Harness,
    ref: Reference,
    outputs: list[str],
    *,
    extra_jobs: Counter[str] | None = None,
    extra_writes: dict[str, int] | None = None,
    **notes: Any,
) -> None:
    """Nothing left to do, nothing written twice or lost, every job started once per need."""
    # apply verified it by planning again: live state matches the manifests
    assert "Converged" in outputs[-1] or "Nothing to apply" in outputs[-1], outputs[-1]
    writes = Counter(h.data_writes())
    writes.subtract(Counter(extra_writes or {}))
    want = Counter(ref.data_writes)
    duplicated = sum(max(0, writes[k] - want[k]) for k in set(writes) | set(want))
    lost = sum(max(0, want[k] - writes[k]) for k in set(writes) | set(want))
    outcomes = h.jobs_by_outcome()
    completed = Counter({t: n for (t, code), n in outcomes.items() if code == "COMPLETED"})
    completed.subtract(extra_jobs or Counter())
    # A rebuildPhones job pushes what changed since the last one: a re-run that changes a location
    # again (a failed job re-run) pushes it again, and must. A rebuild with no change before it is
    # the duplicate (``needless_rebuilds``).
    needless = h.needless_rebuilds()
    unsuccessful = sum(n for (_, code), n in outcomes.items() if code != "COMPLETED")
    jobs_duplicated = len(needless) + sum(
        max(0, completed[t] - ref.jobs.get(t, 0)) for t in completed if t != "rebuildPhones"
    )
    jobs_lost = sum(max(0, n - completed[t]) for t, n in ref.jobs.items())
    # A job POST the simulator processed started exactly one job: none was sent twice.
    job_posts = _job_posts(h)
    started = sum(h.jobs_started().values()) - sum((extra_jobs or Counter()).values())
    pushes_lost = h.unpushed_writes()
    result = "converged" if len(outputs) == 1 else f"clean error, converged on re-run {len(outputs)}"
    record(
        case,
        result=result,
        runs=len(outputs),
        writes_duplicated=duplicated,
        writes_lost=lost,
        jobs_duplicated=jobs_duplicated,
        jobs_lost=jobs_lost,
        jobs_rerun_after_failure=unsuccessful,
        pushes_lost=len(pushes_lost),
        **notes,
    )
    assert duplicated == 0 and lost == 0, (dict(writes), ref.data_writes)
    assert jobs_duplicated == 0 and jobs_lost == 0, (outcomes, ref.jobs)
    assert job_posts == started, (job_posts, started)
    assert not pushes_lost, pushes_lost


# -- 429 storms ----------------------------------------------------------------------------------


class Storm:
    """Every request answered 429 (Retry-After: 1) for ``length`` s after the Nth request."""

    def __init__(self, at: tuple[int, ...], length: float = 0.4) -> None:
        self.at = set(at)
        self.length = length
        self.n = 0
        self.until = 0.0
        self.started: list[float] = []

    def __call__(self, method: str, path: str) -> bool:
        self.n += 1
        now = time.monotonic()
        if self.n in self.at:
            self.until = now + self.length
            self.started.append(now)
        return now < self.until


def test_429_storms_are_waited_out_by_every_task(
    harness: Callable[..., Harness], reference: Reference
) -> None:
    h = harness()
    storm = Storm(at=(15, 70, 120))
    h.perturb.add(Rule(storm, "status", status=429, headers={"Retry-After": "1"}))
    outputs = converge(h)
    refused = [s for s in h.perturb.seen if s.status == 429]
    assert len(storm.started) == 3 and refused
    # Retry-After is honoured: a refused request is sent again no sooner than 1 s later.
    attempts: dict[str, list[float]] = {}
    for s in h.perturb.seen:
        attempts.setdefault(s.tracking.rsplit("_", 1)[0], []).append(s.at)
    for s in refused:
        later = [t for t in attempts[s.tracking.rsplit("_", 1)[0]] if t > s.at]
        assert not later or min(later) - s.at >= 0.95, (s.path, min(later) - s.at)
    # The gate is shared: once a 429 was answered, no task starts a new request until it passed
    # (requests already decided on when the 429 came back may still land in the first moments).
    for t0 in storm.started:
        # (the request that starts a storm is seen a moment before the storm's clock starts)
        first = min(s.at for s in refused if s.at >= t0 - 0.05)
        early = [s for s in h.perturb.seen if first + 0.6 < s.at < first + 0.95]
        assert not early, [(round(s.at - first, 3), s.method, s.path) for s in early]
    check_and_record(
        "429 storms (Retry-After: 1)", h, reference, outputs, answered_429=len(refused), storms=3
    )


# -- 5xx -----------------------------------------------------------------------------------------


def test_random_5xx(harness: Callable[..., Harness], reference: Reference) -> None:
    h = harness(seed=5)
    h.perturb.add(Rule(route("*", "."), "status", rate=0.12, statuses=(500, 502, 503, 504)))
    outputs = converge(h, "--timeout", "0.5")
    injected = Counter(s.status for s in h.perturb.seen if s.perturbed == "status")
    assert sum(injected.values()) > 10, injected
    check_and_record(
        "random 500/502/503/504 (12 % of requests, job POSTs included; --timeout 0.5)",
        h,
        reference,
        outputs,
        injected=sum(injected.values()),
    )


# -- dropped connections -------------------------------------------------------------------------


def test_dropped_connections_before_and_after_processing(
    harness: Callable[..., Harness], reference: Reference
) -> None:
    h = harness(seed=3, drop_rate=0.06)
    # lost answers: the request was processed, its answer never arrives
    lost = h.perturb.add(Rule(route("*", "."), "lose", rate=0.06))
    # and surely once for a job POST and for the template create
    h.perturb.rules.insert(0, Rule(route("POST", JOB_POST), "lose", times=2))
    h.perturb.rules.insert(0, Rule(route("POST", r"/lineKeyTemplates$"), "lose", times=1))
    outputs = converge(h)
    assert lost.hits > 3 and h.sim.stats.drops_total > 3
    check_and_record(
        "dropped connections (6 % before, 6 % after processing; surely 2 job POSTs and the template create)",
        h,
        reference,
        outputs,
        drops_before=h.sim.stats.drops_total,
        answers_lost=lost.hits + 3,
    )


# -- slow answers past the client timeout --------------------------------------------------------


def test_slow_answers_past_the_timeout(harness: Callable[..., Harness], reference: Reference) -> None:
    h = harness(seed=9)
    # the first settings job is processed late (after the client gave up), the first template
    # job is processed at once but answered late; 8 % of all requests are processed late
    h.perturb.add(Rule(route("POST", r"/callDeviceSettings$"), "delay_before", times=1, delay=1.0))
    h.perturb.add(Rule(route("POST", r"/applyLineKeyTemplate$"), "delay_after", times=1, delay=1.0))
    slow = h.perturb.add(Rule(route("*", "."), "delay_before", rate=0.04, delay=0.8))
    outputs = converge(h, "--timeout", "0.4")
    assert slow.hits > 2
    check_and_record(
        "slow answers past the client timeout (--timeout 0.4; 4 % of answers take 0.8 s, two job POSTs 1 s)",
        h,
        reference,
        outputs,
        slow_answers=slow.hits + 2,
    )


# -- jobs that fail ------------------------------------------------------------------------------


def test_failed_jobs_are_reported_and_rerun_once(
    harness: Callable[..., Harness], reference: Reference
) -> None:
    h = harness()
    h.sim.fail_next_job("callDeviceSettings", "FAILED")
    h.sim.fail_next_job("applyLineKeyTemplate", "COMPLETED_WITH_ERRORS", ["0A1B2C3D4E08"])
    h.sim.fail_next_job("rebuildPhones", "FAILED")
    outputs = converge(h)
    assert len(outputs) == 2, outputs
    failed = [ln for ln in outputs[0].splitlines() if ln.startswith("  failed  ")]
    assert len(failed) == 3 and all(" ended " in ln for ln in failed), failed
    assert "ended COMPLETED_WITH_ERRORS" in outputs[0]
    assert "Device 0A1B2C3D4E08 could not be updated" in outputs[0]
    check_and_record(
        "jobs that end FAILED (a settings job, the rebuildPhones job) or COMPLETED_WITH_ERRORS "
        "(the template job, one device)",
        h,
        reference,
        outputs,
    )


# -- 409: a device-settings job already running --------------------------------------------------


def _external_settings_job(h: Harness, duration: float) -> None:
    """Someone else's org-level callDeviceSettings job (it re-sets the current values)."""
    sim = h.sim
    body = {"customizations": copy.deepcopy(sim.store.org_customizations)}
    job = sim.start_job("callDeviceSettings", body, "EXTERNAL", None)
    job.duration = duration


@pytest.mark.parametrize("when", ["during apply (409)", "before apply"])
def test_a_concurrent_settings_job(harness: Callable[..., Harness], reference: Reference, when: str) -> None:
    h = harness()
    if when == "before apply":
        # long enough to still run when apply starts, even on a busy machine
        _external_settings_job(h, 2.0)
    else:
        h.perturb.add(
            Rule(
                route("POST", r"/callDeviceSettings$"),
                "hook",
                times=1,
                hook=lambda: _external_settings_job(h, 0.5),
            )
        )
    outputs = converge(h)
    refused = [s for s in h.perturb.seen if s.status == 409]
    if when == "during apply (409)":
        assert len(refused) == 1, refused
        assert "another callDeviceSettings job is running; waiting" in outputs[0]
    else:
        assert "waiting for it before planning" in outputs[0]
    check_and_record(
        f"a concurrent callDeviceSettings job, {when}",
        h,
        reference,
        outputs,
        extra_jobs=Counter({"callDeviceSettings": 1}),
        answered_409=len(refused),
    )


# -- out-of-band change between plan and apply ---------------------------------------------------


def test_out_of_band_change_between_plan_and_apply(
    harness: Callable[..., Harness], reference: Reference, tmp_path: Path, repo: Path
) -> None:
    h = harness()
    saved = tmp_path / "plan.json"
    r = h.run("plan", str(repo), "--out", str(saved))
    assert r.exit_code == 0, r.output
    mac = "0A1B2C3D4E04"
    cid = next(d.calling_id for d in h.sim.store.devices.values() if d.mac == mac)
    path = f"/telephony/config/devices/{cid}/settings"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=h.url, headers=headers) as c:  # an admin in Control Hub
        live = c.get(path).raise_for_status().json()
        live["customEnabled"] = True
        live["customizations"]["mpp"]["backlightTimer"] = "ONE_MIN"
        c.put(path, json=live).raise_for_status()
    oob = h.data_writes()
    before = (h.sim.stats.writes_total, h.sim.stats.jobs_started_total)
    r = h.run("apply", "--plan", str(saved), "--auto-approve")
    clean(r.output)
    assert r.exit_code == 1 and "stale" in r.output, r.output
    assert "Device 0A:1B:2C:3D:4E:04 (Cisco 6871, dave@example.com)" in r.output  # the object, not its path
    assert path not in r.output
    assert (h.sim.stats.writes_total, h.sim.stats.jobs_started_total) == before  # nothing written
    outputs = converge(h)  # a plain apply plans again
    assert "Converged" in outputs[0]
    check_and_record(
        "out-of-band change between plan and apply",
        h,
        reference,
        ["refused as stale", *outputs],
        extra_writes=oob,
        stale_plan_writes=0,
    )
