"""Job helpers against scripted answers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from reconciler.webex import JobConflict, JobTimeout, WebexApiError
from reconciler.webex.errors import BadAnswer
from reconciler.webex.jobs import (
    JOB_PATHS,
    JobWatcher,
    KnownJobs,
    start_job,
    wait_for_running_jobs,
    wait_job,
)

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
        ids = await wait_for_running_jobs(client, "callDeviceSettings", poll_initial=0.01)
    assert lists == [] and ids == {"A"}  # the jobs the last listing showed


def _job(job_id: str, status: str, pct: int, code: str = "UNKNOWN", **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "latestExecutionStatus": status,
        "latestExecutionExitCode": code,
        "percentageComplete": pct,
        **extra,
    }


REBUILD = "/v1" + JOB_PATHS["rebuildPhones"]


async def test_watcher_reads_every_running_job_of_a_type_with_one_listing_a_round(
    mock_client: MockFactory,
) -> None:
    # An old job of the type is listed too; three of ours finish in different rounds.
    old = _job("OLD", "COMPLETED", 100, "COMPLETED")
    rounds = [
        [_job("A", "STARTED", 50), _job("B", "STARTING", 0), _job("C", "STARTED", 20), old],
        [_job("A", "COMPLETED", 100, "COMPLETED"), _job("B", "STARTED", 60), _job("C", "STARTED", 90), old],
        [_job("B", "COMPLETED", 100, "COMPLETED"), _job("C", "COMPLETED", 100, "COMPLETED_WITH_ERRORS"), old],
    ]
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"items": rounds.pop(0)})

    seen: dict[str, list[tuple[int, str]]] = {"A": [], "B": [], "C": []}
    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "rebuildPhones", poll_initial=0.01)
        done = await asyncio.gather(
            *(watcher.wait(j, lambda p, s, j=j: seen[j].append((p, s))) for j in "ABC")
        )
    # one request a round for the three jobs (the old way: a GET per job per round, 8 here)
    assert paths == [REBUILD] * 3 and watcher.rounds == 3
    assert [d["latestExecutionExitCode"] for d in done] == ["COMPLETED", "COMPLETED", "COMPLETED_WITH_ERRORS"]
    assert seen == {
        "A": [(50, "STARTED"), (100, "COMPLETED")],
        "B": [(0, "STARTING"), (60, "STARTED"), (100, "COMPLETED")],
        "C": [(20, "STARTED"), (90, "STARTED"), (100, "COMPLETED")],
    }


async def test_watcher_reads_a_job_the_listing_does_not_show_by_id(mock_client: MockFactory) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == REBUILD:
            return httpx.Response(200, json={"items": [_job("A", "COMPLETED", 100, "COMPLETED")]})
        return httpx.Response(200, json=_job("B", "COMPLETED", 100, "COMPLETED"))

    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "rebuildPhones", poll_initial=0.01)
        a, b = await asyncio.gather(watcher.wait("A"), watcher.wait("B"))
    assert (a["id"], b["id"]) == ("A", "B")
    assert paths == [REBUILD, REBUILD + "/B"]


async def test_watcher_an_undocumented_status_fails_that_job_alone(mock_client: MockFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        items = [_job("A", "COMPLETED", 100, "COMPLETED"), _job("B", "PAUSED", 10)]
        return httpx.Response(200, json={"items": items})

    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "rebuildPhones", poll_initial=0.01)
        a, b = await asyncio.gather(watcher.wait("A"), watcher.wait("B"), return_exceptions=True)
    assert isinstance(a, dict) and a["latestExecutionStatus"] == "COMPLETED"
    assert isinstance(b, BadAnswer) and "'PAUSED'" in str(b) and b.path == JOB_PATHS["rebuildPhones"]


async def test_watcher_reads_settings_jobs_by_id(mock_client: MockFactory) -> None:
    # callDeviceSettings lists its whole history in pages: its jobs are read by id
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        job_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json=_job(job_id, "COMPLETED", 100, "COMPLETED"))

    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "callDeviceSettings", poll_initial=0.01)
        await asyncio.gather(watcher.wait("S1"), watcher.wait("S2"))
    base = "/v1" + JOB_PATHS["callDeviceSettings"]
    assert sorted(paths) == [base + "/S1", base + "/S2"]


async def test_watcher_after_a_failed_listing_reads_each_job_by_id(mock_client: MockFactory) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == REBUILD or request.url.path.endswith("/B"):
            return httpx.Response(404, json={"message": "gone"})
        return httpx.Response(200, json=_job("A", "COMPLETED", 100, "COMPLETED"))

    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "rebuildPhones", poll_initial=0.01)
        a, b = await asyncio.gather(watcher.wait("A"), watcher.wait("B"), return_exceptions=True)
    # as if each job were polled alone: a job whose read fails fails alone
    assert isinstance(a, dict) and a["id"] == "A"
    assert isinstance(b, WebexApiError) and b.status == 404
    assert paths == [REBUILD, REBUILD + "/A", REBUILD + "/B"]


async def test_watcher_stops_reading_once_nobody_waits(mock_client: MockFactory) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if request.url.path != REBUILD:  # one job left: read by id
            return httpx.Response(200, json=_job(request.url.path.rsplit("/", 1)[1], "STARTED", 5))
        return httpx.Response(200, json={"items": [_job("A", "STARTED", 5), _job("B", "STARTED", 5)]})

    async with mock_client(handler) as client:
        watcher = JobWatcher(client, "rebuildPhones", poll_initial=0.01)
        waits = [asyncio.ensure_future(watcher.wait(j)) for j in "AB"]
        await asyncio.sleep(0.1)
        waits[0].cancel()
        await asyncio.sleep(0.05)
        assert not waits[1].done()  # the other job is still watched
        waits[1].cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        await asyncio.sleep(0.05)
        after = calls
        await asyncio.sleep(0.1)
    assert after == calls and calls >= 2


async def test_known_jobs_one_listing_for_every_start_of_a_phase(mock_client: MockFactory) -> None:
    listings = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal listings
        listings += 1
        if listings == 1:
            return httpx.Response(404, json={"message": "not yet"})
        return httpx.Response(200, json={"items": [_job("OLD", "COMPLETED", 100, "COMPLETED")]})

    async with mock_client(handler) as client:
        known = KnownJobs(client)
        # the listing fails: the start that made it fails; the one that joined it lists again
        made, joined = await asyncio.gather(
            known.snapshot("rebuildPhones"), known.snapshot("rebuildPhones"), return_exceptions=True
        )
        assert isinstance(made, WebexApiError) and joined == {"OLD"}
        first, second = await asyncio.gather(known.snapshot("rebuildPhones"), known.snapshot("rebuildPhones"))
        assert first == second == {"OLD"} and first is not second
        known.add("rebuildPhones", ["MINE"])  # a job this run started
        third = await known.snapshot("rebuildPhones")
    assert third == {"OLD", "MINE"} and first == {"OLD"}  # earlier copies are not changed
    assert listings == 2  # the second listing served every later start
