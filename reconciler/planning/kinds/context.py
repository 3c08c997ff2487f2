"""What every kind's planner shares: the client, the lookups, the reads made, the problems found."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import SECRET_NAME_ENDINGS, Diagnostic, Resource, is_secret_field
from reconciler.planning.capabilities import Catalog
from reconciler.planning.diff import FieldChange, keep_live_secrets, with_secret_writes
from reconciler.planning.kinds.own_settings import OwnSettings
from reconciler.planning.kinds.pending import Pending
from reconciler.planning.plan import Step, digest, digest_json
from reconciler.planning.secrets import SecretBaseline
from reconciler.textsafe import did_you_mean
from reconciler.webex.answers import checked
from reconciler.workdir.secret_record import SecretRecord

if TYPE_CHECKING:
    from reconciler.planning.kinds.inherit import Inheritance
    from reconciler.webex.client import WebexClient
    from reconciler.workdir.journal import PendingPush

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

# A volatile field with a scalar value, as an answer's bytes hold it: split out of the bytes, the
# rest is what answers must share to share their parsed object (the values are laid over a copy).
_VOLATILE_SCALAR = re.compile(
    rb'"('
    + b"|".join(re.escape(k.encode()) for k in sorted(VOLATILE))
    + rb')"\s*:\s*(true|false|null|-?[0-9][0-9.eE+-]*|"[^"\\]*")'
)
# What follows the name of a secret field that is a key (``is_secret_field``: a key ending in one
# of these, any case): its string value (without escapes) or null, if it is one of those.
_SECRET_NAMES = tuple(name.encode() for name in SECRET_NAME_ENDINGS)
_AFTER_SECRET_NAME = re.compile(rb'"\s*:\s*("[^"\\]*"|null)?')


def _scalar(value: bytes) -> Any:
    """A JSON scalar as ``_VOLATILE_SCALAR`` matches it (no escapes), parsed."""
    if value[:1] == b'"':
        return value[1:-1].decode()
    special = {b"true": True, b"false": False, b"null": None}
    if value in special:
        return special[value]
    try:
        return int(value)
    except ValueError:
        return float(value)


def may_hold_secret(raw: bytes) -> bool:
    """Whether an answer's bytes may hold a non-empty secret field (False only when certain)."""
    if b"\\u" in raw:
        return True  # an escaped character could spell a secret field's name
    low = raw.lower()
    for name in _SECRET_NAMES:
        at = low.find(name)
        while at >= 0:
            at += len(name)
            key = _AFTER_SECRET_NAME.match(low, at)
            if key is not None and (b"\\" in raw or key.group(1) not in (b'""', b"null")):
                return True  # a secret field with a value (or bytes too hard to be sure of)
            at = low.find(name, at)
    return False


def split_volatile(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
    """An answer's bytes without their volatile scalar fields, and those fields (name, value); None
    for bytes with a backslash (an escape could hide a key or end a string anywhere)."""
    if b"\\" in raw:
        return None
    parts = _VOLATILE_SCALAR.split(raw)
    if len(parts) == 1:
        return raw, []  # (none: the bytes themselves, their hash already made as a key)
    return b"".join(parts[0::3]), list(zip(parts[1::3], parts[2::3], strict=True))


def answer_digest(
    data: Any,
    raw: bytes | None = None,
    split: tuple[bytes, list[tuple[bytes, bytes]]] | None = None,
    secret: bool | None = None,
) -> str:
    """What saved plans compare for one answer: the sha256 of its bytes without volatile fields
    (``split_volatile``), or, for bytes with an escape or a live secret (or no bytes), of its
    canonical JSON without volatile fields and live secrets. Equal for answers that differ only in
    volatile values; another serialization of the same data (keys reordered) counts as a change,
    which refuses a saved plan (safe) rather than applying it. ``split`` and ``secret``: already
    known for ``raw``."""
    if raw is not None:
        split = split if split is not None else split_volatile(raw)
        secret = secret if secret is not None else may_hold_secret(raw)
        if split is not None and not secret:
            return hashlib.sha256(split[0]).hexdigest()
    return digest_json(strip_volatile(data))


def _top_level_only(data: dict[str, Any], fields: list[tuple[bytes, bytes]]) -> bool:
    """Whether the volatile fields split out of an answer's bytes are exactly its top-level ones."""
    top = [k for k in data if k in VOLATILE]
    return len(fields) == len(top) and all(data.get(k.decode(), _MISSING) == _scalar(v) for k, v in fields)


_MISSING = object()

# The HTTP method each kind of step is sent with.
METHODS = {"create": "POST", "update": "PUT", "delete": "DELETE", "job": "POST", "invoke": "POST"}


@dataclass
class Policy:
    prune: bool = False
    max_changes: int | None = None
    max_changes_percent: float | None = None
    rebuild_threshold: int = 10
    concurrency: int | None = None
    force_delete_images: bool = False
    push: str = "auto"  # "never": hold every push (``reconciler push`` sends them)

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
                    force_delete_images=bool(s.get("forceDeleteImages", False)),
                    push=str(s.get("push", "auto")),
                )
        return cls()


