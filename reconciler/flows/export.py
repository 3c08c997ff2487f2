"""`reconciler export`: write manifests for live objects, so a repo starts with a zero-change plan.

Files: ``templates/<name>.yaml``, ``org/device-settings.yaml``,
``locations/<location>/settings.yaml``, ``locations/<location>/devices/<MAC>.yaml``, and with
``--kind PersonDevices`` / ``--kind WorkspaceDevices``: ``people/<email>.yaml``,
``workspaces/<name>.yaml``. Re-exporting into the same folder updates the values in place with
ruamel.yaml's round trip, so comments and key order a user added survive.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.errors import ConfigError
from reconciler.flows.connect import Connection, connect, run
from reconciler.flows.export_files import SecretNames, Staging, references
from reconciler.flows.export_yaml import YAML11_BOOLEANS, fast_text
from reconciler.model import API_VERSION, mac_with_colons, normalize_mac
from reconciler.planning.capabilities import Catalog
from reconciler.planning.kinds.linekeys import compare_line_keys
from reconciler.webex.untrusted import api_text

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

DEFAULT_KINDS = ("LineKeyTemplate", "Device", "LocationDeviceSettings", "OrgDeviceSettings")
ALL_KINDS = (*DEFAULT_KINDS, "PersonDevices", "WorkspaceDevices")
MEMBER_FIELDS = (
    "port",
    "primaryOwner",
    "lineType",
    "lineWeight",
    "hotlineEnabled",
    "hotlineDestination",
    "allowCallDeclineEnabled",
    "lineLabel",
    "t38FaxCompressionEnabled",
)
CHUNK = 500  # devices read and written at a time: memory stays bounded on big orgs


@dataclass
class ExportReport:
    written: int = 0
    updated: int = 0
    unchanged: int = 0
    devices: int = 0
    warnings: list[str] = field(default_factory=list)
    secrets: dict[str, list[str]] = field(default_factory=dict)  # fromEnv variable -> files using it


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "-", text).strip("-").lower() or "unnamed"


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True  # a re-export keeps the file's quoting of values it does not change
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 120
    return y


def _merge(node: Any, value: Any) -> Any:
    """Update a round-trip node in place with plain data; keeps comments and key order."""
    if isinstance(node, CommentedMap) and isinstance(value, dict):
        if set(node) == {"fromEnv"} and set(value) == {"fromEnv"}:
            return node  # a secret's reference: the variable the file names stays
        for k in [k for k in node if k not in value]:
            del node[k]
        for k, v in value.items():
            node[k] = _merge(node[k], v) if k in node else _plain_to_rt(v)
        return node
    if type(node) is not bool and not isinstance(node, dict | list) and node == value:
        return node  # unchanged: keeps the file's own quoting
    return _plain_to_rt(value)


def _plain_to_rt(value: Any) -> Any:
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _plain_to_rt(v)
        if set(value) == {"fromEnv"}:
            m.fa.set_flow_style()  # a secret's reference, on its field's line
        return m
    if isinstance(value, list):
        s = CommentedSeq(_plain_to_rt(v) for v in value)
        if value and all(
            isinstance(v, dict) and len(v) <= 6 and all(not isinstance(x, dict | list) for x in v.values())
            for v in value
        ):
            for item in s:
                item.fa.set_flow_style()
        return s
    return _scalar(value)


# replaced whole even on a re-export: one of several shapes (a template, DEFAULT or CUSTOM keys)
_WHOLE = frozenset({"layout"})


def _narrowed(value: Any, declared: Any) -> Any:
    """``value`` cut to the keys the file's own document (``declared``) has, map by map: a
    re-export updates what a manifest owns and adds nothing to it. Lists and ``layout`` are
    taken whole (the API replaces them whole too)."""
    if not isinstance(value, dict) or not isinstance(declared, dict):
        return value
    return {k: v if k in _WHOLE else _narrowed(v, declared[k]) for k, v in value.items() if k in declared}


_YAML11_BOOLEANS = YAML11_BOOLEANS


# what YAML 1.1 reads as a base-60 number: 12:34:56:11:22:33 (a MAC address of digits only)
_YAML11_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


def _scalar(value: Any) -> Any:
    """Strings that YAML 1.1 readers take for something else are written quoted: booleans
    (ON, off, yes, ...) and base-60 numbers."""
    if isinstance(value, str) and (value.lower() in _YAML11_BOOLEANS or _YAML11_SEXAGESIMAL.match(value)):
        return DoubleQuotedScalarString(value)
    return value


def write_doc(
    path: Path,
    doc: dict[str, Any],
    comment: str | None,
    report: ExportReport,
    all_fields: bool = False,
    staged: Path | None = None,
) -> Any:
    """Write ``doc`` for ``path`` (to ``staged`` when given, which is moved there later); an
    existing file of the same kind keeps its comments and key order and (unless ``all_fields``)
    the settings it declares, no more (``_narrowed``). Returns the document as written."""
    target = staged or path
    if path.exists():
        y = _yaml()
        before = path.read_text(encoding="utf-8")
        existing = y.load(before)
        if isinstance(existing, CommentedMap) and existing.get("kind") == doc["kind"]:
            _merge(existing, doc if all_fields else _narrowed(doc, existing))
            text = _dump(y, existing)
            if text == before:
                report.unchanged += 1
            else:
                _write_text(target, text)
                report.updated += 1
            return existing
    # ruamel.yaml's text, written directly when that is sure (export_yaml.py)
    _write_text(target, fast_text(doc, comment or None) or ruamel_text(doc, comment))
    report.written += 1
    return doc


def ruamel_text(doc: dict[str, Any], comment: str | None) -> str:
    """A new manifest's text as ruamel.yaml writes it."""
    node = _plain_to_rt(doc)
    if comment:
        node.yaml_set_start_comment(comment)
    return _dump(_yaml(), node)


