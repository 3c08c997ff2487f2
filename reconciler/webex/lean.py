"""The lookups' items kept lean: a plan keeps every ``/devices`` and ``/people`` item its
manifests name for the whole run (100,000 of each in the largest orgs), so each item is cut, page
by page as it arrives, to what some part of the tool reads.

Only fields that no code reads are left out (the list below; ``tests/webex/test_lean.py`` checks
that no module outside the simulator names one), and the values every item repeats (the org's id,
a location's id, a product name) are shared: at 100,000 devices a device item shrinks from ~2.8 to
~1.3 KB and a person from ~1.3 to ~0.8 KB of memory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

JSONDict = dict[str, Any]

# Fields of a /devices item nothing reads (identity, placement, model and tags are read; "ip"
# and "lastSeen" only as volatile values of a settings answer, never of a listing).
DEVICE_UNREAD = frozenset(
    {
        "permissions",
        "activeInterface",
        "software",
        "upgradeChannel",
        "workspaceLocationId",
        "errorCodes",
        "firstSeen",
        "lastSeen",
        "managedBy",
        "devicePlatform",
        "ip",
        "created",
    }
)
# Fields of a /people item nothing reads (the id, e-mails and names are read).
PERSON_UNREAD = frozenset({"nickName", "lastModified", "invitePending", "loginEnabled", "created", "avatar"})
# string values many items repeat: one object for all of them
SHARED = frozenset({"orgId", "locationId", "product", "type", "connectionStatus", "status", "model"})
_LONGEST_SHARED = 256


def lean(item: JSONDict, unread: frozenset[str]) -> JSONDict:
    """``item`` without the ``unread`` fields, its repeated values shared."""
    shared, intern = SHARED, sys.intern
    return {
        k: intern(v) if k in shared and type(v) is str and len(v) <= _LONGEST_SHARED else v
        for k, v in item.items()
        if k not in unread
    }


def leaner(
    unread: frozenset[str], wanted: Callable[[JSONDict], bool]
) -> Callable[[JSONDict], JSONDict | None]:
    """A listing's ``each``: the lean item when ``wanted`` takes it, else None (dropped)."""

    def each(item: JSONDict) -> JSONDict | None:
        return lean(item, unread) if wanted(item) else None

    return each
