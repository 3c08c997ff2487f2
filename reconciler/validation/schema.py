"""JSON Schema validation of manifests (``reconciler/schemas/``), as diagnostics with positions.

The schemas are Draft 2020-12 and split into files (one per kind plus the generated device
settings). For speed, every ``$ref`` is inlined once per process and one compiled validator is
kept per kind. Never prints, never raises for bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.manifests.load import escape_pointer, has_secret, label_of, to_raw
from reconciler.model import API_VERSION, KINDS, Diagnostic, Resource
from reconciler.textsafe import did_you_mean, shown

if TYPE_CHECKING:  # jsonschema itself is imported when a file needs checking (_validator_class)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "SCHEMA_DIR",
    "fast_check",
    "kind_schema",
    "load_schema",
    "raw_document",
    "validate_resource",
    "validate_resources",
    "validator_for",
]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"

MAX_LISTED = 10  # enum values / allowed fields listed in one message


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One schema file of ``reconciler/schemas/`` by file name (e.g. ``Device.schema.json``)."""
    doc: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return doc


def kind_schema(kind: str) -> dict[str, Any]:
    """The schema of one kind, as written in its file (with ``$ref`` s)."""
    return load_schema(f"{kind}.schema.json")


def _pointer_get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in pointer.lstrip("/").split("/") if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


class _Inliner:
    """Replace every ``$ref`` by the schema it names, sharing one object per target."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, str], Any] = {}
        self.busy: set[tuple[str, str]] = set()

    def target(self, ref: str, file: str) -> Any:
        where, _, pointer = ref.partition("#")
        key = (where or file, pointer)
        if key in self.done:
            return self.done[key]
        if key in self.busy:
            raise ValueError(f"recursive $ref {ref} in {file}")
        self.busy.add(key)
        value = self.walk(_pointer_get(load_schema(key[0]), pointer), key[0])
        self.busy.discard(key)
        self.done[key] = value
        return value

    def walk(self, node: Any, file: str) -> Any:
        if isinstance(node, list):
            return [self.walk(v, file) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = self.target(node["$ref"], file)
            rest = {k: self.walk(v, file) for k, v in node.items() if k != "$ref"}
            if not rest:
                return target
            return {**rest, "allOf": [target, *rest.get("allOf", [])]}
        return {k: self.walk(v, file) for k, v in node.items()}


@cache
def _inlined(kind: str) -> dict[str, Any]:
    file = f"{kind}.schema.json"
    schema: dict[str, Any] = _Inliner().walk(load_schema(file), file)
    schema.pop("$defs", None)
    return schema


@cache
def _validator_class() -> Any:
    """Draft 2020-12 with a strict ``integer``. jsonschema is imported here, on first use: a run
    whose files the parse cache answers (parse_cache.py) never needs it (~70 ms of start-up)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _c, v: _is_integer(v)),
    )


@cache
def validator_for(kind: str) -> Draft202012Validator:
    """The jsonschema validator of one kind (cached for the process): the authority on errors.
    Its ``integer`` is strict (``1.0`` is not one)."""
    validator: Draft202012Validator = _validator_class()(_inlined(kind))
    return validator


# --------------------------------------------------------------------------------------------
# Fast path: the same schema compiled to plain Python predicates, for the common case of a valid
# manifest. It answers only "valid or not"; jsonschema is consulted for every manifest it
# rejects, so every message still comes from jsonschema. It supports exactly the keywords our
# schemas use and refuses (returns None) on anything else, so it can never be more lenient than
# jsonschema by not knowing a keyword. A property test checks that both always agree.

Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$comment", "$defs", "title", "description", "default", "errorMessage"})


class _Unsupported(Exception):
    pass


