"""Build a plan: resolve human keys, read exactly the declared live state, diff, order the steps."""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from reconciler.errors import ValidationFailed
from reconciler.model import Resource, normalize_mac
from reconciler.planning.kinds.context import Context, Policy
from reconciler.planning.kinds.device import plan_device
from reconciler.planning.kinds.images import plan_images
from reconciler.planning.kinds.inherit import Inheritance, order_settings_jobs
from reconciler.planning.kinds.settings import (
    plan_location_settings,
    plan_org_settings,
    plan_person,
    plan_workspace,
)
from reconciler.planning.kinds.template import TEMPLATES, plan_assignment, plan_template
from reconciler.planning.lookups import lookups
from reconciler.planning.plan import Plan, check_dependencies, safety_of
from reconciler.planning.pushes import Owed, plan_pushes
from reconciler.planning.secrets import SecretBaseline
from reconciler.planning.targets import select_targets
from reconciler.planning.titles import Named, device_details, name_steps, read_objects, title_for
from reconciler.progress import Task, task
from reconciler.workdir.secret_record import SecretRecord

if TYPE_CHECKING:
    from reconciler.planning.listings import Listings
    from reconciler.webex.client import WebexClient

PLANNERS: dict[str, Callable[[Context, Resource], Awaitable[None]]] = {
    "OrgDeviceSettings": plan_org_settings,
    "LocationDeviceSettings": plan_location_settings,
    "Device": plan_device,
    "PersonDevices": plan_person,
    "WorkspaceDevices": plan_workspace,
    "BackgroundImages": plan_images,
}


# Resource planners in flight at once, per request slot of the client. One: a planner spends ~0.1 ms
# of CPU between two requests against tens of ms of latency, so the slots stay busy (a 2,000-device
# plan at 50 ms: 8.6-8.8 s with one, 8.7-9.8 s with two), and no request waits for a slot (with two,
# half of them did: a future and a wake-up each, 0.8% of a plan's instructions).
PLANNERS_PER_SLOT = 1


