"""The JSON Schemas: well-formed, generated from the spec, usable by editors, strict."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reconciler.manifests.load import load_paths
from reconciler.model import KINDS
from reconciler.validation.schema import SCHEMA_DIR, raw_document, validator_for

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "third_party" / "webex-openapi" / "webex-device.json"


MANIFEST_SCHEMAS = sorted(
    [f"{k}.schema.json" for k in KINDS] + ["manifest.schema.json", "device-settings.schema.json"]
)


def schema_files() -> list[Path]:
    """The manifest schemas (other files in the folder, e.g. the plan's schema, are not ours)."""
    return [SCHEMA_DIR / name for name in MANIFEST_SCHEMAS]


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text())
    return doc


def gen_module() -> Any:
    spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "scripts" / "gen_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_schema_per_kind_plus_manifest_and_settings() -> None:
    for path in schema_files():
        assert path.is_file(), path
    # and the generator writes exactly these files
    assert sorted(gen_module().KINDS) == sorted(KINDS)


@pytest.mark.parametrize("path", schema_files(), ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(doc)


def editor_validator() -> Draft202012Validator:
    """Validate as an editor would: manifest.schema.json with the files beside it."""
    registry: Registry[Any] = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text()))) for p in schema_files()
    )
    return Draft202012Validator({"$ref": "manifest.schema.json"}, registry=registry)


def test_manifest_schema_dispatches_on_kind() -> None:
    validator = editor_validator()
    resources, diags = load_paths([ROOT / "tests" / "manifests" / "valid", ROOT / "examples"])
    assert diags == []
    for res in resources:
        errors = list(validator.iter_errors(raw_document(res)))
        assert errors == [], (res.address, [e.message for e in errors])
    bad = raw_document(resources[0])
    bad["spec"]["typo"] = 1
    assert list(validator.iter_errors(bad))
    assert list(validator.iter_errors({**raw_document(resources[0]), "kind": "Nope"}))


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def test_every_object_is_closed_and_settings_are_partial() -> None:
    for path in schema_files():
        for node in walk(json.loads(path.read_text())):
            if node.get("type") == "object" and "properties" in node and "allOf" not in node:
                # (the dispatching manifest schema is closed by the kind schema it selects)
                assert node.get("additionalProperties") is False, (path.name, sorted(node["properties"]))
    for node in walk(load("device-settings.schema.json")["$defs"]):
        if (
            node.get("type") == "object"
            and node is not load("device-settings.schema.json")["$defs"]["secretRef"]
        ):
            assert "required" not in node or node.get("required") == ["fromEnv"]


def test_device_and_org_level_settings_use_the_right_spec_variants() -> None:
    defs = load("device-settings.schema.json")["$defs"]
    device = defs["PutDeviceSettingsRequest"]["properties"]
    assert device["customizations"] == {"$ref": "#/$defs/CustomizationDeviceLevelObjectDevice"}
    dev_custom = defs["CustomizationDeviceLevelObjectDevice"]["properties"]
    assert set(dev_custom) == {"ata", "mpp", "wifi"}
    assert dev_custom["mpp"] == {"$ref": "#/$defs/mppObjectDevice"}
    org_custom = defs["CustomizationObject"]["properties"]
    assert set(org_custom) == {"ata", "dect", "mpp", "wifi"}
    assert org_custom["mpp"] == {"$ref": "#/$defs/mppObject"}
    # the device-level mpp object has fields the org level does not (and the other way round)
    assert "usbPorts" in defs["mppObjectDevice"]["properties"]
    assert "usbPorts" not in defs["mppObject"]["properties"]


def test_settings_strings_accept_secret_refs() -> None:
    defs = load("device-settings.schema.json")["$defs"]
    assert defs["HttpProxyObjectDevice"]["properties"]["password"] == {"$ref": "#/$defs/secretOrString"}
    assert load("Device.schema.json")["properties"]["spec"]["properties"]["sipPassword"] == {
        "$ref": "device-settings.schema.json#/$defs/secretOrString"
    }


def test_validators_are_cached() -> None:
    for kind in KINDS:
        assert validator_for(kind) is validator_for(kind)


