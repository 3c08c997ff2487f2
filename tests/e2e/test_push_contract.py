"""The push contract, through the CLI: every device whose configuration an apply changes is told to
download it exactly once, after its last change, and no other device is; the simulator (which
marks a device pending until it is pushed) has none pending after an apply.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import Result

from .conftest import run_cli

BRANCH = ["0A1B2C3D4E07", "0A1B2C3D4E08", "0A1B2C3D4E09"]  # the Branch Office phones without own settings


def sim_get(app: Any, path: str) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
            r = await c.get(path)
            r.raise_for_status()
            return r.json()

    return asyncio.run(go())


def pending(app: Any) -> list[str]:
    """The devices the simulator holds changed and not pushed, through ``GET /_sim/pending``."""
    found = sim_get(app, "/_sim/pending")
    assert found["count"] == len(found["items"]) == sim_get(app, "/_sim/stats")["pending_devices"]
    return [str(i["mac"]) for i in found["items"]]


def pushes(app: Any) -> dict[str, int]:
    return {d.mac: d.pushes for d in app.state.sim.store.devices.values()}


def apply(repo: Path, *extra: str) -> Result:
    r = run_cli("apply", str(repo), "--auto-approve", *extra)
    assert "Traceback" not in r.output and "internal error" not in r.output, r.output
    return r


def plan_json(repo: Path) -> dict[str, Any]:
    r = run_cli("plan", str(repo), "--format", "json")
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.output)
    return data


def pushed_by_plan(plan: dict[str, Any]) -> dict[str, str]:
    """MAC -> why, for every device the plan pushes."""
    out: dict[str, str] = {}
    for step in plan["steps"]:
        if step["phase"] == 7:
            for address, why in step["meta"]["reasons"].items():
                out[address.partition("/")[2]] = why
    return out


def converged(repo: Path, app: Any) -> dict[str, int]:
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(app) == []
    return pushes(app)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_apply_of_the_examples_leaves_no_device_pending(demo_org: Any, repo: Path) -> None:
    assert pending(demo_org) == []
    plan = plan_json(repo)
    why = pushed_by_plan(plan)
    # the template assignment's phone, which nothing else changes, is pushed for that reason
    assert why["0A1B2C3D4E07"].startswith("template assignment branch-sales"), why
    before = pushes(demo_org)
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert all(after[mac] == before[mac] + 1 for mac in why), (why, after)  # exactly once each
    r = run_cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0 and "No changes" in r.output, r.output


def test_a_template_edit_reaches_its_phones_and_they_are_pushed(demo_org: Any, repo: Path) -> None:
    before = converged(repo, demo_org)
    edit(repo / "templates" / "sales-8851.yaml", "lineKeyLabel: Sales Desk", "lineKeyLabel: Sales Team")
    why = pushed_by_plan(plan_json(repo))
    assert why["0A1B2C3D4E07"] == "template assignment branch-sales"
    assert why["0A1B2C3D4E08"] == "template assignment branch-sales"
    assert why["0A1B2C3D4E01"].startswith("own layout"), why  # its own layout names the template
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == []
    store = demo_org.state.sim.store
    for mac in ("0A1B2C3D4E07", "0A1B2C3D4E08"):
        device = next(d for d in store.devices.values() if d.mac == mac)
        assert device.layout["lineKeys"][2]["lineKeyLabel"] == "Sales Team"
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == set(why)


def test_an_org_settings_change_pushes_only_the_devices_it_reaches(demo_org: Any, repo: Path) -> None:
    before = converged(repo, demo_org)
    edit(repo / "org" / "device-settings.yaml", "backlightTimer: THIRTY_MIN", "backlightTimer: ONE_MIN")
    plan = plan_json(repo)
    why = pushed_by_plan(plan)
    # Headquarters shows its own settings; the ATA and the third-party phone have no mpp settings
    assert why == dict.fromkeys(BRANCH, "org settings"), why
    assert [s["action"] for s in plan["steps"] if s["phase"] == 7] == ["invoke"] * 3  # below the threshold
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == set(BRANCH)


def test_a_location_settings_change_skips_devices_with_their_own_settings(demo_org: Any, repo: Path) -> None:
    edit(repo / "policy.yaml", "rebuildPhonesThreshold: 4", "rebuildPhonesThreshold: 10")
    before = converged(repo, demo_org)
    edit(repo / "locations" / "headquarters" / "settings.yaml", "value: 100", "value: 101")
    why = pushed_by_plan(plan_json(repo))
    # 01 and 04 declare their own settings, so the job does not reach them; 0B is a third-party
    # phone (no push). 01 declares the vlan itself (unchanged); 04 follows its location's vlan,
    # so its own settings write changes it, and that write is why it is pushed.
    hq = ["0A1B2C3D4E02", "0A1B2C3D4E03", "0A1B2C3D4E05", "0A1B2C3D4E06"]
    assert why == {**dict.fromkeys(hq, "location settings Headquarters"), "0A1B2C3D4E04": "own settings"}, why
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == {*hq, "0A1B2C3D4E04"}


def test_a_hoteling_change_pushes_the_devices_the_owner_owns(demo_org: Any, repo: Path) -> None:
    before = converged(repo, demo_org)
    edit(repo / "people" / "alice.yaml", "guestHoursLimit: 12", "guestHoursLimit: 24")
    why = pushed_by_plan(plan_json(repo))
    assert why == {"0A1B2C3D4E01": "hoteling of alice@example.com"}, why
    r = apply(repo)
    assert r.exit_code == 0, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == {"0A1B2C3D4E01"}


def test_an_unchanged_device_in_the_scope_is_not_pushed(demo_org: Any, repo: Path) -> None:
    before = converged(repo, demo_org)
    # only the ATA family changes: Headquarters (customized) follows the org's ATA values but has
    # no ATA; the one ATA shows its own settings and follows the org, so its own write (not the
    # org's job) changes it. No other device in the jobs' scope is pushed.
    edit(repo / "org" / "device-settings.yaml", "ataDtmfMode: NORMAL", "ataDtmfMode: STRICT")
    plan = plan_json(repo)
    assert [s["address"] for s in plan["steps"]] == [
        "OrgDeviceSettings/org",
        "LocationDeviceSettings/Headquarters",
        "Device/0A1B2C3D4E0A.settings",
        "Device/0A1B2C3D4E0A.applyChanges",
    ]
    assert pushed_by_plan(plan) == {"0A1B2C3D4E0A": "own settings"}
    r = apply(repo)
    assert r.exit_code == 0, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == {"0A1B2C3D4E0A"}


def test_a_policy_holds_pushes_and_reconciler_push_sends_them(demo_org: Any, repo: Path) -> None:
    before = converged(repo, demo_org)
    edit(repo / "policy.yaml", "rebuildPhonesThreshold: 4", "rebuildPhonesThreshold: 4\n  push: never")
    edit(repo / "org" / "device-settings.yaml", "backlightTimer: THIRTY_MIN", "backlightTimer: ONE_MIN")
    edit(repo / "people" / "alice.yaml", "guestHoursLimit: 12", "guestHoursLimit: 24")
    r = run_cli("plan", str(repo))
    assert "Pushes held by the Policy (push: never): 4 devices" in r.output, r.output
    assert "# 7." not in r.output
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert sorted(pending(demo_org)) == sorted([*BRANCH, "0A1B2C3D4E01"])
    assert pushes(demo_org) == before
    # still visible: every later plan lists them as held
    r = run_cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0 and "Pushes held by the Policy (push: never): 4 devices" in r.output, r.output
    r = run_cli("drift", str(repo))  # the phones still lack it: drift says so
    assert r.exit_code == 2 and r.output.count("held by the Policy (push: never)") == 4, r.output
    r = run_cli("push", str(repo), "--location", "Branch Office", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Push: " in r.output and pending(demo_org) == ["0A1B2C3D4E01"]
    r = run_cli("push", str(repo), "--target", "Device/0A:1B:2C:3D:4E:01", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert pending(demo_org) == []
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == {*BRANCH, "0A1B2C3D4E01"}
    assert all(after[m] - before[m] <= 1 for m in after)  # each once
    r = run_cli("push", str(repo), "--auto-approve")
    assert r.exit_code == 0 and "Nothing to push" in r.output, r.output


def test_the_demo_leaves_no_phone_pending(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "demo-state.json"
    r = run_cli("demo", "--keep-state", str(state))
    assert r.exit_code == 0, r.output
    assert r.output.rstrip().endswith("Converged: live state matches examples/."), r.output
    devices = json.loads(state.read_text())["devices"]
    assert len(devices) == 11
    assert [d["mac"] for d in devices if d.get("pending_changes")] == []
    assert [d["mac"] for d in devices if d["pushes"]]  # the demo did push


def test_a_template_edit_of_user_reorder_alone_reaches_and_pushes_its_phones(
    demo_org: Any, repo: Path
) -> None:
    converged(repo, demo_org)
    edit(repo / "templates" / "sales-8851.yaml", "userReorderEnabled: false", "userReorderEnabled: true")
    why = pushed_by_plan(plan_json(repo))
    assert why.get("0A1B2C3D4E07") == why.get("0A1B2C3D4E08") == "template assignment branch-sales", why
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == []
    r = run_cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output


class CountingGets:
    """The simulator behind an ASGI wrapper that counts each GET by its path and query."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.gets: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            query = scope["query_string"].decode()
            key = f"{scope['path']}?{query}" if query else scope["path"]
            self.gets[key] = self.gets.get(key, 0) + 1
        await self.app(scope, receive, send)


