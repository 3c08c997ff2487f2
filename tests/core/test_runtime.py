"""The console script tunes the garbage collector for a run; the CLI called as a library does not."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from types import FunctionType

import pytest

from reconciler import runtime
from reconciler.flows.connect import Connection, connect, run
from reconciler.flows.make import make_plan
from reconciler.model import Resource
from reconciler.sim.app import create_app
from reconciler.validation.validate import validate_paths

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import atexit, gc, json, sys
from reconciler import runtime
from reconciler.cli import console
out = {"default": gc.get_threshold()}
runtime.settle()
out["frozen_untuned"] = gc.get_freeze_count()
sys.argv = ["reconciler", "validate", sys.argv[1]]

def report():  # the console script ends the process itself (runtime.leave), after exit handlers
    out["tuned"] = gc.get_threshold()
    runtime.settle()
    out["frozen_tuned"] = gc.get_freeze_count()
    print(json.dumps(out))

atexit.register(report)
console()
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
    assert tuple(out["default"]) != runtime.THRESHOLDS
    assert out["frozen_untuned"] == 0  # the library use: nothing frozen
    assert tuple(out["tuned"]) == runtime.THRESHOLDS
    assert out["frozen_tuned"] > 0


def test_the_console_script_ends_with_its_exit_code_and_all_its_output() -> None:
    """``runtime.leave`` skips the interpreter's teardown, not the exit code, the output or the
    exit handlers."""
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "validate", str(ROOT / "tests" / "manifests" / "invalid")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.rstrip().splitlines()[-1].endswith("errors")  # the summary, last, whole
    assert done.stdout.count("\n") > 20


def test_loading_and_planning_leave_no_cycles_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """What is alive after loading is frozen (``runtime.settle``): a reference cycle left by
    loading or planning would never be freed, and with it what it holds (a closure calling itself,
    a function and its cell, held every resource it was made for: ``plan --baseline`` kept both
    sets of manifests). Reference counting alone must free what they made."""
    monkeypatch.setenv("RECONCILER_PARSE_CACHE", "off")  # every file parsed and checked
    app = create_app(seed="demo")
    paths = [str(ROOT / "examples")]

    async def plan() -> None:
        async with connect(Connection(sim_app=app, concurrency=4)) as client:
            await make_plan(client, paths)

    run(plan())  # imports, and what is made once per process
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        loaded = validate_paths(paths)
        run(plan())
        del loaded
        gc.collect()
        ours = [
            o for o in gc.garbage if isinstance(o, FunctionType) and o.__module__.startswith("reconciler")
        ]
        resources = sum(1 for o in gc.garbage if isinstance(o, Resource))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert [f.__qualname__ for f in ours] == []
    assert resources == 0


def test_what_a_tuned_load_made_is_frozen_before_the_collector_runs_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collector is off while manifests load; when it is on again, its first pass must not walk
    everything the load made (all of it lives on): that is frozen first."""
    monkeypatch.setattr(runtime, "_tuned", True)
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    was_frozen = gc.get_freeze_count()
    gc.callbacks.append(seen)
    try:
        with runtime.loading():
            assert not gc.isenabled()
            made = [[i] for i in range(50_000)]  # long-lived containers, as a load makes
        assert gc.isenabled()
        assert gc.get_freeze_count() >= was_frozen + len(made)
        assert gc.get_count()[0] < 1_000  # nothing young left to walk
        after = [[i] for i in range(10)]
        assert collections == [] and after
    finally:
        gc.callbacks.remove(seen)
        gc.unfreeze()


def test_a_later_load_freezes_no_garbage_the_run_left_in_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apply`` may load again after it sent requests: what the run left in cycles by then is
    freed before the new load is frozen, not kept for the rest of the process."""
    import weakref

    class Node:
        pass

    monkeypatch.setattr(runtime, "_tuned", True)
    monkeypatch.setattr(runtime, "_loads", 0)
    try:
        with runtime.loading():
            pass
        node = Node()
        node.me = node  # type: ignore[attr-defined]  # a cycle only the collector frees
        gone = weakref.ref(node)
        del node
        with runtime.loading():
            pass
        assert gone() is None
    finally:
        gc.unfreeze()
