"""Fuzz the simulator with schemathesis, from the vendored official spec.

The operations are the ones the simulator serves: every ``/telephony/config/`` operation of
``webex-device.json`` (the dynamic-settings family is not simulated) and the lookups around them
(``/devices``, ``/locations``, ``/workspaces`` of the device spec, ``/people`` of the people spec).
The demo org's ids are supplied (a device, its owner, a workspace, a location, a line key template,
one job of each type), so the requests reach the handlers, not only their 404s. Checks: no server
error, status code, content type, response headers and response schema conformance, and a 405 with
an ``Allow`` header for every method a path does not declare.

``tests/sim/test_fuzz.py`` runs a small deterministic budget against a simulator in the test
process; the command below runs larger ones against ``reconciler sim serve`` in its own process and
samples that process's memory between rounds (docs/benchmarks.md has the numbers)::

    python -m benchmarks.fuzz --examples 100 --rounds 4

Everything talks to a simulator on the loopback interface only, and every run is bounded: each
request by ``--request-timeout``, each round by ``--round-timeout``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402
from reconciler.sim.app import routes  # noqa: E402

SPEC_DIR = ROOT / "third_party" / "webex-openapi"
TOKEN = "fuzz-token"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
)
PHASES = ("examples", "coverage", "fuzzing")
T = "/telephony/config"
JOB_TYPES = ("applyLineKeyTemplate", "callDeviceSettings", "rebuildPhones")


# ----------------------------------------------------------------------------------------------
# what to fuzz


def served() -> dict[str, frozenset[str]]:
    """The simulator's path templates (without ``/v1``) and the methods each serves."""
    out: dict[str, set[str]] = {}
    for route in routes():
        if route.path.startswith("/v1/"):
            out.setdefault(route.path[len("/v1") :], set()).update(set(route.methods or ()) - {"HEAD"})
    return {path: frozenset(methods) for path, methods in out.items()}


def spec_document() -> tuple[dict[str, Any], list[str]]:
    """The device spec with the people spec's paths merged in, limited to the paths the simulator
    serves; and the operations of those paths that it does not implement (left out of the run; their
    methods stay declared, so they are not sent as undeclared methods either)."""
    device = json.loads((SPEC_DIR / "webex-device.json").read_text(encoding="utf-8"))
    people = json.loads((SPEC_DIR / "webex-admin-people.json").read_text(encoding="utf-8"))
    table = served()
    paths: dict[str, Any] = {}
    for doc in (device, people):
        for path, item in doc["paths"].items():
            if path in table and (not path.startswith(T) or "dynamic" not in path.lower()):
                paths[path] = item
    for kind, schemas in people["components"].items():
        device["components"].setdefault(kind, {}).update(schemas)
    device["paths"] = dict(sorted(paths.items()))
    device["servers"] = [{"url": "/v1"}]
    missing = [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch") and method.upper() not in table[path]
    ]
    return device, sorted(missing)


