"""Bulk jobs: start (never blindly retried), poll with back-off and progress, fetch error items."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from reconciler.errors import ApiError
from reconciler.webex.answers import answer_json, check_job
from reconciler.webex.api import JSONDict, WebexApi
from reconciler.webex.errors import BadAnswer, JobConflict, JobTimeout, WebexApiError
from reconciler.webex.redact import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

JOB_PATHS: dict[str, str] = {
    "callDeviceSettings": "/telephony/config/jobs/devices/callDeviceSettings",
    "applyLineKeyTemplate": "/telephony/config/jobs/devices/applyLineKeyTemplate",
    "rebuildPhones": "/telephony/config/jobs/devices/rebuildPhones",
}

RUNNING_STATUSES = frozenset({"STARTING", "STARTED"})
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED"})
FINAL_EXIT_CODES = frozenset({"COMPLETED", "FAILED", "STOPPED", "COMPLETED_WITH_ERRORS"})

Progress = Callable[[int, str], None]


def _path(job_type: str) -> str:
    try:
        return JOB_PATHS[job_type]
    except KeyError:
        raise ValueError(f"unknown job type {job_type!r}; expected one of {sorted(JOB_PATHS)}") from None


def is_finished(job: JSONDict) -> bool:
    """True once the job reached a final status (or a final exit code)."""
    status = str(job.get("latestExecutionStatus") or "").upper()
    exit_code = str(job.get("latestExecutionExitCode") or "").upper()
    return status in FINAL_STATUSES or exit_code in FINAL_EXIT_CODES


def percentage(job: JSONDict) -> int:
    value: Any = job.get("percentageComplete")
    try:
        return max(0, min(100, int(float(value))))
    except (TypeError, ValueError):
        return 100 if is_finished(job) else 0


async def start_job(client: WebexApi, job_type: str, body: JSONDict) -> JSONDict:
    """Start a job; returns the job object (``id``, ``latestExecutionStatus``...).

    The POST is retried only where it provably did not reach the server (connection refused,
    429/423); a 5xx or lost answer raises (``exc.ambiguous``), because a duplicate job is worse
    than a failed one. A 409 (a job of this type is already running) raises ``JobConflict``: wait
    with ``wait_for_running_jobs`` and start again.
    """
    path = _path(job_type)
    try:
        resp = await client.request("POST", path, json=body)
    except ApiError as exc:
        if exc.status == 409:
            raise JobConflict(
                exc.method, exc.path, exc.status, exc.api_message, exc.tracking_id, exc.attempts
            ) from None
        raise
    try:
        job = answer_json(resp)
    except BadAnswer as exc:
        exc.ambiguous = True  # the job may have started all the same: look for it in the list
        raise
    if not job.get("id") or not isinstance(job["id"], str):
        raise WebexApiError("POST", path, resp.status_code, "the answer names no job id", ambiguous=True)
    return job


def _same_target(job: JSONDict, body: JSONDict) -> bool:
    """Whether a listed job could be the one ``body`` started (by location where jobs carry one)."""
    location = body.get("locationId")
    listed = job.get("locationId") or job.get("targetLocationId") or job.get("sourceLocationId")
    if location is None or listed is None:
        return True
    return bool(listed == location)


async def job_ids(client: WebexApi, job_type: str) -> set[str]:
    return {str(j.get("id")) for j in await list_jobs(client, job_type)}


def new_job_for(listed: list[JSONDict], known: set[str], body: JSONDict) -> list[JSONDict]:
    """Jobs in ``listed`` that are not in ``known`` and could have been started with ``body``."""
    return [j for j in listed if str(j.get("id")) not in known and _same_target(j, body)]


async def start_job_once(
    client: WebexApi, job_type: str, body: JSONDict, tries: int = 3, known: set[str] | None = None
) -> JSONDict:
    """Start a job exactly once, even when the answer to the POST is lost.

    The jobs that exist are listed first. After an ambiguous failure (a 5xx or a dropped answer)
    the list is read again: a new job for the same target is the one this POST started and is
    adopted; no new job proves the POST did not take effect, so it is sent again (``tries`` in all).
    After a timeout (no answer in time, or a 504) the server may still be starting the job, so an
    empty list proves nothing: the list is watched for a while, and if no job appears the POST is
    not sent again; the error says so, and a re-run finds the job if it did start.
    """
    if known is None:
        known = await job_ids(client, job_type)
    for attempt in range(1, tries + 1):
        try:
            return await start_job(client, job_type, body)
        except WebexApiError as exc:
            if not exc.ambiguous or attempt == tries:
                raise
            mine = new_job_for(await list_jobs(client, job_type), known, body)
            if not mine and exc.timed_out:
                settle = min(60.0, max(1.0, 2 * float(getattr(client, "timeout", 15.0))))
                mine = await _watch_for_job(client, job_type, known, body, settle)
                if not mine:
                    raise WebexApiError(
                        exc.method,
                        exc.path,
                        exc.status,
                        f"{exc.api_message}; no answer in time and no new {job_type} job appeared "
                        f"within {settle:g}s, so it was not sent again (a duplicate job is worse than "
                        "a failed one): re-run apply to check and finish",
                        exc.tracking_id,
                        exc.attempts,
                        ambiguous=True,
                    ) from None
            if len(mine) == 1:
                return mine[0]
            if mine:
                raise WebexApiError(
                    exc.method,
                    exc.path,
                    exc.status,
                    f"{exc.api_message}; {len(mine)} new {job_type} jobs appeared, cannot tell which is ours",
                    exc.tracking_id,
                    exc.attempts,
                    ambiguous=True,
                ) from None
    raise AssertionError("unreachable")


async def _watch_for_job(
    client: WebexApi, job_type: str, known: set[str], body: JSONDict, settle: float
) -> list[JSONDict]:
    """List the jobs every half second for ``settle`` seconds; the new ones for ``body`` once seen."""
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.5, settle / 4))
        mine = new_job_for(await list_jobs(client, job_type), known, body)
        if mine:
            return mine
    return []


async def get_job(client: WebexApi, job_type: str, job_id: str) -> JSONDict:
    """The job's status; ``BadAnswer`` for a status or exit code the API does not document."""
    resp = await client.request("GET", f"{_path(job_type)}/{quote(job_id, safe='')}")
    return check_job(resp, answer_json(resp))


