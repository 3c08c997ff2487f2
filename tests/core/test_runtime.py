"""The console script tunes the garbage collector for a run; the CLI called as a library does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reconciler import runtime

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
from reconciler import runtime
from reconciler.cli import console
out = {"default": gc.get_threshold()}
runtime.settle()
out["frozen_untuned"] = gc.get_freeze_count()
sys.argv = ["reconciler", "validate", sys.argv[1]]
try:
    console()
except SystemExit as exc:
    out["exit"] = exc.code
out["tuned"] = gc.get_threshold()
runtime.settle()
out["frozen_tuned"] = gc.get_freeze_count()
print(json.dumps(out))
"""


def test_the_console_script_tunes_the_collector_and_settle_freezes_only_then() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "examples")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["exit"] in (0, None), done.stdout
    assert tuple(out["default"]) != runtime.THRESHOLDS
    assert out["frozen_untuned"] == 0  # the library use: nothing frozen
    assert tuple(out["tuned"]) == runtime.THRESHOLDS
    assert out["frozen_tuned"] > 0
