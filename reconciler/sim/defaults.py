"""Factory defaults of the device settings families (``ata``, ``dect``, ``mpp``, ``wifi``).

Every field the spec's response schemas require is present, with values valid for both the
org/location schemas (``mppObject``...) and the device-level ones (``mppObjectDevice``...).
"""

from __future__ import annotations

import copy
from typing import Any

_ATA: dict[str, Any] = {
    "audioCodecPriority": {
        "selection": "REGIONAL",
        "primary": "G711u",
        "secondary": "G711a",
        "tertiary": "G729a",
    },
    "ataDtmfMode": "STRICT",
    "ataDtmfMethod": "AUTO",
    "cdpEnabled": True,
    "lldpEnabled": True,
    "qosEnabled": True,
    "vlan": {"enabled": False, "value": 1},
    "webAccessEnabled": False,
    "nightlyResyncEnabled": True,
    "snmp": {
        "enabled": False,
        "trustedIP": "0.0.0.0/0.0.0.0",
        "getCommunity": "public",
        "setCommunity": "private",
        "snmpV3Enabled": False,
    },
}

_DECT: dict[str, Any] = {
    "audioCodecPriority": {
        "selection": "REGIONAL",
        "primary": "G711u",
        "secondary": "G711a",
        "tertiary": "G729",
    },
    "cdpEnabled": True,
    "dect6825HandsetEmergencyNumber": "",
    "lldpEnabled": True,
    "multicast": "",
    "qosEnabled": True,
    "vlan": {"enabled": False, "value": 1},
    "webAccessEnabled": False,
    "nightlyResyncEnabled": True,
}

_SOFT_KEY_MENU_DEFAULTS: dict[str, str] = {
    "idleKeyList": "redial|1;newcall|2;cfwd|3;dnd|4;unpark|5;gpickup|6;pickup|7;dir|8",
    "offHookKeyList": "endcall|1;redial|2;dir|3;unpark|4;pickup|5;gpickup|6",
    "dialingInputKeyList": "dial|1;cancel|2;delchar|3;left|4;right|5",
    "progressingKeyList": "endcall|1",
    "connectedKeyList": "hold|1;endcall|2;xfer|3;conf|4;park|5",
    "connectedVideoKeyList": "hold|1;endcall|2;xfer|3;conf|4;park|5",
    "startTransferKeyList": "endcall|1;xfer|2",
    "startConferenceKeyList": "endcall|1;conf|2",
    "conferencingKeyList": "endcall|1;join|2",
    "releasingKeyList": "endcall|1",
    "holdKeyList": "resume|1;endcall|2;newcall|3;redial|4;dir|5",
    "ringingKeyList": "answer|1;ignore|2",
    "sharedActiveKeyList": "newcall|1;dir|2",
    "sharedHeldKeyList": "resume|1;dir|2",
}

_PSK_DEFAULTS: dict[str, str] = {f"psk{i}": "" for i in range(1, 17)}

