"""Benchmark harness: a simulator server, manifests for its org, measured ``plan`` / ``apply`` runs,
the CPU of the diff+plan stage alone, and a naive baseline. ``benchmarks/run.py`` drives it.

Everything here talks to a simulator on the loopback interface only.

- ``SimServer``: ``reconciler sim serve`` as a subprocess on a free loopback port; its counters
  (``/_sim/stats``) and its own CPU time (``/proc``).
- ``export_org``: ``reconciler export`` of a generated org (cached: the same seed and size give
  the same org), then ``prepare_repos``: every device gets a declared ``settings`` block (a
  zero-change repo for ``plan``) and a copy where one settings field of every device is changed
  (for ``apply``).
- ``run_cli``: the CLI in a subprocess; wall time, exit code, CPU and peak RSS of that process
  (``os.wait4``).
- ``measure_plan`` / ``measure_apply``: one run each, with requests, 429s and the floor
  ``max(requests / rate_limit, requests * latency / concurrency)``.
- ``cpu_stage``: records every answer a plan reads once (in-process simulator), then replays them
  with no network and times ``build_plan`` with ``time.process_time``: once with the answers
  handed straight to the planner (the diff+plan stage alone), once through the HTTP client stack
  (``httpx.MockTransport``).
- ``naive_plan``: the baseline: sequential reads with ``httpx``, one MAC lookup per device.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler.model import mac_with_colons, normalize_mac  # noqa: E402
from reconciler.planning.diff import diff_declared  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
TOKEN = "bench-token"
# The simulator's SNMP communities, which `export` writes as fromEnv placeholders (never in clear):
# an apply of an exported repo reads them from these variables.
SIM_SECRETS = {
    "RECONCILER_SECRET_SNMP_GET_COMMUNITY": "public",
    "RECONCILER_SECRET_SNMP_SET_COMMUNITY": "private",
}
DEVICE_GLOB = "locations/*/devices/*.yaml"
EXPORT_KINDS = ("LineKeyTemplate", "Device", "LocationDeviceSettings", "OrgDeviceSettings")


# ----------------------------------------------------------------------------------------------
# the machine


def machine() -> dict[str, Any]:
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "memory_gib": mem_gib,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------------------------
# the simulator server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a live process (Linux ``/proc``); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class SimServer:
    port: int
    proc: subprocess.Popen[bytes]
    seed: int
    devices: int
    latency_ms: float
    rate_limit: float | None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(self._url("/_sim/stats"), timeout=30).json()
        return data

    def reset(self) -> None:
        httpx.post(self._url("/_sim/stats/reset"), timeout=30).raise_for_status()

    def cpu_seconds(self) -> float | None:
        return _proc_cpu_seconds(self.proc.pid)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a child process; kill it when it has not exited 20 s later."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def sim_server(
    seed: int,
    devices: int,
    *,
    latency_ms: float = 0,
    rate_limit: float | None = None,
    log: Path | None = None,
    startup_timeout: float = 120,
) -> Iterator[SimServer]:
    """``reconciler sim serve`` on a free loopback port, stopped on exit."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "reconciler.cli",
        "sim",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--devices",
        str(devices),
        "--latency-ms",
        str(latency_ms),
    ]
    if rate_limit:
        cmd += ["--rate-limit", str(rate_limit)]
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=out, cwd=ROOT)
    server = SimServer(port, proc, seed, devices, latency_ms, rate_limit)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {proc.returncode}: {' '.join(cmd)}")
            try:
                server.stats()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start in time") from None
                time.sleep(0.1)
        yield server
    finally:
        stop(proc)
        if log:
            assert not isinstance(out, int)
            out.close()


# ----------------------------------------------------------------------------------------------
# running the CLI


@dataclass
class RunResult:
    args: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    stdout: str
    stderr: str


