"""The lookups of a plan: the objects its manifests name by a human key (devices by MAC, people
by email, workspaces and locations by name, templates by name, the device models), found in one
round of concurrent listings before any kind is planned; the people go on being listed while the
devices are read (``kinds.pending``: only a device's members need them, after its reads)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import Resource, normalize_mac
from reconciler.planning.capabilities import Catalog
from reconciler.planning.kinds.template import TEMPLATES

if TYPE_CHECKING:
    from reconciler.planning.kinds.context import Context
    from reconciler.planning.listings import Listings


@dataclass
class Wanted:
    """What the managed manifests name, by kind of object, and which listings the plan needs."""

    macs: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    workspaces: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    template_names: set[str] = field(default_factory=set)
    templates: bool = False  # the org's line key templates
    models: bool = False  # the device models the org supports

    @classmethod
    def of(cls, managed: list[Resource], *, prune_templates: bool) -> Wanted:
        wanted = cls(templates=prune_templates)
        for r in managed:
            note = _NOTES.get(r.kind)
            if note is not None:
                note(wanted, r)
        wanted.templates = wanted.templates or bool(wanted.template_names)
        return wanted


def _device(w: Wanted, r: Resource) -> None:
    w.macs.add(r.name)
    w.models = True
    for m in r.spec.get("members", []):
        if "person" in m:
            w.emails.add(str(m["person"]).lower())
        if "workspace" in m:
            w.workspaces.add(str(m["workspace"]))
    if "template" in r.spec.get("layout", {}):
        w.template_names.add(r.spec["layout"]["template"])


def _person(w: Wanted, r: Resource) -> None:
    w.emails.add(r.name)
    w.models = w.models or "hoteling" in r.spec


def _workspace(w: Wanted, r: Resource) -> None:
    w.workspaces.add(r.name)
    w.models = w.models or "hoteling" in r.spec


def _location_settings(w: Wanted, r: Resource) -> None:
    w.locations.add(r.name)
    w.models = True  # which devices its job reaches (``kinds.push_targets``)


def _org_settings(w: Wanted, r: Resource) -> None:
    w.models = True


def _assignment(w: Wanted, r: Resource) -> None:
    w.locations.update(r.spec.get("locations", []))
    w.template_names.add(r.spec["template"])
    w.models = True


def _template(w: Wanted, r: Resource) -> None:
    w.templates = w.models = True


def _images(w: Wanted, r: Resource) -> None:
    if r.spec.get("uploadDevice"):
        w.macs.add(normalize_mac(str(r.spec["uploadDevice"])) or "")


_NOTES: dict[str, Callable[[Wanted, Resource], None]] = {
    "Device": _device,
    "PersonDevices": _person,
    "WorkspaceDevices": _workspace,
    "LocationDeviceSettings": _location_settings,
    "OrgDeviceSettings": _org_settings,
    "LineKeyTemplateAssignment": _assignment,
    "LineKeyTemplate": _template,
    "BackgroundImages": _images,
}


async def lookups(
    ctx: Context, managed: list[Resource], all_resources: list[Resource], listings: Listings | None = None
) -> None:
    """Fill ``ctx``'s tables (devices, people, workspaces, locations, templates, models, labels) and
    the definition of every template a layout or an assignment names."""
    from reconciler.planning.listings import Listings

    need_templates = ctx.prune and any(r.kind == "LineKeyTemplate" for r in all_resources)
    wanted = Wanted.of(managed, prune_templates=need_templates)
    if any(r.kind == "BackgroundImages" for r in managed) and not wanted.macs:
        ctx.devices.update(
            {normalize_mac(str(d.get("mac", ""))) or "": d for d in await ctx.client.list_devices(max=10)}
        )
    lister = listings if listings is not None else Listings(ctx.client)
    if wanted.emails:  # read while the devices are: only their members need the people
        ctx.people_pending.start(_people(ctx, lister, wanted.emails))
    try:
        found = await _listed(lister, wanted)
    except Exception:
        earlier = ctx.people_pending.failure()  # the first failure is the one to report
        if earlier is not None:
            raise earlier from None
        raise
    _keep(ctx, *found)
    await _org_names(ctx, wanted)
    await _template_specs(ctx, all_resources, wanted.template_names)


async def _people(ctx: Context, client: Listings, emails: set[str]) -> None:
    """The people the manifests name, by lowercased email, and their labels."""
    people = await client.people_by_email(sorted(emails))
    ctx.people.update({k.lower(): v for k, v in people.items()})
    for email, p in ctx.people.items():
        ctx.labels[str(p.get("id"))] = f"person {email}"


async def _listed(client: Listings, w: Wanted) -> tuple[Any, ...]:
    """(devices, workspaces, locations, templates, models), each read only when wanted."""

    async def none() -> Any:
        return {}

    return tuple(
        await asyncio.gather(
            client.devices_by_mac(sorted(w.macs)) if w.macs else none(),
            client.workspaces_by_name(sorted(w.workspaces)) if w.workspaces else none(),
            client.locations_by_name(sorted(w.locations)) if w.locations else none(),
            client.list_line_key_templates() if w.templates else none(),
            client.get_supported_devices() if w.models else none(),
        )
    )


async def _org_names(ctx: Context, w: Wanted) -> None:
    """Every workspace or location name (or device MAC) of the org, read only when one a manifest
    names is not there: what "did you mean" suggests from."""
    for kind, table, names, key in (
        ("workspaces", ctx.workspaces, w.workspaces, "displayName"),
        ("locations", ctx.locations, w.locations, "name"),
        ("devices", ctx.devices, w.macs, "mac"),
    ):
        if any(n not in table for n in names):
            items = await ctx.client.paginate(f"/{kind}", {"max": 1000}, "items")
            ctx.org_names[kind] = [str(i.get(key)) for i in items if i.get(key)]


def _keep(ctx: Context, devices: Any, spaces: Any, locs: Any, templates: Any, models: Any) -> None:
    ctx.devices.update(devices)
    ctx.workspaces.update(spaces)
    ctx.locations.update(locs)
    ctx.templates.update({str(t.get("templateName")): t for t in (templates or [])})
    ctx.models.update({str(m.get("model")): m for m in (models or [])})
    ctx.caps = Catalog(ctx.models)
    for name, w in ctx.workspaces.items():
        ctx.labels[str(w.get("id"))] = f"workspace {name}"


async def _template_specs(ctx: Context, all_resources: list[Resource], names: set[str]) -> None:
    """The definition of every template a layout or an assignment names: the repo's, else the org's."""
    for r in all_resources:
        if r.kind == "LineKeyTemplate":
            ctx.template_specs[r.name] = dict(r.spec)
    live_needed = [n for n in names if n not in ctx.template_specs and n in ctx.templates]
    details = await asyncio.gather(*(ctx.get(f"{TEMPLATES}/{ctx.templates[n]['id']}") for n in live_needed))
    ctx.template_specs.update(dict(zip(live_needed, details, strict=True)))
