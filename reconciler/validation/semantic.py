"""Semantic checks that need no network, run after loading (and alongside the schema checks).

Every check is defensive about types: a value of the wrong type was already reported by the
schema, so here it is skipped, never trusted and never allowed to raise.

Checks that need the live org (device models and their line key counts, whether a MAC,
person, workspace or template exists, which devices a template assignment will match) happen in
``plan``, where the API can answer them.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from reconciler.localfiles import UnreadableFile, read_capped
from reconciler.manifests.discovery import inside, repo_root
from reconciler.manifests.load import escape_pointer, label_of, resolve_manifest_path
from reconciler.model import Diagnostic, Resource, SecretRef, is_secret_field, normalize_mac
from reconciler.validation import envpolicy, imagecheck
from reconciler.validation.imagecheck import image_problem

__all__ = [
    "IMAGE_MAX_BYTES",
    "IMAGE_SUFFIXES",
    "MAX_IMAGES",
    "check",
    "image_name",
]

IMAGE_MAX_BYTES = imagecheck.MAX_BYTES  # the API's upload limit: 625 KB
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGES = 100  # background images per org
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAC_HELP = "expected 12 hex digits written AA:BB:CC:DD:EE:FF, aa-bb-cc-dd-ee-ff or AABBCCDDEEFF"


def image_name(file_name: str) -> str:
    """The name the API keeps for an uploaded image: its ``fileName`` without a .png, .jpg or
    .jpeg ending (the API's own example uploads ``CompanyLogoBlue.png`` and lists
    ``CompanyLogoBlue``)."""
    for suffix in IMAGE_SUFFIXES:
        if file_name.lower().endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)]
    return file_name


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


class _Checker:
    def __init__(self) -> None:
        self.out: list[Diagnostic] = []
        self.allowed_env: frozenset[str] = frozenset()  # envpolicy.allowed_names

    def add(self, res: Resource, ptr: str, message: str) -> None:
        self.out.append(Diagnostic(res.loc(ptr), message, label_of(res), code="semantic"))

    # -- across resources --------------------------------------------------------------------

    def duplicates(self, resources: Sequence[Resource]) -> None:
        first: dict[tuple[str, str], Resource] = {}
        for res in resources:
            if not res.name or res.kind == "Policy":  # Policy: see policies()
                continue
            key = (res.kind, res.name)
            if key in first:
                self.add(res, "", f"duplicate {res.address}: also defined at {first[key].source}")
            else:
                first[key] = res

    def policies(self, resources: Sequence[Resource]) -> None:
        policies = [r for r in resources if r.kind == "Policy"]
        for res in policies[1:]:
            self.add(res, "", f"only one Policy is allowed: another is defined at {policies[0].source}")
        self.allowed_env = envpolicy.allowed_names(policies[:1])
        for res in policies:
            names = res.spec.get(envpolicy.POLICY_FIELD)
            for i, name in enumerate(names if isinstance(names, list) else []):
                if isinstance(name, str) and envpolicy.is_tool_variable(name):
                    ptr = f"/spec/{envpolicy.POLICY_FIELD}/{i}"
                    self.add(res, ptr, f"{name} is one of the tool's own variables: fromEnv never reads it")

    def layout_owned_twice(self, resources: Sequence[Resource]) -> None:
        """A device's own layout and a template assignment that certainly targets it.

        Offline, a device's model, location and tags are unknown, so an assignment can be
        known to target a device only when (a) the device's layout names the assignment's
        template (so the device is of the template's model, or the layout itself is invalid)
        and (b) the assignment does not narrow its targets (no locations, no tags, and devices
        with a custom layout are not excluded). Every other overlap is checked in ``plan``,
        once the devices' models, locations and tags are read from the API.
        """
        broad: dict[str, Resource] = {}
        for res in resources:
            if res.kind != "LineKeyTemplateAssignment":
                continue
            spec = res.spec
            if spec.get("action", "APPLY_TEMPLATE") != "APPLY_TEMPLATE":
                continue
            if spec.get("locations") or spec.get("includeDeviceTags") or spec.get("excludeDeviceTags"):
                continue
            if spec.get("excludeDevicesWithCustomLayout") is True:
                continue
            template = spec.get("template")
            if isinstance(template, str) and template not in broad:
                broad[template] = res
        if not broad:
            return
        for res in resources:
            layout = res.spec.get("layout") if res.kind == "Device" else None
            if not isinstance(layout, dict):
                continue
            template = layout.get("template")
            if isinstance(template, str) and template in broad:
                other = broad[template]
                self.add(
                    res,
                    "/spec/layout",
                    f"layout owned twice: {other.address} ({other.source}) applies template {template!r} "
                    "to every device of its model, and this device declares its layout too; keep one",
                )

    # -- per resource ------------------------------------------------------------------------

    def line_keys(self, res: Resource, ptr: str, keys: Any) -> None:
        """The keys of a template or a CUSTOM layout: unique indexes, and the API's layout rules
        (key 1 is the primary line, so a layout has one; a shared line key names its line)."""
        first: dict[int, int] = {}
        if isinstance(keys, list) and not any(
            _is_int(k.get("lineKeyIndex")) and k["lineKeyIndex"] == 1 for _, k in _dicts(keys)
        ):
            self.add(
                res,
                ptr,
                "line key 1 is not declared: key 1 is the device's primary line and a layout has one "
                "(declare {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}; a key left out would be OPEN)",
            )
        for i, key in _dicts(keys):
            p = f"{ptr}/{i}"
            index = key.get("lineKeyIndex")
            if _is_int(index):
                if index in first:
                    line = res.loc(f"{ptr}/{first[index]}").line
                    self.add(
                        res, f"{p}/lineKeyIndex", f"duplicate lineKeyIndex {index} (first at line {line})"
                    )
                else:
                    first[index] = i
            if key.get("lineKeyType") == "SPEED_DIAL" and not key.get("lineKeyValue"):
                self.add(res, p, f"SPEED_DIAL line key {index} needs a lineKeyValue (the number to dial)")
            kind = key.get("lineKeyType")
            if index == 1 and isinstance(kind, str) and kind != "PRIMARY_LINE":
                self.add(
                    res,
                    f"{p}/lineKeyType",
                    f"line key 1 is the device's primary line: its lineKeyType is PRIMARY_LINE, not "
                    f"{key['lineKeyType']} (the API does not let key 1 change)",
                )
            self.shared_line_index(res, p, key, "lineKey", f"line key {index}")

    def shared_line_index(self, res: Resource, p: str, key: dict[str, Any], prefix: str, name: str) -> None:
        if key.get(f"{prefix}Type") == "SHARED_LINE" and "sharedLineIndex" not in key:
            self.add(
                res,
                p,
                f"SHARED_LINE {name} needs a sharedLineIndex: which of the device's shared lines it "
                "shows (1 for the first); there is no default",
            )

    def kem_keys(self, res: Resource, ptr: str, layout: dict[str, Any]) -> None:
        keys = layout.get("kemKeys")
        if isinstance(keys, list) and keys and "kemModuleType" not in layout:
            self.add(res, f"{ptr}/kemKeys", "kemKeys need kemModuleType (the expansion module model)")
        first: dict[tuple[int, int], int] = {}
        for i, key in _dicts(keys):
            p = f"{ptr}/kemKeys/{i}"
            module, index = key.get("kemModuleIndex"), key.get("kemKeyIndex")
            if _is_int(module) and _is_int(index):
                if (module, index) in first:
                    line = res.loc(f"{ptr}/kemKeys/{first[(module, index)]}").line
                    self.add(
                        res,
                        f"{p}/kemKeyIndex",
                        f"duplicate KEM key: module {module} key {index} (first at line {line})",
                    )
                else:
                    first[(module, index)] = i
            if key.get("kemKeyType") == "SPEED_DIAL" and not key.get("kemKeyValue"):
                self.add(
                    res, p, f"SPEED_DIAL KEM key {module}/{index} needs a kemKeyValue (the number to dial)"
                )
            self.shared_line_index(res, p, key, "kemKey", f"KEM key {module}/{index}")

    def members(self, res: Resource, members: Any) -> None:
        refs: dict[tuple[str, str], int] = {}
        owner: int | None = None
        ranges: list[tuple[int, int, int]] = []  # (first port, last port, member index)
        for i, m in _dicts(members):
            p = f"/spec/members/{i}"
            present = [k for k in ("person", "workspace", "virtualLine") if isinstance(m.get(k), str)]
            if len(present) == 1:
                what = present[0]
                ref = m[what].strip().lower() if what == "person" else m[what].strip()
                if (what, ref) in refs:
                    line = res.loc(f"/spec/members/{refs[(what, ref)]}").line
                    self.add(res, f"{p}/{what}", f"{what} {m[what]!r} is already a member (line {line})")
                else:
                    refs[(what, ref)] = i
            if m.get("primaryOwner") is True:
                if owner is None:
                    owner = i
                else:
                    line = res.loc(f"/spec/members/{owner}").line
                    self.add(
                        res,
                        f"{p}/primaryOwner",
                        f"two primary owners: this member and the member at line {line}; a device has one",
                    )
            if m.get("hotlineEnabled") is True and not m.get("hotlineDestination"):
                self.add(
                    res,
                    f"{p}/hotlineEnabled",
                    "hotlineEnabled needs a hotlineDestination (the number the line dials when off hook)",
                )
            port, weight = m.get("port"), m.get("lineWeight", 1)
            if not _is_int(port) or not _is_int(weight) or port < 1 or weight < 1:
                continue
            last = port + weight - 1
            for lo, hi, j in ranges:
                if port <= hi and lo <= last:
                    line = res.loc(f"/spec/members/{j}").line
                    self.add(
                        res,
                        f"{p}/port",
                        f"port{_s(port, last)} {_span(port, last)} overlap{'' if last > port else 's'} "
                        f"the member at line {line} (port{_s(lo, hi)} {_span(lo, hi)}); a member takes "
                        "lineWeight ports from its port",
                    )
                    break
            ranges.append((port, last, i))

    def device(self, res: Resource) -> None:
        mac = res.metadata.get("mac")
        if isinstance(mac, str) and normalize_mac(mac) is None:
            self.add(res, "/metadata/mac", f"invalid MAC address {mac!r}: {_MAC_HELP}")
        self.members(res, res.spec.get("members"))
        layout = res.spec.get("layout")
        if isinstance(layout, dict) and "template" not in layout and layout.get("layoutMode") != "DEFAULT":
            self.line_keys(res, "/spec/layout/lineKeys", layout.get("lineKeys", []))
            self.kem_keys(res, "/spec/layout", layout)

    def custom_enabled(self, res: Resource, ptr: str, settings: Any, shows: str) -> None:
        """Customizations count only with ``customEnabled: true``: without it the object shows
        ``shows``'s settings, and they would match or be dropped by coincidence."""
        if not isinstance(settings, dict) or not settings.get("customizations"):
            return
        enabled = settings.get("customEnabled")
        if enabled is True or (enabled is not None and not isinstance(enabled, bool)):
            return  # on, or not a boolean (the schema's error says so)
        where, said = (f"{ptr}/customizations", "without customEnabled")
        if enabled is not None:
            where, said = (f"{ptr}/customEnabled", "with customEnabled: false")  # as YAML spells it
        what = "device" if res.kind == "Device" else "location"
        self.add(
            res,
            where,
            f"customizations {said}: the {what} shows "
            f"{shows} settings instead, so they would not be kept; add customEnabled: true beside "
            "them, or drop them",
        )

    def images(self, res: Resource) -> None:
        images = res.spec.get("images")
        if isinstance(images, list) and len(images) > MAX_IMAGES:
            self.add(res, "/spec/images", f"{len(images)} images: an org holds at most {MAX_IMAGES}")
        names: dict[str, int] = {}
        for i, image in _dicts(images):
            p = f"/spec/images/{i}"
            name = image.get("fileName")
            if isinstance(name, str):
                kept = image_name(name)  # Logo.png and Logo are one image for the API
                if kept in names:
                    line = res.loc(f"/spec/images/{names[kept]}").line
                    self.add(
                        res,
                        f"{p}/fileName",
                        f"duplicate fileName {name!r}: the org keeps it as {kept!r}, like the one at "
                        f"line {line}",
                    )
                else:
                    names[kept] = i
            path = image.get("path")
            if isinstance(path, str) and path:
                self.image_file(res, f"{p}/path", path)
        device = res.spec.get("uploadDevice")
        if isinstance(device, str) and normalize_mac(device) is None:
            self.add(res, "/spec/uploadDevice", f"invalid MAC address {device!r}: {_MAC_HELP}")

    def image_file(self, res: Resource, ptr: str, path: str) -> None:
        file = resolve_manifest_path(res, path)
        if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
            self.add(res, ptr, f"image {path!r} must be a .png, .jpg or .jpeg file")
            return
        root = repo_root(res.source.file)
        if not inside(file, root):
            self.add(res, ptr, f"image {path!r} resolves outside the repository ({root}): refused")
            return
        try:
            info = os.stat(file)  # never opened here: a FIFO would block
        except FileNotFoundError:
            self.add(res, ptr, f"image file not found: {path!r} (looked at {file})")
            return
        except OSError as exc:
            self.add(res, ptr, f"cannot read image {path!r}: {exc.strerror or exc}")
            return
        if not stat.S_ISREG(info.st_mode):
            self.add(res, ptr, f"image {path!r} is not a regular file (a FIFO, device or socket is not read)")
            return
        if info.st_size > IMAGE_MAX_BYTES:
            self.add(
                res,
                ptr,
                f"image {path!r} is {info.st_size} bytes: the API takes at most 625 KB ({IMAGE_MAX_BYTES})",
            )
            return
        try:  # non-blocking, regular files only, capped: safe to open now
            content = read_capped(file, IMAGE_MAX_BYTES)
        except UnreadableFile as exc:
            self.add(res, ptr, f"cannot read image {path!r}: {exc}")
            return
        _, problem = image_problem(content, Path(path).suffix)
        if problem:
            self.add(res, ptr, f"image {path!r} {problem}")

    def secrets(self, res: Resource) -> None:
        """Plain-text secrets (a warning) and bad ``fromEnv`` names. Walks every value, so it is
        kept cheap: a pointer is built only for a container or a problem, a field name's verdict
        is remembered."""
        self._secrets_under(res, res.spec, "/spec")

    def _secrets_under(self, res: Resource, container: Any, ptr: str) -> None:
        # A method, not a closure calling itself: that closure and its cell are a reference cycle,
        # which keeps ``res`` alive until the cyclic collector runs (and the collector is told to
        # leave alone what is alive after loading: ``runtime.settle``).
        secret_name = _secret_names
        items = container.items() if type(container) is dict else enumerate(container)
        for k, value in items:
            kind = type(value)
            if kind is str:
                if not value:
                    continue
                verdict = secret_name.get(k)  # (list indexes too: "0" is no secret's name)
                if verdict is None:
                    verdict = secret_name[k] = is_secret_field(str(k))
                if verdict:
                    name = str(k)
                    self.out.append(
                        Diagnostic(
                            res.loc(f"{ptr}/{escape_pointer(name)}"),
                            f"{name} is written in plain text: use {{fromEnv: NAME}} "
                            "to keep secrets out of git",
                            label_of(res),
                            "warning",
                            code="semantic",
                        )
                    )
            elif kind is dict or kind is list:
                self._secrets_under(res, value, f"{ptr}/{escape_pointer(str(k))}")
            elif kind is SecretRef and not _ENV_NAME.match(value.env):
                self.add(
                    res,
                    f"{ptr}/{escape_pointer(str(k))}",
                    f"fromEnv {value.env!r} is not a valid environment variable name "
                    "(letters, digits and _, not starting with a digit)",
                )
            elif kind is SecretRef:
                refused = envpolicy.refusal(value.env, self.allowed_env)
                if refused:
                    self.add(res, f"{ptr}/{escape_pointer(str(k))}", refused)


_secret_names: dict[str | int, bool] = {}


def _s(lo: int, hi: int) -> str:
    return "s" if hi > lo else ""


def _span(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def check(resources: Sequence[Resource], alone: Sequence[Resource] | None = None) -> list[Diagnostic]:
    """Every semantic problem found in ``resources`` (order: as found); ``alone``: the resources
    checked on their own too (default: all)."""
    c = _Checker()
    c.duplicates(resources)
    c.policies(resources)
    for res in resources if alone is None else alone:
        try:
            if res.kind == "Device":
                c.device(res)
                c.custom_enabled(res, "/spec/settings", res.spec.get("settings"), "its location's")
            elif res.kind == "LocationDeviceSettings":
                c.custom_enabled(res, "/spec", res.spec, "the org's")
            elif res.kind == "LineKeyTemplate":
                c.line_keys(res, "/spec/lineKeys", res.spec.get("lineKeys"))
            elif res.kind == "BackgroundImages":
                c.images(res)
            c.secrets(res)
        except Exception as exc:  # a check must never take validation down
            c.out.append(
                Diagnostic(
                    res.source,
                    f"internal error in semantic checks: {exc!r}",
                    label_of(res),
                    "error",
                    code="semantic",
                )
            )
    c.layout_owned_twice(resources)
    return c.out
