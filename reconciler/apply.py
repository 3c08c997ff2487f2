"""Execute a plan: phase order, dependencies, bounded concurrency, jobs, apply log, resume."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.diff import get_pointer, to_jsonable
from reconciler.envpolicy import is_tool_variable
from reconciler.errors import ApiError, ConfigError, ReconcilerError
from reconciler.localfiles import read_local
from reconciler.model import LiveSecret, SecretRef
from reconciler.plan import Plan, Step
from reconciler.progress import Task, task
from reconciler.semantic import image_name
from reconciler.titles import step_title
from reconciler.webex.limiter import DEFAULT_CONCURRENCY
from reconciler.webex.redact import is_credential, register_secret
from reconciler.webex.untrusted import api_text, parse_json

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient
    from reconciler.webex.jobs import JobWatcher, KnownJobs

Reporter = Callable[[str], None]
LOG_FORMAT = 2  # the apply log's records (``reconciler.journal`` reads them)
_TEMPLATES = "/telephony/config/devices/lineKeyTemplates"
_PLACEHOLDER = re.compile(r"^\$\{(.+)\.(\w+)\}$")


@dataclass
class StepResult:
    step: str
    status: str  # applied | failed | skipped
    message: str = ""
    tracking_id: str | None = None
    job_id: str | None = None
    job_errors: list[str] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyReport:
    results: dict[str, StepResult] = field(default_factory=dict)
    interrupted: bool = False

    def by_status(self, status: str) -> list[StepResult]:
        return [r for r in self.results.values() if r.status == status]

    @property
    def ok(self) -> bool:
        return not self.by_status("failed") and not self.by_status("skipped") and not self.interrupted


class ApplyLog:
    """JSON lines, one record per event, flushed as written. Holds no secret values.

    Every record is flushed to the OS as it is written (a killed run loses nothing). Records that
    must be on disk before the run goes on (``SYNC_NOW``: a job is POSTed right after its
    ``job_posting``) are fsynced at once; the others in groups, at most ``SYNC_INTERVAL_S`` after
    they were written (an fsync per record blocked the event loop ~1 ms each: 20,000 of them in
    an apply of 10,000 devices).
    """

    SYNC_NOW = frozenset({"begin", "end", "job_posting", "job_started"})
    SYNC_INTERVAL_S = 0.05

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None
        self._dirty = False
        self._synced = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def open(self, header: dict[str, Any], carried: list[dict[str, Any]] | None = None) -> None:
        """Start the log of a run (an earlier log is kept beside it, renamed): its ``begin`` record
        (``header``: the run's API, org, plan...), then every device an earlier run wrote and did not
        push (``carried``: ``PendingPush.to_json()`` each), still pending until pushed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(self.path):  # a link too, dangling or not: moved aside, never followed
            self.path.replace(self.path.with_name(f"{self.path.stem}.{int(time.time())}{self.path.suffix}"))
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        self._fh = os.fdopen(os.open(self.path, flags, 0o644), "a", encoding="utf-8")
        self.write({"event": "begin", "format": LOG_FORMAT, **header})
        for item in carried or []:
            self.write(
                {
                    "event": "written",
                    "carried": True,
                    "devices": [item["device"]],
                    "since": item["since"],
                    "interrupted": item["interrupted"],
                    "reason": item["reason"],
                }
            )

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps({"ts": round(time.time(), 3), **record}, sort_keys=True) + "\n")
        self._fh.flush()
        self._dirty = True
        if record.get("event") in self.SYNC_NOW or time.monotonic() - self._synced >= self.SYNC_INTERVAL_S:
            self.sync()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.sync()
                return
            self._timer = loop.call_later(self.SYNC_INTERVAL_S, self._sync_later)

    def _sync_later(self) -> None:
        self._timer = None
        self.sync()

    def sync(self) -> None:
        """fsync what was written and not yet synced."""
        if self._fh is not None and self._dirty:
            os.fsync(self._fh.fileno())
            self._dirty = False
            self._synced = time.monotonic()

    def close(self, finished: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fh is not None:
            if finished:
                self.write({"event": "end"})
            self.sync()
            self._fh.close()
            self._fh = None


# What each event's record must hold to be used (``_damage`` checks); other events are kept as is.
_NEEDS: dict[str, tuple[str, ...]] = {
    "applied": ("step",),
    "failed": ("step",),
    "skipped": ("step",),
    "start": ("step",),
    "job_started": ("step", "job_type", "job_id"),
    "job_posting": ("step", "job_type"),
}


def _damage(record: Any) -> str | None:
    """Why a parsed log line cannot be used, or None."""
    from reconciler.webex.jobs import JOB_PATHS

    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a record"
    event = record.get("event")
    if not isinstance(event, str):
        return "no event"
    for key in _NEEDS.get(event, ()):
        if not isinstance(record.get(key), str):
            return f"a {event} record without a valid {key!r}"
    if event in ("job_started", "job_posting") and record["job_type"] not in JOB_PATHS:
        return f"unknown job type {record['job_type']!r}"
    if event == "job_posting" and not (
        isinstance(record.get("known", []), list)
        and all(isinstance(k, str) for k in record.get("known", []))
        and isinstance(record.get("body") or {}, dict)
    ):
        return "a job_posting record with a malformed 'known' or 'body'"
    if event == "begin":
        paths, secrets = (record.get(k, []) for k in ("paths", "secret_writes"))
        if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
            return "'paths' is not a list of strings"
        if not isinstance(secrets, list) or not all(
            isinstance(x, dict) and isinstance(x.get("resource"), str) for x in secrets
        ):
            return "'secret_writes' is malformed"
    return None


def numbered_records(path: Path, warn: Reporter | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The records of an apply log with their line numbers (none when there is no log). A line cut
    by a kill is skipped; other damaged lines (not JSON, not UTF-8, not a record, a record missing
    what it needs) are skipped with a warning to ``warn``. A damaged first record (the run's header)
    is a ``ConfigError``: finishing that run without it is not safe."""
    if not path.exists():
        return []
    records: list[tuple[int, dict[str, Any]]] = []
    lines = read_local(path, "apply log").split(b"\n")  # a regular file, size-capped
    damaged: list[str] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            if number == len(lines) or (number == len(lines) - 1 and not lines[-1]):
                continue  # the last line, cut short by a kill
            problem: str | None = f"not a JSON record ({type(exc).__name__})"
        else:
            problem = _damage(record)
        if problem is None:
            records.append((number, record))
            continue
        if not records and not damaged and (number == 1 or '"begin"' in raw.decode("utf-8", "replace")):
            raise ConfigError(
                f"apply log {path}: line {number}, the run's first record, is damaged ({problem}); "
                "it cannot be trusted to finish that run: move the file away to start afresh"
            )
        damaged.append(f"line {number}: {problem}")
    if damaged and warn is not None:
        more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        warn(f"Warning: apply log {path}: ignored damaged lines ({'; '.join(damaged[:5])}{more})")
    return records


def log_records(path: Path, warn: Reporter | None = None) -> list[dict[str, Any]]:
    """The records of an apply log (``numbered_records`` without the numbers)."""
    return [record for _, record in numbered_records(path, warn)]


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
            if bad and not partial_ok:
                self._finish(
                    step, StepResult(step.id, "skipped", f"depends on {bad[0]}, which did not apply")
                )
                return
            async with self.sem:
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
                except ApiError as exc:
                    result = StepResult(step.id, "failed", str(exc), tracking_id=exc.tracking_id)
                except ReconcilerError as exc:
                    result = StepResult(step.id, "failed", str(exc))
            self._finish(step, result)
            done = len(self.results)
            self.say(
                f"[{done}/{total}] {step.address}: {result.status}"
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
            if step.job_type == "callDeviceSettings":
                async with self.settings_lock:
                    return await self._job(step, body)
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
                self.say(f"{step.address}: another {step.job_type} job is running; waiting for it")
                self.known.add(step.job_type, await jobs.wait_for_running_jobs(self.client, step.job_type))
        else:
            raise ConfigError(f"{step.id}: a {step.job_type} job kept running; try again later")
        job_id = str(job["id"])
        self.known.add(step.job_type, [job_id])
        self.log.write({"event": "job_started", "step": step.id, "job_type": step.job_type, "job_id": job_id})
        return await self.wait(step, step.job_type, job_id)

    async def wait(self, step: Step, job_type: str, job_id: str) -> StepResult:
        from reconciler.webex import jobs

        last = [-1]

        with task(f"{job_type} job of {step_title(step)}", total=100) as shown:

            def progress(pct: int, status: str) -> None:
                shown.update(completed=pct)
                if pct // 25 != last[0] // 25:
                    last[0] = pct
                    self.say(f"  {step.address}: job {status} {pct}%")

            watcher = self.watchers.get(job_type)
            if watcher is None:
                watcher = self.watchers[job_type] = jobs.JobWatcher(self.client, job_type)
            final = await watcher.wait(job_id, progress)
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
