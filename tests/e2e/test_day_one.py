"""A new user's first day, through the CLI on the embedded simulator: the working directory stays
clean, saved plans say where to run them, help names the environment and completes targets,
references suggest what exists, output fits the terminal, secrets stay out of git."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from benchmarks import harness
from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

from .conftest import EXAMPLES

Cli = Callable[..., Result]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- the working directory stays clean --------------------------------------------------------------


def test_a_plain_plan_leaves_git_status_clean(cli: Cli, repo: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    r = cli("plan", "repo")
    assert r.exit_code == 0, r.output
    assert (tmp_path / ".reconciler").is_dir()  # parse cache, simulator state
    assert (tmp_path / ".reconciler" / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    listed = status.stdout.splitlines()
    assert "?? repo/policy.yaml" in listed
    assert not [line for line in listed if line.startswith("?? .reconciler")], listed


def test_export_writes_a_gitignore_that_keeps_local_state_out(
    cli: Cli, tmp_path: Path, sim_state: Path
) -> None:
    out = tmp_path / "config"
    r = cli("export", "-o", str(out), "--simulate", "--sim-state", str(sim_state), simulate=False)
    assert r.exit_code == 0, r.output
    assert ".reconciler/" in (out / ".gitignore").read_text().splitlines()
    (out / ".gitignore").write_text("*.bak\n")  # the user's own: kept, the line added once
    assert (
        cli("export", "-o", str(out), "--simulate", "--sim-state", str(sim_state), simulate=False).exit_code
        == 0
    )
    assert (
        cli("export", "-o", str(out), "--simulate", "--sim-state", str(sim_state), simulate=False).exit_code
        == 0
    )
    assert (out / ".gitignore").read_text().splitlines().count(".reconciler/") == 1
    assert (out / ".gitignore").read_text().startswith("*.bak\n")


def test_a_saved_plan_from_another_directory_says_in_one_line_where_to_run_it(
    cli: Cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_state: Path
) -> None:
    r = cli("plan", "repo", "-o", "plan.json")
    assert r.exit_code == 0, r.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = invoke("apply", "--plan", str(tmp_path / "plan.json"), "--simulate", "--sim-state", str(sim_state))
    assert r.exit_code == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "was made in another directory" in lines[0]
    assert f"cd {tmp_path} && reconciler apply --plan {tmp_path / 'plan.json'}" in lines[0]
    assert "manifest" not in lines[0].replace("manifest paths", "")  # never a "manifest problem"
    # where it says, it applies
    monkeypatch.chdir(tmp_path)
    r = invoke("apply", "--plan", "plan.json", "--auto-approve", "--simulate", "--sim-state", str(sim_state))
    assert r.exit_code == 0 and "Converged" in r.output, r.output


def test_a_saved_plan_whose_paths_are_not_here_says_where_to_run_it(
    cli: Cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plan", "repo", "-o", "plan.json").exit_code == 0
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["workdir"] = "/ci/runner/checkout"  # made on another machine (a CI run)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "plan.json").write_text(json.dumps(doc))
    monkeypatch.chdir(elsewhere)
    r = invoke("apply", "--plan", "plan.json", "--simulate")
    assert r.exit_code == 1
    assert "names the manifest path 'repo', not found from" in r.stderr
    assert "run apply --plan from the directory where `reconciler plan` made it" in r.stderr
    assert "problem(s) found in the manifests" not in r.stderr


# -- help ---------------------------------------------------------------------------------------------

CONNECTED = ["plan", "apply", "drift", "export", "explain", "push"]


@pytest.mark.parametrize("command", CONNECTED)
def test_help_names_the_environment_variables_it_reads(command: str) -> None:
    r = invoke(command, "--help")
    assert r.exit_code == 0
    env = r.stdout[r.stdout.index("Environment:") :]
    for name in ("WEBEX_ACCESS_TOKEN", "WEBEX_BASE_URL", "WEBEX_TOKEN_FILE", "WEBEX_ORG_ID"):
        assert name in env, name


def test_offline_commands_say_they_read_no_token() -> None:
    assert "runs offline, without a token" in invoke("validate", "--help").stdout
    assert "never the API" in invoke("show", "--help").stdout
    assert "RECONCILER_SIM_TOKEN" in invoke("sim", "serve", "--help").stdout


def test_main_help_documents_completion_and_the_environment() -> None:
    text = invoke("--help").stdout
    assert 'eval "$(_RECONCILER_COMPLETE=bash_source reconciler)"' in text
    assert "--target" in text and "WEBEX_ACCESS_TOKEN" in text and "WEBEX_BASE_URL" in text


def _complete(words: str) -> list[str]:
    """What bash completion offers for the last word of ``words`` (a new one after a space)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {"_RECONCILER_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    r = CliRunner().invoke(main, [], prog_name="reconciler", env=env)
    return r.stdout.splitlines()


def test_target_completes_kinds_then_names_from_the_manifests_here(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    kinds = _complete("reconciler plan . --target ")
    assert "nospace,Device/" in kinds and "nospace,LineKeyTemplate/" in kinds
    assert _complete("reconciler plan --target lin") == [
        "nospace,LineKeyTemplate/",
        "nospace,LineKeyTemplateAssignment/",
    ]
    names = _complete("reconciler apply --target device/0a1b2c3d4e0")
    assert "plain,Device/0A1B2C3D4E01" in names and len(names) == 10  # 01 to 0A


def test_sim_serve_prints_the_two_export_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.sim.server as server

    served: dict[str, Any] = {}
    monkeypatch.setattr(server, "check_port", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda **kw: served.update(kw))
    r = invoke("sim", "serve", "--port", "8799")
    assert r.exit_code == 0, r.output
    assert served["port"] == 8799
    exports = [line.strip() for line in r.stderr.splitlines() if line.strip().startswith("export ")]
    assert exports[0] == "export WEBEX_BASE_URL=http://127.0.0.1:8799/v1"
    assert exports[1].startswith("export WEBEX_ACCESS_TOKEN=")
    r = invoke("sim", "serve", "--port", "8799", "--token", "s3cret-token-value")
    assert "s3cret-token-value" not in r.output  # the token is never printed


def test_out_has_the_short_form_o(cli: Cli, tmp_path: Path) -> None:
    assert cli("plan", str(EXAMPLES), "-o", "p.json").exit_code == 0
    assert json.loads((tmp_path / "p.json").read_text())["format_version"] == 1
    assert cli("plan", str(EXAMPLES), "-out", "q.json").exit_code == 0  # Terraform's spelling
    assert (tmp_path / "q.json").exists()
    assert "-o, --out" in invoke("plan", "--help").stdout


# -- references -------------------------------------------------------------------------------------


def test_every_reference_suggests_what_exists(cli: Cli, repo: Path) -> None:
    edit(repo / "assignments" / "branch-sales.yaml", "template: Sales 8851", "template: Sales 8815")
    edit(repo / "assignments" / "branch-sales.yaml", "[Branch Office]", "[branch  office]")
    edit(repo / "people" / "alice.yaml", "person: alice@example.com", "person: alice@exmple.com")
    edit(repo / "workspaces" / "front-desk.yaml", "Front Desk", "Frnt Desk")
    device = repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    device.rename(device.with_name("0A1B2C3D4E1F.yaml"))
    edit(device.with_name("0A1B2C3D4E1F.yaml"), "0A:1B:2C:3D:4E:01", "0A:1B:2C:3D:4E:1F")
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    out = r.output
    assert (
        "no line key template named 'Sales 8815' (in the repo or the org) (did you mean 'Sales 8851'?)" in out
    )
    assert "no person with email 'alice@exmple.com' in the org (did you mean 'alice@example.com'?)" in out
    assert "no workspace named 'Frnt Desk' in the org (did you mean 'Front Desk'?)" in out
    assert "no device with MAC 0A:1B:2C:3D:4E:1F in the org (did you mean '0A:1B:2C:3D:4E:" in out


def test_a_location_reference_suggests_the_location(cli: Cli, repo: Path) -> None:
    edit(repo / "assignments" / "branch-sales.yaml", "[Branch Office]", "[BranchOffice]")
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    assert "no location named 'BranchOffice' in the org (did you mean 'Branch Office'?)" in r.output


def test_image_upload_device_suggests_a_mac(cli: Cli, repo: Path) -> None:
    images = repo / "org" / "background-images.yaml"
    images.write_text(images.read_text().replace("spec:\n", "spec:\n  uploadDevice: 0A:1B:2C:3D:4E:0F\n", 1))
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    assert re.search(
        r"no Webex Calling device with MAC 0A:1B:2C:3D:4E:0F \(did you mean '0A:1B:2C:3D:4E:0.'\?\)", r.output
    )


def test_target_kinds_in_any_case_with_a_warning(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--target", "device/0a1b2c3d4e02", "--format", "json")
    assert r.exit_code == 0, r.output
    assert {s["resource"] for s in json.loads(r.stdout)["steps"]} >= {"Device/0A1B2C3D4E02"}
    r = cli("plan", str(EXAMPLES), "--target", "DEVICE/0A:1B:2C:3D:4E:02")
    assert r.exit_code == 0, r.output
    assert "Warning: targeting is in effect ('DEVICE/0A:1B:2C:3D:4E:02')" in r.stderr
    assert "plan without --target before merging" in r.stderr
    assert "targeting" not in cli("plan", str(EXAMPLES)).stderr


def test_a_target_naming_nothing_suggests_the_closest(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--target", "Device/0A1B2C3D4E0F")
    assert r.exit_code == 1
    assert (
        "--target names nothing in the manifests: 'Device/0A1B2C3D4E0F' (did you mean 'Device/0A1B2C3D4E0"
        in r.stderr
    )
    r = cli("plan", str(EXAMPLES), "--target", "LineKeyTemplate/sales 8815")
    assert "(did you mean 'LineKeyTemplate/Sales 8851'?)" in r.stderr
    r = cli("plan", str(EXAMPLES), "--target", "Devise/0A1B2C3D4E01")
    assert "(did you mean 'Device'?)" in r.stderr


# -- rendering ----------------------------------------------------------------------------------------


def test_plan_wraps_to_columns(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    narrow = cli("plan", str(EXAMPLES)).output.splitlines()
    monkeypatch.delenv("COLUMNS")
    wide = cli("plan", str(EXAMPLES)).output.splitlines()
    # the reasons a push lists go on lines that fit the width asked for (a device's name stays whole)
    continued = [line for line in narrow if line.startswith(" " * 10) and not line.strip().startswith("#")]
    assert continued and all(len(line) <= 60 for line in continued), continued
    assert len(narrow) > len(wide)
    assert max(len(line) for line in wide if line.strip().startswith("covers")) > 60


def test_threshold_legend_and_owners(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES))
    lines = r.output.splitlines()
    threshold = [line for line in lines if "threshold" in line.lower()]
    assert threshold == [
        "Safety threshold: 16/21 objects change (76%), limit 100 objects or 80% (Policy; --force overrides)."
    ]
    assert lines[0] == "Symbols: + create, ~ update, * a job the API runs (it may change many devices)."
    at = lines.index("      ~ layout of Device 0A:1B:2C:3D:4E:07 (Cisco 8851, erin@example.com):")
    assert lines[at + 1] == "          default layout -> template"


def test_long_device_lists_are_shortened_unless_verbose(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app(seed=5, devices=120, job_duration_s=0.01)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    out = harness.export_in_process(app, tmp_path / "export")
    (out / "assignment.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: LineKeyTemplateAssignment\nmetadata: {name: every-8851}\n"
        "spec: {template: Standard Cisco 8851}\n"
    )
    target = ["--target", "LineKeyTemplateAssignment/every-8851"]
    r = invoke("plan", str(out), *target, "--format", "json")
    assert r.exit_code == 0, r.output
    differing = next(s for s in json.loads(r.stdout)["steps"] if s["job_type"] == "applyLineKeyTemplate")
    count = len(differing["meta"]["differingDevices"])
    assert count > 25
    r = invoke("plan", str(out), *target)
    layout = [line for line in r.stdout.splitlines() if "~ layout of Device" in line]
    assert len(layout) == 20
    assert all(re.search(r"~ layout of Device [0-9A-F:]{17} \(Cisco 8851, .+\)", line) for line in layout), (
        layout
    )
    assert f"... and {count - 20} more device(s) (--verbose lists every one)" in r.stdout
    covers = [line for line in r.stdout.splitlines() if line.strip().startswith("covers Device")]
    assert len(covers) <= 40  # two locations' rebuilds, 20 each at most
    r = invoke("plan", str(out), *target, "--verbose")
    assert len([line for line in r.stdout.splitlines() if "~ layout of Device" in line]) == count
    assert "more device(s)" not in r.stdout


def test_apply_and_drift_use_human_names(cli: Cli, repo: Path, sim_state: Path) -> None:
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com): device settings: applied" in r.stderr
    assert "Device/0A1B2C3D4E01" not in r.stderr
    edit(repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E04.yaml", "THIRTY_SEC", "TWENTY_SEC")
    r = cli("drift", str(repo), "--simulate", "--sim-state", str(sim_state), simulate=False)
    assert r.exit_code == 2, r.output  # drift found
    assert "Device 0A:1B:2C:3D:4E:04 (Cisco 6871, dave@example.com)" in r.output


def test_quiet_apply_prints_only_the_summary(cli: Cli, repo: Path) -> None:
    r = cli("apply", str(repo), "--auto-approve", "-q")
    assert r.exit_code == 0, r.output
    assert "[1/" not in r.output and "job COMPLETED" not in r.output
    assert "# 1. background images" not in r.output  # nothing to approve: no preview either
    assert r.output.strip().splitlines() == [
        "Apply: 22 applied, 0 failed, 0 skipped.",
        "Converged: live state matches the manifests.",
    ]


# -- settings and secrets -----------------------------------------------------------------------------


def test_customizations_without_custom_enabled_are_one_validate_error(repo: Path) -> None:
    settings = repo / "locations" / "headquarters" / "settings.yaml"
    edit(settings, "  customEnabled: true\n", "")
    r = invoke("validate", str(repo))
    assert r.exit_code == 1
    errors = [line for line in r.output.splitlines() if "customEnabled" in line]
    assert len(errors) == 1
    where = re.escape(str(settings))
    said = "LocationDeviceSettings/Headquarters: customizations without customEnabled"
    assert re.match(rf"{where}:\d+:\d+: {said}", errors[0]), errors
    assert "add customEnabled: true beside them" in errors[0]


def test_export_writes_placeholders_for_every_secret_and_plans_show_sensitive(
    cli: Cli, tmp_path: Path, sim_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "config"
    r = cli("export", "-o", str(out), "--simulate", "--sim-state", str(sim_state), simulate=False)
    assert r.exit_code == 0, r.output
    text = "".join(p.read_text() for p in out.rglob("*.yaml"))
    assert "public" not in text and "private" not in text
    assert "getCommunity: {fromEnv: RECONCILER_SECRET_SNMP_GET_COMMUNITY}" in text
    assert "setCommunity: {fromEnv: RECONCILER_SECRET_SNMP_SET_COMMUNITY}" in text
    assert "  RECONCILER_SECRET_SNMP_GET_COMMUNITY: org/device-settings.yaml" in r.output
    monkeypatch.setenv("RECONCILER_SECRET_SNMP_GET_COMMUNITY", "public")
    monkeypatch.setenv("RECONCILER_SECRET_SNMP_SET_COMMUNITY", "private")
    assert cli("plan", str(out), "--detailed-exitcode").exit_code == 0  # the org's values: no change
    monkeypatch.setenv("RECONCILER_SECRET_SNMP_SET_COMMUNITY", "rotated-community")
    r = cli("plan", str(out))
    assert "snmp.setCommunity: (sensitive" in r.output
    assert "rotated-community" not in r.output and "private" not in r.output
