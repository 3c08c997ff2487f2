"""A pull request's plan against its base branch's (``plan --baseline DIR``).

``plan_with_baseline`` plans the PR's manifests and the baseline's against the same live state
(``webex.shared.shared_reads``: identical GETs answered once, each answer kept compact until the
baseline's plan has it), one after the other, one set of manifests loaded at a time; ``split_plan``
splits the PR's plan into the changes it introduces and the drift that was already there (the
same changes appear when planning the base branch). Pure data: depends on ``planning.plan``,
``planning.diff`` and ``planning.entries`` (and plans through ``reconciler.flows.apply``);
``reconciler.render`` renders a ``PlanReview``, this module never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ConfigError, ValidationFailed
from reconciler.planning.diff import FieldChange
from reconciler.planning.entries import entry_pairs, subset
from reconciler.planning.plan import Plan, Step, canonical

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient


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


def baseline_paths(paths: list[str], baseline_dir: str, cwd: str | None = None) -> list[str]:
    """Each PATH at the same place under ``baseline_dir`` (relative to the current directory).

    A PATH outside the current directory can only be mapped when it is the only one: then
    ``baseline_dir`` itself stands for it. A PATH the baseline does not have (new in the pull
    request) is left out.
    """
    here = Path(os.path.normpath(Path(cwd or os.getcwd()).absolute()))
    out: list[str] = []
    for p in paths:
        full = Path(os.path.normpath(here / p))
        try:
            rel = full.relative_to(here)
        except ValueError:
            if len(paths) == 1:
                return [baseline_dir]
            raise ConfigError(
                f"--baseline: {p} is outside the current directory, so its place in {baseline_dir} is "
                "unknown; run from the repository root with relative PATHs"
            ) from None
        candidate = Path(baseline_dir) / rel
        if candidate.exists():
            out.append(str(candidate))
    return out


async def plan_with_baseline(
    client: WebexClient,
    paths: list[str],
    baseline_dir: str,
    targets: list[str] | None = None,
    prune: bool | None = None,
    rotate_secrets: bool = False,
    changed_only: bool = False,
) -> PlanReview:
    """Plan the PR's manifests and the baseline's against the same live state, and split the first.

    ``changed_only``: plan only the objects whose manifests the PR changes and what depends on
    them (``reconciler.planning.changed``), in both plans."""
    from reconciler.flows.apply import load, make_plan
    from reconciler.planning import secrets
    from reconciler.planning.planner import build_plan, select_targets
    from reconciler.webex.shared import shared_reads

    warnings: list[str] = []
    base_paths = baseline_paths(paths, baseline_dir)
    base_resources: list[Any] = []
    only: set[str] | None = None
    base_problem: str | None = None
    if changed_only and base_paths:
        only, base_resources, base_problem = _changed_scope(paths, baseline_dir, warnings)
    elif base_paths:
        with suppress(ValidationFailed):  # said below, when the baseline is planned
            base_resources = load(base_paths)
    # A secret declared (or re-declared) since the baseline is written.
    declared = secrets.from_resources(base_resources, f"baseline {baseline_dir}")
    if not changed_only:
        # Loaded again when the baseline is planned: not held while the PR's plan is made.
        base_resources = []
    with shared_reads(client) as shared:
        plan = await make_plan(
            client, paths, targets, prune, rotate_secrets, secret_baseline=declared, only=only
        )
        shared.final()  # the baseline's plan reads last: each answer dropped once it has it
        baseline = Plan(steps=[])
        if not base_paths:
            warnings.append(
                f"the baseline {baseline_dir} has none of {', '.join(paths)}: every change is new"
            )
        else:
            try:
                if base_problem is not None:
                    raise ValidationFailed([], base_problem)
                resources = base_resources if changed_only else load(base_paths)
                base_targets = [t for t in targets or [] if _names_something(select_targets, resources, t)]
                if not targets or base_targets:  # targets only new in the PR: nothing to compare with
                    baseline = await build_plan(
                        client,
                        resources,
                        paths=base_paths,
                        targets=base_targets or None,
                        prune=prune,
                        rotate_secrets=rotate_secrets,
                        only=only,
                    )
            except ValidationFailed as exc:
                warnings.append(
                    f"the baseline's manifests could not be planned ({exc}); every change is shown as "
                    "introduced by this pull request"
                )
    introduced, preexisting = split_plan(plan, baseline)
    return PlanReview(plan, introduced, preexisting, base_paths, warnings)


def _changed_scope(
    paths: list[str], baseline_dir: str, warnings: list[str]
) -> tuple[set[str] | None, list[Any], str | None]:
    """(the addresses to plan, the baseline's resources, why the baseline cannot be planned)."""
    from reconciler.flows.apply import load
    from reconciler.planning.changed import baseline_resources, changed_addresses

    resources = load(paths)
    pairs = [(p, b) for p in paths for b in baseline_paths([p], baseline_dir)]
    base = baseline_resources(pairs, resources)
    errors = sum(1 for d in base.diagnostics if d.severity == "error")
    if errors:
        return None, [], f"{errors} problem(s) found in the manifests"
    only = changed_addresses(resources, base.resources)
    managed = sum(1 for r in resources if r.kind != "Policy")
    planned = managed if only is None else sum(1 for r in resources if r.address in only)
    warnings.append(
        f"--changed-only: planned {planned} of {managed} managed objects, those this pull "
        "request changes and what depends on them; drift elsewhere is not shown"
        + (" (the Policy changed: everything was planned)" if only is None else "")
    )
    return only, base.resources, None


def _names_something(
    select: Callable[[list[Any], list[str]], Any], resources: list[Any], target: str
) -> bool:
    try:
        select(resources, [target])
    except ConfigError:
        return False
    return True
