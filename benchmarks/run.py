"""Plan and apply N devices against the simulator, close to the API's own limits; one command.

Run from the repository root::

    python benchmarks/run.py --devices 1000 10000 --latency-ms 50 --rate-limit 300 --concurrency 32

For every size N: the generated org (``--seed``, N devices) is exported once (cached under
``benchmarks/.cache/``, the same seed and size give the same org), every device gets members +
layout + settings declared, and a fresh ``reconciler sim serve`` (loopback, the latency and rate
limit given) serves each measurement:

- ``plan`` of the unchanged repo (zero changes expected), ``apply`` of a copy where one settings
  field of every device changed (then the apply's own verification plan must be empty);
- requests per device and 429s (``/_sim/stats``), peak RSS and CPU of the reconciler process,
  the simulator's CPU per request, and wall time against the floor
  ``max(requests / rate_limit, requests * latency / concurrency)``;
- the diff+plan stage alone: recorded answers replayed with no network, ``build_plan`` timed with
  ``time.process_time`` (``--cpu-stage``; on by default);
- the naive baseline (sequential reads, one MAC lookup per device) for sizes up to
  ``--naive-full`` devices; above that a sample of ``--naive-sample`` devices, extrapolated.

Prints markdown tables and writes every number to ``--json`` (default
``benchmarks/results/latest.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run_size(n: int, args: argparse.Namespace, work: Path, say: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": n}
    started = time.perf_counter()
    exported = harness.export_org(args.seed, n, concurrency=args.concurrency, cache=args.cache)
    plan_repo, change_repo, count = harness.prepare_repos(exported, work / f"n{n}")
    assert count == n, (count, n)
    say(f"[{n}] manifests ready ({time.perf_counter() - started:.0f} s)")
    sim_kw = {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit, "log": work / f"sim-{n}.log"}
    if "plan" in args.measure or "apply" in args.measure:
        with harness.sim_server(args.seed, n, **sim_kw) as sim:
            if "plan" in args.measure:
                out["plan"] = harness.measure_plan(
                    sim, plan_repo, concurrency=args.concurrency, work=work / f"n{n}-plan"
                )
                say(f"[{n}] plan: {json.dumps(out['plan'])}")
            if "apply" in args.measure:
                out["apply"] = harness.measure_apply(
                    sim, change_repo, concurrency=args.concurrency, work=work / f"n{n}-apply"
                )
                say(f"[{n}] apply: {json.dumps(out['apply'])}")
    if "sdk" in args.measure:
        if not args.sdk_python:
            say(f"[{n}] the SDK's own environment: {args.cache / 'venv-sdk'} (made on first use)")
            args.sdk_python = harness.sdk_python(args.cache)
        with harness.sim_server(args.seed, n, **sim_kw) as sim:
            out["floor"] = harness.measure_floor(sim, concurrency=args.concurrency, work=work / f"n{n}-floor")
            say(f"[{n}] aiohttp floor: {json.dumps(out['floor'])}")
            pairs = []
            for i in range(max(1, args.rounds)):  # SDK then plan, in turn: the machine's drift hits both
                sdk = harness.measure_sdk(
                    sim, args.sdk_python, concurrency=args.concurrency, work=work / f"n{n}-sdk-{i}"
                )
                say(f"[{n}] round {i + 1}: sdk: {json.dumps(sdk)}")
                plan = harness.measure_plan(
                    sim, plan_repo, concurrency=args.concurrency, work=work / f"n{n}-sdk-plan-{i}"
                )
                say(f"[{n}] round {i + 1}: plan: {json.dumps(plan)}")
                pairs.append((plan, sdk))
        out["sdk_vs_plan"] = harness.compare_rounds(pairs, out["floor"])
        out.setdefault("plan", pairs[out["sdk_vs_plan"]["chosen_round"]][0])
        say(f"[{n}] CPU ratio plan / SDK by round: {out['sdk_vs_plan']['round_ratios']}")
    if "naive" in args.measure:
        sample = None if n <= args.naive_full else args.naive_sample
        with harness.sim_server(args.seed, n, **sim_kw) as sim:
            sim.reset()
            naive = harness.naive_plan(sim.base_url, plan_repo, devices=n, sample=sample).to_json()
            stats = sim.stats()
        naive["rate_limited_429"] = stats["rate_limited_total"]
        out["naive"] = naive
        say(f"[{n}] naive: {json.dumps(naive)}")
    if "cpu" in args.measure:
        out["cpu_stage"] = harness.cpu_stage(
            args.seed, n, plan_repo, concurrency=args.concurrency, repeat=args.repeat
        )
        say(f"[{n}] cpu stage: {json.dumps(out['cpu_stage'])}")
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _section(
    results: dict[str, Any], key: str, header: list[str], cells: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    """A markdown table of ``key``'s numbers, a row per size that has them (none when no size does)."""
    rows = [[str(size["devices"]), *cells(size[key])] for size in results["sizes"] if size.get(key)]
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return [*lines, *("| " + " | ".join(row) + " |" for row in rows), ""]


def _rounds_note(devices: int, c: dict[str, Any]) -> str:
    if not c.get("round_ratios"):
        return ""
    ratios = ", ".join(_fmt(r) for r in c["round_ratios"])
    return f"N={devices}: CPU ratio by round {ratios}; the median round ({c['chosen_round'] + 1}) is shown"


