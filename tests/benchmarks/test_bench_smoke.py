"""The benchmark harness works end to end on a tiny org (no timing assertions: numbers belong in
docs/benchmarks.md). One simulator subprocess, 30 devices, no latency, no rate limit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness, run  # noqa: E402

DEVICES = 30
SEED = 7


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    exported = harness.export_org(SEED, DEVICES, concurrency=8, cache=tmp / "cache")
    plan_repo, change_repo, count = harness.prepare_repos(exported, tmp / "repos")
    assert count == DEVICES
    return tmp, plan_repo, change_repo


def test_plan_apply_and_naive_against_a_simulator_subprocess(repos: tuple[Path, Path, Path]) -> None:
    tmp, plan_repo, change_repo = repos
    with harness.sim_server(SEED, DEVICES) as sim:
        plan = harness.measure_plan(sim, plan_repo, concurrency=8, work=tmp / "plan")
        sim.reset()
        naive = harness.naive_plan(sim.base_url, plan_repo, devices=DEVICES, sample=10)
        apply = harness.measure_apply(sim, change_repo, concurrency=8, work=tmp / "apply")
        floor = harness.measure_floor(sim, concurrency=8, work=tmp / "floor")
    assert plan["exit_code"] == 0 and plan["failed_requests"] == {}
    assert 0 < plan["requests_per_device"] <= 3 + 20 / DEVICES
    assert plan["reconciler_peak_rss_mb"] > 0 and plan["floor_s"] == 0
    assert apply["settings_writes"] == DEVICES, apply
    assert apply["jobs"].get("rebuildPhones", 0) + apply["apply_changes_calls"] > 0
    assert apply["pending_devices"] == 0  # every changed device was pushed
    assert naive.extrapolated and naive.measured == 10 and naive.requests == 40 and naive.changes == 0
    # the bare-aiohttp floor: the SDK script's reads (listing, members, layout but for ATAs, settings)
    script = floor["script"]
    assert floor["exit_code"] == 0 and floor["failed_requests"] == {}
    assert script["requests"] == floor["requests"] and 2 * DEVICES < floor["requests"] <= 3 * DEVICES + 1
    assert 0 < script["reads_cpu_s"] <= script["process_cpu_s"]


def test_cpu_stage_replays_recorded_answers(repos: tuple[Path, Path, Path]) -> None:
    _tmp, plan_repo, _change = repos
    out = harness.cpu_stage(SEED, DEVICES, plan_repo, concurrency=8)
    assert out["answers_recorded"] >= 2 * DEVICES
    assert out["diff_plan_cpu_s"] >= 0 and out["with_http_client_cpu_s"] >= 0
    assert out["diff_plan_cpu_all_distinct_s"] >= 0


def test_floor_and_tables() -> None:
    assert harness.floor_s(3000, 300, 50, 32) == pytest.approx(10.0)
    assert harness.floor_s(3000, None, 50, 10) == pytest.approx(15.0)
    row = {
        "wall_s": 12.0,
        "floor_s": 10.0,
        "ratio_to_floor": 1.2,
        "requests": 3000,
        "requests_per_device": 3.0,
        "rate_limited_429": 2,
        "failed_requests": {},
        "reconciler_peak_rss_mb": 60.0,
        "reconciler_cpu_s": 5.0,
        "sim_cpu_ms_per_request": 1.0,
    }
    results = {
        "config": {"latency_ms": 50, "rate_limit": 300, "concurrency": 32, "seed": 1},
        "sizes": [{"devices": 1000, "plan": row}],
    }
    text = run.tables(results)
    assert "| 1000 | plan | 12.00 | 10.00 | 1.20 |" in text


def test_sdk_comparison_table() -> None:
    plan = {"wall_s": 12.0, "requests": 3000, "reconciler_cpu_s": 6.0, "reconciler_peak_rss_mb": 60.0}
    sdk = {"wall_s": 24.0, "requests": 3000, "reconciler_cpu_s": 12.0, "reconciler_peak_rss_mb": 120.0}
    c = harness.compare(plan, sdk)
    assert c["plan"]["cpu_ms_per_request"] == 2.0 and c["sdk"]["cpu_ms_per_request"] == 4.0
    assert c["ratio"] == {
        "wall_s": 0.5,
        "cpu_s": 0.5,
        "requests": 1.0,
        "cpu_ms_per_request": 0.5,
        "peak_rss_mb": 0.5,
    }
    text = "\n".join(run.sdk_table({"sizes": [{"devices": 1000, "sdk_vs_plan": c}]}))
    assert "| 1000 | reconciler plan | 12.00 | 6.00 | 3000 | 2.00 | 60 |" in text
    assert "| 1000 | wxc_sdk reads | 24.00 | 12.00 | 3000 | 4.00 | 120 |" in text
    assert "| 1000 | ratio | 0.50 | 0.50 | 1.00 | 0.50 | 0.50 |" in text
    assert run.sdk_table({"sizes": [{"devices": 1000}]}) == []


def test_sdk_comparison_with_the_aiohttp_floor() -> None:
    plan = {"wall_s": 12.0, "requests": 2000, "reconciler_cpu_s": 6.0, "reconciler_peak_rss_mb": 60.0}
    sdk = {"wall_s": 24.0, "requests": 3000, "reconciler_cpu_s": 12.0, "reconciler_peak_rss_mb": 120.0}
    floor = {"wall_s": 20.0, "requests": 3000, "reconciler_cpu_s": 4.8, "reconciler_peak_rss_mb": 30.0}
    c = harness.compare(plan, sdk, floor)
    assert c["floor"]["cpu_ms_per_request"] == 1.6
    assert c["floor_ratio"]["cpu_s"] == 0.4 and c["floor_ratio"]["requests"] == 1.0
    text = "\n".join(run.sdk_table({"sizes": [{"devices": 1000, "sdk_vs_plan": c}]}))
    assert "| 1000 | ratio | 0.50 | 0.50 | 0.67 | 0.75 | 0.50 |" in text
    assert "| 1000 | bare aiohttp (the floor) | 20.00 | 4.80 | 3000 | 1.60 | 30 |" in text
    assert "| 1000 | floor / SDK | 0.83 | 0.40 | 1.00 | 0.40 | 0.25 |" in text


def test_sdk_rounds_show_the_median_round() -> None:
    def run_of(cpu: float) -> dict[str, float]:
        return {"wall_s": cpu, "requests": 1000, "reconciler_cpu_s": cpu, "reconciler_peak_rss_mb": 50.0}

    pairs = [(run_of(7.0), run_of(10.0)), (run_of(5.0), run_of(10.0)), (run_of(6.0), run_of(12.0))]
    c = harness.compare_rounds(pairs)
    assert c["round_ratios"] == [0.7, 0.5, 0.5] and c["rounds"] == 3
    assert c["chosen_round"] in (1, 2) and c["ratio"]["cpu_s"] == 0.5
    assert harness.compare_rounds(pairs[:2])["chosen_round"] == 1  # the lower median of two
    text = "\n".join(run.sdk_table({"sizes": [{"devices": 1000, "sdk_vs_plan": c}]}))
    assert "CPU ratio by round 0.70, 0.50, 0.50" in text
    with pytest.raises(ValueError):
        harness.compare_rounds([])
