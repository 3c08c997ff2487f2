"""``plan --baseline DIR``: a pull request's plan against its base branch's.

``plan_with_baseline`` plans the PR's manifests and the baseline's against the same live state
(``webex.shared.shared_reads``: identical GETs answered once, each answer kept compact until the
baseline's plan has it), one after the other, one set of manifests loaded at a time, and splits the
PR's plan (``planning.review.split_plan``) into the changes it introduces and the drift that was
already there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ConfigError, ValidationFailed
from reconciler.flows.load import load
from reconciler.flows.make import make_plan
from reconciler.planning.plan import Plan
from reconciler.planning.review import PlanReview, split_plan

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient


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
    from reconciler.planning import secrets
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
                loaded = base_resources if changed_only else None
                baseline = await _baseline_plan(
                    client, base_paths, loaded, base_problem, targets, prune, rotate_secrets, only
                )
            except ValidationFailed as exc:
                warnings.append(
                    f"the baseline's manifests could not be planned ({exc}); every change is shown as "
                    "introduced by this pull request"
                )
    introduced, preexisting = split_plan(plan, baseline)
    return PlanReview(plan, introduced, preexisting, base_paths, warnings)


async def _baseline_plan(
    client: WebexClient,
    base_paths: list[str],
    loaded: list[Any] | None,
    problem: str | None,
    targets: list[str] | None,
    prune: bool | None,
    rotate_secrets: bool,
    only: set[str] | None,
) -> Plan:
    """The baseline's plan (``ValidationFailed`` when its manifests cannot be planned; ``loaded``:
    its resources, when already loaded); empty when the PR's targets are all new in the PR."""
    from reconciler.planning.planner import build_plan
    from reconciler.planning.targets import select_targets

    if problem is not None:
        raise ValidationFailed([], problem)
    resources = loaded if loaded is not None else load(base_paths)
    base_targets = [t for t in targets or [] if _names_something(select_targets, resources, t)]
    if targets and not base_targets:  # targets only new in the PR: nothing to compare with
        return Plan(steps=[])
    return await build_plan(
        client,
        resources,
        paths=base_paths,
        targets=base_targets or None,
        prune=prune,
        rotate_secrets=rotate_secrets,
        only=only,
    )


def _changed_scope(
    paths: list[str], baseline_dir: str, warnings: list[str]
) -> tuple[set[str] | None, list[Any], str | None]:
    """(the addresses to plan, the baseline's resources, why the baseline cannot be planned)."""
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
