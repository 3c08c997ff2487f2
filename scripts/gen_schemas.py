#!/usr/bin/env python3
"""Generate the manifest JSON Schemas in ``reconciler/schemas/`` from the official Webex spec.

Usage::

    python scripts/gen_schemas.py            # (re)write the schemas
    python scripts/gen_schemas.py --check    # exit 1 if the committed schemas are out of date
    python scripts/gen_schemas.py --spec PATH/webex-device.json

Only facts are taken from the spec: property names, types, enums and length limits (where the
spec has none, a sane bound is set: the ``*_MAX`` constants, documented in docs/manifests.md).
Descriptions and examples are not copied. Settings objects in manifests are partial (only declared
fields are managed), so ``required`` is dropped from every settings object, while
``additionalProperties: false`` is added everywhere so that a typo is an error instead of a
silently ignored field.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "reconciler" / "schemas"
DEFAULT_SPEC = ROOT / "third_party" / "webex-openapi" / "webex-device.json"

DRAFT = "https://json-schema.org/draft/2020-12/schema"
API_VERSION = "reconciler/v1"
SETTINGS_FILE = "device-settings.schema.json"

KINDS = (
    "LineKeyTemplate",
    "Device",
    "LocationDeviceSettings",
    "OrgDeviceSettings",
    "LineKeyTemplateAssignment",
    "PersonDevices",
    "WorkspaceDevices",
    "BackgroundImages",
    "Policy",
)

# The spec components the device settings schema is rooted at: the device-level body of
# PUT /telephony/config/devices/{deviceId}/settings and the org/location-level customizations
# of the callDeviceSettings job.
SETTINGS_ROOTS = ("PutDeviceSettingsRequest", "CustomizationObject")

JsonObj = dict[str, Any]

EMAIL_MAX = 254  # RFC 5321: the longest forward path
NAME_MAX = 80  # names of templates, workspaces, virtual lines, device models: the location's limit
LABEL_MAX = 255  # line key labels and values, hotline destinations
SETTING_MAX = 2048  # any other free string (a settings value)
PATH_MAX = 4096  # an image path in the repository
FILE_NAME_MAX = 255
MAC_MAX = len("AA:BB:CC:DD:EE:FF")
POINTER_MAX = 1024  # an ignore pointer


class Spec:
    """The parts of the OpenAPI document the generator reads."""

    def __init__(self, doc: JsonObj) -> None:
        self.doc = doc
        self.components: JsonObj = doc["components"]["schemas"]

    def component(self, name: str) -> JsonObj:
        try:
            value: JsonObj = self.components[name]
        except KeyError:
            raise SystemExit(f"spec has no component schema {name!r}") from None
        return value

    def enum(self, name: str) -> list[str]:
        comp = self.component(name)
        return list(comp["enum"])

    def prop(self, component: str, prop: str) -> JsonObj:
        props: JsonObj = self.component(component).get("properties", {})
        if prop not in props:
            raise SystemExit(f"spec component {component!r} has no property {prop!r}")
        value: JsonObj = props[prop]
        return value

    def prop_enum(self, component: str, prop: str) -> list[str]:
        p = self.prop(component, prop)
        if "$ref" in p:
            return self.enum(p["$ref"].rsplit("/", 1)[-1])
        return list(p["enum"])

    def max_length(self, component: str, prop: str) -> int:
        """The ``maxLength`` of a property, or the limit its description states
        ("... limited to 80 characters maximum")."""
        node = self.prop(component, prop)
        if "maxLength" in node:
            return int(node["maxLength"])
        found = re.search(r"limited to (\d+) characters", str(node.get("description", "")))
        if not found:
            raise SystemExit(f"{component}.{prop}: the spec states no length limit")
        return int(found.group(1))

    def request_schema(self, path: str, method: str) -> JsonObj:
        op = self.doc["paths"][path][method]
        schema: JsonObj = op["requestBody"]["content"]["application/json"]["schema"]
        return schema


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------------------
# device-settings.schema.json


def settings_closure(spec: Spec, roots: tuple[str, ...]) -> list[str]:
    """Every component reachable from ``roots``, sorted by name."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        stack: list[Any] = [spec.component(name)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "$ref" and isinstance(value, str):
                        todo.append(ref_name(value))
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(node)
    return sorted(seen)


