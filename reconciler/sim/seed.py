"""Seeded orgs: the demo org (``demo_org.py``, from ``data/demo_org.json``) and deterministic
generated orgs (``generated_org.py``); extra devices tests and demos add to them."""

from __future__ import annotations

import random

from .demo_org import demo_store
from .generated_org import generated_store
from .ids import DEVICE_REGION, colon_mac, new_uuid, webex_id
from .store import Device, Store

__all__ = ["build_store", "colon_mac", "demo_store", "generated_store"]


def build_store(seed: str | int, devices: int | None) -> Store:
    if seed == "demo" or seed is None:
        if devices is not None:
            raise ValueError("--devices applies to generated orgs (--seed N), not to the demo org")
        return demo_store()
    try:
        number = int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be 'demo' or an integer, not {seed!r}") from None
    return generated_store(number, 1000 if devices is None else devices)


# --------------------------------------------------------------------------------------------
# Extra devices (tests and demos add them to a seeded org)
# --------------------------------------------------------------------------------------------

THIRD_PARTY_MODEL = "Generic IPPhone Customer Managed"


def add_third_party_phone(store: Store, mac: str, like_mac: str) -> Device:
    """A customer-managed SIP phone (the only kind that takes a ``sipPassword``) with MAC ``mac``,
    in the location and with the owner and members of the device ``like_mac``."""
    existing = next((d for d in store.devices.values() if d.mac == mac), None)
    if existing is not None and existing.model == THIRD_PARTY_MODEL:
        return existing  # the demo org has one already
    like = next(d for d in store.devices.values() if d.mac == like_mac)
    ident = new_uuid(random.Random(mac))
    phone = Device(
        calling_id=webex_id("DEVICE", ident),
        webex_id=webex_id("DEVICE", ident, DEVICE_REGION),
        mac=mac,
        model=THIRD_PARTY_MODEL,
        location_id=like.location_id,
        owner_type=like.owner_type,
        owner_id=like.owner_id,
        display_name=f"SIP phone {colon_mac(mac)}",
        serial="",
        created=like.created,
        ip=like.ip,
        software=like.software,
        members=[dict(m) for m in like.members],
    )
    store.add_device(phone)
    return phone
