"""Device: members, layout, settings (and a third-party SIP password) of one phone."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler.model import Resource, mac_with_colons
from reconciler.planning.capabilities import ModelCaps
from reconciler.planning.diff import FieldChange, diff_declared, equal, merge_declared
from reconciler.planning.kinds.context import Context
from reconciler.planning.kinds.inherit import Leaf, mark, with_leaves
from reconciler.planning.kinds.linekeys import (
    compare_kem_keys,
    compare_line_keys,
    kem_keys_body,
    line_keys_body,
)
from reconciler.planning.plan import Step
from reconciler.planning.secrets import decide, reference
from reconciler.textsafe import did_you_mean, did_you_mean_mac

DEVICE = "/telephony/config/devices/{id}"

# What the API fills in when a member is written without these fields.
MEMBER_DEFAULTS: dict[str, Any] = {
    "primaryOwner": False,
    "lineType": "PRIMARY",
    "lineWeight": 1,
    "hotlineEnabled": False,
    "allowCallDeclineEnabled": True,
}
# Compared only when the manifest declares them; otherwise the live value is kept on write.
MEMBER_OPTIONAL = ("lineLabel", "t38FaxCompressionEnabled", "hotlineDestination")
REF_KEYS = ("person", "workspace", "virtualLine")
SIP_PASSWORD = "sipPassword"  # the write-only secret, and the part of the device its step writes
SIP_PASSWORD_STEP = f".{SIP_PASSWORD}"  # the address suffix of a write-only secret's step


def calling_id(ctx: Context, res: Resource) -> str | None:
    item = ctx.devices.get(res.name)
    if item is None:
        known = did_you_mean_mac(
            res.name, map(mac_with_colons, [*ctx.devices, *ctx.org_names.get("devices", [])])
        )
        ctx.error(res, "/metadata/mac", f"no device with MAC {mac_with_colons(res.name)} in the org{known}")
        return None
    cid = item.get("callingDeviceId")
    if not cid:
        ctx.error(res, "/metadata/mac", f"device {mac_with_colons(res.name)} is not a Webex Calling device")
        return None
    return str(cid)


async def plan_device(ctx: Context, res: Resource) -> None:
    cid = calling_id(ctx, res)
    if cid is None:
        return
    base = DEVICE.format(id=cid)
    reads = await _read_parts(ctx, res.spec, base)
    if ctx.people_pending.ready():
        await _plan_read(ctx, res, cid, base, reads)
    else:  # the rest once the people are known; the next device is read meanwhile
        ctx.people_pending.park(_plan_read(ctx, res, cid, base, reads))


async def _plan_read(ctx: Context, res: Resource, cid: str, base: str, reads: dict[str, Any]) -> None:
    """A device's steps from its reads (its members' people known)."""
    await ctx.people_pending.known()
    spec = res.spec
    if "settings" in reads:  # what push_targets and not_reached would otherwise read again
        ctx.own_settings.note_device(ctx, cid, reads["settings"])
    model = ctx.caps.of_device(ctx.devices.get(res.name, {}), reads.get("members"))
    layout = desired_layout(ctx, res) if "layout" in spec else None
    if "layout" in spec and layout is None:
        return
    if model is not None and not _fits(ctx, res, model, layout, reads.get("layout")):
        return
    ids = await _plan_lines(ctx, res, cid, reads, layout, model)
    if "settings" in spec:
        step = await _plan_settings(ctx, res, base, reads["settings"], model, ids[-1] if ids else None)
        if step:
            ids.append(step.id)
    if "sipPassword" in spec:
        ids.extend(await _plan_sip_password(ctx, res, base, ids))
    if ids:
        _changed(ctx, res, cid, ids, model)


async def _plan_lines(
    ctx: Context,
    res: Resource,
    cid: str,
    reads: dict[str, Any],
    layout: dict[str, Any] | None,
    model: ModelCaps | None,
) -> list[str]:
    """The members, then the layout (after the members): the ids of the steps planned."""
    ids: list[str] = []
    if "members" in res.spec:
        step = await _plan_members(ctx, res, cid, reads["members"])
        if step:
            ids.append(step.id)
    if layout is not None:
        step = _plan_layout(ctx, res, cid, layout, reads["layout"], model)
        if step:
            step.depends_on = ids[-1:]
            ids.append(step.id)
    return ids


def _changed(ctx: Context, res: Resource, cid: str, ids: list[str], model: ModelCaps | None) -> None:
    """Note a device whose configuration the steps ``ids`` change (to be pushed, when it can be)."""
    location_id = ctx.devices.get(res.name, {}).get("locationId")
    ctx.changed_devices[cid] = (res.address, location_id, ids)
    if model is not None and not model.apply_changes:
        ctx.no_push.add(cid)


async def _read_parts(ctx: Context, spec: dict[str, Any], base: str) -> dict[str, Any]:
    """The live parts of a device its manifest declares (members also for a layout), by part."""
    reads: dict[str, Any] = {}

    async def read(part: str, path: str) -> None:
        reads[part] = await ctx.get(path)

    wanted: list[tuple[str, str]] = []  # coroutines are made only when awaited: a failed read
    if "members" in spec or "layout" in spec:  # leaves none behind un-awaited
        wanted.append(("members", f"{base}/members"))
    if "layout" in spec:
        wanted.append(("layout", f"{base}/layout"))
    if "settings" in spec:
        wanted.append(("settings", f"{base}/settings"))
    if ctx.parallel_reads:
        await asyncio.gather(*(read(part, path) for part, path in wanted))
    else:
        for part, path in wanted:
            reads[part] = await ctx.get(path)
    return reads


async def _plan_settings(
    ctx: Context, res: Resource, base: str, live: dict[str, Any], model: ModelCaps | None, prev: str | None
) -> Step | None:
    """The device's own settings: the declared fields, and (customized) what it follows."""
    spec = res.spec
    rel_ignore = res.ignore_under("/settings")
    enabled = spec["settings"].get("customEnabled", live.get("customEnabled", False))
    # A customized device follows its location's (else the org's) declared values.
    inherited = await _inherited(ctx, res, model, live) if enabled else []
    desired = dict(spec["settings"])
    if inherited:
        desired["customizations"] = with_leaves(desired.get("customizations"), inherited)
    changes = mark(
        diff_declared(desired, live, rel_ignore, prefix="/settings"),
        inherited,
        "/settings/customizations",
    )
    dropped = [c.path for c in changes if c.path.startswith("/settings/customizations/")]
    if desired.get("customEnabled") is False and desired.get("customizations"):
        dropped = ["/settings/customizations"]  # the location's settings will show instead
    if changes and not enabled and dropped:
        # Without its own settings the device shows its location's: the change would not stick.
        ctx.error(
            res,
            "/spec" + dropped[0],
            "customizations are not kept while customEnabled is false (the device shows its "
            "location's settings): set customEnabled: true, or drop the customizations",
        )
        return None
    if not changes:
        return None
    current = ctx.without_live_secrets(
        {
            "customEnabled": live.get("customEnabled", False),
            "customizations": live.get("customizations", {}),
        },
        f"{base}/settings",
    )
    body = merge_declared(current, desired, rel_ignore)
    return ctx.update(res, "settings", 4, f"{base}/settings", body, changes, "device settings", after=prev)


