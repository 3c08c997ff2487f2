"""``reconciler explain Device/MAC``: why one device has each of its values.

For each settings field, member and the layout: the value the device has now (live state), where it
comes from (the device's own settings, its location's, the org's, a template through a device's
layout or an assignment, or the API's default), the manifest ``file:line`` that sets it, and the
value the manifests mean where that differs (a plan would change it). The chain of settings is the
one ``reconciler.planning.kinds.inherit`` plans by: a customized device holds its own copy of its family,
else its location's when the location is customized, else the org's; a field a manifest does not
declare follows its parent's declared value.

Reads: the device (by MAC), its members, layout and settings, its location's and the org's
settings, the supported models, the locations and the line key templates, and for each template
assignment the devices it matches (as a plan of it reads them). Nothing is written.
"""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler import __version__
from reconciler.errors import ConfigError
from reconciler.flows.connect import Connection, connect, run
from reconciler.flows.load import load
from reconciler.model import Resource, is_secret_field, mac_with_colons, normalize_mac
from reconciler.planning.capabilities import Catalog
from reconciler.planning.diff import contains_secret, equal, leaves
from reconciler.planning.kinds.context import Context, Policy
from reconciler.planning.kinds.device import MEMBER_DEFAULTS, REF_KEYS
from reconciler.planning.kinds.inherit import Inheritance, Leaf, declared_leaves
from reconciler.planning.kinds.linekeys import compare_line_keys
from reconciler.planning.kinds.scope import assignment_scope
from reconciler.planning.kinds.template import TEMPLATES
from reconciler.webex.untrusted import api_text

FORMAT_VERSION = 1
SENSITIVE = "(sensitive)"  # what is shown for a live secret (a password field): never its value
DEVICE = "/telephony/config/devices/{id}"
LOCATION_SETTINGS = "/telephony/config/locations/{id}/devices/settings"
ORG_SETTINGS = "/telephony/config/devices/settings"


def parse_address(text: str) -> str:
    """``Device/MAC`` (or a bare MAC), any spelling of the MAC: the normalized MAC."""
    kind, _, name = text.partition("/")
    if not name:
        kind, name = "Device", text
    mac = normalize_mac(name)
    if kind.lower() != "device" or mac is None:
        raise ConfigError(f"explain {text!r}: expected Device/MAC, e.g. Device/0A:1B:2C:3D:4E:01")
    return mac


def _where(res: Resource | None, pointer: str) -> str | None:
    return str(res.loc(pointer)) if res is not None else None


async def explain(client: Any, resources: list[Resource], mac: str) -> dict[str, Any]:
    """The explanation of the device with ``mac`` (normalized) as a JSON-ready document
    (schemas/explain.schema.json)."""
    managed = [r for r in resources if r.kind != "Policy"]
    ctx = Context(client=client, resources=managed, policy=Policy.from_resources(resources))
    ctx.inheritance = Inheritance(resources)
    found, models, locations, templates = await asyncio.gather(
        client.devices_by_mac([mac]),
        client.get_supported_devices(),
        client.paginate("/locations", {"max": 1000}, "items"),
        client.list_line_key_templates(),
    )
    device = found.get(mac)
    if device is None or not device.get("callingDeviceId"):
        raise ConfigError(f"no Webex Calling device with MAC {mac_with_colons(mac)} in the org")
    ctx.devices[mac] = device
    ctx.models.update({str(m.get("model")): m for m in models})
    ctx.caps = Catalog(ctx.models)
    ctx.locations.update({str(loc.get("name")): loc for loc in locations})
    ctx.templates.update({str(t.get("templateName")): t for t in templates})
    for r in resources:
        if r.kind == "LineKeyTemplate":
            ctx.template_specs[r.name] = dict(r.spec)
    base = DEVICE.format(id=device["callingDeviceId"])
    members, layout, settings = await asyncio.gather(
        ctx.get(f"{base}/members"), ctx.get(f"{base}/layout"), ctx.get(f"{base}/settings")
    )
    own = next((r for r in managed if r.kind == "Device" and r.name == mac), None)
    model = ctx.caps.of_device(device, members)
    location_id = str(device.get("locationId") or "")
    location = next((n for n, e in ctx.locations.items() if str(e.get("id")) == location_id), None)
    owner = next((m for m in members.get("members") or [] if m.get("primaryOwner")), None)
    return {
        "format_version": FORMAT_VERSION,
        "kind": "explain",
        "tool": {"name": "reconciler", "version": __version__},
        "device": {
            "address": f"Device/{mac}",
            "mac": mac_with_colons(mac),
            "model": (model.model if model else None) or members.get("model") or device.get("product"),
            "location": location,
            "owner": _member_name(owner) if owner else None,
            "manifest": _where(own, ""),
        },
        "settings": await _settings(ctx, own, settings, location_id, location, model),
        "members": _members(own, members),
        "layout": await _layout(ctx, own, layout, mac, model),
    }


# -- settings ------------------------------------------------------------------------------------


