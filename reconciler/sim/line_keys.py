"""Layouts (line keys and KEM keys) and line key templates: views, and the checks of what a PUT
or a new template sets."""

from __future__ import annotations

import copy
from typing import Any

from . import catalog
from .errors import bad_request
from .store import Device, Template
from .telephony import get_model


def _norm_key(key: dict[str, Any], prefix: str) -> dict[str, Any]:
    out = {k: v for k, v in key.items() if v is not None}
    for field in (f"{prefix}Index", "sharedLineIndex"):
        if field in out:
            out[field] = int(out[field])
    if f"{prefix}Label" in out and out[f"{prefix}Label"] == "":
        del out[f"{prefix}Label"]
    out.setdefault("sharedLineIndex", 0)
    return out


def check_line_keys(
    model: catalog.Model, keys: list[dict[str, Any]], written: bool = False
) -> list[dict[str, Any]]:
    """Every line key of the model (those not given OPEN), or ApiError(400). ``written``: keys a
    request sets (a layout PUT, a template), which must keep key 1 as the primary line."""
    problems: list[str] = []
    seen: set[int] = set()
    normalized = []
    for raw in keys:
        key = _norm_key(raw, "lineKey")
        index = key["lineKeyIndex"]
        if index < 1 or index > model.line_keys:
            problems.append(
                f"lineKeyIndex {index} is out of range: {model.display_name} has {model.line_keys} line keys."
            )
        if index in seen:
            problems.append(f"lineKeyIndex {index} is listed more than once.")
        seen.add(index)
        problems += _key_type_problems(key, "lineKey", f"Line key {index}")
        normalized.append(key)
    by_index = {k["lineKeyIndex"]: k for k in normalized}
    if written and model.line_keys and by_index.get(1, {}).get("lineKeyType") != "PRIMARY_LINE":
        found = by_index.get(1, {}).get("lineKeyType", "OPEN (not given)")
        problems.append(f"Line key 1 must be PRIMARY_LINE, the device's primary line; it is {found}.")
    if problems:
        raise bad_request(problems[0], problems)
    return [
        by_index.get(i, {"lineKeyIndex": i, "lineKeyType": "OPEN", "sharedLineIndex": 0})
        for i in range(1, model.line_keys + 1)
    ]


def _key_type_problems(key: dict[str, Any], prefix: str, where: str) -> list[str]:
    kind = key[f"{prefix}Type"]
    problems = []
    if kind == "SPEED_DIAL" and not key.get(f"{prefix}Value"):
        problems.append(f"{where}: SPEED_DIAL requires {prefix}Value.")
    if kind == "SHARED_LINE" and key.get("sharedLineIndex", 0) < 1:
        problems.append(f"{where}: SHARED_LINE requires sharedLineIndex of 1 or more.")
    if kind == "SPEED_DIAL" and len(str(key.get(f"{prefix}Label", ""))) > 30:
        problems.append(f"{where}: {prefix}Label is longer than 30 characters.")
    return problems


def default_line_keys(model: catalog.Model) -> list[dict[str, Any]]:
    return [
        {"lineKeyIndex": i, "lineKeyType": "PRIMARY_LINE" if i == 1 else "OPEN", "sharedLineIndex": 0}
        for i in range(1, model.line_keys + 1)
    ]


