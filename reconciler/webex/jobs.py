"""Bulk jobs: start (never blindly retried), poll with back-off and progress, fetch error items.

Requests per job are kept down without weakening the start-once guarantee: the starts of one apply
phase share one listing of the jobs that exist (``KnownJobs``), and the running jobs of one type
are watched together (``JobWatcher``): one listing a round reports them all where the listing is
one answer, instead of one GET per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.errors import ApiError
from reconciler.webex.answers import answer_json, check_job, job_problem, unusable
from reconciler.webex.api import JSONDict, WebexApi
from reconciler.webex.errors import BadAnswer, JobConflict, JobTimeout, WebexApiError
from reconciler.webex.once import listing_lag, look_for, may_have_started
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

# Job types whose listing is one answer (the spec gives it no paging): one listing reports every
# job of the type. callDeviceSettings lists its whole history in pages, and runs one job per org at
# a time anyway: its job is always read by id.
LISTED_IN_ONE_ANSWER = frozenset({"applyLineKeyTemplate", "rebuildPhones"})

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
    """Whether a listed job could be the one ``body`` started: the same location (an org-wide
    start only an org-wide job) and, where both say it, the same ``locationCustomizationsEnabled``."""
    location = body.get("locationId")
    listed = job.get("locationId") or job.get("targetLocationId") or job.get("sourceLocationId")
    if location is None and listed and job.get("target") == "LOCATION":
        return False  # an org-wide start never makes a job for one location
    if location is not None and listed is not None and listed != location:
        return False
    flag = body.get("locationCustomizationsEnabled")
    listed_flag = job.get("locationCustomizationsEnabled")
    return flag is None or listed_flag is None or bool(flag) == bool(listed_flag)


async def job_ids(client: WebexApi, job_type: str) -> set[str]:
    return {str(j.get("id")) for j in await list_jobs(client, job_type)}


def new_job_for(listed: list[JSONDict], known: set[str], body: JSONDict) -> list[JSONDict]:
    """Jobs in ``listed`` that are not in ``known`` and could have been started with ``body``."""
    return [j for j in listed if str(j.get("id")) not in known and _same_target(j, body)]


async def start_job_once(
    client: WebexApi, job_type: str, body: JSONDict, tries: int = 3, known: set[str] | None = None
) -> JSONDict:
    """Start a job exactly once, even when the answer to the POST is lost (``webex/once.py``).

    The jobs that exist are listed first (``known``). After an ambiguous failure (a 5xx, a lost
    answer) the listing is read until a new job for the same target appears, for up to the
    client's listing lag: that job is the one this POST started and is adopted. None by then
    means the POST did not take effect: it is sent again (``tries`` in all). None after no answer
    in time (the server may still be starting it), or a listing that cannot be read: the step
    fails, saying the job may have started.
    """
    if known is None:
        known = await job_ids(client, job_type)
    window = listing_lag(client)
    for attempt in range(1, tries + 1):
        try:
            return await start_job(client, job_type, body)
        except WebexApiError as exc:
            if not exc.ambiguous:
                raise
            what = f"{job_type} job"

            async def new_jobs() -> list[JSONDict]:
                return new_job_for(await list_jobs(client, job_type), known, body)

            mine = await look_for(new_jobs, window, exc, what)
            if len(mine) == 1:
                log.info("%s %s: the job had started (%s); adopted", exc.method, exc.path, mine[0].get("id"))
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
            if exc.timed_out or attempt == tries:
                # no answer in time (a timeout, a 504): the server may still be starting it
                raise may_have_started(exc, what, window) from None
            log.info("%s %s: no new job listed in %g s; sending it again", exc.method, exc.path, window)
    raise AssertionError("unreachable")


async def get_job(client: WebexApi, job_type: str, job_id: str) -> JSONDict:
    """The job's status; ``BadAnswer`` for a status or exit code the API does not document."""
    resp = await client.request("GET", f"{_path(job_type)}/{quote(job_id, safe='')}")
    return check_job(resp, answer_json(resp))


async def list_jobs(client: WebexApi, job_type: str) -> list[JSONDict]:
    """Jobs of that type, most recent first (all pages)."""
    return await client.paginate(_path(job_type), None, "items")


