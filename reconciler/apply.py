"""Execute a plan: phase order, dependencies, bounded concurrency, jobs, apply log, resume."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.diff import to_jsonable
from reconciler.errors import ApiError, ConfigError, ReconcilerError
from reconciler.model import SecretRef
from reconciler.plan import Plan, Step

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

Reporter = Callable[[str], None]
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
    """JSON lines, one record per event, flushed as written. Holds no secret values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def open(self, header: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.replace(self.path.with_name(f"{self.path.stem}.{int(time.time())}{self.path.suffix}"))
        self._fh = self.path.open("a", encoding="utf-8")
        self.write({"event": "begin", **header})

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps({"ts": round(time.time(), 3), **record}, sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self, finished: bool) -> None:
        if self._fh is not None:
            if finished:
                self.write({"event": "end"})
            self._fh.close()
            self._fh = None


@dataclass
class Unfinished:
    """What an earlier, interrupted apply left behind according to its log."""

    done: set[str]
    running_jobs: dict[str, tuple[str, str]]  # step id -> (job type, job id)
    pushes: list[Step]  # applyChanges / rebuild steps whose device writes happened but which did not
    # step id -> (job type, job ids known before its POST, body): a POST whose answer was not logged
    posting: dict[str, tuple[str, set[str], dict[str, Any]]] = field(default_factory=dict)


def read_log(path: Path) -> Unfinished | None:
    """None when there is no log or the last apply finished."""
    if not path.exists():
        return None
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a kill
    if not records or records[-1].get("event") == "end":
        return None
    done = {r["step"] for r in records if r.get("event") == "applied"}
    ended = done | {r["step"] for r in records if r.get("event") in ("failed", "skipped")}
    running = {
        r["step"]: (r["job_type"], r["job_id"])
        for r in records
        if r.get("event") == "job_started" and r["step"] not in ended
    }
    posting = {
        r["step"]: (r["job_type"], set(r.get("known", [])), r.get("body") or {})
        for r in records
        if r.get("event") == "job_posting" and r["step"] not in ended and r["step"] not in running
    }
    header: dict[str, Any] = next((r for r in records if r.get("event") == "begin"), {})
    steps = [Step.from_json(s) for s in header.get("pushes", [])]
    pushes = [s for s in steps if s.id not in done and any(d in done for d in s.depends_on)]
    return Unfinished(done=done, running_jobs=running, pushes=pushes, posting=posting)


def resolve_secrets(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, SecretRef):
        if value.env not in environ:
            raise ConfigError(f"environment variable {value.env} is not set (a fromEnv secret)")
        return environ[value.env]
    if isinstance(value, dict):
        return {k: resolve_secrets(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, environ) for v in value]
    return value


def missing_secrets(plan: Plan, environ: Mapping[str, str]) -> list[str]:
    missing: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, SecretRef) and v.env not in environ:
            missing.add(v.env)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for s in plan.steps:
        walk(s.body)
    return sorted(missing)


