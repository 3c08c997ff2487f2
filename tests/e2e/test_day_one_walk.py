"""The gaps a new user's walk from clone to a pushed change found, each through the CLI: Ctrl-C at
the confirmation prompt, the resume command an interrupted apply prints, read-only commands beside
another API's apply log, and the output a person reads."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.folded import flat

from .conftest import EXAMPLES
from .test_cli_ux import ENV, _free_port, invoke, served
from .test_day_one_interrupts import org, run

__all__ = ["org", "served"]  # fixtures shared with the Ctrl-C and the error tests


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    end = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _exit_within(pid: int, fd: int, seconds: float, seen: list[bytes]) -> int | None:
    """The child's exit code if it ends within ``seconds`` (its terminal drained into ``seen``),
    else None."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        seen.append(_read_until(fd, b"\0never", 0.1))
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
    return None


def test_ctrl_c_at_the_confirmation_prompt_stops_at_once(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "reconciler.cli", "apply", str(EXAMPLES), "--simulate"]
    argv += ["--sim-state", str(tmp_path / "sim.json"), "--log", str(tmp_path / "log.jsonl")]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on a terminal of its own, Ctrl-C as in a shell
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a test runner may block it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(tmp_path)
        os.execve(sys.executable, argv, env)
    code = None
    try:
        shown = _read_until(fd, b"[y/N]", 120)
        assert b"Apply this plan? [y/N]" in shown, shown.decode(errors="replace")
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it
        after: list[bytes] = []
        code = _exit_within(pid, fd, 30, after)  # at once; 30 s only for a loaded machine
        if code is None:
            os.kill(pid, signal.SIGABRT)
            after.append(_read_until(fd, b"\0never", 3))
        assert code == 130, b"".join(after).decode(errors="replace")
    finally:
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert not (tmp_path / "log.jsonl").exists()  # nothing was sent: no apply log was opened


def test_the_printed_resume_command_finishes_an_apply_that_needed_force(
    org: Callable[..., Any], tmp_path: Path
) -> None:
    fault = org("/members", after=1, how="signal", method="PUT")  # while the device writes run
    log = tmp_path / "my-log.jsonl"
    shutil.copytree(EXAMPLES, tmp_path / "repo")
    # more changes than --max-changes allows: only --force lets it run, and only --auto-approve
    # lets it run without a terminal
    args = ["apply", "repo", "--auto-approve", "--force", "--max-changes", "1", "--log", str(log)]
    r = run(*args)
    assert fault.sent == 1 and r.exit_code == 130, r.output
    hints = [line for line in r.stderr.splitlines() if line.startswith("Hint: finish it with: ")]
    assert len(hints) == 1, r.stderr
    printed = hints[0].removeprefix("Hint: finish it with: ")
    assert printed.startswith(f"reconciler apply --resume {log}")
    org()
    done = run(*shlex.split(printed)[1:])  # exactly the printed command, nothing added
    assert done.exit_code == 0, done.output
    assert "Converged" in done.output