_MPP: dict[str, Any] = {
    "pnacEnabled": False,
    "audioCodecPriority": {
        "selection": "REGIONAL",
        "primary": "G722",
        "secondary": "G711u",
        "tertiary": "G711a",
    },
    "backlightTimer": "THIRTY_MIN",
    "background": {"image": "NONE", "customUrl": ""},
    "displayNameFormat": "PERSON_FIRST_THEN_LAST_NAME",
    "cdpEnabled": True,
    "defaultLoggingLevel": "STANDARD",
    "dndServicesEnabled": True,
    "acd": {"enabled": False, "displayCallqueueAgentSoftkeys": "FRONT_PAGE"},
    "shortInterdigitTimer": 3,
    "longInterdigitTimer": 10,
    "lineKeyLabelFormat": "PERSON_EXTENSION",
    "lineKeyLEDPattern": "DEFAULT",
    "lldpEnabled": True,
    "mppUserWebAccessEnabled": False,
    "multicast": [],
    "enhancedMulticast": {"xmlAppUrl": "", "multicastList": []},
    "offHookTimer": 30,
    "phoneLanguage": "PERSON_LANGUAGE",
    "poeMode": "NORMAL",
    "qosEnabled": True,
    "screenTimeout": {"enabled": False, "value": 400},
    "usbPortsEnabled": True,
    "usbPorts": {"enabled": True, "sideUsbEnabled": True, "rearUsbEnabled": True},
    "vlan": {"enabled": False, "value": 1, "pcPort": 1},
    "wifiNetwork": {"enabled": False, "authenticationMethod": "NONE", "ssidName": "", "userId": ""},
    "callHistory": "WEBEX_UNIFIED_CALL_HISTORY",
    "contacts": "WEBEX_DIRECTORY",
    "webexMeetingsEnabled": False,
    "volumeSettings": {
        "ringerVolume": 9,
        "speakerVolume": 11,
        "handsetVolume": 10,
        "headsetVolume": 10,
        "eHookEnabled": False,
        "allowEndUserOverrideEnabled": True,
    },
    "cfExpandedSoftKey": "ONLY_THE_CALL_FORWARD_ALL",
    "httpProxy": {
        "mode": "OFF",
        "autoDiscoveryEnabled": False,
        "host": "",
        "port": "",
        "packUrl": "",
        "authSettingsEnabled": False,
        "username": "",
        "password": "",
    },
    "bluetooth": {"enabled": False, "mode": "PHONE"},
    "passThroughPortEnabled": True,
    "userPasswordOverrideEnabled": False,
    "activeCallFocusEnabled": False,
    "peerFirmwareEnabled": False,
    "noiseCancellation": {"enabled": False, "allowEndUserOverrideEnabled": True},
    "voiceFeedbackAccessibilityEnabled": False,
    "dialAssistEnabled": False,
    "callsPerLine": 4,
    "nightlyResyncEnabled": True,
    "missedCallNotificationEnabled": True,
    "softKeyLayout": {
        "softKeyMenu": dict(_SOFT_KEY_MENU_DEFAULTS),
        "psk": dict(_PSK_DEFAULTS),
        "softKeyMenuDefaults": dict(_SOFT_KEY_MENU_DEFAULTS),
        "pskDefaults": dict(_PSK_DEFAULTS),
    },
    "backgroundImage8875": "CYAN_DARK",
    "backlightTimer68XX78XX": "ALWAYS_ON",
    "allowMonitorLinesEnabled": False,
    "iceEnabled": True,
}

_WIFI: dict[str, Any] = {
    "audioCodecPriority": {
        "selection": "REGIONAL",
        "primary": "G722",
        "secondary": "G711u",
        "tertiary": "G711a",
    },
    "ldap": {
        "enabled": False,
        "serverAddress": "",
        "serverPort": 389,
        "commSecurityType": "NONE",
        "bindDn": "",
        "bindPw": "",
        "baseDn": "",
        "primaryEmailAttribute": "mail",
        "alternateEmailAttribute": "",
    },
    "webAccess": {"enabled": False, "password": ""},
    "phoneSecurityPwd": "",
}

FAMILIES: dict[str, dict[str, Any]] = {"ata": _ATA, "dect": _DECT, "mpp": _MPP, "wifi": _WIFI}

ORG_FAMILIES = ("ata", "dect", "mpp", "wifi")  # CustomizationObject
LOCATION_FAMILIES = ("ata", "mpp", "wifi")  # CustomizationDeviceLevelObject


def family_default(family: str) -> dict[str, Any]:
    return copy.deepcopy(FAMILIES[family])


# Fields only the device-level objects have (mppObjectDevice vs mppObject): left out of org and
# location views, kept in the stored blob so device views inherit them.
DEVICE_ONLY: dict[str, tuple[str, ...]] = {"mpp": ("usbPorts",)}


def org_level(customizations: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``customizations`` without the device-only fields."""
    out = copy.deepcopy(customizations)
    for family, names in DEVICE_ONLY.items():
        for name in names:
            if isinstance(out.get(family), dict):
                out[family].pop(name, None)
    return out


def org_default() -> dict[str, Any]:
    return {name: family_default(name) for name in ORG_FAMILIES}


def merged_view(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``deep_merge`` without copies: shares ``base`` and ``patch`` objects (for answers that are
    serialized at once and never changed)."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged_view(out[key], value)
        else:
            out[key] = value
    return out


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A copy of base with patch merged in (dicts recursively, everything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
