"""export -> validate -> plan is empty, on generated orgs; comments survive a re-export; request budget."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

ALL_KINDS = [
    "LineKeyTemplate",
    "Device",
    "LocationDeviceSettings",
    "OrgDeviceSettings",
    "PersonDevices",
    "WorkspaceDevices",
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    monkeypatch.chdir(tmp_path)

    def make(seed: str | int, devices: int | None = None) -> Any:
        app = create_app(seed=seed, devices=devices, job_duration_s=0)
        monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=16))
        return app

    return make


def export(out: Path, *kinds: str) -> Result:
    args = ["export", "--out", str(out)]
    for k in kinds:
        args += ["--kind", k]
    r = run(*args)
    assert r.exit_code == 0, r.output
    return r


def features(out: Path) -> set[str]:
    """Which interesting shapes the exported org has, so the round trip covers them."""
    text = "\n".join(p.read_text() for p in out.rglob("*.yaml"))
    found = set()
    for needle, name in [
        ("kemKeys", "kem"),
        ("SHARED_CALL_APPEARANCE", "shared"),
        ("virtualLine:", "virtual"),
        ("hotlineEnabled: true", "hotline"),
        ("customEnabled: true", "custom"),
        ("template:", "template"),
    ]:
        if needle in text:
            found.add(name)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_org_round_trips(org: Callable[..., Any], tmp_path: Path, seed: int) -> None:
    org(seed, 250)
    out = tmp_path / "repo"
    export(out, *ALL_KINDS)
    assert features(out) >= {"kem", "shared", "virtual", "hotline", "custom"}, features(out)
    r = run("validate", str(out))
    assert r.exit_code == 0, r.output
    r = run("plan", str(out), "--detailed-exitcode")
    assert r.exit_code == 0, r.output[-3000:]


def test_demo_org_round_trips(org: Callable[..., Any], tmp_path: Path) -> None:
    org("demo")
    out = tmp_path / "repo"
    export(out, *ALL_KINDS)
    assert run("validate", str(out)).exit_code == 0
    r = run("plan", str(out), "--detailed-exitcode")
    assert r.exit_code == 0, r.output[-3000:]


def test_user_comments_survive_a_second_export(org: Callable[..., Any], tmp_path: Path) -> None:
    app = org(4, 40)
    out = tmp_path / "repo"
    export(out, "Device")
    first = sorted(out.rglob("*.yaml"))[0]
    text = first.read_text()
    first.write_text(
        "# Owned by the facilities team; ask before changing.\n"
        + text.replace("  members:", "  members:  # keep in sync with the seating plan", 1)
    )
    # Someone changes the device in Control Hub; the re-export picks it up and keeps the comments.
    mac = YAML().load(text)["metadata"]["mac"].replace(":", "")
    dev = app.state.sim.store.device_by_mac(mac)
    dev.members[0]["lineWeight"] = 2
    r = export(out, "Device")
    assert "1 updated" in r.output
    again = first.read_text()
    assert again.startswith("# Owned by the facilities team; ask before changing.\n")
    assert "members:  # keep in sync with the seating plan" in again
    assert "lineWeight: 2" in again
    assert run("plan", str(out), "--detailed-exitcode").exit_code == 0


def test_plan_of_1000_devices_costs_at_most_3_requests_per_device(
    org: Callable[..., Any], tmp_path: Path
) -> None:
    app = org(5, 1000)
    out = tmp_path / "repo"
    export(out, "LineKeyTemplate", "Device", "LocationDeviceSettings", "OrgDeviceSettings")
    y = YAML()
    declared = 0
    for f in (out / "locations").rglob("devices/*.yaml"):
        doc = y.load(f.read_text())
        spec = doc["spec"]
        if "settings" not in spec:
            spec["settings"] = {"customEnabled": False}
        if "members" in spec and "settings" in spec:
            declared += 1
        with f.open("w") as fh:
            y.dump(doc, fh)
    assert declared == 1000
    app.state.sim.stats.reset()
    r = run("plan", str(out), "--detailed-exitcode")
    assert r.exit_code == 0, r.output[-2000:]
    total = app.state.sim.stats.requests_total
    assert total <= 3 * 1000 + 20, (total, dict(app.state.sim.stats.requests_by_route))
    listing = app.state.sim.stats.requests_by_route.get("GET /v1/devices", 0)
    assert listing <= 2, listing
