"""Plan is a contract, checked by random edits: whatever ``plan`` accepts, ``apply`` does without a
failed step and converges; whatever the API would refuse, ``plan`` refuses first with ``file:line``.

An org (the demo org or a generated one) is exported, so the repo matches live state. Each example
draws one to three edits of that repo (members, layouts, device settings, templates, assignments,
location and org settings, hoteling, secrets; valid values and values at and beyond the limits),
writes the edited repo and runs the CLI against a fresh in-process simulator:

- ``plan`` exits 1 with a ``file:line`` diagnostic and the simulator saw no write: **refused**;
- or ``apply --auto-approve`` exits 0 with no failed step and a second ``plan --detailed-exitcode``
  exits 0: **converged**;
- anything else is a **violation**, reported with the edits.

The test suite runs a small budget (tests/contract/test_contract.py); this script runs a large
one and prints the counts::

    python -m benchmarks.contract --examples 2000 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from benchmarks import contract_mix, explain_check, oracle
from benchmarks.harness import SIM_SECRETS
from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.flows.export import ALL_KINDS
from reconciler.sim import catalog, telephony
from reconciler.sim.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_SCHEMA = json.loads((ROOT / "schemas" / "device-settings.schema.json").read_text(encoding="utf-8"))
YAML12 = YAML(typ="safe", pure=True)  # the manifests are YAML 1.2: "OFF" is a string
SECRET_ENV = "RECONCILER_SECRET_CONTRACT_SIP"
# Passwords the API refuses (too short; no digit): plan refuses them (a literal, or the value of a
# fromEnv variable that is set); drawn only with --weak-secrets.
WEAK_SECRETS = ("short1", "lettersonly")
FILE_LINE = re.compile(r"\.ya?ml:\d+(:\d+)?:")
LINE_KEY_TYPES = (
    "PRIMARY_LINE",
    "SHARED_LINE",
    "MONITOR",
    "CALL_PARK_EXTENSION",
    "SPEED_DIAL",
    "OPEN",
    "CLOSED",
    "MODE_MANAGEMENT",
)
KEM_TYPES = ("KEM_14_KEYS", "KEM_18_KEYS", "KEM_20_KEYS")


# -- the org ---------------------------------------------------------------------------------------


@dataclass
class Org:
    """An exported org: its manifests (parsed) and what edits may refer to."""

    seed: str | int
    devices: int | None
    files: dict[str, dict[str, Any]]  # relative path -> manifest document
    models: dict[str, str]  # device file -> model ("DMS Cisco 8851")
    people: list[str]
    workspaces: list[str]
    virtual_lines: list[str]
    locations: list[str]
    templates: dict[str, str]  # name -> model
    tags: list[str]
    device_location: dict[str, str] = field(default_factory=dict)  # device file -> location name
    device_tags: dict[str, list[str]] = field(default_factory=dict)

    def shape(self) -> contract_mix.Shape:
        return contract_mix.Shape(
            files=self.files,
            models=self.models,
            device_location=self.device_location,
            device_tags=self.device_tags,
            locations=self.locations,
            tags=self.tags,
            templates=self.templates,
            people=self.people,
            workspaces=self.workspaces,
            virtual_lines=self.virtual_lines,
        )

    def app(self) -> Any:
        return create_app(seed=self.seed, devices=self.devices, job_duration_s=0)


@contextlib.contextmanager
def connected(app: Any) -> Iterator[None]:
    """Point the CLI at ``app`` (in process) for the duration."""
    saved = cli_module.make_connection
    cli_module.make_connection = lambda kw: Connection(sim_app=app, concurrency=8)
    try:
        yield
    finally:
        cli_module.make_connection = saved


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def load_org(seed: str | int = "demo", devices: int | None = None) -> Org:
    """Export the org into memory (a repo that plans zero changes)."""
    app = create_app(seed=seed, devices=devices, job_duration_s=0)
    store = app.state.sim.store
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), connected(app):
        argv = ["export", "--out", "repo"]
        for kind in ALL_KINDS:
            argv += ["--kind", kind]
        result = cli(*argv)
        if result.exit_code != 0:
            raise RuntimeError(f"export failed: {result.output}")
        files = {
            str(p.relative_to("repo")): YAML12.load(p.read_text(encoding="utf-8"))
            for p in sorted(Path("repo").rglob("*.yaml"))
        }
    models, device_location, device_tags = {}, {}, {}
    for rel, doc in files.items():
        if doc.get("kind") == "Device":
            device = store.device_by_mac(str(doc["metadata"]["mac"]).replace(":", "").upper())
            models[rel] = device.model
            device_location[rel] = store.locations[device.location_id].name
            device_tags[rel] = list(device.tags)
    tags = sorted({t for d in store.devices.values() for t in d.tags} | {"contract-none"})
    return Org(
        seed=seed,
        devices=devices,
        files=files,
        models=models,
        people=sorted(p.email for p in store.people.values()),
        workspaces=sorted(w.display_name for w in store.workspaces.values()),
        virtual_lines=sorted(f"{v.first_name} {v.last_name}" for v in store.virtual_lines.values()),
        locations=sorted(loc.name for loc in store.locations.values()),
        templates={t.name: t.model for t in store.templates.values()},
        tags=tags,
        device_location=device_location,
        device_tags=device_tags,
    )


# -- values near the limits -----------------------------------------------------------------------


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SETTINGS_SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _leaves(node: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    node = _resolve(node)
    if node.get("type") == "object" and "properties" in node:
        out = []
        for name, sub in node["properties"].items():
            out += _leaves(sub, (*path, name))
        return out
    return [(path, node)]


def family_leaves(level: str, family: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    name = f"{family}Object{'Device' if level == 'device' else ''}"
    return _leaves(SETTINGS_SCHEMA["$defs"][name])


NUMBERS = st.one_of(
    st.sampled_from(
        [-1, 0, 1, 2, 3, 4, 5, 7, 8, 10, 15, 16, 30, 60, 100, 255, 4094, 4095, 4096, 65535, 99999]
    ),
    st.integers(-5, 5000),
    st.sampled_from([1.5, -0.5]),
)


def leaf_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from([*schema["enum"], "NOT_AN_ENUM_VALUE", schema["enum"][0].lower()])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind in ("number", "integer"):
        return NUMBERS
    if kind == "array":
        return st.lists(st.sampled_from(["224.0.0.1:8000", "239.1.1.1:5000", "x"]), max_size=3)
    if "oneOf" in schema or "anyOf" in schema or kind == "string":
        return st.one_of(
            st.sampled_from(["", "x", "10.0.0.1", "224.1.1.1", "http://example.com/a.png", "public"]),
            st.text(alphabet="abc0123456789.-", min_size=0, max_size=300),
        )
    return st.just(None)


# -- edits -----------------------------------------------------------------------------------------

Repo = dict[str, dict[str, Any]]


@dataclass
class Edit:
    note: str
    apply: Callable[[Repo], None] = field(repr=False)
    flags: tuple[str, ...] = ()  # for plan and apply (the second plan goes without)
    env: dict[str, str] = field(default_factory=dict)
    live: Callable[[Any], None] | None = field(default=None, repr=False)  # out of band, on the store
    mixed: bool = False  # part of a multi-kind scenario


def _of_kind(org: Org, kind: str) -> list[str]:
    return [rel for rel, doc in org.files.items() if doc.get("kind") == kind]


def _owner_ref(draw: Any, org: Org) -> dict[str, Any]:
    pools = [("person", org.people), ("workspace", org.workspaces), ("virtualLine", org.virtual_lines)]
    key, pool = draw(st.sampled_from([p for p in pools if p[1]]))
    return {key: draw(st.sampled_from(pool))}


def _model(org: Org, rel: str) -> catalog.Model:
    return catalog.MODELS[org.models[rel]]


@st.composite
def member_edit(draw: Any, org: Org) -> Edit:
    rel = draw(st.sampled_from(sorted(org.models)))
    model = _model(org, rel)
    limit = max(model.line_ports, 1)
    what = draw(st.sampled_from(["port", "lineWeight", "lineType", "field", "add", "remove", "hotline"]))
    ports = st.integers(0, limit + 2)
    if what == "add":
        new = {**_owner_ref(draw, org), "port": draw(ports)}
        if draw(st.booleans()):
            new["lineWeight"] = draw(st.integers(0, limit + 1))
        if draw(st.booleans()):
            new["lineType"] = draw(st.sampled_from(["PRIMARY", "SHARED_CALL_APPEARANCE"]))
        for name in ("t38FaxCompressionEnabled", "allowCallDeclineEnabled"):
            if draw(st.booleans()):
                new[name] = draw(st.booleans())
        if draw(st.booleans()):
            new["lineLabel"] = draw(st.sampled_from(["Shared", "", "L" * 40]))

        def add(repo: Repo) -> None:
            repo[rel]["spec"].setdefault("members", []).append(new)

        return Edit(f"{rel}: add member {new}", add)
    index = draw(st.integers(0, 3))

    def target(repo: Repo) -> dict[str, Any] | None:
        members = repo[rel]["spec"].get("members") or []
        return members[index % len(members)] if members else None

    if what == "remove":

        def remove(repo: Repo) -> None:
            members = repo[rel]["spec"].get("members") or []
            if members:
                del members[index % len(members)]
                if not members:
                    del repo[rel]["spec"]["members"]

        return Edit(f"{rel}: remove member #{index}", remove)
    if what == "hotline":
        value: Any = draw(st.booleans())
        dest = draw(st.sampled_from([None, "4357", "", "+15551234567"]))

        def hotline(repo: Repo) -> None:
            m = target(repo)
            if m is not None:
                m["hotlineEnabled"] = value
                if dest is not None:
                    m["hotlineDestination"] = dest

        return Edit(f"{rel}: member #{index} hotlineEnabled={value} hotlineDestination={dest!r}", hotline)
    name, value = {
        "port": lambda: ("port", draw(ports)),
        "lineWeight": lambda: ("lineWeight", draw(st.integers(0, limit + 1))),
        "lineType": lambda: (
            "lineType",
            draw(st.sampled_from(["PRIMARY", "SHARED_CALL_APPEARANCE", "OTHER"])),
        ),
        "field": lambda: draw(
            st.sampled_from(
                [
                    ("t38FaxCompressionEnabled", True),
                    ("t38FaxCompressionEnabled", False),
                    ("allowCallDeclineEnabled", False),
                    ("allowCallDeclineEnabled", True),
                    ("lineLabel", "Front"),
                    ("lineLabel", "x" * 60),
                    ("primaryOwner", True),
                    ("primaryOwner", False),
                ]
            )
        ),
    }[what]()

    def set_field(repo: Repo) -> None:
        m = target(repo)
        if m is not None:
            m[name] = value

    return Edit(f"{rel}: member #{index} {name}={value!r}", set_field)


def _line_keys(draw: Any, count: int, prefix: str = "lineKey") -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = []
    for index in sorted(draw(st.sets(st.integers(1, count + 2), max_size=min(count + 2, 6)))):
        kind = draw(st.sampled_from(LINE_KEY_TYPES))
        key: dict[str, Any] = {f"{prefix}Index": index, f"{prefix}Type": kind}
        if kind == "SPEED_DIAL" and draw(st.integers(0, 4)):
            key[f"{prefix}Label"] = "Help"
            key[f"{prefix}Value"] = draw(st.sampled_from(["4357", "", "+15550001111"]))
        keys.append(key)
    return keys


def _kem_keys(draw: Any, modules: int, per: int) -> list[dict[str, Any]]:
    keys = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["OPEN", "SPEED_DIAL", "CLOSED", "MONITOR"]))
        key: dict[str, Any] = {
            "kemModuleIndex": draw(st.integers(1, modules + 1)),
            "kemKeyIndex": draw(st.integers(1, per + 1)),
            "kemKeyType": kind,
        }
        if kind == "SPEED_DIAL":
            key["kemKeyLabel"] = "KEM"
            key["kemKeyValue"] = "1234"
        keys.append(key)
    unique = {(k["kemModuleIndex"], k["kemKeyIndex"]): k for k in keys}
    return list(unique.values())


@st.composite
def layout_edit(draw: Any, org: Org) -> Edit:
    rel = draw(st.sampled_from(sorted(org.models)))
    model = _model(org, rel)
    what = draw(st.sampled_from(["template", "default", "custom", "custom", "remove"]))
    layout: dict[str, Any] | None
    if what == "template" and org.templates:
        layout = {"template": draw(st.sampled_from(sorted(org.templates)))}
    elif what == "default":
        layout = {"layoutMode": "DEFAULT"}
    elif what == "remove":
        layout = None
    else:
        layout = {"layoutMode": "CUSTOM", "lineKeys": _line_keys(draw, max(model.line_keys, 1))}
        if draw(st.booleans()):
            layout["userReorderEnabled"] = draw(st.booleans())
        if draw(st.integers(0, 2)) == 0:
            kem = draw(st.sampled_from(KEM_TYPES))
            layout["kemModuleType"] = kem
            if draw(st.booleans()):
                layout["kemKeys"] = _kem_keys(draw, max(model.kem_modules, 1), int(kem.split("_")[1]))

    def set_layout(repo: Repo) -> None:
        spec = repo[rel]["spec"]
        if layout is None:
            spec.pop("layout", None)
        else:
            spec["layout"] = copy.deepcopy(layout)
        if not spec:
            spec["layout"] = {"layoutMode": "DEFAULT"}

    return Edit(f"{rel}: layout = {layout}", set_layout)


@st.composite
def settings_edit(draw: Any, org: Org) -> Edit:
    """A device, location or org setting: one leaf of one family, valid or not."""
    level = draw(st.sampled_from(["device", "location", "org"]))
    if level == "device":
        rel = draw(st.sampled_from(sorted(org.models)))
        families = ["mpp", "ata", "wifi"]
    else:
        rels = _of_kind(org, "LocationDeviceSettings" if level == "location" else "OrgDeviceSettings")
        rel = draw(st.sampled_from(rels))
        families = ["mpp", "ata", "dect", "wifi"]
    family = draw(st.sampled_from(families))
    path, leaf = draw(st.sampled_from(family_leaves(level, family)))
    value = draw(leaf_value(leaf))
    custom = draw(st.sampled_from([None, True, False]))

    def set_leaf(repo: Repo) -> None:
        spec = repo[rel]["spec"]
        if level == "device":
            spec = spec.setdefault("settings", {})
        node = spec.setdefault("customizations", {}).setdefault(family, {})
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return
        node[path[-1]] = value
        if custom is not None and level != "org":
            spec["customEnabled"] = custom

    return Edit(f"{rel}: {family}.{'.'.join(path)} = {value!r} (customEnabled={custom})", set_leaf)


@st.composite
def template_edit(draw: Any, org: Org) -> Edit:
    models = sorted(m for m in catalog.MODELS)
    rels = _of_kind(org, "LineKeyTemplate")
    what = draw(st.sampled_from(["keys", "model", "new"] if rels else ["new"]))
    if what == "new":
        model = draw(st.sampled_from(models))
        doc = {
            "apiVersion": "reconciler/v1",
            "kind": "LineKeyTemplate",
            "metadata": {"name": "Contract Template"},
            "spec": {
                "deviceModel": model,
                "lineKeys": _line_keys(draw, max(catalog.MODELS[model].line_keys, 1)),
            },
        }
        rel = "templates/contract.yaml"

        def add(repo: Repo) -> None:
            repo[rel] = copy.deepcopy(doc)

        return Edit(f"new template {doc}", add)
    rel = draw(st.sampled_from(rels))
    if what == "model":
        model = draw(st.sampled_from(models))

        def set_model(repo: Repo) -> None:
            repo[rel]["spec"]["deviceModel"] = model

        return Edit(f"{rel}: deviceModel = {model}", set_model)
    name = org.files[rel]["spec"]["deviceModel"]
    keys = _line_keys(draw, max(catalog.MODELS[name].line_keys, 1))

    def set_keys(repo: Repo) -> None:
        repo[rel]["spec"]["lineKeys"] = copy.deepcopy(keys)

    return Edit(f"{rel}: lineKeys = {keys}", set_keys)


@st.composite
def assignment_edit(draw: Any, org: Org) -> Edit:
    names = [*sorted(org.templates), "Contract Template"]
    spec: dict[str, Any] = {"template": draw(st.sampled_from(names))}
    if draw(st.booleans()):
        spec["action"] = draw(st.sampled_from(["APPLY_TEMPLATE", "APPLY_DEFAULT_TEMPLATES"]))
    if draw(st.booleans()):
        spec["locations"] = draw(
            st.lists(st.sampled_from(org.locations), min_size=1, max_size=2, unique=True)
        )
    if draw(st.booleans()):
        spec["includeDeviceTags"] = draw(
            st.lists(st.sampled_from(org.tags), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 3)) == 0:
        spec["excludeDeviceTags"] = draw(
            st.lists(st.sampled_from(org.tags), min_size=1, max_size=2, unique=True)
        )
    if draw(st.booleans()):
        spec["excludeDevicesWithCustomLayout"] = draw(st.booleans())
    doc = {
        "apiVersion": "reconciler/v1",
        "kind": "LineKeyTemplateAssignment",
        "metadata": {"name": f"contract-{draw(st.integers(1, 2))}"},
        "spec": spec,
    }
    rel = f"assignments/{doc['metadata']['name']}.yaml"

    def add(repo: Repo) -> None:
        repo[rel] = copy.deepcopy(doc)

    return Edit(f"assignment {doc}", add)


@st.composite
def hoteling_edit(draw: Any, org: Org) -> Edit:
    rels = _of_kind(org, "PersonDevices") + _of_kind(org, "WorkspaceDevices")
    rel = draw(st.sampled_from(rels))
    hoteling: dict[str, Any] = {"enabled": draw(st.booleans())}
    if draw(st.booleans()):
        hoteling["limitGuestUse"] = draw(st.booleans())
    if draw(st.booleans()):
        hoteling["guestHoursLimit"] = draw(st.sampled_from([0, 1, 2, 12, 998, 999, 1000, 5000]))
    compression = draw(st.sampled_from([None, "ON", "OFF"]))

    def set_hoteling(repo: Repo) -> None:
        spec = repo[rel]["spec"]
        spec["hoteling"] = dict(hoteling)
        if compression is not None:
            spec["settings"] = {"compression": compression}

    return Edit(f"{rel}: hoteling = {hoteling}, compression = {compression}", set_hoteling)


@st.composite
def secret_edit(draw: Any, org: Org, weak: bool = False) -> Edit:
    rel = draw(st.sampled_from(sorted(org.models)))
    secrets = ["Contract-Secret-1", *(WEAK_SECRETS if weak else ())]
    value: Any = draw(st.sampled_from([{"fromEnv": SECRET_ENV}, {"fromEnv": SECRET_ENV}, *secrets]))
    secret = draw(st.sampled_from(secrets))
    rotate = draw(st.booleans())

    def set_secret(repo: Repo) -> None:
        repo[rel]["spec"]["sipPassword"] = copy.deepcopy(value)

    return Edit(
        f"{rel}: sipPassword = {value}, {SECRET_ENV}={secret!r}, rotate={rotate}",
        set_secret,
        ("--rotate-secrets",) if rotate else (),
        {SECRET_ENV: secret},
    )


@st.composite
def mixed_edits(draw: Any, org: Org) -> list[Edit]:
    """A multi-kind scenario (``contract_mix``): org, location, template, assignment, devices and
    an owner changed in one apply, after out-of-band changes to the org."""
    scenario = draw(contract_mix.mix(org.shape()))
    out = [Edit(note, lambda repo: None, mixed=True) for note in scenario.notes]
    out += [Edit("", change, mixed=True) for change in scenario.repo]
    out += [Edit("", lambda repo: None, live=change, mixed=True) for change in scenario.live]
    out[0].env = dict(scenario.env)
    return out


def edits(org: Org, weak_secrets: bool = False) -> st.SearchStrategy[list[Edit]]:
    """Two in three examples a multi-kind scenario, else one to three edits of any kind (valid
    values or not)."""
    return st.one_of(mixed_edits(org), mixed_edits(org), single_edits(org, weak_secrets))


def single_edits(org: Org, weak_secrets: bool = False) -> st.SearchStrategy[list[Edit]]:
    one = st.one_of(
        member_edit(org),
        layout_edit(org),
        settings_edit(org),
        template_edit(org),
        assignment_edit(org),
        hoteling_edit(org),
        secret_edit(org, weak_secrets),
    )
    return st.lists(one, min_size=1, max_size=3)


# -- one example -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "refused" | "converged" | "violation"
    detail: str = ""


def write_repo(repo: Repo, root: Path) -> None:
    for rel, doc in repo.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def check(org: Org, chosen: list[Edit], workdir: Path) -> Outcome:
    """Write the edited repo and hold plan to its word."""
    repo = copy.deepcopy(org.files)
    for edit in chosen:
        edit.apply(repo)
    root = workdir / "repo"
    write_repo(repo, root)
    app = org.app()
    for edit in chosen:
        if edit.live is not None:
            edit.live(app.state.sim.store)
    stats = app.state.sim.stats
    before = oracle.snapshot(app.state.sim.store)
    # the simulator's SNMP communities, which export wrote as fromEnv placeholders
    env = {SECRET_ENV: "Contract-Secret-1", **SIM_SECRETS}
    flags: list[str] = []
    for edit in chosen:
        env.update(edit.env)
        flags += [f for f in edit.flags if f not in flags]
    with contextlib.chdir(workdir), connected(app), _env(env):
        plan = cli("plan", "repo", "--detailed-exitcode", *flags)
        if plan.exit_code == 1:
            if stats.writes_total:
                return Outcome(
                    "violation", f"plan refused after {stats.writes_total} write(s)\n{plan.output}"
                )
            if FILE_LINE.search(plan.output):
                return Outcome("refused")
            return Outcome("violation", f"plan refused without file:line\n{plan.output}")
        if plan.exit_code not in (0, 2) or stats.writes_total:
            return Outcome(
                "violation", f"plan exit {plan.exit_code}, {stats.writes_total} write(s)\n{plan.output}"
            )
        apply = cli("apply", "repo", "--auto-approve", "--force", *flags)
        if apply.exit_code != 0 or (" 0 failed" not in apply.output and plan.exit_code == 2):
            return Outcome(
                "violation", f"plan accepted; apply exit {apply.exit_code}\n{plan.output}\n{apply.output}"
            )
        again = cli("plan", "repo", "--detailed-exitcode")
        if again.exit_code != 0:
            return Outcome("violation", f"not converged: second plan exit {again.exit_code}\n{again.output}")
        explained = explain_some(before, chosen)
    outcome = on_the_phones(app.state.sim.store, before, repo, env, f"{plan.output}\n{apply.output}")
    if outcome.kind == "converged":
        outcome = explain_agrees(app.state.sim.store, before, repo, env, explained)
    return outcome


def explain_some(before: oracle.Live, chosen: list[Edit]) -> dict[str, Any]:
    """``explain --format json`` of two devices (which two depends on the edits), by MAC."""
    macs = sorted(before.devices)
    start = sum(len(e.note) for e in chosen) % len(macs)
    out = {}
    for mac in (macs[start], macs[(start + 7) % len(macs)]):
        result = cli("explain", f"Device/{mac}", "repo", "--format", "json")
        out[mac] = json.loads(result.output) if result.exit_code == 0 else {"error": result.output}
    return out


def explain_agrees(
    store: Any, before: oracle.Live, repo: Repo, env: dict[str, str], explained: dict[str, Any]
) -> Outcome:
    after = oracle.snapshot(store)
    try:
        judge = oracle.Oracle(before, repo, env)
    except oracle.Unmodelled:
        return Outcome("converged")
    found: list[str] = []
    for mac, doc in explained.items():
        if "error" in doc:
            found.append(f"explain {mac} failed: {doc['error'][-500:]}")
        else:
            found += explain_check.problems(doc, after.devices[mac], judge)
    if found:
        return Outcome("violation", "explain disagrees:\n" + "\n".join(f"  {p}" for p in found[:20]))
    return Outcome("converged")


def on_the_phones(store: Any, before: oracle.Live, repo: Repo, env: dict[str, str], output: str) -> Outcome:
    """After a converged apply: no device is left pending, and every device shows what the
    manifests mean (the oracle, computed apart from the planner)."""
    pending = telephony.pending_view(store)
    if pending["count"]:
        macs = ", ".join(item["mac"] for item in pending["items"])
        return Outcome("violation", f"{pending['count']} device(s) left pending: {macs}\n{output}")
    try:
        problems = oracle.judge(before, repo, env, oracle.snapshot(store))
    except oracle.Unmodelled:
        return Outcome("converged")
    if problems:
        shown = "\n".join(f"  oracle: {p}" for p in problems[:20])
        return Outcome("violation", f"the phones differ from the manifests:\n{shown}\n{output}")
    return Outcome("converged")


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def describe(chosen: list[Edit]) -> str:
    return "\n".join(f"  - {e.note}" for e in chosen if e.note)


# -- the runs --------------------------------------------------------------------------------------


@dataclass
class Tally:
    refused: int = 0
    converged: int = 0
    violations: list[str] = field(default_factory=list)
    mixed_refused: int = 0  # of which multi-kind scenarios
    mixed_converged: int = 0

    @property
    def total(self) -> int:
        return self.refused + self.converged + len(self.violations)


def explore(
    org: Org,
    examples: int,
    seed: int,
    tally: Tally,
    workdir: Path,
    progress: bool = False,
    weak_secrets: bool = False,
) -> None:
    """Run ``examples`` random examples (reproducible by ``seed``), counting outcomes."""

    @settings(
        max_examples=examples,
        database=None,
        derandomize=False,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[__import__("hypothesis").Phase.generate],
    )
    @given(st.data())
    def one(data: st.DataObject) -> None:
        chosen = data.draw(edits(org, weak_secrets))
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            outcome = check(org, chosen, Path(tmp))
        mixed = any(e.mixed for e in chosen)
        if outcome.kind == "refused":
            tally.refused += 1
            tally.mixed_refused += mixed
        elif outcome.kind == "converged":
            tally.converged += 1
            tally.mixed_converged += mixed
        else:
            tally.violations.append(f"{describe(chosen)}\n{outcome.detail}")
            if progress:
                print(f"VIOLATION\n{tally.violations[-1]}\n", file=sys.stderr, flush=True)
        if progress and tally.total % 100 == 0:
            print(
                f"{tally.total}: {tally.refused} refused, {tally.converged} converged, "
                f"{len(tally.violations)} violation(s)",
                file=sys.stderr,
                flush=True,
            )

    import hypothesis

    hypothesis.seed(seed)(one)()


def main_cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--org", default="demo", help="'demo', or SEED:DEVICES for a generated org")
    parser.add_argument(
        "--weak-secrets", action="store_true", help="Also draw SIP passwords the API refuses (a known gap)."
    )
    args = parser.parse_args(argv)
    if args.org == "demo":
        org = load_org("demo")
    else:
        seed, devices = args.org.split(":")
        org = load_org(int(seed), int(devices))
    tally = Tally()
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        explore(
            org, args.examples, args.seed, tally, Path(tmp), progress=True, weak_secrets=args.weak_secrets
        )
    elapsed = time.monotonic() - start
    print(
        f"org={args.org} seed={args.seed} examples={tally.total}: refused by plan {tally.refused}, "
        f"applied+converged {tally.converged}, violations {len(tally.violations)}; multi-kind "
        f"scenarios {tally.mixed_refused + tally.mixed_converged} (refused {tally.mixed_refused}, "
        f"applied+converged {tally.mixed_converged}) "
        f"({elapsed:.0f} s, {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs)"
    )
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main_cli())
