"""Plan and Step: pure data, ordering, checksums, safety threshold, (de)serialisation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler import __version__
from reconciler.errors import ConfigError, PlanRefused
from reconciler.model import SecretRef
from reconciler.planning.diff import FieldChange, from_jsonable, to_jsonable

FORMAT_VERSION = 1

PHASES: dict[int, str] = {
    1: "background images",
    2: "line key templates",
    3: "org and location device settings",
    4: "devices",
    5: "person and workspace devices",
    6: "line key template assignments",
    7: "apply changes to phones",
    8: "prunes",
}

ACTIONS = ("create", "update", "delete", "job", "invoke")


def _after(change: dict[str, Any]) -> Any:
    """A saved change's ``after``: a secret's reference where one was written (``fromEnv``)."""
    if change.get("sensitive") and isinstance(change.get("fromEnv"), str):
        return SecretRef(change["fromEnv"])
    return from_jsonable(change.get("after"))


@dataclass
class Step:
    """One API call or bulk job. ``id`` is stable across re-plans (it is the address)."""

    address: str
    resource: str
    action: str
    phase: int
    method: str
    path: str
    body: Any = None
    depends_on: list[str] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    source: str | None = None
    job_type: str | None = None
    summary: str = ""
    # Extra facts for rendering and apply: deviceCount of a template assignment, the file of an
    # upload, the devices a rebuild covers, the ``${step.id}`` placeholders in the body...
    meta: dict[str, Any] = field(default_factory=dict)
    counts: bool = True  # counts toward the safety threshold (applyChanges does not)
    # The object's human name (``Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)``).
    title: str = ""

    @property
    def object_key(self) -> str:
        """What the safety threshold counts this step's change as: its resource (a device's
        members, layout and settings are one object), or its own address (one image each)."""
        return str(self.meta.get("object") or self.resource)

    @property
    def object_count(self) -> int:
        """How many objects the step changes: the devices a job touches, the images a prune deletes."""
        n = self.meta.get("objects")
        return n if isinstance(n, int) and n >= 0 else 1

    @property
    def id(self) -> str:
        return self.address

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "resource": self.resource,
            "action": self.action,
            "phase": self.phase,
            "method": self.method,
            "path": self.path,
            "body": to_jsonable(self.body),
            "depends_on": list(self.depends_on),
            "changes": [c.to_json() for c in self.changes],
            "source": self.source,
            "job_type": self.job_type,
            "summary": self.summary,
            "meta": to_jsonable(self.meta),
            "counts": self.counts,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        changes = [
            FieldChange(
                c["path"],
                c.get("before"),
                _after(c),
                bool(c.get("sensitive")),
                c.get("follows") if isinstance(c.get("follows"), str) else None,
            )
            for c in data.get("changes", [])
        ]
        return cls(
            address=data["address"],
            resource=data["resource"],
            action=data["action"],
            phase=int(data["phase"]),
            method=data["method"],
            path=data["path"],
            body=from_jsonable(data.get("body")),
            depends_on=list(data.get("depends_on", [])),
            changes=changes,
            source=data.get("source"),
            job_type=data.get("job_type"),
            summary=data.get("summary", ""),
            meta=from_jsonable(data.get("meta") or {}),
            counts=bool(data.get("counts", True)),
            title=str(data.get("title") or ""),
        )


def canonical(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def digest_json(value: Any) -> str:
    """``digest`` of plain JSON data as a JSON parser returns it (no ``SecretRef``, no tuples, string
    keys): the same hash, without the ``to_jsonable`` copy (plans hash one answer per read)."""
    return hashlib.sha256(_CANONICAL.encode(value).encode()).hexdigest()


# ``json.dumps`` with these arguments builds an encoder per call; ``canonical`` text, reused.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Plan:
    steps: list[Step]
    reads: dict[str, str] = field(default_factory=dict)  # "GET path" -> sha256 of what was read
    paths: list[str] = field(default_factory=list)  # the manifest paths planned
    managed: int = 0  # managed objects (for the percentage threshold)
    warnings: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    # ``plan --changed-only``: the addresses planned (None: every managed object); apply --plan
    # re-plans the same scope to check the saved plan
    only: list[str] | None = None
    prune: bool = False
    # The safety threshold in force: maxChanges, maxChangesPercent, minManaged (the percentage
    # applies from this many managed objects) and where it comes from (policy / default).
    safety: dict[str, Any] = field(default_factory=dict)
    # Each declared write-only secret: address, resource, field, written (bool), reason, source.
    secrets: list[dict[str, Any]] = field(default_factory=list)
    base_url: str | None = None  # the API the plan was made against (a saved plan applies only there)
    org_id: str | None = None  # the org it was made for, when one was named
    # The human names of the objects the plan read, by id (a stale saved plan names them).
    objects: Mapping[str, str] = field(default_factory=dict)
    # Pushes ``Policy.push: never`` holds: device address and why (``reconciler push`` sends them).
    held: list[dict[str, str]] = field(default_factory=list)
    # The org of the devices the plan looked up (not saved: the apply log records it).
    org_seen: str | None = None

    @property
    def checksum(self) -> str:
        return digest(sorted(self.reads.items()))

    @property
    def empty(self) -> bool:
        return not self.steps

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ACTIONS, 0)
        for s in self.steps:
            out[s.action] += 1
        return out

    def changed_objects(self) -> int:
        """How many objects the plan changes, for the safety threshold: the devices each job
        touches, each image uploaded or deleted, each template, each device or settings object."""
        per_object: dict[str, int] = {}
        for s in self.steps:
            if s.counts:
                key = s.object_key
                per_object[key] = max(per_object.get(key, 0), s.object_count)
        return sum(per_object.values())

    def ordered(self) -> list[Step]:
        """Phase order, then by resource (the org's settings before the locations'); a resource's
        steps keep the order they were planned in."""
        return sorted(
            self.steps, key=lambda s: (s.phase, not s.resource.startswith("OrgDeviceSettings/"), s.resource)
        )

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "format_version": FORMAT_VERSION,
            "tool": {"name": "reconciler", "version": __version__},
            "paths": list(self.paths),
            "targets": list(self.targets),
            "only": None if self.only is None else list(self.only),
            "prune": self.prune,
            "base_url": self.base_url,
            "org_id": self.org_id,
            "checksum": self.checksum,
            "reads": dict(sorted(self.reads.items())),
            "managed": self.managed,
            "summary": {**counts, "changed_objects": self.changed_objects(), "steps": len(self.steps)},
            "warnings": list(self.warnings),
            "safety": dict(self.safety),
            "secrets": [dict(n) for n in self.secrets],
            "steps": [s.to_json() for s in self.ordered()],
            "objects": dict(sorted(self.objects.items())),
            "held": [dict(h) for h in self.held],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"saved plan has format_version {data.get('format_version')!r}; this reconciler reads "
                f"{FORMAT_VERSION}"
            )
        plan = cls(
            steps=[Step.from_json(s) for s in data.get("steps", [])],
            reads=dict(data.get("reads", {})),
            paths=list(data.get("paths", [])),
            managed=int(data.get("managed", 0)),
            warnings=list(data.get("warnings", [])),
            targets=list(data.get("targets", [])),
            only=None if data.get("only") is None else [str(a) for a in data["only"]],
            prune=bool(data.get("prune", False)),
            safety=dict(data.get("safety") or {}),
            secrets=[dict(n) for n in data.get("secrets") or []],
            base_url=data.get("base_url"),
            org_id=data.get("org_id"),
            objects={str(k): str(v) for k, v in (data.get("objects") or {}).items()},
            held=[
                {str(k): str(v) for k, v in h.items()} for h in data.get("held") or [] if isinstance(h, dict)
            ],
        )
        if data.get("checksum") and data["checksum"] != plan.checksum:
            raise ConfigError("saved plan is corrupt: its checksum does not match the reads it lists")
        return plan


def check_dependencies(steps: list[Step]) -> None:
    """Every dependency exists and comes in an earlier or the same phase (no cycles across phases)."""
    by_id = {s.id: s for s in steps}
    for s in steps:
        for dep in s.depends_on:
            if dep not in by_id:
                raise AssertionError(f"step {s.id} depends on unknown step {dep}")
            if by_id[dep].phase > s.phase:
                raise AssertionError(f"step {s.id} (phase {s.phase}) depends on later step {dep}")


# With no threshold in a Policy: refuse changing more than this share of the managed objects,
# once there are at least this many of them (few objects: any change is a large share).
DEFAULT_MAX_PERCENT = 30.0
DEFAULT_MIN_MANAGED = 10


def safety_of(max_changes: int | None, max_percent: float | None) -> dict[str, Any]:
    """The threshold in force for a Policy's ``maxChanges`` / ``maxChangesPercent`` (None: unset)."""
    if max_changes is None and max_percent is None:
        return {
            "maxChanges": None,
            "maxChangesPercent": DEFAULT_MAX_PERCENT,
            "minManaged": DEFAULT_MIN_MANAGED,
            "source": "default",
        }
    return {"maxChanges": max_changes, "maxChangesPercent": max_percent, "minManaged": 0, "source": "policy"}


