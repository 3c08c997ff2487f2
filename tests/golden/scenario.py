"""The story the golden files pin, told through the command line on an embedded simulator.

A fresh demo org (``--simulate`` with a new state file) and a copy of ``examples/``: plan it in
every format, apply it (text and JSON), then change one phone's backlight out of band and report
the drift in every format. What varies from run to run is masked: the tool's version, tracking
and job ids, the temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import main

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
DRIFTED_MAC = "0A1B2C3D4E01"
STDERR_MARK = "----- stderr"
EXIT_MARK = "----- exit code"

# name -> (the command line after the path, whether it runs after the apply and the drift)
CASES: dict[str, tuple[str, ...]] = {
    "plan.txt": ("plan", "examples"),
    "plan.md": ("plan", "examples", "--format", "markdown"),
    "plan.json": ("plan", "examples", "--format", "json"),
}


@contextmanager
def _workspace() -> Iterator[Path]:
    """A temporary working directory holding a copy of the examples (no CI files)."""
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="reconciler-golden-") as tmp:
        where = Path(tmp)
        shutil.copytree(EXAMPLES, where / "examples", ignore=shutil.ignore_patterns("github-workflows"))
        os.chdir(where)
        try:
            yield where
        finally:
            os.chdir(old)


def _cli(*args: str) -> str:
    """What one command prints, run with the embedded simulator of ``sim-state.json``: stdout,
    then stderr (warnings, progress lines) under a marker when there is any, and the exit code."""
    argv = [*args, "--simulate", "--sim-state", "sim-state.json", "--concurrency", "1"]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    text = result.stdout
    if result.stderr:
        text += f"{STDERR_MARK}\n{result.stderr}"
    return text + f"{EXIT_MARK} {result.exit_code}\n"


def _sim(method: str, path: str, **kw: Any) -> Any:
    """Act on the simulated org out of band (an admin in Control Hub)."""
    from reconciler.sim.app import create_app

    async def go() -> Any:
        app = create_app(seed="demo", state_file="sim-state.json", job_duration_s=0)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sim/v1",
            headers={"Authorization": "Bearer control-hub"},
        ) as client:
            answer = await client.request(method, path, **kw)
            answer.raise_for_status()
            return answer.json() if answer.content else None

    return asyncio.run(go())


def _change_backlight(mac: str, value: str) -> None:
    device = _sim("GET", "/devices", params={"mac": mac})["items"][0]["callingDeviceId"]
    path = f"/telephony/config/devices/{device}/settings"
    live = _sim("GET", path)
    live["customizations"]["mpp"]["backlightTimer"] = value
    _sim("PUT", path, json={"customEnabled": live["customEnabled"], "customizations": live["customizations"]})


_MASKS = (
    (re.compile(r"RECONCILER_[0-9a-f]{32}-\d+_\d+"), "<trackingId>"),
    (re.compile(r'("trackingId": )"[^"]*"'), r'\1"<trackingId>"'),
    (re.compile(r'("jobId": )"[^"]*"'), r'\1"<jobId>"'),
)


def mask(text: str, workspace: Path) -> str:
    """The output with what differs between runs replaced by a placeholder."""
    text = text.replace(str(workspace), "<tmp>").replace(__version__, "<version>")
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text


def outputs() -> dict[str, str]:
    """Every golden file's expected content, produced afresh."""
    found: dict[str, str] = {}
    with _workspace() as where:
        for name, argv in CASES.items():
            found[name] = _cli(*argv)
        found["apply.txt"] = _cli("apply", "examples", "--auto-approve", "--log", "apply-log.jsonl")
        found["replan.txt"] = _cli("plan", "examples")
        _change_backlight(DRIFTED_MAC, "ONE_MIN")
        found["drift.txt"] = _cli("drift", "examples")
        found["drift.md"] = _cli("drift", "examples", "--format", "markdown")
        found["drift.json"] = _cli("drift", "examples", "--format", "json")
        found["apply.json"] = _cli(
            "apply", "examples", "--auto-approve", "--format", "json", "--log", "apply-log.jsonl"
        )
        return {name: mask(text, where) for name, text in found.items()}


def check_json(found: dict[str, str]) -> None:
    """The JSON files parse (a golden file is also a sample of the documented format)."""
    for name, text in found.items():
        if name.endswith(".json"):
            json.loads(text.split(STDERR_MARK)[0].split(EXIT_MARK)[0])
