"""LineKeyTemplate (create / update, delete only when pruning) and LineKeyTemplateAssignment jobs."""

from __future__ import annotations

import asyncio
from typing import Any

from reconciler.diff import FieldChange, equal
from reconciler.kinds.context import Context
from reconciler.kinds.linekeys import compare_line_keys, line_keys_body
from reconciler.model import Resource
from reconciler.reach import reach_listed, remember_devices

TEMPLATES = "/telephony/config/devices/lineKeyTemplates"
APPLY_JOB = "/telephony/config/jobs/devices/applyLineKeyTemplate"
PREVIEW = "/telephony/config/devices/actions/previewApplyLineKeyTemplate/invoke"


def check_keys(ctx: Context, res: Resource, model: str) -> bool:
    """Whether the template's model exists and takes its line keys (each refusal reported)."""
    caps = ctx.caps.model(model)
    if caps is None:
        if ctx.caps:
            ctx.error(res, "/spec/deviceModel", f"{model!r} is not a supported device model")
            return False
        return True
    return not ctx.refuse(res, caps.template_problems(res.spec.get("lineKeys", [])))


async def plan_template(ctx: Context, res: Resource) -> None:
    spec = res.spec
    model = spec["deviceModel"]
    if not check_keys(ctx, res, model):
        return
    entry = ctx.templates.get(res.name)
    caps = ctx.caps.model(model)
    count = caps.line_keys if caps else None
    if entry is None:
        body: dict[str, Any] = {
            "templateName": res.name,
            "deviceModel": model,
            "userReorderEnabled": bool(spec.get("userReorderEnabled", False)),
            "lineKeys": line_keys_body(spec["lineKeys"], None, count),
        }
        changes = [FieldChange(f"/{k}", None, v) for k, v in body.items() if k != "lineKeys"]
        changes.append(FieldChange("/lineKeys", None, compare_line_keys(spec["lineKeys"], None)[0]))
        ctx.step(
            res, "create", 2, TEMPLATES, body, changes=changes, summary=f"new line key template for {model}"
        )
        return
    live = await ctx.get(f"{TEMPLATES}/{entry['id']}")
    if live.get("deviceModel") != model:
        ctx.error(
            res,
            "/spec/deviceModel",
            f"template {res.name!r} exists for {live.get('deviceModel')}; a "
            "template's model cannot change (give the new one another name)",
        )
        return
    changes = []
    if "userReorderEnabled" in spec and not equal(spec["userReorderEnabled"], live.get("userReorderEnabled")):
        changes.append(
            FieldChange("/userReorderEnabled", live.get("userReorderEnabled"), spec["userReorderEnabled"])
        )
    want, have = compare_line_keys(spec["lineKeys"], live.get("lineKeys"))
    if want != have:
        changes.append(FieldChange("/lineKeys", have, want))
    if not changes:
        return
    body = {
        "userReorderEnabled": spec.get("userReorderEnabled", live.get("userReorderEnabled", False)),
        "lineKeys": line_keys_body(spec["lineKeys"], live.get("lineKeys"), count),
    }
    path = f"{TEMPLATES}/{entry['id']}"
    ctx.step(res, "update", 2, path, body, changes=changes, summary=f"line key template for {model}")


def template_ref(ctx: Context, name: str) -> tuple[str | None, str | None]:
    """(live template id or a ``${step}`` placeholder, the step it depends on)."""
    address = f"LineKeyTemplate/{name}"
    pending = next((s for s in ctx.steps if s.address == address), None)
    if pending is not None and pending.action == "create":
        return "${" + address + ".id}", address
    entry = ctx.templates.get(name)
    if entry is None:
        return None, None
    return str(entry["id"]), pending.address if pending else None


