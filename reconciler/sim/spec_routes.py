"""Methods and query parameters as the official spec declares them (``data/spec_routes.json``,
made by :mod:`.gen_spec_routes`).

* A method a path does not declare is 405 with an ``Allow`` header listing the ones it does (HEAD
  goes with GET). A method the spec declares but the simulator does not implement (device create,
  workspace and location writes, ...) is 501.
* A query parameter the spec types is checked before the handler runs: a boolean is ``true`` or
  ``false`` (an empty value is not a boolean), a number is a finite number within 32 bits, an enum
  value is one of the spec's (except :data:`OPEN_ENUMS`). Parameters the spec types as plain
  strings, and parameters it does not declare, are the handlers' business.

The path is matched against the routing table: the first route whose path matches names the path
template (literal paths come before the ``{param}`` paths they overlap, so ``devices/settings`` is
its own template, never ``devices/{deviceId}``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import Route
from starlette.types import Scope

from .errors import ApiError, bad_request
from .limits import MAX_INT, query_number

DATA = Path(__file__).resolve().parent / "data" / "spec_routes.json"

OPEN_ENUMS = frozenset({("GET /v1/devices", "product")})
"""Enums the spec gives as examples rather than as the full list: ``/devices?product=`` lists three
room devices, and the API filters by any product name (``Cisco 8851``); clients rely on it."""

METHOD_LABELS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})


@lru_cache(maxsize=1)
def spec_paths() -> dict[str, dict[str, Any]]:
    """``{"/v1/path/{param}": {"GET": {"query": {name: {"type", "enum"?}}}}}``."""
    paths: dict[str, dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["paths"]
    return paths


def method_label(method: str) -> str:
    """The method as counted in the stats: any method that is not HTTP's own is ``OTHER`` (so the
    counters cannot grow with the method names a client makes up)."""
    return method if method in METHOD_LABELS else "OTHER"


class SpecRoutes:
    """The routing table's path templates with the methods each serves and the spec declares."""

    def __init__(self, table: list[Route]) -> None:
        served: dict[str, set[str]] = defaultdict(set)
        # Literal paths by themselves; the others by segment count, in table order (None stands
        # for a {param} segment). A literal path comes before the {param} paths it overlaps.
        self._literal: set[str] = set()
        self._by_length: dict[int, list[tuple[str, tuple[str | None, ...]]]] = defaultdict(list)
        for route in table:
            if "{" not in route.path:
                self._literal.add(route.path)
            elif route.path not in served:
                parts = tuple(None if p.startswith("{") else p for p in route.path.split("/"))
                self._by_length[len(parts)].append((route.path, parts))
            served[route.path] |= set(route.methods or ()) - {"HEAD"}
        self.served = {path: frozenset(methods) for path, methods in served.items()}

    def template(self, scope: Scope) -> str | None:
        """The path template of the first route whose path matches (as Starlette matches a
        ``{param}``: one non-empty segment), if any; kept in the request's state."""
        state = scope.setdefault("state", {})
        if "spec_template" not in state and scope["path"] in self._literal:
            state["spec_template"] = scope["path"]
        elif "spec_template" not in state:
            segments = scope["path"].split("/")
            state["spec_template"] = next(
                (
                    template
                    for template, parts in self._by_length.get(len(segments), ())
                    if all(s == p if p is not None else s != "" for p, s in zip(parts, segments, strict=True))
                ),
                None,
            )
        found: str | None = state["spec_template"]
        return found

    def allowed(self, template: str) -> frozenset[str]:
        return self.served[template] | frozenset(spec_paths().get(template, {}))

    def refusal(self, scope: Scope) -> ApiError | None:
        """405 (with ``Allow``) or 501 for the request's method, or None."""
        template = self.template(scope)
        if template is None:
            return None
        method, served = scope["method"], self.served[template]
        if method in served or (method == "HEAD" and "GET" in served):
            return None
        allowed = sorted(self.allowed(template))
        if method in allowed:
            return ApiError(501, f"The simulator does not implement {method} {template}.")
        listed = ", ".join(allowed)
        return ApiError(
            405,
            "Method not allowed.",
            descriptions=[f"Allowed methods: {listed}."],
            headers={"Allow": listed},
        )

    def query_problem(self, scope: Scope) -> ApiError | None:
        """400 for the first query parameter that is not of the spec's type, or None."""
        template = self.template(scope)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        declared = spec_paths().get(template or "", {}).get(method)
        if not declared or not declared["query"]:
            return None
        raw = scope.get("query_string", b"").decode("latin-1")
        if not raw:
            return None
        for name, value in parse_qsl(raw, keep_blank_values=True):
            typed = declared["query"].get(name)
            if typed is not None:
                try:
                    problem = _problem(name, value, typed, (f"{method} {template}", name) in OPEN_ENUMS)
                except ApiError as exc:
                    return exc
                if problem is not None:
                    return bad_request(problem)
        return None


def _problem(name: str, value: str, typed: dict[str, Any], open_enum: bool) -> str | None:
    kind = typed["type"]
    if kind == "boolean":
        return (
            None if value.lower() in ("true", "false") else f"Query parameter {name} must be true or false."
        )
    if kind in ("number", "integer"):
        number = query_number(name, value)
        if kind == "integer" and not number.is_integer():
            return f"Query parameter {name} must be a whole number (at most {MAX_INT} either side of 0)."
        return None
    enum = typed.get("enum")
    if enum and not open_enum and value not in enum:
        return f"Query parameter {name} must be one of {', '.join(map(str, enum))}."
    return None
