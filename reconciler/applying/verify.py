"""What apply verifies: the resources its plan wrote, and the devices its jobs touched.

After apply, re-planning the whole repo would read again every object apply did not write (the
members and layout of 10,000 devices when only their settings changed). ``verification_scope``
keeps, from the loaded manifests, only what the applied plan can have changed:

- every resource a step of the plan belongs to; a ``Device`` restricted to the parts (members,
  layout, settings) its steps wrote: the write-only ``sipPassword`` cannot be read back;
- for a ``callDeviceSettings`` job (org or location settings): the settings of the devices that
  declare settings (of that location: ``location_of`` tells, when it knows);
- a template assignment is verified by planning it again (it reads the targeted devices' layouts);
- with pruning: every ``LineKeyTemplate`` (what is declared is not pruned) and the Policy.

Pushes (``applyChanges``, ``rebuildPhones``) leave nothing to read back. ``verify_apply`` plans that
scope again: the plan of what did not converge. Its lookups (devices, people, workspaces, locations,
templates, models) come from the apply's plan where no applied step can have changed them
(``reconciler.planning.listings``); the objects it verifies are always read again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.model import Resource
from reconciler.planning.plan import Plan

if TYPE_CHECKING:
    from reconciler.planning.listings import Listings
    from reconciler.webex.client import WebexClient

DEVICE_PARTS = ("members", "layout", "settings")
PUSH_PHASE = 7
SETTINGS_JOB = "callDeviceSettings"


def verification_scope(
    plan: Plan, resources: list[Resource], location_of: Callable[[Resource], str | None] | None = None
) -> list[Resource]:
    """The resources (Device ones trimmed to their written parts) whose re-plan verifies ``plan``."""
    by_address = {r.address: r for r in resources}
    parts: dict[str, set[str]] = {}
    whole: set[str] = set()
    settings_locations: set[str | None] = set()
    for step in plan.steps:
        if step.phase == PUSH_PHASE:
            continue
        if step.job_type == SETTINGS_JOB:
            loc = step.body.get("locationId") if isinstance(step.body, dict) else None
            settings_locations.add(str(loc) if loc else None)  # None: the org's, every location
        res = by_address.get(step.resource)
        if res is None:
            continue  # a prune of something no manifest declares: re-planned through the prune flag
        if res.kind == "Device":
            part = step.address[len(res.address) + 1 :]
            if part in DEVICE_PARTS:
                parts.setdefault(res.address, set()).add(part)
        else:
            whole.add(res.address)
    if settings_locations:
        _reached_settings(resources, settings_locations, location_of, parts)
    scope: list[Resource] = []
    for res in resources:
        if res.address in whole or res.kind == "Policy" or (plan.prune and res.kind == "LineKeyTemplate"):
            scope.append(res)
        elif res.address in parts:
            keep = parts[res.address]
            spec = {k: v for k, v in res.spec.items() if k in keep}
            scope.append(replace(res, spec=spec))
    return scope


def _reached_settings(
    resources: list[Resource],
    settings_locations: set[str | None],
    location_of: Callable[[Resource], str | None] | None,
    parts: dict[str, set[str]],
) -> None:
    """Add the settings of every declared device a settings job of those locations may have
    changed (None among them: the org's job, every location)."""
    every = None in settings_locations
    for res in resources:
        if res.kind != "Device" or "settings" not in res.spec:
            continue
        where = location_of(res) if location_of and not every else None
        if every or where is None or where in settings_locations:
            parts.setdefault(res.address, set()).add("settings")


async def verify_apply(
    client: WebexClient, plan: Plan, resources: list[Resource], listings: Listings | None = None
) -> Plan:
    """Plan again what ``plan`` wrote (``verification_scope``): empty when apply converged.

    ``listings``: lookups of the apply's plan that its steps cannot have changed
    (``Listings.after``); without it every lookup is read again."""
    from reconciler.planning.listings import Listings
    from reconciler.planning.planner import build_plan

    looked = listings if listings is not None else Listings(client)
    location_of: Callable[[Resource], str | None] | None = None
    jobs = [s for s in plan.steps if s.job_type == SETTINGS_JOB and isinstance(s.body, dict)]
    if jobs and all(s.body.get("locationId") for s in jobs):
        macs = [r.name for r in resources if r.kind == "Device" and "settings" in r.spec]
        live = await looked.devices_by_mac(macs) if macs else {}

        def location_of(res: Resource) -> str | None:
            loc = live.get(res.name, {}).get("locationId")
            return str(loc) if loc else None

    scope = {r.address: r for r in verification_scope(plan, resources, location_of)}
    if not any(r.kind != "Policy" for r in scope.values()):
        return Plan(steps=[], paths=list(plan.paths), targets=list(plan.targets), prune=plan.prune)
    # Every manifest stays declared (a layout's template is the repo's, prunes spare what is
    # declared); only the scope is planned, each device trimmed to its written parts.
    declared = [scope.get(r.address, r) for r in resources]
    return await build_plan(
        client, declared, paths=list(plan.paths), prune=plan.prune, only=set(scope), listings=looked
    )