async def _inherited(
    ctx: Context, res: Resource, model: ModelCaps | None, live: dict[str, Any]
) -> list[Leaf]:
    """The declared fields of its parents that a customized device follows (``kinds.inherit``)."""
    if ctx.inheritance is None or ctx.inheritance.empty:
        return []
    family = model.settings_family if model is not None else None
    if family is None:
        shown = [k for k, v in (live.get("customizations") or {}).items() if isinstance(v, dict)]
        family = shown[0] if len(shown) == 1 else None
    if family is None:
        return []
    location_id = ctx.devices.get(res.name, {}).get("locationId")
    return await ctx.inheritance.for_device(ctx, res, str(location_id) if location_id else None, family)


def _fits(
    ctx: Context,
    res: Resource,
    model: ModelCaps,
    layout: dict[str, Any] | None,
    live_layout: dict[str, Any] | None,
) -> bool:
    """Whether the device's model takes what the manifest declares (each refusal reported)."""
    spec = res.spec
    problems = []
    if "members" in spec:
        problems += model.member_problems(spec["members"])
    if layout is not None:
        tmodel = layout.get("_deviceModel")
        if tmodel and tmodel != model.model:
            problems.append(
                (
                    "/spec/layout/template",
                    f"template {layout['_template']!r} is for {tmodel}, this device is a {model.model}",
                )
            )
        else:
            problems += model.layout_problems(layout, (live_layout or {}).get("kemModuleType"))
    if "settings" in spec:
        problems += model.settings_problems(spec["settings"])
    return not ctx.refuse(res, problems)


