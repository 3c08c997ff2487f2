"""Harness for the reliability suite: the simulator on a loopback socket, wrapped by ``Perturb``.

``Perturb`` is an ASGI layer around the simulator adding the faults it lacks or that a test needs
aimed at one route: a status answered instead of processing (504, 429 storms), an answer lost
*after* the request was processed, an answer delayed before or after processing (past the client
timeout), a rewritten answer (hostile bodies), a hook run just before a request (a concurrent job).
It also records every request (host, method, route, status, whether it was processed).

``Harness`` serves it with uvicorn in a thread and runs the real CLI through ``CliRunner`` with
``--base-url`` and a token in the environment, as a user would; the counters are the simulator's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.sim.app import create_app
from reconciler.sim.faults import SimulatedDrop
from reconciler.sim.server import _QuietDrops

from .hostile_server import HostileServer, Script

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "reliability-token-5f0c2e9a8b7d4c1e"
# Routes whose writes change configuration (pushes and jobs are counted separately).
DATA_ROUTES = ("/members", "/layout", "/settings", "/lineKeyTemplates", "/hoteling", "/devices")

Scope = dict[str, Any]
_DEVICE_WRITE = re.compile(r"^/v1/telephony/config/devices/([^/]+)(?:/members|/layout|/settings)?$")
_APPLY_CHANGES = re.compile(r"^/v1/telephony/config/devices/([^/]+)/actions/applyChanges/invoke$")


@dataclass
class Rule:
    """One perturbation: ``action`` for requests where ``when(method, path)`` holds."""

    when: Callable[[str, str], bool]
    action: str  # status | echo | lose | delay_before | delay_after | rewrite | hook
    rate: float = 1.0
    times: int | None = None  # at most this many times
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    rewrite: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]] | None = None
    hook: Callable[[], None] | None = None
    statuses: tuple[int, ...] = ()  # pick one at random (status action)
    body: bytes | None = None  # the status action's body as it is (else a Webex error JSON)
    content_type: str = "application/json"  # of ``body``
    hits: int = 0


def route(method: str, pattern: str) -> Callable[[str, str], bool]:
    """A matcher: the method (or ``*``) and a regular expression searched in the path."""
    rx = re.compile(pattern)
    return lambda m, p: (method in ("*", m)) and bool(rx.search(p))


@dataclass
class Seen:
    at: float
    host: str
    method: str
    path: str
    route: str
    status: int | None
    processed: bool
    perturbed: str = ""
    tracking: str = ""  # the client's TrackingID header: RECONCILER_<request>_<attempt>
    done: float = 0.0  # wall-clock time the simulator finished processing it
    changed: bool = False  # the simulator's state changed (a write that was not a no-op)


class Perturb:
    def __init__(self, app: Any, seed: int = 0) -> None:
        self.app = app
        self.sim = app.state.sim
        self.rules: list[Rule] = []
        self.rng = random.Random(seed)
        self.seen: list[Seen] = []

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def _pick(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.times is not None and rule.hits >= rule.times:
                continue
            if rule.when(method, path) and (rule.rate >= 1 or self.rng.random() < rule.rate):
                rule.hits += 1
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Seen(time.monotonic(), headers.get("host", ""), method, path, "", None, False)
        seen.tracking = headers.get("trackingid", "")
        self.seen.append(seen)
        rule = self._pick(method, path)
        seen.perturbed = rule.action if rule else ""
        if rule and rule.action == "status":
            status = self.rng.choice(rule.statuses) if rule.statuses else rule.status
            seen.status = status
            body = rule.body
            if body is None:
                error = {"message": f"Perturbed {status}", "errors": [{"description": "injected"}]}
                body = json.dumps({**error, "trackingId": "P"}).encode()
            kind = rule.content_type.encode("latin-1")
            hdrs = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
            hdrs += [(k.encode(), v.encode()) for k, v in rule.headers.items()]
            await send({"type": "http.response.start", "status": status, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})
            return
        if rule and rule.action == "echo":
            # A careless server: a 400 whose message repeats the request, headers and body.
            received = b""
            while True:
                message = await receive()
                received += message.get("body", b"")
                if not message.get("more_body"):
                    break
            seen.status = 400
            text = f"Rejected {method} {path} with headers {headers} and body {received.decode()}"
            body = json.dumps(
                {"message": text, "errors": [{"description": text}], "trackingId": "E"}
            ).encode()
            hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})
            return
        if rule and rule.action == "hook" and rule.hook:
            rule.hook()
        if rule and rule.action == "delay_before":
            await asyncio.sleep(rule.delay)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except SimulatedDrop:  # the simulator's own drop (before processing)
            seen.status = None
            raise
        seen.processed = True
        seen.done = time.time()
        seen.status = int(start.get("status", 500))
        seen.route = str(scope.get("state", {}).get("route", ""))
        seen.changed = bool(scope.get("state", {}).get("write"))
        body = b"".join(chunks)
        out_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])}
        if rule and rule.action == "lose":
            await send({"type": "http.response.start", "status": seen.status, "headers": start["headers"]})
            raise SimulatedDrop()
        if rule and rule.action == "delay_after":
            await asyncio.sleep(rule.delay)
        if rule and rule.action == "rewrite" and rule.rewrite:
            body, out_headers = rule.rewrite(body, out_headers)
            out_headers = {k: v for k, v in out_headers.items() if k.lower() != "content-length"}
            out_headers["content-length"] = str(len(body))
        await send(
            {
                "type": "http.response.start",
                "status": seen.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- what happened --------------------------------------------------------------------------

    def processed_writes(self) -> Counter[str]:
        """Write requests the simulator processed and answered 2xx, by route."""
        return Counter(
            s.route
            for s in self.seen
            if s.processed and s.method != "GET" and s.status is not None and s.status < 400
        )


class Harness:
    """A simulator (+ Perturb) on a loopback port and the CLI pointed at it."""

    def __init__(self, tmp: Path, *, job_duration_s: float = 0.05, seed: int = 0, **sim: Any) -> None:
        self.tmp = tmp
        self.app = create_app(seed="demo", job_duration_s=job_duration_s, **sim)
        self.sim = self.app.state.sim
        self.perturb = Perturb(self.app, seed=seed)
        self.log = tmp / "apply-log.jsonl"
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(self.perturb, log_level="critical", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def run(self, *args: str, env: dict[str, str] | None = None, connect: bool = True) -> Result:
        argv = list(args)
        if connect and argv[0] in ("plan", "apply", "export"):
            argv += ["--base-url", self.url]
            if argv[0] == "apply" and "--log" not in argv:
                argv += ["--log", str(self.log)]
        environ = {"WEBEX_ACCESS_TOKEN": TOKEN, "NO_COLOR": "1", **(env or {})}
        return CliRunner().invoke(main, argv, env=environ, catch_exceptions=True)

    def apply(self, *extra: str, paths: tuple[str, ...] = (str(EXAMPLES),)) -> Result:
        return self.run("apply", *paths, "--auto-approve", *extra)

    # -- counters -------------------------------------------------------------------------------

    def data_writes(self) -> dict[str, int]:
        return {k: v for k, v in self.sim.stats.writes_by_route.items() if k.endswith(DATA_ROUTES) and v}

    def jobs_started(self) -> dict[str, int]:
        return {k: v for k, v in self.sim.stats.jobs_started_by_type.items() if v}

    def jobs_by_outcome(self) -> Counter[tuple[str, str]]:
        """(type, exit code) of every job the simulator ran."""
        self.sim.tick()
        return Counter((job.type, job.exit_code) for job in self.sim.store.jobs.values())

    def needless_rebuilds(self) -> list[str]:
        """``rebuildPhones`` jobs that completed with nothing changed in their location since the
        previous one (a push is needed again after every new change, and only then): a location
        is changed by a processed write to one of its devices, or by a job that completed since."""
        devices = {d.calling_id: d.location_id for d in self.sim.store.devices.values()}
        changes: list[tuple[float, str | None]] = []  # (when, location; None: anywhere)
        for s in self.perturb.seen:
            m = _DEVICE_WRITE.match(s.path)
            if s.method == "PUT" and s.changed and s.status is not None and s.status < 400:
                changes.append((s.done, devices.get(m.group(1)) if m else None))
        self.sim.tick()
        jobs = sorted(self.sim.store.jobs.values(), key=lambda j: j.created)
        for job in jobs:
            if job.type != "rebuildPhones" and job.finished_at is not None:
                where = job.location_id if job.type == "callDeviceSettings" else None
                changes.append((job.finished_at, where))
        needless: list[str] = []
        last: dict[str | None, float] = {}
        for job in jobs:
            if job.type != "rebuildPhones" or job.exit_code != "COMPLETED":
                continue
            before = last.get(job.location_id)
            if before is not None and not any(
                before < t <= job.created and loc in (None, job.location_id) for t, loc in changes
            ):
                needless.append(str(job.location_id))
            last[job.location_id] = job.created
        return needless

    def unpushed_writes(self) -> list[str]:
        """Devices whose configuration was written through the API and never pushed afterwards
        (by applyChanges or a rebuildPhones job of their location): a lost push."""
        devices = {d.calling_id: d for d in self.sim.store.devices.values()}
        last_write: dict[str, float] = {}
        last_push: dict[str, float] = {}
        for s in self.perturb.seen:
            if not (s.processed and s.status is not None and s.status < 400):
                continue
            m = _DEVICE_WRITE.match(s.path)
            if s.method == "PUT" and s.changed and m and m.group(1) in devices:
                last_write[m.group(1)] = max(last_write.get(m.group(1), 0.0), s.done)
            m = _APPLY_CHANGES.match(s.path)
            if s.method == "POST" and m:
                last_push[m.group(1)] = max(last_push.get(m.group(1), 0.0), s.done)
        self.sim.tick()
        for job in self.sim.store.jobs.values():
            if job.type == "rebuildPhones" and job.exit_code not in ("FAILED", "UNKNOWN"):
                for cid, dev in devices.items():
                    if dev.location_id == job.location_id:
                        last_push[cid] = max(last_push.get(cid, 0.0), job.created)
        return sorted(devices[c].mac for c, t in last_write.items() if last_push.get(c, 0.0) < t)


def log_header(h: Harness, paths: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The first record of an apply log that a run against ``h`` writes (format 2: API, org, plan)."""
    return {
        "event": "begin",
        "format": 2,
        "base_url": h.url,
        "org_id": h.sim.store.org_id,
        "plan": "x",
        "paths": ["repo"] if paths is None else paths,
        "steps": 1,
        "secret_writes": [],
        "ts": time.time(),
        **extra,
    }


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Harness]]:
    monkeypatch.chdir(tmp_path)
    made: list[Harness] = []
    logger = __import__("logging").getLogger("uvicorn.error")
    quiet = _QuietDrops()
    logger.addFilter(quiet)

    def make(**kw: Any) -> Harness:
        h = Harness(tmp_path, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()
    logger.removeFilter(quiet)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the example repo that a test may edit."""
    dst = tmp_path / "repo"
    shutil.copytree(EXAMPLES, dst)
    return dst


# -- measured results, for docs/reliability.md (RELIABILITY_RESULTS=path writes them) -------------

RESULTS: list[dict[str, Any]] = []
TALLIES: dict[str, dict[str, Any]] = {}


def record(case: str, **values: Any) -> None:
    """Record a measured result; call it only after the case's assertions passed."""
    entry = {"case": case, **values}
    json.dumps(entry)  # a value that is not plain JSON fails the test that recorded it
    RESULTS.append(entry)


def tally(case: str, result: str, **values: Any) -> None:
    """Count one more passed input of a generated family (written as one record per family)."""
    entry = TALLIES.setdefault(case, {"case": case, "inputs": 0, "result": result, **values})
    entry["inputs"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("RELIABILITY_RESULTS")
    rows = RESULTS + [TALLIES[k] for k in sorted(TALLIES)]
    if target and rows:
        Path(target).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


# -- a hostile raw-socket server (tests/reliability/hostile_server.py) ----------------------------


@pytest.fixture
def hostile_server() -> Iterator[Callable[[Script], HostileServer]]:
    """``hostile_server(script)``: a ``HostileServer`` on 127.0.0.1, stopped after the test."""
    made: list[HostileServer] = []

    def make(script: Script) -> HostileServer:
        server = HostileServer(script)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
