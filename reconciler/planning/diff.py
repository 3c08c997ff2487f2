"""Desired vs live on the fields a manifest declares, and nothing else. Pure functions.

Paths are JSON pointers relative to the object being compared (``/customizations/mpp/vlan``).
Mappings are walked; lists and scalars are leaves, so a declared list is owned whole.
A secret reference (``SecretRef``) is compared by the value of its variable when that is set
(``secret_values``: a difference is a sensitive change, the value never kept); otherwise it is
left out of the diff and written whenever its object is written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.model import LiveSecret, SecretRef, is_secret_field
from reconciler.planning.secret_values import live_differs


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``before`` is live (None when absent), ``after`` desired.
    ``follows``: the manifest a field left undeclared takes its value from (``org``,
    ``location Headquarters``: ``reconciler.planning.kinds.inherit``)."""

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    follows: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.sensitive:
            out: dict[str, Any] = {"path": self.path, "before": "(sensitive)", "after": "(sensitive)"}
            out["sensitive"] = True
            if isinstance(self.after, SecretRef):
                out["fromEnv"] = self.after.env  # the variable's name, never its value
        else:
            out = {"path": self.path, "before": to_jsonable(self.before), "after": to_jsonable(self.after)}
        if self.follows:
            out["follows"] = self.follows
        return out


_MISSING = object()


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def split_pointer(pointer: str) -> list[str]:
    if not pointer or pointer == "/":
        return []
    return [unescape(t) for t in pointer.lstrip("/").split("/")]


def get_pointer(obj: Any, pointer: str, default: Any = None) -> Any:
    cur = obj
    for token in split_pointer(pointer):
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return default
    return cur


def set_pointer(obj: dict[str, Any], pointer: str, value: Any) -> None:
    tokens = split_pointer(pointer)
    cur: Any = obj
    for token in tokens[:-1]:
        nxt = cur.get(token)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[token] = nxt
        cur = nxt
    cur[tokens[-1]] = value


def remove_pointer(obj: Any, pointer: str) -> None:
    tokens = split_pointer(pointer)
    cur = obj
    for token in tokens[:-1]:
        if not isinstance(cur, dict) or token not in cur:
            return
        cur = cur[token]
    if isinstance(cur, dict):
        cur.pop(tokens[-1], None)


