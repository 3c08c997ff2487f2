"""`plan --baseline DIR`: the changes a pull request introduces, apart from drift already there."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.flows.connect import Connection, connect
from reconciler.flows.load import load
from reconciler.flows.make import make_plan
from reconciler.flows.review import baseline_paths, plan_with_baseline
from reconciler.planning import secrets
from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import Plan, Step
from reconciler.planning.planner import build_plan
from reconciler.planning.review import PlanReview, split_change, split_plan

from .conftest import copy_examples, keep_members, run, set_backlight

MAC = "0A1B2C3D4E01"
DEVICE_FILE = Path("locations") / "headquarters" / "devices" / f"{MAC}.yaml"


@pytest.fixture
def review_repos(
    sim: Any, applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Baseline: the examples, applied, then changed out of band. PR: the baseline plus one edit."""
    set_backlight(sim, MAC, "ONE_MIN")  # drift on a field the PR does not touch
    keep_members(sim, MAC, lambda m: m["port"] == 1)  # drift in a list the PR does not touch
    pr = copy_examples(tmp_path / "pr")
    device = pr / DEVICE_FILE
    device.write_text(device.read_text().replace("value: 100}", "value: 101}"))  # the PR's one edit
    monkeypatch.chdir(pr)
    return applied, pr


