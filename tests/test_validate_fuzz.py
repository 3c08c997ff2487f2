"""Property tests: whatever the input, validation returns diagnostics and never raises."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.load import available_backends, load_paths, to_raw
from reconciler.model import KINDS
from reconciler.render.formats import result_renderer
from reconciler.validation.validate import validate_text

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_resources, _ = load_paths([ROOT / "tests" / "manifests" / "valid", ROOT / "examples"])
SEEDS: list[dict[str, Any]] = [
    {"apiVersion": "reconciler/v1", "kind": r.kind, "metadata": to_raw(r.metadata), "spec": to_raw(r.spec)}
    for r in _resources
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        ["PRIMARY", "SPEED_DIAL", "FIVE_MIN", "0A:1B:2C:3D:4E:5F", "org", "reconciler/v1", "Device"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
        st.fixed_dictionaries({"fromEnv": st.one_of(st.text(max_size=8), st.integers())}),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated_manifests(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths[1:] or paths))
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        if not path:
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=10))] = draw(json_values)
        elif isinstance(parent[key], list):
            parent[key].append(draw(json_values))
    return doc


def _check(text: str) -> None:
    result = validate_text(text, "fuzz.yaml")
    for d in result.diagnostics:
        assert d.location is None or d.location.file == "fuzz.yaml"
        assert d.location is None or (d.location.line >= 1 and d.location.col >= 1)
    result_renderer("text").validation(result)
    result_renderer("json").validation(result)


@pytest.mark.parametrize("backend", available_backends())
@SETTINGS
@given(docs=st.lists(mutated_manifests(), min_size=1, max_size=3))
def test_mutated_manifests_never_raise(docs: list[dict[str, Any]], backend: str) -> None:
    import os

    os.environ["RECONCILER_YAML_BACKEND"] = backend
    try:
        # JSON is YAML: one document per manifest
        _check("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    finally:
        os.environ.pop("RECONCILER_YAML_BACKEND", None)


yaml_tokens = st.sampled_from(
    [
        "apiVersion: reconciler/v1\n",
        "kind: Device\n",
        "metadata:\n",
        "spec:\n",
        "  ",
        "- ",
        ": ",
        "\n",
        "---\n",
        "...\n",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "*b",
        "!!str ",
        "!!int ",
        "!tag ",
        "<<: ",
        "\t",
        "'",
        '"',
        "#",
        "|\n",
        ">\n",
        "? ",
        "mac: 0A1B2C3D4E5F\n",
        "members: [{port: 1}]\n",
        "fromEnv: X",
        "%YAML 1.2\n",
        "\\x",
        "\ufeff",
        "\x00",
        "\u2028",
        "0x",
        "~",
        "null",
        "true",
    ]
)


@SETTINGS
@given(parts=st.lists(yaml_tokens, max_size=40))
def test_yaml_like_noise_never_raises(parts: list[str]) -> None:
    _check("".join(parts))


@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    _check(text)


@SETTINGS
@given(doc=mutated_manifests())
def test_fast_schema_check_agrees_with_jsonschema(doc: dict[str, Any]) -> None:
    from reconciler.validation.schema import fast_check, validator_for

    kind = doc.get("kind")
    if kind not in KINDS:
        return
    fast = fast_check(kind)
    assert fast is not None
    assert fast(doc) == validator_for(kind).is_valid(doc)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_fast_schema_check_accepts_the_valid_seeds(seed: int) -> None:
    from reconciler.validation.schema import fast_check

    doc = SEEDS[seed]
    check = fast_check(doc["kind"])
    assert check is not None and check(doc)