async def _settings(
    ctx: Context,
    own: Resource | None,
    live: dict[str, Any],
    location_id: str,
    location: str | None,
    model: Any,
) -> dict[str, Any]:
    """Each field of the device's settings family: its value, who holds it, who declares it."""
    custom = live.get("customizations") or {}
    family = model.settings_family if model is not None else None
    if family is None:
        shown = [k for k, v in custom.items() if isinstance(v, dict)]
        family = shown[0] if len(shown) == 1 else None
    if family is None or not isinstance(custom.get(family), dict):
        return {"family": None, "holder": None, "fields": []}
    loc_live: dict[str, Any] = {}
    if location_id:
        loc_live = await ctx.get(LOCATION_SETTINGS.format(id=location_id))
    holder = (
        "device" if live.get("customEnabled") else ("location" if loc_live.get("customEnabled") else "org")
    )
    chain = await _declared_chain(ctx, own, live, loc_live, location_id, location, family)
    fields = []
    for pointer, value in leaves(custom[family], f"/{family}"):
        leaf = chain.get(pointer)
        secret = is_secret_field(pointer.rsplit("/", 1)[-1])
        entry: dict[str, Any] = {
            "field": pointer.lstrip("/").replace("/", "."),
            "value": SENSITIVE if secret and value not in (None, "") else value,
            "holder": holder if holder != "location" else f"location {location}",
            "source": leaf.source if leaf else "default",
            "manifest": leaf.at if leaf else None,
        }
        if (
            leaf is not None
            and not secret
            and not contains_secret(leaf.value)
            and not equal(leaf.value, value)
        ):
            entry["desired"] = leaf.value
        fields.append(entry)
    fields.sort(key=lambda f: (f["manifest"] is None, f["field"]))
    return {
        "family": family,
        "holder": holder,
        "customEnabled": bool(live.get("customEnabled")),
        "fields": fields,
    }


async def _declared_chain(
    ctx: Context,
    own: Resource | None,
    live: dict[str, Any],
    loc_live: dict[str, Any],
    location_id: str,
    location: str | None,
    family: str,
) -> dict[str, Leaf]:
    """Pointer (``/mpp/phoneLanguage``) -> the declaration the manifests mean for it: the
    device's own, else what it follows (``Inheritance``), as a plan of the manifests would set."""
    assert ctx.inheritance is not None
    settings = own.spec.get("settings") if own is not None else None
    if isinstance(settings, dict):
        desired_custom = settings.get("customEnabled", live.get("customEnabled", False))
    else:
        desired_custom = bool(live.get("customEnabled"))
    if desired_custom:
        if own is None or not isinstance(settings, dict):
            return {}  # its own settings, and no manifest declares them
        mine = declared_leaves(own, "/spec/settings/customizations", "device")
        followed = await ctx.inheritance.for_device(ctx, own, location_id or None, family)
        return {**{leaf.pointer: leaf for leaf in followed}, **mine}
    name = location
    manifest = ctx.inheritance.locations.get(name) if name else None
    loc_custom = manifest.spec.get("customEnabled") if manifest is not None else None
    if not isinstance(loc_custom, bool):
        loc_custom = bool(loc_live.get("customEnabled"))
    if loc_custom:
        return ctx.inheritance.location_declared(manifest) if manifest is not None else {}
    return dict(ctx.inheritance.org)


# -- members -------------------------------------------------------------------------------------


def _member_name(m: dict[str, Any]) -> str:
    kind = {"PEOPLE": "person", "PLACE": "workspace", "VIRTUAL_LINE": "virtualLine"}.get(
        str(m.get("memberType")), "member"
    )
    name = " ".join(str(x) for x in (m.get("firstName"), m.get("lastName")) if x)
    return f"{kind} {api_text(name or m.get('id'))}"


def _members(own: Resource | None, live: dict[str, Any]) -> dict[str, Any]:
    """Each live member by port: declared (the device manifest's entry at that port) or not."""
    declared = own.spec.get("members") if own is not None else None
    by_port = {int(m["port"]): (i, m) for i, m in enumerate(declared or []) if isinstance(m, dict)}
    out = []
    for m in sorted(live.get("members") or [], key=lambda x: int(x.get("port") or 0)):
        port = int(m.get("port") or 0)
        entry: dict[str, Any] = {
            "port": port,
            "member": _member_name(m),
            "lineType": m.get("lineType"),
            "lineWeight": m.get("lineWeight"),
            "primaryOwner": bool(m.get("primaryOwner")),
        }
        if declared is None:
            entry.update(source="live", manifest=None)
        elif port in by_port:
            i, want = by_port[port]
            entry.update(source="device", manifest=_where(own, f"/spec/members/{i}"))
            entry["defaults"] = sorted(k for k in MEMBER_DEFAULTS if k not in want)
            ref = next((f"{k} {want[k]}" for k in REF_KEYS if k in want), None)
            if ref:
                entry["declared"] = ref
        else:
            entry.update(source="device", manifest=_where(own, "/spec/members"), removed=True)
        out.append(entry)
    missing = sorted(set(by_port) - {int(m.get("port") or 0) for m in live.get("members") or []})
    return {
        "source": "live" if declared is None else "device",
        "manifest": _where(own, "/spec/members") if declared is not None else None,
        "items": out,
        "missingPorts": missing,
    }


