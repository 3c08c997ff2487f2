"""apply under faults, through the CLI, against an in-process simulator with faults turned on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

from .conftest import EXAMPLES


@pytest.fixture
def with_sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """Build a simulator with the given faults and point the CLI's connection at it."""
    monkeypatch.chdir(tmp_path)

    def make(**faults: Any) -> Any:
        app = create_app(seed="demo", job_duration_s=0.05, **faults)
        monkeypatch.setattr(
            cli_module,
            "make_connection",
            lambda kw: Connection(sim_app=app, concurrency=8, listing_lag=kw.get("listing_lag")),
        )
        return app

    return make


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def jobs_started(app: Any) -> dict[str, int]:
    return dict(app.state.sim.stats.jobs_started_by_type)


def test_reference_run_counts(with_sim: Callable[..., Any]) -> None:
    app = with_sim()
    r = run("apply", str(EXAMPLES), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert jobs_started(app) == {"callDeviceSettings": 2, "applyLineKeyTemplate": 1, "rebuildPhones": 2}


def test_converges_under_20_percent_faults_without_duplicate_jobs(with_sim: Callable[..., Any]) -> None:
    app = with_sim(error_rate=0.2, rate_limit=40.0)
    app.state.sim.faults.rng.seed(7)
    # the simulator lists a new job at once: a short look proves a failed start did not land
    r = run("apply", str(EXAMPLES), "--auto-approve", "--listing-lag", "1")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    s = app.state.sim.stats
    assert s.errors_injected_total + s.rate_limited_total > 5
    assert jobs_started(app) == {"callDeviceSettings": 2, "applyLineKeyTemplate": 1, "rebuildPhones": 2}


def test_a_rejected_device_fails_alone_and_a_rerun_finishes(with_sim: Callable[..., Any]) -> None:
    app = with_sim()
    app.state.sim.reject_device("0A1B2C3D4E04")
    r = run("apply", str(EXAMPLES), "--auto-approve")
    assert r.exit_code == 1
    assert "failed  Device/0A1B2C3D4E04.settings: PUT /telephony/config/devices/" in r.output
    assert "-> 400: Device 0A1B2C3D4E04 rejected the change" in r.output and "trackingId" in r.output
    # The jobs that touch the device say so, per device; every other device step applied.
    assert "0A1B2C3D4E04: Device 0A1B2C3D4E04 could not be updated." in r.output
    failed = [line for line in r.output.splitlines() if line.startswith("  failed  Device/")]
    assert failed == [line for line in failed if "0A1B2C3D4E04" in line] and failed
    assert "Not converged" in r.output
    # Everything else applied: only the rejected device is left, and it converges once accepted.
    r = run("plan", str(EXAMPLES), "--format", "json")
    assert '"resource": "Device/0A1B2C3D4E04"' in r.output
    assert '"resource": "Device/0A1B2C3D4E01"' not in r.output
    app.state.sim.accept_device("0A1B2C3D4E04")
    r = run("apply", str(EXAMPLES), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output


def test_job_ending_with_errors_is_reported_per_device(with_sim: Callable[..., Any]) -> None:
    app = with_sim()
    sim = app.state.sim
    sim.fail_next_job("applyLineKeyTemplate", "COMPLETED_WITH_ERRORS", ["0A1B2C3D4E08"])
    r = run("apply", str(EXAMPLES), "--auto-approve")
    assert r.exit_code == 1
    assert "LineKeyTemplateAssignment/branch-sales: job" in r.output
    assert "COMPLETED_WITH_ERRORS" in r.output
    # the errors answer (one error listing each failure, as the spec shows it) names the device
    assert "item 0: Device 0A1B2C3D4E08 could not be updated." in r.output, r.output
