"""Execute a plan: phase order, dependencies, bounded concurrency, jobs, each event in the apply
log (``reconciler.workdir.applylog``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.applying.results import ApplyReport, StepResult
from reconciler.errors import ApiError, ConfigError, ReconcilerError
from reconciler.localfiles import read_local
from reconciler.model import LiveSecret, SecretRef
from reconciler.planning.diff import get_pointer, to_jsonable
from reconciler.planning.plan import Plan, Step
from reconciler.planning.titles import step_title
from reconciler.progress import Task, task
from reconciler.validation.envpolicy import is_tool_variable
from reconciler.validation.semantic import image_name
from reconciler.webex.limiter import DEFAULT_CONCURRENCY
from reconciler.webex.redact import is_credential, register_secret
from reconciler.webex.untrusted import api_text, parse_json
from reconciler.workdir.applylog import ApplyLog, Reporter

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient
    from reconciler.webex.jobs import JobWatcher, KnownJobs

_TEMPLATES = "/telephony/config/devices/lineKeyTemplates"
_PLACEHOLDER = re.compile(r"^\$\{(.+)\.(\w+)\}$")


def resolve_secrets(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, SecretRef):
        if value.env not in environ:
            raise ConfigError(f"environment variable {value.env} is not set (a fromEnv secret)")
        if is_tool_variable(value.env) or is_credential(environ[value.env]):  # validate refused it
            raise ConfigError(f"fromEnv {value.env}: one of the tool's own credentials; never sent")
        register_secret(environ[value.env], any_length=True)  # masked from now on in errors and logs
        return environ[value.env]
    if isinstance(value, dict):
        return {k: resolve_secrets(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, environ) for v in value]
    return value


def references(value: Any) -> Iterator[SecretRef | LiveSecret]:
    """The secret references in a body."""
    if isinstance(value, SecretRef | LiveSecret):
        yield value
    elif isinstance(value, dict):
        for x in value.values():
            yield from references(x)
    elif isinstance(value, list):
        for x in value:
            yield from references(x)


def missing_secrets(plan: Plan, environ: Mapping[str, str]) -> list[str]:
    refs = (r for s in plan.steps for r in references(s.body))
    return sorted({r.env for r in refs if isinstance(r, SecretRef) and r.env not in environ})


class Executor:
    def __init__(
        self,
        client: WebexClient,
        log: ApplyLog,
        report: Reporter,
        environ: Mapping[str, str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.client = client
        self.log = log
        self.say = report
        self.environ = environ if environ is not None else os.environ
        self.sem = asyncio.Semaphore(concurrency)
        self.workers = max(1, 2 * concurrency)  # steps in progress at once (some wait on others)
        self.settings_lock = asyncio.Lock()  # one callDeviceSettings job per org at a time
        self.results: dict[str, StepResult] = {}
        self.shown = Task()  # the progress line of ``run``
        self.events: dict[str, asyncio.Event] = {}
        self.known: KnownJobs | None = None  # the jobs that exist, listed once a phase
        self.watchers: dict[str, JobWatcher] = {}  # per job type: its running jobs, watched together
        # Set by the first Ctrl-C (``flows.stopping``): no step starts any more, a job's wait is
        # left (the job runs on; the log names it, a resume waits for it), requests in flight end.
        self.stop: asyncio.Event | None = None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def run(self, plan: Plan, skip: set[str] | None = None) -> ApplyReport:
        missing = missing_secrets(plan, self.environ)
        if missing:
            raise ConfigError(f"secrets not set in the environment: {', '.join(missing)}; nothing was sent")
        report = ApplyReport(self.results)
        steps = plan.ordered()
        for s in steps:
            self.events[s.id] = asyncio.Event()
        for s in steps:
            if skip and s.id in skip:
                self.results[s.id] = StepResult(s.id, "applied", "done by an earlier run")
                self.events[s.id].set()
        total = len(steps)
        with task("applying steps", total=total) as self.shown:
            self.shown.advance(len(self.results))
            for phase in sorted({s.phase for s in steps}):
                if self.stopping:
                    break
                batch = [s for s in steps if s.phase == phase and s.id not in self.results]
                self.known = None  # the job starts of a phase share one listing per job type
                await self._run_batch(batch, total)
        return report

    async def _run_batch(self, batch: list[Step], total: int) -> None:
        """The steps of one phase, concurrently: a few workers, each running one resource's steps
        in plan order (they depend on each other anyway), rather than a task per step (10,000 in a
        big apply). Every dependency within the phase comes earlier in the batch, so no worker
        waits on a step no worker has taken; were it otherwise, every step gets its own task."""
        index = {s.id: i for i, s in enumerate(batch)}
        if any(index.get(d, -1) >= i for i, s in enumerate(batch) for d in s.depends_on):
            await asyncio.gather(*(self._run_step(s, total) for s in batch))
            return
        groups: list[list[Step]] = []
        for s in batch:  # plan order keeps a resource's steps together
            if groups and groups[-1][0].resource == s.resource:
                groups[-1].append(s)
            else:
                groups.append([s])
        pending = iter(groups)

        async def worker() -> None:
            for group in pending:
                for step in group:
                    await self._run_step(step, total)

        await asyncio.gather(*(worker() for _ in range(min(len(groups), self.workers))))

    async def _run_step(self, step: Step, total: int) -> None:
        try:
            for dep in step.depends_on:
                if dep in self.events:
                    await self.events[dep].wait()
            bad = [d for d in step.depends_on if d in self.results and self.results[d].status != "applied"]
            # A push (applyChanges, rebuildPhones) still runs for the devices whose writes applied.
            partial_ok = step.phase == 7 and len(bad) < len([d for d in step.depends_on if d in self.results])
            if self.stopping:
                return  # not started: a later run plans it again
            if bad and not partial_ok:
                self._finish(
                    step, StepResult(step.id, "skipped", f"depends on {bad[0]}, which did not apply")
                )
                return
            one_at_a_time = self.settings_lock if step.job_type == "callDeviceSettings" else nullcontext()
            async with self.sem, one_at_a_time:
                if self.stopping:
                    return
                started = {
                    "event": "start",
                    "step": step.id,
                    "method": step.method,
                    "path": step.path,
                    "body": to_jsonable(step.body),
                }
                if step.meta.get("pushes"):
                    started["pushes"] = step.meta["pushes"]  # the devices this push is for
                self.log.write(started)
                reaches = step.meta.get("reaches")
                if reaches:  # once started, it may have changed them: pending until pushed
                    reason = str(step.meta.get("reason") or "")
                    record = {"event": "written", "step": step.id, "devices": reaches, "reason": reason}
                    self.log.write(record)
                try:
                    result = await self._execute(step)
                except _Abandoned:
                    return  # its job runs on in the org; the log holds its id
                except ApiError as exc:
                    result = StepResult(step.id, "failed", str(exc), tracking_id=exc.tracking_id)
                except ReconcilerError as exc:
                    result = StepResult(step.id, "failed", str(exc))
            self._finish(step, result)
            done = len(self.results)
            self.say(
                f"[{done}/{total}] {step_title(step)}: {step.summary or step.address}: {result.status}"
                + (
                    f" ({result.message})"
                    if result.message and (result.status != "applied" or result.job_id)
                    else ""
                )
            )
        finally:
            self.events[step.id].set()

    def _finish(self, step: Step, result: StepResult) -> None:
        self.results[step.id] = result
        self.shown.advance()
        rec: dict[str, Any] = {"event": result.status, "step": step.id}
        if result.message:
            rec["message"] = result.message
        if result.tracking_id:
            rec["trackingId"] = result.tracking_id
        if result.job_id:
            rec["job_id"] = result.job_id
        if result.job_errors:
            rec["job_errors"] = result.job_errors
        if result.output:
            rec["output"] = result.output
        self.log.write(rec)
        if result.status == "applied" and step.meta.get("pushes"):
            self.log.write({"event": "pushed", "step": step.id, "devices": step.meta["pushes"]})

    def _body(self, step: Step) -> Any:
        body = resolve_secrets(step.body, self.environ)

        def fill(v: Any) -> Any:
            if isinstance(v, str):
                m = _PLACEHOLDER.match(v)
                if m:
                    out = self.results.get(m.group(1))
                    if out is None or m.group(2) not in out.output:
                        raise ConfigError(
                            f"{step.id}: needs the {m.group(2)} of {m.group(1)}, which has none"
                        )
                    return out.output[m.group(2)]
            if isinstance(v, dict):
                return {k: fill(x) for k, x in v.items()}
            if isinstance(v, list):
                return [fill(x) for x in v]
            return v

        return fill(body)

    async def _read_live_secrets(self, body: Any) -> Any:
        """``body`` with each ``LiveSecret`` replaced by the value its answer holds now (read again
        here, once per answer; a secret no longer there is left out of the write)."""
        wanted = {r.path for r in references(body) if isinstance(r, LiveSecret)}
        if not wanted:
            return body
        from reconciler.webex.answers import answer_json

        answers = {path: answer_json(await self.client.request("GET", path)) for path in sorted(wanted)}
        gone = object()

        def fill(v: Any) -> Any:
            if isinstance(v, LiveSecret):
                value = get_pointer(answers[v.path], v.pointer, gone)
                if isinstance(value, str):
                    register_secret(value, any_length=True)  # masked from now on in errors and logs
                return value
            if isinstance(v, dict):
                return {k: x for k, x in ((k, fill(x)) for k, x in v.items()) if x is not gone}
            if isinstance(v, list):
                return [fill(x) for x in v]
            return v

        return fill(body)

    async def _execute(self, step: Step) -> StepResult:
        body = await self._read_live_secrets(self._body(step))
        if step.job_type:
            return await self._job(step, body)
        if "file" in step.meta:
            return await self._upload(step, body)
        if step.action == "create" and step.method == "POST" and step.path == _TEMPLATES:
            # Never sent blindly twice: after an ambiguous failure the templates are listed first.
            template_id = await self.client.create_line_key_template(body)
            if not template_id:
                raise ApiError("POST", step.path, None, "the answer names no template id")
            return StepResult(step.id, "applied", output={"id": template_id})
        # An invocation (applyChanges) only re-syncs a phone: safe to repeat, so retried like a PUT.
        resp = await self.client.request(
            step.method, step.path, json=body, retry_post=step.action == "invoke"
        )
        output: dict[str, Any] = {}
        tracking = resp.headers.get("trackingid")
        if step.action == "create" and resp.content:
            from reconciler.webex.answers import answer_json

            data = answer_json(resp)
            if "id" in data:
                output["id"] = data["id"]
        failed_items = item_failures(resp.status_code, resp.content)
        if failed_items:
            return StepResult(
                step.id,
                "failed",
                f"the API answered {resp.status_code}: {len(failed_items)} item(s) failed: "
                + "; ".join(failed_items[:5]),
                tracking_id=tracking,
                job_errors=failed_items,
            )
        return StepResult(step.id, "applied", tracking_id=tracking, output=output)

    async def _upload(self, step: Step, body: dict[str, Any]) -> StepResult:
        path = Path(str(step.meta["file"]))
        content = read_local(path, "image")
        if hashlib.sha256(content).hexdigest() != step.meta.get("sha256"):
            raise ConfigError(f"{path} changed since the plan was made; plan again")
        name = str(body["fileName"])

        def send() -> Any:
            return self.client.request(
                "POST",
                step.path,
                files={"file": (path.name, content, str(step.meta["contentType"]))},
                data={"fileName": name},
            )

        async def find() -> dict[str, Any] | None:
            # After an ambiguous failure: an image of that name means the upload landed.
            stem = image_name(name)
            return next(
                (i for i in await self.client.list_background_images() if i.get("fileName") in (name, stem)),
                None,
            )

        result = await self.client._create_once(send, find, what=f"background image upload {name!r}")
        headers = getattr(result, "headers", None)
        tracking = headers.get("trackingid") if headers is not None else None
        return StepResult(step.id, "applied", tracking_id=tracking)

    async def _job(self, step: Step, body: Any) -> StepResult:
        from reconciler.webex import jobs
        from reconciler.webex.errors import JobConflict

        assert step.job_type is not None
        if self.known is None:
            self.known = jobs.KnownJobs(self.client)
        for _ in range(20):
            # The jobs listed at the phase's first start and every job this run started since; a
            # copy, taken before this POST, so never the job it starts (``KnownJobs``).
            known = await self.known.snapshot(step.job_type)
            # Written before the POST: if the run dies before the answer is logged, a resume finds
            # the job this POST started among the ones not in ``known``, instead of starting another.
            self.log.write(
                {
                    "event": "job_posting",
                    "step": step.id,
                    "job_type": step.job_type,
                    "known": sorted(known),
                    "body": to_jsonable(step.body),  # secrets as references, never their values
                }
            )
            try:
                job = await jobs.start_job_once(self.client, step.job_type, body, known=known)
                break
            except JobConflict:
                self.say(f"{step_title(step)}: another {step.job_type} job is running; waiting for it")
                self.known.add(step.job_type, await jobs.wait_for_running_jobs(self.client, step.job_type))
        else:
            raise ConfigError(f"{step.id}: a {step.job_type} job kept running; try again later")
        job_id = str(job["id"])
        self.known.add(step.job_type, [job_id])
        self.log.write({"event": "job_started", "step": step.id, "job_type": step.job_type, "job_id": job_id})
        return await self.wait(step, step.job_type, job_id)

    async def _unless_stopped(self, work: Any) -> Any:
        """``work``'s result, or ``_Abandoned`` once a stop is asked for first."""
        if self.stop is None:
            return await work
        ended, result = await first_of(work, self.stop)
        if not ended:
            raise _Abandoned
        return result

    async def wait(self, step: Step, job_type: str, job_id: str) -> StepResult:
        from reconciler.webex import jobs

        last = [-1]

        with task(f"{job_type} job of {step_title(step)}", total=100) as shown:

            def progress(pct: int, status: str) -> None:
                shown.update(completed=pct)
                if pct // 25 != last[0] // 25:
                    last[0] = pct
                    self.say(f"  {step_title(step)}: job {status} {pct}%")

            watcher = self.watchers.get(job_type)
            if watcher is None:
                watcher = self.watchers[job_type] = jobs.JobWatcher(self.client, job_type)
            final = await self._unless_stopped(watcher.wait(job_id, progress))
        code = str(final.get("latestExecutionExitCode") or final.get("latestExecutionStatus"))
        counts, said = job_counts(final)
        if code == "COMPLETED":
            tracking = final.get("trackingId")
            return StepResult(step.id, "applied", said, job_id=job_id, tracking_id=tracking, output=counts)
        errors = await jobs.job_errors(self.client, job_type, job_id)
        lines = [_error_line(e) for e in errors]
        return StepResult(
            step.id,
            "failed",
            f"job {job_id} ended {code}" + (f"; {said}" if said else ""),
            job_id=job_id,
            tracking_id=final.get("trackingId"),
            job_errors=lines,
            output=counts,
        )


