"""Job helpers against scripted answers."""

from __future__ import annotations

import httpx
import pytest

from reconciler.webex import JobConflict, JobTimeout, WebexApiError
from reconciler.webex.jobs import JOB_PATHS, start_job, wait_for_running_jobs, wait_job

from .conftest import MockFactory


async def test_start_job_409_is_job_conflict(mock_client: MockFactory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(409, json={"message": "A job is already running", "trackingId": "T409"})

    async with mock_client(handler) as client:
        with pytest.raises(JobConflict) as info:
            await start_job(client, "callDeviceSettings", {"customizations": {}})
    assert calls == 1 and info.value.status == 409 and info.value.tracking_id == "T409"


async def test_start_job_not_retried_after_5xx(mock_client: MockFactory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"message": "busy"})

    async with mock_client(handler) as client:
        with pytest.raises(WebexApiError) as info:
            await start_job(client, "rebuildPhones", {"locationId": "L"})
    assert calls == 1 and info.value.ambiguous
    with pytest.raises(ValueError):
        await start_job(client, "nope", {})


async def test_wait_job_reports_progress_until_final(mock_client: MockFactory) -> None:
    states = [
        ("STARTING", "UNKNOWN", 0),
        ("STARTED", "UNKNOWN", 40),
        ("STARTED", "UNKNOWN", 40),
        ("STARTED", "UNKNOWN", 90),
        ("COMPLETED", "COMPLETED_WITH_ERRORS", 100),
    ]
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        status, code, pct = states.pop(0)
        job = {"id": "J1", "latestExecutionStatus": status, "latestExecutionExitCode": code}
        job["percentageComplete"] = pct
        return httpx.Response(200, json=job)

    seen: list[tuple[int, str]] = []
    async with mock_client(handler) as client:
        job = await wait_job(
            client, "applyLineKeyTemplate", "J1", lambda p, s: seen.append((p, s)), poll_initial=0.01
        )
    assert job["latestExecutionExitCode"] == "COMPLETED_WITH_ERRORS"
    assert seen == [(0, "STARTING"), (40, "STARTED"), (90, "STARTED"), (100, "COMPLETED")]
    assert set(paths) == {"/v1" + JOB_PATHS["applyLineKeyTemplate"] + "/J1"}


async def test_wait_job_times_out(mock_client: MockFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"id": "J", "latestExecutionStatus": "STARTED", "percentageComplete": 5}
        )

    async with mock_client(handler) as client:
        with pytest.raises(JobTimeout, match="still STARTED"):
            await wait_job(client, "rebuildPhones", "J", poll_initial=0.01, timeout=0.05)


async def test_wait_for_running_jobs(mock_client: MockFactory) -> None:
    lists = [
        [{"id": "A", "latestExecutionStatus": "STARTED"}, {"id": "B", "latestExecutionStatus": "COMPLETED"}],
        [{"id": "A", "latestExecutionStatus": "STARTED"}],
        [{"id": "A", "latestExecutionStatus": "COMPLETED"}],
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": lists.pop(0)})

    async with mock_client(handler) as client:
        await wait_for_running_jobs(client, "callDeviceSettings", poll_initial=0.01)
    assert lists == []