def test_committed_schemas_are_up_to_date() -> None:
    module = gen_module()
    files = module.generate(json.loads(SPEC.read_text()))
    stale = [name for name, text in files.items() if (SCHEMA_DIR / name).read_text() != text]
    assert stale == [], f"run: python scripts/gen_schemas.py (stale: {stale})"


def test_enums_match_the_spec() -> None:
    spec = json.loads(SPEC.read_text())["components"]["schemas"]
    device = load("Device.schema.json")["$defs"]
    assert device["lineKey"]["properties"]["lineKeyType"]["enum"] == spec["LineKeyType"]["enum"]
    assert device["kemKey"]["properties"]["kemKeyType"]["enum"] == spec["LineKeyType"]["enum"]
    assert device["member"]["properties"]["lineType"]["enum"] == spec["LineType"]["enum"]
    layout = device["layout"]["else"]["properties"]
    assert layout["layoutMode"]["enum"] == spec["LayoutMode"]["enum"]
    assert layout["kemModuleType"]["enum"] == spec["KemModuleType"]["enum"]
    person = load("PersonDevices.schema.json")["properties"]["spec"]["properties"]
    assert person["settings"]["properties"]["compression"]["enum"] == spec["Compression"]["enum"]
    settings = load("device-settings.schema.json")["$defs"]
    assert settings["PhoneLanguage"]["enum"] == spec["PhoneLanguage"]["enum"]
    # every member field of the API (except the id the tool resolves) can be declared
    member = set(device["member"]["properties"])
    assert set(spec["PutMemberObject"]["properties"]) - {"id"} <= member


def test_generator_check_mode_without_spec(tmp_path: Path) -> None:
    module = gen_module()
    assert module.main(["--spec", str(tmp_path / "missing.json"), "--check"]) == 2


FAST_CASES = [
    ("Policy", {"maxChanges": 1.0}),
    ("Policy", {"maxChanges": 1.5}),
    ("Policy", {"maxChanges": True}),
    ("Policy", {"maxChangesPercent": 100}),
    ("Policy", {"maxChangesPercent": 100.01}),
    ("Policy", {"concurrency": 0}),
    ("Device", {}),
    ("Device", {"sipPassword": {"fromEnv": "X"}}),
    ("Device", {"sipPassword": {"fromEnv": "X", "y": 1}}),
    ("Device", {"sipPassword": {"fromEnv": 1}}),
    ("Device", {"members": [{"person": "a@b.c", "workspace": "W", "port": 1}]}),
    ("Device", {"members": [{"person": "a@b.c", "port": 1}]}),
    ("Device", {"members": [{"person": "a b@c", "port": 1}]}),
    ("Device", {"members": [{"port": 1}]}),
    ("Device", {"layout": {"template": "T"}}),
    ("Device", {"layout": {"template": "T", "layoutMode": "CUSTOM"}}),
    ("Device", {"layout": {"template": ""}}),
    ("Device", {"layout": {"lineKeys": []}}),
    ("Device", {"layout": {"layoutMode": "CUSTOM", "kemKeys": [{"kemModuleIndex": 1, "kemKeyIndex": 1}]}}),
    ("Device", {"settings": {"customizations": {"mpp": {"vlan": {"value": 1.5}}}}}),
    ("Device", {"settings": {"customizations": {"mpp": {"bluetooth": {"mode": "BOTH"}}}}}),
    ("Device", {"settings": {"customizations": {"dect": {}}}}),
    ("LineKeyTemplate", {"deviceModel": "M", "lineKeys": []}),
    ("LineKeyTemplate", {"deviceModel": "M", "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "OPEN"}]}),
    ("BackgroundImages", {"images": [{"fileName": "a", "path": "a.png"}], "uploadDevice": 5}),
]


@pytest.mark.parametrize(("kind", "spec"), FAST_CASES)
def test_fast_check_agrees_with_jsonschema_on_edge_cases(kind: str, spec: dict[str, Any]) -> None:
    from reconciler.validation.schema import fast_check

    metadata = {
        "Device": {"mac": "0A1B2C3D4E01"},
        "BackgroundImages": {},
    }.get(kind, {"name": "n"})
    doc = {"apiVersion": "reconciler/v1", "kind": kind, "metadata": metadata, "spec": spec}
    check = fast_check(kind)
    assert check is not None
    assert check(doc) == validator_for(kind).is_valid(doc)
