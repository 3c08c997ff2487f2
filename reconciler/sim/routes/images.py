"""Background images: list and delete (org-wide), upload (``backgroundImageUpload`` on a device)."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import catalog
from ..errors import ApiError, bad_request
from ..simulator import Simulator
from ..store import Image
from .common import T, device_for_write, ok, sim_of, validated, wrote

MAX_IMAGE_BYTES = 625 * 1024
MAX_IMAGES = 100


def _images_json(sim: Simulator) -> list[dict[str, Any]]:
    listed = [i for i in sim.store.images.values() if sim.faults.listed(i.file_name)]
    return [{"backgroundImageUrl": i.url, "fileName": i.file_name} for i in listed]


async def list_images(request: Request) -> Response:
    sim = sim_of(request)
    items = _images_json(sim)
    return ok({"backgroundImages": items, "count": str(len(items))})


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise bad_request("The request body must be multipart/form-data.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _image_in_use(sim: Simulator, url: str) -> bool:
    store = sim.store
    blobs: list[dict[str, Any] | None] = [store.org_customizations]
    blobs += [loc.customizations for loc in store.locations.values()]
    blobs += [d.settings for d in store.devices.values() if d.settings]
    for blob in blobs:
        if blob and (blob.get("mpp") or {}).get("background", {}).get("customUrl") == url:
            return True
    return False


async def upload_image(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    if catalog.MODELS[device.model].family != "mpp":
        raise bad_request(f"Background images are not supported on {device.model}.")
    content_type = request.headers.get("content-type", "")
    if "multipart/form-data" not in content_type.lower():
        raise ApiError(415, "Send the image as multipart/form-data.")
    fields = _parse_multipart(content_type, await request.body())
    if "file" not in fields or "fileName" not in fields:
        raise bad_request("multipart fields file and fileName are required.")
    data = fields["file"][1]
    name = fields["fileName"][1].decode("utf-8", "replace").strip()
    stem = name
    for ext in (".png", ".jpeg", ".jpg"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    if not stem:
        raise bad_request("fileName must not be empty.")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    else:
        raise bad_request("The image must be a .png or .jpeg file.")
    if len(data) > MAX_IMAGE_BYTES:
        raise bad_request(f"The image is {len(data)} bytes; the limit is 625 KB.")
    existing = sim.store.images.get(stem)
    if existing is None and len(sim.store.images) >= MAX_IMAGES:
        raise bad_request(f"The organization already has {MAX_IMAGES} background images.")
    url = (
        existing.url if existing else f"/dms/Cisco_Phone_Background/background{sim.store.next_sequence():03d}"
    )
    sim.store.images[stem] = Image(stem, url, len(data), kind)
    sim.faults.made(stem)
    wrote(request)
    return ok({"filename": stem, "backgroundImageUrl": url, "count": str(len(sim.store.images))}, status=201)


async def delete_images(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    results = []
    failed = False
    for item in body["backgroundImages"]:
        name = item["fileName"]
        image = sim.store.images.get(name)
        if image is None:
            failed = True
            results.append(
                {
                    "fileName": name,
                    "result": {
                        "status": 404,
                        "error": {"message": f"Background image {name} does not exist.", "errorCode": 4404},
                    },
                }
            )
        elif _image_in_use(sim, image.url) and not item.get("forceDelete", False):
            failed = True
            results.append(
                {
                    "fileName": name,
                    "result": {
                        "status": 400,
                        "error": {
                            "message": f"Background image {name} is in use; set forceDelete to delete it.",
                            "errorCode": 4305,
                        },
                    },
                }
            )
        else:
            del sim.store.images[name]
            wrote(request)
            results.append({"fileName": name, "result": {"status": 200}})
    return ok({"items": results, "count": str(len(sim.store.images))}, status=206 if failed else 200)


def routes() -> list[Route]:
    return [
        Route(f"{T}/devices/backgroundImages", list_images, methods=["GET"]),
        Route(f"{T}/devices/backgroundImages", delete_images, methods=["DELETE"]),
        Route(
            f"{T}/devices/{{deviceId}}/actions/backgroundImageUpload/invoke", upload_image, methods=["POST"]
        ),
    ]