async def _plan_sip_password(ctx: Context, res: Resource, base: str, ids: list[str]) -> list[str]:
    """The write-only secret: only a third-party device takes one (the device details tell); the
    plan always says whether it is written, and why (``reconciler.planning.secrets.decide``)."""
    details = await ctx.get(base)
    maker = str(details.get("manufacturer") or "")
    if maker != "THIRD_PARTY":
        ctx.error(
            res,
            "/spec/sipPassword",
            f"device {mac_with_colons(res.name)} is a {details.get('model') or 'device'} made by "
            f"{maker or 'an unknown manufacturer'}: only third-party devices take a sipPassword",
        )
        return []
    address = f"{res.address}{SIP_PASSWORD_STEP}"
    ref = reference(res.spec["sipPassword"])
    write, why = decide(
        address,
        ref,
        ctx.secret_baseline,
        rotate=ctx.rotate_secrets,
        rewrite=res.address in ctx.rewrite_secrets or address in ctx.rewrite_secrets,
        last_write=ctx.secret_record.last_write(base, ref) if ctx.secret_record else None,
    )
    if address in ctx.secrets_written:
        write, why = False, "written by this apply"
    ctx.secret_notes.append(
        {
            "address": address,
            "resource": res.address,
            "field": "sipPassword",
            "written": write,
            "reason": why,
            "source": str(res.loc("/spec/sipPassword")),
        }
    )
    if not write:
        return []
    secret = res.spec[SIP_PASSWORD]
    changes = [FieldChange(f"/{SIP_PASSWORD}", None, secret, sensitive=True)]
    after = ids[-1] if ids else None
    summary = f"third-party SIP password: {why}"
    ctx.update(res, SIP_PASSWORD, 4, base, {SIP_PASSWORD: secret}, changes, summary, after=after)
    return [address]


def _member_ref(m: dict[str, Any]) -> tuple[str, str]:
    for k in REF_KEYS:
        if k in m:
            return k, str(m[k])
    return "id", str(m.get("id"))


async def _resolve_member_ids(
    ctx: Context, res: Resource, cid: str, members: list[dict[str, Any]], live: list[dict[str, Any]]
) -> list[str | None]:
    out: list[str | None] = []
    for i, m in enumerate(members):
        kind, ref = _member_ref(m)
        ident: str | None = None
        if kind == "person":
            ident = (ctx.people.get(ref.lower()) or {}).get("id")
            if not ident:
                known = did_you_mean(ref, ctx.people)
                ctx.error(res, f"/spec/members/{i}/person", f"no person with email {ref!r} in the org{known}")
        elif kind == "workspace":
            ident = (ctx.workspaces.get(ref) or {}).get("id")
            if not ident:
                known = did_you_mean(ref, [*ctx.workspaces, *ctx.org_names.get("workspaces", [])])
                ctx.error(
                    res, f"/spec/members/{i}/workspace", f"no workspace named {ref!r} in the org{known}"
                )
        elif kind == "virtualLine":
            # A virtual line already on the device is not "available": look on the device first.
            match = [x for x in live if x.get("memberType") == "VIRTUAL_LINE" and _full_name(x) == ref]
            if not match:
                found = await ctx.client.available_members(cid, memberName=ref)
                match = [x for x in found if x.get("memberType") == "VIRTUAL_LINE" and _full_name(x) == ref]
            if match:
                ident = str(match[0]["id"])
                ctx.labels[ident] = f"virtualLine {ref}"
            else:
                ctx.error(
                    res, f"/spec/members/{i}/virtualLine", f"no virtual line {ref!r} can be assigned here"
                )
        out.append(ident)
    return out


async def _assignable(
    ctx: Context,
    res: Resource,
    cid: str,
    desired: list[dict[str, Any]],
    ids: list[str | None],
    live_members: list[dict[str, Any]],
) -> bool:
    """A member the device does not have yet must be one the API offers (availableMembers)."""
    on_device = {str(m.get("id")) for m in live_members}
    ok = True
    for i, (m, ident) in enumerate(zip(desired, ids, strict=True)):
        kind, ref = _member_ref(m)
        if ident is None or ident in on_device or kind == "virtualLine":
            continue  # virtual lines were resolved through availableMembers already
        entity = ctx.people.get(ref.lower()) if kind == "person" else ctx.workspaces.get(ref)
        name = str((entity or {}).get("firstName") or (entity or {}).get("displayName") or ref)
        found = await ctx.client.available_members(cid, memberName=name)
        if not any(str(x.get("id")) == ident for x in found):
            ctx.error(
                res,
                f"/spec/members/{i}/{kind}",
                f"{kind} {ref!r} cannot be assigned to this device "
                "(not among its available members: another location, or no calling license?)",
            )
            ok = False
    return ok


def _full_name(m: dict[str, Any]) -> str:
    return " ".join(str(x) for x in (m.get("firstName"), m.get("lastName")) if x)


