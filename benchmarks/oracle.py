"""What the manifests mean for each phone, worked out apart from the planner.

The contract test (``benchmarks/contract.py``) holds ``apply`` to this oracle: after an apply, each
device's effective settings, layout and members, each location's and the org's settings, and each
owner's hoteling and compression equal what this module computes from two inputs only:

- the org as the API showed it before the apply (:func:`snapshot`, in the API's own terms: the
  answers of the settings, layout and members GETs), and
- the manifests as plain documents (the repo the example wrote), with the ``fromEnv`` values.

It is a small model of its own, written from the user documentation (docs/manifests.md,
docs/plan-and-apply.md "Inherited settings" and "Template assignments") and the API's rules, and it
imports nothing of the planner, the kinds, the diff or the manifest loader (a test in
``tests/contract/`` keeps it that way): only the simulator, for the views it serves and the model
catalogue (what ``supportedDevices`` says).

The model:

- **Settings** (org -> location -> device). The org's desired values are its live values with the
  org manifest's declared leaves set. A location with its own settings (``customEnabled`` as its
  manifest says, else as it is) holds a copy: its live values, then the org manifest's declared
  leaves (when a location manifest customizes it), then its own declared leaves; a location without
  its own settings shows the org's. A device with its own settings holds its live values, then
  (when its manifest customizes it) what its parent declares: the org manifest's leaves, then, when
  its location is customized *by a manifest*, the location manifest's; then its own leaves. A
  device without its own settings shows its location's (or the org's) values, plus the
  device-only fields at their factory values.
- **Layouts.** A device's declared layout (``template: NAME`` is that template's keys and
  ``userReorderEnabled``; fields a layout leaves out keep their live values, the KEM keys
  included); else the one assignment whose scope holds it at job time (model, locations, tags,
  ``excludeDevicesWithCustomLayout``, ``advisoryTypes``), which writes the template's keys and
  keeps the KEM keys, or resets it to the default; else its live layout.
- **Members**: the declared list, each member's declared fields (the owner stays).
- **Hoteling and compression**: the declared fields, on every device the owner owns.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from reconciler.sim import catalog, defaults, device_settings, line_keys, telephony
from reconciler.sim import members as sim_members
from reconciler.sim.store import Store

ORG_FAMILIES = ("ata", "dect", "mpp", "wifi")
LOCATION_FAMILIES = ("ata", "mpp", "wifi")
ADVISORY_KEYS = {
    "moreMonitorAppearancesEnabled": "MONITOR",
    "moreCPEAppearancesEnabled": "CALL_PARK_EXTENSION",
    "moreModeManagementAppearancesEnabled": "MODE_MANAGEMENT",
}
MEMBER_FIELDS = (
    "port",
    "primaryOwner",
    "lineType",
    "lineWeight",
    "lineLabel",
    "hotlineEnabled",
    "hotlineDestination",
    "allowCallDeclineEnabled",
    "t38FaxCompressionEnabled",
)


class Unmodelled(Exception):
    """The manifests use something this oracle does not model (the example is not judged by it)."""


# -- the org as the API showed it -----------------------------------------------------------------


@dataclass
class LiveDevice:
    mac: str
    model: str
    location: str  # location id
    owner: str
    tags: list[str]
    custom: bool
    settings: dict[str, Any]  # the family the device takes, as GET device settings shows it ({} if none)
    layout: dict[str, Any]  # GET layout
    members: list[dict[str, Any]]  # GET members' items
    hoteling: dict[str, Any]
    pushes: int  # configuration downloads so far (applyChanges and rebuildPhones)


@dataclass
class Live:
    org: dict[str, Any]  # family -> values (org level)
    location_names: dict[str, str]  # name -> id
    location_custom: dict[str, bool]  # id -> customEnabled
    location_settings: dict[str, dict[str, Any]]  # id -> family -> values (GET location settings)
    devices: dict[str, LiveDevice]  # by MAC (12 hex digits, upper case)
    templates: dict[str, dict[str, Any]]  # name -> GET template
    members: dict[
        tuple[str, str], str
    ]  # ("person", email) / ("workspace", name) / ("virtualLine", name) -> id
    compression: dict[str, str]  # owner id -> compression


def snapshot(store: Store) -> Live:
    """The org as the API shows it now (copies: the store may change afterwards)."""
    devices = {}
    for dev in store.devices.values():
        family = catalog.MODELS[dev.model].family
        view = device_settings.device_settings_view(store, dev)
        owner = telephony.owner_of(store, dev)
        devices[dev.mac] = LiveDevice(
            mac=dev.mac,
            model=dev.model,
            location=dev.location_id,
            owner=owner.id,
            tags=list(dev.tags),
            custom=bool(view["customEnabled"]),
            settings=copy.deepcopy(view["customizations"].get(family, {})),
            layout=copy.deepcopy(line_keys.layout_view(dev)),
            members=copy.deepcopy(sim_members.members_view(store, dev)["members"]),
            hoteling=copy.deepcopy(dev.hoteling if dev.hoteling is not None else owner.hoteling),
            pushes=dev.pushes,
        )
    members: dict[tuple[str, str], str] = {}
    for p in store.people.values():
        members[("person", p.email.lower())] = p.id
    for w in store.workspaces.values():
        members[("workspace", w.display_name)] = w.id
    for v in store.virtual_lines.values():
        members[("virtualLine", f"{v.first_name} {v.last_name}")] = v.id
    compression = {p.id: p.compression for p in store.people.values()}
    compression.update({w.id: w.compression for w in store.workspaces.values()})
    return Live(
        org=copy.deepcopy(device_settings.org_settings_view(store)["customizations"]),
        location_names={loc.name: loc.id for loc in store.locations.values()},
        location_custom={loc.id: loc.custom_enabled for loc in store.locations.values()},
        location_settings={
            loc.id: copy.deepcopy(device_settings.location_settings_view(store, loc)["customizations"])
            for loc in store.locations.values()
        },
        devices=devices,
        templates={t.name: line_keys.template_view(t) for t in store.templates.values()},
        members=members,
        compression=compression,
    )


# -- small helpers ----------------------------------------------------------------------------------


def _leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """The declared leaves of a mapping: every path to a value that is not a mapping (a list, a
    scalar, or a ``{fromEnv: NAME}`` reference)."""
    if isinstance(node, dict) and not _is_ref(node):
        out = []
        for key, value in node.items():
            out += _leaves(value, (*path, key))
        return out
    return [(path, node)]


def _is_ref(node: Any) -> bool:
    return isinstance(node, dict) and set(node) == {"fromEnv"}


def _set(target: dict[str, Any], path: tuple[str, ...], value: Any, env: dict[str, str]) -> None:
    node = target
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = env[value["fromEnv"]] if _is_ref(value) else copy.deepcopy(value)


def _overlay(base: dict[str, Any], declared: dict[str, Any] | None, env: dict[str, str]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for path, value in _leaves(declared or {}):
        if path:
            _set(out, path, value, env)
    return out


def _docs(repo: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    out = [doc for doc in repo.values() if isinstance(doc, dict) and doc.get("kind") == kind]
    for doc in out:
        if (doc.get("metadata") or {}).get("ignore"):
            raise Unmodelled(f"{kind} with metadata.ignore")
    return out


def mac_of(text: str) -> str:
    return "".join(c for c in str(text) if c.isalnum()).upper()


# -- what the manifests mean ----------------------------------------------------------------------


@dataclass
class Expected:
    org: dict[str, Any]
    location_custom: dict[str, bool]
    location_settings: dict[str, dict[str, Any]]  # id -> family -> values (ata, mpp, wifi)
    device_settings: dict[str, tuple[bool, dict[str, Any]]]  # MAC -> (customEnabled, family values)
    layouts: dict[str, dict[str, Any]]  # MAC -> canonical layout
    members: dict[str, list[dict[str, Any]]]  # MAC -> declared members (resolved ids)
    hoteling: dict[str, dict[str, Any]]  # MAC -> declared hoteling fields
    compression: dict[str, str]  # owner id -> declared compression
    notes: list[str] = field(default_factory=list)


class Oracle:
    def __init__(self, live: Live, repo: dict[str, dict[str, Any]], env: dict[str, str]) -> None:
        self.live = live
        self.env = env
        org_docs = _docs(repo, "OrgDeviceSettings")
        self.org_declared: dict[str, Any] = (
            (org_docs[0]["spec"].get("customizations") or {}) if org_docs else {}
        )
        self.loc_docs = {
            live.location_names[d["metadata"]["location"]]: d["spec"]
            for d in _docs(repo, "LocationDeviceSettings")
            if d["metadata"]["location"] in live.location_names
        }
        self.dev_docs = {mac_of(d["metadata"]["mac"]): d["spec"] for d in _docs(repo, "Device")}
        self.templates = self._templates(_docs(repo, "LineKeyTemplate"))
        self.assignments = [d["spec"] for d in _docs(repo, "LineKeyTemplateAssignment")]
        self.owner_docs = [
            (("person", str(d["metadata"]["person"]).lower()), d["spec"])
            for d in _docs(repo, "PersonDevices")
        ] + [
            (("workspace", str(d["metadata"]["workspace"])), d["spec"])
            for d in _docs(repo, "WorkspaceDevices")
        ]

    # -- settings --------------------------------------------------------------------------------
    def org(self) -> dict[str, Any]:
        return {f: _overlay(self.live.org[f], self.org_declared.get(f), self.env) for f in ORG_FAMILIES}

    def location_custom(self, loc: str) -> bool:
        spec = self.loc_docs.get(loc)
        if spec is not None and "customEnabled" in spec:
            return bool(spec["customEnabled"])
        return self.live.location_custom[loc]

    def location(self, loc: str) -> dict[str, Any]:
        """A location's settings as its GET will show them (ata, mpp, wifi)."""
        org = self.org()
        if not self.location_custom(loc):
            return {f: org[f] for f in LOCATION_FAMILIES}
        spec = self.loc_docs.get(loc)
        if spec is None:  # its own settings, no manifest: kept as they are
            return copy.deepcopy(self.live.location_settings[loc])
        declared = spec.get("customizations") or {}
        return {
            f: _overlay(
                _overlay(self.live.location_settings[loc][f], self.org_declared.get(f), self.env),
                declared.get(f),
                self.env,
            )
            for f in LOCATION_FAMILIES
        }

    def device_settings(self, dev: LiveDevice) -> tuple[bool, dict[str, Any]]:
        family = catalog.MODELS[dev.model].family
        if family not in defaults.FAMILIES:
            return False, {}
        spec = (self.dev_docs.get(dev.mac) or {}).get("settings")
        custom = bool(spec["customEnabled"]) if spec and "customEnabled" in spec else dev.custom
        if not custom:
            parent = (
                self.location(dev.location)[family] if family in LOCATION_FAMILIES else self.org()[family]
            )
            return False, defaults.merged_view(defaults.FAMILIES[family], parent)
        if not spec:
            return True, copy.deepcopy(dev.settings)
        values = _overlay(dev.settings, self.org_declared.get(family), self.env)
        loc_spec = self.loc_docs.get(dev.location)
        if self.location_custom(dev.location):
            if loc_spec is None:  # a location customized outside any manifest: nothing to follow
                values = copy.deepcopy(dev.settings)
            else:
                values = _overlay(values, (loc_spec.get("customizations") or {}).get(family), self.env)
        return True, _overlay(values, (spec.get("customizations") or {}).get(family), self.env)

    def claims(self, dev: LiveDevice) -> dict[str, str]:
        """``family.path`` -> who declares the value the device shows (``device``, ``location
        NAME``, ``org``), for each value a manifest declares: what ``explain`` must name."""
        family = catalog.MODELS[dev.model].family
        if family not in defaults.FAMILIES:
            return {}
        names = {v: k for k, v in self.live.location_names.items()}
        loc_spec = self.loc_docs.get(dev.location)
        loc_label = f"location {names[dev.location]}"
        out: dict[str, str] = {}

        def claim(declared: dict[str, Any] | None, label: str) -> None:
            for path, _ in _leaves(declared or {}):
                if path:
                    out[".".join((family, *path))] = label

        spec = (self.dev_docs.get(dev.mac) or {}).get("settings")
        custom = bool(spec["customEnabled"]) if spec and "customEnabled" in spec else dev.custom
        if custom and not spec:
            return {}  # its own settings, no manifest declares them
        by_location = family in LOCATION_FAMILIES and self.location_custom(dev.location)
        if not (by_location and loc_spec is None):  # a location customized outside the manifests
            claim(self.org_declared.get(family), "org")
        if by_location and loc_spec is not None:
            claim((loc_spec.get("customizations") or {}).get(family), loc_label)
        if custom and spec:
            claim((spec.get("customizations") or {}).get(family), "device")
        return out

    # -- templates and layouts -------------------------------------------------------------------
    def _templates(self, docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {name: copy.deepcopy(t) for name, t in self.live.templates.items()}
        for doc in docs:
            name, spec = doc["metadata"]["name"], doc["spec"]
            tpl = out.setdefault(name, {"userReorderEnabled": False})
            tpl["deviceModel"] = spec["deviceModel"]
            tpl["lineKeys"] = copy.deepcopy(spec["lineKeys"])
            if "userReorderEnabled" in spec:
                tpl["userReorderEnabled"] = bool(spec["userReorderEnabled"])
        return out

    def _own_layout(self, dev: LiveDevice) -> dict[str, Any] | None:
        """The layout the device's manifest declares (canonical), or None when it declares none."""
        layout = (self.dev_docs.get(dev.mac) or {}).get("layout")
        if layout is None or not catalog.MODELS[dev.model].layout:
            return None
        if "template" in layout:
            tpl = self.templates[layout["template"]]
            layout = {
                "layoutMode": "CUSTOM",
                "userReorderEnabled": tpl["userReorderEnabled"],
                "lineKeys": tpl["lineKeys"],
            }
        if layout["layoutMode"] == "DEFAULT":
            return default_layout(dev.model)
        live = canonical_layout(dev.layout)
        out = {
            "mode": "CUSTOM",
            "reorder": bool(
                layout.get("userReorderEnabled", live["reorder"] if live["mode"] == "CUSTOM" else False)
            ),
            "keys": _keys(layout.get("lineKeys") or [], "lineKey"),
            "kem": live["kem"] if live["mode"] == "CUSTOM" else None,
            "kemKeys": live["kemKeys"] if live["mode"] == "CUSTOM" else {},
        }
        if "kemModuleType" in layout:
            out["kem"] = layout["kemModuleType"]
            out["kemKeys"] = _kem_keys(layout.get("kemKeys") or [])
        elif "kemKeys" in layout:
            out["kemKeys"] = _kem_keys(layout["kemKeys"])
        return out

    def _in_scope(self, dev: LiveDevice, spec: dict[str, Any], layout: dict[str, Any], members: int) -> bool:
        """Whether an applyLineKeyTemplate job with this assignment's parameters changes ``dev`` (with
        the layout and the count of non-owner members it has when the job runs)."""
        model = catalog.MODELS[dev.model]
        if not model.layout:
            return False
        reset = spec.get("action", "APPLY_TEMPLATE") == "APPLY_DEFAULT_TEMPLATES"
        tpl = self.templates.get(spec["template"])
        if tpl is None:
            raise Unmodelled(f"assignment of an unknown template {spec['template']!r}")
        if not reset and tpl["deviceModel"] != dev.model:
            return False
        names = spec.get("locations")
        if names and dev.location not in {self.live.location_names.get(n) for n in names}:
            return False
        include, exclude = set(spec.get("includeDeviceTags") or []), set(spec.get("excludeDeviceTags") or [])
        if include and not include & set(dev.tags):
            return False
        if exclude and exclude & set(dev.tags):
            return False
        if spec.get("excludeDevicesWithCustomLayout") and layout["mode"] == "CUSTOM":
            return False
        accepted = spec.get("advisoryTypes")
        if reset or not isinstance(accepted, dict):
            return True
        return all(accepted.get(flag) is True for flag in _advisories(tpl["lineKeys"], members))

    def layout(self, dev: LiveDevice) -> tuple[dict[str, Any], list[str]]:
        """The device's layout after the apply (canonical), and the assignments that reach it."""
        own = self._own_layout(dev)
        at_job = own if own is not None else canonical_layout(dev.layout)
        lines = len([m for m in self.members(dev) if m["id"] != dev.owner])
        reaching = [s for s in self.assignments if self._in_scope(dev, s, at_job, lines)]
        if own is not None or not reaching:
            return at_job, [s["template"] for s in reaching]
        spec = reaching[0]
        if spec.get("action", "APPLY_TEMPLATE") == "APPLY_DEFAULT_TEMPLATES":
            return default_layout(dev.model), [s["template"] for s in reaching]
        tpl = self.templates[spec["template"]]
        out = {
            "mode": "CUSTOM",
            "reorder": bool(tpl["userReorderEnabled"]),
            "keys": _keys(tpl["lineKeys"], "lineKey"),
            "kem": at_job["kem"],
            "kemKeys": at_job["kemKeys"],
        }
        return out, [s["template"] for s in reaching]

    # -- members and owners ----------------------------------------------------------------------
    def members(self, dev: LiveDevice) -> list[dict[str, Any]]:
        """The device's members after the apply: the declared ones (with the fields they declare and
        a resolved ``id``), or the live ones."""
        declared = (self.dev_docs.get(dev.mac) or {}).get("members")
        if declared is None:
            return [{k: m[k] for k in ("id", *MEMBER_FIELDS) if k in m} for m in dev.members]
        out = []
        for m in declared:
            key = next((k, m[k]) for k in ("person", "workspace", "virtualLine") if k in m)
            ref = (key[0], str(key[1]).lower()) if key[0] == "person" else (key[0], str(key[1]))
            entry = {"id": self.live.members[ref]}
            entry.update({k: m[k] for k in MEMBER_FIELDS if k in m})
            out.append(entry)
        return out

    def owners(self) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        hoteling: dict[str, dict[str, Any]] = {}
        compression: dict[str, str] = {}
        for ref, spec in self.owner_docs:
            owner = self.live.members.get(ref)
            if owner is None:
                continue
            if "hoteling" in spec:
                for dev in self.live.devices.values():
                    if dev.owner == owner:
                        hoteling[dev.mac] = dict(spec["hoteling"])
            if "compression" in (spec.get("settings") or {}):
                compression[owner] = spec["settings"]["compression"]
        return hoteling, compression

    def expected(self) -> Expected:
        hoteling, compression = self.owners()
        exp = Expected(
            org=self.org(),
            location_custom={loc: self.location_custom(loc) for loc in self.live.location_custom},
            location_settings={loc: self.location(loc) for loc in self.live.location_custom},
            device_settings={},
            layouts={},
            members={},
            hoteling=hoteling,
            compression=compression,
        )
        for mac, dev in self.live.devices.items():
            exp.device_settings[mac] = self.device_settings(dev)
            layout, reaching = self.layout(dev)
            if len(reaching) > 1:
                exp.notes.append(f"{mac}: in the scope of {len(reaching)} assignments {reaching}")
            exp.layouts[mac] = layout
            exp.members[mac] = self.members(dev)
        return exp


# -- canonical layouts ----------------------------------------------------------------------------


def _key_tuple(key: dict[str, Any], prefix: str) -> tuple[Any, ...]:
    """What a key shows; ``sharedLineIndex`` only on a SHARED_LINE key (meaningless on others)."""
    kind = key[f"{prefix}Type"]
    return (
        kind,
        key.get(f"{prefix}Label") or "",
        key.get(f"{prefix}Value") or "",
        int(key.get("sharedLineIndex") or 0) if kind == "SHARED_LINE" else 0,
    )


def _keys(keys: list[dict[str, Any]], prefix: str) -> dict[int, tuple[Any, ...]]:
    """Keys by index, leaving out OPEN ones (the API fills every key a layout leaves out as OPEN)."""
    return {int(k[f"{prefix}Index"]): _key_tuple(k, prefix) for k in keys if k[f"{prefix}Type"] != "OPEN"}


def _kem_keys(keys: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        f"{int(k['kemModuleIndex'])}/{int(k['kemKeyIndex'])}": _key_tuple(k, "kemKey")
        for k in keys
        if k["kemKeyType"] != "OPEN"
    }


def canonical_layout(view: dict[str, Any]) -> dict[str, Any]:
    """A GET layout answer reduced to what a phone shows."""
    return {
        "mode": view["layoutMode"],
        "reorder": bool(view.get("userReorderEnabled", False)),
        "keys": _keys(view.get("lineKeys") or [], "lineKey"),
        "kem": view.get("kemModuleType"),
        "kemKeys": _kem_keys(view.get("kemKeys") or []) if view.get("kemModuleType") else {},
    }


def default_layout(model: str) -> dict[str, Any]:
    keys = {1: ("PRIMARY_LINE", "", "", 0)} if catalog.MODELS[model].line_keys else {}
    return {"mode": "DEFAULT", "reorder": False, "keys": keys, "kem": None, "kemKeys": {}}


def _advisories(keys: list[dict[str, Any]], lines: int) -> list[str]:
    """The warnings a template with ``keys`` raises on a device with ``lines`` shared or virtual
    lines (the API's advisory types)."""
    kinds = [k["lineKeyType"] for k in keys]
    shared = kinds.count("SHARED_LINE")
    out = ["moreSharedAppearancesEnabled"] if shared > lines else []
    out += ["fewSharedAppearancesEnabled"] if lines > shared else []
    return out + [flag for flag, kind in ADVISORY_KEYS.items() if kind in kinds]


# -- the comparison -------------------------------------------------------------------------------


def _diff(want: Any, got: Any, path: str, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got), key=str):
            _diff(want.get(key), got.get(key), f"{path}.{key}", out)
    elif want != got:
        out.append(f"{path}: expected {want!r}, found {got!r}")