def sdk_table(results: dict[str, Any]) -> list[str]:
    """reconciler plan and the wxc_sdk script side by side, with the ratio reconciler / SDK."""
    sizes = [size for size in results["sizes"] if size.get("sdk_vs_plan")]
    if not sizes:
        return []
    lines = [
        "| N | run | wall (s) | CPU (s) | requests | CPU / request (ms) | peak RSS (MB) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in sizes:
        c = size["sdk_vs_plan"]
        rows = [("reconciler plan", "plan"), ("wxc_sdk reads", "sdk"), ("ratio", "ratio")]
        if "floor" in c:
            rows += [("bare aiohttp (the floor)", "floor"), ("floor / SDK", "floor_ratio")]
        for label, key in rows:
            r = c[key]
            mb = 2 if key.endswith("ratio") else 0
            lines.append(
                f"| {size['devices']} | {label} | {_fmt(r['wall_s'])} | {_fmt(r['cpu_s'])} | "
                f"{_fmt(r['requests'])} | {_fmt(r['cpu_ms_per_request'])} | {_fmt(r['peak_rss_mb'], mb)} |"
            )
    notes = [_rounds_note(size["devices"], size["sdk_vs_plan"]) for size in sizes]
    notes = [note for note in notes if note]
    return [*lines, "", *(f"{note}  " for note in notes), *([""] if notes else [])]


def tables(results: dict[str, Any]) -> str:
    lines = []
    cfg = results["config"]
    lines.append(
        f"latency {cfg['latency_ms']} ms, rate limit {cfg['rate_limit']} req/s, "
        f"concurrency {cfg['concurrency']}, seed {cfg['seed']}"
    )
    lines.append("")
    lines.append(
        "| N | run | wall (s) | floor (s) | wall / floor | requests | req / device | 429s | failed | "
        "peak RSS (MB) | reconciler CPU (s) | sim CPU / req (ms) |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in results["sizes"]:
        n = size["devices"]
        for kind in ("plan", "apply"):
            r = size.get(kind)
            if not r:
                continue
            failed = sum(r["failed_requests"].values())
            lines.append(
                f"| {n} | {kind} | {_fmt(r['wall_s'])} | {_fmt(r['floor_s'])} | "
                f"{_fmt(r['ratio_to_floor'])} | "
                f"{r['requests']} | {_fmt(r['requests_per_device'])} | {r['rate_limited_429']} | {failed} | "
                f"{_fmt(r['reconciler_peak_rss_mb'], 0)} | {_fmt(r['reconciler_cpu_s'])} | "
                f"{_fmt(r['sim_cpu_ms_per_request'])} |"
            )
        naive = size.get("naive")
        if naive:
            how = f"extrapolated from {naive['measured_devices']}" if naive["extrapolated"] else "measured"
            lines.append(
                f"| {n} | naive plan ({how}) | {_fmt(naive['wall_s'])} | | | | "
                f"{_fmt(naive['requests_per_device'])} | {naive['rate_limited_429']} | | | | |"
            )
    lines.append("")
    lines += _section(
        results,
        "cpu_stage",
        [
            "N",
            "diff+plan CPU, answers replayed (s)",
            "same, no two answers alike (s)",
            "same through the HTTP client (s)",
            "load+validate CPU (s)",
        ],
        lambda c: [
            _fmt(c["diff_plan_cpu_s"]),
            _fmt(c.get("diff_plan_cpu_all_distinct_s")),
            _fmt(c["with_http_client_cpu_s"]),
            _fmt(c["load_validate_cpu_s"]),
        ],
    )
    lines += sdk_table(results)
    lines += _section(
        results,
        "apply",
        ["N", "apply: settings PUTs", "applyChanges calls", "jobs started", "requests by group"],
        lambda a: [
            str(a["settings_writes"]),
            str(a["apply_changes_calls"]),
            json.dumps(a["jobs"]),
            json.dumps(a["by_route_group"]),
        ],
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate-limit", type=float, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--measure",
        nargs="+",
        choices=["plan", "apply", "naive", "cpu", "sdk"],
        default=["plan", "apply", "naive", "cpu", "sdk"],
    )
    parser.add_argument(
        "--sdk-python",
        help="Python of a separate environment with wxc_sdk installed, for --measure sdk "
        "(benchmarks/sdk_baseline.py; never a dependency of reconciler); by default one is made "
        "under --cache (venv-sdk) on first use",
    )
    parser.add_argument(
        "--naive-full", type=int, default=1000, help="naive baseline measured in full up to N"
    )
    parser.add_argument("--naive-sample", type=int, default=300, help="devices measured above --naive-full")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the CPU stage (the least is kept)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="--measure sdk: rounds of the SDK script then reconciler plan on one simulator; the "
        "round with the median CPU ratio is shown (every round's ratio is kept)",
    )
    parser.add_argument("--cache", type=Path, default=harness.CACHE)
    parser.add_argument(
        "--json", type=Path, default=Path(__file__).resolve().parent / "results" / "latest.json"
    )
    parser.add_argument("--work", type=Path, help="where to keep manifests and logs (default: a temp dir)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results: dict[str, Any] = {
        "config": {
            "latency_ms": args.latency_ms,
            "rate_limit": args.rate_limit,
            "concurrency": args.concurrency,
            "seed": args.seed,
            "command": " ".join(
                ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
            ),
        },
        "machine": harness.machine(),
        "load_average_start": load_average(),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        work = args.work or Path(tmp)
        for n in args.devices:
            results["sizes"].append(run_size(n, args, work, say))
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    results["load_average_end"] = load_average()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(tables(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
