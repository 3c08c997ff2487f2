"""CI-grade command-line behaviour: exit codes, JSON on failure, ``show``, errors that say what to do."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main

from .conftest import EXAMPLES, sim_call

Cli = Callable[..., Result]
SCHEMAS = EXAMPLES.parent / "schemas"
RUN = [sys.executable, "-c", "from reconciler.cli import main; main()"]  # the console script's way


def schema_check(name: str, doc: Any) -> None:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


# -- 1. usage errors exit 1; 2 means changes or drift only -----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", str(EXAMPLES), "--fromat", "json"],
        ["plan"],
        ["drift"],
        ["frobnicate"],
        ["apply", str(EXAMPLES), "--plan", "x.json"],  # a UsageError raised by the command itself
        ["drift", "no/such/folder"],
        ["sim", "serve", "--prot", "1"],
        ["sim", "nope"],
        ["show"],
        ["validate", "--format", "yaml", str(EXAMPLES)],
    ],
)
def test_usage_errors_exit_1_never_2(argv: list[str]) -> None:
    r = invoke(*argv)
    assert r.exit_code == 1, r.output
    assert "Usage:" in r.stderr or "Error:" in r.stderr


def test_usage_error_with_format_json_prints_the_error_document(tmp_path: Path) -> None:
    r = invoke("plan", "no/such/folder", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema_check("error.schema.json", doc)
    assert doc["errors"][0]["type"] == "config" and "no/such/folder" in doc["message"]
    assert invoke("plan", "no/such/folder").stdout == ""


def test_usage_errors_exit_1_from_the_installed_command() -> None:
    """The console script (click's standalone mode) maps it too, not just the test runner."""
    r = subprocess.run(
        [*RUN, "plan", "--fromat", "json", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1, r.stderr
    assert "No such option" in r.stderr
    ok = subprocess.run(
        [*RUN, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "show" in ok.stdout


def test_drift_still_exits_2_and_help_0(cli: Cli, sim_state: Path) -> None:
    assert cli("plan", str(EXAMPLES), "--detailed-exitcode").exit_code == 2
    assert invoke("--help").exit_code == 0
    assert invoke("--version").exit_code == 0


# -- 2. show ----------------------------------------------------------------------------------------


def test_show_renders_a_saved_plan_in_every_format(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    planned = cli("plan", str(EXAMPLES), "--out", str(out))
    assert planned.exit_code == 0
    text = invoke("show", str(out))
    assert text.exit_code == 0, text.output
    assert "~ Device 0A:1B:2C:3D:4E:01 (" in text.stdout
    assert text.stdout == planned.stdout.split("Saved the plan to")[0]
    verbose = invoke("show", str(out), "--verbose")
    assert "PUT /telephony/config/devices/" in verbose.stdout and "PUT /" not in text.stdout
    as_json = invoke("show", str(out), "--format", "json")
    saved = json.loads(out.read_text())
    assert saved.pop("workdir") == str(tmp_path)  # where its relative manifest paths start
    assert json.loads(as_json.stdout) == saved
    md = invoke("show", str(out), "--format", "markdown")
    assert md.exit_code == 0 and "Device 0A:1B:2C:3D:4E:01" in md.stdout


@pytest.mark.parametrize(
    "content",
    ['{"format_version": 1, "steps": [', "[1, 2]", '{"format_version": 1, "steps": [{"id": 1}]}', ""],
)
def test_show_refuses_a_damaged_plan_cleanly(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    r = invoke("show", str(bad))
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and "internal error" not in r.stderr
    assert str(bad) in r.stderr
    missing = invoke("show", str(tmp_path / "nope.json"), "--format", "json")
    assert missing.exit_code == 1
    schema_check("error.schema.json", json.loads(missing.stdout))


# -- 3. JSON everywhere -----------------------------------------------------------------------------


def test_validation_failure_in_plan_prints_a_json_error_document(cli: Cli, repo: Path) -> None:
    (repo / "broken.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata:\n  name: x\nspec:\n  mac: nope\n"
    )
    r = cli("plan", str(repo), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema_check("error.schema.json", doc)
    assert doc["ok"] is False and doc["errors"]
    first = doc["errors"][0]
    assert first["type"] == "validation" and first["file"].endswith("broken.yaml") and first["line"]


def test_validate_json_output_matches_its_schema(tmp_path: Path) -> None:
    good = invoke("validate", str(EXAMPLES), "--format", "json")
    assert good.exit_code == 0
    schema_check("validate.schema.json", json.loads(good.stdout))
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: reconciler/v1\nkind: Device\nmetadata:\n  name: x\nspec:\n  mac: nope\n")
    r = invoke("validate", str(bad), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema_check("validate.schema.json", doc)
    assert doc["valid"] is False


def test_api_error_in_json_names_endpoint_status_and_tracking_id(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    sim_call(state, "GET", "/devices")  # the simulated org exists
    r = invoke(
        "plan",
        str(EXAMPLES),
        "--format",
        "json",
        "--simulate",
        "--sim-state",
        str(state),
        "--org-id",
        "no-such-org",
    )
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    schema_check("error.schema.json", doc)
    api = doc["errors"][0]
    assert api["type"] == "api" and api["status"] in (400, 403, 404) and api["endpoint"].startswith("/")
    assert api["trackingId"]


def test_refused_plan_prints_json_error(cli: Cli) -> None:
    r = cli("apply", str(EXAMPLES), "--format", "json", "--auto-approve", "--max-changes", "1")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema_check("error.schema.json", doc)
    assert doc["errors"][0]["type"] == "plan_refused"
    no_approve = cli("apply", str(EXAMPLES), "--format", "json")
    assert no_approve.exit_code == 1
    assert "--auto-approve" in json.loads(no_approve.stdout)["message"]


def test_apply_json_result_lists_steps_and_convergence(cli: Cli, sim_state: Path) -> None:
    r = cli("apply", str(EXAMPLES), "--format", "json", "--auto-approve")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # stdout holds the document only: no plan text
    schema_check("apply.schema.json", doc)
    assert doc["ok"] is True and doc["converged"] is True and doc["remaining"] == []
    assert doc["summary"]["applied"] == len(doc["steps"]) > 0 and doc["summary"]["failed"] == 0
    assert any(s["address"] == "Device/0A1B2C3D4E01.settings" for s in doc["steps"])
    again = cli("apply", str(EXAMPLES), "--format", "json", "--auto-approve")
    doc = json.loads(again.stdout)
    schema_check("apply.schema.json", doc)
    assert doc["steps"] == [] and doc["converged"] is True and doc["ok"] is True


def test_apply_json_reports_a_failed_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reconciler.cli import options as cli_module
    from reconciler.flows.connect import Connection
    from reconciler.sim.app import create_app

    monkeypatch.chdir(tmp_path)
    app = create_app(seed="demo", job_duration_s=0.05)
    app.state.sim.reject_device("0A1B2C3D4E04")
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    r = invoke("apply", str(EXAMPLES), "--format", "json", "--auto-approve")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema_check("apply.schema.json", doc)
    assert doc["ok"] is False and doc["converged"] is False
    failed = [s for s in doc["steps"] if s["status"] == "failed"]
    settings = next(s for s in failed if s["address"] == "Device/0A1B2C3D4E04.settings")
    assert "rejected the change" in settings["message"] and settings["trackingId"]
    assert doc["summary"]["failed"] == len(failed) and doc["summary"]["applied"] > 0
    assert any(x["address"].startswith("Device/0A1B2C3D4E04") for x in doc["remaining"])


def test_drift_json_matches_its_schema(cli: Cli, sim_state: Path) -> None:
    r = invoke("drift", str(EXAMPLES), "--format", "json", "--simulate", "--sim-state", str(sim_state))
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    schema_check("drift.schema.json", doc)
    assert doc["drift"] is True and doc["resources"]


# -- 4. errors that say what to do ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    """A simulator served over HTTP by ``reconciler sim serve`` in a subprocess."""
    port = _free_port()
    proc = subprocess.Popen(
        [*RUN, "sim", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"sim serve exited: {proc.stderr.read() if proc.stderr else ''}"
                    ) from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


ENV = {"WEBEX_ACCESS_TOKEN": "test-token", "WEBEX_BASE_URL": ""}


def test_unreachable_host_is_named_and_fails_fast() -> None:
    port = _free_port()  # nothing listens there
    started = time.monotonic()
    r = invoke("plan", str(EXAMPLES), "--base-url", f"http://127.0.0.1:{port}/v1", env=ENV)
    took = time.monotonic() - started
    assert r.exit_code == 1
    assert f"cannot reach 127.0.0.1:{port}" in r.stderr and "--base-url / WEBEX_BASE_URL" in r.stderr
    assert took < 8, f"took {took:.1f} s"
    assert len(r.stderr.strip().splitlines()) == 1


def test_base_url_without_v1_says_so(served: int) -> None:
    r = invoke("plan", str(EXAMPLES), "--base-url", f"http://127.0.0.1:{served}", env=ENV)
    assert r.exit_code == 1
    assert "is the base URL right? it usually ends in /v1" in r.stderr
    j = invoke("plan", str(EXAMPLES), "--base-url", f"http://127.0.0.1:{served}", "--format", "json", env=ENV)
    doc = json.loads(j.stdout)
    schema_check("error.schema.json", doc)
    assert doc["errors"][0]["status"] == 404 and "ends in /v1" in doc["errors"][0]["hint"]


def test_debug_logs_one_line_per_request_and_no_http_internals(served: int) -> None:
    r = subprocess.run(
        [*RUN, "plan", str(EXAMPLES), "--debug"],
        env={**os.environ, **ENV, "WEBEX_BASE_URL": f"http://127.0.0.1:{served}/v1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert not [line for line in lines if "httpcore" in line or "httpx" in line]
    requests = [line for line in lines if " -> 200 in " in line]
    assert requests and all("trackingId=" in line and " ms " in line for line in requests)
    assert len(lines) < 3 * len(requests) + 10
    assert "test-token" not in r.stderr + r.stdout


def test_port_in_use_is_one_clear_line(served: int) -> None:
    r = invoke("sim", "serve", "--port", str(served))
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{served}: Address already in use; another server may be "
        "using it: pick another with --port [config]"  # the error's code last
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--devices", "10"], "--devices sizes a generated org"),
        (["--seed", "abc"], "--seed must be 'demo' or a number"),
    ],
)
def test_sim_serve_bad_seed_is_one_clear_line(argv: list[str], message: str) -> None:
    r = invoke("sim", "serve", "--port", str(_free_port()), *argv)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "internal error" not in lines[0]


def test_long_error_lists_are_capped(cli: Cli, repo: Path) -> None:
    for i in range(60):
        (repo / f"bad-{i}.yaml").write_text(
            f"apiVersion: reconciler/v1\nkind: Device\nmetadata:\n  name: bad{i}\nspec:\n  mac: nope{i}\n"
        )
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) <= 52, len(lines)
    assert any(line.startswith("... and ") and " more" in line for line in lines)
    full = cli("plan", str(repo), "--format", "json")
    assert len(json.loads(full.stdout)["errors"]) >= 60


# -- 6. help and completion -------------------------------------------------------------------------


COMMANDS = [
    *("validate", "plan", "show", "drift", "apply", "explain", "export", "push", "demo", "sim", "sim serve")
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command: str) -> None:
    r = invoke(*command.split(), "--help")
    assert r.exit_code == 0
    heading = "Examples:" if "Examples:" in r.stdout else "Example:"
    assert heading in r.stdout and f"reconciler {command}" in r.stdout.split(heading)[1]


def test_every_sim_serve_option_has_help() -> None:
    from reconciler.cli.sim import sim_serve

    missing = [p.name for p in sim_serve.params if isinstance(p, __import__("click").Option) and not p.help]
    assert missing == []


def test_bash_completion_script_is_generated() -> None:
    exe = shutil.which("reconciler")
    if exe is None:
        pytest.skip("the reconciler command is not installed")
    r = subprocess.run(
        [exe],
        env={**os.environ, "_RECONCILER_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "_reconciler_completion" in r.stdout


# -- 7. one session call per command ----------------------------------------------------------------


def test_plan_and_drift_are_one_session_call_each(tmp_path: Path) -> None:
    from reconciler.flows.connect import Connection
    from reconciler.flows.drift import drift_command
    from reconciler.flows.plan import PlanRequest, plan_command
    from reconciler.planning.review import PlanReview
    from reconciler.sim.app import create_app

    conn = Connection(sim_app=create_app(seed="demo", job_duration_s=0))
    plan = plan_command(conn, PlanRequest(paths=[str(EXAMPLES)]))
    assert not isinstance(plan, PlanReview) and not plan.empty
    found, problem = drift_command(conn, [str(EXAMPLES)])
    assert found.has_drift and problem is None
    review = plan_command(conn, PlanRequest(paths=[str(EXAMPLES)], baseline=str(EXAMPLES)))
    assert isinstance(review, PlanReview)
    assert sorted(s.id for s in review.plan.steps) == sorted(s.id for s in plan.steps)


def test_capped_keeps_the_first_lines_and_counts_the_rest() -> None:
    from reconciler.render.failures import capped

    assert capped(["a", "b"], limit=2) == ["a", "b"]
    assert capped([str(i) for i in range(120)], limit=50, more=" (see x)")[-2:] == [
        "49",
        "... and 70 more (see x)",
    ]
    assert len(capped([str(i) for i in range(120)])) == 51
