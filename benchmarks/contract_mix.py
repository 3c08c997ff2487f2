"""Multi-kind edits in one apply, for the contract test (``benchmarks/contract.py``).

One scenario changes the org's settings, a location's, a line key template, an assignment, one or
two devices and an owner's hoteling together, with values the API takes (so that most scenarios
apply and the oracle judges what the phones end up with), and may first change the org out of band
(a location or device customized in Control Hub, a layout changed, a device tagged) so that live
state and manifests differ before the apply, the way an org drifts between two merges:

- the org manifest sets one to three leaves (sometimes a secret through ``fromEnv``), or is cut to
  those leaves alone;
- a location becomes customized with only overrides (each other field follows the org manifest),
  stops being customized, keeps its manifest, or loses it (its live settings are then unmanaged);
- a template changes its keys or ``userReorderEnabled``, or a new one is added;
- an assignment applies a template (or resets to the default layouts) to a scope of locations,
  tags, ``excludeDevicesWithCustomLayout`` and ``advisoryTypes``; usually the devices it may match
  give up their own ``layout`` (else the plan refuses the double ownership);
- a device becomes customized with overrides, stops being customized, takes a custom layout, a
  shared member more or less;
- a person or workspace changes hoteling and compression.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from reconciler.sim import catalog, defaults
from reconciler.sim.store import Store

Repo = dict[str, dict[str, Any]]
SECRET_ENV = "RECONCILER_SECRET_CONTRACT_PROXY"
SECRET_VALUE = "Proxy-Secret-42"

# Leaves (path, values the API takes) of the org/location and device objects.
MPP_LEAVES: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = (
    (("backlightTimer",), ("ONE_MIN", "FIVE_MIN", "THIRTY_MIN", "ALWAYS_ON")),
    (("phoneLanguage",), ("PERSON_LANGUAGE", "ENGLISH_UNITED_STATES", "FRENCH_FRANCE", "GERMAN_GERMANY")),
    (("cdpEnabled",), (True, False)),
    (("lldpEnabled",), (True, False)),
    (("qosEnabled",), (True, False)),
    (("dndServicesEnabled",), (True, False)),
    (("webexMeetingsEnabled",), (True, False)),
    (("displayNameFormat",), ("PERSON_FIRST_THEN_LAST_NAME", "PERSON_LAST_THEN_FIRST_NAME")),
    (("lineKeyLabelFormat",), ("PERSON_EXTENSION", "PERSON_FIRST_THEN_LAST_NAME")),
    (("poeMode",), ("NORMAL", "MAXIMUM")),
    (("offHookTimer",), (15, 30, 45, 60)),
    (("callsPerLine",), (2, 4, 6)),
    (("vlan", "enabled"), (True, False)),
    (("vlan", "value"), (1, 100, 200, 4094)),
    (("volumeSettings", "ringerVolume"), (0, 5, 9, 15)),
    (("screenTimeout", "enabled"), (True, False)),
    (("screenTimeout", "value"), (60, 400)),
    (("httpProxy", "password"), ({"fromEnv": SECRET_ENV},)),
)
ATA_LEAVES: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = (
    (("ataDtmfMode",), ("STRICT", "NORMAL")),
    (("cdpEnabled",), (True, False)),
    (("lldpEnabled",), (True, False)),
    (("webAccessEnabled",), (True, False)),
    (("vlan", "enabled"), (True, False)),
    (("vlan", "value"), (1, 300)),
    (("snmp", "getCommunity"), ("public", "monitor", {"fromEnv": SECRET_ENV})),
)
DEVICE_ONLY_LEAVES = ((("usbPorts", "sideUsbEnabled"), (True, False)),)
LEAVES = {"mpp": MPP_LEAVES, "ata": ATA_LEAVES}


@dataclass
class Mix:
    """A multi-kind scenario: out-of-band changes to the org, then edits of the repo."""

    notes: list[str] = field(default_factory=list)
    live: list[Callable[[Store], None]] = field(default_factory=list, repr=False)
    repo: list[Callable[[Repo], None]] = field(default_factory=list, repr=False)
    env: dict[str, str] = field(default_factory=lambda: {SECRET_ENV: SECRET_VALUE})


@dataclass
class Shape:
    """What the scenario draws from: the exported org's files and where its devices are."""

    files: dict[str, dict[str, Any]]
    models: dict[str, str]  # device file -> model
    device_location: dict[str, str]  # device file -> location name
    device_tags: dict[str, list[str]]
    locations: list[str]
    tags: list[str]
    templates: dict[str, str]  # name -> model
    people: list[str]
    workspaces: list[str]
    virtual_lines: list[str]