def _live_label(ctx: Context, m: dict[str, Any]) -> str:
    ident = str(m.get("id"))
    if ident in ctx.labels:
        return ctx.labels[ident]
    name = " ".join(x for x in (m.get("firstName"), m.get("lastName")) if x)
    kind = {"PEOPLE": "person", "PLACE": "workspace", "VIRTUAL_LINE": "virtualLine"}.get(
        str(m.get("memberType")), "member"
    )
    return f"{kind} {name or ident}"


def _owner_kept(
    ctx: Context,
    res: Resource,
    desired: list[dict[str, Any]],
    ids: list[str | None],
    live_members: list[dict[str, Any]],
) -> bool:
    """The API does not change a device's owner through its members: the owner is listed, with
    ``primaryOwner: true``, and no one else is."""
    owner = next((m for m in live_members if m.get("primaryOwner")), None)
    if owner is None:
        return True
    owner_id = str(owner.get("id"))
    if owner_id not in ids:
        ctx.error(
            res,
            "/spec/members",
            f"the members leave out the device's owner, {_live_label(ctx, owner)}: list it with "
            "primaryOwner: true (the API keeps the owner on its device)",
        )
        return False
    ok = True
    for i, (m, ident) in enumerate(zip(desired, ids, strict=True)):
        primary = bool(m.get("primaryOwner", MEMBER_DEFAULTS["primaryOwner"]))
        if ident == owner_id and not primary:
            ctx.error(
                res,
                f"/spec/members/{i}",
                "this member owns the device: list it with primaryOwner: true (the API does not change a "
                "device's owner)",
            )
            ok = False
        elif ident != owner_id and primary:
            ctx.error(
                res,
                f"/spec/members/{i}/primaryOwner",
                f"the device is owned by {_live_label(ctx, owner)}: only the owner is the primary owner "
                "(the API does not change a device's owner)",
            )
            ok = False
    return ok


def _blank(name: str, value: Any) -> Any:
    """An empty label or destination is no label or destination: the API drops it."""
    return None if name in ("lineLabel", "hotlineDestination") and value == "" else value


def _human(ref: str, m: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"member": ref, "port": m.get("port")}
    for f in fields:
        if f in m:
            out[f] = m[f]
    return out


def _member_body(m: dict[str, Any], ident: str, want: dict[str, Any], keep: dict[str, Any]) -> dict[str, Any]:
    """One member of the PUT: the declared fields (defaults filled in), the optional ones declared
    or else kept from its live entry ``keep``."""
    body = {"id": ident, "port": int(m["port"])}
    for f in MEMBER_DEFAULTS:
        body[f] = want[f]
    for f in MEMBER_OPTIONAL:
        if f in m:
            body[f] = m[f]
        elif f in keep:
            body[f] = keep[f]
    body.setdefault("hotlineDestination", "")
    return body


async def _plan_members(ctx: Context, res: Resource, cid: str, live: dict[str, Any]) -> Step | None:
    desired: list[dict[str, Any]] = res.spec["members"]
    ids = await _resolve_member_ids(ctx, res, cid, desired, list(live.get("members") or []))
    if any(i is None for i in ids):
        return None
    live_members: list[dict[str, Any]] = list(live.get("members") or [])
    if not await _assignable(ctx, res, cid, desired, ids, live_members):
        return None
    if not _owner_kept(ctx, res, desired, ids, live_members):
        return None
    live_by_key = {(str(m.get("id")), int(m.get("port") or 0)): m for m in live_members}
    live_by_id = {str(m.get("id")): m for m in live_members}
    same = len(live_members) == len(desired)
    # per desired member: (manifest entry, id, kind, ref, wanted fields, fields compared, live entry)
    compared: list[tuple[Any, str, str, str, dict[str, Any], list[str], dict[str, Any] | None]] = []
    shown: dict[tuple[str, int], list[str]] = {}  # the fields compared, per (id, port)
    for m, ident in zip(desired, ids, strict=True):
        assert ident is not None
        kind, ref = _member_ref(m)
        ctx.labels.setdefault(ident, f"{kind} {ref}")
        want = {**MEMBER_DEFAULTS, **{k: v for k, v in m.items() if k not in REF_KEYS}}
        fields = [*MEMBER_DEFAULTS, *(f for f in MEMBER_OPTIONAL if f in m)]
        if not want.get("hotlineEnabled") and "hotlineDestination" in fields:
            fields.remove("hotlineDestination")
        key = (ident, int(m["port"]))
        shown[key] = fields
        have = live_by_key.get(key)
        if have is None or any(not equal(_blank(f, want.get(f)), _blank(f, have.get(f))) for f in fields):
            same = False
        compared.append((m, ident, kind, ref, want, fields, have))
    if same:
        return None  # the usual case: the bodies below are built only for a change
    body_members = []
    after_h: list[dict[str, Any]] = []
    for m, ident, kind, ref, want, fields, have in compared:
        body_members.append(_member_body(m, ident, want, have or live_by_id.get(ident) or {}))
        after_h.append(_human(f"{kind} {ref}", want, fields))
    before_h = [
        _human(
            _live_label(ctx, m),
            m,
            shown.get((str(m.get("id")), int(m.get("port") or 0)), list(MEMBER_DEFAULTS)),
        )
        for m in sorted(live_members, key=lambda x: int(x.get("port") or 0))
    ]
    path = f"{DEVICE.format(id=cid)}/members"
    changes = [FieldChange("/members", before_h, after_h)]
    return ctx.update(
        res, "members", 4, path, {"members": body_members}, changes, "device members (the whole list)"
    )


