"""reconciler.sim.server.serve hands the app to uvicorn."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from reconciler.sim import server


def test_serve_builds_the_app_and_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: uvicorn.Server) -> None:
        seen["config"] = self.config

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    server.serve(host="127.0.0.1", port=9999, seed=2, devices=50, rate_limit=10.0, base_url=None)
    config = seen["config"]
    assert (config.host, config.port) == ("127.0.0.1", 9999)
    sim = config.app.state.sim
    assert len(sim.store.devices) == 50 and sim.faults.rate_limit == 10.0