def test_an_org_change_reads_each_settings_answer_once_for_its_reach_and_its_pushes(
    demo_org: Any, repo: Path, monkeypatch: Any
) -> None:
    from reconciler.cli import options as cli_module
    from reconciler.flows.connect import Connection

    before = converged(repo, demo_org)

    # 0A1B2C3D4E08 given its own settings in Control Hub: no manifest says so
    async def customize() -> None:
        transport = httpx.ASGITransport(app=demo_org)
        auth = {"Authorization": "Bearer test"}
        async with httpx.AsyncClient(transport=transport, base_url="http://sim/v1", headers=auth) as c:
            found = (await c.get("/devices", params={"mac": "0A1B2C3D4E08"})).json()["items"][0]
            path = f"/telephony/config/devices/{found['callingDeviceId']}/settings"
            live = (await c.get(path)).json()
            body = {"customEnabled": True, "customizations": live["customizations"]}
            (await c.put(path, json=body)).raise_for_status()

    asyncio.run(customize())
    assert pending(demo_org) == ["0A1B2C3D4E08"]  # the Control Hub edit's, never pushed
    counting = CountingGets(demo_org)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=counting, concurrency=8))
    edit(repo / "org" / "device-settings.yaml", "backlightTimer: THIRTY_MIN", "backlightTimer: ONE_MIN")
    plan = plan_json(repo)
    # where the org change does not reach (kinds/not_reached.py) and whom its job reaches
    # (push_targets.py) come from the same answers: no settings answer is read twice
    settings = {p: n for p, n in counting.gets.items() if p.endswith("/settings")}
    assert len(settings) >= 8 and max(settings.values()) == 1, settings
    listings = [n for p, n in counting.gets.items() if p.startswith("/v1/devices?") and "mac=" not in p]
    assert listings and max(listings) == 1, counting.gets  # the org's devices listed once
    org = next(s for s in plan["steps"] if s["address"] == "OrgDeviceSettings/org")
    masked = {f["field"]: f["sample"] for f in org["meta"]["notReached"]["fields"]}
    assert masked == {"mpp.backlightTimer": ["0A:1B:2C:3D:4E:08"]}, masked
    branch = [m for m in BRANCH if m != "0A1B2C3D4E08"]
    assert pushed_by_plan(plan) == dict.fromkeys(branch, "org settings")
    r = apply(repo)
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert pending(demo_org) == ["0A1B2C3D4E08"]  # this apply leaves nothing pending of its own
    after = pushes(demo_org)
    assert {m for m in after if after[m] != before[m]} == set(branch)
