"""Plan and Step: pure data, ordering, checksums, safety threshold, (de)serialisation."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from reconciler import __version__
from reconciler.diff import FieldChange, from_jsonable, to_jsonable
from reconciler.errors import ConfigError, PlanRefused

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
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        changes = [
            FieldChange(c["path"], c.get("before"), from_jsonable(c.get("after")), bool(c.get("sensitive")))
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
    prune: bool = False
    rotate_secrets: bool = False  # planned with --rotate-secrets (apply --plan plans the same way)
    base_url: str | None = None  # the API the plan was made against (a saved plan applies only there)
    org_id: str | None = None  # the org it was made for, when one was named

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
        """How many objects the plan changes, for the safety threshold."""
        return len({s.resource for s in self.steps if s.counts})

    def ordered(self) -> list[Step]:
        """Phase order, then by resource; a resource's steps keep the order they were planned in."""
        return sorted(self.steps, key=lambda s: (s.phase, s.resource))

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "format_version": FORMAT_VERSION,
            "tool": {"name": "reconciler", "version": __version__},
            "paths": list(self.paths),
            "targets": list(self.targets),
            "prune": self.prune,
            "rotate_secrets": self.rotate_secrets,
            "base_url": self.base_url,
            "org_id": self.org_id,
            "checksum": self.checksum,
            "reads": dict(sorted(self.reads.items())),
            "managed": self.managed,
            "summary": {**counts, "changed_objects": self.changed_objects(), "steps": len(self.steps)},
            "warnings": list(self.warnings),
            "steps": [s.to_json() for s in self.ordered()],
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
            prune=bool(data.get("prune", False)),
            rotate_secrets=bool(data.get("rotate_secrets", False)),
            base_url=data.get("base_url"),
            org_id=data.get("org_id"),
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


def enforce_threshold(plan: Plan, max_changes: int | None, max_percent: float | None, force: bool) -> None:
    """Refuse a plan that changes more objects than allowed, unless forced."""
    if force:
        return
    changed = plan.changed_objects()
    if max_changes is not None and changed > max_changes:
        raise PlanRefused(
            f"plan changes {changed} objects, more than --max-changes {max_changes}; "
            "review it and re-run with --force to apply anyway"
        )
    if max_percent is not None and plan.managed and changed * 100.0 / plan.managed > max_percent:
        raise PlanRefused(
            f"plan changes {changed} of {plan.managed} managed objects "
            f"({changed * 100.0 / plan.managed:.0f}%), more than the policy's maxChangesPercent "
            f"{max_percent:g}%; re-run with --force to apply anyway"
        )
