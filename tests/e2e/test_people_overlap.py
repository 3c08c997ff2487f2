"""A plan reads its devices while the people are still being listed (``planning.kinds.pending``):
only a device's members need the people, after its reads. Same requests and the same plan; a
people listing that fails still fails the plan, naming the endpoint."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

DEVICES = 40
SLOTS = 8
MEMBERS = "GET /v1/telephony/config/devices/{deviceId}/members"


class SlowPeople:
    """The simulator, with the people listing answered ``delay`` seconds late (or refused: 403),
    noting when each request reached it and when the people listing's answer left."""

    def __init__(self, app: Any, delay: float, refuse: bool = False) -> None:
        self.app = app
        self.delay = delay
        self.refuse = refuse
        self.device_reads: list[float] = []
        self.people_answered: float | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path == "/v1/people" and self.delay:
            await asyncio.sleep(self.delay)
            if self.refuse:
                await _refuse(send)
            else:
                await self.app(scope, receive, send)
            self.people_answered = time.monotonic()
            return
        if path.startswith("/v1/telephony/config/devices/") and path.endswith("/members"):
            self.device_reads.append(time.monotonic())
        await self.app(scope, receive, send)


async def _refuse(send: Any) -> None:
    body = b'{"message": "not allowed", "trackingId": "T-people"}'
    headers = [(b"content-type", b"application/json"), (b"trackingid", b"T-people")]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., tuple[Any, SlowPeople, Path]]:
    """A generated org in-process, exported to a zero-change repo; then served through SlowPeople."""
    monkeypatch.chdir(tmp_path)
    for name, value in harness.SIM_SECRETS.items():
        monkeypatch.setenv(name, value)

    def make(delay: float, refuse: bool = False) -> tuple[Any, SlowPeople, Path]:
        app = create_app(seed=5, devices=DEVICES)
        served = SlowPeople(app, delay, refuse)
        monkeypatch.setattr(
            cli_module, "make_connection", lambda kw: Connection(sim_app=served, concurrency=SLOTS)
        )
        plan_repo, _change, _n = harness.prepare_repos(
            harness.export_in_process(app, tmp_path / "export"), tmp_path / "repos"
        )
        app.state.sim.stats.reset()
        return app, served, plan_repo

    return make


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_devices_are_read_while_the_people_are_listed(org: Callable[..., Any]) -> None:
    app, served, repo = org(delay=0.5)
    r = run("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output  # the same zero-change plan
    stats = app.state.sim.stats
    assert stats.requests_by_route[MEMBERS] == DEVICES and stats.requests_by_route["GET /v1/people"] == 1
    assert served.people_answered is not None and len(served.device_reads) == DEVICES
    # devices were read before the people came back, more than the planners in flight (2 a slot):
    # a device waiting for the people to compare its members gave its place to the next one
    early = [t for t in served.device_reads if t < served.people_answered]
    assert len(early) > 2 * SLOTS


def test_a_people_listing_that_fails_fails_the_plan(org: Callable[..., Any]) -> None:
    _app, served, repo = org(delay=0.2, refuse=True)
    r = CliRunner().invoke(main, ["plan", str(repo)])
    assert r.exit_code not in (0, 2) and served.people_answered is not None
    assert "/people" in r.output and "403" in r.output and "T-people" in r.output, r.output
