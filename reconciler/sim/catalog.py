"""The simulated supportedDevices catalogue (models, line keys, ports, KEM modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEM_KEYS_PER_MODULE = {"KEM_14_KEYS": 14, "KEM_18_KEYS": 18, "KEM_20_KEYS": 20}


@dataclass(frozen=True, slots=True)
class Model:
    model: str  # e.g. "DMS Cisco 8851": the telephony model name
    display_name: str  # e.g. "Cisco 8851"
    product: str  # the /v1/devices "product"
    family: str  # "mpp" or "ata": which settings family applies; "generic": a third-party SIP phone
    family_display_name: str
    line_keys: int
    line_ports: int
    kem_modules: int
    kem_types: tuple[str, ...]
    layout: bool
    touch_screen: bool = False

    @property
    def device_type(self) -> str:
        return {"mpp": "MPP", "ata": "ATA"}.get(self.family, "GENERIC_SIP")

    @property
    def cisco(self) -> bool:
        """A Cisco phone or ATA (else a customer-managed third-party SIP phone)."""
        return self.family in ("mpp", "ata")

    # What the model takes (the flags of its supportedDevices entry, enforced by the writes).
    @property
    def t38(self) -> bool:
        return self.family == "ata"

    @property
    def call_decline(self) -> bool:
        return self.family == "mpp"

    @property
    def line_label(self) -> bool:
        return self.family == "mpp"

    @property
    def hotline(self) -> bool:
        return True  # a call-server feature: every model takes it

    @property
    def hoteling_host(self) -> bool:
        return self.family == "mpp"

    @property
    def phone_settings(self) -> bool:
        return self.cisco

    @property
    def apply_changes(self) -> bool:
        return self.cisco

    def to_api(self) -> dict[str, Any]:
        """One item of GET /telephony/config/supportedDevices."""
        is_mpp = self.family == "mpp"
        out: dict[str, Any] = {
            "model": self.model,
            "displayName": self.display_name,
            "familyDisplayName": self.family_display_name,
            "type": self.device_type,
            "manufacturer": "CISCO" if self.cisco else "THIRD_PARTY",
            "managedBy": "CISCO" if self.cisco else "CUSTOMER",
            "supportedFor": ["PEOPLE", "PLACE"],
            "onboardingMethod": ["MAC_ADDRESS", "ACTIVATION_CODE"],
            "allowConfigureLayoutEnabled": self.layout,
            "numberOfLinePorts": self.line_ports,
            "kemSupportEnabled": self.kem_modules > 0,
            "kemLinesSupportEnabled": self.kem_modules > 0,
            "upgradeChannelEnabled": self.cisco,
            "defaultUpgradeChannel": "STABLE",
            "additionalPrimaryLineAppearancesEnabled": is_mpp,
            "basicEmergencyNomadicEnabled": is_mpp,
            "customizedBehaviorsEnabled": is_mpp,
            "allowConfigurePortsEnabled": self.family == "ata",
            "customizableLineLabelEnabled": self.line_label,
            "supportsLinePortReorderingEnabled": is_mpp,
            "portNumberSupportEnabled": self.family == "ata",
            "t38Enabled": self.t38,
            "callDeclinedEnabled": self.call_decline,
            "touchScreenPhone": self.touch_screen,
            "numberOfLineKeyButtons": self.line_keys,
            "deviceSettingsConfiguration": (
                "WEBEX_CALLING_DEVICE_CONFIGURATION" if self.phone_settings else "NONE"
            ),
            "allowHotelingHostEnabled": self.hoteling_host,
            "supportsLogCollection": "CISCO_PRT" if is_mpp else "NONE",
            "supportsApplyChangesEnabled": self.apply_changes,
            "allowConfigureLinesEnabled": True,
            "allowConfigurePhoneSettingsEnabled": self.phone_settings,
            "supportsHotlineEnabled": self.hotline,
            "maxNumberOfLineAppearances": self.line_ports,
        }
        if self.kem_modules:
            out["kemModuleCount"] = self.kem_modules
            out["kemModuleType"] = list(self.kem_types)
        return out


_MODELS = (
    Model("DMS Cisco 8845", "Cisco 8845", "Cisco 8845", "mpp", "Cisco 8800 Series", 5, 5, 0, (), True),
    Model(
        "DMS Cisco 8851",
        "Cisco 8851",
        "Cisco 8851",
        "mpp",
        "Cisco 8800 Series",
        5,
        5,
        2,
        ("KEM_14_KEYS", "KEM_18_KEYS"),
        True,
    ),
    Model(
        "DMS Cisco 8865",
        "Cisco 8865",
        "Cisco 8865",
        "mpp",
        "Cisco 8800 Series",
        5,
        5,
        3,
        ("KEM_14_KEYS", "KEM_18_KEYS"),
        True,
    ),
    Model("DMS Cisco 6841", "Cisco 6841", "Cisco 6841", "mpp", "Cisco 6800 Series", 4, 4, 0, (), True),
    Model("DMS Cisco 6871", "Cisco 6871", "Cisco 6871", "mpp", "Cisco 6800 Series", 6, 6, 0, (), True),
    Model("DMS Cisco 7841", "Cisco 7841", "Cisco 7841", "mpp", "Cisco 7800 Series", 4, 4, 0, (), True),
    Model(
        "DMS Cisco 9861",
        "Cisco 9861",
        "Cisco 9861",
        "mpp",
        "Cisco 9800 Series",
        10,
        16,
        3,
        ("KEM_20_KEYS",),
        True,
        True,
    ),
    Model("DMS Cisco 191", "Cisco 191", "Cisco 191", "ata", "Cisco ATA Series", 0, 2, 0, (), False),
    # A third-party SIP phone: one line, no layout, no settings, no applyChanges, a SIP password.
    Model(
        "Generic IPPhone Customer Managed",
        "Generic IPPhone Customer Managed",
        "Generic IPPhone Customer Managed",
        "generic",
        "Generic SIP",
        0,
        1,
        0,
        (),
        False,
    ),
)

MODELS: dict[str, Model] = {m.model: m for m in _MODELS}
BY_DISPLAY: dict[str, Model] = {m.display_name: m for m in _MODELS}

DECT_DEVICES: tuple[dict[str, Any], ...] = (
    {
        "model": "DMS Cisco DBS110",
        "displayName": "Cisco DECT 110 Base",
        "numberOfBaseStations": 1,
        "numberOfLinePorts": 30,
        "numberOfRegistrationsSupported": 30,
    },
    {
        "model": "DMS Cisco DBS210",
        "displayName": "Cisco DECT 210 Multi-Cell Base",
        "numberOfBaseStations": 250,
        "numberOfLinePorts": 1000,
        "numberOfRegistrationsSupported": 1000,
    },
)

UPGRADE_CHANNELS = ["STABLE", "STABLE_DELAY", "PREVIEW", "BETA", "TESTING"]


def lookup(name: str) -> Model | None:
    """A model by its telephony name ("DMS Cisco 8851") or display name ("Cisco 8851")."""
    return MODELS.get(name) or BY_DISPLAY.get(name)