def _is_integer(v: Any) -> bool:
    """An integer as YAML wrote it: ``1.0`` is a float, and the API wants ``1`` (a float where an
    integer belongs crashed planning), so it is refused, unlike JSON Schema's default."""
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]

    def check(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 (a plain loop is faster than all() on a generator)
            if not c(v):
                return False
        return True

    return check


class _Compiler:
    def __init__(self) -> None:
        self.memo: dict[int, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        key = id(schema)
        if key not in self.memo:
            self.memo[key] = self._compile(schema)
        return self.memo[key]

    def _compile(self, s: dict[str, Any]) -> Check:
        known = {
            "type", "enum", "const", "properties", "additionalProperties", "required", "minProperties",
            "items", "minItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf", "oneOf",
            "allOf", "if", "then", "else",
        }  # fmt: skip
        unknown = set(s) - known - _ANNOTATIONS
        if unknown:
            raise _Unsupported(", ".join(sorted(unknown)))
        checks = _value_checks(s)
        if {"properties", "additionalProperties", "required", "minProperties"} & set(s):
            checks.append(self._object(s))
        if "items" in s or "minItems" in s:
            item = self.compile(s["items"]) if "items" in s else None
            checks.append(_array_check(item, s.get("minItems", 0)))
        checks += _bound_checks(s)
        checks += self._combined(s)
        return _all(checks)

    def _combined(self, s: dict[str, Any]) -> list[Check]:
        """``anyOf``, ``oneOf``, ``allOf`` and ``if``/``then``/``else``."""
        checks: list[Check] = []
        if "anyOf" in s:
            subs = [self.compile(x) for x in s["anyOf"]]
            checks.append(lambda v: any(c(v) for c in subs))
        if "oneOf" in s:
            one = [self.compile(x) for x in s["oneOf"]]
            checks.append(lambda v: sum(1 for c in one if c(v)) == 1)
        if "allOf" in s:
            checks.extend(self.compile(x) for x in s["allOf"])
        if "if" in s:
            cond = self.compile(s["if"])
            then = self.compile(s["then"]) if "then" in s else None
            other = self.compile(s["else"]) if "else" in s else None

            def if_then_else(v: Any) -> bool:
                if cond(v):
                    return then is None or then(v)
                return other is None or other(v)

            checks.append(if_then_else)
        return checks

    def _object(self, s: dict[str, Any]) -> Check:
        props = {k: self.compile(v) for k, v in s.get("properties", {}).items()}
        extra = s.get("additionalProperties", True)
        if extra not in (True, False):
            raise _Unsupported("additionalProperties schema")
        closed = extra is False
        required = tuple(s.get("required", ()))
        min_props: int = s.get("minProperties", 0)

        def obj(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, val in v.items():
                c = props.get(k)
                if c is None:
                    if closed:
                        return False
                elif not c(val):
                    return False
            for r in required:
                if r not in v:
                    return False
            return len(v) >= min_props

        return obj


@cache
def fast_check(kind: str) -> Check | None:
    """A predicate equivalent to ``validator_for(kind).is_valid`` (None if not compilable)."""
    try:
        return _Compiler().compile(_inlined(kind))
    except _Unsupported:
        return None


def raw_document(resource: Resource) -> dict[str, Any]:
    """The manifest as written (``SecretRef`` back to ``{fromEnv: NAME}``), for validation."""
    return {
        "apiVersion": API_VERSION,
        "kind": resource.kind,
        "metadata": to_raw(resource.metadata) if has_secret(resource.metadata) else resource.metadata,
        "spec": to_raw(resource.spec) if has_secret(resource.spec) else resource.spec,
    }


# --------------------------------------------------------------------------------------------
# Messages


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


_YAML11_BOOLS = frozenset({"yes", "no", "on", "off", "y", "n"})
_TYPE_WORDS = {"object": "mapping", "array": "list"}


def _short(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:MAX_LISTED])
    if len(values) > MAX_LISTED:
        shown += f", ... ({len(values) - MAX_LISTED} more)"
    return shown


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    """(JSON pointer, message) pairs for one schema error."""
    ptr = "".join("/" + escape_pointer(str(p)) for p in error.absolute_path)
    inst = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    kw = error.validator
    value = error.validator_value
    custom = schema.get("errorMessage") if isinstance(schema.get("errorMessage"), str) else None

    if kw == "additionalProperties" and isinstance(inst, dict):
        return _unknown_fields(ptr, inst, list(schema.get("properties", {})))
    if kw == "required" and isinstance(inst, dict):
        missing = [k for k in value if k not in inst]
        where = f" in {field_name(ptr)}" if ptr else ""
        return [(ptr, f"missing required field {k!r}{where}") for k in missing]
    said = _KEYWORD_MESSAGES[kw](inst, value) if kw in _KEYWORD_MESSAGES else None
    if said is not None:
        return [(ptr, said)]
    if custom:
        if kw == "anyOf" and not isinstance(inst, dict | list):
            custom += f", got {_json_type(inst)} {shown(inst)}"
        return [(ptr, custom)]
    if kw == "pattern":
        return [(ptr, f"{shown(inst)} does not match the pattern {value}")]
    return [(ptr, error.message)]


def _unknown_fields(ptr: str, inst: dict[str, Any], allowed: list[str]) -> list[tuple[str, str]]:
    out = []
    for key in inst:
        if key in allowed:
            continue
        msg = f"unknown field {key!r}" + (f" in {field_name(ptr)}" if ptr else "")
        hint = did_you_mean(key, allowed)
        if hint:
            msg += hint
        elif 0 < len(allowed) <= 8:
            msg += f" (allowed here: {', '.join(allowed)})"
        out.append((f"{ptr}/{escape_pointer(str(key))}", msg))
    return out


def _type_message(inst: Any, value: Any) -> str:
    """``expected a string, got a number 7 (quote it: "7")``: the types, and how to write it."""
    expected = value if isinstance(value, list) else [value]
    words = " or ".join(str(_TYPE_WORDS.get(t, t)) for t in expected)
    msg = f"expected {words}, got {_json_type(inst)}"
    if not isinstance(inst, dict | list):
        msg += f" {shown(inst)}"
    if "integer" in expected and isinstance(inst, float) and inst.is_integer():
        msg += f" (write {int(inst)})"
    elif "string" in expected and isinstance(inst, int | float) and not isinstance(inst, bool):
        msg += f' (quote it: "{shown(inst)}")'
    elif "string" in expected and isinstance(inst, bool):
        msg += " (quote it if a string is meant)"
    elif "boolean" in expected and isinstance(inst, str) and inst.lower() in _YAML11_BOOLS:
        msg += " (write true or false)"
    elif "string" in expected and isinstance(inst, dict) and "fromEnv" in inst:
        msg += " ({fromEnv: NAME} is allowed only for settings strings and sipPassword)"
    return msg


# The message of each keyword whose message depends only on the value and the keyword's argument
# (None: the schema's own errorMessage, else jsonschema's, is used).
_KEYWORD_MESSAGES: dict[str, Callable[[Any, Any], str | None]] = {
    "enum": lambda inst, value: (
        f"{shown(inst)} is not one of: {_short(list(value))}{did_you_mean(inst, value)}"
    ),
    "const": lambda inst, value: f"must be {value!r}, not {shown(inst)}",
    "type": _type_message,
    "minimum": lambda inst, value: f"must be at least {value}, got {shown(inst)}",
    "maximum": lambda inst, value: f"must be at most {value}, got {shown(inst)}",
    "minLength": lambda inst, value: (
        "must not be empty" if value == 1 else f"must be at least {value} characters"
    ),
    "maxLength": lambda inst, value: (
        f"{shown(inst)} is {len(inst):,} characters: at most {value}" if isinstance(inst, str) else None
    ),
    "minItems": lambda inst, value: f"needs at least {value} item{'s' if value != 1 else ''}",
}


def _sort_key(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), str(list(error.absolute_path)))


def validate_resource(resource: Resource) -> list[Diagnostic]:
    """Schema problems of one resource, each at the position of the offending field."""
    if resource.kind not in KINDS:
        return [
            Diagnostic(
                resource.loc("/kind"),
                f"unknown kind {resource.kind!r}; expected one of: " + ", ".join(KINDS),
                code="schema",
            )
        ]
    raw = raw_document(resource)
    fast = fast_check(resource.kind)
    if fast is not None and fast(raw):
        return []
    label = label_of(resource)
    out: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    errors = sorted(validator_for(resource.kind).iter_errors(raw), key=_sort_key)
    # A value outside an enum also fails the enum's "type": report the enum only.
    enum_paths = {tuple(e.absolute_path) for e in errors if e.validator in ("enum", "const")}
    for error in errors:
        if error.validator == "type" and tuple(error.absolute_path) in enum_paths:
            continue
        for ptr, msg in _messages(error):
            if (ptr, msg) in seen:
                continue
            seen.add((ptr, msg))
            out.append(Diagnostic(resource.loc(ptr), _naming_the_field(ptr, msg), label, code="schema"))
    return out


def field_name(pointer: str) -> str:
    """``/spec/members/0/port`` as a reader writes it: ``spec.members[0].port``."""
    out = ""
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        out += f"[{token}]" if token.isdigit() else (f".{token}" if out else token)
    return out


def _naming_the_field(pointer: str, message: str) -> str:
    """The message with the field it is about: ``spec.concurrency: must be at most 128, got 500``
    (unknown and missing fields name theirs already: ``unknown field 'x' in spec.settings``)."""
    if message.startswith(("unknown field ", "missing required field ")):
        return message
    name = field_name(pointer)
    return f"{name}: {message}" if name else message


def validate_resources(resources: Iterable[Resource]) -> list[Diagnostic]:
    """Schema problems of every resource (all of them, not only the first)."""
    out: list[Diagnostic] = []
    for res in resources:
        out.extend(validate_resource(res))
    return out


def _value_checks(s: dict[str, Any]) -> list[Check]:
    """``type``, ``enum`` and ``const`` (string enums and constants only)."""
    checks: list[Check] = []
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        preds = [_TYPE_CHECKS[t] for t in types]
        checks.append(preds[0] if len(preds) == 1 else (lambda v: any(p(v) for p in preds)))
    if "enum" in s:
        if not all(isinstance(e, str) for e in s["enum"]):
            raise _Unsupported("non-string enum")
        allowed = frozenset(s["enum"])
        checks.append(lambda v: isinstance(v, str) and v in allowed)
    if "const" in s:
        if not isinstance(s["const"], str):
            raise _Unsupported("non-string const")
        const = s["const"]
        checks.append(lambda v: isinstance(v, str) and v == const)
    return checks


def _array_check(item: Check | None, min_items: int) -> Check:
    def array(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        if len(v) < min_items:
            return False
        return item is None or all(item(x) for x in v)

    return array


def _bound_checks(s: dict[str, Any]) -> list[Check]:
    """String lengths and patterns, number bounds."""
    checks: list[Check] = []
    if "minLength" in s or "maxLength" in s or "pattern" in s:
        min_len, max_len = s.get("minLength", 0), s.get("maxLength")
        pattern = re.compile(s["pattern"]) if "pattern" in s else None
        checks.append(
            lambda v: (
                not isinstance(v, str)
                or (
                    min_len <= len(v)
                    and (max_len is None or len(v) <= max_len)
                    and (pattern is None or bool(pattern.search(v)))
                )
            )
        )
    if "minimum" in s or "maximum" in s:
        lo, hi = s.get("minimum"), s.get("maximum")
        checks.append(lambda v: not _is_number(v) or ((lo is None or v >= lo) and (hi is None or v <= hi)))
    return checks
