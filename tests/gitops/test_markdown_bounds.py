"""Markdown for a PR comment stays under 60,000 characters and says what it left out."""

from __future__ import annotations

import re

from reconciler.planning.diff import FieldChange
from reconciler.planning.drift import drift_report
from reconciler.planning.plan import Plan, Step
from reconciler.planning.review import PlanReview, split_plan
from reconciler.render import render_drift_markdown, render_markdown, render_review_markdown
from reconciler.render.notify import MESSAGE_LIMIT, drift_message

DEVICES = 5000
LIMIT = 60_000


def _device_steps(i: int, timer: str) -> list[Step]:
    mac = f"0A1B{i:08X}"
    cid = f"Y2lzY29zcGFyazovL3VzL0RFVklDRS9{i:08d}"
    members = Step(
        address=f"Device/{mac}.members",
        resource=f"Device/{mac}",
        action="update",
        phase=4,
        method="PUT",
        path=f"/telephony/config/devices/{cid}/members",
        changes=[
            FieldChange(
                "/members",
                [{"member": f"person u{i}@example.com", "port": 1, "lineWeight": 1}],
                [
                    {"member": f"person u{i}@example.com", "port": 1, "lineWeight": 1},
                    {"member": "workspace Front Desk", "port": 2, "lineType": "SHARED_CALL_APPEARANCE"},
                ],
            )
        ],
        source=f"devices/{mac}.yaml:7:3",
        summary="device members (the whole list)",
    )
    settings = Step(
        address=f"Device/{mac}.settings",
        resource=f"Device/{mac}",
        action="update",
        phase=4,
        method="PUT",
        path=f"/telephony/config/devices/{cid}/settings",
        changes=[
            FieldChange("/settings/customizations/mpp/backlightTimer", "ONE_MIN", timer),
            FieldChange("/settings/customizations/mpp/vlan/value", 1, 100),
        ],
        source=f"devices/{mac}.yaml:19:3",
        summary="device settings",
    )
    push = Step(
        address=f"Device/{mac}.applyChanges",
        resource=f"Device/{mac}",
        action="invoke",
        phase=7,
        method="POST",
        path=f"/telephony/config/devices/{cid}/actions/applyChanges/invoke",
        depends_on=[members.id, settings.id],
        counts=False,
    )
    return [members, settings, push]


def big_plan(timer: str = "FIVE_MIN") -> Plan:
    return Plan(
        steps=[s for i in range(DEVICES) for s in _device_steps(i, timer)],
        paths=["config"],
        managed=DEVICES,
        warnings=[f"Device/{i}: sipPassword is write-only" for i in range(40)],
    )


def _left_out(md: str) -> int:
    m = re.search(r"_Left out to stay under 60,000 characters: ([\d,]+) (step|resource)s? \(", md)
    assert m, md[-600:]
    return int(m.group(1).replace(",", ""))


def test_review_markdown_of_a_5000_device_plan_is_bounded_and_says_what_it_left_out() -> None:
    pr = big_plan("FIVE_MIN")
    base = big_plan("THIRTY_MIN")  # the members and vlan drift was there already; the PR changes the timer
    introduced, preexisting = split_plan(pr, base)
    assert len(introduced.steps) == DEVICES and len(preexisting.steps) == 3 * DEVICES
    md = render_review_markdown(PlanReview(pr, introduced, preexisting), artifact="plan.json")
    assert len(md) <= LIMIT
    summary = md.split("<details>", 1)[0]
    assert "**This pull request introduces:** 5,000 to update; 5,000 objects change." in summary
    assert "... and 30 more warning(s)" in summary
    shown = md.count("<details>")
    assert shown > 50
    assert shown + _left_out(md) == len(introduced.steps) + len(preexisting.steps)
    note = md[md.index("_Left out") :]
    assert "Changes this pull request introduces: 4. devices" in note
    assert "Drift that was already there: 4. devices 10,000, 7. apply changes to phones 5,000" in note
    assert "Full plan: the artifact `plan.json`." in note


def test_plain_plan_markdown_is_bounded() -> None:
    md = render_markdown(big_plan(), artifact="plan.json")
    assert len(md) <= LIMIT and "plan.json" in md and "not shown" in md


def test_drift_markdown_of_5000_devices_is_bounded_and_says_what_it_left_out() -> None:
    report = drift_report(big_plan())
    md = render_drift_markdown(report, artifact="drift.json")
    assert len(md) <= LIMIT
    assert md.startswith("### reconciler drift\n\n**Drift: 15,000 differences in 5,000 resources")
    shown = md.count("<details>")
    assert shown + _left_out(md) == DEVICES
    assert "(Device " in md[md.index("_Left out") :] and "Full report: `drift.json`." in md


def test_notification_of_5000_devices_fits_the_messages_api() -> None:
    message = drift_message(drift_report(big_plan()), ["config"], "https://ci.example/run/1")
    assert len(message.encode("utf-8")) <= MESSAGE_LIMIT
    assert message.startswith("**reconciler drift** in `config`: Drift: 15,000 differences")
    assert re.search(r"\.\.\. and [\d,]+ more resource\(s\)", message)
