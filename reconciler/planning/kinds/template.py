"""LineKeyTemplate (create / update, delete only when pruning) and LineKeyTemplateAssignment jobs."""

from __future__ import annotations

from typing import Any

from reconciler.model import Resource
from reconciler.planning.diff import FieldChange, equal
from reconciler.planning.kinds.context import Context
from reconciler.planning.kinds.linekeys import compare_line_keys, line_keys_body
from reconciler.planning.kinds.push_targets import reach_listed
from reconciler.planning.kinds.scope import Scope, assignment_scope
from reconciler.textsafe import did_you_mean

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


def _location_ids(ctx: Context, res: Resource) -> list[str] | None:
    """The ids of the locations an assignment names; None (with an error) for one the org lacks."""
    out = []
    for i, loc in enumerate(res.spec.get("locations", [])):
        entry = ctx.locations.get(loc)
        if entry is None:
            known = did_you_mean(loc, [*ctx.locations, *ctx.org_names.get("locations", [])])
            ctx.error(res, f"/spec/locations/{i}", f"no location named {loc!r} in the org{known}")
            return None
        out.append(str(entry["id"]))
    return out


async def plan_assignment(ctx: Context, res: Resource) -> None:
    spec = res.spec
    name = spec["template"]
    template_id, dep = template_ref(ctx, name)
    if template_id is None:
        known = did_you_mean(name, [*ctx.templates, *ctx.template_specs])
        ctx.error(
            res, "/spec/template", f"no line key template named {name!r} (in the repo or the org){known}"
        )
        return
    location_ids = _location_ids(ctx, res)
    if location_ids is None:
        return
    body: dict[str, Any] = {"action": spec.get("action", "APPLY_TEMPLATE"), "templateId": template_id}
    if location_ids:
        body["locationIds"] = location_ids
    for k in ("excludeDevicesWithCustomLayout", "includeDeviceTags", "excludeDeviceTags", "advisoryTypes"):
        if k in spec:
            body[k] = spec[k]
    tmpl = ctx.template_specs.get(name, {})
    scope = await assignment_scope(ctx, res, location_ids, tmpl)
    meta: dict[str, Any] = {
        "template": name,
        "matchingDevices": len(scope.matched),
        "differingDevices": scope.differing,
        "layoutChanges": scope.changes,
        "objects": len(scope.differing),
    }
    ctx.assignment_targets[res.address] = scope.matched
    _note_skipped(ctx, res, scope, meta, planned=bool(scope.differing))
    if not scope.differing:
        return  # a job would change nothing (a template edit it cannot reach is said above)
    if template_id.startswith("${"):
        meta["deviceCount"] = None  # known once the template exists
    else:
        meta["deviceCount"] = await ctx.client.preview_apply_line_key_template(body)
        if meta["deviceCount"] != scope.live_matched:
            meta["previewDifference"] = meta["deviceCount"] - scope.live_matched
            ctx.warnings.append(
                f"{res.address}: the API's preview counts {meta['deviceCount']} matching device(s), this "
                f"plan {scope.live_matched}: the job may change devices the plan does not show, or miss some"
            )
    step = ctx.step(
        res,
        "job",
        6,
        APPLY_JOB,
        body,
        after=dep,
        changes=[FieldChange("/devices", None, scope.differing)],
        job_type="applyLineKeyTemplate",
        summary=(
            f"reset the matching devices to their default layouts (template {name!r})"
            if spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
            else f"apply template {name!r} to matching devices"
        ),
        meta=meta,
    )
    reach_listed(ctx, step, scope.differing, f"template assignment {res.name}")  # pushed after the job


def _note_skipped(ctx: Context, res: Resource, scope: Scope, meta: dict[str, Any], planned: bool) -> None:
    """What the job skips in its scope, and why: devices with a custom layout
    (``excludeDevicesWithCustomLayout``) and devices with a warning the assignment does not accept
    (``advisoryTypes``). A skipped device whose layout differs from the template is a warning: the
    template's change does not reach it."""
    if scope.custom:
        meta["skippedDevices"] = {"customLayout": scope.custom, "advisories": scope.advisory}
    elif scope.advisory:
        meta["skippedDevices"] = {"customLayout": [], "advisories": scope.advisory}
    if scope.custom_differing:
        shown = ", ".join(scope.custom_differing[:5]) + (" ..." if len(scope.custom_differing) > 5 else "")
        ctx.warnings.append(
            f"{res.address}: skips {len(scope.custom)} in-scope device(s) with a custom layout "
            f"(excludeDevicesWithCustomLayout: true at {res.loc('/spec/excludeDevicesWithCustomLayout')}); "
            f"{len(scope.custom_differing)} of them differ from template {res.spec['template']!r} and "
            f"keep their layout{'' if planned else ': no job is planned'} ({shown}). Set it to false to "
            "apply the template to them"
        )
    if scope.advisory:
        names = sorted({a for found in scope.advisory.values() for a in found})
        ctx.warnings.append(
            f"{res.address}: skips {len(scope.advisory)} in-scope device(s) with a warning advisoryTypes "
            f"does not accept ({', '.join(names)}): {', '.join(sorted(scope.advisory)[:5])}"
            + (" ..." if len(scope.advisory) > 5 else "")
        )