def convert(node: JsonObj, where: str) -> JsonObj:
    """One spec schema node to a manifest schema node (names, types, enums only)."""
    if "$ref" in node:
        return {"$ref": "#/$defs/" + ref_name(node["$ref"])}
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in node:
            raise SystemExit(f"{where}: {combinator} is not handled by the generator")
    typ = node.get("type")
    if "enum" in node:
        out: JsonObj = {"enum": list(node["enum"])}
        if typ:
            out["type"] = typ
        return out
    if typ == "object" or "properties" in node:
        props = node.get("properties", {})
        return {
            "type": "object",
            "properties": {k: convert(v, f"{where}.{k}") for k, v in props.items()},
            "additionalProperties": False,
        }
    if typ == "array":
        return {"type": "array", "items": convert(node.get("items", {}), f"{where}[]")}
    if typ == "string":
        if node.get("format") == "binary":
            return {"type": "string", "maxLength": SETTING_MAX}
        # Any free string may be given as a secret reference ({fromEnv: NAME}).
        return {"$ref": "#/$defs/secretOrString"}
    if typ in ("number", "integer", "boolean"):
        return {"type": typ}
    raise SystemExit(f"{where}: unhandled schema node {sorted(node)}")


def secret_defs() -> JsonObj:
    return {
        "secretRef": {
            "type": "object",
            "properties": {"fromEnv": {"type": "string", "maxLength": NAME_MAX}},
            "required": ["fromEnv"],
            "additionalProperties": False,
        },
        "secretOrString": {
            "anyOf": [{"type": "string"}, {"$ref": "#/$defs/secretRef"}],
            "maxLength": SETTING_MAX,
            "errorMessage": "expected a string or {fromEnv: NAME}",
        },
    }


def device_settings_schema(spec: Spec) -> JsonObj:
    defs: JsonObj = {}
    for name in settings_closure(spec, SETTINGS_ROOTS):
        defs[name] = convert(spec.component(name), name)
    defs.update(secret_defs())
    return {
        "$schema": DRAFT,
        "title": "Webex device settings (customizations), partial: every field optional",
        "$comment": (
            "Generated by scripts/gen_schemas.py from the official Webex device spec: "
            "do not edit. Device level: $defs/PutDeviceSettingsRequest (the *ObjectDevice "
            "variants); org and location level: $defs/CustomizationObject."
        ),
        "$ref": "#/$defs/CustomizationObject",
        "$defs": defs,
    }


# --------------------------------------------------------------------------------------------
# Per-kind schemas


IGNORE = {
    "type": "array",
    "items": {
        "type": "string",
        "pattern": "^(/([^~/]|~[01])*)+$",
        "maxLength": POINTER_MAX,
        "errorMessage": "expected a JSON pointer relative to spec, like /settings/customizations/mpp/vlan",
    },
}
NAME = {"type": "string", "minLength": 1, "maxLength": NAME_MAX}
LABEL = {"type": "string", "maxLength": LABEL_MAX}
MAC = {"type": "string", "maxLength": MAC_MAX}
EMAIL = {
    "type": "string",
    "maxLength": EMAIL_MAX,
    "pattern": "^[^@\\s]+@[^@\\s]+$",
    "errorMessage": "expected an email address",
}
SECRET = {"$ref": SETTINGS_FILE + "#/$defs/secretOrString"}


def strings(max_length: int) -> JsonObj:
    return {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": max_length}}


def obj(props: JsonObj, required: tuple[str, ...] = (), **extra: Any) -> JsonObj:
    out: JsonObj = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    out["additionalProperties"] = False
    out.update(extra)
    return out


def envelope(kind: str, metadata: JsonObj, spec_schema: JsonObj, defs: JsonObj | None = None) -> JsonObj:
    out: JsonObj = {
        "$schema": DRAFT,
        "title": f"{API_VERSION} {kind}",
        "$comment": "Generated by scripts/gen_schemas.py (enums from the official Webex spec): do not edit.",
        "type": "object",
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec_schema,
        },
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
    }
    if defs:
        out["$defs"] = defs
    return out


def line_key(spec: Spec) -> JsonObj:
    return obj(
        {
            "lineKeyIndex": {"type": "integer", "minimum": 1},
            "lineKeyType": {"enum": spec.enum("LineKeyType")},
            "lineKeyLabel": LABEL,
            "lineKeyValue": LABEL,
            "sharedLineIndex": {"type": "integer", "minimum": 1},
        },
        ("lineKeyIndex", "lineKeyType"),
    )


def kem_key(spec: Spec) -> JsonObj:
    return obj(
        {
            "kemModuleIndex": {"type": "integer", "minimum": 1},
            "kemKeyIndex": {"type": "integer", "minimum": 1},
            "kemKeyType": {"enum": spec.enum("LineKeyType")},
            "kemKeyLabel": LABEL,
            "kemKeyValue": LABEL,
            "sharedLineIndex": {"type": "integer", "minimum": 1},
        },
        ("kemModuleIndex", "kemKeyIndex", "kemKeyType"),
    )