def demo_ids(base_url: str, token: str = TOKEN) -> dict[str, str]:
    """Ids of the demo org the fuzzer is handed: read from the simulator, and one job of each type
    started for the job status and error operations."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        device = c.get("/devices", params={"mac": "0A1B2C3D4E01"}).json()["items"][0]
        templates = c.get(f"{T}/devices/lineKeyTemplates").json()["lineKeyTemplates"]
        location = c.get("/locations").json()["items"][0]["id"]
        workspace = c.get("/workspaces").json()["items"][0]["id"]
        org = c.get(f"{T}/devices/settings").json()["customizations"]
        jobs = {
            "applyLineKeyTemplate": {"action": "APPLY_TEMPLATE", "templateId": templates[0]["id"]},
            "callDeviceSettings": {"customizations": org},
            "rebuildPhones": {"locationId": location},
        }
        ids = {
            "deviceId": device["callingDeviceId"],
            "webexDeviceId": device["id"],
            "personId": device["personId"],
            "workspaceId": workspace,
            "locationId": location,
            "templateId": templates[0]["id"],
            "deletedTemplateId": templates[-1]["id"],
            "orgId": device["orgId"],
        }
        for kind, body in jobs.items():
            r = c.post(f"{T}/jobs/devices/{kind}", json=body)
            r.raise_for_status()
            ids[f"job:{kind}"] = r.json()["id"]
    return ids


def config_toml(ids: dict[str, str]) -> str:
    """schemathesis.toml: the ids as parameters (per operation where one name means several things)."""
    lines = ["[parameters]"]
    for name in ("deviceId", "personId", "workspaceId", "locationId", "templateId"):
        lines.append(f'"path.{name}" = "{ids[name]}"')
    lines.append(f'"query.orgId" = "{ids["orgId"]}"')

    def operation(selector: str, params: dict[str, str]) -> None:
        lines.extend(["", "[[operations]]", selector])
        lines.append("parameters = { " + ", ".join(f'"{k}" = "{v}"' for k, v in params.items()) + " }")

    operation('include-path-regex = "^/devices/"', {"path.deviceId": ids["webexDeviceId"]})
    # DELETE gets a template of its own: the others keep theirs through the run.
    delete = f"DELETE {T}/devices/lineKeyTemplates/{{templateId}}"
    operation(f'include-name = "{delete}"', {"path.templateId": ids["deletedTemplateId"]})
    for kind in JOB_TYPES:
        operation(f'include-path-regex = "^{T}/jobs/devices/{kind}/"', {"path.jobId": ids[f"job:{kind}"]})
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# one run of schemathesis


@dataclass
class Outcome:
    exit_code: int
    cases: int
    seconds: float
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors and self.cases > 0


def _junit(path: Path) -> tuple[list[str], list[str]]:
    failures: list[str] = []
    errors: list[str] = []
    if not path.exists():
        return failures, ["no JUnit report was written"]
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "?")
        for node in case:
            text = f"{name}: {node.get('message') or ''} {(node.text or '').strip()[:2000]}"
            if node.tag == "failure":
                failures.append(text)
            elif node.tag == "error":
                errors.append(text)
    return failures, errors


def fuzz(
    base_url: str,
    workdir: Path,
    *,
    examples: int,
    seed: int,
    deterministic: bool = True,
    token: str = TOKEN,
    request_timeout: float = 10,
    timeout: float = 900,
    ids: dict[str, str] | None = None,
    include: list[str] | None = None,
) -> Outcome:
    """One schemathesis run (``python -m schemathesis.cli run``) against ``base_url`` (``.../v1``);
    ``include``: only these operations (``"GET /path"``), else every one the simulator serves."""
    workdir.mkdir(parents=True, exist_ok=True)
    document, missing = spec_document()
    spec_path, config_path, junit = (
        workdir / "spec.json",
        workdir / "schemathesis.toml",
        workdir / "junit.xml",
    )
    spec_path.write_text(json.dumps(document), encoding="utf-8")
    config_path.write_text(config_toml(ids or demo_ids(base_url, token)), encoding="utf-8")
    junit.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_path)]
    cmd += ["run", str(spec_path), "--url", base_url, "-H", f"Authorization: Bearer {token}"]
    cmd += ["--checks", ",".join(CHECKS), "--phases", ",".join(PHASES), "--max-examples", str(examples)]
    cmd += ["--workers", "1", "--request-timeout", str(request_timeout)]
    cmd += ["--report", "junit", "--report-junit-path", str(junit), "--continue-on-failure"]
    if deterministic:
        cmd += ["--generation-deterministic"]
    else:
        cmd += ["--seed", str(seed), "--generation-database", "none"]
    for label in include or []:
        cmd += ["--include-name", label]
    for label in missing:
        cmd += ["--exclude-name", label]
    started = time.perf_counter()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    # Output to a file, not a pipe: a simulator served by a thread of the calling process is not
    # slowed by this thread waking for every line schemathesis prints.
    log = workdir / "schemathesis.log"
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.run(
            cmd, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout, env=env
        )
    output = log.read_text(encoding="utf-8", errors="replace")
    found = re.search(r"(\d+) generated", output)
    failures, errors = _junit(junit)
    return Outcome(
        proc.returncode,
        int(found.group(1)) if found else 0,
        time.perf_counter() - started,
        failures,
        errors,
        output,
    )


# ----------------------------------------------------------------------------------------------
# the simulator: in a thread (tests) or in its own process (memory)


@contextlib.contextmanager
def served_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yields its ``/v1`` URL.

    uvicorn binds the port itself: handed a socket bound here instead, its answers to requests
    that come in two segments (headers, then body) wait ~40 ms each for a delayed ACK.
    """
    import uvicorn

    port = harness.free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="critical", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def proc_status_kib(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` size (``VmRSS``, ``VmHWM``) in KiB; 0 when unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def sim_process(log: Path, memory_cap_mb: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``reconciler sim serve`` (demo org, token :data:`TOKEN`) in its own process, its address
    space capped at ``memory_cap_mb`` so a runaway request fails there instead of the machine."""
    port = harness.free_port()
    cmd = [sys.executable, "-m", "reconciler.cli", "sim", "serve", "--port", str(port), "--token", TOKEN]

    def cap() -> None:
        import resource

        limit = memory_cap_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, cwd=ROOT, preexec_fn=cap)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the simulator exited with {proc.returncode}")
                try:
                    httpx.get(f"{url}/_sim/stats", timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the simulator did not start in time") from None
                    time.sleep(0.1)
            yield f"{url}/v1", proc
        finally:
            harness.stop(proc)


def sim_stats(base_url: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(base_url.removesuffix("/v1") + "/_sim/stats", timeout=30).json()
    return data


# ----------------------------------------------------------------------------------------------
# the command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100, help="max examples per operation and round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, each with its own seed")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round")
    parser.add_argument("--memory-cap-mb", type=int, default=2048, help="address-space cap of the simulator")
    parser.add_argument("--request-timeout", type=float, default=10)
    parser.add_argument("--round-timeout", type=float, default=3600)
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / ".cache" / "fuzz")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with sim_process(args.workdir / "sim.log", args.memory_cap_mb) as (url, proc):
        start_rss = proc_status_kib(proc.pid, "VmRSS")
        print(f"simulator pid {proc.pid}: {start_rss / 1024:.1f} MiB resident before the first request")
        print("| round | seed | cases | seconds | failures | errors | requests so far | RSS MiB | peak MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for i in range(args.rounds):
            seed = args.seed + i
            out = fuzz(
                url,
                args.workdir / f"round-{i + 1}",
                examples=args.examples,
                seed=seed,
                deterministic=False,
                request_timeout=args.request_timeout,
                timeout=args.round_timeout,
            )
            stats = sim_stats(url)
            row = {
                "round": i + 1,
                "seed": seed,
                "cases": out.cases,
                "seconds": round(out.seconds, 1),
                "failures": len(out.failures),
                "errors": len(out.errors),
                "requests": stats["requests_total"],
                "by_status": stats["requests_by_status"],
                "rss_mib": round(proc_status_kib(proc.pid, "VmRSS") / 1024, 1),
                "peak_mib": round(proc_status_kib(proc.pid, "VmHWM") / 1024, 1),
            }
            rows.append(row)
            problems += out.failures + out.errors
            print(
                f"| {row['round']} | {seed} | {out.cases} | {row['seconds']} | {row['failures']} | "
                f"{row['errors']} | {row['requests']} | {row['rss_mib']} | {row['peak_mib']} |",
                flush=True,
            )
            if out.exit_code != 0 and not (out.failures or out.errors):
                problems.append(f"round {i + 1}: schemathesis exited {out.exit_code}:\n{out.output[-3000:]}")
    print(f"statuses: {json.dumps(rows[-1]['by_status'] if rows else {})}")
    if args.json:
        args.json.write_text(
            json.dumps({"rounds": rows, "start_rss_mib": round(start_rss / 1024, 1)}, indent=1)
        )
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
