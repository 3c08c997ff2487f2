"""Small builders the seeded orgs are made of: ids, timestamps, members, line keys, devices.

Every random value comes from the org's own ``random.Random``, drawn in a fixed order, so the
same seed gives the same org (tests/sim/test_seed_pinned.py pins what two orgs serve).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from . import catalog
from .ids import DEVICE_REGION, new_uuid, webex_id
from .store import Device, Person, Store, Workspace

_EPOCH = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
_SOFTWARE = {"mpp": "sip88xx.12-0-1MPP-1608", "ata": "sip191.12-0-1MPP-1608", "generic": "3rd-party"}
_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# When the org's settings were last changed (epoch ms), in both seeded orgs.
SETTINGS_UPDATED = 1709283600000


def stamp(rng: random.Random) -> str:
    """A creation time within 300 days of 2024-03-01, as the API writes it."""
    moment = _EPOCH + timedelta(seconds=rng.randrange(0, 3600 * 24 * 300))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z"


def member(
    member_id: str,
    port: int,
    *,
    primary: bool,
    line_type: str = "PRIMARY",
    line_weight: int = 1,
    hotline: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """A stored member in the PutMemberObject shape."""
    out: dict[str, Any] = {
        "port": port,
        "id": member_id,
        "primaryOwner": primary,
        "lineType": line_type,
        "lineWeight": line_weight,
        "hotlineEnabled": hotline is not None,
        "hotlineDestination": hotline or "",
        "allowCallDeclineEnabled": True,
        "t38FaxCompressionEnabled": False,
    }
    if label:
        out["lineLabel"] = label
    return out


def line_key(
    index: int, key_type: str, label: str | None = None, value: str | None = None, shared: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"lineKeyIndex": index, "lineKeyType": key_type}
    if label is not None:
        out["lineKeyLabel"] = label
    if value is not None:
        out["lineKeyValue"] = value
    out["sharedLineIndex"] = shared if shared is not None else 0
    return out


def kem_key(
    module: int,
    index: int,
    key_type: str,
    label: str | None = None,
    value: str | None = None,
    shared: int | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"kemModuleIndex": module, "kemKeyIndex": index, "kemKeyType": key_type}
    if label is not None:
        out["kemKeyLabel"] = label
    if value is not None:
        out["kemKeyValue"] = value
    out["sharedLineIndex"] = shared if shared is not None else 0
    return out


class Ids:
    """Webex-style ids drawn from the org's random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def make(self, kind: str) -> str:
        return webex_id(kind, new_uuid(self.rng))

    def device(self) -> tuple[str, str]:
        """The device's id under /v1/devices and its calling id (one uuid, two regions)."""
        ident = new_uuid(self.rng)
        return webex_id("DEVICE", ident, DEVICE_REGION), webex_id("DEVICE", ident)


def new_store(ids: Ids, name: str, seed: str) -> Store:
    return Store(org_id=ids.make("ORGANIZATION"), org_name=name, admin_id=ids.make("PEOPLE"), seed=seed)


def add_device(
    store: Store,
    ids: Ids,
    mac: str,
    model_name: str,
    owner: Person | Workspace,
    tags: list[str],
    members: list[dict[str, Any]],
    ip: str,
) -> Device:
    """A device of ``owner`` in the owner's location, added to ``store``."""
    model = catalog.MODELS[model_name]
    webex, calling = ids.device()
    rng = ids.rng
    device = Device(
        calling_id=calling,
        webex_id=webex,
        mac=mac,
        model=model_name,
        location_id=owner.location_id,
        owner_type="PEOPLE" if isinstance(owner, Person) else "PLACE",
        owner_id=owner.id,
        display_name=f"{owner.display_name} ({model.display_name})",
        serial="FCH" + "".join(rng.choice(_SERIAL_CHARS) for _ in range(8)),
        created=stamp(rng),
        ip=ip,
        software=_SOFTWARE[model.family],
        tags=tags,
        members=members,
    )
    store.add_device(device)
    return device
