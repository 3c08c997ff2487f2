"""Generated orgs: deterministic, and a 10,000-device org paginates correctly."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from reconciler.sim.seed import generated_store

from .conftest import AppFactory, client_for

LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


async def test_ten_thousand_devices_paginate(make_app: AppFactory) -> None:
    start = time.perf_counter()
    app = make_app(seed=1, devices=10_000)
    assert time.perf_counter() - start < 10
    ids: list[str] = []
    calling: set[str] = set()
    pages = 0
    async with client_for(app) as client:
        url: str | None = "/devices?max=1000"
        while url:
            r = await client.get(url)
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            ids += [d["id"] for d in items]
            calling |= {d["callingDeviceId"] for d in items}
            pages += 1
            match = LINK.search(r.headers.get("Link", ""))
            url = match.group(1) if match else None
            if url:
                assert url.startswith("http://sim/v1/devices?")
        assert len(ids) == 10_000 and len(set(ids)) == 10_000 and len(calling) == 10_000
        assert pages == 10
        r = await client.get("/devices")
        assert len(r.json()["items"]) == 100  # default page size
        people = await client.get("/people", params={"max": 5})
        assert len(people.json()["items"]) == 5


def test_generated_org_is_deterministic() -> None:
    a = generated_store(7, 300)
    b = generated_store(7, 300)
    c = generated_store(8, 300)
    assert a.to_dict() == b.to_dict()
    assert list(a.devices) != list(c.devices)
    assert len(a.locations) == 2 and len(generated_store(7, 1000).locations) == 5
    assert any(d.layout and d.layout.get("kemModuleType") for d in generated_store(7, 2000).devices.values())
    assert any(len(d.members) > 1 for d in a.devices.values())
    assert any(d.settings for d in generated_store(7, 1000).devices.values())
    assert any(d.tags for d in a.devices.values())


async def test_generated_org_serves_every_device_read(make_app: AppFactory) -> None:
    app = make_app(seed=5, devices=120)
    store = app.state.sim.store
    async with client_for(app) as client:
        for dev in list(store.devices)[:120]:
            for suffix in ("members", "layout", "settings"):
                r = await client.get(f"/telephony/config/devices/{dev}/{suffix}")
                assert r.status_code == 200, (suffix, r.text)


async def test_a_listing_page_costs_its_own_items(make_app: AppFactory, monkeypatch: Any) -> None:
    """A page of people, workspaces or locations builds the JSON of its own items only, not of the
    whole org's (which made a listing of N people cost N^2 / 1000)."""
    from reconciler.sim import directory_json

    app = make_app(seed=1, devices=3000)
    store = app.state.sim.store
    assert len(store.people) > 1000 and len(store.locations) > 2
    built: Counter[str] = Counter()
    for name in ("person_json", "workspace_json", "location_json"):
        real = getattr(directory_json, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            built[_name] += 1
            return _real(*args)

        monkeypatch.setattr(directory_json, name, counted)
    async with client_for(app) as client:
        people = await client.get("/people", params={"max": 7, "start": 3})
        spaces = await client.get("/workspaces", params={"max": 2})
        locations = await client.get("/locations", params={"max": 1})
    assert [len(r.json()["items"]) for r in (people, spaces, locations)] == [7, 2, 1]
    assert all('rel="next"' in r.headers["Link"] for r in (people, spaces, locations))
    assert people.json()["items"][0]["id"] == list(store.people)[3]
    assert built == Counter(person_json=7, workspace_json=2, location_json=1)
