"""GitOps tests: the CLI against an in-process simulator injected in place of the connection."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROOM = "Y2lzY29zcGFyazovL3VzL1JPT00vZ2l0b3Bz"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A demo-org simulator every CLI command in the test talks to."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WEBEX_BOT_TOKEN", raising=False)
    for var in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "RECONCILER_RUN_URL"):
        monkeypatch.delenv(var, raising=False)
    app = create_app(seed="demo", job_duration_s=0.02)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    yield app


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def copy_examples(dst: Path) -> Path:
    """A config repo to edit: the examples without the CI files that sit beside them."""
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("github-workflows", ".reconcilerignore"))
    return dst


def sim_request(app: Any, method: str, path: str, **kw: Any) -> Any:
    """Act on the simulated org directly, as an admin in Control Hub would (out of band)."""

    async def go() -> Any:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sim/v1",
            headers={"Authorization": "Bearer control-hub"},
        ) as c:
            r = await c.request(method, path, **kw)
            r.raise_for_status()
            return r.json() if r.content else None

    return asyncio.run(go())


def device_id(app: Any, mac: str) -> str:
    return str(sim_request(app, "GET", "/devices", params={"mac": mac})["items"][0]["callingDeviceId"])


def set_backlight(app: Any, mac: str, value: str) -> None:
    dev = device_id(app, mac)
    live = sim_request(app, "GET", f"/telephony/config/devices/{dev}/settings")
    live["customizations"]["mpp"]["backlightTimer"] = value
    body = {"customEnabled": live["customEnabled"], "customizations": live["customizations"]}
    sim_request(app, "PUT", f"/telephony/config/devices/{dev}/settings", json=body)


MEMBER_FIELDS = (
    "id",
    "port",
    "primaryOwner",
    "lineType",
    "lineWeight",
    "hotlineEnabled",
    "hotlineDestination",
    "allowCallDeclineEnabled",
    "lineLabel",
)


def keep_members(app: Any, mac: str, keep: Callable[[dict[str, Any]], bool]) -> None:
    """Replace a device's members with those ``keep`` accepts (someone removed a line)."""
    dev = device_id(app, mac)
    members = sim_request(app, "GET", f"/telephony/config/devices/{dev}/members")["members"]
    body = [{k: m[k] for k in MEMBER_FIELDS if k in m} for m in members if keep(m)]
    for b in body:
        b.setdefault("hotlineDestination", "")
    sim_request(app, "PUT", f"/telephony/config/devices/{dev}/members", json={"members": body})


@pytest.fixture
def applied(sim: Any, tmp_path: Path) -> Path:
    """The examples applied to the simulated org: a repo with no drift."""
    repo = copy_examples(tmp_path / "repo")
    r = run("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    return repo