async def job_errors(client: WebexApi, job_type: str, job_id: str) -> list[JSONDict]:
    """The job's error items (all pages): ``[{"itemNumber", "error": {"key", "message": [...]}, ...}]``.

    An applyLineKeyTemplate job answers one ``error`` (``ApplyLineKeyTemplateJobErrors``) whose
    ``message`` lists the failures: one item each, in the same shape."""
    path = f"{_path(job_type)}/{quote(job_id, safe='')}/errors"
    if job_type != "applyLineKeyTemplate":
        return await client.paginate(path, None, "items")
    data = answer_json(await client.request("GET", path))
    error = data.get("error")
    if not isinstance(error, dict):
        return []
    listed = error.get("message")
    messages: list[Any] = listed if isinstance(listed, list) else [error]
    tracking, key = data.get("trackingId"), error.get("key")
    return [
        {"itemNumber": i, "trackingId": tracking, "error": {"key": key, "message": [m]}}
        for i, m in enumerate(messages)
        if isinstance(m, dict)
    ]


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
    status)`` is called after each poll that shows a change. Returns the final job object; raises
    ``JobTimeout``. Several jobs of one type: ``JobWatcher`` watches them with one listing a round.
    """
    watcher = JobWatcher(client, job_type, poll_initial=poll_initial, poll_max=poll_max, timeout=timeout)
    return await watcher.wait(job_id, progress)


@dataclass
class _Watched:
    future: asyncio.Future[JSONDict]
    progress: Progress | None
    deadline: float  # loop time
    last_report: tuple[int, str] | None = None


class JobWatcher:
    """Waits for any number of jobs of one type, all observed in the same polling rounds.

    A round reads the jobs of the type once with a listing when it watches two or more jobs and the
    listing is one answer (``LISTED_IN_ONE_ANSWER``); otherwise, and for a watched job the listing
    does not show, each job is read by id, as is every job of a round whose listing failed. Every
    job is checked as a job read by id is (an undocumented status is a ``BadAnswer`` for that job
    alone), reports its progress on change, and has its own deadline (``JobTimeout``); a read by id
    that fails ends that job's wait alone. Rounds start ``poll_initial`` s after a job joins and
    back off x1.5 to ``poll_max``.
    """

    def __init__(
        self,
        client: WebexApi,
        job_type: str,
        *,
        poll_initial: float = 0.2,
        poll_max: float = 5.0,
        timeout: float = 3600,
    ) -> None:
        self.client = client
        self.job_type = job_type
        self.path = _path(job_type)
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.timeout = timeout
        self.rounds = 0
        self._watched: dict[str, _Watched] = {}
        self._delay = poll_initial
        self._due = 0.0
        self._moved = asyncio.Event()  # the next round became due earlier
        self._task: asyncio.Task[None] | None = None

    async def wait(self, job_id: str, progress: Progress | None = None) -> JSONDict:
        """The job's final object once it is finished (COMPLETED / FAILED or a final exit code)."""
        loop = asyncio.get_running_loop()
        if job_id in self._watched:  # already watched: share its outcome
            return await asyncio.shield(self._watched[job_id].future)
        entry = _Watched(loop.create_future(), progress, loop.time() + self.timeout)
        self._watched[job_id] = entry
        # A job that joins is first read ``poll_initial`` s from now, and the back-off starts again.
        self._delay = self.poll_initial
        due = loop.time() + self.poll_initial
        if self._task is None or self._task.done():
            self._due = due
            self._task = asyncio.create_task(self._run())
        elif due < self._due:
            self._due = due
            self._moved.set()
        try:
            return await entry.future
        finally:
            if self._watched.get(job_id) is entry:
                del self._watched[job_id]
            if not self._watched and self._task is not None and not self._task.done():
                self._task.cancel()

    def _pending(self) -> dict[str, _Watched]:
        return {i: w for i, w in self._watched.items() if not w.future.done()}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending():
                while loop.time() < self._due:
                    self._moved.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._moved.wait(), self._due - loop.time())
                watched = self._pending()
                if not watched:
                    break
                await self._round(watched)
                self.rounds += 1
                self._delay = min(self.poll_max, self._delay * 1.5)
                self._due = loop.time() + self._delay
                self._expire(self._pending(), self._due)
        except Exception as exc:  # e.g. a progress callback that failed: every wait ends with it
            for entry in self._pending().values():
                _settle(entry, error=exc)

    async def _round(self, watched: dict[str, _Watched]) -> None:
        listed: dict[str, JSONDict] = {}
        if len(watched) >= 2 and self.job_type in LISTED_IN_ONE_ANSWER:
            try:
                listed = {str(j.get("id")): j for j in await list_jobs(self.client, self.job_type)}
            except ApiError as exc:  # (after the client's retries) each job is read by id instead
                log.info("%s job listing failed (%s); reading the jobs one by one", self.job_type, exc)
        unlisted = [i for i in watched if i not in listed]
        read = await asyncio.gather(
            *(get_job(self.client, self.job_type, i) for i in unlisted), return_exceptions=True
        )
        for job_id, outcome in zip(unlisted, read, strict=True):
            if isinstance(outcome, dict):
                self._observe(watched[job_id], outcome)
            elif isinstance(outcome, Exception):
                _settle(watched[job_id], error=outcome)
            else:
                raise outcome  # a cancellation
        for job_id, job in listed.items():
            if job_id in watched:
                problem = job_problem(job)
                if problem is None:
                    self._observe(watched[job_id], job)
                else:
                    _settle(watched[job_id], error=unusable("GET", self.path, 200, problem))

    def _observe(self, entry: _Watched, job: JSONDict) -> None:
        if entry.future.done():  # its waiter is gone
            return
        report = (percentage(job), str(job.get("latestExecutionStatus") or "UNKNOWN"))
        if entry.progress is not None and report != entry.last_report:
            entry.progress(*report)
        entry.last_report = report
        if is_finished(job):
            _settle(entry, job)

    def _expire(self, watched: dict[str, _Watched], next_round: float) -> None:
        for job_id, entry in watched.items():
            if next_round > entry.deadline:
                pct, status = entry.last_report or (0, "UNKNOWN")
                timeout = JobTimeout(
                    "GET",
                    f"{self.path}/{job_id}",
                    None,
                    f"job {job_id} still {status} ({pct}%) after {self.timeout:g}s",
                )
                _settle(entry, error=timeout)