def cli_env(base_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBEX_")}
    env["WEBEX_ACCESS_TOKEN"] = TOKEN
    env.update(SIM_SECRETS)
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if base_url:
        env["WEBEX_BASE_URL"] = base_url
    return env


def _peak_rss_kib(pid: int) -> int:
    """VmHWM of a running process, in KiB (0 when unknown)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def byte_compiled() -> None:
    """The package compiled to bytecode, as ``pip install`` leaves it (and leaves the SDK's
    environment): with ``PYTHONDONTWRITEBYTECODE`` set and an editable install, every measured
    run would compile each module again (~0.15 s of CPU a run on the machine of the benchmarks)."""
    import compileall

    compileall.compile_dir(str(ROOT / "reconciler"), quiet=1)


def run_cli(
    args: Sequence[str], *, cwd: Path, base_url: str | None = None, timeout: float = 3600
) -> RunResult:
    """``python -m reconciler.cli ARGS`` in a subprocess: wall time, CPU and peak RSS of that process
    (the package byte-compiled first: ``byte_compiled``)."""
    byte_compiled()
    cmd = [sys.executable, "-m", "reconciler.cli", *args]
    return run_process(cmd, cwd=cwd, base_url=base_url, timeout=timeout, label=args)


def run_process(
    cmd: Sequence[str],
    *,
    cwd: Path,
    base_url: str | None = None,
    timeout: float = 3600,
    label: Sequence[str] | None = None,
) -> RunResult:
    """``cmd`` in a subprocess: wall time, CPU and peak RSS of that process (``label``: its
    arguments as recorded; default the whole command)."""
    args = list(cmd if label is None else label)
    cwd.mkdir(parents=True, exist_ok=True)
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, env=cli_env(base_url)
        )
        deadline = start + timeout
        hwm_kib = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm_kib = max(hwm_kib, _peak_rss_kib(proc.pid))
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    # The child's own peak (VmHWM of its address space, read while it runs): ru_maxrss of a child
    # counts the parent's resident size at fork (this harness holds big recorded answers). Where
    # /proc is missing, ru_maxrss (KiB on Linux, bytes on macOS).
    rss_kib = hwm_kib or (usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss)
    return RunResult(
        list(args),
        proc.returncode,
        wall,
        usage.ru_utime + usage.ru_stime,
        rss_kib / 1024,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
    )


# ----------------------------------------------------------------------------------------------
# manifests


def export_in_process(app: Any, out: Path, concurrency: int = 8) -> Path:
    """``reconciler export`` of an in-process simulator ``app`` (tests): the manifests under ``out``."""
    from reconciler.flows.connect import Connection, run
    from reconciler.flows.export import export_org as export_flow

    run(export_flow(Connection(sim_app=app, concurrency=concurrency), str(out), (), EXPORT_KINDS, (), _quiet))
    return out


def _quiet(done: int, total: int) -> None:
    pass


def export_org(
    seed: int, devices: int, *, concurrency: int = 32, cache: Path = CACHE, log: Path | None = None
) -> Path:
    """The exported manifests of the generated org (seed, devices); exported once, then cached."""
    target = cache / f"export-seed{seed}-n{devices}"
    done = target / ".complete"
    if done.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    with sim_server(seed, devices, log=log) as sim:
        args = ["export", "--out", str(target), "--concurrency", str(concurrency)]
        for kind in EXPORT_KINDS:
            args += ["--kind", kind]
        result = run_cli(args, cwd=cache / "work", base_url=sim.base_url)
    if result.exit_code != 0:
        raise RuntimeError(
            f"export failed ({result.exit_code}): {result.stderr[-2000:]}{result.stdout[-2000:]}"
        )
    done.write_text(json.dumps({"seed": seed, "devices": devices, "export_s": round(result.wall_s, 1)}))
    return target


_SETTINGS = "\n  settings:\n"


def _with_settings(text: str, custom_enabled: bool) -> str:
    """A device manifest whose declared settings are exactly ``customEnabled: <custom_enabled>``."""
    head = text.partition(_SETTINGS)[0]
    body = head.rstrip("\n") + "\n"
    return body + f"  settings:\n    customEnabled: {'true' if custom_enabled else 'false'}\n"


def prepare_repos(exported: Path, work: Path) -> tuple[Path, Path, int]:
    """Two copies of the export with members + layout + settings declared on every device.

    ``plan/``: devices without customised settings declare ``settings: {customEnabled: false}``
    (the live value: the plan is empty). ``change/``: every device's ``customEnabled`` flipped
    (customised devices go back to inherited values), so apply writes the settings of every device.
    Returns (plan repo, change repo, number of devices).
    """
    plan_repo, change_repo = work / "plan", work / "change"
    for repo in (plan_repo, change_repo):
        if repo.exists():
            shutil.rmtree(repo)
        shutil.copytree(exported, repo, ignore=shutil.ignore_patterns(".complete"))
    count = 0
    for f in sorted(plan_repo.glob(DEVICE_GLOB)):
        text = f.read_text(encoding="utf-8")
        # export writes spec last and settings last in spec: everything after it is the settings block
        customised = _SETTINGS in text
        if customised:
            tail = text.partition(_SETTINGS)[2]
            assert all(line.startswith("    ") or not line.strip() for line in tail.splitlines()), f
            assert "    customEnabled: true\n" in tail, f
        else:
            f.write_text(_with_settings(text, False), encoding="utf-8")
        (change_repo / f.relative_to(plan_repo)).write_text(
            _with_settings(text, not customised), encoding="utf-8"
        )
        count += 1
    return plan_repo, change_repo, count


# ----------------------------------------------------------------------------------------------
# measured CLI runs


def floor_s(requests: int, rate_limit: float | None, latency_ms: float, concurrency: int) -> float:
    """The least time ``requests`` can take: the rate limit or latency / concurrency, whichever binds."""
    by_rate = requests / rate_limit if rate_limit else 0.0
    by_latency = requests * (latency_ms / 1000.0) / concurrency
    return max(by_rate, by_latency)


def _route_groups(stats: dict[str, Any]) -> dict[str, int]:
    groups: dict[str, int] = {}
    for route, n in stats.get("requests_by_route", {}).items():
        method, _, path = route.partition(" ")
        if "/jobs/" in path:
            key = "jobs"
        elif path.startswith("/v1/telephony/config/devices/{deviceId}"):
            key = f"{method} device"
        else:
            key = f"{method} other"
        groups[key] = groups.get(key, 0) + n
    return dict(sorted(groups.items()))


def _summary(
    kind: str,
    result: RunResult,
    stats: dict[str, Any],
    sim_cpu: float | None,
    devices: int,
    latency_ms: float,
    rate_limit: float | None,
    concurrency: int,
) -> dict[str, Any]:
    total = int(stats["requests_total"])
    limited = int(stats["rate_limited_total"])
    served = total - limited
    failed = {
        s: n
        for s, n in stats.get("requests_by_status", {}).items()
        if s != "429" and not s.startswith(("2", "3"))
    }
    floor = floor_s(served, rate_limit, latency_ms, concurrency)
    return {
        "kind": kind,
        "devices": devices,
        "exit_code": result.exit_code,
        "wall_s": round(result.wall_s, 2),
        "requests": served,
        "requests_per_device": round(served / devices, 3) if devices else None,
        "rate_limited_429": limited,
        "failed_requests": failed,
        "writes": int(stats.get("writes_total", 0)),
        "jobs": stats.get("jobs_started_by_type", {}),
        "by_route_group": _route_groups(stats),
        "by_route": dict(sorted(stats.get("requests_by_route", {}).items())),
        "floor_s": round(floor, 2),
        "ratio_to_floor": round(result.wall_s / floor, 3) if floor else None,
        "reconciler_cpu_s": round(result.cpu_s, 2),
        "reconciler_peak_rss_mb": round(result.max_rss_mb, 1),
        "sim_cpu_s": round(sim_cpu, 2) if sim_cpu is not None else None,
        "sim_cpu_ms_per_request": round(sim_cpu * 1000 / total, 3) if sim_cpu is not None and total else None,
    }


def measure_plan(sim: SimServer, repo: Path, *, concurrency: int, work: Path) -> dict[str, Any]:
    """``reconciler plan REPO --detailed-exitcode``: exit 0 (no changes) expected."""
    sim.reset()
    cpu0 = sim.cpu_seconds()
    result = run_cli(
        ["plan", str(repo), "--detailed-exitcode", "--concurrency", str(concurrency)],
        cwd=work,
        base_url=sim.base_url,
    )
    cpu1 = sim.cpu_seconds()
    stats = sim.stats()
    if result.exit_code != 0:
        raise RuntimeError(f"plan exited {result.exit_code}: {result.stderr[-3000:]}{result.stdout[-3000:]}")
    sim_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return _summary("plan", result, stats, sim_cpu, sim.devices, sim.latency_ms, sim.rate_limit, concurrency)


def measure_apply(sim: SimServer, repo: Path, *, concurrency: int, work: Path) -> dict[str, Any]:
    """``reconciler apply REPO --auto-approve --force`` of the change repo: plan, writes, pushes,
    verification."""
    sim.reset()
    cpu0 = sim.cpu_seconds()
    result = run_cli(
        [
            "apply",
            str(repo),
            "--auto-approve",
            "--force",  # the change repo rewrites most of the org on purpose (above any threshold)
            "--concurrency",
            str(concurrency),
            "--log",
            str(work / "apply-log.jsonl"),
        ],
        cwd=work,
        base_url=sim.base_url,
    )
    cpu1 = sim.cpu_seconds()
    stats = sim.stats()
    if result.exit_code != 0 or "Converged" not in result.stdout:
        raise RuntimeError(f"apply exited {result.exit_code}: {result.stderr[-3000:]}{result.stdout[-3000:]}")
    sim_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    out = _summary("apply", result, stats, sim_cpu, sim.devices, sim.latency_ms, sim.rate_limit, concurrency)
    out["settings_writes"] = int(
        stats.get("writes_by_route", {}).get("PUT /v1/telephony/config/devices/{deviceId}/settings", 0)
    )
    out["apply_changes_calls"] = int(
        stats.get("requests_by_route", {}).get(
            "POST /v1/telephony/config/devices/{deviceId}/actions/applyChanges/invoke", 0
        )
    )
    # the push contract: every device the apply changed was told to download its configuration
    out["pending_devices"] = int(stats.get("pending_devices", 0))
    if out["pending_devices"]:
        raise RuntimeError(f"apply left {out['pending_devices']} device(s) pending a push")
    return out


SDK_SCRIPT = ROOT / "benchmarks" / "sdk_baseline.py"
SDK_PACKAGE = "wxc_sdk"


def sdk_python(cache: Path = CACHE) -> str:
    """The Python of the SDK's own environment (``CACHE/venv-sdk``), made on first use with
    ``pip install wxc_sdk``: the SDK is never installed next to reconciler."""
    venv = cache / "venv-sdk"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = [str(python), "-c", f"import {SDK_PACKAGE}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", SDK_PACKAGE], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not install {SDK_PACKAGE} into {venv}: {done.stderr.strip()[-500:]}")
    return str(python)


def measure_sdk(sim: SimServer, python: str, *, concurrency: int, work: Path) -> dict[str, Any]:
    """``benchmarks/sdk_baseline.py`` (the same reads with the wxc_sdk package) under ``python``:
    wall, CPU and peak RSS of that process, requests served, CPU per request."""
    sim.reset()
    cpu0 = sim.cpu_seconds()
    cmd = [python, str(SDK_SCRIPT), "--base-url", sim.base_url, "--concurrency", str(concurrency)]
    result = run_process(cmd, cwd=work, base_url=sim.base_url)
    cpu1 = sim.cpu_seconds()
    if result.exit_code != 0:
        raise RuntimeError(f"the SDK baseline failed ({result.exit_code}): {result.stderr[-2000:]}")
    stats = sim.stats()
    sim_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    out = _summary("sdk", result, stats, sim_cpu, sim.devices, sim.latency_ms, sim.rate_limit, concurrency)
    out["script"] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


FLOOR_SCRIPT = ROOT / "benchmarks" / "aiohttp_floor.py"


def measure_floor(sim: SimServer, *, concurrency: int, work: Path) -> dict[str, Any]:
    """``benchmarks/aiohttp_floor.py`` (the plan's reads through a bare ``aiohttp.ClientSession``,
    nothing else) under this Python: what a plan's CPU cannot go below while aiohttp carries it."""
    sim.reset()
    cmd = [sys.executable, str(FLOOR_SCRIPT), "--base-url", sim.base_url, "--concurrency", str(concurrency)]
    result = run_process(cmd, cwd=work, base_url=sim.base_url)
    if result.exit_code != 0:
        raise RuntimeError(f"the aiohttp floor failed ({result.exit_code}): {result.stderr[-2000:]}")
    stats = sim.stats()
    out = _summary("floor", result, stats, None, sim.devices, sim.latency_ms, sim.rate_limit, concurrency)
    out["script"] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def compare(plan: dict[str, Any], sdk: dict[str, Any], floor: dict[str, Any] | None = None) -> dict[str, Any]:
    """The reconciler's plan and the SDK script side by side; ``ratio`` is reconciler / SDK; with
    the aiohttp ``floor``, also ``floor_ratio``, floor / SDK (the least ``ratio`` can be)."""

    def row(r: dict[str, Any]) -> dict[str, Any]:
        requests = int(r["requests"])
        cpu = float(r["reconciler_cpu_s"])
        return {
            "wall_s": r["wall_s"],
            "cpu_s": cpu,
            "requests": requests,
            "cpu_ms_per_request": round(1000 * cpu / max(1, requests), 3),
            "peak_rss_mb": r["reconciler_peak_rss_mb"],
        }

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {k: round(a[k] / b[k], 2) if b[k] else None for k in a}

    out = {"plan": row(plan), "sdk": row(sdk)}
    out["ratio"] = ratio(out["plan"], out["sdk"])
    if floor is not None:
        out["floor"] = row(floor)
        out["floor_ratio"] = ratio(out["floor"], out["sdk"])
    return out


def compare_rounds(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], floor: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``compare`` of the round (plan, SDK) whose CPU ratio is the median of all rounds (the lower
    median for an even count), with every round's ratio (``round_ratios``) and ``rounds`` and
    ``chosen_round`` (0-based): one run of either side moves by up to half on a shared machine."""
    if not pairs:
        raise ValueError("no rounds to compare")
    ratios = [float(p["reconciler_cpu_s"]) / max(float(s["reconciler_cpu_s"]), 1e-9) for p, s in pairs]
    order = sorted(range(len(pairs)), key=ratios.__getitem__)
    chosen = order[(len(order) - 1) // 2]
    plan, sdk = pairs[chosen]
    out = compare(plan, sdk, floor)
    out["round_ratios"] = [round(r, 2) for r in ratios]
    out["rounds"] = len(pairs)
    out["chosen_round"] = chosen
    return out


# ----------------------------------------------------------------------------------------------
# the diff+plan stage alone: recorded answers, no network


Key = tuple[str, str, tuple[tuple[str, str], ...]]  # method, path below the base URL, sorted query
Answer = tuple[int, list[tuple[str, str]], bytes, str]  # status, headers, body, URL
REPLAY_BASE = "http://sim.invalid/v1"


def _key_of_url(method: str, url: httpx.URL) -> Key:
    path = url.path
    prefix = httpx.URL(REPLAY_BASE).path
    if path.startswith(prefix):
        path = path[len(prefix) :]
    return (method, path, tuple(sorted(url.params.multi_items())))


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.answers: dict[Key, Answer] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self.inner.handle_async_request(request)
        content = await resp.aread()
        answer = (resp.status_code, list(resp.headers.multi_items()), content, str(request.url))
        self.answers[_key_of_url(request.method, request.url)] = answer
        return httpx.Response(resp.status_code, headers=resp.headers, content=content, request=request)


def _response(answer: Answer | None, request: httpx.Request) -> httpx.Response:
    if answer is None:
        return httpx.Response(
            404, json={"message": f"not recorded: {request.method} {request.url}"}, request=request
        )
    status, headers, content, _url = answer
    return httpx.Response(status, headers=headers, content=content, request=request)


def _client(transport: httpx.AsyncBaseTransport, concurrency: int) -> Any:
    from reconciler.webex.client import make_client

    return make_client(
        REPLAY_BASE, None, None, concurrency, transport=transport, environ={"WEBEX_ACCESS_TOKEN": TOKEN}
    )


async def _record(app: Any, resources: list[Any], concurrency: int) -> tuple[dict[Key, Answer], Any]:
    from reconciler.planning.planner import build_plan

    recorder = _Recorder(httpx.ASGITransport(app=app))
    async with _client(recorder, concurrency) as client:
        plan = await build_plan(client, resources)
    return recorder.answers, plan


async def _replay_http(answers: dict[Key, Answer], resources: list[Any], concurrency: int) -> Any:
    """Every request goes through the client's whole HTTP stack to an ``httpx.MockTransport``."""
    from reconciler.planning.planner import build_plan

    def handler(request: httpx.Request) -> httpx.Response:
        return _response(answers.get(_key_of_url(request.method, request.url)), request)

    async with _client(httpx.MockTransport(handler), concurrency) as client:
        return await build_plan(client, resources)


def _prebuilt(answers: dict[Key, Answer]) -> dict[Key, httpx.Response]:
    out = {}
    for key, answer in answers.items():
        out[key] = _response(answer, httpx.Request(key[0], answer[3]))
        out[key].read()
    return out


async def _replay_direct(responses: dict[Key, httpx.Response], resources: list[Any], concurrency: int) -> Any:
    """The client's ``request`` hands back the recorded answer at once: no HTTP stack, no URL parsing."""
    from reconciler.planning.planner import build_plan

    async with _client(httpx.MockTransport(lambda r: httpx.Response(500)), concurrency) as client:

        async def request(method: str, path: str, *, params: Any = None, **_: Any) -> httpx.Response:
            method = method.upper()
            if path.startswith("http") or "?" in path:
                url = httpx.URL(path if path.startswith("http") else REPLAY_BASE + path)
                if params:
                    url = url.copy_merge_params({k: _param(v) for k, v in params.items() if v is not None})
                key = _key_of_url(method, url)
            else:
                query = tuple(sorted((k, _param(v)) for k, v in (params or {}).items() if v is not None))
                key = (method, path, query)
            found = responses.get(key)
            if found is None:
                raise KeyError(f"not recorded: {key}")
            return found

        client.request = request
        return await build_plan(client, resources)


def _all_distinct(answers: dict[Key, Answer]) -> dict[Key, Answer]:
    """The same answers, each made unlike every other by an extra top-level field the planners do
    not read: no two devices answer alike, so none of their parsing and hashing is shared."""
    out: dict[Key, Answer] = {}
    for i, (key, (status, headers, body, url)) in enumerate(answers.items()):
        if body.startswith(b"{"):
            tail = body[1:] if body[1:].lstrip().startswith(b"}") else b"," + body[1:]
            body = b'{"benchmarkDistinct":%d' % i + tail
        kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
        out[key] = (status, kept, body, url)
    return out


def cpu_stage(
    seed: int, devices: int, repo: Path, *, concurrency: int = 32, repeat: int = 1
) -> dict[str, Any]:
    """CPU seconds of ``build_plan`` on recorded answers (best of ``repeat``), and of loading the repo."""
    from reconciler.flows.load import load
    from reconciler.sim.app import create_app

    t0 = time.process_time()
    resources = load([str(repo)])
    load_cpu = time.process_time() - t0
    app = create_app(seed=seed, devices=devices, job_duration_s=0)
    answers, recorded = asyncio.run(_record(app, resources, concurrency))
    del app
    if not recorded.empty:
        raise RuntimeError(f"the recorded plan is not empty: {len(recorded.steps)} steps")
    out: dict[str, Any] = {
        "devices": devices,
        "answers_recorded": len(answers),
        "load_validate_cpu_s": round(load_cpu, 2),
    }
    responses = _prebuilt(answers)
    stages: list[tuple[str, Any, Any]] = [
        ("diff_plan_cpu_s", _replay_direct, responses),
        ("diff_plan_cpu_all_distinct_s", _replay_direct, _prebuilt(_all_distinct(answers))),
        ("with_http_client_cpu_s", _replay_http, answers),
    ]
    for name, fn, data in stages:
        best = None
        for _ in range(repeat):
            start = time.process_time()
            plan = asyncio.run(fn(data, resources, concurrency))
            spent = time.process_time() - start
            assert plan.empty and len(plan.reads) == len(recorded.reads), (len(plan.steps), len(plan.reads))
            best = spent if best is None else min(best, spent)
        out[name] = round(best or 0.0, 2)
    return out


# ----------------------------------------------------------------------------------------------
# the naive baseline


@dataclass
class NaiveResult:
    devices: int
    measured: int
    wall_s: float
    requests: int
    changes: int
    extrapolated: bool = False
    per_device_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "measured_devices": self.measured,
            "wall_s": round(self.wall_s, 2),
            "requests": self.requests,
            "requests_per_device": round(self.requests / max(self.measured, 1), 3),
            "changes": self.changes,
            "extrapolated": self.extrapolated,
            "per_device_ms": round(self.per_device_s * 1000, 2),
        }


