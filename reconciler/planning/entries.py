"""The entries of a list field change: members keyed by port, line keys by index. Pure functions.

Shared by the drift report (``planning.drift``), the pull-request review (``planning.review``) and
the renderers (``reconciler.render``); it depends only on ``planning.diff`` and ``planning.plan``.
"""

from __future__ import annotations

from typing import Any

from reconciler.planning.diff import FieldChange
from reconciler.planning.plan import canonical


def natural_key(key: str) -> tuple[Any, ...]:
    """Sort key of an entry key: ``port 2`` before ``port 10``, ``1.2`` before ``1.10``."""
    parts = key.replace("port ", "").split(".")
    return (*(int(p) if p.isdigit() else 0 for p in parts), key)


def entry_key(x: dict[str, Any]) -> str:
    if "port" in x:
        return f"port {x['port']}"
    return str(x.get("lineKeyIndex"))


def entries(value: Any) -> dict[str, Any] | None:
    """A list of members / keys as {key: entry}; None when the value is no such list."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        out = {entry_key(x): x for x in value}
        return out if len(out) == len(value) else None
    return None


def entry_pairs(change: FieldChange) -> dict[str, tuple[Any, Any]] | None:
    """The differing entries of a list change: key -> (live, declared); None for a plain field."""
    before, after = entries(change.before), entries(change.after)
    if before is None and after is None:
        return None
    if (before is None and change.before not in (None, [], {})) or (
        after is None and change.after not in (None, [], {})
    ):
        return None
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after), key=natural_key)
    return {
        k: (before.get(k), after.get(k)) for k in keys if canonical(before.get(k)) != canonical(after.get(k))
    }


def subset(value: Any, keys: set[str]) -> Any:
    """The entries of a members list / keys mapping whose key is in ``keys``, same shape."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if str(k) in keys}
    if isinstance(value, list):
        return [x for x in value if isinstance(x, dict) and entry_key(x) in keys]
    return value
