"""Generated orgs (``--seed N --devices M``): deterministic, any size, built by small steps.

The name, city, tag and model pools are data (``data/generated_org.json``); the shares below say
how often a device gets something. Every step draws from the org's one random generator, in a
fixed order, so the same seed and size give the same org, answer for answer.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
from pathlib import Path
from typing import Any

from . import catalog, defaults
from .builders import SETTINGS_UPDATED, Ids, add_device, kem_key, line_key, member, new_store, stamp
from .store import Location, Person, Store, Template, VirtualLine, Workspace

DATA = Path(__file__).resolve().parent / "data" / "generated_org.json"

DEVICES_PER_LOCATION = 200
DEVICES_PER_WORKSPACE = 10  # in a location
# Shares of devices (each one random draw per device; the line draws are cumulative):
OWNED_BY_WORKSPACE = 0.08  # a phone owned by a workspace (an ATA always is)
SHARES_A_PERSON = 0.12  # a second line: a person of the same location (multi-line models)
SHARES_THE_HUNT = 0.16  # a second line: the location's virtual line (multi-line models)
HOTLINE = 0.3  # a workspace's phone whose line is a hotline
TAGGED = 0.3
CUSTOM_LAYOUT = 0.1  # of the models with a layout
KEM_LAYOUT = 0.3  # of the custom layouts, on models that take an expansion module
CUSTOM_SETTINGS = 0.02

_SHARED = "SHARED_CALL_APPEARANCE"


@functools.cache
def _pools() -> dict[str, Any]:
    pools: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return pools


def generated_store(seed: int, devices: int) -> Store:
    """A deterministic org of ``devices`` devices: the same seed gives the same org."""
    return _Generated(seed, devices).build()


class _Generated:
    def __init__(self, seed: int, devices: int) -> None:
        self.pools = _pools()
        self.seed = seed
        self.count = devices
        self.rng = random.Random(f"reconciler-generated-{seed}")
        self.ids = Ids(self.rng)
        self.store = new_store(self.ids, f"Generated Org {seed}", str(seed))
        self.locations: list[Location] = []
        self.people: list[Person] = []
        self.peers: dict[str, list[Person]] = {}  # people by location id
        self.workspaces: dict[str, list[Workspace]] = {}  # by location id
        self.next_workspace: dict[str, int] = {}  # devices owned by workspaces go round-robin
        self.hunt: dict[str, VirtualLine] = {}  # the virtual line of each location

    def build(self) -> Store:
        n_locations = max(2, round(self.count / DEVICES_PER_LOCATION))
        self.add_locations(n_locations)
        self.add_people(max(1, self.count))
        self.add_workspaces(max(1, self.count // (DEVICES_PER_WORKSPACE * n_locations)))
        self.add_virtual_lines()
        self.add_templates()
        models: dict[str, int] = self.pools["model_weights"]
        names, cum_weights = list(models), list(itertools.accumulate(models.values()))
        rng = self.rng
        mac_prefix = f"{rng.randrange(0x100):02X}{rng.randrange(0x100):02X}" + "5E"
        for i in range(self.count):
            model_name = rng.choices(names, cum_weights=cum_weights)[0]
            self.add_device(i, f"{mac_prefix}{i:06X}", catalog.MODELS[model_name])
        self.customize_first_location()
        return self.store

    # -- the directory ------------------------------------------------------------------------

    def add_locations(self, count: int) -> None:
        cities = self.pools["cities"]
        for i in range(count):
            city = cities[i % len(cities)]
            site = Location(
                self.ids.make("LOCATION"),
                f"Site {i + 1:03d} {city['city']}",
                f"{100 + i} Main Street",
                city["city"],
                city["state"],
                "US",
                city["time_zone"],
                round(30 + self.rng.random() * 15, 4),
                round(-120 + self.rng.random() * 40, 4),
            )
            self.locations.append(site)
            self.store.locations[site.id] = site

    def add_people(self, count: int) -> None:
        rng, first_names, last_names = self.rng, self.pools["first_names"], self.pools["last_names"]
        for i in range(count):
            site = self.locations[i * len(self.locations) // count]
            first, last = rng.choice(first_names), rng.choice(last_names)
            email = f"{first.lower()}.{last.lower()}{i}@org{self.seed}.example.com"
            person = Person(
                self.ids.make("PEOPLE"),
                email,
                first,
                last,
                f"{1000 + i}",
                f"+1555{i:07d}",
                site.id,
                stamp(rng),
            )
            self.store.add_person(person)
            self.people.append(person)
            self.peers.setdefault(site.id, []).append(person)

    def add_workspaces(self, per_location: int) -> None:
        store = self.store
        for site in self.locations:
            for j in range(per_location):
                extension = f"9{len(store.workspaces):05d}"
                ws = Workspace(
                    self.ids.make("PLACES"),
                    f"{site.name} Room {j + 1}",
                    site.id,
                    extension,
                    None,
                    stamp(self.rng),
                )
                store.workspaces[ws.id] = ws
                self.workspaces.setdefault(site.id, []).append(ws)

    def add_virtual_lines(self) -> None:
        for site in self.locations:
            extension = f"8{len(self.hunt):05d}"
            line = VirtualLine(self.ids.make("VIRTUAL_LINE"), site.name, "Hunt", extension, None, site.id)
            self.store.virtual_lines[line.id] = line
            self.hunt[site.id] = line

    def add_templates(self) -> None:
        for model_name in self.pools["template_models"]:
            model = catalog.MODELS[model_name]
            keys = [line_key(1, "PRIMARY_LINE"), line_key(2, "SPEED_DIAL", "Help", "4357")]
            keys += [line_key(i, "OPEN") for i in range(3, model.line_keys + 1)]
            name = f"Standard {model.display_name}"
            tpl = Template(self.ids.make("DEVICE_LINE_KEY_TEMPLATE"), name, model_name, True, keys)
            self.store.templates[tpl.id] = tpl

    def customize_first_location(self) -> None:
        """The first location has customized settings (a different backlight timer)."""
        site = self.locations[0]
        site.custom_enabled = True
        site.customizations = {name: defaults.family_default(name) for name in defaults.LOCATION_FAMILIES}
        site.customizations["mpp"]["backlightTimer"] = "ALWAYS_ON"
        site.settings_updated = SETTINGS_UPDATED

    # -- devices ------------------------------------------------------------------------------

    def add_device(self, i: int, mac: str, model: catalog.Model) -> None:
        """Device ``i``: the ``i``-th person's (or a workspace of that person's location)."""
        rng = self.rng
        person = self.people[i % len(self.people)]
        owner = self.owner(person, model)
        members = self.members(owner, person.location_id, model)
        tags = [rng.choice(self.pools["tags"])] if rng.random() < TAGGED else []
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        device = add_device(self.store, self.ids, mac, model.model, owner, tags, members, ip)
        if model.layout and rng.random() < CUSTOM_LAYOUT:
            device.layout = random_layout(rng, model)
        if rng.random() < CUSTOM_SETTINGS:
            device.settings = {model.family: self.custom_family(model.family)}
            device.settings_updated = SETTINGS_UPDATED

    def owner(self, person: Person, model: catalog.Model) -> Person | Workspace:
        if model.family != "ata" and self.rng.random() >= OWNED_BY_WORKSPACE:
            return person
        site_id = person.location_id
        pool = self.workspaces[site_id]
        turn = self.next_workspace.get(site_id, 0)
        self.next_workspace[site_id] = turn + 1
        return pool[turn % len(pool)]

    def members(self, owner: Person | Workspace, site_id: str, model: catalog.Model) -> list[dict[str, Any]]:
        """The owner on port 1, sometimes a second line (a person, the hunt line) or a hotline."""
        rng = self.rng
        members = [member(owner.id, 1, primary=True)]
        roll = rng.random()
        multi_line = model.line_ports > 1
        if multi_line and roll < SHARES_A_PERSON:
            peers = self.peers[site_id]
            other = peers[rng.randrange(len(peers))]
            if other.id != owner.id:
                label = other.first_name if model.line_label else None  # an ATA takes no line label
                members.append(member(other.id, 2, primary=False, line_type=_SHARED, label=label))
        elif multi_line and roll < SHARES_THE_HUNT:
            members.append(member(self.hunt[site_id].id, 2, primary=False, line_type=_SHARED))
        elif isinstance(owner, Workspace) and roll < HOTLINE:
            members[0] = member(owner.id, 1, primary=True, hotline=f"{rng.randrange(1000, 9999)}")
        return members

    def custom_family(self, family: str) -> dict[str, Any]:
        values = defaults.family_default(family)
        if family == "mpp":
            values["backlightTimer"] = self.rng.choice(("ONE_MIN", "FIVE_MIN", "ALWAYS_ON"))
        else:
            values["ataDtmfMethod"] = "AVT"
        return values


def random_layout(rng: random.Random, model: catalog.Model) -> dict[str, Any]:
    """A custom layout: speed dials and extra lines among open keys, sometimes a full KEM."""
    keys = [line_key(1, "PRIMARY_LINE")]
    for index in range(2, model.line_keys + 1):
        roll = rng.random()
        if roll < 0.3:
            keys.append(line_key(index, "SPEED_DIAL", f"Speed {index}", str(rng.randrange(1000, 9999))))
        elif roll < 0.4:
            keys.append(line_key(index, "PRIMARY_LINE"))
        else:
            keys.append(line_key(index, "OPEN"))
    layout: dict[str, Any] = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": rng.random() < 0.5,
        "lineKeys": keys,
    }
    if model.kem_modules and rng.random() < KEM_LAYOUT:
        kem_type = rng.choice(model.kem_types)
        per = catalog.KEM_KEYS_PER_MODULE[kem_type]
        layout["kemModuleType"] = kem_type
        layout["kemKeys"] = [
            kem_key(1, i, "SPEED_DIAL", f"KEM {i}", str(rng.randrange(1000, 9999)))
            if i <= 3
            else kem_key(1, i, "OPEN")
            for i in range(1, per + 1)
        ]
    return layout
