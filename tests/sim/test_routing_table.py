"""The routing table assembled from the route modules: each route once, literal paths first."""

from __future__ import annotations

from starlette.routing import Route

from reconciler.sim.app import routes


def _segments(route: Route) -> list[str]:
    return route.path.strip("/").split("/")


def _overlap(a: list[str], b: list[str]) -> bool:
    """True when some request path matches both templates."""
    if len(a) != len(b):
        return False
    return all(x == y or x.startswith("{") or y.startswith("{") for x, y in zip(a, b, strict=True))


def _literal_first(a: list[str], b: list[str]) -> bool:
    """True when ``a`` has a literal where ``b`` has a parameter at the first segment they differ."""
    for x, y in zip(a, b, strict=True):
        if x != y:
            return not x.startswith("{") and y.startswith("{")
    return True


def test_each_path_and_method_is_routed_once() -> None:
    keys = [(route.path, method) for route in routes() for method in route.methods or ()]
    assert len(keys) == len(set(keys))


def test_literal_paths_come_before_the_parameters_they_overlap() -> None:
    table = routes()
    wrong = []
    for i, first in enumerate(table):
        for later in table[i + 1 :]:
            a, b = _segments(first), _segments(later)
            if a != b and _overlap(a, b) and not _literal_first(a, b):
                wrong.append(f"{later.path} must come before {first.path}")
    assert wrong == []
