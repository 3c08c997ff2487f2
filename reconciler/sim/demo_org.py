"""The demo org (docs/demo-org.md), built from ``data/demo_org.json``.

The file says what the org holds (locations, people, workspaces, a virtual line, line key
templates, eleven devices, org settings, an image); this module turns it into a ``Store``, drawing
ids, serials and creation times from the file's random seed in the file's order.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .builders import SETTINGS_UPDATED, Ids, add_device, line_key, member, new_store, stamp
from .store import Device, Image, Location, Person, Store, Template, VirtualLine, Workspace

DATA = Path(__file__).resolve().parent / "data" / "demo_org.json"

Row = dict[str, Any]

_LOCATION_FIELDS = ("name", "address", "city", "state", "country", "time_zone", "latitude", "longitude")


def demo_store() -> Store:
    return _Demo(json.loads(DATA.read_text(encoding="utf-8"))).build()


def _line_keys(rows: list[Row]) -> list[Row]:
    return [
        line_key(
            k["lineKeyIndex"],
            k["lineKeyType"],
            k.get("lineKeyLabel"),
            k.get("lineKeyValue"),
            k.get("sharedLineIndex"),
        )
        for k in rows
    ]


class _Demo:
    """The org of one data file, built row by row (the rows' order is the random draws' order)."""

    def __init__(self, data: Row) -> None:
        self.data = data
        self.ids = Ids(random.Random(data["random_seed"]))
        self.store = new_store(self.ids, data["name"], "demo")
        self.sites: dict[str, Row] = {}  # the location rows, by key and by location id
        self.owners: dict[str, Person | Workspace] = {}  # people and workspaces, by key
        self.templates: dict[str, Template] = {}  # by name

    def build(self) -> Store:
        data, store = self.data, self.store
        for key, row in data["locations"].items():
            self.location(key, row)
        for row in data["people"]:
            self.owners[row["key"]] = self.person(row)
        for row in data["workspaces"]:
            self.owners[row["key"]] = self.workspace(row)
        for row in data["virtual_lines"]:
            self.virtual_line(row)
        for row in data["line_key_templates"]:
            self.template(row)
        for row in data["devices"]:
            self.device(row)
        for family, values in data["org_customizations"].items():
            store.org_customizations[family].update(values)
        store.org_settings_updated = SETTINGS_UPDATED
        for row in data["background_images"]:
            store.images[row["file_name"]] = Image(
                row["file_name"], row["url"], row["size"], row["content_type"]
            )
        return store

    def number(self, row: Row) -> str:
        """The phone number of an extension: its location's prefix and the extension."""
        return f"{self.sites[row['location']]['number_prefix']}{row['extension']}"

    def location_id(self, row: Row) -> str:
        return str(self.sites[row["location"]]["id"])

    def location(self, key: str, row: Row) -> None:
        loc = Location(self.ids.make("LOCATION"), *(row[f] for f in _LOCATION_FIELDS))
        self.store.locations[loc.id] = loc
        self.sites[key] = self.sites[loc.id] = {**row, "id": loc.id}

    def person(self, row: Row) -> Person:
        person = Person(
            self.ids.make("PEOPLE"),
            row["email"],
            row["first_name"],
            row["last_name"],
            row["extension"],
            self.number(row),
            self.location_id(row),
            stamp(self.ids.rng),
        )
        self.store.add_person(person)
        return person

    def workspace(self, row: Row) -> Workspace:
        ws = Workspace(
            self.ids.make("PLACES"),
            row["name"],
            self.location_id(row),
            row["extension"],
            self.number(row),
            stamp(self.ids.rng),
        )
        self.store.workspaces[ws.id] = ws
        return ws

    def virtual_line(self, row: Row) -> None:
        line = VirtualLine(
            self.ids.make("VIRTUAL_LINE"),
            row["first_name"],
            row["last_name"],
            row["extension"],
            self.number(row),
            self.location_id(row),
        )
        self.store.virtual_lines[line.id] = line

    def template(self, row: Row) -> None:
        kind = "DEVICE_LINE_KEY_TEMPLATE"
        keys = _line_keys(row["line_keys"])
        tpl = Template(self.ids.make(kind), row["name"], row["model"], row["user_reorder_enabled"], keys)
        self.store.templates[tpl.id] = tpl
        self.templates[tpl.name] = tpl

    def device(self, row: Row) -> None:
        owner = self.owners[row["owner"]]
        members = [member(owner.id, 1, primary=True)]
        for line in row.get("shared_lines", []):
            shared = self.owners[line["member"]].id
            kind = "SHARED_CALL_APPEARANCE"
            members.append(member(shared, line["port"], primary=False, line_type=kind, label=line["label"]))
        suffix = row["mac_suffix"]
        ip = f"{self.sites[owner.location_id]['device_network']}.{10 + int(suffix, 16)}"
        mac = self.data["mac_prefix"] + suffix
        device = add_device(
            self.store, self.ids, mac, row["model"], owner, list(row.get("tags", [])), members, ip
        )
        _set_layout(device, row, self.templates)
        if "sip_password" in row:
            device.sip_password = row["sip_password"]


def _set_layout(device: Device, row: Row, templates: dict[str, Template]) -> None:
    """A custom layout of its own (``layout``), or a copy of a template's (``layout_of_template``)."""
    if "layout" in row:
        reorder, keys = row["layout"]["userReorderEnabled"], _line_keys(row["layout"]["lineKeys"])
    elif "layout_of_template" in row:
        tpl = templates[row["layout_of_template"]]
        reorder, keys = tpl.user_reorder_enabled, [dict(k) for k in tpl.line_keys]
    else:
        return
    device.layout = {"layoutMode": "CUSTOM", "userReorderEnabled": reorder, "lineKeys": keys}
