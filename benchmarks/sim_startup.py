"""Simulator start-up: build time of a 10,000-device org and latency of the first /v1/devices page.

Run from the repository root::

    python benchmarks/sim_startup.py [--devices 10000] [--seed 1] [--repeat 3]

Prints one markdown table row (median of the repeats) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.sim.app import create_app


async def first_page(app: Starlette) -> tuple[float, int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim/v1", headers={"Authorization": "Bearer bench"}
    ) as client:
        start = time.perf_counter()
        r = await client.get("/devices")
        elapsed = time.perf_counter() - start
        r.raise_for_status()
        return elapsed, len(r.json()["items"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    builds, pages = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        app = create_app(seed=args.seed, devices=args.devices)
        builds.append(time.perf_counter() - start)
        elapsed, count = asyncio.run(first_page(app))
        assert count == 100, count
        pages.append(elapsed)
    build, page = statistics.median(builds), statistics.median(pages)
    print("| benchmark | devices | create_app (s) | first /v1/devices page (ms) | target | machine |")
    print("| --- | --- | --- | --- | --- | --- |")
    verdict = "ok" if build < 10 else "MISSED"
    print(
        f"| sim_startup | {args.devices} | {build:.2f} | {page * 1000:.1f} | < 10 s ({verdict}) | "
        f"Python {platform.python_version()}, {platform.machine()} |"
    )
    return 0 if build < 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