async def plan_assignment(ctx: Context, res: Resource) -> None:
    spec = res.spec
    name = spec["template"]
    template_id, dep = template_ref(ctx, name)
    if template_id is None:
        ctx.error(res, "/spec/template", f"no line key template named {name!r} (in the repo or the org)")
        return
    location_ids = []
    for i, loc in enumerate(spec.get("locations", [])):
        entry = ctx.locations.get(loc)
        if entry is None:
            ctx.error(res, f"/spec/locations/{i}", f"no location named {loc!r} in the org")
            return
        location_ids.append(str(entry["id"]))
    body: dict[str, Any] = {"action": spec.get("action", "APPLY_TEMPLATE"), "templateId": template_id}
    if location_ids:
        body["locationIds"] = location_ids
    for k in ("excludeDevicesWithCustomLayout", "includeDeviceTags", "excludeDeviceTags", "advisoryTypes"):
        if k in spec:
            body[k] = spec[k]
    tmpl = ctx.template_specs.get(name, {})
    differing, matched = await _differing_devices(ctx, spec, location_ids, tmpl)
    meta: dict[str, Any] = {
        "template": name,
        "matchingDevices": len(matched),
        "differingDevices": differing,
        "objects": len(differing),
    }
    ctx.assignment_targets[res.address] = matched
    if not differing and dep is None:
        return
    if template_id.startswith("${"):
        meta["deviceCount"] = None  # known once the template exists
    else:
        meta["deviceCount"] = await ctx.client.preview_apply_line_key_template(body)
    step = ctx.step(
        res,
        "job",
        6,
        APPLY_JOB,
        body,
        after=dep,
        changes=[FieldChange("/devices", None, differing)],
        job_type="applyLineKeyTemplate",
        summary=(
            f"reset the matching devices to their default layouts (template {name!r})"
            if spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
            else f"apply template {name!r} to matching devices"
        ),
        meta=meta,
    )
    reach_listed(ctx, step, differing, f"template assignment {res.name}")  # pushed after the job


async def _differing_devices(
    ctx: Context, spec: dict[str, Any], location_ids: list[str], tmpl: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(MACs of targeted devices whose layout differs from the template, MACs of all targeted)."""
    model = tmpl.get("deviceModel")
    include = set(spec.get("includeDeviceTags") or [])
    exclude = set(spec.get("excludeDeviceTags") or [])
    caps = ctx.caps.model(str(model))
    reset = spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
    # APPLY_DEFAULT_TEMPLATES resets every device with a configurable layout, whatever its model.
    product = caps.display_name if caps else str(model).removeprefix("DMS ")
    by_model = {} if reset else {"product": product}
    listings = await asyncio.gather(
        *(
            ctx.client.list_devices(**(by_model | ({"locationId": loc} if loc else {})))
            for loc in ([*location_ids] or [""])
        )
    )
    layouts_of = {
        str(e.get("displayName")) for e in ctx.models.values() if e.get("allowConfigureLayoutEnabled")
    }
    candidates = [
        dev
        for devs in listings
        for dev in devs
        if dev.get("callingDeviceId")
        and (not reset or not ctx.models or str(dev.get("product")) in layouts_of)
        and (not include or set(dev.get("tags") or []) & include)
        and not (exclude and set(dev.get("tags") or []) & exclude)
    ]
    remember_devices(ctx, candidates)  # the devices of the job's pushes (``reconciler.reach``)
    layouts = await asyncio.gather(
        *(ctx.get(f"/telephony/config/devices/{dev['callingDeviceId']}/layout") for dev in candidates)
    )
    differing: list[str] = []
    matched: list[str] = []
    for dev, layout in zip(candidates, layouts, strict=True):
        if spec.get("excludeDevicesWithCustomLayout") and layout.get("layoutMode") == "CUSTOM":
            continue
        mac = str(dev.get("mac") or dev["callingDeviceId"])
        matched.append(mac)
        if reset:
            if layout.get("layoutMode") != "DEFAULT":
                differing.append(mac)
            continue
        want, have = compare_line_keys(tmpl.get("lineKeys", []), layout.get("lineKeys"))
        # the job sets the template's userReorderEnabled too: a device differing only there changes
        reorder = "userReorderEnabled" in tmpl and bool(layout.get("userReorderEnabled")) != bool(
            tmpl["userReorderEnabled"]
        )
        if layout.get("layoutMode") != "CUSTOM" or want != have or reorder:
            differing.append(mac)
    return sorted(differing), sorted(matched)