def _settle(entry: _Watched, job: JSONDict | None = None, error: Exception | None = None) -> None:
    """End a wait with the final job or an error (unless its waiter is gone)."""
    if entry.future.done():
        return
    if error is not None:
        entry.future.set_exception(error)
    else:
        entry.future.set_result(job or {})


class KnownJobs:
    """The jobs that exist, per type: one listing, read when the first start of the type needs it,
    plus every job started (or seen running) since through this object.

    A start is made safe against a lost answer (``start_job_once``, and a resumed run's
    ``job_posting`` record) by its ``known`` set: a new job for its target that is not in the set
    is the one its POST started. The set each start gets (``snapshot``) is a copy taken before its
    POST, so it never holds the job that POST starts; it holds every job listed at the phase's
    first start and every job this run started since, so no job of this run passes for another
    start's. One instance serves one phase of an apply: the starts of the phase make one listing
    per job type, not one each.
    """

    def __init__(self, client: WebexApi) -> None:
        self.client = client
        self._listed: dict[str, asyncio.Task[set[str]]] = {}
        self._added: dict[str, set[str]] = {}

    async def snapshot(self, job_type: str) -> set[str]:
        """The ``known`` set for a start of ``job_type`` (a copy). A start that joined a listing
        another start made, and that failed, makes one of its own (as each start did before)."""
        for attempt in (1, 2):
            task = self._listed.get(job_type)
            mine = False
            if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
                task = asyncio.ensure_future(job_ids(self.client, job_type))
                self._listed[job_type] = task
                mine = True
            try:
                listed = await asyncio.shield(task)
            except ApiError:
                if mine or attempt == 2:
                    raise
                continue
            return listed | self._added.get(job_type, set())
        raise AssertionError("unreachable")

    def add(self, job_type: str, ids: Iterable[str]) -> None:
        """Jobs that exist besides the listed ones (started by this run, or seen while waiting)."""
        self._added.setdefault(job_type, set()).update(ids)


async def wait_for_running_jobs(
    client: WebexApi,
    job_type: str,
    poll_initial: float = 0.5,
    poll_max: float = 5.0,
    timeout: float = 3600,
) -> set[str]:
    """Return once no job of that type is STARTING/STARTED (e.g. after a ``JobConflict``): the ids
    of the jobs the last listing showed."""
    deadline = time.monotonic() + timeout
    delay = poll_initial
    while True:
        listed = await list_jobs(client, job_type)
        running = [
            j
            for j in listed
            if str(j.get("latestExecutionStatus") or "").upper() in RUNNING_STATUSES and not is_finished(j)
        ]
        if not running:
            return {str(j.get("id")) for j in listed}
        if time.monotonic() + delay > deadline:
            ids = ", ".join(str(j.get("id")) for j in running[:3])
            raise JobTimeout(
                "GET", _path(job_type), None, f"{job_type} job(s) still running after {timeout:g}s: {ids}"
            )
        log.info("waiting for %d running %s job(s)", len(running), job_type)
        await asyncio.sleep(delay)
        delay = min(poll_max, delay * 1.5)
