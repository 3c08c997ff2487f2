"""The push contract: every device whose configuration an apply changes is told to download it,
exactly once, after its last change in that apply.

The API does not push by itself: a phone keeps its old configuration until it is told to download
the new one (``applyChanges`` for one device, or a ``rebuildPhones`` job for a whole location). A
device's configuration changes through

- its own writes: members, layout, settings, the SIP password (``kinds/device.py``), hoteling of
  the person or workspace that owns it (``kinds/settings.py``);
- an ``applyLineKeyTemplate`` job (apply or reset): the devices whose layout it changes, from the
  assignment's matching at plan time (``kinds/template.py``);
- an org or location ``callDeviceSettings`` job: the devices the change reaches, that is those of
  the org (or the location) whose settings family changes, except a device with its own
  customization and, for the org's job, a device in a location with its own customization
  (``reconciler.planning.kinds.push_targets``);
- an earlier apply that wrote a device and never pushed it (a pending push of the apply log,
  ``reconciler.workdir.journal``): only a device of this org that a manifest manages.

Each such device is pushed once, in phase 7, after every step that changes it; where a location has
at least ``Policy.rebuildPhonesThreshold`` of them, one ``rebuildPhones`` job replaces their
``applyChanges``. Each push says why (``template assignment branch-sales``). ``Policy.push: never``
holds every push: the plan lists them as held, and the apply log keeps them pending until
``reconciler push`` sends them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.errors import ConfigError
from reconciler.model import Resource, mac_with_colons
from reconciler.planning.capabilities import Catalog
from reconciler.planning.kinds.context import Context, Policy, Reach
from reconciler.planning.kinds.push_targets import own_writes, reach, settings_reach
from reconciler.planning.plan import Plan
from reconciler.workdir.journal import Journal, PendingPush

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

REBUILD_JOB = "/telephony/config/jobs/devices/rebuildPhones"
APPLY_CHANGES = "/telephony/config/devices/{id}/actions/applyChanges/invoke"
PUSH_PHASE = 7


@dataclass
class Owed:
    """Pending pushes a plan takes in, and where they were read (named when one is refused)."""

    items: list[PendingPush]
    source: str  # "apply log .reconciler/apply-log.jsonl", "saved plan plan.json"
    journal: Journal | None = None  # the apply log read (its org is checked against this run's)
    read_only: bool = False  # plan, drift: a log of another org is left out with a warning

    def refuse(self, item: PendingPush, problem: str) -> ConfigError:
        where = f"{self.source}: line {item.line}" if item.line else self.source
        return ConfigError(
            f"{where} names device {mac_with_colons(item.mac)} as written and not pushed, but {problem}. "
            "A log is a journal of its own run, never an instruction: move it away to start afresh "
            "(that device then keeps what it has until its next push)"
        )


# -- pending pushes of an earlier apply -------------------------------------------------------


@dataclass
class Scope:
    """Which devices the manifests manage: declared by MAC, in a location whose settings or
    assignment a manifest declares, owned by a person or workspace whose hoteling one declares, or
    every device (org settings, an assignment for every location)."""

    macs: set[str] = field(default_factory=set)
    everything: bool = False
    location_names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    workspace_names: set[str] = field(default_factory=set)
    _ids: set[str] | None = None  # the location and owner ids, once looked up

    @classmethod
    def of(cls, resources: Iterable[Resource]) -> Scope:
        scope = cls()
        for r in resources:
            if r.kind == "Device":
                scope.macs.add(r.name)
            elif r.kind == "OrgDeviceSettings":
                scope.everything = True
            elif r.kind == "LocationDeviceSettings":
                scope.location_names.add(r.name)
            elif r.kind == "LineKeyTemplateAssignment":
                names = r.spec.get("locations") or []
                scope.everything = scope.everything or not names
                scope.location_names.update(str(n) for n in names)
            elif r.kind == "PersonDevices" and "hoteling" in r.spec:
                scope.emails.add(r.name)
            elif r.kind == "WorkspaceDevices" and "hoteling" in r.spec:
                scope.workspace_names.add(r.name)
        return scope

    async def manages(self, client: WebexClient, mac: str, device: dict[str, Any]) -> bool:
        if self.everything or mac in self.macs:
            return True
        if self._ids is None:
            found: set[str] = set()
            if self.location_names:
                found.update(
                    str(v.get("id")) for v in (await client.locations_by_name(self.location_names)).values()
                )
            if self.emails:
                found.update(str(v.get("id")) for v in (await client.people_by_email(self.emails)).values())
            if self.workspace_names:
                spaces = await client.workspaces_by_name(self.workspace_names)
                found.update(str(v.get("id")) for v in spaces.values())
            self._ids = found
        owner = device.get("personId") or device.get("workspaceId")
        return str(device.get("locationId")) in self._ids or (owner is not None and str(owner) in self._ids)


async def _take_pending(
    ctx: Context, owed: Owed, resources: list[Resource], selected: list[Resource]
) -> None:
    """Each pending push, checked: a device of this org (looked up now) that a manifest manages;
    anything else refuses the plan. Those the selected resources (``--target``) manage are pushed."""
    if not owed.items:
        return
    unknown = sorted({p.mac for p in owed.items if p.mac not in ctx.devices})
    found = await ctx.client.devices_by_mac(unknown) if unknown else {}
    every, chosen = Scope.of(resources), Scope.of(selected)
    for item in sorted(owed.items, key=lambda p: p.mac):
        device = ctx.devices.get(item.mac) or found.get(item.mac)
        if device is None or not device.get("callingDeviceId"):
            raise owed.refuse(item, "this org has no Webex Calling device with that MAC")
        if not await every.manages(ctx.client, item.mac, device):
            raise owed.refuse(item, "no manifest manages that device")
        ctx.org_seen = ctx.org_seen or _org_of(device)
        if not await chosen.manages(ctx.client, item.mac, device):
            continue  # outside --target (or --changed-only): stays pending
        reach(ctx, device, None, item.origin)
        entry = ctx.reached.get(item.mac)
        if entry is not None:
            entry.pending = item


def _org_of(device: dict[str, Any]) -> str | None:
    org = device.get("orgId")
    return str(org) if org else None


# -- the push steps ---------------------------------------------------------------------------


def _meta(devices: list[Reach]) -> dict[str, Any]:
    return {
        "devices": [d.address for d in devices],
        "pushes": [d.mac for d in devices],
        "reasons": {d.address: d.reason for d in devices},
        "pending": [d.pending.to_json() for d in devices if d.pending is not None],
    }


async def _location_names(ctx: Context, ids: set[str]) -> dict[str, str]:
    """Location id -> name, for the rebuild steps' addresses (listed when a lookup lacks one)."""
    names = {str(v.get("id")): k for k, v in ctx.locations.items()}
    if ids - names.keys():
        listed = await ctx.client.paginate("/locations", {"max": 1000}, "items")
        names.update({str(v.get("id")): str(v.get("name")) for v in listed if v.get("name")})
    return names