async def list_jobs(client: WebexApi, job_type: str) -> list[JSONDict]:
    """Jobs of that type, most recent first (all pages)."""
    return await client.paginate(_path(job_type), None, "items")


async def job_errors(client: WebexApi, job_type: str, job_id: str) -> list[JSONDict]:
    """The job's error items (all pages): ``[{"itemNumber", "error": {"key", "message": [...]}, ...}]``."""
    return await client.paginate(f"{_path(job_type)}/{quote(job_id, safe='')}/errors", None, "items")


async def wait_job(
    client: WebexApi,
    job_type: str,
    job_id: str,
    progress: Progress | None = None,
    poll_initial: float = 0.2,
    poll_max: float = 5.0,
    timeout: float = 3600,
) -> JSONDict:
    """Poll until the job is COMPLETED / FAILED (or exits COMPLETED_WITH_ERRORS / STOPPED).

    Polls start every ``poll_initial`` s and back off x1.5 to ``poll_max``; ``progress(percent,
    status)`` is called after each poll. Returns the final job object; raises ``JobTimeout``.
    """
    deadline = time.monotonic() + timeout
    delay = poll_initial
    last_report: tuple[int, str] | None = None
    while True:
        job = await get_job(client, job_type, job_id)
        status = str(job.get("latestExecutionStatus") or "UNKNOWN")
        report = (percentage(job), status)
        if progress is not None and report != last_report:
            progress(*report)
            last_report = report
        if is_finished(job):
            return job
        if time.monotonic() + delay > deadline:
            raise JobTimeout(
                "GET",
                f"{_path(job_type)}/{job_id}",
                None,
                f"job {job_id} still {status} ({report[0]}%) after {timeout:g}s",
            )
        await asyncio.sleep(delay)
        delay = min(poll_max, delay * 1.5)


async def wait_for_running_jobs(
    client: WebexApi,
    job_type: str,
    poll_initial: float = 0.5,
    poll_max: float = 5.0,
    timeout: float = 3600,
) -> None:
    """Return once no job of that type is STARTING/STARTED (e.g. after a ``JobConflict``)."""
    deadline = time.monotonic() + timeout
    delay = poll_initial
    while True:
        running = [
            j
            for j in await list_jobs(client, job_type)
            if str(j.get("latestExecutionStatus") or "").upper() in RUNNING_STATUSES and not is_finished(j)
        ]
        if not running:
            return
        if time.monotonic() + delay > deadline:
            ids = ", ".join(str(j.get("id")) for j in running[:3])
            raise JobTimeout(
                "GET", _path(job_type), None, f"{job_type} job(s) still running after {timeout:g}s: {ids}"
            )
        log.info("waiting for %d running %s job(s)", len(running), job_type)
        await asyncio.sleep(delay)
        delay = min(poll_max, delay * 1.5)
