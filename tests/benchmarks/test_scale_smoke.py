"""``benchmarks/scale.py`` end to end on a tiny generated org, without its picture (no
matplotlib: the ``bench`` extra is not needed by the tests). No timing assertions: the numbers
belong in docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scale  # noqa: E402

DEVICES = 40  # two locations


def test_every_step_at_one_size_merged_into_the_json(tmp_path: Path) -> None:
    out, png = tmp_path / "scale.json", tmp_path / "scale.png"
    out.write_text(json.dumps({"sizes": {"7": {"devices": 7, "export": {"cpu_s": 1.0}}}}), encoding="utf-8")
    args = ["--devices", str(DEVICES), "--json", str(out), "--png", str(png), "--no-png"]
    assert scale.main([*args, "--latency-ms", "5", "--rate-limit", "1000", "--concurrency", "4"]) == 0
    sizes = json.loads(out.read_text(encoding="utf-8"))["sizes"]
    assert sorted(sizes) == [str(DEVICES), "7"]  # an earlier size is kept
    row = sizes[str(DEVICES)]
    assert row["export"]["files"] > DEVICES and row["export"]["requests"] > DEVICES
    assert row["validate"]["cpu_s"] > 0 and row["validate"]["peak_rss_mb"] > 0
    # a zero-change plan: up to members, layout and settings of each device, and a few listings
    assert row["plan"]["exit_code"] == 0 and 2 * DEVICES < row["plan"]["requests"] < 4 * DEVICES
    assert row["plan"]["cpu_ms_per_request"] > 0
    steps = row["changed_only"]["steps_for_the_device"]
    (device,) = {a.partition(".")[0] for a in steps}
    assert device.startswith("Device/") and f"{device}.settings" in steps
    assert row["changed_only"]["requests"] < DEVICES  # the one device, not the org
    assert row["apply"]["settings_writes"] == DEVICES and row["apply"]["pending_devices"] == 0
    assert row["bound_plan"]["exit_code"] == 0 and row["bound_plan"]["floor_s"] > 0
    assert not png.exists()
    assert row["plan"]["command"].startswith("python benchmarks/scale.py --devices 40 ")


def test_table_of_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scale.json"
    plan = {
        "requests": 2100,
        "reconciler_cpu_s": 1.06,
        "cpu_ms_per_request": 0.504,
        "reconciler_peak_rss_mb": 59.5,
    }
    bound = {"wall_s": 7.31, "floor_s": 7.03, "ratio_to_floor": 1.04}
    sizes = {"1000": {"devices": 1000, "export": {"cpu_s": 1.71}, "plan": plan, "bound_plan": bound}}
    out.write_text(json.dumps({"sizes": sizes}), encoding="utf-8")
    assert scale.main(["--table", "--json", str(out)]) == 0
    head, rule, row = capsys.readouterr().out.splitlines()
    assert head.count("|") == rule.count("|") == row.count("|") == 11
    assert row.startswith("| 1,000 | 1.7 | ") and "| 2,100 | 1.1 | 0.504 | 60 |" in row
    assert row.endswith("| 7.3 / 7.0 (1.040x) |")


def test_the_rate_bound_plan_alone_has_its_parse_cache_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--measure bound`` on its own measures the same plan as ``plan`` does (parse cache warm),
    not a first load of every manifest (at 100,000 devices: 30 s of parsing before the first
    request, and the parse's memory taken for the plan's)."""
    runs: list[tuple[str, bool]] = []
    real = scale._run

    def spy(args: list[str], work: Path, sim: object, cache: Path | str) -> object:
        runs.append((args[0], Path(cache).exists()))  # the command, and whether its cache was there
        return real(args, work, sim, cache)  # type: ignore[arg-type]

    monkeypatch.setattr(scale, "_run", spy)
    out = tmp_path / "scale.json"
    args = ["--devices", str(DEVICES), "--json", str(out), "--no-png", "--measure", "bound"]
    assert scale.main([*args, "--latency-ms", "5", "--rate-limit", "1000", "--concurrency", "4"]) == 0
    assert [command for command, _ in runs] == ["export", "validate", "plan"]
    assert runs[-1] == ("plan", True)
    row = json.loads(out.read_text(encoding="utf-8"))["sizes"][str(DEVICES)]
    assert row["bound_plan"]["exit_code"] == 0 and "plan" not in row and "validate" not in row
