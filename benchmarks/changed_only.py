"""A pull request's plan, full and ``--changed-only``: one device changed in an N-device repo.

Run from the repository root::

    python benchmarks/changed_only.py [--devices 10000] [--latency-ms 50] [--rate-limit 300] [--full]

The generated org (``--seed``, ``--devices``) is exported once (cached in ``benchmarks/.cache/``);
``base/manifests`` is the zero-change repo (what the base branch declares), ``manifests`` the same
with the settings of one device changed (the pull request). Against a fresh ``reconciler sim
serve`` it times ``reconciler plan manifests --baseline base --changed-only`` (and, with
``--full``, the same without ``--changed-only``) in a subprocess: wall, CPU, peak RSS, requests.
Both must show the changed device's settings step; the script checks that they show the same
steps for it. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def measure(sim: harness.SimServer, work: Path, extra: list[str], concurrency: int) -> dict[str, Any]:
    sim.reset()
    args = ["plan", "manifests", "--baseline", "base", "--format", "json", "--concurrency", str(concurrency)]
    result = harness.run_cli([*args, *extra], cwd=work, base_url=sim.base_url)
    if result.exit_code != 0:
        raise RuntimeError(f"plan exited {result.exit_code}: {result.stderr[-3000:]}")
    stats = sim.stats()
    return {
        "wall_s": round(result.wall_s, 2),
        "cpu_s": round(result.cpu_s, 2),
        "peak_rss_mb": round(result.max_rss_mb, 1),
        "requests": int(stats["requests_total"]) - int(stats["rate_limited_total"]),
        "steps": json.loads(result.stdout)["steps"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate-limit", type=float, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--full", action="store_true", help="also time the full plan (minutes)")
    parser.add_argument("--cache", type=Path, default=harness.CACHE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-changed-") as tmp:
        work = Path(tmp)
        exported = harness.export_org(args.seed, args.devices, concurrency=args.concurrency, cache=args.cache)
        base, change, _ = harness.prepare_repos(exported, work / "repos")
        checkout = work / "checkout"
        shutil.copytree(base, checkout / "base" / "manifests")
        shutil.copytree(base, checkout / "manifests")
        device = sorted(change.glob(harness.DEVICE_GLOB))[len(list(change.glob(harness.DEVICE_GLOB))) // 2]
        shutil.copy(device, checkout / "manifests" / device.relative_to(change))
        address = f"Device/{device.stem}"
        out: dict[str, Any] = {"devices": args.devices, "changed": address, "machine": harness.machine()}
        kw = {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit or None}
        with harness.sim_server(args.seed, args.devices, **kw) as sim:
            runs = {"changed_only": ["--changed-only"], **({"full": []} if args.full else {})}
            for name, extra in runs.items():
                r = measure(sim, checkout, extra, args.concurrency)
                mine = [s for s in r.pop("steps") if s["resource"] == address]
                assert mine, f"{name}: no step for {address}"
                r["steps_for_the_device"] = [s["address"] for s in mine]
                r["_mine"] = mine
                out[name] = r
        if args.full:
            assert out["full"].pop("_mine") == out["changed_only"]["_mine"], "the device's steps differ"
        out["changed_only"].pop("_mine")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
