"""schemathesis against the simulator, from the vendored official spec, with the demo org's ids:
no server error, status codes, content types, response headers and bodies as the spec says, and a
405 with ``Allow`` for every method a path does not declare.

A small deterministic budget here (schemathesis' coverage phase, which sends every undeclared method
of every path and the boundary and negative values of every parameter, plus a few generated cases
per operation: about 5,000 requests). ``python -m benchmarks.fuzz`` runs larger randomized rounds
against ``reconciler sim serve`` and samples its memory (docs/benchmarks.md has the numbers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fuzz  # noqa: E402
from reconciler.sim import device_settings  # noqa: E402
from reconciler.sim.app import create_app  # noqa: E402
from reconciler.sim.routes import devices  # noqa: E402

SMALL = 5  # generated cases per operation, on top of the coverage phase


def test_the_fuzzer_finds_no_failure_in_the_simulator(tmp_path: Path) -> None:
    app = create_app(token=fuzz.TOKEN, job_duration_s=0.05)
    with fuzz.served_app(app) as url:
        out = fuzz.fuzz(url, tmp_path, examples=SMALL, seed=0)
    problems = out.failures + out.errors
    assert not problems, "\n\n".join(problems[:10])
    assert out.exit_code == 0, out.output[-3000:]
    assert out.cases >= 3000, out.output[-3000:]
    by_status = app.state.sim.stats.requests_by_status
    assert not [s for s in by_status if s.startswith("5")], by_status
    # every path was asked undeclared methods; requests reached the handlers and their checks
    assert by_status["405"] >= 200 and by_status["400"] >= 1000, by_status
    assert by_status["200"] >= 100 and by_status["204"] >= 10, by_status


def test_the_fuzz_run_reports_what_it_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker can fail: a handler that crashes and one whose answer breaks its schema are reported."""

    def crash(*_: Any) -> Any:
        raise RuntimeError("simulated bug")

    def wrong_shape(*_: Any, **__: Any) -> Any:
        return JSONResponse({"devices": "none"})

    app = create_app(token=fuzz.TOKEN, job_duration_s=0.05)
    with fuzz.served_app(app) as url:
        ids = fuzz.demo_ids(url)
        monkeypatch.setattr(device_settings, "org_settings_view", crash)
        monkeypatch.setattr(devices, "ok", wrong_shape)
        out = fuzz.fuzz(
            url,
            tmp_path,
            examples=2,
            seed=0,
            ids=ids,
            include=["GET /telephony/config/devices/settings", "GET /telephony/config/supportedDevices"],
        )
    assert out.exit_code != 0
    found = "\n".join(out.failures)
    assert "GET /telephony/config/devices/settings" in found, found
    assert "Server error" in found and "[500]" in found, found
    assert "GET /telephony/config/supportedDevices" in found and "schema" in found.lower(), found
    assert not out.clean
