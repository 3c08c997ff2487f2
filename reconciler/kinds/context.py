"""What every kind's planner shares: the client, the lookups, the reads made, the problems found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import Diagnostic, Resource
from reconciler.plan import Step, digest

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

# Fields that change without anyone changing configuration; left out of saved-plan checksums.
VOLATILE = frozenset(
    {"lastUpdateTime", "updateInProgress", "connectionStatus", "lastSeen", "ip", "ipAddress", "deviceCount"}
)


def strip_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


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

    def record(self, key: str, value: Any) -> None:
        """Remember a read for the saved-plan staleness check."""
        self.reads[key] = digest(strip_volatile(value))

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON object and record it."""
        resp = await self.client.request("GET", path, params=params)
        data = resp.json()
        self.record(f"GET {path}", data)
        return data

    def error(self, resource: Resource, pointer: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(resource.loc(pointer), message, resource.address))

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def label(self, ident: str | None) -> str:
        if not ident:
            return "?"
        return self.labels.get(ident, ident)
