"""Saved plans are claims apply verifies: an edited plan is refused before the first write.

``apply --plan`` plans again from the repo and live state and applies only when the new plan
equals the saved one step for step, body for body; reads must be GETs; the plan applies only to
the API (and org) it was made against; its manifest paths must lie inside the working directory.
Every case runs the real CLI against the simulator on a loopback port and counts what reached it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Harness, record

PLAN = "plan.json"


def saved_plan(h: Harness, repo: Path) -> dict[str, Any]:
    r = h.run("plan", "repo", "--out", PLAN)
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(Path(PLAN).read_text())
    return data


def write(data: Any) -> None:
    Path(PLAN).write_text(json.dumps(data, indent=1))


def step(data: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["steps"] if s["address"] == address)
    return found


def writes(h: Harness) -> tuple[int, int]:
    return h.sim.stats.writes_total, h.sim.stats.jobs_started_total


def refused(h: Harness, *expect: str, args: tuple[str, ...] = ()) -> str:
    """Apply the saved plan: refused (exit 1), nothing written, one clean error naming ``expect``."""
    before = writes(h)
    r = h.run("apply", "--plan", PLAN, "--auto-approve", *args)
    assert r.exit_code == 1, r.output
    assert "internal error" not in r.output and "Traceback" not in r.output, r.output
    for text in expect:
        assert text in r.output, r.output
    assert writes(h) == before, "a write reached the API"
    return r.output


def test_an_edited_step_body_is_refused(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    data = saved_plan(h, repo)
    body = step(data, "Device/0A1B2C3D4E01.settings")["body"]
    body["customizations"]["mpp"]["backlightTimer"] = "ALWAYS_ON"  # the printed plan says FIVE_MIN
    write(data)
    out = refused(h, "Device 0A:1B:2C:3D:4E:01", "body", "plan again")
    assert "Device/0A1B2C3D4E01.settings" in out
    record("tamper: a step body edited after review", result="refused, 0 writes")


def test_an_appended_delete_is_refused_with_pruning_off(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    data = saved_plan(h, repo)
    assert data["prune"] is False
    victim = next(t for t in h.sim.store.templates.values())
    data["steps"].append(
        {
            "address": f"LineKeyTemplate/{victim.name}.prune",
            "resource": f"LineKeyTemplate/{victim.name}",
            "action": "delete",
            "phase": 8,
            "method": "DELETE",
            "path": f"/telephony/config/devices/lineKeyTemplates/{victim.id}",
        }
    )
    write(data)
    refused(h, f'LineKeyTemplate "{victim.name}"', "DELETE", "not called for now")
    assert victim.id in h.sim.store.templates
    assert not [s for s in h.perturb.seen if s.method == "DELETE"]
    record("tamper: a DELETE step appended (pruning off)", result="refused, 0 writes, nothing deleted")


def test_removed_reads_do_not_let_an_out_of_band_change_be_overwritten(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    assert h.apply(paths=(str(repo),)).exit_code == 0
    manifest = repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    manifest.write_text(manifest.read_text().replace("backlightTimer: FIVE_MIN", "backlightTimer: ONE_MIN"))
    data = saved_plan(h, repo)
    assert [s["address"] for s in data["steps"] if s["method"] == "PUT"] == ["Device/0A1B2C3D4E01.settings"]
    del data["reads"], data["checksum"]  # the staleness check has nothing to compare
    write(data)
    device = next(d for d in h.sim.store.devices.values() if d.mac == "0A1B2C3D4E01")
    assert device.settings is not None
    mpp = device.settings["mpp"]
    assert mpp["offHookTimer"] != 45
    mpp["offHookTimer"] = 45  # an admin in Control Hub
    refused(h, "Device 0A:1B:2C:3D:4E:01", "body")
    assert mpp["offHookTimer"] == 45  # not overwritten
    record(
        "tamper: reads and checksum removed, then an out-of-band change",
        result="refused, the change kept",
    )


def test_a_read_that_is_not_a_get_is_refused_before_any_request(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    data = saved_plan(h, repo)
    template = next(t for t in h.sim.store.templates.values())
    data["reads"] = {f"DELETE /telephony/config/devices/lineKeyTemplates/{template.id}": "0" * 64}
    data.pop("checksum")
    write(data)
    seen = len(h.perturb.seen)
    refused(h, f"saved plan {PLAN} is malformed", "is not a GET")
    assert len(h.perturb.seen) == seen  # not one request
    assert template.id in h.sim.store.templates
    # a read aimed at another host is no read of this API either
    data["reads"] = {"GET //evil.example/steal": "0" * 64}
    write(data)
    refused(h, "is not a GET of an API path")
    assert len(h.perturb.seen) == seen
    record("tamper: a read with method DELETE, a read of another host", result="refused, 0 requests")


def test_rendering_only_edits_still_apply_and_apply_shows_the_new_plan(
    harness: Callable[..., Harness], repo: Path
) -> None:
    h = harness()
    data = saved_plan(h, repo)
    for s in data["steps"]:
        s["summary"] = "harmless"
    data["warnings"] = ["edited"]
    write(data)
    r = h.run("apply", "--plan", PLAN, "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output and "harmless" not in r.output
    assert "Manifest paths from saved plan plan.json: repo" in r.output


def test_a_plan_for_another_api_or_org_is_refused(harness: Callable[..., Harness], repo: Path) -> None:
    h = harness()
    data = saved_plan(h, repo)
    assert data["base_url"] == h.url
    data["base_url"] = "https://webexapis.com/v1"
    write(data)
    refused(h, f"was made against https://webexapis.com/v1, this run targets {h.url}")
    data["base_url"] = h.url
    write(data)
    refused(h, "was made for org (the token's own), this run targets org ORG-2", args=("--org-id", "ORG-2"))
    record("tamper: a plan applied to another API or org", result="refused, 0 writes")


def test_saved_plan_paths_outside_the_working_directory_are_refused(
    harness: Callable[..., Harness], repo: Path, tmp_path: Path
) -> None:
    h = harness()
    data = saved_plan(h, repo)
    outside = tmp_path.parent
    data["paths"] = []
    write(data)
    refused(h, f"saved plan {PLAN} names no manifest paths; plan again")
    for paths in ([str(outside)], ["repo/../../"], ["/etc"]):
        data["paths"] = paths
        write(data)
        seen = len(h.perturb.seen)
        out = refused(h, "outside the working directory", repr(paths[0]))
        assert len(h.perturb.seen) == seen, out
    record("tamper: a saved plan naming paths outside the repo", result="refused before any read")
