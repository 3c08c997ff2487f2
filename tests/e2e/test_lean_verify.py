"""apply verifies what it wrote, not the whole repo: a settings change on every device of a generated
org re-reads settings only, and a write that did not stick is still reported as Not converged."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.model import mac_with_colons
from reconciler.sim.app import create_app
from reconciler.sim.faults import SimulatedDrop

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

DEVICES = 40
MEMBERS = "GET /v1/telephony/config/devices/{deviceId}/members"
LAYOUT = "GET /v1/telephony/config/devices/{deviceId}/layout"
SETTINGS = "GET /v1/telephony/config/devices/{deviceId}/settings"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Any], tuple[Any, Path, Path]]:
    """A generated org served in-process; (the app, the zero-change repo, the every-device change)."""
    monkeypatch.chdir(tmp_path)
    for name, value in harness.SIM_SECRETS.items():  # what export wrote as fromEnv placeholders
        monkeypatch.setenv(name, value)

    def make(wrap: Any = None) -> tuple[Any, Path, Path]:
        app = create_app(seed=5, devices=DEVICES, job_duration_s=0.01)
        served = wrap(app) if wrap else app
        monkeypatch.setattr(
            cli_module, "make_connection", lambda kw: Connection(sim_app=served, concurrency=8)
        )
        out = harness.export_in_process(app, tmp_path / "export")
        plan_repo, change_repo, count = harness.prepare_repos(out, tmp_path / "repos")
        assert count == DEVICES
        return app, plan_repo, change_repo

    return make


def test_settings_change_on_every_device_verifies_settings_only(org: Callable[..., Any]) -> None:
    app, _plan_repo, change_repo = org()
    stats = app.state.sim.stats
    stats.reset()
    r = run("apply", str(change_repo), "--auto-approve", "--force")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    by_route = stats.requests_by_route
    # members and layout: read once, by the plan; settings: by the plan and by the verification
    assert by_route[MEMBERS] == DEVICES
    assert by_route[LAYOUT] <= DEVICES
    assert by_route[SETTINGS] == 2 * DEVICES
    assert stats.requests_total <= 5 * DEVICES + 30, dict(by_route)


class DropSettingsWrite:
    """An API that answers a device's settings PUT with success and forgets it (a lost write)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.device: str | None = None
        self.dropped = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] == "http"
            and scope["method"] == "PUT"
            and self.device is not None
            and path.endswith(f"/devices/{self.device}/settings")
        ):
            while (await receive()).get("more_body"):
                pass
            self.dropped += 1
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def test_a_write_that_did_not_stick_is_not_converged(org: Callable[..., Any]) -> None:
    fault: dict[str, DropSettingsWrite] = {}

    def wrap(app: Any) -> DropSettingsWrite:
        fault["w"] = DropSettingsWrite(app)
        return fault["w"]

    app, _plan_repo, change_repo = org(wrap)
    calling_id, victim = next(iter(app.state.sim.store.devices.items()))
    fault["w"].device = calling_id
    r = run("apply", str(change_repo), "--auto-approve", "--force")
    assert fault["w"].dropped == 1
    assert r.exit_code != 0
    assert "Not converged" in r.output
    still = r.output.split("Not converged", 1)[1]
    assert mac_with_colons(victim.mac) in still and "device settings" in still


REBUILD = "/v1/telephony/config/jobs/devices/rebuildPhones"
DEVICES_LOOKUP = "GET /v1/devices"
MODELS = "GET /v1/telephony/config/supportedDevices"


def test_the_verification_reuses_the_plans_lookups_and_jobs_share_their_reads(
    org: Callable[..., Any],
) -> None:
    app, _plan_repo, change_repo = org()
    sim = app.state.sim
    sim.stats.reset()
    r = run("apply", str(change_repo), "--auto-approve", "--force")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    by_route = sim.stats.requests_by_route
    # Settings writes and rebuilds change no lookup: the verification reads settings, no listing.
    assert by_route[DEVICES_LOOKUP] == 1 and by_route[MODELS] == 1, dict(by_route)
    # One rebuildPhones job per location (2), started once each: the two starts share one listing
    # of the existing jobs, and both jobs are watched with one listing a round (never a GET each).
    assert dict(sim.stats.jobs_started_by_type) == {"rebuildPhones": 2}
    assert by_route[f"POST {REBUILD}"] == 2
    job_reads = by_route[f"GET {REBUILD}"] + by_route.get(f"GET {REBUILD}/{{jobId}}", 0)
    assert job_reads <= 4, dict(by_route)  # before planning, before the starts, 1-2 rounds
    assert all(d.rebuilds == 1 for d in sim.store.devices.values())


