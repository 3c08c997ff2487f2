"""Human names of the objects a plan changes: ``Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com)``.

Plans name each step's object this way (``Step.title``) so that a reviewer reads what changes, not
an API path. ``title_for`` builds the name from a resource address alone (saved plans made before
titles existed); ``name_steps`` adds what the planner learned (the device's model and owner).
Pure functions over plan data; depends on ``reconciler.model`` and ``reconciler.planning.plan``, and on
``textsafe`` / ``webex.untrusted`` for names read from the API (escaped, never shown raw).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from reconciler.model import mac_with_colons, normalize_mac
from reconciler.planning.plan import Plan, Step
from reconciler.textsafe import visible
from reconciler.webex.untrusted import api_text


def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


# How each kind's objects are named: ``{name}`` as it is, ``{quoted}`` in double quotes.
_FORMS = {
    "LocationDeviceSettings": "Location {quoted} device settings",
    "Location": "Location {quoted}",
    "OrgDeviceSettings": "Org device settings",
    "PersonDevices": "Person {name}",
    "WorkspaceDevices": "Workspace {quoted}",
    "BackgroundImages": "Background images",
}


def title_for(resource: str, details: Iterable[str] = ()) -> str:
    """The human name of the object at ``resource`` (``Kind/name``), with optional details."""
    kind, _, name = resource.partition("/")
    name = visible(name)  # a name read from the API (an unmanaged template, an image) may hold anything
    extra = [d for d in details if d]
    suffix = f" ({', '.join(extra)})" if extra else ""
    if kind == "Device":
        mac = normalize_mac(name)
        return f"Device {mac_with_colons(mac) if mac else name}{suffix}"
    form = _FORMS.get(kind)
    if form is not None:
        return form.format(name=name, quoted=_quoted(name)) + suffix
    if kind and name:
        return f"{kind} {_quoted(name)}{suffix}"
    return resource + suffix


def step_title(step: Step) -> str:
    """The step's object name: what the planner recorded, else built from its resource."""
    return step.title or title_for(step.resource)


def device_details(item: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """(model, owner) of a ``/v1/devices`` item: ``Cisco 8851``, ``alice@example.com`` (the owner as
    a plan's lookups named it, else the device's ``displayName`` less its model)."""
    out = []
    if item.get("product"):  # from the API: masked, escaped and cut like any text from it
        out.append(api_text(item["product"], 80))
    owner = item.get("personId") or item.get("workspaceId")
    label = labels.get(str(owner)) if owner else None
    if label:
        out.append(label.partition(" ")[2] or label)
    elif owner and isinstance(item.get("displayName"), str):  # the owner no lookup named: its name
        name = item["displayName"].removesuffix(f" ({item.get('product')})").strip()
        if name and name != item.get("product"):
            out.append(api_text(name, 80))
    return out


def name_steps(
    steps: Iterable[Step],
    devices: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, str],
    listed: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Give every step its object's name; a device's with its model and owner where known. A job
    or push gets the names of the devices it lists (``listed``: more ``/devices`` items by MAC)."""
    for step in steps:
        macs = step.meta.get("differingDevices" if step.phase < 7 else "devices")
        if step.action == "job" and isinstance(macs, list) and macs:
            step.meta["deviceTitles"] = _device_titles(macs, devices, labels, listed or {})
        if step.title:
            continue
        kind, _, name = step.resource.partition("/")
        details: list[str] = []
        if kind == "Device":
            item = devices.get(normalize_mac(name) or name)
            details = device_details(item, labels) if item else []
        step.title = title_for(step.resource, details)


def _device_titles(
    macs: Iterable[str],
    devices: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, str],
    listed: Mapping[str, Mapping[str, Any]],
) -> dict[str, str]:
    """Each device's name with its model and owner: ``Device 0A:1B:... (Cisco 8851, alice@...)``."""
    out = {}
    for entry in macs:  # a MAC, or a Device address (a push's list)
        mac = entry.removeprefix("Device/")
        key = normalize_mac(mac) or mac
        item = devices.get(key) or listed.get(key)
        out[entry] = title_for(f"Device/{mac}", device_details(item, labels) if item else [])
    return out


class Named(Mapping[str, str]):
    """A plan's ``objects``, named when first read: a plan that is only shown never needs them
    (naming every device of a big org costs ~0.1 s of a plan's CPU), a saved one always does."""

    def __init__(self, make: Callable[[], dict[str, str]]) -> None:
        self._make: Callable[[], dict[str, str]] | None = make
        self._names: dict[str, str] = {}

    def _made(self) -> dict[str, str]:
        if self._make is not None:
            self._names, self._make = self._make(), None  # (what it holds is let go)
        return self._names

    def __getitem__(self, key: str) -> str:
        return self._made()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())


def read_objects(reads: Iterable[str], name_of: Callable[[set[str]], Mapping[str, str]]) -> dict[str, str]:
    """The names of the objects whose ids the ``reads`` (``GET path`` keys) hold; ``name_of(ids)``
    names those it knows of ``ids`` (only these: a big org's other objects are never named)."""
    found = [_ids(key.partition(" ")[2].partition("?")[0], None) for key in reads]
    known = name_of({ident for ids in found for ident in ids})
    out: dict[str, str] = {}
    for ids in found:
        for ident in ids:
            if ident in known:
                out[ident] = known[ident]
    return out


def object_names(plan: Plan, paths: Iterable[str]) -> list[str]:
    """The objects of ``plan`` that API ``paths`` (what a saved plan read) belong to, in order.

    A read belongs to the step whose path or body holds the same object id (a device's members and
    layout are one device; a location's settings, the job for that location); a read of org-wide
    settings belongs to the org's step. A path no step claims is named as it is.
    """
    by_id: dict[str, str] = {}
    for step in plan.ordered():
        for ident in _ids(step.path, step.body):
            by_id.setdefault(ident, step_title(step))
    org = next((step_title(s) for s in plan.steps if s.resource.startswith("OrgDeviceSettings/")), None)
    out: list[str] = []
    for path in paths:
        ids = _ids(path.partition("?")[0], None)
        name = next((plan.objects.get(i) or by_id[i] for i in ids if i in plan.objects or i in by_id), None)
        if name is None:
            name = org if org and not ids and path.endswith("/devices/settings") else path
        if name not in out:
            out.append(name)
    return out


_DIGIT = re.compile(r"\d")


def _ids(path: str, body: Any) -> list[str]:
    """The object ids (long opaque segments) in an API path, and in a request body's ``...Id`` fields."""
    found = [seg for seg in path.split("/") if _is_id(seg)]
    if isinstance(body, Mapping):
        found += [str(v) for k, v in body.items() if k.endswith("Id") and isinstance(v, str) and v]
    return found


def _is_id(segment: str) -> bool:
    """Webex ids are base64 of a URL: long, with digits, unlike the words of an API path."""
    return len(segment) >= 20 and _DIGIT.search(segment) is not None
