"""Write-only secrets: only third-party devices take one; a declaration new or changed since the
baseline is written without a flag, --rotate-secrets forces it (plan and apply), and the plan
always says whether and why."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from reconciler.sim.seed import add_third_party_phone as add_third_party_phone_to
from reconciler.sim.store import Store, secret_marker
from tests.folded import flat

from .conftest import sim_call

Cli = Callable[..., Result]

PHONE = "0A1B2C3D4E0B"  # a customer-managed SIP phone added to the demo org below
SECRET = "Sip7Secret9Lq2xZ"


def add_third_party_phone(sim_state: Path) -> None:
    sim_call(sim_state, "GET", "/devices")  # the demo org's state file exists from here on
    store = Store.load(str(sim_state))
    add_third_party_phone_to(store, PHONE, like_mac="0A1B2C3D4E03")
    store.save(str(sim_state))


def stored_password(sim_state: Path, mac: str) -> str | None:
    store = Store.load(str(sim_state))
    return next(d.sip_password for d in store.devices.values() if d.mac == mac)


def write_device(repo: Path, mac: str, env: str) -> Path:
    path = repo / f"{mac}.yaml"
    path.write_text(
        f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {mac}}}\n"
        f"spec:\n  sipPassword: {{fromEnv: {env}}}\n",
        encoding="utf-8",
    )
    return path


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def phone(sim_state: Path) -> Path:
    add_third_party_phone(sim_state)
    return sim_state


def test_a_cisco_device_takes_no_sip_password(cli: Cli, tmp_path: Path, phone: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    path = write_device(repo, "0A1B2C3D4E03", "RECONCILER_SECRET_SIP_PW")
    r = cli("plan", str(repo))
    assert r.exit_code == 1, r.output
    assert f"{path}:5:" in r.output  # the file and line of the declaration
    assert "only third-party devices take a sipPassword" in r.output


def test_a_new_declaration_is_written_once_and_rotation_forces_it(
    cli: Cli, tmp_path: Path, phone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW", SECRET)
    repo = tmp_path / "m"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README").write_text("phones\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "declare the lobby phone's password")
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert (
        "Device/0A1B2C3D4E0B: sipPassword (sensitive): will be written: declaration new since the "
        "baseline (git HEAD~1)" in flat(r.output)
    )
    assert SECRET not in r.output
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    assert stored_password(phone, PHONE) == secret_marker(SECRET)  # the state file keeps a digest
    # A plan right after, on the same commit, does not write it again (the record of the write).
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "not written: written with this declaration by the apply of" in flat(r.output)
    # A later commit that leaves the declaration alone does not write it (nor plan it), nor does
    # one elsewhere, without this directory's record.
    (repo / "README").write_text("phones, again\n", encoding="utf-8")
    git(repo, "commit", "-qam", "unrelated")
    (tmp_path / ".reconciler" / "secrets-written.json").unlink()
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "sipPassword (sensitive): not written: unchanged since the baseline (git HEAD~1)" in flat(r.output)
    assert "--rotate-secrets to write" in flat(r.output)
    # --rotate-secrets on apply writes it anyway.
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW", "Rotated4Secret8Zq")
    r = cli("apply", str(repo), "--auto-approve", "--rotate-secrets")
    assert r.exit_code == 0, r.output
    assert "will be written: --rotate-secrets" in flat(r.output)
    assert stored_password(phone, PHONE) == secret_marker("Rotated4Secret8Zq")


def test_a_changed_reference_since_the_baseline_is_written(
    cli: Cli, tmp_path: Path, phone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The baseline is a checkout of the base branch: the same PATH under it.
    base = tmp_path / "base" / "m"
    pr = tmp_path / "m"
    base.mkdir(parents=True)
    pr.mkdir()
    write_device(base, PHONE, "RECONCILER_SECRET_SIP_OLD")
    write_device(pr, PHONE, "RECONCILER_SECRET_SIP_OLD")
    monkeypatch.chdir(tmp_path)
    r = cli("plan", "m", "--baseline", "base")
    assert r.exit_code == 0, r.output
    assert "not written: unchanged since the baseline (baseline base)" in flat(r.output)
    write_device(pr, PHONE, "RECONCILER_SECRET_SIP_NEW")
    r = cli("plan", "m", "--baseline", "base")
    assert r.exit_code == 0, r.output
    assert "~ Device 0A:1B:2C:3D:4E:0B (" in flat(r.output) and "): third-party SIP password" in flat(
        r.output
    )
    assert "will be written: declaration changed since the baseline (baseline base)" in flat(r.output)


def test_without_a_baseline_a_new_declaration_is_written_once(
    cli: Cli, tmp_path: Path, phone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW", SECRET)
    repo = tmp_path / "m"  # not a git checkout, no --baseline: nothing to compare with
    repo.mkdir()
    write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW")
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "sipPassword (sensitive): will be written: new, no baseline" in flat(r.output)
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    assert stored_password(phone, PHONE) == secret_marker(SECRET)
    # The record of the write (no value, no plain digest of one) makes the next plan empty ...
    record = (tmp_path / ".reconciler" / "secrets-written.json").read_text(encoding="utf-8")
    assert SECRET not in record and "SIP_PW" not in record
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes" in r.output
    assert "not written: written with this declaration by the apply of" in flat(r.output)
    # ... and drift agrees.
    r = cli("drift", str(repo), "--simulate", "--sim-state", str(phone), simulate=False)
    assert r.exit_code == 0, r.output
    # Another declaration (a new variable) is written again, without a baseline too.
    write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW_2")
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW_2", "Other5Secret7Kx")
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "will be written: declaration changed since the apply of" in flat(r.output)


def test_the_record_of_written_secrets_belongs_to_its_api(
    cli: Cli, tmp_path: Path, phone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW", SECRET)
    repo = tmp_path / "m"
    repo.mkdir()
    write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW")
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    path = tmp_path / ".reconciler" / "secrets-written.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ((_scope, entries),) = doc["scopes"].items()
    doc["scopes"] = {"https://other.example/v1": entries}  # written to another API, not this one
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    path.write_text("{not json", encoding="utf-8")  # a damaged record is no record
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "will be written: new, no baseline" in flat(r.output)


def test_the_markdown_plan_shows_each_secret_and_the_threshold(cli: Cli, tmp_path: Path, phone: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW")
    r = cli("plan", str(repo), "--rotate-secrets", "--format", "markdown")
    assert r.exit_code == 0, r.output
    assert "- Device/0A1B2C3D4E0B: sipPassword (sensitive): will be written: --rotate-secrets" in r.output
    assert "_Safety threshold: 1/1 objects change (100%)" in r.output


WEAK = [("short1", "shorter than 8"), ("onlyletters", "letters and digits")]


@pytest.mark.parametrize(("value", "why"), WEAK)
def test_a_password_the_api_would_refuse_stops_apply_before_any_write(
    cli: Cli, tmp_path: Path, phone: Path, monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("RECONCILER_SECRET_SIP_PW", value)
    repo = tmp_path / "m"
    repo.mkdir()
    path = write_device(repo, PHONE, "RECONCILER_SECRET_SIP_PW")
    before = stored_password(phone, PHONE)
    r = cli("plan", str(repo), "--rotate-secrets")
    assert r.exit_code == 1, r.output  # the variable is set here: plan refuses what apply would send
    assert f"{path}:5:" in r.output and why in r.output and value not in r.output
    r = cli("apply", str(repo), "--auto-approve", "--rotate-secrets")
    assert r.exit_code == 1, r.output
    assert f"{path}:5:" in r.output and why in r.output and "nothing was sent" in r.output
    assert value not in r.output
    assert stored_password(phone, PHONE) == before


def test_a_literal_weak_password_is_a_validation_error(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    (repo / "d.yaml").write_text(
        f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {PHONE}}}\nspec:\n  sipPassword: abc\n",
        encoding="utf-8",
    )
    r = cli("validate", str(repo))
    assert r.exit_code == 1
    assert f"{repo / 'd.yaml'}:5:" in r.output and "shorter than 8" in r.output
