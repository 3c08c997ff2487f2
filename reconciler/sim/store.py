"""In-memory state of the simulated org, with JSON persistence.

Everything the API serves lives here, in plain dataclasses whose list/dict fields hold API-shaped
JSON (members, layouts, customizations), so tests can poke the store directly for out-of-band
changes (``app.state.sim.store.devices[calling_id].tags.append("x")``).

Per-device state is kept compact for large orgs: ``Device.layout is None`` means the model's
DEFAULT layout, ``Device.settings is None`` means "not customised" (inherits location/org); both are
materialised only when read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from . import defaults

STATE_VERSION = 1


@dataclass(slots=True)
class Location:
    id: str
    name: str
    address: str
    city: str
    state: str
    country: str
    time_zone: str
    latitude: float
    longitude: float
    custom_enabled: bool = False
    customizations: dict[str, Any] | None = None  # families when custom_enabled
    settings_updated: int = 0  # epoch ms


@dataclass(slots=True)
class Person:
    id: str
    email: str
    first_name: str
    last_name: str
    extension: str
    phone_number: str | None
    location_id: str
    created: str
    hoteling: dict[str, Any] = field(default_factory=lambda: {"enabled": False, "limitGuestUse": False})
    compression: str = "OFF"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class Workspace:
    id: str
    display_name: str
    location_id: str
    extension: str
    phone_number: str | None
    created: str
    hoteling: dict[str, Any] = field(default_factory=lambda: {"enabled": False, "limitGuestUse": False})
    compression: str = "OFF"


@dataclass(slots=True)
class VirtualLine:
    id: str
    first_name: str
    last_name: str
    extension: str
    phone_number: str | None
    location_id: str


@dataclass(slots=True)
class Device:
    calling_id: str  # the id of /telephony/config/devices/{deviceId}
    webex_id: str  # the id of /v1/devices
    mac: str  # 12 upper-case hex digits
    model: str  # "DMS Cisco 8851"
    location_id: str
    owner_type: str  # "PEOPLE" | "PLACE"
    owner_id: str
    display_name: str
    serial: str
    created: str
    ip: str
    software: str
    tags: list[str] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)  # PutMemberObject-shaped
    layout: dict[str, Any] | None = None  # None: the model's DEFAULT layout
    settings: dict[str, Any] | None = None  # None: not customised; else {"mpp": {...}} (full family)
    settings_updated: int = 0
    sip_password: str | None = None
    connection_status: str = "connected"
    pushes: int = 0  # configuration pushes (applyChanges + rebuildPhones)
    rebuilds: int = 0  # rebuildPhones jobs that covered this device
    pending_changes: bool = False  # changed since the last push
    # The device's own hoteling, where it differs from its owner's (set out of band, e.g. in
    # Control Hub); None: the owner's. A PUT of the owner's hoteling sets every device it owns.
    hoteling: dict[str, Any] | None = None


@dataclass(slots=True)
class Template:
    id: str
    name: str
    model: str
    user_reorder_enabled: bool
    line_keys: list[dict[str, Any]]


@dataclass(slots=True)
class Job:
    id: str
    type: str  # "applyLineKeyTemplate" | "callDeviceSettings" | "rebuildPhones"
    created: float  # simulated epoch seconds
    duration: float
    request: dict[str, Any]
    tracking_id: str
    instance_id: int
    location_id: str | None = None
    status: str = "STARTING"
    exit_code: str = "UNKNOWN"
    percentage: int = 0
    finished_at: float | None = None
    device_count: int = 0
    updated_count: int = 0
    advisory_count: int = 0  # applyLineKeyTemplate: devices updated that carry an advisory
    errors: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] | None = None  # forced by a test hook: {"exit_code", "error_device_ids"}

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(slots=True)
class Image:
    file_name: str
    url: str
    size: int
    content_type: str


@dataclass(slots=True)
class Message:
    id: str
    room_id: str
    text: str | None
    markdown: str | None
    created: str


T = TypeVar("T")


def _dump(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _load(cls: type[T], data: dict[str, Any]) -> T:
    return cls(**data)


@dataclass
class Store:
    org_id: str
    org_name: str
    admin_id: str
    org_customizations: dict[str, Any] = field(default_factory=defaults.org_default)
    org_settings_updated: int = 0
    locations: dict[str, Location] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    virtual_lines: dict[str, VirtualLine] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)  # by calling_id
    templates: dict[str, Template] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)  # by file name
    messages: list[Message] = field(default_factory=list)
    sequence: int = 0  # for ids and numbers made after seeding
    seed: str = "demo"
    # derived indexes (not persisted)
    _by_mac: dict[str, Device] = field(default_factory=dict, repr=False)
    _by_webex_id: dict[str, Device] = field(default_factory=dict, repr=False)
    _by_email: dict[str, Person] = field(default_factory=dict, repr=False)

    # -- indexes ------------------------------------------------------------------------------
    def add_device(self, device: Device) -> None:
        self.devices[device.calling_id] = device
        self._by_mac[device.mac] = device
        self._by_webex_id[device.webex_id] = device

    def add_person(self, person: Person) -> None:
        self.people[person.id] = person
        self._by_email[person.email.lower()] = person

    def reindex(self) -> None:
        self._by_mac = {d.mac: d for d in self.devices.values()}
        self._by_webex_id = {d.webex_id: d for d in self.devices.values()}
        self._by_email = {p.email.lower(): p for p in self.people.values()}

    def device_by_mac(self, mac: str) -> Device | None:
        return self._by_mac.get(mac)

    def device_by_webex_id(self, webex_id: str) -> Device | None:
        return self._by_webex_id.get(webex_id)

    def person_by_email(self, email: str) -> Person | None:
        return self._by_email.get(email.lower())

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    # -- members ------------------------------------------------------------------------------
    def member_entity(self, member_id: str) -> Person | Workspace | VirtualLine | None:
        return (
            self.people.get(member_id) or self.workspaces.get(member_id) or self.virtual_lines.get(member_id)
        )

    # -- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "admin_id": self.admin_id,
            "seed": self.seed,
            "sequence": self.sequence,
            "org_customizations": self.org_customizations,
            "org_settings_updated": self.org_settings_updated,
            "locations": [_dump(x) for x in self.locations.values()],
            "people": [_dump(x) for x in self.people.values()],
            "workspaces": [_dump(x) for x in self.workspaces.values()],
            "virtual_lines": [_dump(x) for x in self.virtual_lines.values()],
            "devices": [_dump(x) for x in self.devices.values()],
            "templates": [_dump(x) for x in self.templates.values()],
            "jobs": [_dump(x) for x in self.jobs.values()],
            "images": [_dump(x) for x in self.images.values()],
            "messages": [_dump(x) for x in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Store:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported simulator state version {data.get('version')!r}")
        store = cls(
            org_id=data["org_id"],
            org_name=data["org_name"],
            admin_id=data["admin_id"],
            org_customizations=data["org_customizations"],
            org_settings_updated=data["org_settings_updated"],
            sequence=data["sequence"],
            seed=data["seed"],
        )
        store.locations = {x["id"]: _load(Location, x) for x in data["locations"]}
        store.people = {x["id"]: _load(Person, x) for x in data["people"]}
        store.workspaces = {x["id"]: _load(Workspace, x) for x in data["workspaces"]}
        store.virtual_lines = {x["id"]: _load(VirtualLine, x) for x in data["virtual_lines"]}
        store.devices = {x["calling_id"]: _load(Device, x) for x in data["devices"]}
        store.templates = {x["id"]: _load(Template, x) for x in data["templates"]}
        store.jobs = {x["id"]: _load(Job, x) for x in data["jobs"]}
        store.images = {x["file_name"]: _load(Image, x) for x in data["images"]}
        store.messages = [_load(Message, x) for x in data["messages"]]
        store.reindex()
        return store

    def save(self, path: str | os.PathLike[str], keep_out: Callable[[str], bool] | None = None) -> None:
        """Write the state atomically: a temporary file in the same folder, then os.replace.
        Every string ``keep_out`` names is written as its ``secret_marker`` (a secret is never saved)."""
        data = self.to_dict()
        if keep_out is not None:
            data = _without(data, keep_out)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Store:
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))


def secret_marker(value: str) -> str:
    """What the state file holds in place of a secret: not the value, a digest of it (so that a
    test can tell which value was written, and a reload still has a password set)."""
    return f"(secret, sha256 {hashlib.sha256(value.encode('utf-8')).hexdigest()[:16]})"


def _without(value: Any, keep_out: Callable[[str], bool]) -> Any:
    if isinstance(value, str):
        return secret_marker(value) if value and keep_out(value) else value
    if isinstance(value, dict):
        return {k: _without(v, keep_out) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, keep_out) for v in value]
    return value
