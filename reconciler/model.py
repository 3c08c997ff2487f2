"""Plain data types shared by loading, validation, planning and rendering."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "reconciler/v1"

KINDS = (
    "LineKeyTemplate",
    "Device",
    "LocationDeviceSettings",
    "OrgDeviceSettings",
    "LineKeyTemplateAssignment",
    "PersonDevices",
    "WorkspaceDevices",
    "BackgroundImages",
    "Policy",
)

# The kinds that exist once per org; their identity is this fixed name.
SINGLETON_NAME = "org"


@dataclass(frozen=True, order=True)
class Location:
    """Where something was written: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class SecretRef:
    """``{fromEnv: NAME}`` in a manifest: resolved from the environment at apply time only."""

    env: str

    def __str__(self) -> str:
        return "(sensitive)"


@dataclass(frozen=True)
class LiveSecret:
    """A secret the API answered with (an HTTP proxy or web access password) that a write keeps as
    it is. A plan holds where it was read, never its value: the executor reads it again just
    before the write, so the value is in no plan, log or artifact."""

    path: str  # the GET it was read from
    pointer: str  # where in that answer

    def __str__(self) -> str:
        return "(sensitive)"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the manifests, or during plan with a manifest location."""

    location: Location | None
    message: str
    resource: str | None = None  # "Kind/name"
    severity: str = "error"
    code: str = ""  # the check that found it (``reconciler.errors.DIAGNOSTIC_CODES``)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        who = f"{self.resource}: " if self.resource else ""
        return f"{where}{who}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "col": self.location.col if self.location else None,
            "resource": self.resource,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class Resource:
    """One manifest document, as plain Python data with source positions.

    ``metadata`` and ``spec`` are plain dicts/lists/scalars; ``{fromEnv: X}`` values are
    ``SecretRef``. ``positions`` maps a JSON pointer (``/spec/members/0/port``) to where that
    key or item was written; ``loc()`` finds the nearest known position for any pointer.
    """

    kind: str
    name: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    source: Location
    positions: dict[str, Location] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def ignore(self) -> list[str]:
        value = self.metadata.get("ignore") or []
        return [str(v) for v in value]

    def ignore_under(self, pointer: str) -> list[str]:
        """The ``ignore`` pointers below ``pointer`` (``/settings``), relative to it."""
        return [i[len(pointer) :] for i in self.ignore if i.startswith(pointer + "/")]

    def loc(self, pointer: str = "") -> Location:
        """The position of ``pointer`` or of its nearest ancestor that has one."""
        p = pointer
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p.rsplit("/", 1)[0]
        return self.positions.get("", self.source)


_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}$")


_MAC_SEPARATORS = str.maketrans("", "", ":-")


_UPPER_HEX = "0123456789ABCDEF"


def normalize_mac(value: str) -> str | None:
    """``AA:BB:..``, ``aa-bb-..`` or ``AABB..`` to ``AABBCCDDEEFF``; None if not a MAC."""
    # (the forms a plan meets ~5 times per device, from its manifest and the API, without the
    # regular expression: 1.2 -> 0.2 us)
    if len(value) == 12:
        if not value.strip(_UPPER_HEX):
            return value
    elif len(value) == 17 and value[2::3] == ":::::":
        bare = value.replace(":", "")
        if len(bare) == 12 and not bare.strip(_UPPER_HEX):
            return bare
    text = value.strip()
    if not _MAC_RE.match(text):
        return None
    return text.translate(_MAC_SEPARATORS).upper()


def mac_with_colons(mac: str) -> str:
    """``AABBCCDDEEFF`` to ``AA:BB:CC:DD:EE:FF`` (the form ``/v1/devices`` uses)."""
    m = normalize_mac(mac) or mac
    return ":".join(m[i : i + 2] for i in range(0, 12, 2))


# Settings fields that hold a secret (``httpProxy.password``, ``webAccess.password``, ``ldap.bindPw``,
# ``phoneSecurityPwd``, ``snmp.getCommunity`` and ``setCommunity``, and a device's ``sipPassword``):
# their live values are never shown, hashed into a saved plan, exported (a ``fromEnv`` placeholder
# instead), or copied into a plan's body. A key is one when it ends in one of these, in any case.
SECRET_NAME_ENDINGS = ("password", "pwd", "bindpw", "community")
_SECRET_FIELD = re.compile(f"(?i)({'|'.join(SECRET_NAME_ENDINGS)})$")


@functools.lru_cache(maxsize=4096)
def is_secret_field(name: str) -> bool:
    return _SECRET_FIELD.search(name) is not None
