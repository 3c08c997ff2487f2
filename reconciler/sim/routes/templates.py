"""Line key templates: list, create, get, modify, delete, and ``previewApplyLineKeyTemplate``.

The ``applyLineKeyTemplate`` job itself starts in :mod:`.job_routes`; it takes the same body as the
preview (:func:`apply_template_body`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import catalog, jobs, line_keys, telephony
from ..errors import ApiError, bad_request
from ..store import Template
from .common import T, no_content, ok, sim_of, validated, wrote


async def list_templates(request: Request) -> Response:
    sim = sim_of(request)
    store = sim.store
    items = sorted(
        (line_keys.template_summary(t) for t in store.templates.values() if sim.faults.listed(t.id)),
        key=lambda t: t["templateName"].lower(),
    )
    return ok({"lineKeyTemplates": items})


async def create_template(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    model = line_keys.template_model(body["deviceModel"])
    name = body["templateName"].strip()
    if not name:
        raise bad_request("templateName must not be empty.")
    if any(t.name.lower() == name.lower() for t in sim.store.templates.values()):
        raise ApiError(409, f"A line key template named {name} already exists.")
    keys = line_keys.template_line_keys(model, body["lineKeys"])
    tpl = Template(
        sim.new_id("DEVICE_LINE_KEY_TEMPLATE"),
        name,
        model.model,
        bool(body.get("userReorderEnabled", False)),
        keys,
    )
    sim.store.templates[tpl.id] = tpl
    sim.faults.made(tpl.id)
    wrote(request)
    return ok({"id": tpl.id}, status=201)


async def get_template(request: Request) -> Response:
    store = sim_of(request).store
    return ok(line_keys.template_view(telephony.get_template(store, request.path_params["templateId"])))


async def put_template(request: Request) -> Response:
    store = sim_of(request).store
    tpl = telephony.get_template(store, request.path_params["templateId"])
    body = await validated(request)
    keys = line_keys.template_line_keys(catalog.MODELS[tpl.model], body["lineKeys"])
    reorder = bool(body.get("userReorderEnabled", tpl.user_reorder_enabled))
    if keys != tpl.line_keys or reorder != tpl.user_reorder_enabled:
        tpl.line_keys = keys
        tpl.user_reorder_enabled = reorder
        wrote(request)
    return no_content()


async def delete_template(request: Request) -> Response:
    store = sim_of(request).store
    tpl = telephony.get_template(store, request.path_params["templateId"])
    running = [
        j
        for j in store.jobs.values()
        if j.type == jobs.APPLY_LKT and not j.finished and j.request.get("templateId") == tpl.id
    ]
    if running:
        raise ApiError(409, "The template is in use by a running applyLineKeyTemplate job.")
    del store.templates[tpl.id]
    wrote(request)
    return no_content()


async def apply_template_body(request: Request) -> dict[str, Any]:
    """The validated body of a preview or an applyLineKeyTemplate job; its template and locations exist."""
    store = sim_of(request).store
    body = await validated(request)
    if body["action"] == "APPLY_TEMPLATE":
        if not body.get("templateId"):
            raise bad_request("templateId is required for the APPLY_TEMPLATE action.")
        telephony.get_template(store, body["templateId"])
    for loc in body.get("locationIds") or []:
        telephony.get_location(store, loc)
    return body


async def preview_lkt(request: Request) -> Response:
    body = await apply_template_body(request)
    return ok({"deviceCount": len(jobs.lkt_targets(sim_of(request).store, body))})


def routes() -> list[Route]:
    return [
        Route(f"{T}/devices/lineKeyTemplates", list_templates, methods=["GET"]),
        Route(f"{T}/devices/lineKeyTemplates", create_template, methods=["POST"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", get_template, methods=["GET"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", put_template, methods=["PUT"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", delete_template, methods=["DELETE"]),
        Route(f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke", preview_lkt, methods=["POST"]),
    ]