def test_plan_and_drift_read_beside_another_apis_apply_log(
    served: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = invoke(
        "apply", str(EXAMPLES), "--auto-approve", "--base-url", f"http://127.0.0.1:{served}/v1", env=ENV
    )
    assert r.exit_code == 0 and Path(".reconciler/apply-log.jsonl").exists(), r.output
    # the same server spelled another way: plan and drift run, and say once that the log is left out
    for command in ("plan", "drift"):
        r = invoke(command, str(EXAMPLES), "--base-url", f"http://localhost:{served}/v1", env=ENV)
        assert r.exit_code == 0, r.output
        warned = [flat(p) for p in r.output.split("\n\n") if "belongs to another API" in p]
        assert warned == [
            f"Warning: apply log .reconciler/apply-log.jsonl belongs to another API "
            f"(http://127.0.0.1:{served}/v1, not http://localhost:{served}/v1): "
            "its pending pushes are not considered"
        ], r.output
    # what is wrong with the connection still shows as such
    port = _free_port()
    r = invoke("plan", str(EXAMPLES), "--base-url", f"http://127.0.0.1:{port}/v1", env=ENV)
    assert r.exit_code == 1 and f"cannot reach 127.0.0.1:{port}" in r.stderr, r.output
    r = invoke("drift", str(EXAMPLES), "--base-url", f"http://127.0.0.1:{served}", env=ENV)
    assert r.exit_code == 1 and "it usually ends in /v1" in r.stderr, r.output
    # apply, which acts on what the log owes, still refuses it
    r = invoke(
        "apply", str(EXAMPLES), "--auto-approve", "--base-url", f"http://localhost:{served}/v1", env=ENV
    )
    assert r.exit_code == 1 and "It is not this run's journal" in r.stderr, r.output


def _too_wide(text: str, width: int) -> list[str]:
    """Lines wider than ``width`` that could break: more than a symbol and one word (a path, a
    quoted value) stays whole."""
    return [line for line in text.splitlines() if len(line) > width and len(line.split()) > 2]


def test_text_folds_to_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "60")
    sim = ("--simulate", "--sim-state", str(tmp_path / "sim.json"))
    r = invoke("export", "-o", "cfg", *sim)
    assert r.exit_code == 0 and "RECONCILER_SECRET_SNMP_GET_COMMUNITY" in r.output, r.output
    assert _too_wide(r.output, 60) == [], r.output
    shown = {}
    for args in (("plan", str(EXAMPLES)), ("drift", str(EXAMPLES)), ("demo",)):
        r = invoke(*args, *(sim if args[0] != "demo" else ()))
        assert r.exit_code in (0, 2), r.output
        assert _too_wide(r.output, 60) == [], r.output
        shown[args[0]] = r.output
    # step titles, the threshold line, drift's headers and footer fold with indented continuations
    assert "\n  ~ Device 0A:1B:2C:3D:4E:02 (Cisco 8865, bob@example.com):\n      layout\n" in shown["plan"]
    assert "\nSafety threshold: 16/21 objects change (76%), limit\n    100 objects" in shown["plan"]
    assert "`reconciler apply` sets\n    the org back to the manifests;" in shown["drift"]
    monkeypatch.delenv("COLUMNS")  # not a terminal: 100 columns
    r = invoke("drift", str(EXAMPLES), *sim)
    assert _too_wide(r.output, 100) == [] and max(map(len, r.output.splitlines())) > 60, r.output


def test_quiet_plan_and_drift_print_only_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sim = ("--simulate", "--sim-state", str(tmp_path / "sim.json"))
    r = invoke("plan", str(EXAMPLES), "-q", "-o", "p.json", "--detailed-exitcode", *sim)
    assert r.exit_code == 2, r.output
    assert r.stdout.splitlines() == [
        "Plan: 2 to create, 13 to update, 0 to delete; 5 jobs touching 12 devices, 1 location, the org.",
        "Saved the plan to p.json. Apply exactly it with: reconciler apply --plan p.json",
    ]
    assert r.stderr == ""
    r = invoke("drift", str(EXAMPLES), "--quiet", *sim)
    assert r.exit_code == 2 and r.stderr == "", r.output
    (line,) = r.stdout.splitlines()
    assert line.startswith("Drift: ") and line.endswith(").")


def test_an_interrupted_json_run_prints_the_error_document(org: Callable[..., Any]) -> None:
    for command in ("plan", "drift"):
        org("/devices", after=2)
        r = run(command, str(EXAMPLES), "--format", "json")
        assert r.exit_code == 130
        doc = json.loads(r.stdout)
        assert doc["code"] == "interrupted" and doc["exit_code"] == 130, doc
        assert "nothing was sent to the API" in doc["message"]
        assert "Interrupted:" in r.stderr


def test_did_you_mean_for_member_workspaces_settings_locations_and_the_nearest_mac(
    cli: Callable[..., Any], repo: Path
) -> None:
    lobby = repo / "locations/headquarters/devices/0A1B2C3D4E06.yaml"
    lobby.write_text(lobby.read_text().replace("workspace: Lobby", "workspace: Lobyb"))
    hq = repo / "locations/headquarters/settings.yaml"
    hq.write_text(hq.read_text().replace("location: Headquarters", "location: Headquaters"))
    alice = repo / "locations/headquarters/devices/0A1B2C3D4E01.yaml"
    alice.write_text(alice.read_text().replace('mac: "0A:1B:2C:3D:4E:01"', 'mac: "0A:1B:2C:3D:4E:F1"'))
    r = cli("plan", str(repo))
    assert r.exit_code == 1, r.output
    said = flat(r.output)
    assert "no workspace named 'Lobyb' in the org (did you mean 'Lobby'?)" in said
    assert "no location named 'Headquaters' in the org (did you mean 'Headquarters'?)" in said
    # one hex digit from ...:01 and two from ...:0B: the nearest is suggested
    assert "no device with MAC 0A:1B:2C:3D:4E:F1 in the org (did you mean '0A:1B:2C:3D:4E:01'?)" in said


