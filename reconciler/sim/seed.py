"""Seeded orgs: the demo org (docs/demo-org.md) and deterministic generated orgs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from . import catalog, defaults
from .ids import DEVICE_REGION, colon_mac, new_uuid, webex_id
from .store import Device, Image, Location, Person, Store, Template, VirtualLine, Workspace

_EPOCH = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)
_SOFTWARE = {"mpp": "sip88xx.12-0-1MPP-1608", "ata": "sip191.12-0-1MPP-1608", "generic": "3rd-party"}


def _stamp(rng: random.Random) -> str:
    moment = _EPOCH + timedelta(seconds=rng.randrange(0, 3600 * 24 * 300))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z"


def member(
    member_id: str,
    port: int,
    *,
    primary: bool,
    line_type: str = "PRIMARY",
    line_weight: int = 1,
    hotline: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """A stored member in the PutMemberObject shape."""
    out: dict[str, Any] = {
        "port": port,
        "id": member_id,
        "primaryOwner": primary,
        "lineType": line_type,
        "lineWeight": line_weight,
        "hotlineEnabled": hotline is not None,
        "hotlineDestination": hotline or "",
        "allowCallDeclineEnabled": True,
        "t38FaxCompressionEnabled": False,
    }
    if label:
        out["lineLabel"] = label
    return out


def line_key(
    index: int, key_type: str, label: str | None = None, value: str | None = None, shared: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"lineKeyIndex": index, "lineKeyType": key_type}
    if label is not None:
        out["lineKeyLabel"] = label
    if value is not None:
        out["lineKeyValue"] = value
    out["sharedLineIndex"] = shared if shared is not None else 0
    return out


def kem_key(
    module: int,
    index: int,
    key_type: str,
    label: str | None = None,
    value: str | None = None,
    shared: int | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"kemModuleIndex": module, "kemKeyIndex": index, "kemKeyType": key_type}
    if label is not None:
        out["kemKeyLabel"] = label
    if value is not None:
        out["kemKeyValue"] = value
    out["sharedLineIndex"] = shared if shared is not None else 0
    return out


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def make(self, kind: str) -> str:
        return webex_id(kind, new_uuid(self.rng))

    def device(self) -> tuple[str, str]:
        ident = new_uuid(self.rng)
        return webex_id("DEVICE", ident, DEVICE_REGION), webex_id("DEVICE", ident)


def _new_store(ids: _Ids, name: str, seed: str) -> Store:
    return Store(org_id=ids.make("ORGANIZATION"), org_name=name, admin_id=ids.make("PEOPLE"), seed=seed)


def _device(
    store: Store,
    ids: _Ids,
    rng: random.Random,
    mac: str,
    model_name: str,
    location_id: str,
    owner: Person | Workspace,
    tags: list[str],
    members: list[dict[str, Any]],
    ip: str,
) -> Device:
    model = catalog.MODELS[model_name]
    webex, calling = ids.device()
    owner_name = owner.display_name
    device = Device(
        calling_id=calling,
        webex_id=webex,
        mac=mac,
        model=model_name,
        location_id=location_id,
        owner_type="PEOPLE" if isinstance(owner, Person) else "PLACE",
        owner_id=owner.id,
        display_name=f"{owner_name} ({model.display_name})",
        serial="FCH" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(8)),
        created=_stamp(rng),
        ip=ip,
        software=_SOFTWARE[model.family],
        tags=tags,
        members=members,
    )
    store.add_device(device)
    return device


# --------------------------------------------------------------------------------------------
# The demo org
# --------------------------------------------------------------------------------------------

_DEMO_PEOPLE = (
    ("alice@example.com", "Alice", "Anderson", "1001", "HQ"),
    ("bob@example.com", "Bob", "Brown", "1002", "HQ"),
    ("carol@example.com", "Carol", "Clark", "1003", "HQ"),
    ("dave@example.com", "Dave", "Davis", "1004", "HQ"),
    ("judy@example.com", "Judy", "Jones", "1005", "HQ"),
    ("erin@example.com", "Erin", "Evans", "3001", "BR"),
    ("frank@example.com", "Frank", "Fisher", "3002", "BR"),
    ("grace@example.com", "Grace", "Green", "3003", "BR"),
    ("heidi@example.com", "Heidi", "Hall", "3004", "BR"),
    ("ivan@example.com", "Ivan", "Irwin", "3005", "BR"),
)


def demo_store() -> Store:
    rng = random.Random("reconciler-demo-org")
    ids = _Ids(rng)
    store = _new_store(ids, "Example Corp", "demo")
    hq = Location(
        ids.make("LOCATION"),
        "Headquarters",
        "170 West Tasman Drive",
        "San Jose",
        "CA",
        "US",
        "America/Los_Angeles",
        37.4089,
        -121.9541,
    )
    br = Location(
        ids.make("LOCATION"),
        "Branch Office",
        "2300 East President George Bush Highway",
        "Austin",
        "TX",
        "US",
        "America/Chicago",
        30.3941,
        -97.7195,
    )
    store.locations = {hq.id: hq, br.id: br}
    loc = {"HQ": hq, "BR": br}
    area = {"HQ": "408555", "BR": "512555"}

    people: dict[str, Person] = {}
    for email, first, last, ext, where in _DEMO_PEOPLE:
        person = Person(
            ids.make("PEOPLE"), email, first, last, ext, f"+1{area[where]}{ext}", loc[where].id, _stamp(rng)
        )
        store.add_person(person)
        people[first.lower()] = person

    def workspace(name: str, where: str, ext: str) -> Workspace:
        ws = Workspace(ids.make("PLACES"), name, loc[where].id, ext, f"+1{area[where]}{ext}", _stamp(rng))
        store.workspaces[ws.id] = ws
        return ws

    front = workspace("Front Desk", "HQ", "1000")
    lobby = workspace("Lobby", "HQ", "1010")
    brk = workspace("Break Room", "BR", "3000")
    overflow = VirtualLine(ids.make("VIRTUAL_LINE"), "Sales", "Overflow", "2000", "+14085552000", hq.id)
    store.virtual_lines[overflow.id] = overflow

    alice, bob, carol, dave = people["alice"], people["bob"], people["carol"], people["dave"]
    erin, frank, grace = people["erin"], people["frank"], people["grace"]

    def primary(owner: Person | Workspace) -> dict[str, Any]:
        return member(owner.id, 1, primary=True)

    # Line key templates
    def template(name: str, model: str, reorder: bool, keys: list[dict[str, Any]]) -> Template:
        tpl = Template(ids.make("DEVICE_LINE_KEY_TEMPLATE"), name, model, reorder, keys)
        store.templates[tpl.id] = tpl
        return tpl

    template(
        "Sales 8851",
        "DMS Cisco 8851",
        False,
        [
            line_key(1, "PRIMARY_LINE"),
            line_key(2, "SHARED_LINE", shared=1),
            line_key(3, "SPEED_DIAL", "Sales", "2001"),
            line_key(4, "OPEN"),
            line_key(5, "OPEN"),
        ],
    )
    reception = template(
        "Reception 8865",
        "DMS Cisco 8865",
        True,
        [
            line_key(1, "PRIMARY_LINE"),
            line_key(2, "PRIMARY_LINE"),
            line_key(3, "SPEED_DIAL", "Security", "5555"),
            line_key(4, "CALL_PARK_EXTENSION"),
            line_key(5, "OPEN"),
        ],
    )
    template(
        "Legacy 7841",
        "DMS Cisco 7841",
        True,
        [
            line_key(1, "PRIMARY_LINE"),
            line_key(2, "SPEED_DIAL", "Reception", "1000"),
            line_key(3, "OPEN"),
            line_key(4, "OPEN"),
        ],
    )

    def dev(
        suffix: str,
        model: str,
        where: str,
        owner: Person | Workspace,
        tags: list[str],
        members: list[dict[str, Any]],
    ) -> Device:
        octet = int(suffix, 16)
        ip = f"10.{1 if where == 'HQ' else 2}.0.{10 + octet}"
        return _device(store, ids, rng, "0A1B2C3D4E" + suffix, model, loc[where].id, owner, tags, members, ip)

    dev("01", "DMS Cisco 8851", "HQ", alice, ["sales"], [primary(alice)])
    d02 = dev("02", "DMS Cisco 8865", "HQ", bob, [], [primary(bob)])
    d02.layout = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": False,
        "lineKeys": [
            line_key(1, "PRIMARY_LINE"),
            line_key(2, "PRIMARY_LINE"),
            line_key(3, "SPEED_DIAL", "Alice", "1001"),
            line_key(4, "OPEN"),
            line_key(5, "OPEN"),
        ],
    }
    dev("03", "DMS Cisco 8845", "HQ", carol, [], [primary(carol)])
    dev("04", "DMS Cisco 6871", "HQ", dave, [], [primary(dave)])
    d05 = dev(
        "05",
        "DMS Cisco 8865",
        "HQ",
        front,
        ["reception"],
        [
            primary(front),
            member(alice.id, 2, primary=False, line_type="SHARED_CALL_APPEARANCE", label="Alice"),
        ],
    )
    d05.layout = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": reception.user_reorder_enabled,
        "lineKeys": [dict(k) for k in reception.line_keys],
    }
    dev("06", "DMS Cisco 7841", "HQ", lobby, [], [primary(lobby)])
    dev("07", "DMS Cisco 8851", "BR", erin, ["sales"], [primary(erin)])
    dev("08", "DMS Cisco 8851", "BR", frank, ["sales"], [primary(frank)])
    dev("09", "DMS Cisco 6871", "BR", grace, [], [primary(grace)])
    dev("0A", "DMS Cisco 191", "BR", brk, [], [primary(brk)])
    # A customer-managed third-party SIP phone: members and a SIP password only (no layout,
    # settings or applyChanges).
    d0b = dev("0B", "Generic IPPhone Customer Managed", "HQ", people["judy"], [], [primary(people["judy"])])
    d0b.sip_password = "Initial5ipPass"

    org = store.org_customizations
    org["mpp"].update(
        backlightTimer="ONE_MIN", phoneLanguage="PERSON_LANGUAGE", cdpEnabled=True, lldpEnabled=True
    )
    org["ata"]["ataDtmfMode"] = "NORMAL"
    store.org_settings_updated = 1709283600000
    store.images["OldLogo"] = Image(
        "OldLogo", "/dms/Cisco_Phone_Background/background001", 20480, "image/png"
    )
    return store


# --------------------------------------------------------------------------------------------
# Generated orgs
# --------------------------------------------------------------------------------------------

_FIRST = (
    "Ava",
    "Ben",
    "Cleo",
    "Dan",
    "Eva",
    "Finn",
    "Gia",
    "Hugo",
    "Iris",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wes",
    "Xena",
    "Yuri",
    "Zoe",
)
_LAST = (
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Ford",
    "Garcia",
    "Hill",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zhang",
)
_CITIES = (
    ("San Jose", "CA", "America/Los_Angeles"),
    ("Austin", "TX", "America/Chicago"),
    ("Raleigh", "NC", "America/New_York"),
    ("Denver", "CO", "America/Denver"),
    ("Seattle", "WA", "America/Los_Angeles"),
    ("Boston", "MA", "America/New_York"),
    ("Chicago", "IL", "America/Chicago"),
    ("Atlanta", "GA", "America/New_York"),
)
_TAGS = ("sales", "support", "engineering", "reception", "exec", "finance")
_MODEL_WEIGHTS = (
    ("DMS Cisco 8851", 30),
    ("DMS Cisco 8845", 15),
    ("DMS Cisco 8865", 10),
    ("DMS Cisco 6841", 12),
    ("DMS Cisco 6871", 15),
    ("DMS Cisco 7841", 10),
    ("DMS Cisco 9861", 5),
    ("DMS Cisco 191", 3),
)


def _random_layout(rng: random.Random, model: catalog.Model) -> dict[str, Any]:
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
    if model.kem_modules and rng.random() < 0.3:
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


def generated_store(seed: int, devices: int) -> Store:
    """A deterministic org of ``devices`` devices: the same seed gives the same org."""
    rng = random.Random(f"reconciler-generated-{seed}")
    ids = _Ids(rng)
    store = _new_store(ids, f"Generated Org {seed}", str(seed))
    n_locations = max(2, round(devices / 200))
    locations: list[Location] = []
    for i in range(n_locations):
        city, state, tz = _CITIES[i % len(_CITIES)]
        site = Location(
            ids.make("LOCATION"),
            f"Site {i + 1:03d} {city}",
            f"{100 + i} Main Street",
            city,
            state,
            "US",
            tz,
            round(30 + rng.random() * 15, 4),
            round(-120 + rng.random() * 40, 4),
        )
        locations.append(site)
        store.locations[site.id] = site

    n_people = max(1, devices)
    people: list[Person] = []
    for i in range(n_people):
        site = locations[i * n_locations // n_people]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        ext = f"{1000 + i}"
        person = Person(
            ids.make("PEOPLE"),
            f"{first.lower()}.{last.lower()}{i}@org{seed}.example.com",
            first,
            last,
            ext,
            f"+1555{i:07d}",
            site.id,
            _stamp(rng),
        )
        store.add_person(person)
        people.append(person)

    by_location_people: dict[str, list[Person]] = {}
    for p in people:
        by_location_people.setdefault(p.location_id, []).append(p)

    workspaces: dict[str, list[Workspace]] = {}
    n_ws_per_loc = max(1, devices // (10 * n_locations))
    for site in locations:
        for j in range(n_ws_per_loc):
            ws = Workspace(
                ids.make("PLACES"),
                f"{site.name} Room {j + 1}",
                site.id,
                f"9{len(store.workspaces):05d}",
                None,
                _stamp(rng),
            )
            store.workspaces[ws.id] = ws
            workspaces.setdefault(site.id, []).append(ws)
    virtual: dict[str, VirtualLine] = {}
    for site in locations:
        vl = VirtualLine(ids.make("VIRTUAL_LINE"), site.name, "Hunt", f"8{len(virtual):05d}", None, site.id)
        store.virtual_lines[vl.id] = vl
        virtual[site.id] = vl

    for model_name in ("DMS Cisco 8851", "DMS Cisco 8865", "DMS Cisco 6871"):
        model = catalog.MODELS[model_name]
        keys = [line_key(1, "PRIMARY_LINE"), line_key(2, "SPEED_DIAL", "Help", "4357")]
        keys += [line_key(i, "OPEN") for i in range(3, model.line_keys + 1)]
        tpl = Template(
            ids.make("DEVICE_LINE_KEY_TEMPLATE"), f"Standard {model.display_name}", model_name, True, keys
        )
        store.templates[tpl.id] = tpl

    names = [m for m, _ in _MODEL_WEIGHTS]
    weights = [w for _, w in _MODEL_WEIGHTS]
    mac_prefix = f"{rng.randrange(0x100):02X}{rng.randrange(0x100):02X}" + "5E"
    ws_cursor: dict[str, int] = {}
    for i in range(devices):
        model_name = rng.choices(names, weights)[0]
        model = catalog.MODELS[model_name]
        person = people[i % n_people]
        site_id = person.location_id
        owner: Person | Workspace
        if model.family == "ata" or rng.random() < 0.08:
            pool = workspaces[site_id]
            cursor = ws_cursor.get(site_id, 0)
            owner = pool[cursor % len(pool)]
            ws_cursor[site_id] = cursor + 1
        else:
            owner = person
        members = [member(owner.id, 1, primary=True)]
        roll = rng.random()
        if model.line_ports > 1 and roll < 0.12:
            peers = by_location_people[site_id]
            other = peers[rng.randrange(len(peers))]
            if other.id != owner.id:
                label = other.first_name if model.line_label else None  # an ATA takes no line label
                members.append(
                    member(other.id, 2, primary=False, line_type="SHARED_CALL_APPEARANCE", label=label)
                )
        elif model.line_ports > 1 and roll < 0.16:
            members.append(member(virtual[site_id].id, 2, primary=False, line_type="SHARED_CALL_APPEARANCE"))
        elif isinstance(owner, Workspace) and roll < 0.3:
            members[0] = member(owner.id, 1, primary=True, hotline=f"{rng.randrange(1000, 9999)}")
        tags = [rng.choice(_TAGS)] if rng.random() < 0.3 else []
        mac = f"{mac_prefix}{i:06X}"
        device = _device(
            store,
            ids,
            rng,
            mac,
            model_name,
            site_id,
            owner,
            tags,
            members,
            f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        )
        if model.layout and rng.random() < 0.1:
            device.layout = _random_layout(rng, model)
        if rng.random() < 0.02:
            family = defaults.family_default(model.family)
            if model.family == "mpp":
                family["backlightTimer"] = rng.choice(("ONE_MIN", "FIVE_MIN", "ALWAYS_ON"))
            else:
                family["ataDtmfMethod"] = "AVT"
            device.settings = {model.family: family}
            device.settings_updated = 1709283600000
    custom_site = locations[0]
    custom_site.custom_enabled = True
    custom_site.customizations = {name: defaults.family_default(name) for name in defaults.LOCATION_FAMILIES}
    custom_site.customizations["mpp"]["backlightTimer"] = "ALWAYS_ON"
    custom_site.settings_updated = 1709283600000
    return store


def build_store(seed: str | int, devices: int | None) -> Store:
    if seed == "demo" or seed is None:
        if devices is not None:
            raise ValueError("--devices applies to generated orgs (--seed N), not to the demo org")
        return demo_store()
    try:
        number = int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be 'demo' or an integer, not {seed!r}") from None
    return generated_store(number, 1000 if devices is None else devices)


__all__ = ["build_store", "colon_mac", "demo_store", "generated_store"]


# --------------------------------------------------------------------------------------------
# Extra devices (tests and demos add them to a seeded org)
# --------------------------------------------------------------------------------------------

THIRD_PARTY_MODEL = "Generic IPPhone Customer Managed"


def add_third_party_phone(store: Store, mac: str, like_mac: str) -> Device:
    """A customer-managed SIP phone (the only kind that takes a ``sipPassword``) with MAC ``mac``,
    in the location and with the owner and members of the device ``like_mac``."""
    existing = next((d for d in store.devices.values() if d.mac == mac), None)
    if existing is not None and existing.model == THIRD_PARTY_MODEL:
        return existing  # the demo org has one already
    like = next(d for d in store.devices.values() if d.mac == like_mac)
    ident = new_uuid(random.Random(mac))
    phone = Device(
        calling_id=webex_id("DEVICE", ident),
        webex_id=webex_id("DEVICE", ident, DEVICE_REGION),
        mac=mac,
        model=THIRD_PARTY_MODEL,
        location_id=like.location_id,
        owner_type=like.owner_type,
        owner_id=like.owner_id,
        display_name=f"SIP phone {colon_mac(mac)}",
        serial="",
        created=like.created,
        ip=like.ip,
        software=like.software,
        members=[dict(m) for m in like.members],
    )
    store.add_device(phone)
    return phone
