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


def _device(org: contract.Org, model: str) -> str:
    return next(rel for rel, m in sorted(org.models.items()) if m == model)


def test_device_customizations_without_custom_enabled_are_refused(demo: contract.Org, tmp_path: Path) -> None:
    rel = _device(demo, "DMS Cisco 8851")

    def change(doc: dict[str, Any]) -> None:
        doc["spec"]["settings"] = {"customizations": {"mpp": {"offHookTimer": 45}}}

    assert edited(demo, rel, change, tmp_path / "a").kind == "refused"

    def enable(doc: dict[str, Any]) -> None:
        change(doc)
        doc["spec"]["settings"]["customEnabled"] = True

    assert edited(demo, rel, enable, tmp_path / "b").kind == "converged"


@pytest.mark.parametrize(("hours", "kind"), [(999, "converged"), (1000, "refused"), (0, "refused")])
def test_guest_hours_limit_is_bounded_like_the_api(
    demo: contract.Org, tmp_path: Path, hours: int, kind: str
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["spec"]["hoteling"] = {"enabled": False, "limitGuestUse": True, "guestHoursLimit": hours}

    assert edited(demo, "people/alice@example.com.yaml", change, tmp_path).kind == kind


def test_hotline_without_destination_is_refused(demo: contract.Org, tmp_path: Path) -> None:
    rel = _device(demo, "DMS Cisco 8851")

    def change(doc: dict[str, Any]) -> None:
        doc["spec"]["members"][0]["hotlineEnabled"] = True

    assert edited(demo, rel, change, tmp_path / "a").kind == "refused"

    def with_destination(doc: dict[str, Any]) -> None:
        change(doc)
        doc["spec"]["members"][0]["hotlineDestination"] = "4357"

    assert edited(demo, rel, with_destination, tmp_path / "b").kind == "converged"


def test_an_empty_line_label_converges(demo: contract.Org, tmp_path: Path) -> None:
    """The API drops an empty label: declaring one is declaring none, not a change forever."""
    rel = _device(demo, "DMS Cisco 8851")

    def change(doc: dict[str, Any]) -> None:
        doc["spec"]["members"][0]["lineLabel"] = ""

    assert edited(demo, rel, change, tmp_path).kind == "converged"


OWNED = "locations/headquarters/devices/0A1B2C3D4E05.yaml"  # Front Desk's 8865, Alice on port 2


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda ms: ms[0].update(primaryOwner=False), id="owner-not-primary"),
        pytest.param(lambda ms: ms[0].pop("primaryOwner"), id="owner-primary-left-out"),
        pytest.param(lambda ms: ms.pop(0), id="owner-removed"),
        pytest.param(lambda ms: (ms.pop(0), ms[0].update(primaryOwner=True)), id="another-primary"),
    ],
)
def test_the_device_owner_stays_the_primary_member(demo: contract.Org, tmp_path: Path, edit: Any) -> None:
    """The API keeps a device's owner: leaving it out, or listing it (or someone else) otherwise
    than as the one primary owner, is refused by plan instead of failing or never converging."""
    assert demo.files[OWNED]["spec"]["members"][0]["workspace"] == "Front Desk"
    outcome = edited(demo, OWNED, lambda doc: edit(doc["spec"]["members"]), tmp_path)
    assert outcome.kind == "refused", outcome


def test_turning_custom_settings_off_while_keeping_customizations_is_refused(tmp_path: Path) -> None:
    """Generated org 7's first location has its own settings (customEnabled: true, exported with
    them): turning them off while keeping the customizations changes nothing they show until the
    job runs, then the org's settings show and the plan is never empty again."""
    org = contract.load_org(7, 24)
    rel = "locations/site-001-san-jose/settings.yaml"
    assert org.files[rel]["spec"]["customEnabled"] is True

    def off(doc: dict[str, Any]) -> None:
        doc["spec"]["customEnabled"] = False

    assert edited(org, rel, off, tmp_path / "a").kind == "refused"

    def off_without_customizations(doc: dict[str, Any]) -> None:
        off(doc)
        del doc["spec"]["customizations"]

    assert edited(org, rel, off_without_customizations, tmp_path / "b").kind == "converged"
