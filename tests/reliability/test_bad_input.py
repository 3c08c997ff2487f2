"""Bad manifests through ``reconciler plan``: a clean error with file and line, exit 1, no request.

tests/test_validate_fuzz.py already checks that validation itself never raises on random text.
This goes one level up, through the CLI with a simulator injected: files on disk (one valid
manifest beside the bad one, so a bad file cannot hide behind an empty repo), the whole command,
its exit code and output, and the simulator's counter proving that no request was sent.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.manifests.load import MAX_FILE_BYTES, load_paths, to_raw
from reconciler.sim.app import create_app
from reconciler.validation.validate import validate_text

from .conftest import EXAMPLES, tally

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))

_resources, _ = load_paths([EXAMPLES])
SEEDS: list[dict[str, Any]] = [
    {"apiVersion": "reconciler/v1", "kind": r.kind, "metadata": to_raw(r.metadata), "spec": to_raw(r.spec)}
    for r in _resources
]
GOOD = (EXAMPLES / "people" / "alice.yaml").read_text(encoding="utf-8")

_FILE_CHARS = st.characters(exclude_categories=("Cs",))  # what a UTF-8 file can hold
wrong_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(_FILE_CHARS, max_size=20),
    st.text(
        alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
        max_size=12,
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(_FILE_CHARS, max_size=6), st.integers(), max_size=3),
    st.just({"fromEnv": 12}),
    st.just({"fromEnv": "lower-case"}),
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
def wrong_types(draw: st.DrawFn) -> str:
    """A real manifest with one to three values replaced by values of another type."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)[1:]))
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = copy.deepcopy(draw(wrong_values))
    return _yaml(doc)


def _yaml(doc: Any, indent: int = 0) -> str:
    """Block-style YAML (JSON scalars), so that errors have real line numbers."""
    pad = "  " * indent
    if isinstance(doc, dict) and doc:
        lines = []
        for k, v in doc.items():
            key = json.dumps(str(k), ensure_ascii=False)
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{key}:\n{_yaml(v, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(v)}")
        return "\n".join(lines)
    if isinstance(doc, list) and doc:
        lines = []
        for v in doc:
            if isinstance(v, dict | list) and v:
                inner = _yaml(v, indent + 1).lstrip()
                lines.append(f"{pad}- {inner}")
            else:
                lines.append(f"{pad}- {_scalar(v)}")
        return "\n".join(lines)
    return pad + _scalar(doc)


def _scalar(v: Any) -> str:
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return ".nan" if v != v else (".inf" if v > 0 else "-.inf")
    return json.dumps(v, ensure_ascii=False)


def deep_nesting(depth: int, flow: bool) -> str:
    if flow:
        return (
            "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\nspec: "
            + ("[" * depth + "]" * depth)
            + "\n"
        )
    body = "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth)) + "  " * (depth + 1) + "x: 1\n"
    return "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\nspec:\n" + body


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return (
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\nspec:\n"
        + "\n".join("  " + ln for ln in lines)
        + "\n"
    )


def duplicate_keys(key: str) -> str:
    return GOOD.rstrip("\n") + f"\n{key}: one\n{key}: two\n"


@st.composite
def structural(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["deep", "deep-flow", "bomb", "dup", "dup-nested", "unicode", "tabs"]))
    if kind == "deep":
        return deep_nesting(draw(st.integers(70, 400)), flow=False)
    if kind == "deep-flow":
        return deep_nesting(draw(st.integers(70, 5000)), flow=True)
    if kind == "bomb":
        return alias_bomb(draw(st.integers(7, 12)))
    if kind == "dup":
        return duplicate_keys(draw(st.sampled_from(["spec", "kind", "metadata", "apiVersion"])))
    if kind == "dup-nested":
        return GOOD.replace("spec:\n", "spec:\n  hoteling: {}\n  hoteling: {}\n", 1)
    if kind == "unicode":
        junk = draw(
            st.text(
                alphabet=st.characters(
                    min_codepoint=0x80, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)
                ),
                min_size=1,
                max_size=40,
            )
        )
        return GOOD.replace("alice@example.com", junk, 1) + f"\n# {junk}\nextra: {json.dumps(junk)}\n"
    return GOOD.replace("spec:\n  ", "spec:\n\t", 1)


@pytest.fixture
def plan_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str | bytes], tuple[Any, Any]]:
    """``reconciler plan`` of a repo holding a good manifest and ``text`` as bad.yaml."""
    app = create_app(seed="demo")
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app))
    monkeypatch.chdir(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "good.yaml").write_text(GOOD, encoding="utf-8")

    def run(text: str | bytes) -> tuple[Any, Any]:
        bad = repo / "bad.yaml"
        if isinstance(text, bytes):
            bad.write_bytes(text)
        else:
            bad.write_text(text, encoding="utf-8")
        app.state.sim.stats.reset()
        result = CliRunner().invoke(main, ["plan", "repo"], catch_exceptions=True)
        return result, app.state.sim.stats

    return run


LOCATED = re.compile(r"repo/bad\.yaml:(\d+)(:\d+)?")


def check(run: Callable[[str | bytes], tuple[Any, Any]], text: str | bytes, family: str) -> None:
    result, stats = run(text)
    out = result.output
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if isinstance(text, str) and validate_text(text, "repo/bad.yaml").ok:
        assert result.exit_code in (0, 1), out  # a mutation that is still valid: planned normally
        return
    assert result.exit_code == 1, out
    m = LOCATED.search(out)
    assert m and int(m.group(1)) >= 1, out
    assert stats.requests_total == 0, stats.to_json()
    tally(f"bad input: {family}", "inputs, all clean errors with file:line, exit 1", requests_sent=0)


@FUZZ
@given(text=wrong_types())
def test_wrong_types_are_clean_errors(plan_cli: Any, text: str) -> None:
    check(plan_cli, text, "wrong types in real manifests")


@FUZZ
@given(text=structural())
def test_structural_attacks_are_clean_errors(plan_cli: Any, text: str) -> None:
    check(plan_cli, text, "deep nesting, alias bombs, duplicate keys, unicode, tabs")


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(min_size=1, max_size=200))
def test_binary_garbage_is_a_clean_error(plan_cli: Any, data: bytes) -> None:
    check(plan_cli, b"\xff\xfe" + data, "binary / invalid UTF-8")


def test_huge_files_are_clean_errors(plan_cli: Any) -> None:
    # over the size limit: refused unread
    check(plan_cli, "# " + "x" * (MAX_FILE_BYTES + 10) + "\n", "huge files")
    # under it, but a problem on its last line of 100,000 documents: the right line is named
    doc = GOOD.rstrip("\n") + "\n---\n"
    big = doc * 2_000 + GOOD.replace("alice@example.com", "not-an-email", 1)
    result, stats = plan_cli(big)
    assert result.exit_code == 1 and stats.requests_total == 0, result.output
    assert "Traceback" not in result.output
    tally("bad input: huge files", "inputs, all clean errors with file:line, exit 1", requests_sent=0)
