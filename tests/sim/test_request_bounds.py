"""Bounded work per request: numbers, bodies and query parameters from a request are checked before
anything is built from them; undeclared methods are 405 with ``Allow``; query parameters are typed
as the spec types them (reconciler/sim/limits.py, reconciler/sim/spec_routes.py)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.sim import gen_spec_routes, limits, spec_routes
from reconciler.sim.app import routes

from .conftest import REPO, client_for, device_id, person_id, sim_client
from .test_behaviour import member

T = "/telephony/config"
SPEC_DIR = REPO / "third_party" / "webex-openapi"


async def _members_put(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    dev = await device_id(client, "0A1B2C3D4E01")  # a Cisco 8851: 5 line ports
    owner = (await client.get(f"{T}/devices/{dev}/members")).json()["members"][0]
    carol = await person_id(client, "carol@example.com")
    body = {"members": [member(owner["id"], 1, primary=True), member(carol, 2, **extra)]}
    return await client.put(f"{T}/devices/{dev}/members", json=body)


# --------------------------------------------------------------------------------------------
# numbers in bodies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [66731346990985, 6.67e16, -(2**40)])
async def test_a_line_weight_beyond_32_bits_is_a_400_naming_it(
    client: httpx.AsyncClient, weight: float
) -> None:
    r = await _members_put(client, weight=weight)
    assert r.status_code == 400, r.text
    assert "members/1/lineWeight" in r.json()["message"] and "out of range" in r.json()["message"]


async def test_the_largest_32_bit_line_weight_costs_no_memory(client: httpx.AsyncClient) -> None:
    """Within 32 bits the weight is the API's own 400; the ports visited are the model's five."""
    tracemalloc.start()
    try:
        r = await _members_put(client, weight=2**31 - 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Port 6 is out of range: Cisco 8851 has 5 line ports."
    assert peak < 5 * 1024 * 1024, f"{peak} bytes traced for one members PUT"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"members": [{"port": NaN}]}', "not valid JSON"),
        (b'{"members": [{"port": Infinity}]}', "not valid JSON"),
        (b'{"members": [{"port": 1e400}]}', "members/0/port: inf is out of range"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (b'{"members": [{"a": ' + b"[" * 40 + b"1" + b"]" * 40 + b"}]}", "nested deeper than 32 levels"),
    ],
)
async def test_bodies_a_json_parser_of_the_api_would_refuse_are_400s(
    client: httpx.AsyncClient, raw: bytes | str, fragment: str
) -> None:
    dev = await device_id(client, "0A1B2C3D4E01")
    r = await client.put(
        f"{T}/devices/{dev}/members", content=raw, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text[:300]
    assert fragment in r.json()["message"], r.json()["message"]


async def test_a_get_answer_sent_back_keeps_its_millisecond_timestamp(client: httpx.AsyncClient) -> None:
    """Only the names the spec types as numbers are 32-bit; others (a lastUpdateTime in ms, which
    the API ignores on PUT) are bounded at 2**53, what JSON carries exactly."""
    dev = await device_id(client, "0A1B2C3D4E01")
    live = (await client.get(f"{T}/devices/{dev}/settings")).json()
    assert live["lastUpdateTime"] > limits.MAX_INT
    assert (await client.put(f"{T}/devices/{dev}/settings", json=live)).status_code == 204
    live["lastUpdateTime"] = 2**53
    r = await client.put(f"{T}/devices/{dev}/settings", json=live)
    assert r.status_code == 400 and "lastUpdateTime" in r.json()["message"], r.text


def test_member_ports_visit_only_the_models_ports() -> None:
    assert limits.member_ports(5, 3, 6) == (range(5, 7), 7)
    assert limits.member_ports(7, 1, 6) == (range(7, 7), 7)
    assert limits.member_ports(0, 2, 6) == (range(1, 2), 0)
    assert limits.member_ports(2, 2**31 - 1, 6) == (range(2, 7), 7)
    assert limits.member_ports(1, -5, 6) == (range(1, 2), None)


async def test_access_token_with_a_json_list_is_a_400_not_a_500(demo_app: Starlette) -> None:
    async with client_for(demo_app, auth=False) as c:
        r = await c.post("/access_token", content=b"[1]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "The request body must be a JSON object."


async def test_a_body_over_the_limit_is_a_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E01")
    big = b"{" + b" " * (limits.MAX_BODY_BYTES + 1) + b"}"
    r = await client.put(
        f"{T}/devices/{dev}/members", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text[:300]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(3):
            yield b" " * limits.MAX_BODY_BYTES

    r = await client.put(
        f"{T}/devices/{dev}/members", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text[:300]


# --------------------------------------------------------------------------------------------
# query parameters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        (f"{T}/supportedDevices", {"allowConfigureLayoutEnabled": ""}, "must be true or false"),
        (f"{T}/supportedDevices", {"allowConfigureLayoutEnabled": "yes"}, "must be true or false"),
        ("/people", {"callingData": "1"}, "callingData must be true or false"),
        ("/people", {"max": "1e400"}, "max is out of range"),
        ("/people", {"max": ""}, "max must be a number"),
        ("/devices", {"start": "nan"}, "start is out of range"),
        ("/devices", {"max": str(2**31)}, "max is out of range"),
        ("/devices", {"type": "tablet"}, "type must be one of roomdesk, phone"),
        ("/workspaces", {"capacity": "many"}, "capacity must be a number"),
        (f"{T}/devices/availableMembers/count", {"usageType": "NOPE"}, "DEVICE_OWNER, SHARED_LINE"),
        (f"{T}/jobs/devices/callDeviceSettings", {"start": "-inf"}, "start is out of range"),
        # not in the spec: checked by the handler with the same bound
        (f"{T}/jobs/devices/rebuildPhones", {"max": "1e400"}, None),
        ("/messages", {"roomId": "r", "max": "1e400"}, "max is out of range"),
    ],
)
async def test_query_parameters_are_typed_as_the_spec_types_them(
    client: httpx.AsyncClient, path: str, params: dict[str, str], fragment: str | None
) -> None:
    r = await client.get(path, params=params)
    if fragment is None:  # a parameter this list does not take is ignored
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 400, r.text
    assert fragment in r.json()["message"], r.json()["message"]


async def test_well_typed_query_parameters_still_work(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{T}/supportedDevices", params={"allowConfigureLayoutEnabled": "TRUE"})
    assert r.status_code == 200 and all(d["allowConfigureLayoutEnabled"] for d in r.json()["devices"])
    assert (await client.get("/people", params={"max": "2.0", "callingData": "false"})).status_code == 200
    # the spec's product enum lists three room devices; the API (and this project) filter by any
    r = await client.get("/devices", params={"product": "Cisco 8865"})
    assert r.status_code == 200 and len(r.json()["items"]) == 2


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------


def _sample(template: str) -> str:
    return template.replace("{", "x").replace("}", "")


def _declared() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name in gen_spec_routes.SPEC_FILES:
        doc = json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))
        for path, item in doc["paths"].items():
            out[f"/v1{path}"] = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")}
    return out


async def test_every_route_answers_an_undeclared_method_405_with_allow(demo_app: Starlette) -> None:
    declared = _declared()
    templates = sorted({r.path for r in routes() if r.path.startswith("/v1/")})
    async with client_for(demo_app) as c:
        for template in templates:
            served = {m for r in routes() if r.path == template for m in r.methods or ()} - {"HEAD"}
            expected = declared.get(template, served)
            assert served <= expected, template
            for method in ("TRACE", "PATCH", "OPTIONS", "PUT", "DELETE", "POST", "FROBNICATE"):
                if method in expected:
                    continue
                r = await c.request(method, "http://sim" + _sample(template), params={"orgId": "elsewhere"})
                assert r.status_code == 405, (method, template, r.text)
                assert r.headers["Allow"] == ", ".join(sorted(expected)), (method, template)
                assert r.headers["TrackingID"] == r.json()["trackingId"]


async def test_methods_the_spec_declares_but_the_simulator_lacks_are_501(client: httpx.AsyncClient) -> None:
    r = await client.post("/devices", json={})
    assert r.status_code == 501 and "POST /v1/devices" in r.json()["message"]


async def test_a_literal_path_is_not_a_parameter_of_its_neighbour(client: httpx.AsyncClient) -> None:
    """PUT devices/settings was routed to PUT devices/{deviceId} with the id "settings"."""
    r = await client.put(f"{T}/devices/settings", json={"sipPassword": "Secret123!x"})
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


async def test_head_goes_with_get(client: httpx.AsyncClient) -> None:
    r = await client.head(f"{T}/supportedDevices")
    assert r.status_code == 200 and r.content == b""


async def test_made_up_methods_are_counted_as_one(demo_app: Starlette) -> None:
    async with client_for(demo_app) as c:
        for i in range(5):
            await c.request(f"FOO{i}", "/people")
    by_route = demo_app.state.sim.stats.requests_by_route
    assert by_route["OTHER /v1/people"] == 5 and not any(k.startswith("FOO") for k in by_route)
    assert spec_routes.method_label("TRACE") == "TRACE"


async def test_sim_routes_answer_405_with_allow(demo_app: Starlette) -> None:
    async with sim_client(demo_app) as c:
        r = await c.post("/_sim/stats")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD"}


# --------------------------------------------------------------------------------------------
# the shipped table
# --------------------------------------------------------------------------------------------


def test_shipped_routes_table_is_up_to_date() -> None:
    specs = [json.loads((SPEC_DIR / n).read_text(encoding="utf-8")) for n in gen_spec_routes.SPEC_FILES]
    shipped = json.loads(gen_spec_routes.OUT.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(gen_spec_routes.generate(specs)))
    assert shipped["paths"]["/v1/telephony/config/supportedDevices"]["GET"]["query"] == {
        "allowConfigureLayoutEnabled": {"type": "boolean"}
    }
