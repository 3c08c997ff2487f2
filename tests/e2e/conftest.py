from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of examples/ that a test may edit."""
    dst = tmp_path / "repo"
    shutil.copytree(EXAMPLES, dst)
    return dst


@pytest.fixture
def sim_state(tmp_path: Path) -> Path:
    return tmp_path / "sim-state.json"


@pytest.fixture
def cli(tmp_path: Path, sim_state: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the CLI against the embedded simulator whose state lives in ``sim_state``."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, simulate: bool = True) -> Result:
        argv = list(args)
        if simulate and argv[0] in ("plan", "apply"):
            argv += ["--simulate", "--sim-state", str(sim_state)]
        return CliRunner().invoke(main, argv, catch_exceptions=False)

    return invoke


def sim_call(sim_state: Path, method: str, path: str, **kw: Any) -> Any:
    """Act on the simulated org directly, as someone in Control Hub would (out of band)."""
    from reconciler.sim.app import create_app

    async def go() -> Any:
        app = create_app(seed="demo", state_file=str(sim_state), job_duration_s=0)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sim/v1",
            headers={"Authorization": "Bearer test"},
        ) as c:
            r = await c.request(method, path, **kw)
            r.raise_for_status()
            return r.json() if r.content else None

    return asyncio.run(go())


def device_id(sim_state: Path, mac: str) -> str:
    items = sim_call(sim_state, "GET", "/devices", params={"mac": mac})["items"]
    return str(items[0]["callingDeviceId"])


@pytest.fixture
def demo_org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A fresh demo org, in process, behind the CLI's connection (the app, for its counters)."""
    from reconciler.cli import options as cli_module
    from reconciler.flows.connect import Connection
    from reconciler.sim.app import create_app

    monkeypatch.chdir(tmp_path)
    app = create_app(seed="demo", job_duration_s=0)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    return app


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)
