"""A settings secret declared by reference (``{fromEnv: NAME}``) is compared by its variable's value
when that is set: a declaration alone is a plan line, is written, and the re-plan is empty. Before,
such a declaration was never compared and written only along with another change of its object:
an org manifest adding ``httpProxy.password`` planned "No changes", and every phone kept ''."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

VARIABLE = "RECONCILER_SECRET_CONTRACT_PROXY"
LINE = f"~ customizations.mpp.httpProxy.password: (sensitive, from {VARIABLE})"


def _org_with_password(repo: Path) -> None:
    org = repo / "org" / "device-settings.yaml"
    text = org.read_text()
    assert "      backlightTimer: THIRTY_MIN\n" in text
    org.write_text(
        text.replace(
            "      backlightTimer: THIRTY_MIN\n",
            "      backlightTimer: THIRTY_MIN\n"
            f"      httpProxy:\n        password: {{fromEnv: {VARIABLE}}}\n",
        )
    )


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def test_a_declared_settings_secret_alone_is_written_and_converges(
    repo: Path, demo_org: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run("apply", str(repo), "--auto-approve", "--force")[0] == 0
    assert _run("plan", str(repo), "--detailed-exitcode")[0] == 0
    _org_with_password(repo)
    # Without the variable the value cannot be compared: nothing to plan (and apply refuses).
    monkeypatch.delenv(VARIABLE, raising=False)
    assert _run("plan", str(repo), "--detailed-exitcode")[0] == 0
    monkeypatch.setenv(VARIABLE, "Proxy-Secret-42")
    code, out = _run("plan", str(repo), "--detailed-exitcode")
    assert code == 2 and LINE in out and "Proxy-Secret-42" not in out, out
    code, out = _run("apply", str(repo), "--auto-approve")
    assert code == 0 and "Converged" in out and "Proxy-Secret-42" not in out, out
    store = demo_org.state.sim.store  # type: ignore[attr-defined]
    assert store.org_customizations["mpp"]["httpProxy"]["password"] == "Proxy-Secret-42"
    assert _run("plan", str(repo), "--detailed-exitcode")[0] == 0
    # Changed behind the tool: drift, and written back.
    store.org_customizations["mpp"]["httpProxy"]["password"] = "changed-in-control-hub"
    code, out = _run("plan", str(repo), "--detailed-exitcode")
    assert code == 2 and LINE in out and "changed-in-control-hub" not in out, out
    assert os.environ[VARIABLE] == "Proxy-Secret-42"


def test_a_device_secret_write_is_shown_once_under_its_settings(
    repo: Path, demo_org: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customized device that follows the org's declared password: one line, under ``settings``."""
    _org_with_password(repo)
    monkeypatch.setenv(VARIABLE, "Proxy-Secret-42")
    code, out = _run("plan", str(repo), "--format", "json")
    assert code == 0, out
    steps = [s for s in json.loads(out)["steps"] if s["address"] == "Device/0A1B2C3D4E01.settings"]
    paths = [c["path"] for s in steps for c in s["changes"] if c["path"].endswith("/password")]
    assert paths == ["/settings/customizations/mpp/httpProxy/password"], paths