async def _push_steps(ctx: Context) -> None:
    """Phones pick up a change on applyChanges; many in one location: one rebuildPhones job."""
    by_location: dict[str | None, list[Reach]] = defaultdict(list)
    for entry in sorted(ctx.reached.values(), key=lambda e: e.mac):
        by_location[entry.location].append(entry)
    rebuilt = {str(loc) for loc, d in by_location.items() if loc and len(d) >= ctx.policy.rebuild_threshold}
    names = await _location_names(ctx, rebuilt)
    for loc, devices in sorted(by_location.items(), key=lambda kv: str(kv[0])):
        if loc and len(devices) >= ctx.policy.rebuild_threshold:
            ctx.step(
                f"Location/{names.get(loc, loc)}",
                "job",
                PUSH_PHASE,
                REBUILD_JOB,
                {"locationId": loc},
                part="rebuildPhones",
                after=[i for d in devices for i in d.after],
                job_type="rebuildPhones",
                summary=f"rebuild the phones of the location ({len(devices)} changed devices)",
                meta=_meta(devices),
                counts=False,
            )
            continue
        for d in devices:
            path = APPLY_CHANGES.format(id=d.cid)
            summary = "push the new configuration"
            ctx.step(
                d.address,
                "invoke",
                PUSH_PHASE,
                path,
                part="applyChanges",
                after=d.after,
                summary=summary,
                meta=_meta([d]),
                counts=False,
            )


async def plan_pushes(
    ctx: Context, owed: Owed | None, resources: list[Resource], selected: list[Resource]
) -> None:
    """Every push the plan owes (phase 7), or, with ``Policy.push: never``, none: each is then
    listed in ``ctx.held``. ``owed``: pending pushes of an earlier apply; ``resources``: every
    manifest (what may manage a pending device); ``selected``: those planned (``--target``)."""
    ctx.org_seen = next((o for o in map(_org_of, ctx.devices.values()) if o), None)
    journal = owed.journal if owed is not None else None
    if owed is not None and journal is not None:
        org = ctx.client.org_id or ctx.org_seen
        if owed.read_only and journal.other_org(org):
            ctx.warnings.append(
                f"apply log {journal.path} belongs to another org ({journal.org_id}, not "
                f"{org}): its pending pushes are not considered"
            )
            owed = None
        else:
            journal.check_org(org)
    own_writes(ctx)
    await settings_reach(ctx)
    if owed is not None:
        await _take_pending(ctx, owed, resources, selected)
    if ctx.policy.push == "never":
        ctx.held = [
            {"device": e.address, "reason": e.reason, **({"pending": e.pending.origin} if e.pending else {})}
            for e in sorted(ctx.reached.values(), key=lambda e: e.mac)
        ]
        return
    await _push_steps(ctx)


async def pending_plan(
    client: WebexClient,
    resources: list[Resource],
    selected: list[Resource],
    owed: Owed,
    locations: list[str],
) -> Plan:
    """``reconciler push``: a plan of the pending pushes only (whatever ``Policy.push`` says), of
    the devices the ``selected`` resources manage and, with ``locations``, in those locations."""
    policy = Policy.from_resources(resources)
    policy.push = "auto"  # asked for: held pushes go now
    ctx = Context(client=client, resources=selected, policy=policy)
    if locations:
        found = await client.locations_by_name(locations)
        missing = sorted(set(locations) - set(found))
        if missing:
            raise ConfigError(f"--location names no location of the org: {', '.join(missing)}")
        ctx.locations.update(found)
    ctx.caps = Catalog({str(m.get("model")): m for m in await client.get_supported_devices()})
    await plan_pushes(ctx, owed, resources, selected)
    if locations:
        keep = {str(v.get("id")) for v in ctx.locations.values()}
        ctx.reached = {m: e for m, e in ctx.reached.items() if e.location in keep}
        ctx.steps.clear()
        await _push_steps(ctx)
    return Plan(steps=ctx.steps, managed=len(selected), org_seen=ctx.org_seen)