def hoteling(spec: Spec) -> JsonObj:
    props = spec.component("HotelingRequest")["properties"]
    assert set(props) == {"enabled", "limitGuestUse", "guestHoursLimit"}, sorted(props)
    return obj(
        {
            "enabled": {"type": "boolean"},
            "limitGuestUse": {"type": "boolean"},
            "guestHoursLimit": {"type": "integer", "minimum": 1, "maximum": 999},
        },
        ("enabled",),
    )


def compression_settings(spec: Spec, path: str) -> JsonObj:
    body = spec.request_schema(path, "put")
    props = body["properties"]
    assert set(props) == {"compression"}, sorted(props)
    return obj({"compression": {"enum": spec.enum(ref_name(props["compression"]["$ref"]))}})


def kind_schemas(spec: Spec) -> dict[str, JsonObj]:
    out: dict[str, JsonObj] = {}
    named = obj({"name": NAME, "ignore": IGNORE}, ("name",))
    singleton = obj({"name": {"const": "org"}, "ignore": IGNORE})
    # the API's limits: a Webex Calling location's name, a device tag
    location = {**NAME, "maxLength": spec.max_length("PutCommonLocationObject", "name")}
    tag_max = spec.max_length("DevicePutItem", "tag")

    out["LineKeyTemplate"] = envelope(
        "LineKeyTemplate",
        named,
        obj(
            {
                "deviceModel": NAME,
                "userReorderEnabled": {"type": "boolean"},
                "lineKeys": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/lineKey"}},
            },
            ("deviceModel", "lineKeys"),
        ),
        {"lineKey": line_key(spec)},
    )

    member_props: JsonObj = {
        "person": EMAIL,
        "workspace": NAME,
        "virtualLine": NAME,
        "port": {"type": "integer", "minimum": 1},
        "primaryOwner": {"type": "boolean"},
        "lineType": {"enum": spec.prop_enum("PutMemberObject", "lineType")},
        "lineWeight": {"type": "integer", "minimum": 1},
        "lineLabel": LABEL,
        "hotlineEnabled": {"type": "boolean"},
        "hotlineDestination": LABEL,
        "allowCallDeclineEnabled": {"type": "boolean"},
        "t38FaxCompressionEnabled": {"type": "boolean"},
    }
    api_member = set(spec.component("PutMemberObject")["properties"]) - {"id"}
    assert api_member <= set(member_props), sorted(api_member - set(member_props))
    member = obj(
        member_props,
        ("port",),
        oneOf=[{"required": ["person"]}, {"required": ["workspace"]}, {"required": ["virtualLine"]}],
        errorMessage="a member needs exactly one of person, workspace or virtualLine",
    )
    layout_props = spec.component("DeviceLayout")["properties"]
    assert set(layout_props) == {"layoutMode", "userReorderEnabled", "lineKeys", "kemModuleType", "kemKeys"}
    layout = {
        "type": "object",
        "if": {"required": ["template"]},
        "then": obj({"template": NAME}),
        "else": obj(
            {
                "layoutMode": {"enum": spec.enum("LayoutMode")},
                "userReorderEnabled": {"type": "boolean"},
                "lineKeys": {"type": "array", "items": {"$ref": "#/$defs/lineKey"}},
                "kemModuleType": {"enum": spec.enum("KemModuleType")},
                "kemKeys": {"type": "array", "items": {"$ref": "#/$defs/kemKey"}},
            },
            ("layoutMode",),
        ),
    }
    out["Device"] = envelope(
        "Device",
        obj({"mac": MAC, "ignore": IGNORE}, ("mac",)),
        obj(
            {
                "members": {"type": "array", "items": {"$ref": "#/$defs/member"}},
                "layout": {"$ref": "#/$defs/layout"},
                "settings": {"$ref": SETTINGS_FILE + "#/$defs/PutDeviceSettingsRequest"},
                "sipPassword": SECRET,
            },
            minProperties=1,
            errorMessage="declare at least one of members, layout, settings, sipPassword",
        ),
        {"member": member, "layout": layout, "lineKey": line_key(spec), "kemKey": kem_key(spec)},
    )

    out["LocationDeviceSettings"] = envelope(
        "LocationDeviceSettings",
        obj({"location": location, "ignore": IGNORE}, ("location",)),
        obj(
            {
                "customEnabled": {"type": "boolean"},
                "customizations": {"$ref": SETTINGS_FILE + "#/$defs/CustomizationObject"},
            }
        ),
    )

    out["OrgDeviceSettings"] = envelope(
        "OrgDeviceSettings",
        singleton,
        obj({"customizations": {"$ref": SETTINGS_FILE + "#/$defs/CustomizationObject"}}),
    )

    apply_props = spec.component("PostApplyLineKeyTemplateRequest")["properties"]
    advisory = spec.component("LineKeyTemplateAdvisoryTypes")["properties"]
    out["LineKeyTemplateAssignment"] = envelope(
        "LineKeyTemplateAssignment",
        named,
        obj(
            {
                "template": NAME,
                "action": {"enum": list(apply_props["action"]["enum"]), "default": "APPLY_TEMPLATE"},
                "locations": strings(location["maxLength"]),
                "excludeDevicesWithCustomLayout": {"type": "boolean"},
                "includeDeviceTags": strings(tag_max),
                "excludeDeviceTags": strings(tag_max),
                "advisoryTypes": obj({k: {"type": v["type"]} for k, v in advisory.items()}),
            },
            ("template",),
        ),
    )

    out["PersonDevices"] = envelope(
        "PersonDevices",
        obj({"person": EMAIL, "ignore": IGNORE}, ("person",)),
        obj(
            {
                "hoteling": hoteling(spec),
                "settings": compression_settings(
                    spec, "/telephony/config/people/{personId}/devices/settings"
                ),
            }
        ),
    )

    out["WorkspaceDevices"] = envelope(
        "WorkspaceDevices",
        obj({"workspace": NAME, "ignore": IGNORE}, ("workspace",)),
        obj(
            {
                "hoteling": hoteling(spec),
                "settings": compression_settings(
                    spec, "/telephony/config/workspaces/{workspaceId}/devices/settings"
                ),
            }
        ),
    )

    out["BackgroundImages"] = envelope(
        "BackgroundImages",
        singleton,
        obj(
            {
                "images": {
                    "type": "array",
                    "items": obj(
                        {
                            "fileName": {"type": "string", "minLength": 1, "maxLength": FILE_NAME_MAX},
                            "path": {"type": "string", "minLength": 1, "maxLength": PATH_MAX},
                        },
                        ("fileName", "path"),
                    ),
                },
                "uploadDevice": MAC,
                "forceDelete": {"type": "boolean"},
            },
            ("images",),
        ),
    )

    out["Policy"] = envelope(
        "Policy",
        named,
        obj(
            {
                "prune": {"type": "boolean"},
                "maxChanges": {"type": "integer", "minimum": 0},
                "maxChangesPercent": {"type": "number", "minimum": 0, "maximum": 100},
                "rebuildPhonesThreshold": {"type": "integer", "minimum": 1},
                "concurrency": {"type": "integer", "minimum": 1, "maximum": 128},
                "forceDeleteImages": {"type": "boolean"},
                "push": {"enum": ["auto", "never"]},
                # the environment variables manifests may read besides RECONCILER_SECRET_*
                "allowFromEnv": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                        "maxLength": NAME_MAX,
                        "errorMessage": "expected an environment variable name (letters, digits and _)",
                    },
                },
            }
        ),
    )
    assert tuple(out) == KINDS
    return out


