"""Plan is a contract: what a device's model does not take (its supportedDevices flags), plan and
apply refuse with ``file:line:col`` at the offending field, exit 1, before any write. Through the
CLI against the in-process demo org; the simulator would answer each of these with a 400."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli as run

GENERIC = "Generic IPPhone Customer Managed"


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "repo" / "manifest.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line holding ``needle``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def device(mac: str, body: str) -> str:
    return f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: {mac}}}\nspec:\n{body}"


SETTINGS_MPP = (
    "  settings:\n    customEnabled: true\n    customizations:\n      mpp: {backlightTimer: ALWAYS_ON}\n"
)
MEMBERS_6871 = """\
  members:
    - {person: dave@example.com, port: 1, primaryOwner: true, lineType: PRIMARY}
"""

CASES: dict[str, tuple[str, str, str]] = {
    # name: (manifest, the text on the offending line, the message)
    "port beyond the line ports": (
        device("0A1B2C3D4E04", MEMBERS_6871 + "    - {person: carol@example.com, port: 8}\n"),
        "port: 8",
        "port 8 is beyond the Cisco 6871's 6 line ports",
    ),
    "line weight beyond the ports": (
        device(
            "0A1B2C3D4E04",
            MEMBERS_6871 + "    - person: carol@example.com\n      port: 5\n      lineWeight: 3\n",
        ),
        "lineWeight: 3",
        "lineWeight 3 from port 5 needs ports up to 7; the Cisco 6871 has 6 line ports",
    ),
    "line weight beyond the line appearances": (
        device(
            "0A1B2C3D4E04",
            "  members:\n    - person: dave@example.com\n      port: 1\n      primaryOwner: true\n"
            "      lineWeight: 9\n",
        ),
        "lineWeight: 9",
        "lineWeight 9 is more than the Cisco 6871's 6 line appearances",
    ),
    "t38 on an MPP phone": (
        device(
            "0A1B2C3D4E04",
            MEMBERS_6871
            + "    - person: carol@example.com\n      port: 2\n      t38FaxCompressionEnabled: true\n",
        ),
        "t38FaxCompressionEnabled",
        "the Cisco 6871 does not support T.38 fax compression (t38Enabled)",
    ),
    "line label on an ATA": (
        device(
            "0A1B2C3D4E0A",
            "  members:\n    - {workspace: Break Room, port: 1, primaryOwner: true}\n"
            "    - person: erin@example.com\n      port: 2\n      lineLabel: Erin\n",
        ),
        "lineLabel",
        "the Cisco 191 does not support line labels (customizableLineLabelEnabled)",
    ),
    "call decline off on an ATA": (
        device(
            "0A1B2C3D4E0A",
            "  members:\n    - workspace: Break Room\n      port: 1\n      primaryOwner: true\n"
            "      allowCallDeclineEnabled: false\n",
        ),
        "allowCallDeclineEnabled",
        "the Cisco 191 does not support declining calls per line (callDeclinedEnabled)",
    ),
    "KEM key beyond the module's keys": (
        device(
            "0A1B2C3D4E02",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n    kemModuleType: KEM_14_KEYS\n"
            "    kemKeys:\n      - {kemModuleIndex: 1, kemKeyIndex: 1, kemKeyType: OPEN}\n"
            "      - kemModuleIndex: 1\n        kemKeyIndex: 17\n        kemKeyType: OPEN\n",
        ),
        "kemKeyIndex: 17",
        "KEM key 17 is beyond the 14 keys of a KEM_14_KEYS module",
    ),
    "KEM module beyond the model's modules": (
        device(
            "0A1B2C3D4E01",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n    kemModuleType: KEM_18_KEYS\n"
            "    kemKeys:\n      - kemModuleIndex: 3\n        kemKeyIndex: 1\n        kemKeyType: OPEN\n",
        ),
        "kemModuleIndex: 3",
        "KEM module 3 is beyond the Cisco 8851's 2 modules",
    ),
    "KEM type the model does not take": (
        device(
            "0A1B2C3D4E02",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n    kemModuleType: KEM_20_KEYS\n",
        ),
        "kemModuleType",
        "the Cisco 8865 does not take KEM_20_KEYS (it takes KEM_14_KEYS, KEM_18_KEYS)",
    ),
    "KEM on a model without KEM": (
        device(
            "0A1B2C3D4E04",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n    kemModuleType: KEM_14_KEYS\n",
        ),
        "kemModuleType",
        "the Cisco 6871 does not take KEM_14_KEYS (it takes no key expansion module)",
    ),
    "line key beyond the model's keys": (
        device(
            "0A1B2C3D4E04",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n"
            "      - {lineKeyIndex: 7, lineKeyType: OPEN}\n",
        ),
        "lineKeyIndex: 7",
        "line key 7 is beyond the Cisco 6871's 6 line keys",
    ),
    "layout on an ATA": (
        device(
            "0A1B2C3D4E0A",
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n",
        ),
        "layout:",
        "the Cisco 191 does not allow configuring its layout",
    ),
    "ata settings on an 8865": (
        device(
            "0A1B2C3D4E02",
            "  settings:\n    customEnabled: true\n    customizations:\n"
            "      mpp: {backlightTimer: ALWAYS_ON}\n      ata: {ataDtmfMode: STRICT}\n",
        ),
        "ata: {ataDtmfMode",
        "the Cisco 8865 takes mpp settings, not ata",
    ),
    "mpp settings on an ATA": (
        device(
            "0A1B2C3D4E0A",
            SETTINGS_MPP,
        ),
        "mpp:",
        "the Cisco 191 takes ata settings, not mpp",
    ),
    "settings on a third-party SIP phone": (
        device(
            "0A1B2C3D4E0B",
            SETTINGS_MPP,
        ),
        "settings:",
        f"the {GENERIC} does not allow configuring its settings",
    ),
    "hoteling for a workspace that owns an ATA": (
        "apiVersion: reconciler/v1\nkind: WorkspaceDevices\nmetadata: {workspace: Break Room}\n"
        "spec:\n  hoteling:\n    enabled: true\n",
        "enabled: true",
        "hoteling needs a device that allows a hoteling host; the devices this workspace owns do not",
    ),
    "hoteling for a person who owns a third-party phone": (
        "apiVersion: reconciler/v1\nkind: PersonDevices\nmetadata: {person: judy@example.com}\n"
        "spec:\n  hoteling:\n    enabled: true\n",
        "enabled: true",
        "the devices this person owns do not (allowHotelingHostEnabled)",
    ),
    "template key beyond the model's keys": (
        "apiVersion: reconciler/v1\nkind: LineKeyTemplate\nmetadata: {name: Wide 8851}\nspec:\n"
        "  deviceModel: DMS Cisco 8851\n  lineKeys:\n"
        "    - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n    - {lineKeyIndex: 6, lineKeyType: OPEN}\n",
        "lineKeyIndex: 6",
        "line key 6 is beyond the Cisco 8851's 5 line keys",
    ),
    "template for a model without layouts": (
        "apiVersion: reconciler/v1\nkind: LineKeyTemplate\nmetadata: {name: ATA keys}\nspec:\n"
        "  deviceModel: DMS Cisco 191\n  lineKeys:\n    - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n",
        "deviceModel",
        "the Cisco 191 does not take line key templates",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_and_apply_refuse_what_the_model_does_not_take(demo_org: Any, tmp_path: Path, case: str) -> None:
    text, needle, message = CASES[case]
    path = manifest(tmp_path, text)
    where = f"{path}:{line_of(path, needle)}:"
    r = run("plan", str(path))
    assert r.exit_code == 1, r.output
    assert where in r.output and message in r.output, r.output
    r = run("apply", str(path), "--auto-approve")
    assert r.exit_code == 1, r.output
    assert where in r.output and message in r.output, r.output
    stats = demo_org.state.sim.stats
    assert stats.writes_total == 0
    assert not [k for k in stats.requests_by_route if not k.startswith("GET ")], dict(stats.requests_by_route)


def test_every_refusal_is_reported_at_once(demo_org: Any, tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        device(
            "0A1B2C3D4E0A",
            "  members:\n    - {workspace: Break Room, port: 1, primaryOwner: true}\n"
            "    - {person: erin@example.com, port: 3}\n" + SETTINGS_MPP,
        ),
    )
    r = run("plan", str(path))
    assert r.exit_code == 1
    assert (
        f"{path}:{line_of(path, 'port: 3')}:" in r.output and "port 3 is beyond the Cisco 191's 2" in r.output
    )
    assert f"{path}:{line_of(path, 'mpp:')}:" in r.output


def test_within_the_model_s_limits_plan_applies_and_converges(demo_org: Any, tmp_path: Path) -> None:
    # The boundaries themselves are taken: the last port, the last KEM key, an ATA's T.38.
    path = manifest(
        tmp_path,
        device(
            "0A1B2C3D4E02",
            "  members:\n    - {person: bob@example.com, port: 1, primaryOwner: true}\n"
            "    - {person: carol@example.com, port: 4, lineWeight: 2, lineLabel: Carol}\n"
            "  layout:\n    layoutMode: CUSTOM\n    lineKeys:\n"
            "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n"
            "      - {lineKeyIndex: 5, lineKeyType: OPEN}\n"
            "    kemModuleType: KEM_14_KEYS\n"
            "    kemKeys:\n      - {kemModuleIndex: 3, kemKeyIndex: 14, kemKeyType: OPEN}\n",
        )
        + "---\n"
        + device(
            "0A1B2C3D4E0A",
            "  members:\n    - {workspace: Break Room, port: 1, primaryOwner: true}\n"
            "    - {person: erin@example.com, port: 2, t38FaxCompressionEnabled: true}\n",
        ),
    )
    r = run("apply", str(path), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    r = run("plan", str(path), "--detailed-exitcode")
    assert r.exit_code == 0, r.output


def test_a_third_party_phone_changes_without_apply_changes(demo_org: Any, tmp_path: Path) -> None:
    """supportsApplyChangesEnabled false: the plan pushes nothing to it (the API would refuse)."""
    path = manifest(
        tmp_path,
        device(
            "0A1B2C3D4E0B",
            "  members:\n    - {person: judy@example.com, port: 1, primaryOwner: true, hotlineEnabled: true,"
            " hotlineDestination: '1000'}\n",
        ),
    )
    r = run("plan", str(path))
    assert r.exit_code == 0, r.output
    assert "~ Device 0A:1B:2C:3D:4E:0B (" in r.output and "): device members" in r.output
    assert "push the new configuration" not in r.output
    r = run("apply", str(path), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert demo_org.state.sim.stats.writes_total == 1 and "Converged" in r.output