def _naive_spec(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    doc: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))  # YAML 1.2: OFF is a string
    return doc


def naive_plan(base_url: str, repo: Path, *, devices: int, sample: int | None = None) -> NaiveResult:
    """What a script without batching or concurrency does: per device, one ``/devices?mac=`` lookup,
    then members, layout and settings, one request at a time (it diffs only the declared settings).
    With ``sample``, only that many devices are read and the time is extrapolated to ``devices``."""
    files = sorted(repo.glob(DEVICE_GLOB))
    chosen = (
        files if sample is None or sample >= len(files) else files[:: max(1, len(files) // sample)][:sample]
    )
    requests = changes = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:

        def get(path: str, params: dict[str, str] | None = None) -> Any:
            nonlocal requests
            while True:
                requests += 1
                r = http.get(path, params=params)
                if r.status_code == 429:
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                r.raise_for_status()
                return r.json()

        start = time.perf_counter()
        for f in chosen:
            doc = _naive_spec(f)
            mac = normalize_mac(str(doc["metadata"]["mac"])) or ""
            items = get("/devices", {"mac": mac_with_colons(mac)})["items"]
            cid = items[0]["callingDeviceId"]
            base = f"/telephony/config/devices/{cid}"
            get(f"{base}/members")
            get(f"{base}/layout")
            settings = get(f"{base}/settings")
            changes += len(diff_declared(doc["spec"].get("settings", {}), settings))
        wall = time.perf_counter() - start
    per_device = wall / max(len(chosen), 1)
    extrapolated = len(chosen) < devices
    return NaiveResult(
        devices=devices,
        measured=len(chosen),
        wall_s=per_device * devices if extrapolated else wall,
        requests=requests,
        changes=changes,
        extrapolated=extrapolated,
        per_device_s=per_device,
    )