def leaves(desired: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every declared leaf of ``desired``: (pointer, value). Empty mappings are leaves too."""
    if isinstance(desired, dict) and desired:
        for key, value in desired.items():
            yield from leaves(value, f"{prefix}/{escape(str(key))}")
    else:
        yield prefix, desired


def _ignored(pointer: str, ignore: list[str]) -> bool:
    return any(pointer == ig or pointer.startswith(ig.rstrip("/") + "/") for ig in ignore)


def strip_ignored(desired: dict[str, Any], ignore: list[str]) -> dict[str, Any]:
    """A copy of ``desired`` without the ignored pointers."""
    out = copy.deepcopy(desired)
    for ig in ignore:
        remove_pointer(out, ig)
    return out


def equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1; dict key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def diff_declared(
    desired: dict[str, Any], live: dict[str, Any], ignore: list[str] | None = None, prefix: str = ""
) -> list[FieldChange]:
    """Field changes on the declared leaves of ``desired`` (minus ``ignore``), pointers prefixed."""
    changes: list[FieldChange] = []
    _diff_walk(desired, live, "", ignore or [], prefix, changes)
    return changes


def _diff_walk(
    want: Any, have: Any, pointer: str, ignore: list[str], prefix: str, changes: list[FieldChange]
) -> None:
    """``leaves(desired)`` with the live value at each pointer (as ``get_pointer`` finds it), walked
    together in one pass instead of a lookup from the root per leaf. (A function, not a closure
    calling itself: that closure would be a reference cycle, freed only by the cyclic collector.)"""
    if isinstance(want, dict) and want:
        for key, value in want.items():
            token = str(key)
            if isinstance(have, dict):
                sub = have.get(token, _MISSING)
            elif isinstance(have, list) and token.isdigit() and int(token) < len(have):
                sub = have[int(token)]
            else:
                sub = _MISSING
            _diff_walk(value, sub, f"{pointer}/{escape(token)}", ignore, prefix, changes)
        return
    if ignore and _ignored(pointer, ignore):
        return
    if isinstance(want, SecretRef):
        if live_differs(want, None if have is _MISSING else have):
            changes.append(FieldChange(prefix + pointer, None, want, sensitive=True))
        return
    if contains_secret(want):
        return
    if have is _MISSING:
        have = None
    if not equal(want, have):
        secret = is_secret_field(unescape(pointer.rsplit("/", 1)[-1]))
        changes.append(FieldChange(prefix + pointer, have, want, sensitive=secret))


def merge_declared(
    live: dict[str, Any], desired: dict[str, Any], ignore: list[str] | None = None
) -> dict[str, Any]:
    """Read-modify-write: the live object with every declared (not ignored) leaf set.

    Only the mappings on the way to a declared leaf are copied; the rest of the result is shared
    with ``live`` (a plan of 10,000 devices holds 10,000 settings bodies: copying each live object
    whole cost most of their memory and seconds of CPU). Copy the result before changing it.
    """
    ignore = ignore or []
    out = dict(live)
    mine = {id(out)}  # the mappings of ``out`` made here, which may be changed in place
    for pointer, want in leaves(desired):
        if not pointer or _ignored(pointer, ignore):
            continue
        tokens = split_pointer(pointer)
        cur = out
        for token in tokens[:-1]:
            nxt = cur.get(token)
            if not isinstance(nxt, dict):
                nxt = {}
            elif id(nxt) not in mine:
                nxt = dict(nxt)
            else:
                cur = nxt
                continue
            mine.add(id(nxt))
            cur[token] = nxt
            cur = nxt
        cur[tokens[-1]] = copy.deepcopy(want)
    return out


def without_secret_fields(value: Any) -> Any:
    """``value`` without any secret field (what export writes: a password is declared only on
    purpose, as ``{fromEnv: NAME}``; left out, the live one is kept)."""
    if isinstance(value, dict):
        return {k: without_secret_fields(v) for k, v in value.items() if not is_secret_field(k)}
    if isinstance(value, list):
        return [without_secret_fields(v) for v in value]
    return value


def keep_live_secrets(body: Any, path: str, pointer: str = "") -> Any:
    """``body`` (built on the answer of GET ``path``) with every non-empty live value of a secret
    field replaced by a ``LiveSecret``; a declared ``SecretRef`` stays. Copies only the mappings
    and lists on the way to a replaced value (the rest is shared with the answer)."""
    if isinstance(body, dict):
        out: dict[str, Any] | None = None
        for key, value in body.items():
            here = f"{pointer}/{escape(str(key))}"
            if isinstance(value, str) and value and is_secret_field(key):
                new: Any = LiveSecret(path, here)
            else:
                new = keep_live_secrets(value, path, here)
            if new is not value:
                out = dict(body) if out is None else out
                out[key] = new
        return body if out is None else out
    if isinstance(body, list):
        items = [keep_live_secrets(v, path, f"{pointer}/{i}") for i, v in enumerate(body)]
        return body if all(a is b for a, b in zip(items, body, strict=True)) else items
    return body


def with_secret_writes(changes: list[FieldChange], body: Any) -> list[FieldChange]:
    """``changes`` plus one sensitive change per ``{fromEnv: NAME}`` the ``body`` writes that no
    change shows yet: every secret a step sends is a line of the plan, naming its variable."""
    if not contains_secret(body):
        return changes
    shown = {c.path for c in changes if c.sensitive}
    added = [
        FieldChange(pointer, None, ref, sensitive=True)
        for pointer, ref in _secret_refs(body, "")
        if not any(pointer == p or pointer.endswith(p) or p.endswith(pointer) for p in shown)
    ]
    return [*changes, *added]


def _secret_refs(value: Any, pointer: str) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(value, SecretRef):
        yield pointer, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _secret_refs(v, f"{pointer}/{escape(str(k))}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secret_refs(v, f"{pointer}/{i}")


def contains_secret(value: Any) -> bool:
    if isinstance(value, SecretRef | LiveSecret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def to_jsonable(value: Any) -> Any:
    """Plain JSON: secrets become ``{"fromEnv": NAME}`` (the reference, never the value)."""
    if isinstance(value, SecretRef):
        return {"fromEnv": value.env}
    if isinstance(value, LiveSecret):
        return {"fromLive": {"path": value.path, "pointer": value.pointer}}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(value: Any) -> Any:
    """The inverse of ``to_jsonable`` for bodies loaded from a saved plan."""
    if isinstance(value, dict):
        if set(value) == {"fromEnv"} and isinstance(value["fromEnv"], str):
            return SecretRef(value["fromEnv"])
        live = value.get("fromLive")
        if set(value) == {"fromLive"} and isinstance(live, dict) and set(live) == {"path", "pointer"}:
            return LiveSecret(str(live["path"]), str(live["pointer"]))
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return value
