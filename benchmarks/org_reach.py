"""What a plan of an org settings change costs in requests, finding where the change does not reach.

A plan whose org settings change reads the org's locations and devices
(``reconciler.planning.kinds.not_reached``) to name those that hold their own settings outside any
manifest. This counts the requests of such a plan on a generated org (no manifest but the org's:
every location and phone is read), and of the same plan with the org unchanged (none of those
reads). Requests are counted by the simulator, in process: the numbers do not depend on the machine.

Run from the repository root::

    python benchmarks/org_reach.py [--devices 2000] [--seed 1]

Prints one markdown table row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.flows.connect import Connection, connect
from reconciler.flows.make import make_plan
from reconciler.sim.app import create_app

ORG = """apiVersion: reconciler/v1
kind: OrgDeviceSettings
metadata: {{name: org}}
spec:
  customizations:
    mpp: {{phoneLanguage: {language}}}
"""


async def plan_requests(devices: int, seed: int, language: str) -> tuple[int, int, dict[str, int], float]:
    """(requests, devices in the org, the plan's notReached summary, seconds) of one plan."""
    app = create_app(seed=str(seed), devices=devices, job_duration_s=0)
    store = app.state.sim.store
    current = store.org_customizations["mpp"]["phoneLanguage"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "org.yaml").write_text(ORG.format(language=language or current), encoding="utf-8")
        async with connect(Connection(sim_app=app, concurrency=16)) as client:
            app.state.sim.stats.reset()
            start = time.perf_counter()
            plan = await make_plan(client, [tmp])
            elapsed = time.perf_counter() - start
    org = [s for s in plan.steps if s.resource.startswith("OrgDeviceSettings/")]
    reach = org[0].meta.get("notReached") if org else None
    found = {"reads": 0, "fields": 0}
    if isinstance(reach, dict):
        found = {"reads": int(reach["reads"]), "fields": len(reach["fields"])}
    return app.state.sim.stats.requests_total, len(store.devices), found, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    changed = asyncio.run(plan_requests(args.devices, args.seed, "FRENCH_FRANCE"))
    same = asyncio.run(plan_requests(args.devices, args.seed, ""))
    total, devices, reach, seconds = changed
    print(
        "| devices | org changed: requests | of which finding where it does not reach | req / device"
        " | org unchanged: requests | plan (s) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    per = total / max(devices, 1)
    print(f"| {devices:,} | {total:,} | {reach['reads']:,} | {per:.2f} | {same[0]:,} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