def manifest_schema() -> JsonObj:
    return {
        "$schema": DRAFT,
        "title": f"{API_VERSION} manifest (any kind)",
        "$comment": (
            "Generated by scripts/gen_schemas.py: do not edit. For editors: "
            "# yaml-language-server: $schema=<path>/schemas/manifest.schema.json"
        ),
        "type": "object",
        "properties": {"apiVersion": {"const": API_VERSION}, "kind": {"enum": list(KINDS)}},
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"{kind}.schema.json"},
            }
            for kind in KINDS
        ],
    }


def generate(spec_doc: JsonObj) -> dict[str, str]:
    """File name -> file text for every schema file."""
    spec = Spec(spec_doc)
    files: dict[str, JsonObj] = {SETTINGS_FILE: device_settings_schema(spec)}
    for kind, schema in kind_schemas(spec).items():
        files[f"{kind}.schema.json"] = schema
    files["manifest.schema.json"] = manifest_schema()
    return {name: json.dumps(doc, indent=2) + "\n" for name, doc in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="path to webex-device.json")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="schema directory to write")
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        print(f"spec not found: {args.spec}", file=sys.stderr)
        return 2
    files = generate(json.loads(args.spec.read_text(encoding="utf-8")))
    stale = [
        n for n, text in files.items() if not (args.out / n).is_file() or (args.out / n).read_text() != text
    ]
    if args.check:
        for name in stale:
            print(f"out of date: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.out / name).write_text(files[name], encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
