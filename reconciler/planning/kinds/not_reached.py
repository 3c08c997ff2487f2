"""Where an org settings change does not reach: the locations and devices that hold their own
settings (``customEnabled: true``) while no manifest manages them. Their copy of a settings family
masks the org's: a change of the org manifest leaves them as they are, and the plan says so.

What is read, only for a plan whose org settings change: the org's locations (one listing) and the
settings of each location no manifest declares (one GET each); the org's devices (one listing per
1,000) and the settings of each device whose settings no manifest declares and whose model takes
a changed family (one GET each). An org of 10,000 devices and 100 locations, no manifest declaring
their settings: about 10,120 requests, once, in the plan that changes the org. These reads inform;
no step depends on them, so they are not part of a saved plan's checksum. They go through
``kinds.own_settings``: the pushes of the org's job (``push_targets``) take the same answers,
never read twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from reconciler.model import mac_with_colons, normalize_mac
from reconciler.planning.capabilities import Catalog
from reconciler.planning.diff import FieldChange, split_pointer

if TYPE_CHECKING:
    from reconciler.planning.kinds.context import Context

SAMPLE = 10  # the objects named per field (all are counted)
LOCATIONS_PAGE = DEVICES_PAGE = 1000


def _pages(items: int, page: int) -> int:
    """The requests of a listing of ``items`` at ``page`` a page (one at least)."""
    return max(1, -(-items // page))


async def _each(items: list[Any], read: Callable[[Any], Awaitable[Any]], limit: int) -> list[Any]:
    """``read`` every item, at most ``limit`` at a time (a few workers, not a task per item)."""
    out: list[Any] = [None] * len(items)
    pending = iter(range(len(items)))

    async def worker() -> None:
        for i in pending:
            out[i] = await read(items[i])

    await asyncio.gather(*(worker() for _ in range(min(max(1, limit), len(items)))))
    return out


async def _masking_locations(
    ctx: Context, families: set[str], limit: int
) -> tuple[dict[str, list[str]], int]:
    """(family -> the names of the locations no manifest declares that hold their own copy of it,
    requests made)."""
    assert ctx.inheritance is not None
    declared = {n.casefold() for n in ctx.inheritance.locations}
    listed = await ctx.client.paginate("/locations", {"max": LOCATIONS_PAGE}, "items")
    others = [
        loc for loc in listed if str(loc.get("name") or "").casefold() not in declared and loc.get("id")
    ]
    answers = await _each(
        others, lambda loc: ctx.own_settings.location(ctx, str(loc["id"]), record=False), limit
    )
    out: dict[str, list[str]] = defaultdict(list)
    for loc, own in zip(others, answers, strict=True):
        for family in own.families & families:
            out[family].append(str(loc.get("name") or loc["id"]))
    return out, _pages(len(listed), LOCATIONS_PAGE) + len(others)


async def _masking_devices(ctx: Context, families: set[str], limit: int) -> tuple[dict[str, list[str]], int]:
    """(family -> the MACs of the devices whose settings no manifest declares that hold their own
    copy of it, requests made)."""
    assert ctx.inheritance is not None
    requests = 0
    caps = ctx.caps
    if not caps:
        caps = Catalog({str(m.get("model")): m for m in await ctx.client.get_supported_devices()})
        requests += 1
    listed = await ctx.own_settings.org_devices(ctx)
    requests += _pages(len(listed), DEVICES_PAGE)
    candidates = []
    for dev in listed:
        mac = normalize_mac(str(dev.get("mac") or ""))
        if not dev.get("callingDeviceId") or mac in ctx.inheritance.device_settings:
            continue
        model = caps.by_product(str(dev.get("product") or ""))
        if model is not None and (not model.settings_allowed or model.settings_family not in families):
            continue  # its model takes none of the changed families
        candidates.append(dev)
    answers = await _each(
        candidates, lambda dev: ctx.own_settings.device(ctx, str(dev["callingDeviceId"]), record=False), limit
    )
    requests += len(candidates)
    out: dict[str, list[str]] = defaultdict(list)
    for dev, own in zip(candidates, answers, strict=True):
        for family in own.families & families:
            out[family].append(mac_with_colons(str(dev.get("mac") or "")))
    return out, requests


async def unreached(ctx: Context, changes: list[FieldChange]) -> dict[str, Any]:
    """For each changed org field, the locations and devices it does not reach because they hold
    their own settings outside any manifest: ``{"fields": [{"field", "locations", "devices",
    "sample"}], "reads": requests made}``."""
    fields: dict[str, str] = {}  # "mpp.phoneLanguage" -> its family
    for change in changes:
        tokens = split_pointer(change.path)
        if len(tokens) >= 3 and tokens[0] == "customizations":
            fields[".".join(tokens[1:])] = tokens[1]
    if not fields or ctx.inheritance is None:
        return {"fields": [], "reads": 0}
    families = set(fields.values())
    limit = 2 * max(1, int(getattr(ctx.client, "concurrency", 16)))
    (locations, n_loc), (devices, n_dev) = await asyncio.gather(
        _masking_locations(ctx, families, limit), _masking_devices(ctx, families, limit)
    )
    out = []
    for name, family in sorted(fields.items()):
        locs, devs = sorted(locations.get(family, [])), sorted(devices.get(family, []))
        if locs or devs:
            out.append(
                {
                    "field": name,
                    "locations": locs,
                    "devices": len(devs),
                    "sample": devs[:SAMPLE],
                }
            )
    return {"fields": out, "reads": n_loc + n_dev}