def _rels(shape: Shape, kind: str) -> list[str]:
    return sorted(rel for rel, doc in shape.files.items() if doc.get("kind") == kind)


def _set(node: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = copy.deepcopy(value)


def leaves(draw: Any, family: str, most: int, device: bool = False) -> dict[str, Any]:
    pool = LEAVES[family] + (DEVICE_ONLY_LEAVES if device and family == "mpp" else ())
    out: dict[str, Any] = {}
    for path, values in draw(st.lists(st.sampled_from(pool), max_size=most, unique_by=lambda p: p[0])):
        _set(out, path, draw(st.sampled_from(values)))
    return out


# -- the repo -------------------------------------------------------------------------------------


def org_part(draw: Any, shape: Shape, mix: Mix) -> None:
    rel = _rels(shape, "OrgDeviceSettings")[0]
    what = draw(st.sampled_from(["set", "set", "set", "only", "keep"]))
    declared = {
        f: leaves(draw, f, 3)
        for f in draw(st.lists(st.sampled_from(["mpp", "ata"]), min_size=1, unique=True))
    }

    def edit(repo: Repo) -> None:
        spec = repo[rel]["spec"]
        if what == "only":
            spec["customizations"] = {}
        for family, values in declared.items():
            for path, value in _flat(values):
                _set(spec.setdefault("customizations", {}).setdefault(family, {}), path, value)
        if not spec.get("customizations"):
            spec["customizations"] = {"mpp": {"cdpEnabled": True}}

    if what != "keep":
        mix.repo.append(edit)
        mix.notes.append(f"org: {what} {declared}")


def _flat(node: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in node.items():
        if isinstance(value, dict) and set(value) != {"fromEnv"}:
            out += _flat(value, (*path, key))
        else:
            out.append(((*path, key), value))
    return out


def location_part(draw: Any, shape: Shape, mix: Mix) -> None:
    rel = draw(st.sampled_from(_rels(shape, "LocationDeviceSettings")))
    what = draw(st.sampled_from(["overrides", "overrides", "off", "drop", "keep"]))
    declared = {f: leaves(draw, f, 2) for f in draw(st.lists(st.sampled_from(["mpp", "ata"]), unique=True))}
    declared = {f: v for f, v in declared.items() if v}

    def edit(repo: Repo) -> None:
        if what == "drop":
            repo.pop(rel, None)
        elif what == "off":
            repo[rel]["spec"] = {"customEnabled": False}
        else:
            spec: dict[str, Any] = {"customEnabled": True}
            if declared:
                spec["customizations"] = copy.deepcopy(declared)
            repo[rel]["spec"] = spec

    if what != "keep":
        mix.repo.append(edit)
        mix.notes.append(f"{rel}: {what} {declared if what == 'overrides' else ''}")


def _template_keys(draw: Any, model: str) -> list[dict[str, Any]]:
    count = catalog.MODELS[model].line_keys
    keys: list[dict[str, Any]] = [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}]
    for index in sorted(draw(st.sets(st.integers(2, max(count, 2)), max_size=min(count - 1, 4)))):
        if index > count:
            continue
        kind = draw(
            st.sampled_from(["SPEED_DIAL", "OPEN", "CLOSED", "PRIMARY_LINE", "SHARED_LINE", "MONITOR"])
        )
        key: dict[str, Any] = {"lineKeyIndex": index, "lineKeyType": kind}
        if kind == "SPEED_DIAL":
            key.update(lineKeyLabel=draw(st.sampled_from(["Help", "Desk"])), lineKeyValue="4357")
        if kind == "SHARED_LINE":
            key["sharedLineIndex"] = 1
        keys.append(key)
    return keys


def template_part(draw: Any, shape: Shape, mix: Mix) -> str | None:
    """Edit a template or add one; the name of a template an assignment may use."""
    rels = _rels(shape, "LineKeyTemplate")
    what = draw(st.sampled_from(["keys", "reorder", "new", "keep"] if rels else ["new", "keep"]))
    if what == "keep":
        return str(draw(st.sampled_from(sorted(shape.templates)))) if shape.templates else None
    if what == "new":
        model = draw(st.sampled_from(sorted({m for m in shape.models.values() if catalog.MODELS[m].layout})))
        doc: dict[str, Any] = {
            "apiVersion": "reconciler/v1",
            "kind": "LineKeyTemplate",
            "metadata": {"name": "Contract Mix"},
            "spec": {"deviceModel": model, "lineKeys": _template_keys(draw, model)},
        }
        if draw(st.booleans()):
            doc["spec"]["userReorderEnabled"] = draw(st.booleans())
        mix.repo.append(lambda repo: repo.__setitem__("templates/contract-mix.yaml", copy.deepcopy(doc)))
        mix.notes.append(f"new template {doc['spec']}")
        return "Contract Mix"
    rel = draw(st.sampled_from(rels))
    name = str(shape.files[rel]["metadata"]["name"])
    if what == "reorder":
        flag = not bool(shape.files[rel]["spec"].get("userReorderEnabled", False))
        mix.repo.append(lambda repo: repo[rel]["spec"].__setitem__("userReorderEnabled", flag))
        mix.notes.append(f"{rel}: userReorderEnabled = {flag}")
        return name
    keys = _template_keys(draw, shape.templates[name])
    mix.repo.append(lambda repo: repo[rel]["spec"].__setitem__("lineKeys", copy.deepcopy(keys)))
    mix.notes.append(f"{rel}: lineKeys = {keys}")
    return name


def assignment_part(draw: Any, shape: Shape, mix: Mix, template: str | None) -> None:
    if template is None or not draw(st.integers(0, 4)):
        return
    reset = draw(st.integers(0, 4)) == 0
    spec: dict[str, Any] = {"template": template}
    if reset:
        spec["action"] = "APPLY_DEFAULT_TEMPLATES"
    if draw(st.booleans()):
        spec["locations"] = draw(
            st.lists(st.sampled_from(shape.locations), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 2)) == 0:
        spec["includeDeviceTags"] = draw(
            st.lists(st.sampled_from(shape.tags), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 3)) == 0:
        spec["excludeDeviceTags"] = draw(st.lists(st.sampled_from(shape.tags), min_size=1, max_size=1))
    if draw(st.integers(0, 2)) == 0:
        spec["excludeDevicesWithCustomLayout"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        flags = (
            "moreSharedAppearancesEnabled",
            "fewSharedAppearancesEnabled",
            "moreMonitorAppearancesEnabled",
        )
        spec["advisoryTypes"] = {
            f: draw(st.booleans()) for f in draw(st.lists(st.sampled_from(flags), unique=True))
        }
    specs = [spec]
    if len(shape.locations) > 1 and draw(st.integers(0, 2)) == 0:
        # the same template assigned twice, to two locations: a template edit re-runs both jobs
        first, second = draw(st.permutations(shape.locations))[:2]
        specs = [{**spec, "locations": [first]}, {**spec, "locations": [second]}]
    yield_layouts = draw(st.integers(0, 5)) > 0
    model = shape.templates.get(template)

    def edit(repo: Repo) -> None:
        tpl_model = model or _model_in(repo, template)
        for n, one in enumerate(specs, 1):
            name = "contract-mix" if n == 1 else f"contract-mix-{n}"
            repo[f"assignments/{name}.yaml"] = {
                "apiVersion": "reconciler/v1",
                "kind": "LineKeyTemplateAssignment",
                "metadata": {"name": name},
                "spec": copy.deepcopy(one),
            }
            if yield_layouts:
                _yield_layouts(repo, shape, one, reset or tpl_model)

    mix.repo.append(edit)
    mix.notes.append(f"assignments {specs} (devices give up their layout: {yield_layouts})")


def _yield_layouts(repo: Repo, shape: Shape, spec: dict[str, Any], model: str | bool | None) -> None:
    """Drop the own layout of each device the assignment may match (``model``: the template's, or
    True for a reset, which matches every model), so that the assignment owns it."""
    for rel, loc in shape.device_location.items():
        if rel not in repo or "layout" not in repo[rel]["spec"]:
            continue
        if spec.get("locations") and loc not in spec["locations"]:
            continue
        if model is not True and shape.models[rel] != model:
            continue
        del repo[rel]["spec"]["layout"]
        if not repo[rel]["spec"]:
            repo[rel]["spec"]["settings"] = {"customEnabled": False}


def _model_in(repo: Repo, template: str) -> str | None:
    for doc in repo.values():
        if doc.get("kind") == "LineKeyTemplate" and doc["metadata"]["name"] == template:
            return str(doc["spec"]["deviceModel"])
    return None


def device_part(draw: Any, shape: Shape, mix: Mix) -> None:
    rel = draw(st.sampled_from(sorted(shape.models)))
    model = catalog.MODELS[shape.models[rel]]
    what = draw(st.sampled_from(["settings", "settings", "plain", "layout", "member+", "member-"]))
    if what in ("settings", "plain") and model.family not in LEAVES:
        what = "member-"
    if what == "layout" and not model.layout:
        what = "member-"
    if what == "settings":
        own = leaves(draw, model.family, 2, device=True)

        def edit(repo: Repo) -> None:
            settings: dict[str, Any] = {"customEnabled": True}
            if own:
                settings["customizations"] = {model.family: copy.deepcopy(own)}
            repo[rel]["spec"]["settings"] = settings

        mix.notes.append(f"{rel}: own settings {own}")
    elif what == "plain":

        def edit(repo: Repo) -> None:
            repo[rel]["spec"]["settings"] = {"customEnabled": False}

        mix.notes.append(f"{rel}: settings customEnabled false")
    elif what == "layout":
        layout = {"layoutMode": "CUSTOM", "lineKeys": _template_keys(draw, model.model)}
        if draw(st.booleans()):
            layout["userReorderEnabled"] = draw(st.booleans())

        def edit(repo: Repo) -> None:
            repo[rel]["spec"]["layout"] = copy.deepcopy(layout)

        mix.notes.append(f"{rel}: layout {layout}")
    elif what == "member+":
        pools = [
            ("virtualLine", shape.virtual_lines),
            ("workspace", shape.workspaces),
            ("person", shape.people),
        ]
        key, pool = draw(st.sampled_from([p for p in pools if p[1]]))
        who = draw(st.sampled_from(pool))

        def edit(repo: Repo) -> None:
            members = repo[rel]["spec"].setdefault("members", [])
            if any(m.get(key) == who for m in members):
                return
            port = 1 + max((m["port"] + m.get("lineWeight", 1) - 1 for m in members), default=0)
            members.append({key: who, "port": port, "lineType": "SHARED_CALL_APPEARANCE", "lineWeight": 1})

        mix.notes.append(f"{rel}: add member {key}={who}")
    else:

        def edit(repo: Repo) -> None:
            members = repo[rel]["spec"].get("members") or []
            repo[rel]["spec"]["members"] = [m for m in members if m.get("primaryOwner")] or members

        mix.notes.append(f"{rel}: keep only the owner among the members")
    mix.repo.append(edit)


def owner_part(draw: Any, shape: Shape, mix: Mix) -> None:
    rels = _rels(shape, "PersonDevices") + _rels(shape, "WorkspaceDevices")
    if not rels or draw(st.booleans()):
        return
    rel = draw(st.sampled_from(rels))
    hoteling: dict[str, Any] = {"enabled": draw(st.booleans())}
    if draw(st.booleans()):
        hoteling["limitGuestUse"] = draw(st.booleans())
        hoteling["guestHoursLimit"] = draw(st.sampled_from([1, 12, 999]))
    compression = draw(st.sampled_from(["ON", "OFF"]))

    def edit(repo: Repo) -> None:
        repo[rel]["spec"]["hoteling"] = dict(hoteling)
        repo[rel]["spec"]["settings"] = {"compression": compression}

    mix.repo.append(edit)
    mix.notes.append(f"{rel}: hoteling {hoteling}, compression {compression}")


# -- out of band ----------------------------------------------------------------------------------


def drift_part(draw: Any, shape: Shape, mix: Mix) -> None:
    """Changes made in Control Hub before the apply (the manifests do not know of them)."""
    for what in draw(
        st.lists(st.sampled_from(["location", "device", "layout", "tag"]), max_size=2, unique=True)
    ):
        if what == "location":
            name = draw(st.sampled_from(shape.locations))
            value = draw(st.sampled_from(["FIVE_MIN", "ALWAYS_ON"]))
            mix.live.append(functools.partial(_customize_location, name=name, backlight=value))
            mix.notes.append(f"out of band: location {name} customized (mpp.backlightTimer {value})")
        elif what == "device":
            rel = draw(
                st.sampled_from(
                    sorted(r for r, m in shape.models.items() if catalog.MODELS[m].family in LEAVES)
                )
            )
            mix.live.append(functools.partial(_customize_device, shape=shape, rel=rel))
            mix.notes.append(f"out of band: {rel} customized (cdpEnabled false)")
        elif what == "layout":
            rel = draw(
                st.sampled_from(sorted(r for r, m in shape.models.items() if catalog.MODELS[m].layout))
            )
            mix.live.append(functools.partial(_custom_layout, shape=shape, rel=rel))
            mix.notes.append(f"out of band: {rel} custom layout")
        else:
            rel = draw(st.sampled_from(sorted(shape.models)))
            tag = draw(st.sampled_from(shape.tags))
            mix.live.append(functools.partial(_tag, shape=shape, rel=rel, tag=tag))
            mix.notes.append(f"out of band: {rel} tagged {tag}")


def _device(store: Store, shape: Shape, rel: str) -> Any:
    mac = str(shape.files[rel]["metadata"]["mac"]).replace(":", "").upper()
    device = store.device_by_mac(mac)
    assert device is not None
    return device


def _tag(store: Store, shape: Shape, rel: str, tag: str) -> None:
    _device(store, shape, rel).tags.append(tag)


def _customize_location(store: Store, name: str, backlight: str) -> None:
    loc = next(loc for loc in store.locations.values() if loc.name == name)
    if not (loc.custom_enabled and loc.customizations):
        loc.customizations = {
            f: copy.deepcopy(store.org_customizations[f]) for f in defaults.LOCATION_FAMILIES
        }
        loc.custom_enabled = True
    loc.customizations["mpp"]["backlightTimer"] = backlight


def _customize_device(store: Store, shape: Shape, rel: str) -> None:
    device = _device(store, shape, rel)
    family = catalog.MODELS[device.model].family
    if device.settings is None:
        loc = store.locations[device.location_id]
        source = loc.customizations if loc.custom_enabled and loc.customizations else store.org_customizations
        device.settings = {family: defaults.deep_merge(defaults.FAMILIES[family], source[family])}
    device.settings[family]["cdpEnabled"] = False


def _custom_layout(store: Store, shape: Shape, rel: str) -> None:
    device = _device(store, shape, rel)
    model = catalog.MODELS[device.model]
    keys = [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE", "sharedLineIndex": 0}]
    if model.line_keys > 1:
        keys.append(
            {
                "lineKeyIndex": 2,
                "lineKeyType": "SPEED_DIAL",
                "lineKeyLabel": "OOB",
                "lineKeyValue": "911",
                "sharedLineIndex": 0,
            }
        )
    device.layout = {"layoutMode": "CUSTOM", "userReorderEnabled": False, "lineKeys": keys}


@st.composite
def mix(draw: Any, shape: Shape) -> Mix:
    out = Mix()
    drift_part(draw, shape, out)
    org_part(draw, shape, out)
    location_part(draw, shape, out)
    assignment_part(draw, shape, out, template_part(draw, shape, out))
    for _ in range(draw(st.integers(1, 2))):
        device_part(draw, shape, out)
    owner_part(draw, shape, out)
    return out