def test_an_interrupted_export_into_a_new_directory_leaves_none(
    org: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "new" / "config"  # neither exists yet
    org("/telephony/config/devices/", after=8)  # in the middle of the device reads
    r = run("export", "-o", str(out))
    assert r.exit_code == 130 and "nothing was written to" in r.stderr, r.output
    assert not (tmp_path / "new").exists()  # no directory, not even its .reconciler/
    existing = tmp_path / "kept"
    existing.mkdir()
    org("/telephony/config/devices/", after=8)
    assert run("export", "-o", str(existing)).exit_code == 130
    assert existing.is_dir() and list(existing.iterdir()) == []  # as it was: empty


def test_help_names_the_environment_of_sim_and_the_secrets_of_export() -> None:
    for argv in (["sim", "--help"], ["sim", "serve", "--help"]):
        r = invoke(*argv)
        assert r.exit_code == 0
        assert "Environment:" in r.output and "RECONCILER_SIM_TOKEN" in r.output, r.output
        assert "WEBEX_BASE_URL" in r.output and "WEBEX_ACCESS_TOKEN" in r.output, r.output
    r = invoke("export", "--help")
    assert "RECONCILER_SECRET_*" in r.output and "{fromEnv: RECONCILER_SECRET_NAME}" in r.output


def test_target_completes_from_the_typed_paths(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_day_one import _complete

    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no manifests here: only the typed PATH has some
    names = _complete(f"reconciler plan {os.path.relpath(repo)} --target LineKeyTemplate/")
    assert names == [
        "plain,LineKeyTemplate/Branch 6871",
        "plain,LineKeyTemplate/Reception 8865",
        "plain,LineKeyTemplate/Sales 8851",
    ]


def test_the_readme_quick_start_edit_exists_in_an_exported_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "e.g. a member's lineWeight in locations/*/devices/*.yaml" in readme
    assert "never copy them to a real org" in readme
    monkeypatch.chdir(tmp_path)
    r = invoke("export", "-o", "cfg", "--simulate", "--sim-state", str(tmp_path / "sim.json"))
    assert r.exit_code == 0, r.output
    devices = list(Path("cfg").glob("locations/*/devices/*.yaml"))
    assert devices and any("lineWeight: 1" in d.read_text() for d in devices)


def test_wording_yaml_false_one_line_port_and_no_warning_before_a_target_error(
    cli: Callable[..., Any], repo: Path, tmp_path: Path
) -> None:
    hq = repo / "locations/headquarters/settings.yaml"
    hq.write_text(hq.read_text().replace("customEnabled: true", "customEnabled: false"))
    r = cli("validate", str(repo))
    assert r.exit_code == 1 and "customizations with customEnabled: false:" in flat(r.output), r.output
    hq.write_text(hq.read_text().replace("customEnabled: false", "customEnabled: true"))
    lobby = repo / "locations/headquarters/devices/0A1B2C3D4E0B.yaml"  # a one-port phone
    lobby.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata:\n  mac: 0A:1B:2C:3D:4E:0B\nspec:\n"
        "  members:\n    - person: judy@example.com\n      port: 1\n      lineWeight: 2\n"
    )
    r = cli("plan", str(repo))
    assert r.exit_code == 1 and "has 1 line port" in flat(r.output) and "1 line ports" not in r.output
    lobby.unlink()
    for bad in ("Bogus/x", "Device"):
        r = cli("plan", str(repo), "--target", bad)
        assert r.exit_code == 1 and "--target" in r.stderr and "targeting is in effect" not in r.stderr
    (tmp_path / "afile").write_text("")
    r = cli("export", "-o", str(tmp_path / "afile"))
    assert r.exit_code == 1 and "'--out' / '-o'" in r.output and "'-out'" not in r.output, r.output
