"""``benchmarks/sim_scale.py`` end to end on a tiny generated org (no timing assertions: the numbers
belong in docs/benchmarks.md): start-up, memory at start and after a plan's reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import sim_scale  # noqa: E402

DEVICES = 40  # two locations


def test_start_and_memory_before_and_after_a_plans_reads(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    assert sim_scale.main(["--devices", str(DEVICES), "--reads-at", str(DEVICES), "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["sizes"]
    assert row["devices"] == DEVICES and 0 < row["start_s"] <= 30
    assert row["at_start"]["VmRSS"] > 0
    assert row["after_reads"]["VmHWM"] >= row["after_reads"]["VmRSS"] > 0
    # members, layout and settings of every device; the device, location and template listings,
    # the org's settings and each of the two locations' settings
    assert row["requests"] == 3 * DEVICES + 3 + 1 + 2


def test_a_size_without_reads_has_start_and_memory_only(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    assert sim_scale.main(["--devices", "5", "--reads-at", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["sizes"]
    assert row["at_start"]["VmRSS"] > 0 and "after_reads" not in row and "requests" not in row