# -- layout --------------------------------------------------------------------------------------


def _keys(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys that are not OPEN, without the fields that mean nothing for their type."""
    return [
        {
            k: v
            for k, v in key.items()
            if v not in (None, "") and (k != "sharedLineIndex" or key.get("lineKeyType") == "SHARED_LINE")
        }
        for key in layout.get("lineKeys") or []
        if key.get("lineKeyType") not in (None, "OPEN")
    ]


async def _layout(
    ctx: Context, own: Resource | None, live: dict[str, Any], mac: str, model: Any
) -> dict[str, Any]:
    """The live layout and where it comes from: the device's manifest (its keys or a template), an
    assignment's template, the model's default, or a change made outside the manifests."""
    out: dict[str, Any] = {
        "layoutMode": live.get("layoutMode"),
        "lineKeys": _keys(live),
        "kemModuleType": live.get("kemModuleType"),
        "notes": [],
    }
    declared = own.spec.get("layout") if own is not None else None
    if isinstance(declared, dict):
        name = declared.get("template")
        out.update(source="template" if name else "device", via="the device's manifest", template=name)
        out["manifest"] = _where(own, "/spec/layout")
        want = ctx.template_specs.get(str(name)) if name else declared
        out.update(_template_manifest(ctx, name))
        if want is not None:
            out["matches"] = _matches(want, live, bool(name) or declared.get("layoutMode") != "DEFAULT")
        return out
    by, notes = await _assigned(ctx, mac)
    out["notes"] = notes
    if by is not None:
        res, name = by
        out.update(source="template", via=f"assignment {res.name}", template=name)
        out["manifest"] = _where(res, "/spec/template")
        out.update(_template_manifest(ctx, name))
        reset = res.spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
        want = {} if reset else ctx.template_specs.get(name)
        if want is not None:
            out["matches"] = _matches(want, live, not reset)
        return out
    if live.get("layoutMode") != "CUSTOM":
        out.update(source="default", via=None, template=None, manifest=None)
        return out
    same = [t for t, spec in await _live_specs(ctx, model) if _matches(spec, live, True)]
    out.update(source="live", via=None, template=None, manifest=None)
    if same:
        out["notes"].append(f"equals template {same[0]!r}, which no manifest assigns")
    return out


def _matches(want: dict[str, Any], live: dict[str, Any], custom: bool) -> bool:
    if not custom:
        return live.get("layoutMode") != "CUSTOM"
    d, h = compare_line_keys(want.get("lineKeys") or [], live.get("lineKeys"))
    return live.get("layoutMode") == "CUSTOM" and d == h


def _template_manifest(ctx: Context, name: str | None) -> dict[str, Any]:
    res = next((r for r in ctx.resources if r.kind == "LineKeyTemplate" and r.name == name), None)
    return {"templateManifest": _where(res, "") if name else None}


async def _assigned(ctx: Context, mac: str) -> tuple[tuple[Resource, str] | None, list[str]]:
    """The assignment whose job targets the device (with its template), and what the others say
    about it (one that skips it, and why)."""
    notes: list[str] = []
    colons = mac_with_colons(mac)
    for res in [r for r in ctx.resources if r.kind == "LineKeyTemplateAssignment"]:
        name = str(res.spec.get("template"))
        await _need_spec(ctx, name)
        ids = [str(ctx.locations[n]["id"]) for n in res.spec.get("locations", []) if n in ctx.locations]
        scope = await assignment_scope(ctx, res, ids, ctx.template_specs.get(name, {}))
        if colons in scope.matched:
            return (res, name), notes
        if colons in scope.custom:
            notes.append(f"assignment {res.name} skips it: a custom layout (excludeDevicesWithCustomLayout)")
        elif colons in scope.advisory:
            notes.append(f"assignment {res.name} skips it: {', '.join(scope.advisory[colons])} not accepted")
    return None, notes


async def _need_spec(ctx: Context, name: str) -> None:
    if name not in ctx.template_specs and name in ctx.templates:
        ctx.template_specs[name] = await ctx.get(f"{TEMPLATES}/{ctx.templates[name]['id']}")


async def _live_specs(ctx: Context, model: Any) -> list[tuple[str, dict[str, Any]]]:
    """The org's templates for the device's model, with their keys."""
    names = [
        n
        for n, t in ctx.templates.items()
        if model is None or t.get("deviceModel") == getattr(model, "model", None)
    ]
    for n in names:
        await _need_spec(ctx, n)
    return [(n, ctx.template_specs[n]) for n in names if n in ctx.template_specs]


def explain_command(conn: Connection, paths: list[str], address: str) -> dict[str, Any]:
    """``explain``: why the device at ``address`` (``Device/MAC``) has each of its values, from
    live state and the manifests under ``paths``."""
    mac = parse_address(address)
    resources = load(paths)

    async def go() -> dict[str, Any]:
        async with connect(conn) as client:
            return await explain(client, resources, mac)

    return run(go())
