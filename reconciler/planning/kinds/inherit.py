"""Inherited settings: what a customized settings object takes from its parent.

A location or device with its own settings (``customEnabled: true``) holds a whole copy of each
settings family: the API no longer passes its parent's values down. So a manifest that customizes
one declares overrides, and each field it does not declare follows its parent's *declared* value:

- a customized location follows the org manifest;
- a customized device follows its location when the location is customized (the location's own
  declarations, and the org manifest's where the location declares nothing), else the org manifest.

A field no manifest up the chain declares keeps its live value. Person and workspace device
settings hold no customizations (only ``compression``): nothing to inherit there.

Each such field is written with the object (the plan marks it ``(follows org)``); the desired
values, not the live ones, are what a child follows, so one apply sets a parent and its children
alike. ``order_settings_jobs`` makes the org's settings job run before the locations'.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.model import Resource
from reconciler.planning.diff import FieldChange, escape, get_pointer, leaves, split_pointer
from reconciler.planning.kinds.own_settings import OwnSettings, PlanReads

if TYPE_CHECKING:
    from reconciler.planning.plan import Step

ORG_KIND = "OrgDeviceSettings"
LOCATION_KIND = "LocationDeviceSettings"


class PlanState(PlanReads, Protocol):
    """What this module needs of ``kinds.context.Context`` (no import of it: the Context holds an
    ``Inheritance``)."""

    locations: dict[str, dict[str, Any]]
    own_settings: OwnSettings
    steps: list[Step]


@dataclass(frozen=True)
class Leaf:
    """One declared settings field: its pointer below ``customizations`` (``/mpp/phoneLanguage``),
    its value, whose declaration it is (``org``, ``location Headquarters``) and where."""

    pointer: str
    value: Any
    source: str
    at: str


def declared_leaves(res: Resource, root: str, source: str) -> dict[str, Leaf]:
    """The declared leaves of ``res``'s customizations at ``root`` (a pointer into the manifest:
    ``/spec/customizations``), without those ``metadata.ignore`` takes out."""
    custom = get_pointer(res.spec, root.removeprefix("/spec"))
    if not isinstance(custom, dict):
        return {}
    ignore = Cover(res.ignore_under(root.removeprefix("/spec")))
    out: dict[str, Leaf] = {}
    for pointer, value in leaves(custom):
        if not pointer or value == {} or ignore.takes(pointer):
            continue
        out[pointer] = Leaf(pointer, value, source, str(res.loc(root + pointer)))
    return out


def _pointers(value: Any, prefix: str, out: list[str]) -> None:
    """The pointers of the declared leaves under ``value`` (as ``leaves`` finds them, without
    empty mappings), appended to ``out``: a plain walk, for every device of a plan."""
    if not isinstance(value, dict):
        return
    for k, v in value.items():
        key = k if isinstance(k, str) and "~" not in k and "/" not in k else escape(str(k))
        if isinstance(v, dict):
            _pointers(v, f"{prefix}/{key}", out)
        else:
            out.append(f"{prefix}/{key}")


class Cover:
    """Pointers declared (or ignored) by a manifest, asked whether they take another pointer: the
    same field, one that holds it, or one inside it. Set lookups, not a scan: a device declaring
    a whole family (an export) against an org declaring one too is 130 x 130 pointers."""

    def __init__(self, pointers: Iterable[str]) -> None:
        self.exact = {p.rstrip("/") for p in pointers if p}
        self.holders = {p[:i] for p in self.exact for i in range(1, len(p)) if p[i] == "/"}

    def takes(self, pointer: str) -> bool:
        if pointer in self.exact or pointer in self.holders:
            return True
        at = pointer.rfind("/")
        while at > 0:
            if pointer[:at] in self.exact:
                return True
            at = pointer.rfind("/", 0, at)
        return False


def follow(parent: dict[str, Leaf], own: Iterable[str], ignore: Iterable[str] = ()) -> list[Leaf]:
    """The parent's leaves that a child declaring ``own`` (and ignoring ``ignore``) follows."""
    mine, skipped = Cover(own), Cover(ignore)
    return [leaf for p, leaf in parent.items() if not mine.takes(p) and not skipped.takes(p)]


def with_leaves(customizations: Any, inherited: list[Leaf]) -> dict[str, Any]:
    """``customizations`` (a manifest's, never changed) with the inherited leaves set: a copy of
    the mappings on the way to each, the rest shared."""
    out: dict[str, Any] = dict(customizations) if isinstance(customizations, dict) else {}
    for leaf in inherited:
        tokens = split_pointer(leaf.pointer)
        cur = out
        for token in tokens[:-1]:
            nxt = cur.get(token)
            cur[token] = dict(nxt) if isinstance(nxt, dict) else {}
            cur = cur[token]
        cur[tokens[-1]] = leaf.value
    return out


