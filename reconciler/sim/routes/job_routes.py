"""The job endpoints: start ``applyLineKeyTemplate``, ``callDeviceSettings`` and ``rebuildPhones``
jobs, and for each type list, status and errors.

The job engine (progress, effects, answer shapes) is :mod:`reconciler.sim.jobs`.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import jobs, telephony
from ..errors import ApiError, bad_request, not_found
from .common import T, ok, page, sim_of, tracking_of, validated, wrote
from .templates import apply_template_body

# --------------------------------------------------------------------------------------------
# start
# --------------------------------------------------------------------------------------------


async def start_lkt_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await apply_template_body(request)
    job = sim.start_job(jobs.APPLY_LKT, body, tracking_of(request.scope), None)
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()), status=202)


async def start_settings_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    location_id = body.get("locationId") or None
    if location_id is not None:
        telephony.get_location(sim.store, location_id)
    if any(j.type == jobs.CALL_DEVICE_SETTINGS and not j.finished for j in sim.store.jobs.values()):
        raise ApiError(409, "A change device settings job is already running for this organization.")
    customizing = location_id is None or bool(body.get("locationCustomizationsEnabled", False))
    if customizing and not body.get("customizations"):
        raise bad_request("customizations are required.")
    job = sim.start_job(jobs.CALL_DEVICE_SETTINGS, body, tracking_of(request.scope), location_id)
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()))


async def start_rebuild_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    telephony.get_location(sim.store, body["locationId"])
    job = sim.start_job(jobs.REBUILD_PHONES, body, tracking_of(request.scope), body["locationId"])
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()), status=202)


# --------------------------------------------------------------------------------------------
# list, status, errors (one set of routes per job type)
# --------------------------------------------------------------------------------------------


def _job(request: Request, job_type: str) -> Any:
    sim = sim_of(request)
    job = sim.store.jobs.get(request.path_params["jobId"])
    if job is None or job.type != job_type:
        raise not_found("Job")
    sim.read_job(job)
    return job


def _job_list(request: Request, job_type: str) -> list[dict[str, Any]]:
    sim = sim_of(request)
    now = sim.now()
    found = [j for j in sim.store.jobs.values() if j.type == job_type and sim.faults.listed(j.id)]
    found.sort(key=lambda j: j.created, reverse=True)
    return [jobs.view(sim.store, j, now) for j in found]


def _job_routes(job_type: str) -> list[Route]:
    base = f"{T}/jobs/devices/{job_type}"

    async def list_jobs(request: Request) -> Response:
        items = _job_list(request, job_type)
        if job_type == jobs.CALL_DEVICE_SETTINGS:
            chunk, headers = page(request, items, 100, 1000)
            return ok({"items": chunk}, headers=headers)
        return ok({"items": items})

    async def job_status(request: Request) -> Response:
        sim = sim_of(request)
        return ok(jobs.view(sim.store, _job(request, job_type), sim.now()))

    async def job_errors(request: Request) -> Response:
        job = _job(request, job_type)
        items = copy.deepcopy(job.errors)
        if job_type == jobs.APPLY_LKT:
            return ok(jobs.lkt_errors_view(job))
        if job_type == jobs.CALL_DEVICE_SETTINGS:
            chunk, headers = page(request, items, 100, 1000)
            return ok({"items": chunk}, headers=headers)
        return ok({"items": items})

    return [
        Route(f"{base}/{{jobId}}/errors", job_errors, methods=["GET"]),
        Route(f"{base}/{{jobId}}", job_status, methods=["GET"]),
        Route(base, list_jobs, methods=["GET"]),
    ]


def routes() -> list[Route]:
    return [
        Route(f"{T}/jobs/devices/applyLineKeyTemplate", start_lkt_job, methods=["POST"]),
        Route(f"{T}/jobs/devices/callDeviceSettings", start_settings_job, methods=["POST"]),
        Route(f"{T}/jobs/devices/rebuildPhones", start_rebuild_job, methods=["POST"]),
        *_job_routes(jobs.APPLY_LKT),
        *_job_routes(jobs.CALL_DEVICE_SETTINGS),
        *_job_routes(jobs.REBUILD_PHONES),
    ]