class Executor:
    def __init__(
        self,
        client: WebexClient,
        log: ApplyLog,
        report: Reporter,
        environ: Mapping[str, str] | None = None,
        concurrency: int = 16,
    ) -> None:
        self.client = client
        self.log = log
        self.say = report
        self.environ = environ if environ is not None else os.environ
        self.sem = asyncio.Semaphore(concurrency)
        self.settings_lock = asyncio.Lock()  # one callDeviceSettings job per org at a time
        self.results: dict[str, StepResult] = {}
        self.events: dict[str, asyncio.Event] = {}

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
        for phase in sorted({s.phase for s in steps}):
            batch = [s for s in steps if s.phase == phase and s.id not in self.results]
            await asyncio.gather(*(self._run_step(s, total) for s in batch))
        return report

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
                self.log.write(
                    {
                        "event": "start",
                        "step": step.id,
                        "method": step.method,
                        "path": step.path,
                        "body": to_jsonable(step.body),
                    }
                )
                try:
                    result = await self._execute(step)
                except ApiError as exc:
                    result = StepResult(step.id, "failed", str(exc), tracking_id=exc.tracking_id)
                except ReconcilerError as exc:
                    result = StepResult(step.id, "failed", str(exc))
            self._finish(step, result)
            done = sum(1 for r in self.results.values())
            self.say(
                f"[{done}/{total}] {step.address}: {result.status}"
                + (f" ({result.message})" if result.message and result.status != "applied" else "")
            )
        finally:
            self.events[step.id].set()

    def _finish(self, step: Step, result: StepResult) -> None:
        self.results[step.id] = result
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

    async def _execute(self, step: Step) -> StepResult:
        body = self._body(step)
        if step.job_type:
            if step.job_type == "callDeviceSettings":
                async with self.settings_lock:
                    return await self._job(step, body)
            return await self._job(step, body)
        if "file" in step.meta:
            return await self._upload(step, body)
        # An invocation (applyChanges) only re-syncs a phone: safe to repeat, so retried like a PUT.
        resp = await self.client.request(
            step.method, step.path, json=body, retry_post=step.action == "invoke"
        )
        output: dict[str, Any] = {}
        if resp.content and "json" in resp.headers.get("content-type", ""):
            data = resp.json()
            if isinstance(data, dict) and "id" in data:
                output["id"] = data["id"]
        return StepResult(step.id, "applied", tracking_id=resp.headers.get("trackingid"), output=output)

    async def _upload(self, step: Step, body: dict[str, Any]) -> StepResult:
        path = Path(str(step.meta["file"]))
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != step.meta.get("sha256"):
            raise ConfigError(f"{path} changed since the plan was made; plan again")
        name = str(body["fileName"])
        resp = await self.client.request(
            "POST",
            step.path,
            files={"file": (path.name, content, str(step.meta["contentType"]))},
            data={"fileName": name},
        )
        return StepResult(step.id, "applied", tracking_id=resp.headers.get("trackingid"))

    async def _job(self, step: Step, body: Any) -> StepResult:
        from reconciler.webex import jobs
        from reconciler.webex.errors import JobConflict

        assert step.job_type is not None
        for _ in range(20):
            known = await jobs.job_ids(self.client, step.job_type)
            # Written before the POST: if the run dies before the answer is logged, a resume finds
            # the job this POST started among the ones not in ``known``, instead of starting another.
            self.log.write(
                {
                    "event": "job_posting",
                    "step": step.id,
                    "job_type": step.job_type,
                    "known": sorted(known),
                    "body": to_jsonable(body),
                }
            )
            try:
                job = await jobs.start_job_once(self.client, step.job_type, body, known=known)
                break
            except JobConflict:
                self.say(f"{step.address}: another {step.job_type} job is running; waiting for it")
                await jobs.wait_for_running_jobs(self.client, step.job_type)
        else:
            raise ConfigError(f"{step.id}: a {step.job_type} job kept running; try again later")
        job_id = str(job["id"])
        self.log.write({"event": "job_started", "step": step.id, "job_type": step.job_type, "job_id": job_id})
        return await self.wait(step, step.job_type, job_id)

    async def wait(self, step: Step, job_type: str, job_id: str) -> StepResult:
        from reconciler.webex import jobs

        last = [-1]

        def progress(pct: int, status: str) -> None:
            if pct // 25 != last[0] // 25:
                last[0] = pct
                self.say(f"  {step.address}: job {status} {pct}%")

        final = await jobs.wait_job(self.client, job_type, job_id, progress=progress)
        code = str(final.get("latestExecutionExitCode") or final.get("latestExecutionStatus"))
        if code == "COMPLETED":
            return StepResult(step.id, "applied", job_id=job_id, tracking_id=final.get("trackingId"))
        errors = await jobs.job_errors(self.client, job_type, job_id)
        lines = [_error_line(e) for e in errors]
        return StepResult(
            step.id,
            "failed",
            f"job {job_id} ended {code}",
            job_id=job_id,
            tracking_id=final.get("trackingId"),
            job_errors=lines,
        )


def _error_line(item: dict[str, Any]) -> str:
    """One line per job error item: the device (MAC or id) and the API's description."""
    err = item.get("error") or {}
    msgs = err.get("message") if isinstance(err, dict) else None
    first: dict[str, Any] = msgs[0] if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) else {}
    target = (
        first.get("mac") or first.get("deviceId") or item.get("deviceId") or f"item {item.get('itemNumber')}"
    )
    desc = first.get("description") or (msgs if isinstance(msgs, str) else "") or json.dumps(item)[:200]
    return f"{target}: {desc}"