_made: set[Path] = set()  # directories this process made or found (one ``mkdir`` each, not one a file)


def _write_text(path: Path, text: str) -> None:
    if path.parent not in _made:
        path.parent.mkdir(parents=True, exist_ok=True)
        _made.add(path.parent)
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:  # removed since (a staging area dropped and begun again)
        _made.discard(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _dump(y: YAML, node: Any) -> str:
    from io import StringIO

    buf = StringIO()
    y.dump(node, buf)
    return buf.getvalue()


def envelope(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _keys(keys: list[dict[str, Any]], type_field: str) -> list[dict[str, Any]]:
    """Keys as a manifest declares them: OPEN ones left out, empty labels and the API's
    ``sharedLineIndex: 0`` (no shared line) dropped."""
    out = []
    for k in keys:
        if k.get(type_field, "OPEN") == "OPEN":
            continue
        out.append(
            {f: v for f, v in k.items() if v not in (None, "") and not (f == "sharedLineIndex" and v == 0)}
        )
    return out


class Exporter:
    def __init__(
        self,
        client: WebexClient,
        out: Path,
        progress: Callable[[int, int], None] | None = None,
        all_fields: bool = False,
    ) -> None:
        self.client = client
        self.out = out
        self.progress = progress
        self.all_fields = all_fields  # re-export: write every live setting, not only those declared
        self.report = ExportReport()
        self.people: dict[str, str] = {}  # id -> email
        self.workspaces: dict[str, str] = {}  # id -> name
        self.templates: list[dict[str, Any]] = []  # details
        self.models: dict[str, dict[str, Any]] = {}  # supportedDevices by model
        self.caps = Catalog()  # what each model takes (from ``models``)
        self.stage: Staging | None = None  # where the files go until the export is complete
        self.secret_names = SecretNames()  # {fromEnv: NAME} for each secret value met

    def _write(self, path: Path, doc: dict[str, Any], comment: str | None) -> None:
        """``write_doc`` (staged when staging), noting the secrets the file references."""
        staged = self.stage.path_for(path) if self.stage is not None else None
        written = write_doc(path, doc, comment, self.report, self.all_fields, staged)
        where = path.relative_to(self.out).as_posix()
        for name in references(written):
            self.report.secrets.setdefault(name, []).append(where)

    async def run(self, locations: Iterable[str], kinds: Iterable[str], macs: Iterable[str]) -> ExportReport:
        kinds = _kinds(kinds)
        wanted_macs = _wanted_macs(macs)
        all_locations = await self.client.paginate("/locations", {"max": 1000}, "items")
        wanted_locs = set(locations)
        missing = wanted_locs - {str(loc.get("name")) for loc in all_locations}
        if missing:
            raise ConfigError(f"--location: no location named {', '.join(sorted(missing))}")
        locs = [loc for loc in all_locations if not wanted_locs or loc.get("name") in wanted_locs]
        loc_names = {str(loc["id"]): str(loc["name"]) for loc in all_locations}
        await self._directory()
        # the devices first: an unknown --mac fails before any file is written
        devices: list[dict[str, Any]] = []
        if kinds & {"Device", "PersonDevices", "WorkspaceDevices"}:
            devices = await self._devices(locs, wanted_macs, wanted_locs)
        if "LineKeyTemplate" in kinds:
            self._write_templates()
        if "OrgDeviceSettings" in kinds and not wanted_locs:
            await self._write_org()
        if "LocationDeviceSettings" in kinds:
            await self._write_locations(locs)
        if "Device" in kinds:
            await self._write_devices(devices, loc_names)
        if "PersonDevices" in kinds:
            owners = sorted({str(d["personId"]) for d in devices if d.get("personId")})
            await asyncio.gather(*(self._owner("person", o) for o in owners))
        if "WorkspaceDevices" in kinds:
            owners = sorted({str(d["workspaceId"]) for d in devices if d.get("workspaceId")})
            await asyncio.gather(*(self._owner("workspace", o) for o in owners))
        return self.report

    async def _directory(self) -> None:
        """People, workspaces, line key templates (with their details) and device models."""
        c = self.client
        people, spaces, listing, models = await asyncio.gather(
            c.paginate("/people", {"max": 1000, "callingData": "true"}, "items"),
            c.paginate("/workspaces", {"max": 1000}, "items"),
            c.list_line_key_templates(),
            c.get_supported_devices(),
        )
        self.models = {str(m.get("model")): m for m in models}
        self.caps = Catalog(self.models)
        self.people = {str(p["id"]): str((p.get("emails") or [""])[0]).lower() for p in people}
        self.workspaces = {str(w["id"]): str(w.get("displayName")) for w in spaces}
        self.templates = list(await asyncio.gather(*(c.get_line_key_template(str(t["id"])) for t in listing)))

    async def _devices(
        self, locs: list[dict[str, Any]], wanted_macs: set[str], wanted_locs: set[str]
    ) -> list[dict[str, Any]]:
        """The calling devices of the locations (those of ``--mac`` only, each of which must be found)."""
        devices: list[dict[str, Any]] = []
        for loc in locs:
            for d in await self.client.list_devices(locationId=str(loc["id"]), max=1000):
                if d.get("callingDeviceId") and (
                    not wanted_macs or normalize_mac(str(d.get("mac"))) in wanted_macs
                ):
                    devices.append(d)
        found = {normalize_mac(str(d.get("mac"))) for d in devices}
        absent = sorted(mac_with_colons(m) for m in wanted_macs - found)
        if absent:
            where = f" in location {', '.join(sorted(wanted_locs))}" if wanted_locs else ""
            raise ConfigError(f"--mac: no calling device with MAC {', '.join(absent)}{where}")
        return devices

    def _write_templates(self) -> None:
        for t in self.templates:
            spec = {
                "deviceModel": t["deviceModel"],
                "userReorderEnabled": bool(t.get("userReorderEnabled")),
                "lineKeys": _keys(t.get("lineKeys", []), "lineKeyType"),
            }
            self._write(
                self.out / "templates" / f"{slug(t['templateName'])}.yaml",
                envelope("LineKeyTemplate", {"name": t["templateName"]}, spec),
                f"Line key template for {t.get('modelDisplayName') or t['deviceModel']}",
            )

    async def _write_org(self) -> None:
        org = await self.client.get_org_device_settings()
        self._write(
            self.out / "org" / "device-settings.yaml",
            envelope(
                "OrgDeviceSettings",
                {"name": "org"},
                {"customizations": self.secret_names.placeholders(org.get("customizations", {}))},
            ),
            "Org-wide device settings",
        )

    async def _write_locations(self, locs: list[dict[str, Any]]) -> None:
        c = self.client
        settings = await asyncio.gather(*(c.get_location_device_settings(str(loc["id"])) for loc in locs))
        for loc, s in zip(locs, settings, strict=True):
            loc_spec: dict[str, Any] = {"customEnabled": bool(s.get("customEnabled"))}
            if s.get("customEnabled"):
                loc_spec["customizations"] = self.secret_names.placeholders(s.get("customizations", {}))
            self._write(
                self.out / "locations" / slug(str(loc["name"])) / "settings.yaml",
                envelope("LocationDeviceSettings", {"location": loc["name"]}, loc_spec),
                f"Device settings of location {loc['name']}",
            )

    async def _write_devices(self, devices: list[dict[str, Any]], loc_names: dict[str, str]) -> None:
        done = 0
        for i in range(0, len(devices), CHUNK):
            chunk = devices[i : i + CHUNK]
            read = await asyncio.gather(*(self._read_device(d) for d in chunk))
            for dev, parts in zip(chunk, read, strict=True):  # written in the listing's order
                self._device(dev, parts, loc_names)
            done += len(chunk)
            if self.progress:
                self.progress(done, len(devices))

    def _member(self, m: dict[str, Any]) -> dict[str, Any]:
        ident = str(m.get("id"))
        kind = m.get("memberType")
        if kind == "PEOPLE" and ident in self.people:
            out: dict[str, Any] = {"person": self.people[ident]}
        elif kind == "PLACE" and ident in self.workspaces:
            out = {"workspace": self.workspaces[ident]}
        else:
            name = " ".join(x for x in (m.get("firstName"), m.get("lastName")) if x)
            out = {"virtualLine": name}
        for f in MEMBER_FIELDS:
            if f in m and m[f] not in (None, ""):
                if f == "hotlineDestination" and not m.get("hotlineEnabled"):
                    continue
                out[f] = m[f]
        return out

    async def _read_device(self, dev: dict[str, Any]) -> tuple[Any, ...]:
        """A device's members, layout and settings."""
        c = self.client
        cid = str(dev["callingDeviceId"])
        return tuple(await asyncio.gather(c.get_members(cid), c.get_layout(cid), c.get_device_settings(cid)))

    def _device(self, dev: dict[str, Any], parts: tuple[Any, ...], loc_names: dict[str, str]) -> None:
        members, layout, settings = parts
        spec: dict[str, Any] = {"members": [self._member(m) for m in members.get("members") or []]}
        model = members.get("model")
        caps = self.caps.model(str(model))
        if caps is not None and not caps.layout:
            pass  # an ATA and the like: no layout to manage
        elif layout.get("layoutMode") == "CUSTOM":
            tmpl = next(
                (
                    t
                    for t in self.templates
                    if t.get("deviceModel") == model
                    and not layout.get("kemModuleType")
                    and bool(t.get("userReorderEnabled")) == bool(layout.get("userReorderEnabled"))
                    and _same_keys(t.get("lineKeys", []), layout.get("lineKeys", []))
                ),
                None,
            )
            if tmpl is not None:
                spec["layout"] = {"template": tmpl["templateName"]}
            else:
                out: dict[str, Any] = {
                    "layoutMode": "CUSTOM",
                    "userReorderEnabled": bool(layout.get("userReorderEnabled")),
                    "lineKeys": _keys(layout.get("lineKeys", []), "lineKeyType"),
                }
                if layout.get("kemModuleType"):
                    out["kemModuleType"] = layout["kemModuleType"]
                    out["kemKeys"] = _keys(layout.get("kemKeys", []), "kemKeyType")
                spec["layout"] = out
        # A DEFAULT layout is not declared: the device stays free for a template assignment (a
        # layout declared here and an assignment that targets the device would own it twice).
        if settings.get("customEnabled"):
            spec["settings"] = {
                "customEnabled": True,
                "customizations": self.secret_names.placeholders(settings.get("customizations", {})),
            }
        mac = normalize_mac(str(dev.get("mac"))) or str(dev.get("mac"))
        loc = loc_names.get(str(dev.get("locationId")), "unassigned")
        owner = next((self._member(m) for m in members.get("members") or [] if m.get("primaryOwner")), {})
        who = owner.get("person") or owner.get("workspace") or owner.get("virtualLine") or "no owner"
        # from the API: one line, masked and escaped (a newline would write YAML of its own)
        comment = api_text(f"{model or dev.get('product')}, owner {who}", 200)
        self._write(
            self.out / "locations" / slug(loc) / "devices" / f"{mac}.yaml",
            envelope("Device", {"mac": mac_with_colons(mac)}, spec),
            comment,
        )
        self.report.devices += 1

    async def _owner(self, kind: str, ident: str) -> None:
        c = self.client
        if kind == "person":
            devices, settings = await asyncio.gather(
                c.get_person_devices(ident), c.get_person_device_settings(ident)
            )
            key, name, file = "PersonDevices", {"person": self.people.get(ident, ident)}, "people"
        else:
            devices, settings = await asyncio.gather(
                c.get_workspace_devices(ident), c.get_workspace_device_settings(ident)
            )
            key, name, file = (
                "WorkspaceDevices",
                {"workspace": self.workspaces.get(ident, ident)},
                "workspaces",
            )
        items = devices.get("devices") or []
        owned = [d for d in items if d.get("primaryOwner")] or items
        spec: dict[str, Any] = {"settings": {"compression": settings.get("compression", "OFF")}}
        if owned and owned[0].get("hoteling"):
            spec["hoteling"] = {k: v for k, v in owned[0]["hoteling"].items() if v is not None}
        label = next(iter(name.values()))
        self._write(self.out / file / f"{slug(label)}.yaml", envelope(key, name, spec), None)


def _kinds(kinds: Iterable[str]) -> set[str]:
    """The kinds to export (``--kind``; the default ones when none is given)."""
    chosen = set(kinds) or set(DEFAULT_KINDS)
    unknown = chosen - set(ALL_KINDS)
    if unknown:
        raise ConfigError(
            f"--kind: cannot export {', '.join(sorted(unknown))}; choose from {', '.join(ALL_KINDS)}"
        )
    return chosen


def _wanted_macs(macs: Iterable[str]) -> set[str]:
    """``--mac`` values, normalized; a value that is no MAC address is an error."""
    wanted = set()
    for m in macs:
        mac = normalize_mac(m)
        if mac is None:
            raise ConfigError(f"--mac: {m!r} is not a MAC address (12 hex digits, e.g. 0A:1B:2C:3D:4E:5F)")
        wanted.add(mac)
    return wanted


def _same_keys(template_keys: list[dict[str, Any]], layout_keys: list[dict[str, Any]]) -> bool:
    want, have = compare_line_keys(_keys(template_keys, "lineKeyType"), layout_keys)
    return bool(want == have)


async def export(
    client: WebexClient,
    out: str,
    locations: Iterable[str] = (),
    kinds: Iterable[str] = (),
    macs: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    all_fields: bool = False,
    stage: Staging | None = None,
) -> ExportReport:
    exporter = Exporter(client, Path(out), progress, all_fields)
    exporter.stage = stage
    return await exporter.run(locations, kinds, macs)


async def export_org(
    conn: Connection,
    out: str,
    locations: tuple[str, ...],
    kinds: tuple[str, ...],
    macs: tuple[str, ...],
    progress: Callable[[int, int], None],
    all_fields: bool = False,
    stage: Staging | None = None,
) -> ExportReport:
    """Write manifests for the live org under ``out`` (to ``stage`` first, when given); an existing
    file keeps the settings it declares, no more, unless ``all_fields``."""
    async with connect(conn) as client:
        return await export(client, out, locations, kinds, macs, progress, all_fields, stage)


def export_command(conn: Connection, out: str, **options: Any) -> ExportReport:
    """``export``: ``export_org`` (``options``: its own) with every file staged and moved into
    place together at the end, with a ``.gitignore``: interrupted, it leaves ``out`` as it was."""
    stage = Staging(Path(out))
    stage.begin()
    try:
        report = run(export_org(conn, out, **options, stage=stage))
        stage.commit()
    finally:
        stage.discard()
    return report
