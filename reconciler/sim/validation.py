"""Request body validation against the official spec's request schemas (data/spec_schemas.json).

Two things differ from a plain ``jsonschema`` check, both because the spec's own request examples
(and the documentation's) would otherwise be refused:

* booleans sent as the strings ``"true"``/``"false"`` are accepted and coerced, as the real API's
  JSON binding does (the applyLineKeyTemplate documentation example sends them);
* a few ``required`` entries that the spec's examples contradict are relaxed (``RELAXED_REQUIRED``);
  where they matter the simulator checks them semantically instead (``sharedLineIndex`` for
  ``SHARED_LINE`` keys, ``templateId`` for ``APPLY_TEMPLATE``).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from .errors import ApiError

DATA = Path(__file__).resolve().parent / "data" / "spec_schemas.json"

RELAXED_REQUIRED: dict[str, frozenset[str]] = {
    "ProgrammableLineKeys": frozenset({"sharedLineIndex"}),
    "KEMKeys": frozenset({"sharedLineIndex"}),
    "PostApplyLineKeyTemplateRequest": frozenset({"templateId"}),
}


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    schemas = data["components"]["schemas"]
    for name, dropped in RELAXED_REQUIRED.items():
        schema = schemas.get(name)
        if schema and "required" in schema:
            schema["required"] = [r for r in schema["required"] if r not in dropped]
    return data


def operations() -> list[str]:
    return list(_data()["operations"])


@lru_cache(maxsize=1)
def numeric_fields() -> frozenset[str]:
    """The names of the properties the request schemas type as numbers (ports, indexes, timers)."""
    return frozenset(
        name
        for schema in _data()["components"]["schemas"].values()
        for name, prop in (schema.get("properties") or {}).items()
        if prop.get("type") in ("number", "integer")
    )


@lru_cache(maxsize=64)
def _validator(operation: str) -> jsonschema.protocols.Validator:
    data = _data()
    schema = dict(data["operations"][operation])
    schema["components"] = data["components"]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    while ref:
        schema = _data()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        ref = schema.get("$ref")
    return schema


def coerce(instance: Any, schema: dict[str, Any]) -> Any:
    """Coerce "true"/"false" strings where the schema wants a boolean (recursively)."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "boolean" and isinstance(instance, str) and instance.lower() in ("true", "false"):
        return instance.lower() == "true"
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        return {k: coerce(v, props[k]) if k in props else v for k, v in instance.items()}
    if isinstance(instance, list) and "items" in schema:
        return [coerce(v, schema["items"]) for v in instance]
    return instance


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where or '(body)'}: {error.message}"


def validate(operation: str, body: Any) -> Any:
    """The coerced body, or ApiError(400) listing what is wrong with it."""
    data = _data()
    if operation not in data["operations"]:
        return body
    coerced = coerce(copy.deepcopy(body), data["operations"][operation])
    errors = sorted(_validator(operation).iter_errors(coerced), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        descriptions = [_describe(e) for e in errors[:20]]
        raise ApiError(400, "Invalid request body: " + descriptions[0], descriptions=descriptions)
    return coerced
