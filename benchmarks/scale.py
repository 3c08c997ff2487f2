"""Scaling to the largest orgs: export, validate, plan, changed-only plan and apply at 1,000 to
100,000 devices, with time, CPU and memory drawn against the number of devices.

Run from the repository root (the picture needs the ``bench`` extra: ``pip install -e .[bench]``;
``--no-png`` runs without it)::

    python benchmarks/scale.py --devices 1000 10000 50000 100000
    python benchmarks/scale.py --plot-only          # redraw the picture from the JSON
    python benchmarks/scale.py --table              # the Markdown table of docs/benchmarks.md

For each size N, against ``reconciler sim serve --seed 1 --devices N`` (no latency, no rate limit:
every figure but the rate-bound plan is the reconciler's own work), each command in a subprocess
(wall, CPU = user + system from ``os.wait4``, peak RSS = ``VmHWM`` from ``/proc``):

1. ``export``: ``reconciler export --kind LineKeyTemplate --kind Device --kind
   LocationDeviceSettings --kind OrgDeviceSettings`` of the whole org into an empty directory.
2. the repos of ``benchmarks/run.py`` are made from that export (``harness.prepare_repos``): a
   zero-change one and one that changes the settings of every device.
3. ``validate``: ``reconciler validate`` of the zero-change repo with an empty parse cache (the run
   that fills it).
4. ``plan``: ``reconciler plan --detailed-exitcode`` of the zero-change repo (exit 0 checked), the
   parse cache warm from step 3; requests served by the simulator, CPU per request.
5. ``changed-only``: a fresh checkout (``base/manifests`` = the zero-change repo, ``manifests`` =
   the same with one device's settings changed) and an empty parse cache: ``reconciler plan
   manifests --baseline base --changed-only`` must show that device's settings step.
6. ``apply``: ``reconciler apply --auto-approve --force`` of the change repo (every device's
   settings written, pushed, verified: ``Converged`` checked). Skipped above ``--apply-max``.
7. ``bound``: the zero-change plan again against a fresh simulator with ``--latency-ms`` and
   ``--rate-limit`` (50 ms, 300 requests/s), and its floor ``max(R / rate, R x latency / slots)``;
   its parse cache warm as in step 4 (an untimed ``validate`` fills it when step 3 did not run).

Results are merged by size into ``--json`` (runs of different sizes add up); the picture
(``--png``) shows CPU, wall time (the rate-bound plan beside its floor) and peak memory against N.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from benchmarks.run import load_average

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
PNG = harness.ROOT / "docs" / "scale.png"
STEPS = ("export", "validate", "plan", "changed", "apply", "bound")


def _run(args: list[str], work: Path, sim: harness.SimServer | None, cache: Path | str) -> harness.RunResult:
    """One CLI command with its own parse cache file (``cache``; "off" for none)."""
    os.environ["RECONCILER_PARSE_CACHE"] = str(cache)
    try:
        return harness.run_cli(args, cwd=work, base_url=sim.base_url if sim else None, timeout=7200)
    finally:
        del os.environ["RECONCILER_PARSE_CACHE"]


def _figures(r: harness.RunResult) -> dict[str, Any]:
    return {"wall_s": round(r.wall_s, 2), "cpu_s": round(r.cpu_s, 2), "peak_rss_mb": round(r.max_rss_mb, 1)}


def _check(r: harness.RunResult, what: str, codes: tuple[int, ...] = (0,)) -> None:
    if r.exit_code not in codes:
        raise RuntimeError(f"{what} exited {r.exit_code}: {r.stderr[-3000:]}{r.stdout[-3000:]}")


def measure_export(sim: harness.SimServer, work: Path, concurrency: int) -> tuple[dict[str, Any], Path]:
    out = work / "export"
    args = ["export", "--out", str(out), "--concurrency", str(concurrency)]
    for kind in harness.EXPORT_KINDS:
        args += ["--kind", kind]
    sim.reset()
    r = _run(args, work / "run-export", sim, "off")
    _check(r, "export")
    stats = sim.stats()
    requests = int(stats["requests_total"]) - int(stats["rate_limited_total"])
    files = sum(1 for _ in out.rglob("*.yaml"))
    return {**_figures(r), "requests": requests, "files": files}, out


def measure_validate(repo: Path, work: Path, cache: Path) -> dict[str, Any]:
    cache.unlink(missing_ok=True)
    r = _run(["validate", str(repo)], work / "run-validate", None, cache)
    _check(r, "validate")
    return _figures(r)


def measure_plan(
    sim: harness.SimServer, repo: Path, work: Path, cache: Path, concurrency: int
) -> dict[str, Any]:
    sim.reset()
    cpu0 = sim.cpu_seconds()
    r = _run(
        ["plan", str(repo), "--detailed-exitcode", "--concurrency", str(concurrency)],
        work / "run-plan",
        sim,
        cache,
    )
    cpu1 = sim.cpu_seconds()
    _check(r, "plan")
    stats = sim.stats()
    sim_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    out = harness._summary(
        "plan", r, stats, sim_cpu, sim.devices, sim.latency_ms, sim.rate_limit, concurrency
    )
    out.pop("by_route")
    out["cpu_ms_per_request"] = round(r.cpu_s * 1000 / out["requests"], 3)
    return out


def measure_changed(
    sim: harness.SimServer, repo: Path, change: Path, work: Path, concurrency: int
) -> dict[str, Any]:
    checkout = work / "checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    shutil.copytree(repo, checkout / "base" / "manifests")
    shutil.copytree(repo, checkout / "manifests")
    devices = sorted(change.glob(harness.DEVICE_GLOB))
    device = devices[len(devices) // 2]
    shutil.copy(device, checkout / "manifests" / device.relative_to(change))
    address = f"Device/{device.stem}"
    sim.reset()
    args = ["plan", "manifests", "--baseline", "base", "--changed-only", "--format", "json"]
    r = _run([*args, "--concurrency", str(concurrency)], checkout, sim, checkout / "parse-cache.bin")
    _check(r, "changed-only plan", (0, 2))
    stats = sim.stats()
    mine = [s["address"] for s in json.loads(r.stdout)["steps"] if s["resource"] == address]
    if not mine:
        raise RuntimeError(f"changed-only plan: no step for {address}")
    shutil.rmtree(checkout, ignore_errors=True)
    requests = int(stats["requests_total"]) - int(stats["rate_limited_total"])
    return {**_figures(r), "requests": requests, "steps_for_the_device": mine}


def measure_apply(sim: harness.SimServer, change: Path, work: Path, concurrency: int) -> dict[str, Any]:
    os.environ["RECONCILER_PARSE_CACHE"] = str(work / "parse-cache-apply.bin")
    try:
        out = harness.measure_apply(sim, change, concurrency=concurrency, work=work / "run-apply")
    finally:
        del os.environ["RECONCILER_PARSE_CACHE"]
    out.pop("by_route")
    out["cpu_ms_per_request"] = round(out["reconciler_cpu_s"] * 1000 / out["requests"], 3)
    return out


def run_size(n: int, args: argparse.Namespace, work: Path, say: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": n, "load_average_start": load_average()}
    cache = work / "parse-cache.bin"
    with harness.sim_server(args.seed, n, log=work / "sim.log", startup_timeout=600) as sim:
        say(f"[{n}] export")
        out["export"], exported = measure_export(sim, work, args.concurrency)
        say(f"[{n}] export {out['export']}")
        repo, change, _ = harness.prepare_repos(exported, work / "repos")
        shutil.rmtree(exported)
        if "validate" in args.measure:
            out["validate"] = measure_validate(repo, work, cache)
            say(f"[{n}] validate {out['validate']}")
        if "plan" in args.measure:
            out["plan"] = measure_plan(sim, repo, work, cache, args.concurrency)
            plan = out["plan"]
            say(f"[{n}] plan {plan['reconciler_cpu_s']} s CPU, {plan['reconciler_peak_rss_mb']} MB")
        if "changed" in args.measure:
            out["changed_only"] = measure_changed(sim, repo, change, work, args.concurrency)
            say(f"[{n}] changed-only {out['changed_only']}")
        if "apply" in args.measure and n <= args.apply_max:
            out["apply"] = measure_apply(sim, change, work, args.concurrency)
            say(f"[{n}] apply {out['apply']['reconciler_cpu_s']} s CPU, {out['apply']['wall_s']} s")
    if "bound" in args.measure:
        if not cache.exists():  # the plan again, as above: with its parse cache warm (untimed)
            _check(_run(["validate", str(repo)], work / "run-warm", None, cache), "validate (warm-up)")
        kw = {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit}
        with harness.sim_server(args.seed, n, log=work / "sim.log", startup_timeout=600, **kw) as sim:
            out["bound_plan"] = measure_plan(sim, repo, work, cache, args.concurrency)
            bound = out["bound_plan"]
            say(f"[{n}] bound plan {bound['wall_s']} s for a floor of {bound['floor_s']}")
    out["load_average_end"] = load_average()
    return out


def _series(sizes: list[dict[str, Any]], step: str, key: str) -> tuple[list[int], list[float]]:
    pts = [(s["devices"], s[step][key]) for s in sizes if step in s and s[step].get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot(results: dict[str, Any], png: Path) -> None:
    """Time, CPU and memory against devices (matplotlib, the ``bench`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results["sizes"].values(), key=lambda s: s["devices"])
    fig, (cpu, wall, mem) = plt.subplots(1, 3, figsize=(15, 4.6))
    names = {
        "export": "export",
        "validate": "validate (empty cache)",
        "plan": "plan (zero change)",
        "changed_only": "changed-only plan of 1",
        "apply": "apply (every device)",
    }
    cpu_key = {"plan": "reconciler_cpu_s", "apply": "reconciler_cpu_s"}
    rss_key = {"plan": "reconciler_peak_rss_mb", "apply": "reconciler_peak_rss_mb"}
    color = {step: f"C{i}" for i, step in enumerate(names)}  # one colour per step in every panel
    for step, label in names.items():
        used = _series(sizes, step, cpu_key.get(step, "cpu_s"))
        cpu.plot(*used, marker="o", color=color[step], label=label)
        rss = _series(sizes, step, rss_key.get(step, "peak_rss_mb"))
        mem.plot(*rss, marker="o", color=color[step], label=label)
    bound = "plan, 50 ms, 300 req/s"
    wall.plot(*_series(sizes, "bound_plan", "wall_s"), marker="s", color="C5", label=bound)
    cpu.plot(*_series(sizes, "bound_plan", "reconciler_cpu_s"), marker="s", color="C5", label=bound)
    mem.plot(*_series(sizes, "bound_plan", "reconciler_peak_rss_mb"), marker="s", color="C5", label=bound)
    wall.plot(*_series(sizes, "bound_plan", "floor_s"), linestyle="--", color="grey", label="its floor")
    for step in ("export", "plan", "apply"):
        label = f"{names[step]}, no latency"
        wall.plot(*_series(sizes, step, "wall_s"), marker="o", color=color[step], label=label)
    mem.axhline(1000, color="red", linewidth=0.8, linestyle=":", label="plan target (1 GB)")
    for ax, title, unit in (
        (cpu, "CPU (user + system)", "s"),
        (wall, "wall time", "s"),
        (mem, "peak RSS", "MiB"),
    ):
        ax.set_title(title)
        ax.set_xlabel("devices")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.ticklabel_format(style="plain", axis="x")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


def _cell(size: dict[str, Any], step: str, key: str, fmt: str = "{:.1f}") -> str:
    value = size.get(step, {}).get(key)
    return "" if value is None else fmt.format(value)


def table(results: dict[str, Any]) -> str:
    """The results as the Markdown table of docs/benchmarks.md."""
    head = (
        "| devices | export CPU (s) | validate, empty cache: wall (s) / peak (MiB) | plan: requests"
        " | plan CPU (s) | CPU / request (ms) | plan peak RSS (MiB) | changed-only of 1: wall (s) / peak"
        " | apply: wall (s) / CPU (s) / peak (MiB) | rate-bound plan: wall / floor (s) |"
    )
    rows = [head, "|" + " ---: |" * 10]
    for s in sorted(results["sizes"].values(), key=lambda s: s["devices"]):
        bound = s.get("bound_plan", {})
        ratio = f" ({bound['ratio_to_floor']:.3f}x)" if bound.get("ratio_to_floor") else ""
        apply = "/".join(
            _cell(s, "apply", k, "{:.0f}") for k in ("wall_s", "reconciler_cpu_s", "reconciler_peak_rss_mb")
        )
        cells = [
            f"{s['devices']:,}",
            _cell(s, "export", "cpu_s"),
            f"{_cell(s, 'validate', 'wall_s')} / {_cell(s, 'validate', 'peak_rss_mb', '{:.0f}')}",
            _cell(s, "plan", "requests", "{:,}"),
            _cell(s, "plan", "reconciler_cpu_s"),
            _cell(s, "plan", "cpu_ms_per_request", "{:.3f}"),
            _cell(s, "plan", "reconciler_peak_rss_mb", "{:.0f}"),
            f"{_cell(s, 'changed_only', 'wall_s')} / {_cell(s, 'changed_only', 'peak_rss_mb', '{:.0f}')}",
            apply if "apply" in s else "",
            f"{_cell(s, 'bound_plan', 'wall_s')} / {_cell(s, 'bound_plan', 'floor_s')}{ratio}"
            if bound
            else "",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--measure", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--apply-max", type=int, default=100_000, help="no apply above this size")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate-limit", type=float, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--png", type=Path, default=PNG)
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--table", action="store_true", help="print the Markdown table of the JSON, no run")
    parser.add_argument("--no-png", action="store_true", help="no picture (no matplotlib needed)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)

    results: dict[str, Any] = (
        json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else {"sizes": {}}
    )
    if args.table:
        print(table(results))
        return 0
    if not args.plot_only:
        results["machine"] = harness.machine()
        for n in args.devices:
            with tempfile.TemporaryDirectory(prefix="reconciler-scale-") as tmp:
                size = run_size(n, args, Path(tmp), say)
            command = " ".join(["python", "benchmarks/scale.py", *(argv or sys.argv[1:])])
            for step in size.values():  # each step says which run measured it (runs merge by size)
                if isinstance(step, dict):
                    step["command"] = command
            results["sizes"][str(n)] = {**results["sizes"].get(str(n), {}), **size}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not args.no_png:
        plot(results, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