def secret_lines(plan: Plan) -> list[str]:
    """One line per declared write-only secret: whether this plan writes it, and why."""
    return [
        f"{n['resource']}: {n['field']} (sensitive): "
        + ("will be written: " if n.get("written") else "not written: ")
        + str(n.get("reason", ""))
        for n in plan.secrets
    ]


def threshold_line(plan: Plan) -> str:
    """What the plan output says about the safety threshold, in one line: the count and the limit
    in force (``Safety threshold: 3/40 objects change (8%), limit 30% from 10 objects (default;
    --force overrides).``)."""
    safety = plan.safety or safety_of(None, None)
    changed, managed = plan.changed_objects(), plan.managed
    share = f" ({changed * 100.0 / managed:.0f}%)" if managed else ""
    limits = []
    if safety.get("maxChanges") is not None:
        limits.append(f"{safety['maxChanges']} objects")
    if safety.get("maxChangesPercent") is not None:
        pct = f"{float(safety['maxChangesPercent']):g}%"
        if safety.get("minManaged"):
            pct += f" from {safety['minManaged']} objects"
        limits.append(pct)
    where = {"default": "default", "option": "--max-changes"}.get(str(safety.get("source")), "Policy")
    limit = " or ".join(limits) if limits else "none"
    if _over_threshold(plan):
        return (
            f"Safety threshold: {changed}/{managed} objects change{share}, over the limit {limit} "
            f"({where}): apply will refuse this plan without --force."
        )
    return (
        f"Safety threshold: {changed}/{managed} objects change{share}, limit {limit} "
        f"({where}; --force overrides)."
    )


