"""BackgroundImages: upload the repo's images that the org lacks; delete others only when pruning."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from reconciler.manifests.discovery import UnreadableFile, inside, read_capped, repo_root
from reconciler.model import Resource, mac_with_colons, normalize_mac
from reconciler.planning.diff import FieldChange
from reconciler.planning.kinds.context import Context
from reconciler.textsafe import did_you_mean_mac
from reconciler.validation.imagecheck import image_problem
from reconciler.validation.semantic import IMAGE_MAX_BYTES, image_name

IMAGES = "/telephony/config/devices/backgroundImages"
UPLOAD = "/telephony/config/devices/{id}/actions/backgroundImageUpload/invoke"


def image_file(res: Resource, path: str) -> Path:
    return Path(res.source.file).parent / path


async def plan_images(ctx: Context, res: Resource) -> None:
    data = await ctx.get(IMAGES)
    live = {str(i.get("fileName")) for i in data.get("backgroundImages", [])}
    wanted = res.spec.get("images", [])
    # The org lists an image by the name it keeps (``Logo.png`` uploads as ``Logo``).
    missing = [(i, img) for i, img in enumerate(wanted) if image_name(img["fileName"]) not in live]
    device_id: str | None = None
    if missing:
        device_id = _upload_device(ctx, res)
        if device_id is None:
            return
    for i, img in missing:
        _plan_upload(ctx, res, i, img, device_id)
    if ctx.prune:
        _plan_prune(ctx, res, data, wanted)


def _plan_upload(ctx: Context, res: Resource, i: int, img: dict[str, Any], device_id: str | None) -> None:
    """Upload image ``i`` of the manifest, checked first by its content as the API will."""
    f = image_file(res, img["path"])
    root = repo_root(res.source.file)
    if not inside(f, root):
        ctx.error(res, f"/spec/images/{i}/path", f"{f} resolves outside the repository ({root}): refused")
        return
    try:
        content = read_capped(f, IMAGE_MAX_BYTES)
    except UnreadableFile as exc:
        ctx.error(res, f"/spec/images/{i}/path", f"{f}: {exc}")
        return
    info, problem = image_problem(content, f.suffix)  # by content: what the API will check
    if problem or info is None:
        ctx.error(res, f"/spec/images/{i}/path", f"image {str(f)!r} {problem}")
        return
    ctype = info.content_type
    name = img["fileName"]
    ctx.step(
        res,
        "create",
        1,
        UPLOAD.format(id=device_id),
        {"fileName": name},
        part=name,
        at=f"/spec/images/{i}",
        changes=[FieldChange(f"/images/{name}", None, str(f))],
        summary=f"upload background image {name!r}",
        meta={
            "file": str(f),
            "sha256": hashlib.sha256(content).hexdigest(),
            "contentType": ctype,
            "object": f"{res.address}.{name}",
        },
    )


def _plan_prune(ctx: Context, res: Resource, data: dict[str, Any], wanted: list[dict[str, Any]]) -> None:
    """Delete the org's images no manifest declares, but those a background setting still uses."""
    declared = {image_name(img["fileName"]) for img in wanted}
    used = image_references(ctx.resources)
    extra = []
    for item in sorted(data.get("backgroundImages", []), key=lambda i: str(i.get("fileName"))):
        name = str(item.get("fileName"))
        if name in declared:
            continue
        where = _referenced_at(item, used)
        if where:
            ctx.warnings.append(
                f"{res.address}: background image {name!r} is not pruned although no manifest declares "
                f"it: a background.customUrl uses it at {where}"
            )
            continue
        extra.append(name)
    force = bool(res.spec.get("forceDelete", ctx.policy.force_delete_images))
    if extra:
        body = {"backgroundImages": [{"fileName": n, "forceDelete": force} for n in extra]}
        changes = [FieldChange(f"/images/{n}", n, None) for n in extra]
        summary = f"delete {len(extra)} unmanaged background image(s)" + (
            " (forceDelete: also from the devices that show them)" if force else ""
        )
        meta = {"objects": len(extra)}
        ctx.step(res, "delete", 8, IMAGES, body, part="prune", changes=changes, summary=summary, meta=meta)


# The resource kinds whose spec can set a phone background, and where their settings start.
_SETTINGS_ROOTS = {
    "Device": "/spec/settings",
    "PersonDevices": "/spec/settings",
    "WorkspaceDevices": "/spec/settings",
    "LocationDeviceSettings": "/spec",
    "OrgDeviceSettings": "/spec",
}


def image_references(resources: list[Resource]) -> dict[str, str]:
    """Every ``background.customUrl`` the manifests set (value -> file:line of the first one)."""
    found: dict[str, str] = {}

    def walk(res: Resource, value: Any, pointer: str) -> None:
        if isinstance(value, dict):
            background = value.get("background")
            if isinstance(background, dict) and isinstance(background.get("customUrl"), str):
                url = background["customUrl"].strip()
                if url:
                    found.setdefault(url, f"{res.loc(pointer + '/background/customUrl')} ({res.address})")
            for k, v in value.items():
                walk(res, v, f"{pointer}/{k}")

    for r in resources:
        root = _SETTINGS_ROOTS.get(r.kind)
        if root is not None:
            walk(r, r.spec.get("settings") if root.endswith("settings") else r.spec, root)
    return found


def _referenced_at(item: dict[str, Any], used: dict[str, str]) -> str | None:
    """Where a manifest's customUrl points at this live image (its URL, or a URL ending in its name)."""
    url = str(item.get("backgroundImageUrl") or "")
    name = str(item.get("fileName") or "")
    for value, where in used.items():
        if (url and (value == url or value.endswith(url))) or (name and value.rsplit("/", 1)[-1] == name):
            return where
    return None


def _upload_device(ctx: Context, res: Resource) -> str | None:
    """The API uploads through a device: ``spec.uploadDevice``, else any managed device."""
    mac = res.spec.get("uploadDevice")
    if mac:
        item: dict[str, Any] | None = ctx.devices.get(normalize_mac(str(mac)) or "")
        if not item or not item.get("callingDeviceId"):
            known = did_you_mean_mac(
                str(mac), map(mac_with_colons, [*ctx.devices, *ctx.org_names.get("devices", [])])
            )
            ctx.error(res, "/spec/uploadDevice", f"no Webex Calling device with MAC {mac}{known}")
            return None
        return str(item["callingDeviceId"])
    for item in ctx.devices.values():
        if item.get("callingDeviceId"):
            return str(item["callingDeviceId"])
    ctx.error(res, "/spec", "uploading an image needs a device: set spec.uploadDevice to a phone's MAC")
    return None
