"""The README's example of every kind applies cleanly on the demo org: plan accepts it, apply does it
without a failed step and converges, and a second plan is empty.

The README's device MACs are placeholders; they are pointed at demo devices of a model that takes
what the example declares (an 8851 with two ports and the "Sales 8851" template; an 8865 with KEM
modules)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli as run

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
# README placeholder MAC -> a demo device of a model that takes the example.
DEMO_MACS = {
    '"0A:1B:2C:3D:4E:5F"': "0A1B2C3D4E01",
    "0a-1b-2c-3d-4e-60": "0A1B2C3D4E02",
    "0a-1b-2c-3d-4e-61": "0A1B2C3D4E0B",  # the demo org's third-party SIP phone
}


def blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def kind_of(block: str) -> str:
    return re.findall(r"^kind: (\w+)$", block, re.M)[0]


def test_every_kind_has_an_example() -> None:
    assert {"Device", "LineKeyTemplate", "PersonDevices", "WorkspaceDevices"} <= {
        kind_of(b) for b in blocks()
    }


@pytest.mark.parametrize("index", range(len(blocks())), ids=lambda i: f"{i}-{kind_of(blocks()[i])}")
def test_readme_example_applies_on_the_demo_org(
    demo_org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    monkeypatch.setenv("RECONCILER_SECRET_SIP_LOBBY", "Lobby2024secret")
    block = blocks()[index]
    for placeholder, mac in DEMO_MACS.items():
        block = block.replace(f"mac: {placeholder}", f"mac: {mac}")
    repo = tmp_path / "repo"
    (repo / "org").mkdir(parents=True)
    (repo / "org" / "example.yaml").write_text(block, encoding="utf-8")
    # BackgroundImages reads its file next to the manifest.
    logo = ROOT / "examples" / "org" / "company-logo.png"
    (repo / "org" / "company-logo.png").write_bytes(logo.read_bytes())
    r = run("plan", str(repo))
    assert r.exit_code == 0, r.output
    # A write-only secret is written when its declaration is new since a baseline; this repo has
    # none (no git history), so the example is applied as a first rotation would be.
    rotate = ["--rotate-secrets"] if "sipPassword" in block else []
    r = run("apply", str(repo), "--auto-approve", *rotate)
    assert r.exit_code == 0, r.output
    if kind_of(block) == "Policy":  # a Policy changes nothing in the org
        assert "Nothing to apply" in r.output, r.output
    else:
        assert " 0 failed" in r.output and "Converged" in r.output, r.output
    r = run("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
