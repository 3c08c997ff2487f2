"""An apply that creates a template or uploads an image, against an API that lists new objects a few
seconds late: its verification waits for them to be listed (bounded by ``--listing-lag``) instead
of reporting "Not converged" (exit 1) with both planned again, and a second apply right after
creates nothing twice. Before, the verification read the listings at once: exit 1, and the next
apply uploaded the image again and got the API's 409 for the template."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .conftest import Harness, record

LAG_S = 2.0


def _posts(h: Harness, ending: str) -> int:
    writes = h.sim.stats.writes_by_route
    return sum(v for k, v in writes.items() if k.startswith("POST") and k.endswith(ending))


def test_an_apply_that_creates_waits_for_the_listing_before_verifying(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    h.sim.faults.listing_lag_s = LAG_S
    started = time.monotonic()
    r = h.apply("--log", "log.jsonl", paths=("repo",))
    took = time.monotonic() - started
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert took < LAG_S + 10
    again = h.apply("--log", "log.jsonl", paths=("repo",))
    assert again.exit_code == 0 and "Nothing to apply" in again.output, again.output
    assert _posts(h, "/lineKeyTemplates") == 1
    assert _posts(h, "/backgroundImageUpload/invoke") == 1
    record(
        "listing lag 2 s after a template create and an image upload (no answer lost)",
        result="verification waits for the listing: converged, exit 0; a second apply creates nothing",
        wall_s=round(took, 1),
    )


def test_without_lag_the_wait_costs_one_listing(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    r = h.apply("--log", "log.jsonl", paths=("repo",))
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    reads = h.sim.stats.requests_by_route
    assert reads["GET /v1/telephony/config/devices/backgroundImages"] <= 3, reads
    assert reads["GET /v1/telephony/config/devices/lineKeyTemplates"] <= 3, reads
