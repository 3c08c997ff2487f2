"""apply verifies what it wrote, not the whole repo: a settings change on every device of a generated
org re-reads settings only, and a write that did not stick is still reported as Not converged."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler import cli as cli_module
from reconciler.cli import main
from reconciler.model import mac_with_colons
from reconciler.session import Connection
from reconciler.sim.app import create_app

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
