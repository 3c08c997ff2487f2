"""What a device model may take, from the API's ``supportedDevices`` answer.

One place answers "may this device take this?" for a manifest: members (ports, line weights, the
member fields a model supports), line keys, KEM modules and keys, layouts, the settings family,
hoteling and ``applyChanges``. Each check returns the problems it found as ``(pointer, message)``
pairs, the pointer being the manifest field to blame, so that ``plan`` refuses with ``file:line``
what the API would refuse with a 400, before any write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Problem = tuple[str, str]  # (JSON pointer into the manifest, message)

_KEM_KEYS = re.compile(r"^KEM_(\d+)_KEYS$")
# The device settings family (a key of ``customizations``) of each device type.
_FAMILY_OF_TYPE = {"MPP": "mpp", "ATA": "ata"}
# A member field the model may refuse: (supportedDevices flag, the value every model accepts, name).
_MEMBER_FLAGS = (
    ("t38FaxCompressionEnabled", "t38Enabled", False, "T.38 fax compression"),
    ("allowCallDeclineEnabled", "callDeclinedEnabled", True, "declining calls per line"),
    ("hotlineEnabled", "supportsHotlineEnabled", False, "hotline"),
)


def kem_keys_per_module(kem_type: str) -> int | None:
    """The keys of one module of a KEM type (``KEM_14_KEYS``: 14); None for an unknown type."""
    match = _KEM_KEYS.match(kem_type)
    return int(match.group(1)) if match else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class ModelCaps:
    """The limits of one model, as its ``supportedDevices`` entry states them."""

    model: str
    display_name: str
    type: str
    line_ports: int | None
    max_line_appearances: int | None
    line_keys: int | None
    layout: bool
    kem_modules: int
    kem_types: tuple[str, ...]
    flags: dict[str, bool]
    settings_configuration: str | None

    @classmethod
    def from_api(cls, entry: dict[str, Any]) -> ModelCaps:
        kem_types = entry.get("kemModuleType") or []
        return cls(
            model=str(entry.get("model")),
            display_name=str(entry.get("displayName") or entry.get("model")),
            type=str(entry.get("type") or ""),
            line_ports=_int(entry.get("numberOfLinePorts")),
            max_line_appearances=_int(entry.get("maxNumberOfLineAppearances")),
            line_keys=_int(entry.get("numberOfLineKeyButtons")),
            layout=entry.get("allowConfigureLayoutEnabled") is not False,
            kem_modules=(_int(entry.get("kemModuleCount")) or 0) if entry.get("kemSupportEnabled") else 0,
            kem_types=tuple(str(t) for t in kem_types) if isinstance(kem_types, list) else (),
            flags={k: v for k, v in entry.items() if isinstance(v, bool)},
            settings_configuration=entry.get("deviceSettingsConfiguration"),
        )

    def allows(self, flag: str) -> bool:
        """A supportedDevices flag; one the answer leaves out does not forbid anything."""
        return self.flags.get(flag, True)

    @property
    def settings_family(self) -> str | None:
        """The ``customizations`` key this model's settings live under (None: not known)."""
        return _FAMILY_OF_TYPE.get(self.type)

    @property
    def settings_allowed(self) -> bool:
        return self.allows("allowConfigurePhoneSettingsEnabled") and self.settings_configuration != "NONE"

    @property
    def apply_changes(self) -> bool:
        return self.allows("supportsApplyChangesEnabled")

    @property
    def hoteling_host(self) -> bool:
        return self.allows("allowHotelingHostEnabled")

    @property
    def line_count(self) -> int | None:
        """How many line appearances the members may take together."""
        return self.max_line_appearances or self.line_ports

    # ----------------------------------------------------------------------------------------
    # members
    # ----------------------------------------------------------------------------------------

    def member_problems(self, members: list[dict[str, Any]], base: str = "/spec/members") -> list[Problem]:
        out: list[Problem] = []
        if not self.allows("allowConfigureLinesEnabled"):
            return [(base, f"the {self.display_name} does not allow configuring its lines")]
        ports = self.line_ports
        total = 0
        for i, m in enumerate(members):
            at = f"{base}/{i}"
            port, weight = _int(m.get("port")), _int(m.get("lineWeight", 1))
            if port is not None and ports is not None and port > ports:
                out.append((f"{at}/port", f"port {port} is beyond the {self.display_name}'s {_ports(ports)}"))
            elif port is not None and weight is not None and ports is not None and port + weight - 1 > ports:
                out.append(
                    (
                        f"{at}/lineWeight",
                        f"lineWeight {weight} from port {port} needs ports up to {port + weight - 1}; "
                        f"the {self.display_name} has {_ports(ports)}",
                    )
                )
            if weight is not None and self.line_count is not None and weight > self.line_count:
                out.append(
                    (
                        f"{at}/lineWeight",
                        f"lineWeight {weight} is more than the {self.display_name}'s "
                        f"{self.line_count} line appearances",
                    )
                )
            total += max(1, weight or 1)
            out += self._member_field_problems(m, at)
        if self.line_count is not None and total > self.line_count and not out:
            out.append(
                (
                    base,
                    f"the members take {total} line appearances; the {self.display_name} has "
                    f"{self.line_count}",
                )
            )
        return out

    def _member_field_problems(self, m: dict[str, Any], at: str) -> list[Problem]:
        out: list[Problem] = []
        for field, flag, accepted, what in _MEMBER_FLAGS:
            if field in m and m[field] != accepted and not self.allows(flag):
                out.append((f"{at}/{field}", f"the {self.display_name} does not support {what} ({flag})"))
        if m.get("lineLabel") and not self.allows("customizableLineLabelEnabled"):
            out.append(
                (
                    f"{at}/lineLabel",
                    f"the {self.display_name} does not support line labels (customizableLineLabelEnabled)",
                )
            )
        return out

    # ----------------------------------------------------------------------------------------
    # line keys, KEM, layout
    # ----------------------------------------------------------------------------------------

    def line_key_problems(self, keys: list[dict[str, Any]], base: str) -> list[Problem]:
        count = self.line_keys
        if not count:
            return []
        out: list[Problem] = []
        for i, key in enumerate(keys):
            index = _int(key.get("lineKeyIndex"))
            if index is not None and index > count:
                out.append(
                    (
                        f"{base}/{i}/lineKeyIndex",
                        f"line key {index} is beyond the {self.display_name}'s {count} line keys",
                    )
                )
        return out

    def template_problems(self, keys: list[dict[str, Any]], base: str = "/spec") -> list[Problem]:
        """A line key template for this model."""
        if not self.layout:
            return [(f"{base}/deviceModel", f"the {self.display_name} does not take line key templates")]
        return self.line_key_problems(keys, f"{base}/lineKeys")

    def layout_problems(
        self, layout: dict[str, Any], live_kem_type: str | None = None, base: str = "/spec/layout"
    ) -> list[Problem]:
        """A device layout (``template:`` already expanded: its keys are blamed on the template)."""
        if not self.layout:
            return [(base, f"the {self.display_name} does not allow configuring its layout")]
        from_template = "_template" in layout
        out = self.line_key_problems(layout.get("lineKeys") or [], f"{base}/lineKeys")
        if from_template:
            out = [(f"{base}/template", f"template {layout['_template']!r}: {msg}") for _, msg in out]
        kem_type = layout.get("kemModuleType")
        kem_keys = layout.get("kemKeys") or []
        if kem_type is not None and kem_type not in self.kem_types:
            takes = ", ".join(self.kem_types) or "no key expansion module"
            out.append(
                (
                    f"{base}/kemModuleType",
                    f"the {self.display_name} does not take {kem_type} (it takes {takes})",
                )
            )
            return out
        kem_type = kem_type or live_kem_type
        if kem_keys and not self.kem_modules:
            return [*out, (f"{base}/kemKeys", f"the {self.display_name} takes no key expansion module")]
        per_module = kem_keys_per_module(str(kem_type)) if kem_type else None
        for i, key in enumerate(kem_keys):
            mod, idx = _int(key.get("kemModuleIndex")), _int(key.get("kemKeyIndex"))
            if mod is not None and mod > self.kem_modules:
                out.append(
                    (
                        f"{base}/kemKeys/{i}/kemModuleIndex",
                        f"KEM module {mod} is beyond the {self.display_name}'s {self.kem_modules} modules",
                    )
                )
            if idx is not None and per_module is not None and idx > per_module:
                out.append(
                    (
                        f"{base}/kemKeys/{i}/kemKeyIndex",
                        f"KEM key {idx} is beyond the {per_module} keys of a {kem_type} module",
                    )
                )
        if kem_keys and kem_type is None:
            out.append((f"{base}/kemModuleType", "kemKeys need a kemModuleType (the device has none)"))
        return out

    # ----------------------------------------------------------------------------------------
    # settings
    # ----------------------------------------------------------------------------------------

    def settings_problems(self, settings: dict[str, Any], base: str = "/spec/settings") -> list[Problem]:
        if not self.settings_allowed:
            return [(base, f"the {self.display_name} does not allow configuring its settings")]
        family = self.settings_family
        custom = settings.get("customizations")
        if family is None or not isinstance(custom, dict):
            return []
        return [
            (
                f"{base}/customizations/{name}",
                f"the {self.display_name} takes {family} settings, not {name}",
            )
            for name in custom
            if name != family
        ]