def desired_layout(ctx: Context, res: Resource) -> dict[str, Any] | None:
    """The layout the manifest asks for; ``template:`` expands to the template's keys."""
    layout: dict[str, Any] = res.spec["layout"]
    if "template" not in layout:
        return layout
    name = layout["template"]
    tmpl = ctx.template_specs.get(name)
    if tmpl is None:
        known = did_you_mean(name, [*ctx.templates, *ctx.template_specs])
        ctx.error(
            res,
            "/spec/layout/template",
            f"no line key template named {name!r} (in the repo or the org){known}",
        )
        return None
    return {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": bool(tmpl.get("userReorderEnabled", False)),
        "lineKeys": tmpl.get("lineKeys", []),
        "_template": name,
        "_deviceModel": tmpl.get("deviceModel"),
    }


def _plan_layout(
    ctx: Context,
    res: Resource,
    cid: str,
    want: dict[str, Any],
    live: dict[str, Any],
    model: ModelCaps | None,
) -> Step | None:
    ignore = res.ignore_under("/layout")
    changes: list[FieldChange] = []
    mode = want.get("layoutMode", "CUSTOM")
    if mode != live.get("layoutMode"):
        changes.append(FieldChange("/layout/layoutMode", live.get("layoutMode"), mode))
    if (
        "userReorderEnabled" in want
        and "/userReorderEnabled" not in ignore
        and not equal(want["userReorderEnabled"], live.get("userReorderEnabled"))
    ):
        changes.append(
            FieldChange(
                "/layout/userReorderEnabled", live.get("userReorderEnabled"), want["userReorderEnabled"]
            )
        )
    if mode == "CUSTOM":
        if "/lineKeys" not in ignore:
            d, lv = compare_line_keys(want.get("lineKeys", []), live.get("lineKeys"))
            if d != lv:
                changes.append(FieldChange("/layout/lineKeys", lv, d))
        if (
            "kemModuleType" in want
            and "/kemModuleType" not in ignore
            and want["kemModuleType"] != live.get("kemModuleType")
        ):
            changes.append(
                FieldChange("/layout/kemModuleType", live.get("kemModuleType"), want["kemModuleType"])
            )
        if ("kemKeys" in want or "kemModuleType" in want) and "/kemKeys" not in ignore:
            d, lv = compare_kem_keys(want.get("kemKeys", []), live.get("kemKeys"))
            if d != lv:
                changes.append(FieldChange("/layout/kemKeys", lv, d))
    if not changes:
        return None
    key_count = model.line_keys if model else None
    body: dict[str, Any] = {
        "layoutMode": mode,
        "userReorderEnabled": want.get("userReorderEnabled", live.get("userReorderEnabled", False)),
    }
    if mode == "CUSTOM":
        body["lineKeys"] = line_keys_body(want.get("lineKeys", []), live.get("lineKeys"), key_count)
        kem_type = want.get("kemModuleType", live.get("kemModuleType"))
        if kem_type:
            body["kemModuleType"] = kem_type
            kem_src = (
                want.get("kemKeys") if "kemKeys" in want or "kemModuleType" in want else live.get("kemKeys")
            )
            body["kemKeys"] = kem_keys_body(kem_src or [], live.get("kemKeys"))
    else:
        body["lineKeys"] = live.get("lineKeys") or []
    summary = f"layout from template {want['_template']!r}" if "_template" in want else "layout"
    return ctx.update(res, "layout", 4, f"{DEVICE.format(id=cid)}/layout", body, changes, summary)
