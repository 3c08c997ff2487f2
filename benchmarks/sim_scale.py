"""The simulator serving large generated orgs: start-up time and memory, at start and after a full
plan's reads.

Run from the repository root::

    python benchmarks/sim_scale.py [--devices 10000 50000 100000] [--reads-at 100000] [--seed 1]

For every size N: ``reconciler sim serve --seed SEED --devices N`` in its own process (loopback, no
latency, no rate limit); the start-up time is from launching the process until it answers
``GET /v1/devices?max=1``; its memory is read from ``/proc`` (``VmRSS``, and the high-water mark
``VmHWM``). At the sizes of ``--reads-at`` the reads of a full plan follow, through the project's
client (``WebexClient``, 32 in flight): every page of ``/v1/devices``, ``/v1/locations`` and the
line key templates, the org's and every location's device settings, and each device's members,
layout and settings (the three reads a plan makes per device); then the memory is read again, with
the simulator's CPU time over the reads.

Prints a markdown table for docs/benchmarks.md and writes every number to ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from reconciler.webex.client import WebexClient, make_client

WORKERS = 64  # reader tasks; the client keeps at most 32 requests in flight


def memory_mib(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` of a live process, in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def wait_ready(base_url: str, started: float, timeout: float = 300) -> float:
    """Seconds from ``started`` until the server answers a /v1 request."""
    deadline = started + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            r = httpx.get(f"{base_url}/devices", params={"max": 1}, headers={"Authorization": "Bearer x"})
            if r.status_code == 200:
                return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"the simulator did not answer within {timeout} s")


async def plan_reads(client: WebexClient) -> int:
    """A full plan's reads (see the module's docstring); returns the number of requests."""
    devices = await client.paginate("/devices", {"max": 1000})
    locations = await client.paginate("/locations", {"max": 1000})
    await client.list_line_key_templates()
    await client.get_org_device_settings()
    for loc in locations:
        await client.get_location_device_settings(loc["id"])
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for device in devices:
        queue.put_nowait(device)

    async def reader() -> None:
        while not queue.empty():
            device = queue.get_nowait()
            ident = device["callingDeviceId"]
            await client.get_members(ident)
            await client.get_layout(ident)
            await client.get_device_settings(ident)

    await asyncio.gather(*(reader() for _ in range(WORKERS)))
    return client.stats.requests


async def read_all(base_url: str) -> int:
    client = make_client(base_url, None, None, 32, environ={"WEBEX_ACCESS_TOKEN": harness.TOKEN})
    async with client:
        return await plan_reads(client)


def measure(seed: int, devices: int, reads: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"devices": devices, "seed": seed}
    started = time.monotonic()
    with harness.sim_server(seed, devices, startup_timeout=300) as server:
        row["start_s"] = round(wait_ready(server.base_url, started), 2)
        row["at_start"] = memory_mib(server.proc.pid)
        if reads:
            cpu_before = server.cpu_seconds() or 0.0
            t0 = time.monotonic()
            row["requests"] = asyncio.run(read_all(server.base_url))
            row["reads_wall_s"] = round(time.monotonic() - t0, 1)
            row["sim_cpu_s"] = round((server.cpu_seconds() or 0.0) - cpu_before, 1)
            row["after_reads"] = memory_mib(server.proc.pid)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| devices | start (s) | RSS at start (MiB) | after a plan's reads: RSS / peak (MiB) "
        "| requests | sim CPU (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        after = r.get("after_reads")
        reads = f"{after['VmRSS']:.0f} / {after['VmHWM']:.0f}" if after else "-"
        lines.append(
            f"| {r['devices']:,} | {r['start_s']:.1f} | {r['at_start']['VmRSS']:.0f} | {reads} | "
            f"{r.get('requests', '-')} | {r.get('sim_cpu_s', '-')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument(
        "--reads-at", type=int, nargs="*", default=[100_000], help="sizes that get a plan's reads"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="where to write every number")
    args = parser.parse_args(argv)
    rows = []
    for n in args.devices:
        rows.append(measure(args.seed, n, n in args.reads_at))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": harness.machine(), "sizes": rows}, indent=2) + "\n")
    over = [r for r in rows if r["start_s"] > 30]
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