def _over_threshold(plan: Plan) -> bool:
    """Whether ``apply`` would refuse ``plan`` without ``--force`` (its own limits)."""
    try:
        enforce_threshold(plan, None, None, False)
    except PlanRefused:
        return True
    return False


def enforce_threshold(plan: Plan, max_changes: int | None, max_percent: float | None, force: bool) -> None:
    """Refuse a plan that changes more objects than allowed, unless forced. ``max_changes`` /
    ``max_percent``: the limits asked for (None: those in ``plan.safety``, else the default)."""
    if force:
        return
    safety = dict(plan.safety or safety_of(None, None))
    if max_changes is not None:
        safety["maxChanges"] = max_changes
        if safety.get("source") == "default":  # a limit asked for replaces the default one
            safety.update(maxChangesPercent=None, source="option")
    if max_percent is not None:
        safety.update(maxChangesPercent=max_percent, minManaged=0)
    changed = plan.changed_objects()
    limit = safety.get("maxChanges")
    if limit is not None and changed > int(limit):
        raise PlanRefused(
            f"plan changes {changed} objects, more than --max-changes {limit}; "
            "review it and re-run with --force to apply anyway"
        )
    pct = safety.get("maxChangesPercent")
    minimum = int(safety.get("minManaged") or 0)
    if pct is not None and plan.managed and plan.managed >= minimum and changed * 100.0 / plan.managed > pct:
        default = safety.get("source") == "default"
        origin = "the default limit" if default else "the policy's maxChangesPercent"
        raise PlanRefused(
            f"plan changes {changed} of {plan.managed} managed objects "
            f"({changed * 100.0 / plan.managed:.0f}%), more than {origin} "
            f"{float(pct):g}%; re-run with --force to apply anyway"
        )
