"""Webex-style identifiers: base64 of ``ciscospark://<region>/<KIND>/<uuid>`` without padding."""

from __future__ import annotations

import base64
import random
import re
import uuid

REGION = "us"
DEVICE_REGION = "urn:TEAM:us-east-2_a"

_HEX12 = re.compile(r"^[0-9A-F]{12}$")


def webex_id(kind: str, ident: str, region: str = REGION) -> str:
    raw = f"ciscospark://{region}/{kind}/{ident}".encode()
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def decode_id(value: str) -> str | None:
    """The ``ciscospark://...`` URI behind an id, or None when it is not one."""
    try:
        padded = value + "=" * (-len(value) % 4)
        text = base64.b64decode(padded, validate=False).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return text if text.startswith("ciscospark://") else None


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def normalize_mac(value: str) -> str | None:
    """``aa:bb:..``, ``AA-BB-..``, ``aabb..`` or ``aabb.ccdd.eeff`` -> ``AABBCCDDEEFF``; None if invalid."""
    cleaned = re.sub(r"[\s:.\-]", "", value).upper()
    return cleaned if _HEX12.match(cleaned) else None


def colon_mac(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2))
