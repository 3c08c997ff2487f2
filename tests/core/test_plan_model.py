from __future__ import annotations

import json

import pytest

from reconciler.errors import ConfigError, PlanRefused
from reconciler.model import SecretRef
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Plan, Step, enforce_threshold
from reconciler.render import render_markdown, render_text


def _step(i: int, phase: int = 4, action: str = "update") -> Step:
    return Step(
        address=f"Device/0A1B2C3D4E{i:02X}.settings",
        resource=f"Device/0A1B2C3D4E{i:02X}",
        action=action,
        phase=phase,
        method="PUT",
        path=f"/telephony/config/devices/d{i}/settings",
        body={"customEnabled": True, "secret": SecretRef("PW")},
        changes=[FieldChange("/settings/customEnabled", False, True)],
        source=f"examples/d{i}.yaml:3:1",
    )


def test_round_trip_keeps_secret_references_and_checksum() -> None:
    plan = Plan(steps=[_step(1), _step(2)], reads={"GET /a": "x"}, paths=["examples"], managed=2)
    data = json.loads(json.dumps(plan.to_json()))
    assert data["steps"][0]["body"]["secret"] == {"fromEnv": "PW"}
    again = Plan.from_json(data)
    assert again.checksum == plan.checksum
    assert again.steps[0].body["secret"] == SecretRef("PW")


def test_tampered_plan_is_refused() -> None:
    data = Plan(steps=[_step(1)], reads={"GET /a": "x"}).to_json()
    data["reads"]["GET /a"] = "y"
    with pytest.raises(ConfigError, match="checksum"):
        Plan.from_json(data)


def test_threshold() -> None:
    plan = Plan(steps=[_step(i) for i in range(5)], managed=10)
    enforce_threshold(plan, 5, None, force=False)
    with pytest.raises(PlanRefused, match="more than --max-changes 4"):
        enforce_threshold(plan, 4, None, force=False)
    with pytest.raises(PlanRefused, match="50%"):
        enforce_threshold(plan, None, 40, force=False)
    enforce_threshold(plan, 1, 1, force=True)


def test_text_render_shows_before_after_and_summary() -> None:
    text = render_text(Plan(steps=[_step(1)]))
    assert "~ settings.customEnabled: false -> true" in text
    assert "Plan: 0 to create, 1 to update" in text


def test_markdown_is_bounded_and_says_what_it_left_out() -> None:
    plan = Plan(steps=[_step(i % 250 + 1) for i in range(5000)])
    for i, s in enumerate(plan.steps):
        s.address = f"Device/{i:012X}.settings"
    md = render_markdown(plan, artifact="plan.json")
    assert len(md) <= 60_000
    assert "more step(s) not shown" in md and "plan.json" in md


def test_a_plans_objects_are_named_once_and_only_when_read() -> None:
    from reconciler.planning.titles import Named

    calls: list[int] = []

    def make() -> dict[str, str]:
        calls.append(1)
        return {"Y2lzY29zcGFyazovL3VzL0RFVklDRS8x": "Device 0A:1B:2C:3D:4E:01"}

    plan = Plan(steps=[], objects=Named(make))
    assert calls == []  # a plan that is only shown never names them
    saved = plan.to_json()
    assert saved["objects"] == {"Y2lzY29zcGFyazovL3VzL0RFVklDRS8x": "Device 0A:1B:2C:3D:4E:01"}
    assert Plan.from_json(saved).objects == plan.objects and len(plan.objects) == 1
    assert calls == [1]
