"""The seeded orgs, pinned by what they serve: a digest of every read answer of the demo org and
of the generated org of seed 7 with 300 devices. Any change to how an org is built (a builder
rewritten, data moved to a file, a leaner store) must leave these answers byte for byte as they
are; a change that means to alter an org updates the digest on purpose."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from .conftest import AppFactory, client_for

T = "/telephony/config"

PINNED = {
    ("demo", None): "39cc71b247af827813a7c543406544fe26bd76cfa46f50eac3ea69433085c574",
    (7, 300): "b3daed843ad98b5a843070ea8268fe568761cf72614382849d3041d18c84907b",
}


async def _listing(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[httpx.Response]:
    """Every page of a listing, following its next links."""
    pages = [await client.get(path, params=params)]
    while (link := pages[-1].links.get("next")) is not None:
        pages.append(await client.get(link["url"]))
    return pages


async def served_digest(client: httpx.AsyncClient) -> str:
    """A SHA-256 over every read answer of the org: the listings, org and location settings,
    templates and images, each device's members, layout, settings and details, and each person's
    and workspace's devices and settings (in a fixed order: path, status, body)."""
    digest = hashlib.sha256()
    answers: list[httpx.Response] = []

    def items(pages: list[httpx.Response], key: str = "items") -> list[dict[str, Any]]:
        return [item for page in pages for item in page.json()[key]]

    devices = await _listing(client, "/devices", {"max": 100})
    people = await _listing(client, "/people", {"max": 100, "callingData": "true"})
    workspaces = await _listing(client, "/workspaces", {"max": 100})
    locations = await _listing(client, "/locations", {"max": 100})
    templates = await client.get(f"{T}/devices/lineKeyTemplates")
    answers += [*devices, *people, *workspaces, *locations, templates]
    answers.append(await client.get(f"{T}/devices/settings"))
    answers.append(await client.get(f"{T}/devices/backgroundImages"))
    for tpl in templates.json()["lineKeyTemplates"]:
        answers.append(await client.get(f"{T}/devices/lineKeyTemplates/{tpl['id']}"))
    for loc in items(locations):
        answers.append(await client.get(f"{T}/locations/{loc['id']}/devices/settings"))
    for device in items(devices):
        ident = device["callingDeviceId"]
        for suffix in ("", "/members", "/layout", "/settings"):
            answers.append(await client.get(f"{T}/devices/{ident}{suffix}"))
    for person in items(people):
        answers.append(await client.get(f"{T}/people/{person['id']}/devices"))
        answers.append(await client.get(f"{T}/people/{person['id']}/devices/settings"))
    for ws in items(workspaces):
        answers.append(await client.get(f"{T}/workspaces/{ws['id']}/devices"))
        answers.append(await client.get(f"{T}/workspaces/{ws['id']}/devices/settings"))
    for r in answers:
        digest.update(f"{r.request.url.raw_path.decode()} {r.status_code}\n".encode())
        digest.update(r.content)
    return digest.hexdigest()


@pytest.mark.parametrize(("seed", "devices"), list(PINNED))
async def test_a_seeded_org_serves_what_it_always_served(
    make_app: AppFactory, seed: str | int, devices: int | None
) -> None:
    app = make_app(seed=seed, devices=devices)
    async with client_for(app) as client:
        assert await served_digest(client) == PINNED[(seed, devices)]
