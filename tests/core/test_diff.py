from __future__ import annotations

from reconciler.model import LiveSecret, SecretRef
from reconciler.planning.diff import (
    diff_declared,
    equal,
    from_jsonable,
    keep_live_secrets,
    merge_declared,
    to_jsonable,
    without_secret_fields,
)

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


def test_live_secrets_become_references_and_the_rest_stays_shared() -> None:
    live = {
        "customizations": {
            "mpp": {
                "webAccess": {"enabled": True, "password": "s3cret-value"},
                "httpProxy": {"mode": "OFF", "password": ""},
                "vlan": {"enabled": False},
            },
            "ata": {"webAccess": {"enabled": False, "password": None}},
        }
    }
    kept = keep_live_secrets(live, "/devices/X/settings")
    mpp = kept["customizations"]["mpp"]
    reference = LiveSecret("/devices/X/settings", "/customizations/mpp/webAccess/password")
    assert mpp["webAccess"]["password"] == reference
    assert mpp["httpProxy"] is live["customizations"]["mpp"]["httpProxy"]  # empty: not a secret
    assert mpp["vlan"] is live["customizations"]["mpp"]["vlan"]
    assert kept["customizations"]["ata"] is live["customizations"]["ata"]
    assert live["customizations"]["mpp"]["webAccess"]["password"] == "s3cret-value"  # never changed
    no_secret = {"customizations": {"mpp": {"vlan": {"enabled": False}}}}
    assert keep_live_secrets(no_secret, "/p") is no_secret
    # a saved plan holds the reference and reads it back as one
    as_json = to_jsonable(kept)
    assert "s3cret-value" not in repr(as_json)
    assert from_jsonable(as_json)["customizations"]["mpp"]["webAccess"]["password"] == reference
    # a declared password overrides the reference when merged
    desired = {"customizations": {"mpp": {"webAccess": {"password": SecretRef("WEB_PASS")}}}}
    merged = merge_declared(kept, desired)
    web = merged["customizations"]["mpp"]["webAccess"]
    assert web == {"enabled": True, "password": SecretRef("WEB_PASS")}


def test_a_declared_password_differs_as_a_sensitive_change() -> None:
    live = {"customizations": {"mpp": {"webAccess": {"password": "old-one"}}}}
    [change] = diff_declared({"customizations": {"mpp": {"webAccess": {"password": "new-one"}}}}, live)
    shown = str(change.to_json())
    assert change.sensitive and "old-one" not in shown and "new-one" not in shown
    assert without_secret_fields(live) == {"customizations": {"mpp": {"webAccess": {}}}}


def test_answers_with_live_secrets_are_recognised_and_hashed_without_them() -> None:
    import json

    from reconciler.planning.kinds.context import answer_digest, may_hold_secret

    def answer(password: object) -> dict[str, object]:
        return {"customizations": {"mpp": {"webAccess": {"enabled": True, "password": password}}}}

    for value, secret in [("", False), (None, False), ("x1", True)]:
        for raw in (json.dumps(answer(value)).encode(), json.dumps(answer(value), indent=1).encode()):
            assert may_hold_secret(raw) is secret, (value, raw)
    assert not may_hold_secret(b'{"a": {"username": "password", "userPasswordOverrideEnabled": true}}')
    assert may_hold_secret(b'{"ldap": {"bindPw": "x"}}') and may_hold_secret(b'{"phoneSecurityPwd": 12}')
    assert may_hold_secret(b'{"a": {"p\\u0061ssword": "x"}}')  # escaped: not certain
    assert not may_hold_secret(b'{"a": 1}')
    one, two = answer("first-secret"), answer("second-secret")
    assert answer_digest(one, json.dumps(one).encode()) == answer_digest(two, json.dumps(two).encode())
    assert answer_digest(one, None) == answer_digest(two, None)
    assert answer_digest(answer(""), None) != answer_digest(one, None)
