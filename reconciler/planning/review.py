"""A pull request's plan split against its base branch's: what it introduces, and drift that was
already there (the same changes appear when planning the base branch).

Pure data: depends on ``planning.plan``, ``planning.diff`` and ``planning.entries``; the flow that
makes both plans is ``reconciler.flows.review``; ``reconciler.render`` renders a ``PlanReview``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reconciler.planning.diff import FieldChange
from reconciler.planning.entries import entry_pairs, subset
from reconciler.planning.plan import Plan, Step, canonical


@dataclass
class PlanReview:
    """A pull request's plan, split: what it introduces, and drift that was already there."""

    plan: Plan
    introduced: Plan
    preexisting: Plan
    baseline_paths: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_plan(pr: Plan, baseline: Plan) -> tuple[Plan, Plan]:
    """(introduced, preexisting): a change also in the baseline's plan was there before the PR.

    Field changes are matched by step address, path, live value and declared value; list changes
    (members, line keys) entry by entry; a step without field changes (a push to phones, a prune)
    by its call. A step may land in both parts, each with its share of the changes.
    """
    base_steps = {s.address: s for s in baseline.steps}
    introduced: list[Step] = []
    preexisting: list[Step] = []
    for step in pr.ordered():
        old = base_steps.get(step.address)
        if not step.changes:
            (preexisting if old is not None and _same_call(step, old) else introduced).append(step)
            continue
        new_changes: list[FieldChange] = []
        old_changes: list[FieldChange] = []
        for change in step.changes:
            prior = next((c for c in old.changes if c.path == change.path), None) if old else None
            new, already = split_change(change, prior)
            if new is not None:
                new_changes.append(new)
            if already is not None:
                old_changes.append(already)
        if new_changes:
            introduced.append(replace(step, changes=new_changes))
        if old_changes:
            preexisting.append(replace(step, changes=old_changes))

    def part(steps: list[Step]) -> Plan:
        return Plan(steps=steps, paths=list(pr.paths), managed=pr.managed, targets=list(pr.targets))

    return part(introduced), part(preexisting)


def _same_call(a: Step, b: Step) -> bool:
    def key(s: Step) -> str:
        return canonical([s.action, s.method, s.path, s.body, sorted(s.depends_on)])

    return key(a) == key(b)


def split_change(
    change: FieldChange, prior: FieldChange | None
) -> tuple[FieldChange | None, FieldChange | None]:
    """(the part of ``change`` the PR introduces, the part already in the baseline's ``prior``)."""
    if prior is None:
        return change, None
    if _same(change, prior):
        return None, change
    if change.sensitive or prior.sensitive:
        return change, None
    pairs = entry_pairs(change)
    prior_pairs = entry_pairs(prior)
    if pairs is not None and prior_pairs is not None:
        old = {k for k, v in pairs.items() if k in prior_pairs and canonical(prior_pairs[k]) == canonical(v)}
        new = set(pairs) - old
        if not old:
            return change, None
        if not new:
            return None, change
        return _restrict(change, new), _restrict(change, old)
    if (
        isinstance(change.after, list)
        and isinstance(prior.after, list)
        and change.before == prior.before
        and all(not isinstance(x, dict | list) for x in [*change.after, *prior.after])
    ):
        seen = {canonical(x) for x in prior.after}
        already = [x for x in change.after if canonical(x) in seen]
        added = [x for x in change.after if canonical(x) not in seen]
        if not already:
            return change, None
        if not added:
            return None, change
        return replace(change, after=added), replace(change, after=already)
    return change, None


def _same(a: FieldChange, b: FieldChange) -> bool:
    return a.sensitive == b.sensitive and canonical([a.before, a.after]) == canonical([b.before, b.after])


def _restrict(change: FieldChange, keys: set[str]) -> FieldChange:
    return replace(change, before=subset(change.before, keys), after=subset(change.after, keys))