class Catalog:
    """The models of an org's ``supportedDevices`` answer, by model name."""

    def __init__(self, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self._entries = entries if entries is not None else {}
        self._caps: dict[str, ModelCaps] = {}

    def __bool__(self) -> bool:
        return bool(self._entries)

    def model(self, name: str | None) -> ModelCaps | None:
        if not name:
            return None
        caps = self._caps.get(name)
        if caps is None:
            entry = self._entries.get(name)
            if entry is None:
                return None
            caps = self._caps[name] = ModelCaps.from_api(entry)
        return caps

    def entry(self, name: str | None) -> dict[str, Any] | None:
        return self._entries.get(name) if name else None

    def by_product(self, product: str) -> ModelCaps | None:
        """A model by its ``/v1/devices`` product (its display name, or the end of its name)."""
        if not product:
            return None
        name = next((m for m, e in self._entries.items() if e.get("displayName") == product), None)
        if name is None:
            name = next((m for m in self._entries if m.endswith(product)), None)
        return self.model(name)

    def of_device(
        self, device: dict[str, Any], members_live: dict[str, Any] | None = None
    ) -> ModelCaps | None:
        """The model of a device: from its members answer if read, else its ``/v1/devices`` product."""
        name = (members_live or {}).get("model")
        if name:
            return self.model(str(name))
        return self.by_product(str(device.get("product") or ""))


def _ports(n: int) -> str:
    """``1 line port``, ``2 line ports``."""
    return f"{n} line port" + ("" if n == 1 else "s")
