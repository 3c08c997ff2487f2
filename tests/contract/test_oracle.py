"""The contract test's oracle (``benchmarks/oracle.py``) stands apart from the planner, and it can
fail: a planner that stops following the org manifest, or an apply that leaves a phone pending,
is a violation even though the tool itself reports "Converged"."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import contract, oracle  # noqa: E402
from benchmarks.harness import SIM_SECRETS  # noqa: E402

HQ = "locations/headquarters/settings.yaml"
ORG = "org/device-settings.yaml"


@pytest.fixture(scope="module")
def demo() -> contract.Org:
    return contract.load_org("demo")


def test_the_oracle_imports_nothing_of_the_planner() -> None:
    tree = ast.parse((ROOT / "benchmarks" / "oracle.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    ours = {name for name in imported if name.split(".")[0] in ("reconciler", "benchmarks")}
    assert ours and all(name.startswith("reconciler.sim") for name in ours), ours


def _overrides(repo: contract.Repo) -> None:
    """Headquarters customized with one override; the org manifest changes two other fields."""
    repo[HQ]["spec"] = {"customEnabled": True, "customizations": {"mpp": {"backlightTimer": "ALWAYS_ON"}}}
    mpp = repo[ORG]["spec"]["customizations"]["mpp"]
    mpp["phoneLanguage"] = "ENGLISH_UNITED_STATES"
    mpp["cdpEnabled"] = False


def test_a_customized_location_that_follows_the_org_is_judged_right(
    demo: contract.Org, tmp_path: Path
) -> None:
    outcome = contract.check(demo, [contract.Edit("overrides", _overrides)], tmp_path)
    assert outcome.kind == "converged", outcome.detail


def test_a_planner_that_does_not_follow_is_caught(
    demo: contract.Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.planning.kinds import settings

    real = settings.with_leaves

    def blind(customizations: Any, inherited: list[Any]) -> dict[str, Any]:
        return real(customizations, [])

    monkeypatch.setattr(settings, "with_leaves", blind)
    outcome = contract.check(demo, [contract.Edit("overrides", _overrides)], tmp_path)
    assert outcome.kind == "violation", outcome
    assert "oracle: location" in outcome.detail and "phoneLanguage" in outcome.detail, outcome.detail
    assert "Converged" in outcome.detail  # the tool itself saw nothing wrong


def test_a_phone_left_pending_is_caught(demo: contract.Org, tmp_path: Path) -> None:
    def hold(repo: contract.Repo) -> None:
        _overrides(repo)
        repo["policy.yaml"] = {
            "apiVersion": "reconciler/v1",
            "kind": "Policy",
            "metadata": {"name": "hold"},
            "spec": {"push": "never"},
        }

    outcome = contract.check(demo, [contract.Edit("held pushes", hold)], tmp_path)
    assert outcome.kind == "violation" and "left pending" in outcome.detail, outcome


def test_the_oracle_compares_the_org_it_is_given(demo: contract.Org) -> None:
    """A change made behind the apply's back (a device's layout) is a difference."""
    app = demo.app()
    store = app.state.sim.store
    before = oracle.snapshot(store)
    device = store.device_by_mac("0A1B2C3D4E07")
    assert device is not None and device.layout is None
    device.layout = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": False,
        "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
    }
    problems = oracle.judge(before, demo.files, dict(SIM_SECRETS), oracle.snapshot(store))
    assert any(p.startswith("0A1B2C3D4E07.layout.mode") for p in problems), problems
    assert any("configuration changed and it was not pushed" in p for p in problems), problems


def test_explain_is_held_to_the_oracle(
    demo: contract.Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explain's sources are checked against the oracle's reading of the manifests: an explain that
    forgets the chain of declarations (every value 'default') is a violation."""
    from reconciler.flows import explain

    edit = contract.Edit("overrides", _overrides)
    assert contract.check(demo, [edit], tmp_path / "a").kind == "converged"

    async def nothing_declared(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(explain, "_declared_chain", nothing_declared)
    outcome = contract.check(demo, [edit], tmp_path / "b")
    assert outcome.kind == "violation" and "explain disagrees" in outcome.detail, outcome
    assert "declared by 'org'" in outcome.detail or "declared by 'location" in outcome.detail, outcome.detail
