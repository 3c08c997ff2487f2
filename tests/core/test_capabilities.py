"""The capability module reads a supportedDevices entry as the API writes it."""

from __future__ import annotations

from reconciler.planning.capabilities import Catalog, ModelCaps, kem_keys_per_module

ENTRY = {
    "model": "DMS Cisco 8851",
    "displayName": "Cisco 8851",
    "type": "MPP",
    "numberOfLinePorts": 5,
    "numberOfLineKeyButtons": 5,
    "kemSupportEnabled": True,
    "kemModuleCount": 2,
    "kemModuleType": ["KEM_14_KEYS", "KEM_18_KEYS"],
    "t38Enabled": False,
    "allowConfigureLayoutEnabled": True,
}


def test_flags_the_answer_leaves_out_forbid_nothing() -> None:
    caps = ModelCaps.from_api({"model": "X", "type": "MPP"})
    member = {"port": 9, "lineLabel": "L", "allowCallDeclineEnabled": False, "t38FaxCompressionEnabled": True}
    assert caps.member_problems([member]) == []
    assert caps.layout and caps.settings_allowed and caps.apply_changes and caps.hoteling_host


def test_kem_count_without_kem_support_is_no_module() -> None:
    caps = ModelCaps.from_api({**ENTRY, "kemSupportEnabled": False})
    problems = caps.layout_problems({"kemKeys": [{"kemModuleIndex": 1, "kemKeyIndex": 1}]}, "KEM_14_KEYS")
    assert problems == [("/spec/layout/kemKeys", "the Cisco 8851 takes no key expansion module")]


def test_kem_keys_follow_the_live_module_type_when_the_manifest_names_none() -> None:
    caps = ModelCaps.from_api(ENTRY)
    layout = {"kemKeys": [{"kemModuleIndex": 2, "kemKeyIndex": 18}]}
    assert caps.layout_problems(layout, "KEM_18_KEYS") == []
    assert caps.layout_problems(layout, "KEM_14_KEYS") == [
        ("/spec/layout/kemKeys/0/kemKeyIndex", "KEM key 18 is beyond the 14 keys of a KEM_14_KEYS module")
    ]
    assert caps.layout_problems(layout, None) == [
        ("/spec/layout/kemModuleType", "kemKeys need a kemModuleType (the device has none)")
    ]
    assert kem_keys_per_module("KEM_20_KEYS") == 20 and kem_keys_per_module("OTHER") is None


def test_a_device_s_model_by_members_answer_or_product() -> None:
    catalog = Catalog({"DMS Cisco 8851": ENTRY})
    assert catalog.of_device({}, {"model": "DMS Cisco 8851"}) is catalog.model("DMS Cisco 8851")
    assert catalog.of_device({"product": "Cisco 8851"}) is catalog.model("DMS Cisco 8851")
    assert catalog.of_device({"product": "Cisco 9999"}) is None and not Catalog()