@dataclass
class Reach:
    """A device the plan pushes: what changes it and why."""

    mac: str
    cid: str
    location: str | None
    after: list[str] = field(default_factory=list)  # the steps that change it
    reasons: list[str] = field(default_factory=list)
    pending: PendingPush | None = None

    @property
    def address(self) -> str:
        return f"Device/{self.mac}"

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(self.reasons))


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
    people_pending: Pending = field(default_factory=Pending)  # ``people`` is full once it is known
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)  # display name -> workspace
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> location
    # Every name of the org's workspaces / locations, read only when a named one was not found
    # (what "did you mean" picks from): "workspaces" / "locations" -> names.
    org_names: dict[str, list[str]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # templateName -> list entry
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> supportedDevices entry
    caps: Catalog = field(default_factory=Catalog)  # what each model may take (from ``models``)
    # Line key templates by name: the repo's definition where declared, else the live one.
    template_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotate_secrets: bool = False
    # Resources whose write-only secret an earlier apply planned but did not write.
    rewrite_secrets: set[str] = field(default_factory=set)
    # The secret declarations to compare with (None: no baseline known), the secret steps this
    # apply already wrote (its verification plan), and what the plan says about each secret.
    secret_baseline: SecretBaseline | None = None
    secrets_written: set[str] = field(default_factory=set)
    secret_notes: list[dict[str, Any]] = field(default_factory=list)
    # The secrets this working directory's applies wrote (``reconciler.workdir.secret_record``), if known.
    secret_record: SecretRecord | None = None
    # What customized locations and devices follow (``reconciler.planning.kinds.inherit``); None: nothing.
    inheritance: Inheritance | None = None
    # Which locations and devices hold their own settings, each read once (``kinds.own_settings``).
    own_settings: OwnSettings = field(default_factory=OwnSettings)
    # LineKeyTemplateAssignment address -> MACs of the devices its job would target.
    assignment_targets: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # any id -> its human reference
    # Devices whose configuration this plan changes: callingDeviceId -> (address, locationId, step ids)
    changed_devices: dict[str, tuple[str, str | None, list[str]]] = field(default_factory=dict)
    # Changed devices whose model takes no applyChanges (a third-party SIP phone): nothing to push.
    no_push: set[str] = field(default_factory=set)
    # The devices the plan pushes, by MAC (``reconciler.planning.pushes``); those held by the Policy; the org
    # the devices looked up belong to (an apply log of another org is refused).
    reached: dict[str, Reach] = field(default_factory=dict)
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)  # MAC -> /devices item a job targets
    held: list[dict[str, str]] = field(default_factory=list)
    org_seen: str | None = None
    # Whether one resource's reads go out together (few resources) or one after the other (many
    # resources fill the client's request slots by themselves).
    parallel_reads: bool = True
    # The customizations of settings answers by answer digest (shared by equal answers).
    shared: dict[str, Any] = field(default_factory=dict)
    # Answers by their bytes without volatile scalars: (parsed, digest, may hold a secret, volatile
    # fields only at the top level). Most devices of a model in a location answer their settings
    # and layout alike but for a timestamp; those are parsed and hashed once and share one (read
    # only) object, each with its own volatile values on top. At most ``ANSWER_CACHE_PER_PATH``
    # distinct answers per kind of path. Valid JSON pins where each removed field was (a removed
    # ``"key": value`` leaves ``{,`` / ``,,`` / ``,}``), so equal rests with as many removed fields
    # are equal answers but for those values.
    answers: dict[bytes, tuple[dict[str, Any], str, bool, int]] = field(default_factory=dict)
    # The same entries by the answer's own bytes (equal bytes: no volatile values to lay over).
    same_bytes: dict[bytes, tuple[dict[str, Any], str, bool]] = field(default_factory=dict)
    answer_counts: dict[str, int] = field(default_factory=dict)
    # The GETs whose answers may hold a live secret (``keep_live_secrets`` for bodies built on them).
    secret_reads: set[str] = field(default_factory=set)

    def record(self, key: str, value: Any) -> None:
        """Remember a read for the saved-plan staleness check."""
        self.reads[key] = digest(strip_volatile(value))

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON object (checked: ``BadAnswer`` for one not fit to plan on) and record it."""
        resp = await self.client.request("GET", path, params=params)
        data, key = self._taken(resp, path, params)  # (not through ``fetch``: a coroutine less)
        self.reads[f"GET {path}"] = key
        return data

    async def fetch(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str]:
        """GET a JSON object, checked like ``get`` but not recorded: (it, its digest for the
        saved-plan staleness check, recorded by whoever decides a step on it)."""
        return self._taken(await self.client.request("GET", path, params=params), path, params)

    def _taken(self, resp: Any, path: str, params: dict[str, Any] | None) -> tuple[Any, str]:
        """An answer to a GET of ``path``, checked, and its digest (``fetch``)."""
        raw = resp.content
        same = self.same_bytes.get(raw)
        if same is not None:
            data, key, secret = same
            return self._known(resp, path, data, key, secret), key
        split = split_volatile(raw)
        if split is not None:
            known = self.answers.get(split[0])
            if known is not None and known[3] == len(split[1]):
                data, key, secret, _ = known
                if split[1]:  # this answer's own volatile values, over a copy of the shared one
                    data = {**data, **{k.decode(): _scalar(v) for k, v in split[1]}}
                return self._known(resp, path, data, key, secret), key
        data = checked(resp, path=path)
        secret = may_hold_secret(raw)
        key = answer_digest(data, raw, split, secret)
        if secret:
            self.secret_reads.add(path)
        # Shared only when the volatile fields split out were top-level keys: then a copy with
        # another answer's values on top is that answer.
        shareable = split is not None and _top_level_only(data, split[1])
        custom = data.get("customizations")
        if shareable and not secret and isinstance(custom, dict):
            # Answers equal but for volatile fields share one copy of their customizations (when
            # the cache below is full): the settings bodies of a big plan are built on them.
            # Answers are read only, never changed in place.
            data["customizations"] = self.shared.setdefault(key, custom)
        kind = path.rsplit("/", 1)[-1] if params is None else path
        count = self.answer_counts.get(kind, 0)
        if count < ANSWER_CACHE_PER_PATH:
            self.answer_counts[kind] = count + 1
            self.same_bytes[raw] = (data, key, secret)
            if split is not None and shareable:
                self.answers[split[0]] = (data, key, secret, len(split[1]))
        return data, key

    def _known(self, resp: Any, path: str, data: dict[str, Any], key: str, secret: bool) -> Any:
        """An answer equal to one read before: checked against this path's expectations."""
        checked(resp, data, path)
        if secret:
            self.secret_reads.add(path)
        return data

    def without_live_secrets(self, live: Any, path: str, pointer: str = "") -> Any:
        """``live`` (at ``pointer`` in the answer of GET ``path``) to build a write on: its live
        secrets replaced by references (``keep_live_secrets``), so no plan holds their values."""
        return keep_live_secrets(live, path, pointer) if path in self.secret_reads else live

    def error(self, resource: Resource, pointer: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(resource.loc(pointer), message, resource.address, code="live"))

    def refuse(self, resource: Resource, problems: list[tuple[str, str]]) -> bool:
        """Report each (pointer, message) problem; whether there was any."""
        for pointer, message in problems:
            self.error(resource, pointer, message)
        return bool(problems)

    def id_of(
        self, res: Resource, table: dict[str, dict[str, Any]], pointer: str, what: str, kind: str = ""
    ) -> str | None:
        """The id of the org object ``res`` is named after (``table[res.name]``); None, with an error at
        ``pointer``, when the org has none (``what`` it is: "location named", "person with email";
        ``kind``: the ``org_names`` it may be a typo of)."""
        entry = table.get(res.name)
        if entry is None:
            known = did_you_mean(res.name, [*table, *self.org_names.get(kind, [])])
            self.error(res, pointer, f"no {what} {res.name!r} in the org{known}")
            return None
        return str(entry["id"])

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def step(
        self,
        owner: Resource | str,
        action: str,
        phase: int,
        path: str,
        body: Any = None,
        *,
        part: str | None = None,
        at: str | None = None,
        after: str | list[str] | None = None,
        changes: list[FieldChange] | None = None,
        job_type: str | None = None,
        summary: str = "",
        meta: dict[str, Any] | None = None,
        counts: bool = True,
    ) -> Step:
        """Add a step of ``owner`` (a resource, or the address of an object no manifest declares),
        sent with the HTTP method of its ``action``. Its address is the owner's, or ``owner.part``
        for one of several; its source is where ``at`` (a JSON pointer) is written, else the
        manifest; it runs after the step(s) ``after``."""
        resource = owner if isinstance(owner, str) else owner.address
        changes = with_secret_writes(changes if changes is not None else [], body)
        return self.add(
            Step(
                address=f"{resource}.{part}" if part else resource,
                resource=resource,
                action=action,
                phase=phase,
                method=METHODS[action],
                path=path,
                body=body,
                depends_on=[after] if isinstance(after, str) else list(after or []),
                changes=changes,
                source=None if isinstance(owner, str) else str(owner.loc(at) if at else owner.source),
                job_type=job_type,
                summary=summary,
                meta=meta if meta is not None else {},
                counts=counts,
            )
        )

    def update(
        self,
        res: Resource,
        part: str,
        phase: int,
        path: str,
        body: Any,
        changes: list[FieldChange],
        summary: str,
        after: str | None = None,
    ) -> Step:
        """Add the ``update`` of one part of ``res``, declared at ``/spec/<part>``: PUT ``body``."""
        at = f"/spec/{part}"
        return self.step(
            res, "update", phase, path, body, part=part, at=at, after=after, changes=changes, summary=summary
        )

    def label(self, ident: str | None) -> str:
        if not ident:
            return "?"
        return self.labels.get(ident, ident)
