from __future__ import annotations

from reconciler.diff import diff_declared, equal, merge_declared, to_jsonable
from reconciler.model import SecretRef

LIVE = {
    "customEnabled": False,
    "customizations": {
        "mpp": {"backlightTimer": "ONE_MIN", "vlan": {"enabled": False, "value": 1}, "cdpEnabled": True}
    },
}


def test_only_declared_fields_are_compared() -> None:
    desired = {"customizations": {"mpp": {"backlightTimer": "FIVE_MIN"}}}
    changes = diff_declared(desired, LIVE)
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("/customizations/mpp/backlightTimer", "ONE_MIN", "FIVE_MIN")
    ]


def test_no_change_when_declared_fields_match() -> None:
    assert diff_declared({"customizations": {"mpp": {"cdpEnabled": True}}}, LIVE) == []


def test_ignore_removes_fields_from_diff_and_write() -> None:
    desired = {"customizations": {"mpp": {"backlightTimer": "FIVE_MIN", "vlan": {"enabled": True}}}}
    ignore = ["/customizations/mpp/vlan"]
    assert [c.path for c in diff_declared(desired, LIVE, ignore)] == ["/customizations/mpp/backlightTimer"]
    merged = merge_declared(LIVE, desired, ignore)
    assert merged["customizations"]["mpp"]["vlan"] == {"enabled": False, "value": 1}


def test_merge_keeps_undeclared_live_values() -> None:
    merged = merge_declared(LIVE, {"customizations": {"mpp": {"vlan": {"enabled": True}}}})
    assert merged["customizations"]["mpp"] == {
        "backlightTimer": "ONE_MIN",
        "vlan": {"enabled": True, "value": 1},
        "cdpEnabled": True,
    }
    assert LIVE["customizations"]["mpp"]["vlan"] == {"enabled": False, "value": 1}  # not mutated


def test_secrets_are_not_compared_and_serialise_as_references() -> None:
    desired = {"password": SecretRef("WIFI_PW")}
    assert diff_declared(desired, {"password": "x"}) == []
    assert to_jsonable(merge_declared({}, desired)) == {"password": {"fromEnv": "WIFI_PW"}}


def test_equal_is_json_equality() -> None:
    assert equal(1, 1.0)
    assert not equal(True, 1)
    assert equal({"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]})
    assert not equal([1, 2], [2, 1])
