"""Which locations and devices hold their own settings (``customEnabled: true``), and a copy of
which settings families: read at most once in a plan, by whichever part of it asks first.

Four parts of a plan need these facts, often about the same objects:

- the location planner (``kinds/settings.py``) diffs a location's settings; the device planner
  (``kinds/device.py``) a device's, and notes what it read here (``note_device``);
- what a customized device follows (``kinds/inherit.py``): whether its location is customized;
- where an org change does not reach (``kinds/not_reached.py``): the locations and devices no
  manifest declares that hold their own copy of a changed family;
- which devices an org or location settings job reaches, to push them (``push_targets.py``):
  a device or location with its own settings masks the job.

So the same answer is never read twice in one plan (nor the org's device listing). A read that
only informs (``not_reached``) is not part of the saved-plan staleness check (``Context.reads``);
a read that decides a step is (``record=True``), also when an informing read made it first.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple, Protocol


class PlanReads(Protocol):
    """What this module needs of ``reconciler.planning.kinds.context.Context`` (no import of it: the
    Context holds an ``OwnSettings``)."""

    reads: dict[str, str]
    client: Any

    async def fetch(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str]: ...


DEVICE_SETTINGS = "/telephony/config/devices/{id}/settings"
LOCATION_SETTINGS = "/telephony/config/locations/{id}/devices/settings"


class Own(NamedTuple):
    """What one settings answer says about its object (a tuple: one is made per device a plan
    reads; 0.27 us against a frozen dataclass's 0.60)."""

    custom: bool  # customEnabled: it shows its own settings, not its parent's
    families: frozenset[str]  # the families it holds its own copy of (none unless custom)
    read: str  # "GET <path>", as ``Context.reads`` keys it
    digest: str  # the answer's digest, for the saved-plan staleness check
    answer: dict[str, Any] | None = None  # the whole answer (kept for locations only)


def own_of(answer: Any, read: str, digest: str, keep: bool) -> Own:
    """The facts of a settings answer (``keep``: with the answer itself)."""
    data = answer if isinstance(answer, dict) else {}
    custom = data.get("customEnabled") is True
    found = data.get("customizations")
    families = (
        frozenset(k for k, v in found.items() if isinstance(v, dict))
        if custom and isinstance(found, dict)
        else frozenset()
    )
    return Own(custom, families, read, digest, data if keep else None)


class OwnSettings:
    """The settings facts of a plan's locations and devices, by object id: each read once."""

    def __init__(self) -> None:
        self._found: dict[str, asyncio.Future[Own]] = {}  # read here, or being read
        self._noted: dict[str, Own] = {}  # read by a planner (``note_device``: no future for them)
        self._devices: asyncio.Future[list[dict[str, Any]]] | None = None

    async def org_devices(self, ctx: PlanReads) -> list[dict[str, Any]]:
        """Every device of the org (``/devices``, all pages), listed once in a plan: both
        ``not_reached`` and ``push_targets`` walk them when the org's settings change."""
        if self._devices is None:
            self._devices = asyncio.ensure_future(ctx.client.list_devices())
        return await asyncio.shield(self._devices)

    async def location(self, ctx: PlanReads, location_id: str, *, record: bool) -> Own:
        """The location's settings facts, with its whole answer (``Own.answer``)."""
        return await self._facts(ctx, LOCATION_SETTINGS.format(id=location_id), keep=True, record=record)

    async def device(self, ctx: PlanReads, device_id: str, *, record: bool) -> Own:
        """The device's settings facts (``device_id``: its callingDeviceId)."""
        return await self._facts(ctx, DEVICE_SETTINGS.format(id=device_id), keep=False, record=record)

    def known_device(self, ctx: PlanReads, device_id: str) -> Own | None:
        """The device's facts when a part of the plan read them already (None: not read);
        recorded, as whoever asks decides a step on them."""
        path = DEVICE_SETTINGS.format(id=device_id)
        own = self._noted.get(path)
        if own is None:
            found = self._found.get(path)
            if found is None or not found.done() or found.cancelled() or found.exception() is not None:
                return None
            own = found.result()
        ctx.reads[own.read] = own.digest
        return own

    def note_device(self, ctx: PlanReads, device_id: str, answer: Any) -> None:
        """A device's settings that a planner read (and recorded) with ``Context.get``."""
        path = DEVICE_SETTINGS.format(id=device_id)
        if path in self._noted or path in self._found:
            return
        read = f"GET {path}"
        self._noted[path] = own_of(answer, read, ctx.reads.get(read, ""), keep=False)

    async def _facts(self, ctx: PlanReads, path: str, *, keep: bool, record: bool) -> Own:
        own = self._noted.get(path)
        if own is None:
            found = self._found.get(path)
            if found is None:
                found = self._found[path] = asyncio.ensure_future(self._read(ctx, path, keep))
            own = await asyncio.shield(found)  # one asker cancelled: the read goes on for the others
        if record and own.digest:
            ctx.reads[own.read] = own.digest
        return own

    @staticmethod
    async def _read(ctx: PlanReads, path: str, keep: bool) -> Own:
        answer, digest = await ctx.fetch(path)
        return own_of(answer, f"GET {path}", digest, keep)
