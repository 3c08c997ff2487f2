"""Lookups kept lean (``reconciler/webex/lean.py``): the /devices and /people items of a lookup
hold every field but the ones no code reads, their repeated values shared, and only the items
asked for are kept, page by page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from reconciler.planning.kinds.context import VOLATILE
from reconciler.sim import app as sim_app
from reconciler.webex import Auth, WebexClient
from reconciler.webex.lean import DEVICE_UNREAD, PERSON_UNREAD, SHARED

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
# context.VOLATILE's own definition (a settings answer's fields, not a listing's)
_VOLATILE_SET = (
    (PACKAGE / "planning" / "kinds" / "context.py")
    .read_text(encoding="utf-8")
    .partition("VOLATILE = frozenset(")[2]
    .partition(")")[0]
)


def _client(app: object) -> WebexClient:
    return WebexClient("http://sim/v1", Auth("test-token-0123456789"), transport=httpx.ASGITransport(app=app))


async def _raw(app: object, path: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as raw:
        answer = await raw.get(
            f"http://sim/v1{path}", params={"max": 1000}, headers={"Authorization": "Bearer t"}
        )
        items: list[dict[str, object]] = answer.json()["items"]
        return items


async def test_lookup_items_keep_every_read_field_and_share_repeated_values() -> None:
    app = sim_app.create_app(seed=3, devices=60)
    store = app.state.sim.store
    macs = sorted(d.mac for d in store.devices.values())
    emails = sorted(p.email for p in store.people.values())
    async with _client(app) as client:
        devices = await client.devices_by_mac(macs[:40])  # more than FEW_KEYS: the whole listing
        few = await client.devices_by_mac(macs[:2])  # one filtered request each
        people = await client.people_by_email(emails)
    raw_devices = {str(d["mac"]).replace(":", ""): d for d in await _raw(app, "/devices")}
    raw_people = {str(p["emails"][0]).lower(): p for p in await _raw(app, "/people")}  # type: ignore[index]
    assert sorted(devices) == macs[:40] and sorted(few) == macs[:2]  # only the MACs asked for
    for mac, item in [*devices.items(), *few.items()]:
        full = raw_devices[mac]
        assert DEVICE_UNREAD & set(full)  # the simulator does send some of them
        assert item == {k: v for k, v in full.items() if k not in DEVICE_UNREAD}
    assert sorted(people) == sorted(e.lower() for e in emails)
    for email, person in people.items():
        assert person == {k: v for k, v in raw_people[email].items() if k not in PERSON_UNREAD}
    first, *rest = devices.values()
    assert all(d["orgId"] is first["orgId"] for d in rest)  # one string for the whole org
    assert all(p["orgId"] is first["orgId"] for p in people.values())


def test_no_module_reads_a_field_left_out() -> None:
    """A field left out of the lookups' items is named by no module outside the simulator (a
    module that starts reading one must take it off the list). The volatile fields of a settings
    answer (``context.VOLATILE``: ``ip``, ``lastSeen``) are that list's own names."""
    sources = {
        p: p.read_text(encoding="utf-8")
        for p in PACKAGE.rglob("*.py")
        if "sim" not in p.relative_to(PACKAGE).parts and p.name != "lean.py"
    }
    for field in sorted(DEVICE_UNREAD | PERSON_UNREAD):
        named = re.compile(rf"[\"']{field}[\"']")
        found = [p for p, text in sources.items() if named.search(text)]
        if field in VOLATILE:
            found = [p for p in found if named.search(sources[p].replace(_VOLATILE_SET, ""))]
        assert not found, field
    assert not SHARED & (DEVICE_UNREAD | PERSON_UNREAD)
