"""The demo plan end to end: readable text, --verbose, JSON fields, and progress only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import Result

from tests.e2e.conftest import EXAMPLES

Cli = Callable[..., Result]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def test_demo_plan_fits_100_columns_and_names_objects(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    # Only the manifest's file:line (a user-provided path) may be longer.
    long = [line for line in lines if len(line) > 100 and not line.startswith("      # ")]
    assert long == []
    assert "/telephony/" not in r.output  # no API paths without --verbose
    assert "  ~ Device 0A:1B:2C:3D:4E:02 (Cisco 8865, bob@example.com): device members" in r.output
    assert "      ~ members[port 1].lineWeight: 1 -> 2" in r.output
    assert '  ~ LineKeyTemplate "Sales 8851": line key template for DMS Cisco 8851' in r.output
    assert '  * Location "Headquarters" device settings: location device settings (job)' in r.output
    summary = "Plan: 2 to create, 13 to update, 0 to delete; 5 jobs touching 12 devices, 1 location, the org."
    assert summary in lines


def test_verbose_plan_shows_each_api_call(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--verbose")
    assert r.exit_code == 0, r.output
    calls = [line.strip() for line in r.output.splitlines() if re.match(r"\s+(PUT|POST|DELETE) /", line)]
    steps = [line for line in r.output.splitlines() if re.match(r"  [-+~*>] ", line)]
    assert len(calls) == len(steps) > 10
    assert "POST /telephony/config/jobs/devices/callDeviceSettings" in calls


def test_json_plan_carries_titles_calls_and_object_names(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--format", "json")
    doc = json.loads(r.output)
    schema = json.loads((EXAMPLES.parent / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(doc, schema)
    titles = {s["title"] for s in doc["steps"]}
    assert "Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)" in titles
    assert all(s["method"] and s["path"].startswith("/") for s in doc["steps"])
    assert "Device 0A:1B:2C:3D:4E:03 (Cisco 8845, carol@example.com)" in doc["objects"].values()


def _in_pty(args: list[str], cwd: Path) -> tuple[int, bytes, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout to a pipe: (exit code, terminal, stdout)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    stdout = cwd / "stdout.txt"  # a file, not a pipe: a large plan would fill a pipe nobody reads yet
    with stdout.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", *args],
            stdout=fh,
            stderr=slave,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
        )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    code = proc.wait(timeout=120)
    return code, seen, stdout.read_text()


def test_progress_on_a_terminal_never_in_machine_output(tmp_path: Path) -> None:
    state = str(tmp_path / "sim.json")
    code, terminal, out = _in_pty(
        ["plan", str(EXAMPLES), "--simulate", "--sim-state", state, "--format", "json"], tmp_path
    )
    assert code == 0
    shown = ANSI.sub(b"", terminal).decode(errors="replace")
    for phase in ("loading manifests", "looking up devices", "reading live state"):
        assert phase in shown, shown
    assert re.search(r"\d+/20", shown), shown  # reads done / total
    json.loads(out)  # stdout: the JSON alone
    assert "\x1b" not in out

    code, terminal, out = _in_pty(
        ["apply", str(EXAMPLES), "--simulate", "--sim-state", state, "--auto-approve"], tmp_path
    )
    assert code == 0, out
    shown = ANSI.sub(b"", terminal).decode(errors="replace")
    for phase in ("applying steps", "callDeviceSettings job of", "verifying that live state converged"):
        assert phase in shown, shown
    assert "Converged" in out and "\x1b" not in out


@pytest.mark.parametrize("quiet", [True, False])
def test_no_progress_with_quiet_or_without_a_terminal(tmp_path: Path, cli: Cli, quiet: bool) -> None:
    if quiet:
        state = str(tmp_path / "sim.json")
        code, terminal, _ = _in_pty(
            ["plan", str(EXAMPLES), "--simulate", "--sim-state", state, "-q"], tmp_path
        )
        assert code == 0 and b"reading live state" not in terminal and b"\x1b[" not in terminal
    else:  # CliRunner: stderr is no terminal
        r = cli("apply", str(EXAMPLES), "--auto-approve")
        assert r.exit_code == 0
        assert "reading live state" not in r.stderr and "\x1b[" not in r.stderr
        assert "\x1b[" not in r.stdout
