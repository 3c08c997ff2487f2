"""verification_scope: what apply re-reads after it wrote."""

from __future__ import annotations

from reconciler.applying.verify import verification_scope
from reconciler.model import Location, Resource
from reconciler.planning.plan import Plan, Step

SPEC = {"members": [{"person": "a@example.com", "port": 1}], "layout": {"template": "T"}, "settings": {}}


def res(kind: str, name: str, spec: dict[str, object]) -> Resource:
    return Resource(kind=kind, name=name, metadata={}, spec=dict(spec), source=Location("f.yaml", 1, 1))


def step(resource: str, part: str, phase: int = 4, **kw: object) -> Step:
    return Step(f"{resource}.{part}", resource, "update", phase, "PUT", "/x", **kw)  # type: ignore[arg-type]


def test_device_trimmed_to_written_parts_and_pushes_ignored() -> None:
    a, b = res("Device", "A", {**SPEC, "sipPassword": "s"}), res("Device", "B", SPEC)
    policy = res("Policy", "p", {})
    plan = Plan(
        steps=[
            step("Device/A", "settings"),
            step("Device/A", "sipPassword"),
            step("Device/B", "applyChanges", 7),
        ]
    )
    scope = verification_scope(plan, [a, b, policy])
    assert [(r.address, sorted(r.spec)) for r in scope] == [("Device/A", ["settings"]), ("Policy/p", [])]
    assert sorted(a.spec) == ["layout", "members", "settings", "sipPassword"]  # the original is untouched


def test_location_settings_job_adds_the_devices_of_that_location() -> None:
    loc = res("LocationDeviceSettings", "HQ", {"customEnabled": True})
    here, there, bare = (
        res("Device", "A", SPEC),
        res("Device", "B", SPEC),
        res("Device", "C", {"members": []}),
    )
    job = step(
        "LocationDeviceSettings/HQ", "job", 3, job_type="callDeviceSettings", body={"locationId": "L1"}
    )
    where = {"A": "L1", "B": "L2", "C": "L1"}
    scope = verification_scope(Plan(steps=[job]), [loc, here, there, bare], lambda r: where[r.name])
    assert [(r.address, sorted(r.spec)) for r in scope] == [
        ("LocationDeviceSettings/HQ", ["customEnabled"]),
        ("Device/A", ["settings"]),
    ]
    # the org's job: every device that declares settings
    org = step("OrgDeviceSettings/org", "job", 3, job_type="callDeviceSettings", body={"customizations": {}})
    scope = verification_scope(Plan(steps=[org]), [here, there, bare], lambda r: where[r.name])
    assert [r.address for r in scope] == ["Device/A", "Device/B"]


def test_prune_keeps_every_template() -> None:
    t1, t2 = res("LineKeyTemplate", "T1", {}), res("LineKeyTemplate", "T2", {})
    plan = Plan(steps=[step("LineKeyTemplate/gone", "prune", 8)], prune=True)
    assert [r.address for r in verification_scope(plan, [t1, t2])] == [
        "LineKeyTemplate/T1",
        "LineKeyTemplate/T2",
    ]
    assert verification_scope(Plan(steps=[step("LineKeyTemplate/gone", "prune", 8)]), [t1, t2]) == []