async def first_of(work: Any, stop: asyncio.Event) -> tuple[bool, Any]:
    """(True, its result) when ``work`` ends first, (False, None) when ``stop`` is set first (then
    ``work`` is cancelled)."""
    waiting = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not waiting.done():
            waiting.cancel()
    if waiting.cancelled():
        return False, None
    return True, waiting.result()


class _Abandoned(Exception):
    """A job's wait left at the first Ctrl-C: the job runs on in the org (the log has its id)."""


def job_counts(final: dict[str, Any]) -> tuple[dict[str, int], str]:
    """An Apply Line Key Template job's ``updatedCount`` and ``advisoryCount`` (other jobs have
    none), and how to say them: ``2 device(s) updated, 1 with advisories``."""
    counts = {
        k: int(final[k])
        for k in ("updatedCount", "advisoryCount")
        if isinstance(final.get(k), int | float) and not isinstance(final.get(k), bool)
    }
    if "updatedCount" not in counts:
        return counts, ""
    return (
        counts,
        f"{counts['updatedCount']} device(s) updated, {counts.get('advisoryCount', 0)} with advisories",
    )


def item_failures(status: int, content: bytes) -> list[str]:
    """The failed items of a batch answer (a 206 with ``items[].result.status`` >= 400, like the
    DELETE of background images): "name: status message" each; none for other answers."""
    if status != 206 or not content:
        return []
    try:
        data = parse_json(content)
    except (ValueError, UnicodeDecodeError):
        return [f"answer {status} (Partial Content) that is not JSON, or nested too deep"]
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [f"answer {status} (Partial Content) without per-item results"]
    out = []
    for item in items:
        result = item.get("result") if isinstance(item, dict) else None
        code = result.get("status") if isinstance(result, dict) else None
        if isinstance(code, int) and code < 400:
            continue
        err = (result or {}).get("error") if isinstance(result, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        name = item.get("fileName") or item.get("id") if isinstance(item, dict) else None
        out.append(api_text(f"{name or '?'}: {code} {message or 'no reason given'}".strip()))
    return out


def _error_line(item: dict[str, Any]) -> str:
    """One line per job error item: the device (MAC or id) and the API's description, as
    ``api_text`` keeps text from the server (masked, escaped, then cut)."""
    err = item.get("error") or {}
    msgs = err.get("message") if isinstance(err, dict) else None
    first: dict[str, Any] = msgs[0] if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) else {}
    target = (
        first.get("mac") or first.get("deviceId") or item.get("deviceId") or f"item {item.get('itemNumber')}"
    )
    desc = first.get("description") or (msgs if isinstance(msgs, str) else "") or json.dumps(item)
    return api_text(f"{target}: {desc}")
