"""Property tests: PUT members agrees with an independent model of the rules, and round-trips."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.sim.app import create_app

from .conftest import TOKEN, client_for

T = "/telephony/config"
MAX_LINES = 5  # Cisco 8851

member_st = st.fixed_dictionaries(
    {
        "who": st.sampled_from(["alice", "bob", "carol", "front", "overflow", "ghost"]),
        "port": st.integers(min_value=0, max_value=7),
        "weight": st.integers(min_value=1, max_value=3),
        "primary": st.booleans(),
    }
)


def expected_ok(members: list[dict[str, Any]]) -> bool:
    """The rules, written independently of the simulator: alice owns the device on port 1."""
    if any(m["who"] == "ghost" for m in members):
        return False
    whos = [m["who"] for m in members]
    if len(set(whos)) != len(whos):
        return False
    primaries = [m for m in members if m["primary"]]
    if len(primaries) > 1 or (primaries and primaries[0]["who"] != "alice"):
        return False
    if not primaries and "alice" in whos:
        return False
    full = list(members)
    if not primaries:
        full.append({"who": "alice", "port": 1, "weight": 1, "primary": True})
    used: set[int] = set()
    for m in full:
        for port in range(m["port"], m["port"] + m["weight"]):
            if port < 1 or port > MAX_LINES or port in used:
                return False
            used.add(port)
    return bool(sum(m["weight"] for m in full) <= MAX_LINES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(member_st, max_size=4))
def test_put_members_matches_the_rules(members: list[dict[str, Any]]) -> None:
    asyncio.run(_check(members))


async def _check(members: list[dict[str, Any]]) -> None:
    app = create_app(token=TOKEN, job_duration_s=0)
    store = app.state.sim.store
    dev = store.device_by_mac("0A1B2C3D4E01")
    assert dev is not None
    ids = {
        "alice": store.person_by_email("alice@example.com").id,
        "bob": store.person_by_email("bob@example.com").id,
        "carol": store.person_by_email("carol@example.com").id,
        "front": next(w.id for w in store.workspaces.values() if w.display_name == "Front Desk"),
        "overflow": next(iter(store.virtual_lines)),
        "ghost": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9naG9zdA",
    }
    body = {
        "members": [
            {
                "port": m["port"],
                "id": ids[m["who"]],
                "primaryOwner": m["primary"],
                "lineType": "PRIMARY" if m["primary"] else "SHARED_CALL_APPEARANCE",
                "lineWeight": m["weight"],
                "hotlineEnabled": False,
                "hotlineDestination": "",
                "allowCallDeclineEnabled": True,
            }
            for m in members
        ]
    }
    async with client_for(app) as client:
        r = await client.put(f"{T}/devices/{dev.calling_id}/members", json=body)
        want = expected_ok(members)
        assert (r.status_code == 204) == want, (members, r.status_code, r.text)
        got = (await client.get(f"{T}/devices/{dev.calling_id}/members")).json()["members"]
        if want:
            sent = {(x["id"], x["port"], x["lineWeight"]) for x in body["members"]}
            live = {(x["id"], x["port"], x["lineWeight"]) for x in got}
            assert sent <= live and any(x["primaryOwner"] and x["id"] == ids["alice"] for x in got)
            assert len(live) == len(sent) + (0 if any(m["primary"] for m in members) else 1)
        else:
            assert [x["id"] for x in got] == [ids["alice"]]