def _addresses(part: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {s["address"]: s["changes"] for s in part["steps"]}


def test_baseline_splits_pr_changes_from_preexisting_drift(review_repos: tuple[Path, Path], sim: Any) -> None:
    base, _ = review_repos
    r = run("plan", ".", "--baseline", str(base), "--format", "json", "--out", "plan.json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["format_version"] == 1  # the plan document is unchanged; the split is additive
    assert {s["address"] for s in doc["steps"]} == {
        f"Device/{MAC}.members",
        f"Device/{MAC}.settings",
        f"Device/{MAC}.applyChanges",
    }
    split = doc["baseline"]
    assert split["paths"] == [str(base)]
    introduced = _addresses(split["introduced"])
    assert introduced == {
        f"Device/{MAC}.settings": [
            {"path": "/settings/customizations/mpp/vlan/value", "before": 100, "after": 101}
        ]
    }
    already = _addresses(split["preexisting"])
    assert already[f"Device/{MAC}.settings"] == [
        {"path": "/settings/customizations/mpp/backlightTimer", "before": "ONE_MIN", "after": "FIVE_MIN"}
    ]
    (members,) = already[f"Device/{MAC}.members"]
    assert [m["port"] for m in members["after"]] == [1, 2] and [m["port"] for m in members["before"]] == [1]
    assert f"Device/{MAC}.applyChanges" in already  # the push would happen without the PR too
    assert split["introduced"]["summary"]["update"] == 1
    # The saved plan carries the split too, and still applies as the reviewed plan.
    saved = json.loads(Path("plan.json").read_text())
    assert saved["baseline"] == split
    r = run("apply", "--plan", "plan.json", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output


def test_text_and_markdown_show_both_sections(review_repos: tuple[Path, Path]) -> None:
    base, _ = review_repos
    r = run("plan", ".", "--baseline", str(base))
    assert r.exit_code == 0, r.output
    text = r.output
    new, _, old = text.partition("== Drift that was already there ==")
    assert new.startswith("== Changes this pull request introduces ==")
    assert "~ settings.customizations.mpp.vlan.value: 100 -> 101" in new
    assert "backlightTimer" not in new and "members" not in new
    assert '~ settings.customizations.mpp.backlightTimer: "ONE_MIN" -> "FIVE_MIN"' in old
    assert "+ members[port 2]:" in old and "vlan" not in old

    r = run("plan", ".", "--baseline", str(base), "--format", "markdown", "--out", "plan.json")
    md = r.output
    assert md.startswith("### reconciler plan")
    summary, _, details = md.partition("#### Changes this pull request introduces")
    assert "**This pull request introduces:** 1 to update; 1 object change." in summary
    assert "**Drift that was already there** (not from this pull request): 2 to update" in summary
    assert "<details>" not in summary  # summary first, details collapsed below
    new, _, old = details.partition("#### Drift that was already there")
    vlan = "settings.customizations.mpp.vlan.value"
    assert f"- {vlan}: 100\n+ {vlan}: 101" in new
    assert "backlightTimer" not in new and "backlightTimer" in old
    assert md.rstrip().endswith("Full plan: the artifact `plan.json`.")


def test_baseline_reuses_reads(review_repos: tuple[Path, Path], sim: Any) -> None:
    base, _ = review_repos
    stats = sim.state.sim.stats
    stats.reset()
    assert run("plan", ".").exit_code == 0
    alone = stats.requests_total
    stats.reset()
    assert run("plan", ".", "--baseline", str(base)).exit_code == 0
    # The baseline is planned from the reads the plan made: (almost) no request twice.
    assert stats.requests_total <= alone + 3, (alone, stats.requests_total)


def test_shared_answers_split_as_two_separate_plans_do(review_repos: tuple[Path, Path], sim: Any) -> None:
    """The answers the baseline's plan reuses are kept compact (``webex.shared``): the review is
    the one two plans that each read everything themselves give, for half the requests."""
    base, _ = review_repos
    stats = sim.state.sim.stats
    connection = Connection(sim_app=sim, concurrency=8)

    async def shared() -> PlanReview:
        async with connect(connection) as client:
            return await plan_with_baseline(client, ["."], str(base))

    async def separate() -> tuple[Plan, Plan]:
        declared = secrets.from_resources(load([str(base)]), f"baseline {base}")
        async with connect(connection) as client:
            pr = await make_plan(client, ["."], secret_baseline=declared)
        async with connect(connection) as client:
            return pr, await build_plan(client, load([str(base)]), paths=[str(base)])

    stats.reset()
    review = asyncio.run(shared())
    shared_reads = stats.requests_total
    stats.reset()
    pr, alone = asyncio.run(separate())
    assert stats.requests_total >= 2 * shared_reads - 3, (shared_reads, stats.requests_total)
    introduced, preexisting = split_plan(pr, alone)
    assert review.plan.to_json() == pr.to_json()  # the same reads (checksum), steps and objects
    assert review.introduced.to_json() == introduced.to_json()
    assert review.preexisting.to_json() == preexisting.to_json()
    assert [s.address for s in review.introduced.steps] == [f"Device/{MAC}.settings"]
    assert review.preexisting.steps and not review.warnings


def test_no_baseline_drift_means_everything_is_introduced(
    sim: Any, applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr = copy_examples(tmp_path / "pr")
    (pr / DEVICE_FILE).write_text((pr / DEVICE_FILE).read_text().replace("FIVE_MIN", "THIRTY_MIN"))
    monkeypatch.chdir(pr)
    doc = json.loads(run("plan", ".", "--baseline", str(applied), "--format", "json").output)
    assert doc["baseline"]["preexisting"]["steps"] == []
    assert set(_addresses(doc["baseline"]["introduced"])) == {
        f"Device/{MAC}.settings",
        f"Device/{MAC}.applyChanges",
    }


def test_a_baseline_that_does_not_validate_is_a_warning(
    review_repos: tuple[Path, Path], tmp_path: Path
) -> None:
    base, _ = review_repos
    broken = base / DEVICE_FILE
    broken.write_text(broken.read_text().replace("backlightTimer:", "backlightTimr:"))
    r = run("plan", ".", "--baseline", str(base), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert "could not be planned" in doc["baseline"]["warnings"][0]
    assert doc["baseline"]["preexisting"]["steps"] == []
    assert len(doc["baseline"]["introduced"]["steps"]) == len(doc["steps"])


# -- the split, on plans built by hand -----------------------------------------------------------


def _member(port: int, weight: int = 1) -> dict[str, Any]:
    return {"member": f"person p{port}@example.com", "port": port, "lineWeight": weight}


def test_list_changes_split_entry_by_entry() -> None:
    live = [_member(1), _member(3)]
    base = FieldChange("/members", live, [_member(1), _member(2)])  # port 2 missing, 3 extra: drift
    pr = FieldChange("/members", live, [_member(1, weight=2), _member(2)])  # the PR changes port 1
    new, old = split_change(pr, base)
    assert new is not None and old is not None
    assert new.before == [_member(1)] and new.after == [_member(1, weight=2)]
    assert old.before == [_member(3)] and old.after == [_member(2)]
    keys = FieldChange("/layout/lineKeys", {"1": {"t": "A"}}, {"1": {"t": "B"}, "2": {"t": "C"}})
    base_keys = FieldChange("/layout/lineKeys", {"1": {"t": "A"}}, {"1": {"t": "B"}})
    new, old = split_change(keys, base_keys)
    assert new == FieldChange("/layout/lineKeys", {}, {"2": {"t": "C"}})
    assert old == FieldChange("/layout/lineKeys", {"1": {"t": "A"}}, {"1": {"t": "B"}})
    devices = FieldChange("/devices", None, ["A", "B"])
    new, old = split_change(devices, FieldChange("/devices", None, ["A"]))
    assert new is not None and new.after == ["B"] and old is not None and old.after == ["A"]
    assert split_change(devices, None) == (devices, None)
    assert split_change(devices, devices) == (None, devices)


def test_steps_without_changes_match_by_call() -> None:
    def push(deps: list[str]) -> Step:
        return Step("Device/A.applyChanges", "Device/A", "invoke", 7, "POST", "/push", depends_on=deps)

    settings = Step(
        "Device/A.settings", "Device/A", "update", 4, "PUT", "/s", changes=[FieldChange("/settings/x", 1, 2)]
    )
    layout = Step(
        "Device/A.layout", "Device/A", "update", 4, "PUT", "/l", changes=[FieldChange("/layout/y", 1, 2)]
    )
    base = Plan(steps=[settings, push([settings.id])])
    same = split_plan(Plan(steps=[settings, push([settings.id])]), base)
    assert same[0].empty and [s.id for s in same[1].steps] == [settings.id, "Device/A.applyChanges"]
    more = split_plan(Plan(steps=[settings, layout, push([settings.id, layout.id])]), base)
    assert [s.id for s in more[0].steps] == [layout.id, "Device/A.applyChanges"]
    assert [s.id for s in more[1].steps] == [settings.id]


def test_baseline_paths_map_relative_to_the_current_directory(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "config" / "old").mkdir(parents=True)
    here = tmp_path / "pr"
    (here / "config" / "new").mkdir(parents=True)
    cwd = str(here)
    assert baseline_paths(["config"], str(base), cwd) == [str(base / "config")]
    assert baseline_paths(["config/old", "config/new"], str(base), cwd) == [str(base / "config" / "old")]
    assert baseline_paths(["."], str(base), cwd) == [str(base)]
    assert baseline_paths([str(tmp_path / "elsewhere")], str(base), cwd) == [str(base)]
    with pytest.raises(ConfigError, match="outside the current directory"):
        baseline_paths([str(tmp_path / "a"), str(tmp_path / "b")], str(base), cwd)
    assert os.path.isdir(base)
