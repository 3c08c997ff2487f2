"""What every kind's planner shares: the client, the lookups, the reads made, the problems found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.diff import is_secret_field, keep_live_secrets
from reconciler.model import Diagnostic, Resource
from reconciler.plan import Step, digest, digest_json

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

# Fields that change without anyone changing configuration; left out of saved-plan checksums.
VOLATILE = frozenset(
    {"lastUpdateTime", "updateInProgress", "connectionStatus", "lastSeen", "ip", "ipAddress", "deviceCount"}
)


def strip_volatile(value: Any) -> Any:
    """``value`` without volatile fields and without the live values of secret fields (a saved
    plan holds no hash of a password: the executor reads those again before it writes)."""
    if isinstance(value, dict):
        return {
            k: strip_volatile(v)
            for k, v in value.items()
            if k not in VOLATILE and not (isinstance(v, str) and v and is_secret_field(k))
        }
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


# Distinct answers kept per kind of path (the last segment: members, layout, settings, ...).
ANSWER_CACHE_PER_PATH = 1024

_VOLATILE_KEYS = tuple(f'"{k}"'.encode() for k in VOLATILE)
# A key that may name a secret field (``is_secret_field``), and one with its string or null value.
_SECRET_HINT = re.compile(rb"(?i)password|pwd|bindpw")
_SECRET_VALUE = re.compile(rb'"[^"\\]*(?i:password|pwd|bindpw)"\s*:\s*("[^"\\]*"|null)?')


def may_hold_secret(raw: bytes) -> bool:
    """Whether an answer's bytes may hold a non-empty secret field (False only when certain)."""
    if b"\\u" in raw:
        return True  # an escaped character could spell a secret field's name
    if not _SECRET_HINT.search(raw):
        return False
    if b"\\" in raw:
        return True
    return any(m.group(1) not in (b'""', b"null") for m in _SECRET_VALUE.finditer(raw))


def answer_digest(data: Any, raw: bytes | None = None) -> str:
    """The digest of a parsed JSON answer without its volatile fields and live secrets (what saved
    plans compare).

    With the answer's ``raw`` bytes (and no escaped character in them, so no key can hide): when
    every volatile name the bytes hold is a top-level key of ``data`` and no secret field has a
    value, only the top level is stripped; walking the whole answer to strip nothing below it is
    the costly part.
    """
    return _answer_digest(data, raw)[0]


def _answer_digest(data: Any, raw: bytes | None) -> tuple[str, bool, bool]:
    """``answer_digest``; whether volatile fields were at most at the top level of ``data`` (so two
    answers of equal digests have equal values under every other top-level key); and whether the
    answer may hold a live secret."""
    secret = raw is None or may_hold_secret(raw)
    if not secret and raw is not None and isinstance(data, dict) and b"\\u" not in raw:
        named = sum(raw.count(k) for k in _VOLATILE_KEYS)
        top = [k for k in data if k in VOLATILE]
        if named == len(top):
            return (
                digest_json({k: v for k, v in data.items() if k not in VOLATILE} if top else data),
                True,
                False,
            )
    return digest_json(strip_volatile(data)), False, secret


@dataclass
class Policy:
    prune: bool = False
    max_changes: int | None = None
    max_changes_percent: float | None = None
    rebuild_threshold: int = 10
    concurrency: int | None = None

    @classmethod
    def from_resources(cls, resources: list[Resource]) -> Policy:
        for r in resources:
            if r.kind == "Policy":
                s = r.spec
                return cls(
                    prune=bool(s.get("prune", False)),
                    max_changes=s.get("maxChanges"),
                    max_changes_percent=s.get("maxChangesPercent"),
                    rebuild_threshold=int(s.get("rebuildPhonesThreshold", 10)),
                    concurrency=s.get("concurrency"),
                )
        return cls()


@dataclass
class Context:
    client: WebexClient
    resources: list[Resource]
    policy: Policy
    prune: bool = False
    reads: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # Lookups, keyed by the human reference.
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # normalized MAC -> /v1/devices item
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # lowercased email -> person
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)  # display name -> workspace
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> location
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # templateName -> list entry
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> supportedDevices entry
    # Line key templates by name: the repo's definition where declared, else the live one.
    template_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotate_secrets: bool = False
    # LineKeyTemplateAssignment address -> MACs of the devices its job would target.
    assignment_targets: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # any id -> its human reference
    # Devices whose configuration this plan changes: callingDeviceId -> (address, locationId, step ids)
    changed_devices: dict[str, tuple[str, str | None, list[str]]] = field(default_factory=dict)
    # Whether one resource's reads go out together (few resources) or one after the other (many
    # resources fill the client's request slots by themselves).
    parallel_reads: bool = True
    # The customizations of settings answers by answer digest (shared by equal answers).
    shared: dict[str, Any] = field(default_factory=dict)
    # Answers by their bytes: (parsed, digest, may hold a secret). Most devices of a model in a
    # location answer their settings and layout with the same bytes; those are parsed and hashed
    # once and share one (read only) object. At most ``ANSWER_CACHE_PER_PATH`` distinct answers
    # per kind of path.
    answers: dict[bytes, tuple[dict[str, Any], str, bool]] = field(default_factory=dict)
    answer_counts: dict[str, int] = field(default_factory=dict)
    # The GETs whose answers may hold a live secret (``keep_live_secrets`` for bodies built on them).
    secret_reads: set[str] = field(default_factory=set)

    def record(self, key: str, value: Any) -> None:
        """Remember a read for the saved-plan staleness check."""
        self.reads[key] = digest(strip_volatile(value))

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON object (checked: ``BadAnswer`` for one not fit to plan on) and record it."""
        from reconciler.webex.answers import checked

        resp = await self.client.request("GET", path, params=params)
        raw = resp.content
        known = self.answers.get(raw)
        if known is not None:
            data, key, secret = known
            checked(resp, data, path)  # the same bytes, checked against this path's expectations
            self.reads[f"GET {path}"] = key
            if secret:
                self.secret_reads.add(path)
            return data
        data = checked(resp, path=path)
        key, exact, secret = _answer_digest(data, raw)
        self.reads[f"GET {path}"] = key
        if secret:
            self.secret_reads.add(path)
        custom = data.get("customizations")
        if exact and isinstance(custom, dict):
            # Answers equal but for volatile fields share one copy of their customizations: the
            # settings bodies of a big plan are built on them. Answers are read only, never changed
            # in place.
            data["customizations"] = self.shared.setdefault(key, custom)
        kind = path.rsplit("/", 1)[-1] if params is None else path
        count = self.answer_counts.get(kind, 0)
        if count < ANSWER_CACHE_PER_PATH:
            self.answer_counts[kind] = count + 1
            self.answers[raw] = (data, key, secret)
        return data

    def without_live_secrets(self, live: Any, path: str, pointer: str = "") -> Any:
        """``live`` (at ``pointer`` in the answer of GET ``path``) to build a write on: its live
        secrets replaced by references (``keep_live_secrets``), so no plan holds their values."""
        return keep_live_secrets(live, path, pointer) if path in self.secret_reads else live

    def error(self, resource: Resource, pointer: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(resource.loc(pointer), message, resource.address))

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def label(self, ident: str | None) -> str:
        if not ident:
            return "?"
        return self.labels.get(ident, ident)