async def run_bounded(jobs: list[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run every job, at most ``limit`` at a time: a few worker tasks, not one task per job."""
    pending = iter(jobs)

    async def worker() -> None:
        for job in pending:
            await job()

    await asyncio.gather(*(worker() for _ in range(min(max(1, limit), len(jobs)))))


async def build_plan(
    client: WebexClient,
    resources: list[Resource],
    *,
    paths: list[str] | None = None,
    targets: list[str] | None = None,
    prune: bool | None = None,
    rotate_secrets: bool = False,
    rewrite_secrets: set[str] | None = None,
    only: set[str] | None = None,
    secret_baseline: SecretBaseline | None = None,
    secrets_written: set[str] | None = None,
    listings: Listings | None = None,
    secret_record: SecretRecord | None = None,
    owed: Owed | None = None,
) -> Plan:
    """``only``: plan just these addresses (``plan --changed-only``); unlike ``targets``, the rest
    still counts as managed and as declared (pruning stays on). ``listings``: where the lookups
    are made (and kept, for a later plan of the same run: ``reconciler.planning.listings``). ``owed``: the
    pending pushes of an earlier apply (``reconciler.planning.pushes``)."""
    policy = Policy.from_resources(resources)
    managed = _managed(resources, targets, only)
    do_prune = (policy.prune if prune is None else prune) and not targets
    ctx = Context(
        client=client,
        resources=managed,
        policy=policy,
        prune=do_prune,
        rotate_secrets=rotate_secrets,
        rewrite_secrets=set(rewrite_secrets or ()),
        secret_baseline=secret_baseline,
        secrets_written=set(secrets_written or ()),
        secret_record=secret_record,
        inheritance=Inheritance(resources),
    )
    try:
        with task("looking up devices, people, workspaces and locations"):
            await lookups(ctx, managed, all_resources=resources, listings=listings)
        if ctx.diagnostics:
            raise ValidationFailed(list(ctx.diagnostics))
        await _plan_kinds(ctx, client, managed)
    finally:
        ctx.people_pending.cancel()  # what is left of it when planning stopped on an error
    await _across_kinds(ctx, resources, managed, owed)
    return Plan(
        objects=_objects_of(ctx),
        steps=ctx.steps,
        reads=ctx.reads,
        paths=list(paths or []),
        managed=managed_objects(ctx, resources),
        warnings=sorted(set(ctx.warnings)),
        targets=list(targets or []),
        prune=do_prune,
        safety=safety_of(policy.max_changes, policy.max_changes_percent),
        secrets=sorted(ctx.secret_notes, key=lambda n: str(n["address"])),
        held=list(ctx.held),
        org_seen=ctx.org_seen,
    )


def _managed(resources: list[Resource], targets: list[str] | None, only: set[str] | None) -> list[Resource]:
    """The resources a plan plans: every manifest but the Policy, narrowed by ``--target`` and
    ``--changed-only``."""
    managed = [r for r in resources if r.kind != "Policy"]
    if targets:
        managed = select_targets(managed, targets)
    if only is not None:
        managed = [r for r in managed if r.address in only]
    return managed


async def _across_kinds(
    ctx: Context, resources: list[Resource], managed: list[Resource], owed: Owed | None
) -> None:
    """What follows from every kind's steps together: the org's settings job first, the pushes,
    the templates to prune, the order of the steps checked, and their names."""
    order_settings_jobs(ctx)
    await plan_pushes(ctx, owed, resources, managed)
    if ctx.prune and any(r.kind == "LineKeyTemplate" for r in resources):
        _plan_template_prunes(
            ctx, {r.name for r in resources if r.kind == "LineKeyTemplate"}, template_references(resources)
        )
    check_dependencies(ctx.steps)
    name_steps(ctx.steps, ctx.devices, ctx.labels, ctx.listed)


async def _plan_kinds(ctx: Context, client: WebexClient, managed: list[Resource]) -> None:
    """Every managed resource's planner, templates first (assignments refer to the steps that
    create them), the rest bounded by the client's request slots; the problems they find raise."""
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for r in managed:
        by_kind[r.kind].append(r)
    jobs: list[Callable[[], Awaitable[None]]] = [
        *(functools.partial(PLANNERS[r.kind], ctx, r) for r in managed if r.kind in PLANNERS),
        *(functools.partial(plan_assignment, ctx, r) for r in by_kind["LineKeyTemplateAssignment"]),
    ]
    templates = by_kind["LineKeyTemplate"]
    with task("reading live state", total=len(templates) + len(jobs)) as shown:
        await asyncio.gather(
            *(_counted(shown, ctx, functools.partial(plan_template, ctx, r)) for r in templates)
        )
        slots = max(1, int(getattr(client, "concurrency", 16)))
        # Many resources keep every request slot busy by themselves: each then reads its objects one
        # after the other (fewer tasks; answers do not pile up). Few: a device's reads go out together.
        ctx.parallel_reads = len(jobs) <= slots
        counted: list[Callable[[], Awaitable[None]]] = [
            functools.partial(_counted, shown, ctx, j) for j in jobs
        ]
        await run_bounded(counted, slots * PLANNERS_PER_SLOT)
        await ctx.people_pending.finish()  # the devices parked until the people were known
    _check_double_ownership(ctx, by_kind)
    if ctx.diagnostics:
        raise ValidationFailed(list(ctx.diagnostics))


def managed_objects(ctx: Context, resources: list[Resource]) -> int:
    """The objects every manifest manages (targeted or not), as the safety threshold counts them:
    each declared image, the devices an assignment matches (1 when it was not planned), one for
    every other manifest."""
    total = 0
    for r in resources:
        if r.kind == "Policy":
            continue
        if r.kind == "BackgroundImages":
            total += max(1, len(r.spec.get("images") or []))
        elif r.kind == "LineKeyTemplateAssignment":
            total += max(1, len(ctx.assignment_targets.get(r.address, [])))
        else:
            total += 1
    return total


class _Known(NamedTuple):
    """What ``_known_objects`` reads of a plan's context (kept by a plan whose objects are not named
    yet: the context itself, with its answers, is let go)."""

    devices: dict[str, dict[str, Any]]
    labels: dict[str, str]
    people: dict[str, dict[str, Any]]
    workspaces: dict[str, dict[str, Any]]
    locations: dict[str, dict[str, Any]]
    templates: dict[str, dict[str, Any]]


def _objects_of(ctx: Context) -> Named:
    """The plan's ``objects``, named when first read, from what the lookups found."""
    # (shallow copies: a later plan of the same run may add to the lookups it shares with this one)
    known = _Known(
        dict(ctx.devices),
        dict(ctx.labels),
        dict(ctx.people),
        dict(ctx.workspaces),
        dict(ctx.locations),
        dict(ctx.templates),
    )
    return Named(functools.partial(read_objects, ctx.reads, functools.partial(_known_objects, known)))


def _known_objects(ctx: _Known, wanted: set[str]) -> dict[str, str]:
    """The objects the lookups found whose ids are ``wanted``, by id: their human names."""
    out: dict[str, str] = {}
    for mac, item in ctx.devices.items():
        ids = [str(item[key]) for key in ("callingDeviceId", "id") if item.get(key)]
        if any(ident in wanted for ident in ids):
            name = title_for(f"Device/{mac}", device_details(item, ctx.labels))
            out.update((ident, name) for ident in ids)
    for kind, found, key in (
        ("PersonDevices", ctx.people, "id"),
        ("WorkspaceDevices", ctx.workspaces, "id"),
        ("Location", ctx.locations, "id"),
        ("LineKeyTemplate", ctx.templates, "id"),
    ):
        for name, item in found.items():
            if item.get(key) and str(item[key]) in wanted:
                out[str(item[key])] = title_for(f"{kind}/{name}")
    return out


async def _counted(shown: Task, ctx: Context, job: Callable[[], Awaitable[None]]) -> None:
    """Run ``job``, then count it on the progress line with the steps planned so far."""
    await job()
    if shown.shown:  # (the line is only made for a terminal)
        shown.update(description=f"reading live state ({len(ctx.steps):,} steps planned)")
        shown.advance()


def _check_double_ownership(ctx: Context, by_kind: dict[str, list[Resource]]) -> None:
    """A device's layout is owned by its own manifest or by one assignment, never two of them."""
    own = {r.name: r for r in by_kind["Device"] if "layout" in r.spec}
    owner: dict[str, Resource] = {}  # MAC -> the first assignment that targets it
    for res in by_kind["LineKeyTemplateAssignment"]:
        clashes: dict[str, list[str]] = defaultdict(list)
        for mac in ctx.assignment_targets.get(res.address, []):
            first = owner.setdefault(mac, res)
            if first is not res:
                clashes[first.address].append(mac)
        for other, macs in clashes.items():
            first = next(r for r in by_kind["LineKeyTemplateAssignment"] if r.address == other)
            ctx.error(
                res,
                "/spec",
                f"targets {len(macs)} device(s) that {first.address} at {first.loc('/spec')} also "
                f"targets ({', '.join(macs[:5])}{' ...' if len(macs) > 5 else ''}): each apply would "
                "flip them between the two; narrow one of them (locations, tags)",
            )
    for res in by_kind["LineKeyTemplateAssignment"]:
        for mac in ctx.assignment_targets.get(res.address, []):
            dev = own.get(normalize_mac(mac) or "")
            if dev is not None:
                default = dev.spec["layout"] == {"layoutMode": "DEFAULT"}
                fix = (
                    "drop that `layout: {layoutMode: DEFAULT}` (older exports wrote one for every "
                    "phone with the default layout) so the assignment owns it"
                    if default
                    else "drop its layout there, or leave the device out of the assignment (tags, locations)"
                )
                ctx.error(
                    res,
                    "/spec",
                    f"targets {dev.address}, whose layout is also declared at {dev.loc('/spec/layout')}: "
                    f"a field owned twice; {fix}",
                )


def template_references(resources: list[Resource]) -> dict[str, list[str]]:
    """Template name -> the places (file:line) in the manifests that name it: a device's
    ``layout.template``, an assignment's ``template``. Every manifest counts, targeted or not."""
    refs: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        if r.kind == "Device" and isinstance(r.spec.get("layout"), dict) and "template" in r.spec["layout"]:
            refs[str(r.spec["layout"]["template"])].append(f"{r.loc('/spec/layout/template')} ({r.address})")
        elif r.kind == "LineKeyTemplateAssignment" and "template" in r.spec:
            refs[str(r.spec["template"])].append(f"{r.loc('/spec/template')} ({r.address})")
    return refs


def _plan_template_prunes(ctx: Context, declared: set[str], referenced: dict[str, list[str]]) -> None:
    for name, entry in sorted(ctx.templates.items()):
        if name in declared:
            continue
        if name in referenced:
            where = referenced[name]
            ctx.warnings.append(
                f"LineKeyTemplate/{name}: not pruned although no manifest declares it: referenced at "
                + ", ".join(where[:3])
                + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            )
            continue
        path = f"{TEMPLATES}/{entry['id']}"
        summary = "delete unmanaged line key template"
        ctx.step(f"LineKeyTemplate/{name}", "delete", 8, path, part="prune", summary=summary)
