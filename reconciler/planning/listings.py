"""The lookups of a plan, kept for the next plan of the same run when nothing written changed them.

A plan first looks up what its manifests name: devices by MAC, people by email, workspaces and
locations by name (listings of whole collections, or one filtered request per key when there are
few), the org's line key templates and the supported models. ``apply`` plans, writes, then plans
again what it wrote (``reconciler.applying.verify``), and that second plan needs the same lookups. A
``Listings`` answers a lookup from an earlier answer when the keys asked are among those it was
read for; ``after(steps)`` gives the copy the verification uses, without the lookups that one of
the applied steps can have changed (``CHANGED_BY``): those are read again.

What each lookup reads, and the writes that can change it:

- devices (``/devices``): id, calling id, model, owner, location, tags. A write to the device
  itself (``/telephony/config/devices/{id}``, e.g. the SIP password of a third-party device), to
  its members (they include its owner's line) or anywhere under ``/devices``. Settings, layouts,
  pushes and the bulk jobs (settings, templates, rebuilds) leave the listing as it was.
- people, workspaces, locations: any write under their collection (``/people``,
  ``/telephony/config/people``...).
- line key templates: any write under ``/telephony/config/devices/lineKeyTemplates``.
- supported models: no write of apply changes them.

Only this run's writes are accounted for: a change made by someone else between the plan and the
verification is not seen by the lookups (the verification still reads the objects it verifies).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from reconciler.model import normalize_mac
from reconciler.planning.plan import Step

if TYPE_CHECKING:
    from reconciler.webex.api import WebexApi

JSONDict = dict[str, Any]

CHANGED_BY: dict[str, re.Pattern[str]] = {
    # (lineKeyTemplates, backgroundImages, settings, actions are collections beside the devices)
    "devices": re.compile(
        r"^/devices(/|$)"
        r"|^/telephony/config/devices/(?!(lineKeyTemplates|backgroundImages|settings|actions)$)[^/]+(/members)?$"
    ),
    "people": re.compile(r"^(/telephony/config)?/people(/|$)"),
    "workspaces": re.compile(r"^(/telephony/config)?/workspaces(/|$)"),
    "locations": re.compile(r"^(/telephony/config)?/locations(/|$)"),
    "templates": re.compile(r"^/telephony/config/devices/lineKeyTemplates(/|$)"),
    "models": re.compile(r"(?!)"),  # matches nothing
}


def changed_lookups(steps: Iterable[Step]) -> set[str]:
    """The lookups (keys of ``CHANGED_BY``) that a write of ``steps`` can have changed."""
    writes = [s.path.split("?", 1)[0] for s in steps if s.method.upper() != "GET"]
    return {name for name, pattern in CHANGED_BY.items() if any(pattern.search(p) for p in writes)}


def _mac(value: str) -> str:
    return normalize_mac(value) or value


def _email(value: str) -> str:
    return value.strip().lower()


def _name(value: str) -> str:
    return value


class Listings:
    """The lookups of one plan, over ``client``; ask the same (or fewer) keys again: no request."""

    def __init__(self, client: WebexApi) -> None:
        self.client = client
        self._keyed: dict[str, tuple[frozenset[str], dict[str, JSONDict]]] = {}
        self._whole: dict[str, list[JSONDict]] = {}
        self.reused: set[str] = set()  # lookups answered from an earlier answer

    def after(self, steps: Iterable[Step]) -> Listings:
        """A copy for the plan after ``steps`` were applied: what they can have changed is dropped."""
        stale = changed_lookups(steps)
        copy = Listings(self.client)
        copy._keyed = {k: v for k, v in self._keyed.items() if k not in stale}
        copy._whole = {k: v for k, v in self._whole.items() if k not in stale}
        return copy

    async def _by_key(
        self,
        lookup: str,
        keys: Iterable[str],
        norm: Callable[[str], str],
        read: Callable[[list[str]], Awaitable[dict[str, JSONDict]]],
    ) -> dict[str, JSONDict]:
        asked = [k for k in keys if k]
        wanted = {norm(k) for k in asked}
        if not wanted:
            return {}
        kept = self._keyed.get(lookup)
        if kept is not None and wanted <= kept[0]:
            self.reused.add(lookup)
            return {k: v for k, v in kept[1].items() if k in wanted}
        found = await read(asked)
        self._keyed[lookup] = (frozenset(wanted), found)
        return found

    async def _all(self, lookup: str, read: Callable[[], Awaitable[list[JSONDict]]]) -> list[JSONDict]:
        if lookup in self._whole:
            self.reused.add(lookup)
            return list(self._whole[lookup])
        found = await read()
        self._whole[lookup] = found
        return list(found)

    async def devices_by_mac(self, macs: Iterable[str]) -> dict[str, JSONDict]:
        return await self._by_key("devices", macs, _mac, self.client.devices_by_mac)

    async def people_by_email(self, emails: Iterable[str]) -> dict[str, JSONDict]:
        return await self._by_key("people", emails, _email, self.client.people_by_email)

    async def workspaces_by_name(self, names: Iterable[str]) -> dict[str, JSONDict]:
        return await self._by_key("workspaces", names, _name, self.client.workspaces_by_name)

    async def locations_by_name(self, names: Iterable[str]) -> dict[str, JSONDict]:
        return await self._by_key("locations", names, _name, self.client.locations_by_name)

    async def list_line_key_templates(self) -> list[JSONDict]:
        return await self._all("templates", self.client.list_line_key_templates)

    async def get_supported_devices(self) -> list[JSONDict]:
        return await self._all("models", self.client.get_supported_devices)
