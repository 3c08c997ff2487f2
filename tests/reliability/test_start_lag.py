"""Exactly-once starts and creates when answers are lost and listings lag.

The simulator lists a new job, template or image only ``listing_lag_s`` seconds after it made it
(``Faults.listing_lag_s``, ``sim serve --listing-lag``), as the real API does. The POST that starts
the template job, creates the template or uploads the image is processed and its answer lost: the
client looks for the object in the listing for up to ``--listing-lag`` seconds, finds it once it
shows, and adopts it. Nothing is started or created twice, and the apply converges. When the
object does not show within the window after a POST that got no answer in time, the step fails
saying it may have started, and sends nothing again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .conftest import Harness, Rule, record, route

LAG_S = 2.5
JOB = r"/jobs/devices/applyLineKeyTemplate$"
TEMPLATES = r"/devices/lineKeyTemplates$"
UPLOAD = r"/actions/backgroundImageUpload/invoke$"


def test_lost_answers_under_listing_lag_start_and_create_once(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    h.sim.faults.listing_lag_s = LAG_S
    lost = [
        h.perturb.add(Rule(route("POST", pattern), "lose", times=1)) for pattern in (JOB, TEMPLATES, UPLOAD)
    ]
    started = time.monotonic()
    r = h.apply("--log", "log.jsonl", paths=("repo",))
    took = time.monotonic() - started
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert [rule.hits for rule in lost] == [1, 1, 1]  # each answer was lost once
    assert h.jobs_started().get("applyLineKeyTemplate") == 1  # not a second job
    writes = h.sim.stats.writes_by_route
    assert sum(v for k, v in writes.items() if k.endswith("backgroundImageUpload/invoke")) == 1
    assert sum(v for k, v in writes.items() if k.endswith("/lineKeyTemplates") and "POST" in k) == 1
    assert len(h.sim.store.templates) == len({t.name for t in h.sim.store.templates.values()})
    assert took >= LAG_S  # it did wait for the listing
    record(
        "exactly once: job start, template create and image upload with lost answers, listings lagging 2.5 s",
        result="each adopted once listed: one job, one template, one upload; converged",
        wall_s=round(took, 1),
    )


def test_a_start_that_may_have_happened_fails_instead_of_starting_twice(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    h.sim.faults.listing_lag_s = 30.0  # longer than the window below
    slow = h.perturb.add(Rule(route("POST", JOB), "delay_after", delay=2.0, times=1))
    r = h.apply("--log", "log.jsonl", "--timeout", "1", "--listing-lag", "1", paths=("repo",))
    assert r.exit_code == 1, r.output
    assert slow.hits == 1
    assert "applyLineKeyTemplate job may have started all the same" in r.output, r.output
    assert "re-run apply to check and finish" in r.output and "internal error" not in r.output
    assert h.jobs_started().get("applyLineKeyTemplate") == 1  # sent once, never again
    posts = [s for s in h.perturb.seen if s.method == "POST" and s.path.endswith("applyLineKeyTemplate")]
    assert len(posts) == 1
    record(
        "exactly once: job start with no answer in time and a listing lagging past --listing-lag",
        result="the step fails 'may have started'; the POST was sent once",
    )


def test_the_simulator_lists_new_jobs_late_when_asked(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.sim.faults.listing_lag_s = 60.0
    location = next(iter(h.sim.store.locations))
    job = h.sim.start_job("rebuildPhones", {"locationId": location}, "T", location)
    assert not h.sim.faults.listed(job.id)
    h.sim.advance(61.0)
    assert h.sim.faults.listed(job.id)
    for args in (["sim", "serve", "--help"], ["apply", "--help"]):
        assert "--listing-lag" in h.run(*args, connect=False).output
    bad = h.run("sim", "serve", "--listing-lag", "-1", connect=False)
    assert bad.exit_code == 1 and "--listing-lag" in bad.output
