"""Plans a reviewer reads at a glance: object names, only what differs, diff markdown, object counts."""

from __future__ import annotations

from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Plan, Step
from reconciler.planning.titles import name_steps, object_names, title_for
from reconciler.render import change_lines, render_markdown, render_text, summary_line

DEV = "Y2lzY29zcGFyazovL3VzL0RFVklDRS8wYzZkMDY3Ny1kMWMyLTQ0ODYtYjhhMy0wYzY1NjhkYmNkMDY"
PERSON = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS83MGQzYzBmZS1iYWE2LTRmNzctOGZjMi03MzU5OWJmMTIwZjU"


def _step(resource: str, action: str = "update", **kw: object) -> Step:
    defaults: dict[str, object] = {
        "address": resource,
        "resource": resource,
        "action": action,
        "phase": 4,
        "method": "PUT",
        "path": f"/telephony/config/devices/{DEV}/members",
    }
    defaults.update(kw)
    return Step(**defaults)  # type: ignore[arg-type]


def test_titles_of_every_kind() -> None:
    assert title_for("Device/0A1B2C3D4E01", ["Cisco 8851", "alice@example.com"]) == (
        "Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)"
    )
    assert title_for("LineKeyTemplate/Sales 8851") == 'LineKeyTemplate "Sales 8851"'
    assert title_for("LocationDeviceSettings/Headquarters") == 'Location "Headquarters" device settings'
    assert title_for("OrgDeviceSettings/org") == "Org device settings"
    assert title_for("PersonDevices/alice@example.com") == "Person alice@example.com"
    assert title_for("WorkspaceDevices/Front Desk") == 'Workspace "Front Desk"'


def test_device_step_is_named_with_model_and_owner() -> None:
    step = _step("Device/0A1B2C3D4E01")
    devices = {"0A1B2C3D4E01": {"product": "Cisco 8851", "personId": PERSON}}
    name_steps([step], devices, {PERSON: "person alice@example.com"})
    assert step.title == "Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)"
    text = render_text(Plan(steps=[step]))
    assert "~ Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)" in text
    assert DEV not in text and "PUT" not in text  # the API call only with --verbose
    assert f"PUT /telephony/config/devices/{DEV}/members" in render_text(Plan(steps=[step]), verbose=True)


def test_changed_entry_shows_only_the_differing_attributes() -> None:
    before = [{"member": "person bob@x", "port": 1, "lineWeight": 1, "hotlineEnabled": False}]
    after = [{"member": "person bob@x", "port": 1, "lineWeight": 2, "hotlineEnabled": False}]
    assert change_lines(FieldChange("/members", before, after)) == ["~ members[port 1].lineWeight: 1 -> 2"]


def test_removed_kem_and_line_keys_show_label_and_value() -> None:
    key = dict(
        kemModuleIndex=1, kemKeyIndex=2, kemKeyType="SPEED_DIAL", kemKeyLabel="Dave", kemKeyValue="1004"
    )
    lines = change_lines(FieldChange("/layout/kemKeys", {"1.2": key}, {}))
    assert lines == [
        '- layout.kemKeys[1.2]: kemKeyType: "SPEED_DIAL", kemKeyLabel: "Dave", kemKeyValue: "1004"'
    ]
    keys = [{"lineKeyIndex": 3, "lineKeyType": "SPEED_DIAL", "lineKeyLabel": "Sales", "lineKeyValue": "2001"}]
    lines = change_lines(FieldChange("/lineKeys", keys, []))
    assert lines == ['- lineKeys[3]: lineKeyType: "SPEED_DIAL", lineKeyLabel: "Sales", lineKeyValue: "2001"']


def test_a_long_added_entry_wraps_under_100_columns() -> None:
    entry = {"port": 2, **{f"attribute{i}": f"value number {i}" for i in range(12)}}
    lines = change_lines(FieldChange("/members", [], [entry]))
    assert len(lines) > 1 and all(len("      " + line) <= 100 for line in lines)
    assert " ".join(line.strip() for line in lines).count("attribute") == 12


def test_summary_counts_objects_and_what_jobs_touch() -> None:
    steps = [
        _step("Device/0A1B2C3D4E01", address="Device/0A1B2C3D4E01.members"),
        _step("Device/0A1B2C3D4E01", address="Device/0A1B2C3D4E01.layout"),
        _step("LineKeyTemplate/New", action="create", phase=2),
        _step(
            "LineKeyTemplateAssignment/a",
            action="job",
            phase=6,
            job_type="applyLineKeyTemplate",
            meta={"deviceCount": 48},
        ),
        _step("Device/0A1B2C3D4E01", action="invoke", phase=7, counts=False, address="x.applyChanges"),
    ]
    assert summary_line(Plan(steps=steps)) == (
        "Plan: 1 to create, 2 to update, 0 to delete; 1 job touching 48 devices."
    )


def test_markdown_is_a_diff_with_escaped_names_and_a_fence_values_cannot_close() -> None:
    step = _step(
        "WorkspaceDevices/<b>Lobby</b>",
        changes=[FieldChange("/settings/x", "a```b", "c")],
        summary="<script>",
    )
    md = render_markdown(Plan(steps=[step]))
    assert "&lt;b&gt;Lobby&lt;/b&gt;" in md and "&lt;script&gt;" in md and "<script>" not in md
    assert '````diff\n- settings.x: "a```b"\n+ settings.x: "c"\n````' in md
    assert DEV not in md  # the API call only with verbose
    assert DEV in render_markdown(Plan(steps=[step]), verbose=True)


def test_stale_reads_are_named_as_objects() -> None:
    step = _step("Device/0A1B2C3D4E01", title="Device 0A:1B:2C:3D:4E:01 (Cisco 8851)")
    plan = Plan(steps=[step], objects={PERSON: "Person alice@example.com"})
    names = object_names(
        plan,
        [
            f"/telephony/config/devices/{DEV}/layout",
            f"/telephony/config/people/{PERSON}/devices",
            "/telephony/config/devices/settings",
        ],
    )
    assert names == [
        "Device 0A:1B:2C:3D:4E:01 (Cisco 8851)",
        "Person alice@example.com",
        "/telephony/config/devices/settings",  # no step or object claims it: the path
    ]
