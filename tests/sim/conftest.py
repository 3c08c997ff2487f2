"""Shared fixtures for the simulator tests: in-process clients and the official spec's schemas."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette

from reconciler.sim.app import create_app

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO / "third_party" / "webex-openapi"
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Spec:
    """Response schemas of the official spec, by (method, path template, status)."""

    def __init__(self, device: dict[str, Any], people: dict[str, Any]) -> None:
        self.docs = {"device": device, "people": people}
        self._validators: dict[tuple[str, str, str, str], Any] = {}

    def operation(self, method: str, path: str) -> dict[str, Any]:
        doc = self.docs["people"] if path.startswith("/people") else self.docs["device"]
        op: dict[str, Any] = doc["paths"][path][method.lower()]
        return op

    def schema_for(self, method: str, path: str, status: int) -> tuple[dict[str, Any], Any] | None:
        doc_name = "people" if path.startswith("/people") else "device"
        response = self.operation(method, path)["responses"].get(str(status))
        if response is None:
            raise AssertionError(f"{method} {path}: the spec lists no {status} response")
        content = (response.get("content") or {}).get("application/json")
        if content is None:
            return None
        key = (doc_name, method, path, str(status))
        if key not in self._validators:
            root = dict(content["schema"])
            root["components"] = self.docs[doc_name]["components"]
            self._validators[key] = jsonschema.Draft202012Validator(root)
        return content["schema"], self._validators[key]

    def request_schema(self, method: str, path: str) -> Any:
        op = self.operation(method, path)
        content = op["requestBody"]["content"]["application/json"]
        root = dict(content["schema"])
        root["components"] = self.docs["device"]["components"]
        return jsonschema.Draft202012Validator(root), content.get("example")


def load_spec() -> Spec:
    """The vendored official spec (third_party/): always there, so no test skips for want of it."""
    device = SPEC_DIR / "webex-device.json"
    people = SPEC_DIR / "webex-admin-people.json"
    return Spec(json.loads(device.read_text()), json.loads(people.read_text()))


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app() -> AppFactory:
    def factory(**kwargs: Any) -> Starlette:
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("job_duration_s", 0)
        return create_app(**kwargs)

    return factory


def client_for(app: Starlette, *, auth: bool = True) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim/v1", headers=AUTH if auth else None
    )


def sim_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture
def demo_app(make_app: AppFactory) -> Starlette:
    return make_app()


@pytest.fixture
async def client(demo_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(demo_app) as c:
        yield c


async def device_id(client: httpx.AsyncClient, mac: str) -> str:
    r = await client.get("/devices", params={"mac": mac})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    return str(items[0]["callingDeviceId"])


async def person_id(client: httpx.AsyncClient, email: str) -> str:
    r = await client.get("/people", params={"email": email})
    return str(r.json()["items"][0]["id"])


async def workspace_id(client: httpx.AsyncClient, name: str) -> str:
    r = await client.get("/workspaces", params={"displayName": name})
    return str(next(w["id"] for w in r.json()["items"] if w["displayName"] == name))


async def location_id(client: httpx.AsyncClient, name: str) -> str:
    r = await client.get("/locations", params={"name": name})
    return str(next(x["id"] for x in r.json()["items"] if x["name"] == name))


async def template_id(client: httpx.AsyncClient, name: str) -> str:
    r = await client.get("/telephony/config/devices/lineKeyTemplates")
    return str(next(t["id"] for t in r.json()["lineKeyTemplates"] if t["templateName"] == name))
