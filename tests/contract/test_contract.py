"""Plan is a contract, property-based: on the exported demo org and on a generated org, random
edits (members, layouts, device/location/org settings, templates, assignments, hoteling, secrets;
values at and beyond the limits), and multi-kind scenarios (org, location, template, assignment,
devices and an owner changed in one apply, after out-of-band changes), are either refused by
``plan`` with ``file:line`` and no write, or applied by ``apply`` without a failed step, converged
(a second plan is empty), with no phone left pending and every phone showing what the manifests
mean (``benchmarks/oracle.py``, computed apart from the planner).

A small budget here (the ``contract-small`` settings profile); ``python -m benchmarks.contract``
runs thousands of examples (docs/reliability.md has the numbers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import contract  # noqa: E402

SMALL = 12  # examples per org: about 10 s in all on a quiet machine


@pytest.mark.parametrize(("seed", "devices"), [("demo", None), (7, 24)])
def test_every_random_edit_is_refused_by_plan_or_applied_and_converged(
    seed: str | int, devices: int | None, tmp_path: Path
) -> None:
    org = contract.load_org(seed, devices)
    tally = contract.Tally()
    contract.explore(org, SMALL, seed=2024, tally=tally, workdir=tmp_path)
    assert not tally.violations, "plan is not a contract:\n\n" + "\n\n".join(tally.violations)
    assert tally.total == SMALL
    # Both sides of the contract are exercised (on the demo org; on the generated one, which edits a
    # dozen examples draw depends on the hypothesis version, so only that none was lost).
    if seed == "demo":
        assert tally.refused and tally.converged, tally
    assert tally.refused + tally.converged == SMALL, tally
    assert tally.mixed_converged, tally  # multi-kind scenarios applied, and judged by the oracle


def test_a_violation_is_caught(tmp_path: Path) -> None:
    """The checker itself can fail: an edit the simulator refuses at apply, with plan's checks made
    blind to it, is reported as a violation (not counted as refused or converged)."""
    org = contract.load_org("demo")
    rel = next(r for r, m in org.models.items() if m == "DMS Cisco 8851")

    def too_many_ports(repo: contract.Repo) -> None:
        repo[rel]["spec"]["members"][0]["port"] = 99

    edit = contract.Edit("port 99 on an 8851", too_many_ports)
    assert contract.check(org, [edit], tmp_path / "a").kind == "refused"
    with pytest.MonkeyPatch.context() as mp:
        from reconciler.planning import capabilities

        mp.setattr(capabilities.ModelCaps, "member_problems", lambda self, members, base="": [])
        outcome = contract.check(org, [edit], tmp_path / "b")
    assert outcome.kind == "violation", outcome