def _member_problems(
    mac: str, want: list[dict[str, Any]], got: list[dict[str, Any]], owner: str
) -> list[str]:
    found = {m["id"]: m for m in got}
    problems = []
    wanted_ids = {m["id"] for m in want}
    extra = set(found) - wanted_ids - {owner}
    missing = wanted_ids - set(found)
    if extra or missing:
        problems.append(f"{mac}.members: ids {sorted(wanted_ids)} expected, found {sorted(found)}")
    for m in want:
        have = found.get(m["id"])
        if have is None:
            continue
        for name in MEMBER_FIELDS:
            if name == "hotlineDestination" and m.get("hotlineEnabled") is not True:
                continue  # the number a hotline calls: meaningless while it is off
            if name in m and (m[name] or None) != (have.get(name) or None):
                problems.append(
                    f"{mac}.members[{m['id']}].{name}: expected {m[name]!r}, found {have.get(name)!r}"
                )
    return problems


def compare(exp: Expected, after: Live) -> list[str]:
    """Every way the org after the apply differs from what the manifests mean."""
    out: list[str] = []
    _diff(exp.org, after.org, "org", out)
    for loc, custom in exp.location_custom.items():
        if after.location_custom[loc] != custom:
            out.append(f"location {loc}.customEnabled: expected {custom}, found {after.location_custom[loc]}")
        _diff(exp.location_settings[loc], after.location_settings[loc], f"location {loc}", out)
    for mac, dev in after.devices.items():
        custom, values = exp.device_settings[mac]
        if values and dev.custom != custom:
            out.append(f"{mac}.settings.customEnabled: expected {custom}, found {dev.custom}")
        _diff(values, dev.settings, f"{mac}.settings", out)
        _diff(exp.layouts[mac], canonical_layout(dev.layout), f"{mac}.layout", out)
        out += _member_problems(mac, exp.members[mac], dev.members, dev.owner)
        for name, value in exp.hoteling.get(mac, {}).items():
            if dev.hoteling.get(name) != value:
                out.append(f"{mac}.hoteling.{name}: expected {value!r}, found {dev.hoteling.get(name)!r}")
    for owner, value in exp.compression.items():
        if after.compression.get(owner) != value:
            out.append(
                f"owner {owner}.compression: expected {value!r}, found {after.compression.get(owner)!r}"
            )
    return out


def _shown(dev: LiveDevice) -> tuple[Any, ...]:
    return (dev.custom, dev.settings, canonical_layout(dev.layout), dev.members, dev.hoteling)


def push_problems(before: Live, after: Live) -> list[str]:
    """Each device is told to download its configuration at most once, and one whose configuration
    changed at least once (the simulator's pending flag says whether that was after the change)."""
    out = []
    for mac, dev in after.devices.items():
        old = before.devices[mac]
        pushed = dev.pushes - old.pushes
        if pushed > 1:
            out.append(f"{mac}: pushed {pushed} times in one apply")
        if not pushed and catalog.MODELS[dev.model].cisco and _shown(dev) != _shown(old):
            out.append(f"{mac}: its configuration changed and it was not pushed")
    return out


def judge(before: Live, repo: dict[str, dict[str, Any]], env: dict[str, str], after: Live) -> list[str]:
    """The differences between the org after an apply and what the manifests mean (empty: agreed)."""
    exp = Oracle(before, repo, env).expected()
    return exp.notes + compare(exp, after) + push_problems(before, after)