def mark(changes: list[FieldChange], inherited: list[Leaf], prefix: str) -> list[FieldChange]:
    """``changes`` with those of an inherited field marked with where its value comes from."""
    by_path = {f"{prefix}{leaf.pointer}": leaf for leaf in inherited}
    return [replace(c, follows=by_path[c.path].source) if c.path in by_path else c for c in changes]


def of_family(inherited: list[Leaf], families: Iterable[str]) -> list[Leaf]:
    """The leaves of the given settings families (``mpp``, ``ata``...)."""
    heads = {f"/{escape(f)}" for f in families}
    return [leaf for leaf in inherited if "/" + leaf.pointer.split("/")[1] in heads]


class Inheritance:
    """The declared settings of the org and location manifests of a plan (all of them, planned or
    not), and what a customized location or device in it follows."""

    def __init__(self, resources: list[Resource]) -> None:
        org = next((r for r in resources if r.kind == ORG_KIND), None)
        self.org: dict[str, Leaf] = declared_leaves(org, "/spec/customizations", "org") if org else {}
        self.locations: dict[str, Resource] = {r.name: r for r in resources if r.kind == LOCATION_KIND}
        # The devices whose settings a manifest declares (normalized MACs).
        self.device_settings = {r.name for r in resources if r.kind == "Device" and "settings" in r.spec}
        self._empty = not self.org and not any(
            declared_leaves(r, "/spec/customizations", "") for r in self.locations.values()
        )
        self._by_id: dict[str, str] | None = None  # location id -> the name of its manifest
        # (parent, the child's declared and ignored pointers, family) -> what it follows: devices
        # declaring the same fields (an export's, a model's) share one answer
        self._followed: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], list[Leaf]] = {}
        self._lock = asyncio.Lock()

    @property
    def empty(self) -> bool:
        """Nothing declared up any chain: no child follows anything."""
        return self._empty

    def location_declared(self, res: Resource) -> dict[str, Leaf]:
        """What a customized location's devices follow: its own declarations, and the org's where
        it declares none."""
        own = declared_leaves(res, "/spec/customizations", f"location {res.name}")
        inherited = follow(self.org, own, res.ignore_under("/customizations"))
        return {**{leaf.pointer: leaf for leaf in inherited}, **own}

    def for_location(self, res: Resource, families: Iterable[str]) -> list[Leaf]:
        """The org's declared fields a customized location follows (in the families it holds)."""
        own = declared_leaves(res, "/spec/customizations", f"location {res.name}")
        return of_family(follow(self.org, own, res.ignore_under("/customizations")), families)

    async def for_device(
        self, ctx: PlanState, res: Resource, location_id: str | None, family: str
    ) -> list[Leaf]:
        """The declared fields a customized device (of settings ``family``) in ``location_id``
        follows: its location's when the location is customized, else the org's."""
        if self.empty:
            return []
        parent_key, manifest = "org", None
        if location_id:
            name = await self._manifest_of(ctx, location_id)
            manifest = self.locations.get(name) if name else None
            custom = manifest.spec.get("customEnabled") if manifest is not None else None
            if not isinstance(custom, bool):
                custom = await self._live_custom(ctx, location_id)
            if custom:
                # A customized location with no manifest holds values no manifest declares.
                parent_key = f"location {manifest.name}" if manifest is not None else ""
        own: list[str] = []
        _pointers(get_pointer(res.spec, "/settings/customizations"), "", own)
        key = (parent_key, tuple(own), tuple(res.ignore_under("/settings/customizations")), family)
        found = self._followed.get(key)
        if found is None:
            parent = self.org if parent_key == "org" else {}
            if manifest is not None and parent_key.startswith("location "):
                parent = self.location_declared(manifest)
            found = self._followed[key] = of_family(follow(parent, own, key[2]), [family])
        return found

    async def _manifest_of(self, ctx: PlanState, location_id: str) -> str | None:
        """The name of the location manifest for ``location_id`` (None: no manifest declares it)."""
        async with self._lock:
            if self._by_id is None:
                known = {n: e for n, e in ctx.locations.items() if n in self.locations}
                missing = [n for n in self.locations if n not in known]
                if missing:
                    known.update(await ctx.client.locations_by_name(missing))
                self._by_id = {str(e.get("id")): n for n, e in known.items()}
        return self._by_id.get(location_id)

    @staticmethod
    async def _live_custom(ctx: PlanState, location_id: str) -> bool:
        """Whether the location has its own settings now (``kinds.own_settings``: read once in a
        plan, recorded: a device's body depends on it)."""
        return (await ctx.own_settings.location(ctx, location_id, record=True)).custom


def order_settings_jobs(ctx: PlanState) -> None:
    """The org's settings job before every location's (the locations' bodies carry the org's new
    values already; the API runs one settings job of an org at a time)."""
    org = [s for s in ctx.steps if s.resource.startswith(f"{ORG_KIND}/") and s.job_type]
    if not org:
        return
    for step in ctx.steps:
        if (
            step.resource.startswith(f"{LOCATION_KIND}/")
            and step.job_type
            and org[0].id not in step.depends_on
        ):
            step.depends_on.append(org[0].id)
