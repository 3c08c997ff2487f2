"""Contract violations the random edits found, each pinned by the edit that found it: plan refuses
with file:line (no write) what apply could not do or could not converge on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import contract  # noqa: E402


@pytest.fixture(scope="module")
def demo() -> contract.Org:
    return contract.load_org("demo")


def edited(org: contract.Org, rel: str, change: Any, tmp_path: Path) -> contract.Outcome:
    return contract.check(org, [contract.Edit(rel, lambda repo: change(repo[rel]))], tmp_path)


def test_location_customizations_without_custom_enabled_are_refused(
    demo: contract.Org, tmp_path: Path
) -> None:
    """Headquarters uses the org settings (customEnabled: false): a changed customization would be
    dropped by the job and the plan would never be empty."""

    def change(doc: dict[str, Any]) -> None:
        doc["spec"]["customizations"] = {"mpp": {"offHookTimer": 45}}

    outcome = edited(demo, "locations/headquarters/settings.yaml", change, tmp_path / "a")
    assert outcome.kind == "refused", outcome

    def enable(doc: dict[str, Any]) -> None:
        change(doc)
        doc["spec"]["customEnabled"] = True

    assert edited(demo, "locations/headquarters/settings.yaml", enable, tmp_path / "b").kind == "converged"
