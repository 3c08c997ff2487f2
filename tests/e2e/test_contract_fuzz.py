"""Random single-device edits on the demo org: each one either is refused by ``plan`` (exit 1, with
``file:line``, nothing written) or is applied by ``apply`` without a failed step and converges.
Never accepted by plan and then refused by the API at apply."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.sim.app import create_app

# MAC -> (owner reference, model)
DEVICES = {
    "0A1B2C3D4E01": ("person: alice@example.com", "8851"),
    "0A1B2C3D4E02": ("person: bob@example.com", "8865"),
    "0A1B2C3D4E04": ("person: dave@example.com", "6871"),
    "0A1B2C3D4E0A": ("workspace: Break Room", "191"),
    "0A1B2C3D4E0B": ("person: judy@example.com", "generic"),
}
EDITS = 40


def _member_edit(rng: random.Random, owner: str) -> str:
    second = [f"person: {rng.choice(['carol', 'erin', 'grace'])}@example.com", f"port: {rng.randint(2, 8)}"]
    if rng.random() < 0.5:
        second.append(f"lineWeight: {rng.randint(1, 4)}")
    if rng.random() < 0.3:
        second.append("t38FaxCompressionEnabled: true")
    if rng.random() < 0.3:
        second.append("lineLabel: Shared")
    if rng.random() < 0.3:
        second.append("allowCallDeclineEnabled: false")
    return f"  members:\n    - {{{owner}, port: 1, primaryOwner: true}}\n    - {{{', '.join(second)}}}\n"


def _layout_edit(rng: random.Random) -> str:
    out = (
        "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
        "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n"
        f"      - {{lineKeyIndex: {rng.randint(2, 8)}, lineKeyType: OPEN}}\n"
    )
    if rng.random() < 0.6:
        out += f"    kemModuleType: {rng.choice(['KEM_14_KEYS', 'KEM_18_KEYS', 'KEM_20_KEYS'])}\n"
        out += (
            f"    kemKeys:\n      - {{kemModuleIndex: {rng.randint(1, 4)}, "
            f"kemKeyIndex: {rng.randint(1, 20)}, kemKeyType: OPEN}}\n"
        )
    return out


def _settings_edit(rng: random.Random) -> str:
    family = rng.choice(["mpp", "ata"])
    value = "{backlightTimer: ALWAYS_ON}" if family == "mpp" else "{ataDtmfMode: STRICT}"
    return f"  settings:\n    customEnabled: true\n    customizations:\n      {family}: {value}\n"


def edits(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mac = rng.choice(sorted(DEVICES))
        owner, _model = DEVICES[mac]
        body = rng.choice([_member_edit(rng, owner), _layout_edit(rng), _settings_edit(rng)])
        out.append((mac, f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {mac}}}\nspec:\n{body}"))
    return out


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def outcome(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> tuple[str, Any]:
    """'refused' (plan exit 1), 'applied' (apply converged) or 'failed at apply', and the app."""
    app = create_app(seed="demo", job_duration_s=0)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    r = run("plan", str(path))
    if r.exit_code == 1 and f"{path}:" in r.output:
        return "refused", app
    assert r.exit_code == 0, r.output
    r = run("apply", str(path), "--auto-approve")
    if r.exit_code == 0 and ("Converged" in r.output or "Nothing to apply" in r.output):
        return "applied", app
    return "failed at apply", app


def test_no_random_edit_passes_plan_and_fails_at_apply(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    results: dict[str, int] = {}
    for i, (_mac, text) in enumerate(edits(2024, EDITS)):
        result, app = outcome(monkeypatch, tmp_path, text)
        results[result] = results.get(result, 0) + 1
        assert result != "failed at apply", f"edit {i} passed plan and failed at apply:\n{text}"
        if result == "refused":
            assert app.state.sim.stats.writes_total == 0
    # The edits exercise both sides of the contract.
    assert results.get("refused", 0) >= EDITS // 4 and results.get("applied", 0) >= EDITS // 10, results
