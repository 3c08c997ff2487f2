"""Line keys and KEM keys: one comparable form for templates and device layouts.

A key left out is OPEN (the API treats a KEM key left out of a layout PUT as OPEN, and a
template or layout lists every key of the model), so both sides are compared with OPEN keys
dropped, and only the key attributes the manifest declares are compared. Bodies carry every
key of the model, OPEN where nothing is declared.
"""

from __future__ import annotations

from typing import Any

LINE_ATTRS = ("lineKeyLabel", "lineKeyValue", "sharedLineIndex")
KEM_ATTRS = ("kemKeyLabel", "kemKeyValue", "sharedLineIndex")


def _by_index(keys: list[dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    return {int(k["lineKeyIndex"]): k for k in keys or [] if "lineKeyIndex" in k}


def _kem_by_index(keys: list[dict[str, Any]] | None) -> dict[tuple[int, int], dict[str, Any]]:
    return {
        (int(k["kemModuleIndex"]), int(k["kemKeyIndex"])): k
        for k in keys or []
        if "kemModuleIndex" in k and "kemKeyIndex" in k
    }


def _compact(
    key: dict[str, Any], type_field: str, attrs: tuple[str, ...], declared: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {type_field: key.get(type_field, "OPEN")}
    for a in attrs:
        if a in declared and a in key:
            out[a] = key[a]
        elif a in declared:
            out[a] = None
    return out


def compare_line_keys(desired: list[dict[str, Any]], live: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    """Comparable (desired, live) forms: {index: {type, declared attrs}} without OPEN keys."""
    want = _by_index(desired)
    have = _by_index(live)
    d_out: dict[str, Any] = {}
    l_out: dict[str, Any] = {}
    for idx in sorted(set(want) | set(have)):
        decl = want.get(idx, {})
        w = _compact(decl, "lineKeyType", LINE_ATTRS, decl) if decl else {"lineKeyType": "OPEN"}
        h = _compact(have.get(idx, {}), "lineKeyType", LINE_ATTRS, decl)
        if w["lineKeyType"] != "OPEN":
            d_out[str(idx)] = w
        if h["lineKeyType"] != "OPEN":
            l_out[str(idx)] = h
    return d_out, l_out


def compare_kem_keys(desired: list[dict[str, Any]], live: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    want = _kem_by_index(desired)
    have = _kem_by_index(live)
    d_out: dict[str, Any] = {}
    l_out: dict[str, Any] = {}
    for mod, idx in sorted(set(want) | set(have)):
        decl = want.get((mod, idx), {})
        w = _compact(decl, "kemKeyType", KEM_ATTRS, decl) if decl else {"kemKeyType": "OPEN"}
        h = _compact(have.get((mod, idx), {}), "kemKeyType", KEM_ATTRS, decl)
        if w["kemKeyType"] != "OPEN":
            d_out[f"{mod}.{idx}"] = w
        if h["kemKeyType"] != "OPEN":
            l_out[f"{mod}.{idx}"] = h
    return d_out, l_out


def line_keys_body(
    desired: list[dict[str, Any]], live: list[dict[str, Any]] | None, key_count: int | None
) -> list[dict[str, Any]]:
    """Every key of the model, declared ones as declared, the rest OPEN. ``sharedLineIndex`` (a
    field the API requires on every key) is filled where it means nothing, never on a SHARED_LINE
    key: there it says which line the key shows (validation refuses one left out)."""
    want = _by_index(desired)
    have = _by_index(live)
    count = max([key_count or 0, *want.keys()]) if want or key_count else 0
    out = []
    for idx in range(1, count + 1):
        key = dict(want.get(idx) or {"lineKeyIndex": idx, "lineKeyType": "OPEN"})
        key["lineKeyIndex"] = idx
        if "sharedLineIndex" not in key and key.get("lineKeyType") != "SHARED_LINE":
            key["sharedLineIndex"] = int(have.get(idx, {}).get("sharedLineIndex") or 1)
        out.append(key)
    return out


def kem_keys_body(desired: list[dict[str, Any]], live: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The declared KEM keys (the API makes the ones left out OPEN), sharedLineIndex filled."""
    have = _kem_by_index(live)
    out = []
    for (mod, idx), key in sorted(_kem_by_index(desired).items()):
        k = dict(key)
        if "sharedLineIndex" not in k and k.get("kemKeyType") != "SHARED_LINE":
            k["sharedLineIndex"] = int(have.get((mod, idx), {}).get("sharedLineIndex") or 1)
        out.append(k)
    return out