def test_a_members_write_makes_the_verification_look_the_devices_up_again(org: Callable[..., Any]) -> None:
    app, _plan_repo, change_repo = org()
    manifest = next(
        f for f in sorted(change_repo.rglob("*.yaml")) if "allowCallDeclineEnabled: true" in f.read_text()
    )
    manifest.write_text(
        manifest.read_text().replace("allowCallDeclineEnabled: true", "allowCallDeclineEnabled: false", 1)
    )
    app.state.sim.stats.reset()
    r = run("apply", str(change_repo), "--auto-approve", "--force")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    by_route = app.state.sim.stats.requests_by_route
    assert by_route["PUT /v1/telephony/config/devices/{deviceId}/members"] == 1
    # the plan's devices lookup is stale after a members write: read again; the models are not
    assert by_route[DEVICES_LOOKUP] == 2 and by_route[MODELS] == 1, dict(by_route)


class LoseRebuildAnswers:
    """rebuildPhones POSTs are processed (the job starts) and their answers lost; ``kill``: once
    ``times`` of them were processed, the run is interrupted (as by Ctrl-C) instead."""

    def __init__(self, app: Any, times: int, kill: bool = False) -> None:
        self.app = app
        self.left = times
        self.kill = kill
        self.processed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            self.left
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and str(scope.get("path", "")).endswith("/jobs/devices/rebuildPhones")
        ):
            self.left -= 1

            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            self.processed += 1
            if self.kill:
                if self.left:
                    await asyncio.sleep(60)  # until the next start is processed and interrupts
                raise KeyboardInterrupt
            raise SimulatedDrop()  # the answer is lost
        await self.app(scope, receive, send)


def test_lost_answers_to_job_starts_are_recovered_without_a_second_job(org: Callable[..., Any]) -> None:
    fault: dict[str, LoseRebuildAnswers] = {}

    def wrap(app: Any) -> LoseRebuildAnswers:
        fault["w"] = LoseRebuildAnswers(app, times=2)
        return fault["w"]

    app, _plan_repo, change_repo = org(wrap)
    r = run("apply", str(change_repo), "--auto-approve", "--force")
    assert fault["w"].processed == 2
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    # each start found its own job (by location) among the ones its snapshot did not know
    sim = app.state.sim
    assert dict(sim.stats.jobs_started_by_type) == {"rebuildPhones": 2}
    assert sorted(j.location_id for j in sim.store.jobs.values()) == sorted(sim.store.locations)
    assert all(d.rebuilds == 1 for d in sim.store.devices.values())


def test_a_run_killed_after_its_job_starts_is_finished_without_starting_them_again(
    org: Callable[..., Any], tmp_path: Path
) -> None:
    fault: dict[str, LoseRebuildAnswers] = {}

    def wrap(app: Any) -> LoseRebuildAnswers:
        fault["w"] = LoseRebuildAnswers(app, times=2, kill=True)
        return fault["w"]

    app, _plan_repo, change_repo = org(wrap)
    log = tmp_path / "apply.jsonl"
    r = run("apply", str(change_repo), "--auto-approve", "--force", "--log", str(log))
    assert r.exit_code == 130 and fault["w"].processed == 2, r.output
    events = [json.loads(line) for line in log.read_text().splitlines()]
    postings = [e for e in events if e["event"] == "job_posting"]
    assert len(postings) == 2 and not [e for e in events if e["event"] == "job_started"]
    sim = app.state.sim
    assert dict(sim.stats.jobs_started_by_type) == {"rebuildPhones": 2}
    sim.stats.reset()
    r = run("apply", str(change_repo), "--auto-approve", "--force", "--log", str(log))
    assert r.exit_code == 0, r.output
    assert r.output.count("rebuildPhones job") and r.output.count("did start") == 2, r.output
    assert "Converged" in r.output or "Nothing to apply" in r.output, r.output
    assert dict(sim.stats.jobs_started_by_type) == {}  # none started again
    # one listing found both (then one before planning, as every apply makes)
    assert sim.stats.requests_by_route[f"GET {REBUILD}"] == 2
    assert len(sim.store.jobs) == 2 and all(d.rebuilds == 1 for d in sim.store.devices.values())
