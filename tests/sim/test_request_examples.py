"""The sim's request validation agrees with the official spec's request schemas.

Every request example in the spec is sent (with its ids swapped for the demo org's): where the
example satisfies the spec's schema, apart from the documented relaxations, the sim must accept it;
where it does not, the sim must answer 400. Bodies built from the sim's own GET answers (which the
spec's response schemas accept) must be accepted as PUT/POST bodies.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema

from reconciler.sim import validation
from reconciler.sim.app import create_app

from .conftest import (
    REPO,
    TOKEN,
    Spec,
    client_for,
    device_id,
    location_id,
    person_id,
    template_id,
    workspace_id,
)

T = "/telephony/config"
SEED_PAGE = REPO / "third_party" / "webex-docs" / "apply-line-key-template.txt"


def _relaxed(error: jsonschema.ValidationError) -> bool:
    """Errors the sim deliberately tolerates (see reconciler/sim/validation.py)."""
    if (
        error.validator == "type"
        and error.validator_value == "boolean"
        and error.instance in ("true", "false")
    ):
        return True
    return error.validator == "required" and any(
        f"'{name}' is a required property" == error.message
        for names in validation.RELAXED_REQUIRED.values()
        for name in names
    )


async def _ids(client: Any) -> dict[str, str]:
    return {
        "alice_dev": await device_id(client, "0A1B2C3D4E01"),
        "bob_dev": await device_id(client, "0A1B2C3D4E02"),
        "sip_phone": await device_id(client, "0A1B2C3D4E0B"),  # third-party: takes a sipPassword
        "alice": await person_id(client, "alice@example.com"),
        "front": await workspace_id(client, "Front Desk"),
        "hq": await location_id(client, "Headquarters"),
        "branch": await location_id(client, "Branch Office"),
        "sales": await template_id(client, "Sales 8851"),
    }


def _substitute(method: str, path: str, example: Any, ids: dict[str, str]) -> tuple[str, Any]:
    body = copy.deepcopy(example)
    url = path
    params = {
        "deviceId": ids["alice_dev"],
        "personId": ids["alice"],
        "workspaceId": ids["front"],
        "templateId": ids["sales"],
        "locationId": ids["hq"],
    }
    if path.endswith("/layout"):
        params["deviceId"] = ids["bob_dev"]  # an 8865: KEM_14_KEYS is supported
    if isinstance(example, dict) and "sipPassword" in example:
        params["deviceId"] = ids["sip_phone"]
    url = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], url)
    if isinstance(body, dict):
        if "templateId" in body:
            body["templateId"] = ids["sales"]
        if "locationIds" in body:
            body["locationIds"] = [ids["branch"]]
        if "locationId" in body:
            body["locationId"] = ids["hq"]
        if "templateName" in body:
            body["templateName"] = "Example Template"
        for member in body.get("members", []):
            member["id"] = ids["alice"]
    return url, body


async def test_spec_request_examples(spec: Spec) -> None:
    app = create_app(token=TOKEN, job_duration_s=0)
    checked = 0
    async with client_for(app) as client:
        ids = await _ids(client)
        for path, item in spec.docs["device"]["paths"].items():
            if not path.startswith(f"{T}/") or "dynamic" in path.lower():
                continue
            for method, op in item.items():
                content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
                if not content or content.get("example") is None:
                    continue
                url, body = _substitute(method, path, content["example"], ids)
                validator, _ = spec.request_schema(method, path)
                strict = [e for e in validator.iter_errors(body) if not _relaxed(e)]
                r = await client.request(method.upper(), url, json=body)
                if strict:
                    assert r.status_code == 400, (method, path, r.status_code, [e.message for e in strict])
                else:
                    assert r.status_code < 300, (method, path, r.status_code, r.text[:600])
                checked += 1
    assert checked >= 15


async def test_bodies_built_from_get_answers_are_accepted(spec: Spec) -> None:
    app = create_app(token=TOKEN, job_duration_s=0)
    async with client_for(app) as client:
        ids = await _ids(client)
        ata = await device_id(client, "0A1B2C3D4E0A")
        for dev in (ids["alice_dev"], ata):
            got = (await client.get(f"{T}/devices/{dev}/settings")).json()
            body = {"customEnabled": True, "customizations": got["customizations"]}
            validator, _ = spec.request_schema("put", f"{T}/devices/{{deviceId}}/settings")
            assert not list(validator.iter_errors(body))
            r = await client.put(f"{T}/devices/{dev}/settings", json=body)
            assert r.status_code == 204, r.text
        org = (await client.get(f"{T}/devices/settings")).json()["customizations"]
        loc = (await client.get(f"{T}/locations/{ids['hq']}/devices/settings")).json()["customizations"]
        for body in (
            {"customizations": org},
            {"locationId": ids["hq"], "locationCustomizationsEnabled": True, "customizations": loc},
        ):
            validator, _ = spec.request_schema("post", f"{T}/jobs/devices/callDeviceSettings")
            assert not list(validator.iter_errors(body))
            r = await client.post(f"{T}/jobs/devices/callDeviceSettings", json=body)
            assert r.status_code == 200, r.text
            await client.get(f"{T}/jobs/devices/callDeviceSettings/{r.json()['id']}")
        members = (await client.get(f"{T}/devices/{ids['alice_dev']}/members")).json()["members"]
        keys = (
            "port",
            "id",
            "primaryOwner",
            "lineType",
            "lineWeight",
            "hotlineEnabled",
            "hotlineDestination",
            "allowCallDeclineEnabled",
            "t38FaxCompressionEnabled",
            "lineLabel",
        )
        put = {"members": [{k: m[k] for k in keys if k in m} for m in members]}
        assert (await client.put(f"{T}/devices/{ids['alice_dev']}/members", json=put)).status_code == 204
        layout = (await client.get(f"{T}/devices/{ids['bob_dev']}/layout")).json()
        assert (await client.put(f"{T}/devices/{ids['bob_dev']}/layout", json=layout)).status_code == 204
        tpl = (await client.get(f"{T}/devices/lineKeyTemplates/{ids['sales']}")).json()
        put_tpl = {"userReorderEnabled": tpl["userReorderEnabled"], "lineKeys": tpl["lineKeys"]}
        assert (
            await client.put(f"{T}/devices/lineKeyTemplates/{ids['sales']}", json=put_tpl)
        ).status_code == 204


def _seed_example(text: str, marker: str) -> dict[str, Any]:
    import json

    start = text.index(marker)
    brace = text.index("{", start)
    depth = 0
    for pos in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[pos], 0)
        if depth == 0:
            loaded: dict[str, Any] = json.loads(text[brace : pos + 1])
            return loaded
    raise AssertionError("unterminated JSON")


async def test_apply_line_key_template_seed_page_round_trips(spec: Spec) -> None:
    text = Path(SEED_PAGE).read_text(encoding="utf-8")
    request = _seed_example(text, "applyLineKeyTemplate?orgId=")
    documented = _seed_example(text, "202 / Accepted")
    app = create_app(token=TOKEN, job_duration_s=5)
    async with client_for(app) as client:
        ids = await _ids(client)
        body = dict(request, templateId=ids["sales"], locationIds=[ids["branch"]])
        assert body["excludeDevicesWithCustomLayout"] == "true"  # the page sends booleans as strings
        r = await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)
        assert r.status_code == 202, r.text
        job = r.json()
        assert set(documented) <= set(job), set(documented) - set(job)
        for key, value in documented.items():
            assert type(job[key]) is type(value), (key, job[key], value)
        assert job["name"] == documented["name"]
        assert job["latestExecutionStatus"] == "STARTING" and job["latestExecutionExitCode"] == "UNKNOWN"
        step = job["jobExecutionStatus"][0]
        assert set(documented["jobExecutionStatus"][0]) <= set(step) | {"endTime"}
        found = spec.schema_for("POST", f"{T}/jobs/devices/applyLineKeyTemplate", 202)
        assert found is not None and not list(found[1].iter_errors(job))
