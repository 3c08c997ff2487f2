"""The block-YAML fast path agrees with libyaml: for every text it takes, the same values, the same
position for every key and item and the same document start, and no text it takes is one libyaml
finds a problem in. Anything else it must leave to libyaml (answer None)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests import blockyaml
from reconciler.manifests.compose import parse_documents
from reconciler.manifests.discovery import discover, read_manifests
from reconciler.model import SecretRef

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.sampled_from(["a", "b", "port", "lineKeyIndex", "mac", "fromEnv", "x_1", "true", "null", "Y"])
PLAIN = st.sampled_from(
    [
        "1",
        "-5",
        "0x1F",
        "0o17",
        "1.5e3",
        ".inf",
        "~",
        "null",
        "True",
        "yes",
        "on",
        "007",
        "20:94:5E:00:14:64",
        "Site 027 Raleigh",
        "dan.young@example.com",
        "O'Brien",
        'say "hi"',
        "a  b",
        "Café",
        "-",
        "a: b",
        "a #b",
        "x:",
        "[1]",
        "{a: 1}",
        "*ref",
        "&a x",
        "! 5",
        "!!str 5",
        "|",
        "'q'",
        "'it''s'",
        '"dq"',
        '"a\\tb"',
        "'open",
        "",
    ]
)


def _block(value: Any, indent: int, step: int, out: list[str], prefix: str) -> None:
    """Block YAML of ``value`` (dicts of word keys, lists, scalar texts) into ``out``."""
    pad = " " * indent
    if isinstance(value, dict):
        first = True
        for key, item in value.items():
            lead = prefix if first else pad
            first = False
            if isinstance(item, str):
                out.append(f"{lead}{key}: {item}".rstrip(" ") if item else f"{lead}{key}:")
            elif isinstance(item, tuple):  # a one-line flow mapping
                body = ", ".join(f"{k}: {v}" for k, v in item)
                out.append(f"{lead}{key}: {{{body}}}")
            elif not item:
                out.append(f"{lead}{key}: {'{}' if isinstance(item, dict) else '[]'}")
            else:
                out.append(f"{lead}{key}:")
                _block(item, indent + step, step, out, " " * (indent + step))
    else:
        for item in value:
            lead = pad + "- "
            if isinstance(item, str):
                out.append(f"{lead}{item}".rstrip(" "))
            elif isinstance(item, tuple):
                out.append(lead + "{" + ", ".join(f"{k}: {v}" for k, v in item) + "}")
            elif isinstance(item, dict) and item:
                _block(item, indent + 2, step, out, lead)
            else:
                out.append(f"{lead}{'{}' if isinstance(item, dict) else '[]'}")


values = st.recursive(
    PLAIN | st.lists(st.tuples(WORDS, PLAIN), max_size=3).map(tuple),
    lambda inner: st.dictionaries(WORDS, inner, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=12,
)
EDIT_CHARS = " \n-:#{}[],'\"\t!&*|>?%@`~\r\x85\ufeffa0"
documents = st.dictionaries(WORDS, values, min_size=1, max_size=5)


def render(doc: dict[str, Any], step: int, comments: list[int]) -> str:
    out: list[str] = []
    _block(doc, 0, step, out, "")
    for at in sorted(comments, reverse=True):
        out.insert(at % (len(out) + 1), " " * (at % 5) + "# a comment: [not] {yaml}")
    return "\n".join(out) + "\n"


def _same(text: str) -> bool:
    """The fast path's answer (if any) equals libyaml's, which found no problem."""
    fast = blockyaml.parse(text, "m.yaml")
    if fast is None:
        return False
    slow, diags = parse_documents(text, "m.yaml", backend="pyyaml-c")
    assert diags == [], (text, diags)
    assert len(slow) == 1 == len(fast), text
    assert fast[0].data == slow[0].data, text
    assert type(fast[0].data) is type(slow[0].data)
    assert dict(fast[0].positions.items()) == dict(slow[0].positions.items()), text
    assert fast[0].source == slow[0].source, text
    return True


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return (type(value).__name__, value) if not isinstance(value, SecretRef) else value


@SETTINGS
@given(doc=documents, step=st.sampled_from([2, 4, 3]), comments=st.lists(st.integers(0, 50), max_size=3))
def test_generated_block_documents_agree_with_libyaml(
    doc: dict[str, Any], step: int, comments: list[int]
) -> None:
    text = render(doc, step, comments)
    if _same(text):  # then the scalar types agree too (1 is an int, '1' a string, ~ None)
        fast, slow = blockyaml.parse(text, "m.yaml"), parse_documents(text, "m.yaml", backend="pyyaml-c")[0]
        assert fast is not None
        assert _types(fast[0].data) == _types(slow[0].data)


@SETTINGS
@given(
    doc=documents,
    edits=st.lists(
        st.tuples(st.integers(0, 400), st.sampled_from(list(EDIT_CHARS)), st.booleans()),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_text_is_either_taken_alike_or_left_to_libyaml(doc: dict[str, Any], edits: list[Any]) -> None:
    text = render(doc, 2, [])
    for at, char, replace in edits:
        at %= len(text) + 1
        text = text[:at] + char + text[at + (1 if replace else 0) :]
    _same(text)  # asserts agreement whenever the fast path answers


def test_the_fast_path_takes_plain_manifests() -> None:
    """What exports write and the examples use is taken (else this path would be dead weight) and
    read alike; several documents, anchors and flow sequences are left to libyaml."""
    files, _ = discover([ROOT / "examples", ROOT / "tests" / "manifests" / "valid"])
    taken = sum(_same(text) for _, text in read_manifests(files, []))
    assert taken >= 20
    assert _same(
        "# c\napiVersion: reconciler/v1\nkind: Device\nmetadata:\n  mac: 001122334455\nspec:\n"
        "  members:\n    - person: a@b.c\n      port: 1\n  layout:\n    lineKeys:\n"
        "      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE, lineKeyValue: '0012'}\n"
        "  snmp: {fromEnv: RECONCILER_SECRET_X}\n"
    )
    assert _same("a: 1 \nb:   # c\n  c: 'x'  \n  d: [x, 'y', 2]\n  e: a b  # c\n")
    for other in ("a: 1\n---\nb: 2\n", "a: &x 1\nb: *x\n", "a: |\n  x\n", "a: 'x' # it's\n", "- a\n"):
        assert blockyaml.parse(other, "m.yaml") is None, other


def test_a_duplicate_key_is_left_to_libyaml_which_reports_it() -> None:
    text = "a: 1\nb:\n  c: 2\n  c: 3\n"
    assert blockyaml.parse(text, "m.yaml") is None
    docs, diags = parse_documents(text, "m.yaml")
    assert [d.message.split(" (")[0] for d in diags] == ["duplicate key 'c'"]
    assert docs[0].data == {"a": 1, "b": {"c": 2}}
