"""End to end through the CLI against the embedded simulator of the demo org."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reconciler.sim.store import secret_marker

from .conftest import EXAMPLES, device_id, sim_call

Cli = Callable[..., Result]


def test_validate_examples(cli: Cli) -> None:
    r = cli("validate", str(EXAMPLES))
    assert r.exit_code == 0, r.output


def test_first_plan_has_every_phase_and_exit_2(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    for phase in range(1, 8):
        assert f"# {phase}." in r.output, f"phase {phase} missing:\n{r.output}"
    assert "~ Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com): device members" in r.output
    assert '+ LineKeyTemplate "Branch 6871"' in r.output


def test_apply_converges_then_plan_is_empty(cli: Cli, sim_state: Path) -> None:
    r = cli("apply", str(EXAMPLES), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    r = cli("plan", str(EXAMPLES), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes" in r.output


def test_json_plan_is_versioned_and_names_sources(cli: Cli) -> None:
    r = cli("plan", str(EXAMPLES), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["format_version"] == 1
    step = next(s for s in doc["steps"] if s["address"] == "Device/0A1B2C3D4E01.settings")
    assert step["method"] == "PUT" and step["source"].endswith(".yaml:19:3")
    assert step["changes"] == [
        {"path": "/settings/customEnabled", "before": False, "after": True},
        {"path": "/settings/customizations/mpp/backlightTimer", "before": "ONE_MIN", "after": "FIVE_MIN"},
        {"path": "/settings/customizations/mpp/vlan/enabled", "before": False, "after": True},
        {"path": "/settings/customizations/mpp/vlan/value", "before": 1, "after": 100},
        # undeclared, from the org manifest (the location, customized too, declares neither)
        {
            "path": "/settings/customizations/mpp/phoneLanguage",
            "before": "PERSON_LANGUAGE",
            "after": "ENGLISH_UNITED_STATES",
            "follows": "org",
        },
        {"path": "/settings/customizations/mpp/cdpEnabled", "before": True, "after": False, "follows": "org"},
    ]


def test_apply_refuses_without_tty_or_auto_approve(cli: Cli, sim_state: Path) -> None:
    r = cli("apply", str(EXAMPLES))
    assert r.exit_code == 1
    assert "--auto-approve" in r.output


def test_max_changes_refuses_and_writes_nothing(cli: Cli, sim_state: Path) -> None:
    cli("plan", str(EXAMPLES))  # creates the simulated org's state file
    before = sim_state.read_bytes()
    r = cli("apply", str(EXAMPLES), "--auto-approve", "--max-changes", "2")
    assert r.exit_code == 1
    assert "more than --max-changes 2" in r.output
    assert sim_state.read_bytes() == before


def test_stale_saved_plan_is_refused(cli: Cli, repo: Path, sim_state: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    r = cli("plan", str(repo), "--out", str(out))
    assert r.exit_code == 0, r.output
    dev = device_id(sim_state, "0A:1B:2C:3D:4E:03")
    members = sim_call(sim_state, "GET", f"/telephony/config/devices/{dev}/members")["members"]
    body = [
        {
            k: m[k]
            for k in (
                "id",
                "port",
                "primaryOwner",
                "lineType",
                "lineWeight",
                "hotlineEnabled",
                "hotlineDestination",
                "allowCallDeclineEnabled",
            )
            if k in m
        }
        for m in members
    ]
    body[0]["lineWeight"] = 3
    body[0].setdefault("hotlineDestination", "")
    sim_call(sim_state, "PUT", f"/telephony/config/devices/{dev}/members", json={"members": body})
    r = cli("apply", "--plan", str(out), "--auto-approve")
    assert r.exit_code == 1
    assert "stale" in r.output and "Device 0A:1B:2C:3D:4E:03 (Cisco " in r.output
    assert f"/telephony/config/devices/{dev}" not in r.output  # objects, not API paths


def test_saved_plan_applies_exactly(cli: Cli, repo: Path, sim_state: Path, tmp_path: Path) -> None:
    """A saved plan's manifest paths must lie inside the working directory: a copy of the repo."""
    out = tmp_path / "plan.json"
    assert cli("plan", str(repo), "--out", str(out)).exit_code == 0
    r = cli("apply", "--plan", str(out), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output


def test_drift_made_out_of_band_shows_live_before_value(cli: Cli, sim_state: Path) -> None:
    assert cli("apply", str(EXAMPLES), "--auto-approve").exit_code == 0
    dev = device_id(sim_state, "0A1B2C3D4E01")
    live = sim_call(sim_state, "GET", f"/telephony/config/devices/{dev}/settings")
    live["customizations"]["mpp"]["backlightTimer"] = "ONE_MIN"
    sim_call(
        sim_state,
        "PUT",
        f"/telephony/config/devices/{dev}/settings",
        json={"customEnabled": live["customEnabled"], "customizations": live["customizations"]},
    )
    r = cli("plan", str(EXAMPLES), "--detailed-exitcode")
    assert r.exit_code == 2
    assert '~ settings.customizations.mpp.backlightTimer: "ONE_MIN" -> "FIVE_MIN"' in r.output


def test_json_plan_validates_against_the_plan_schema(cli: Cli, tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((EXAMPLES.parent / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    out = tmp_path / "plan.json"
    r = cli("plan", str(EXAMPLES), "--prune", "--out", str(out), "--format", "json")
    assert r.exit_code == 0, r.output
    for doc in (json.loads(r.output), json.loads(out.read_text())):
        jsonschema.Draft202012Validator(schema).validate(doc)
        assert {s["phase"] for s in doc["steps"]} == set(range(1, 9))


def test_policy_concurrency_applies_unless_the_flag_is_given(
    cli: Cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.applying.executor import Executor
    from reconciler.webex import client as client_module

    policy = repo / "policy.yaml"
    policy.write_text(policy.read_text() + "  concurrency: 3\n")
    made: list[int] = []
    real = client_module.make_client

    def spy(base: str | None, token_file: str | None, org: str | None, concurrency: int, **kw: Any) -> Any:
        made.append(concurrency)  # every connection a command opens
        return real(base, token_file, org, concurrency, **kw)

    executors: list[int] = []
    real_init = Executor.__init__

    def spy_init(self: Executor, *args: object, **kw: object) -> None:
        real_init(self, *args, **kw)  # type: ignore[arg-type]
        executors.append(self.workers)

    monkeypatch.setattr(client_module, "make_client", spy)
    monkeypatch.setattr(Executor, "__init__", spy_init)
    assert cli("plan", str(repo)).exit_code == 0
    assert cli("plan", str(repo), "--concurrency", "5").exit_code == 0
    r = cli("plan", str(repo), "--out", str(tmp_path / "p.json"))
    assert r.exit_code == 0, r.output
    r = cli("apply", "--plan", str(tmp_path / "p.json"), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert made == [3, 5, 3, 3]
    assert executors == [2 * 3]  # the executor takes the same limit
    policy.write_text(policy.read_text().replace("concurrency: 3", "concurrency: 500"))
    r = cli("plan", str(repo))
    assert r.exit_code == 1, r.output
    assert "policy.yaml:11:3: Policy/default: spec.concurrency: must be at most 128, got 500" in r.output


SECRET = "hunter2-proxy-pass"


def test_live_passwords_stay_out_of_plans_logs_and_exports_and_are_kept(
    cli: Cli, repo: Path, sim_state: Path, tmp_path: Path
) -> None:
    """A device's HTTP proxy password set in Control Hub: a plan that changes another setting of
    the device neither shows, hashes nor saves it; apply writes it back unchanged; export leaves
    it out."""
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    path = f"/telephony/config/devices/{device_id(sim_state, '0A1B2C3D4E01')}/settings"
    live = sim_call(sim_state, "GET", path)
    proxy = live["customizations"]["mpp"]["httpProxy"]
    proxy.update(authSettingsEnabled=True, username="proxy-user", password=SECRET)
    sim_call(sim_state, "PUT", path, json=live)
    manifest = repo / "locations" / "headquarters" / "devices" / "0A1B2C3D4E01.yaml"
    manifest.write_text(manifest.read_text().replace("backlightTimer: FIVE_MIN", "backlightTimer: ONE_MIN"))
    saved = tmp_path / "plan.json"
    r = cli("plan", str(repo), "--out", str(saved), "--format", "json")
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output and SECRET not in saved.read_text()
    assert '"fromLive": {"path": "' + path + '", "pointer": "/customizations/mpp/httpProxy/password"}' in (
        json.dumps(json.loads(saved.read_text()))
    )
    r = cli("apply", "--plan", str(saved), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output
    assert SECRET not in (tmp_path / ".reconciler" / "sim-apply-log.jsonl").read_text()
    after = sim_call(sim_state, "GET", path)["customizations"]["mpp"]
    # written back (a wiped password would be ""), and never saved in clear in the state file
    assert after["httpProxy"] == {**proxy, "password": secret_marker(SECRET)}
    assert SECRET not in sim_state.read_text()
    assert after["backlightTimer"] == "ONE_MIN"
    # a password declared in the manifest: the change is shown as sensitive, neither value
    manifest.write_text(
        manifest.read_text().replace(
            "        vlan: {", "        httpProxy: {password: other-pass-1}\n        vlan: {"
        )
    )
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "httpProxy.password: (sensitive)" in r.output
    assert SECRET not in r.output and "other-pass-1" not in r.output
    r = cli("export", "--out", str(tmp_path / "exported"), "--simulate", "--sim-state", str(sim_state))
    assert r.exit_code == 0, r.output
    exported = "".join(p.read_text() for p in (tmp_path / "exported").rglob("*.yaml"))
    assert "proxy-user" in exported and SECRET not in exported
    # the secret's place holds a reference to a variable, never a value
    assert re.findall(r"password: (.*)", exported) == ["{fromEnv: RECONCILER_SECRET_HTTP_PROXY_PASSWORD}"]