def full_kem_keys(model: catalog.Model, kem_type: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    per_module = catalog.KEM_KEYS_PER_MODULE[kem_type]
    given = {(k["kemModuleIndex"], k["kemKeyIndex"]): k for k in keys}
    return [
        given.get(
            (mod, idx),
            {"kemModuleIndex": mod, "kemKeyIndex": idx, "kemKeyType": "OPEN", "sharedLineIndex": 0},
        )
        for mod in range(1, model.kem_modules + 1)
        for idx in range(1, per_module + 1)
    ]


def layout_view(device: Device) -> dict[str, Any]:
    model = get_model(device)
    if not model.layout:
        return {"layoutMode": "DEFAULT", "userReorderEnabled": False, "lineKeys": []}
    stored = device.layout
    if stored is None:
        return {"layoutMode": "DEFAULT", "userReorderEnabled": False, "lineKeys": default_line_keys(model)}
    out: dict[str, Any] = {
        "layoutMode": stored["layoutMode"],
        "userReorderEnabled": stored.get("userReorderEnabled", False),
        "lineKeys": check_line_keys(model, stored["lineKeys"]),
    }
    if stored.get("kemModuleType"):
        out["kemModuleType"] = stored["kemModuleType"]
        out["kemKeys"] = full_kem_keys(model, stored["kemModuleType"], stored.get("kemKeys", []))
    return out


def new_layout(device: Device, body: dict[str, Any]) -> dict[str, Any] | None:
    """The layout a PUT would store (None: DEFAULT), or ApiError(400)."""
    model = get_model(device)
    if not model.layout:
        raise bad_request(f"Configuring the layout is not supported on {model.display_name}.")
    if body["layoutMode"] == "DEFAULT":
        return None
    line_keys = check_line_keys(model, body["lineKeys"], written=True)
    layout: dict[str, Any] = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": bool(body.get("userReorderEnabled", False)),
        "lineKeys": line_keys,
    }
    kem_type = body.get("kemModuleType")
    kem_keys = body.get("kemKeys") or []
    if kem_keys and not kem_type:
        raise bad_request("kemKeys require kemModuleType.")
    if kem_type:
        if kem_type not in model.kem_types:
            supported = ", ".join(model.kem_types) or "none"
            raise bad_request(
                f"kemModuleType {kem_type} is not supported on {model.display_name} ({supported})."
            )
        per_module = catalog.KEM_KEYS_PER_MODULE[kem_type]
        problems: list[str] = []
        seen: set[tuple[int, int]] = set()
        normalized = []
        for raw in kem_keys:
            key = _norm_key(raw, "kemKey")
            key["kemModuleIndex"] = int(key["kemModuleIndex"])
            mod, idx = key["kemModuleIndex"], key["kemKeyIndex"]
            if mod < 1 or mod > model.kem_modules:
                problems.append(
                    f"kemModuleIndex {mod} is out of range: "
                    f"{model.display_name} supports {model.kem_modules} modules."
                )
            if idx < 1 or idx > per_module:
                problems.append(f"kemKeyIndex {idx} is out of range: {kem_type} has {per_module} keys.")
            if (mod, idx) in seen:
                problems.append(f"KEM key {mod}/{idx} is listed more than once.")
            seen.add((mod, idx))
            problems += _key_type_problems(key, "kemKey", f"KEM key {mod}/{idx}")
            normalized.append(key)
        if problems:
            raise bad_request(problems[0], problems)
        layout["kemModuleType"] = kem_type
        layout["kemKeys"] = full_kem_keys(model, kem_type, normalized)
    return layout


def template_summary(tpl: Template) -> dict[str, Any]:
    model = catalog.MODELS[tpl.model]
    return {
        "id": tpl.id,
        "templateName": tpl.name,
        "deviceModel": tpl.model,
        "modelDisplayName": model.display_name,
    }


def template_view(tpl: Template) -> dict[str, Any]:
    out = template_summary(tpl)
    out["userReorderEnabled"] = tpl.user_reorder_enabled
    out["lineKeys"] = copy.deepcopy(tpl.line_keys)
    return out


def template_model(name: str) -> catalog.Model:
    model = catalog.MODELS.get(name)
    if model is None:
        raise bad_request(f"deviceModel {name} is not a supported device model.")
    if not model.layout:
        raise bad_request(f"Line key templates are not supported for {model.display_name}.")
    return model


def template_line_keys(model: catalog.Model, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return check_line_keys(model, keys, written=True)
