"""The text of a new exported manifest without ruamel.yaml's emitter, for the common case.

ruamel.yaml's round-trip dumper is pure Python and costs ~2 ms of CPU per device file (two
thirds of an export's CPU at 10,000 devices). A new file holds plain data of a few shapes (maps,
lists, names, numbers, booleans), so ``fast_text`` writes it directly, in the same layout as
``export.write_doc``'s ruamel.yaml settings (maps indented by 2, list items by 4 with the dash at
2, small maps of scalars in lists in flow style, width 120).

It writes only what it can write exactly as ruamel.yaml would: a string is written bare only
when it is ASCII of a safe alphabet starting with a letter (never a YAML word like ``null``), a
MAC address with a letter, or starts with a digit and ruamel.yaml's resolver reads it as a string
(``0.0.0.0/0.0.0.0``), single-quoted when it is empty or digits only, double-quoted when YAML
1.1 reads it as a boolean (``OFF``, as ``export._scalar`` has it); anything else (other
strings, floats, ``None``, lists in lists, a line longer than 110 characters, which ruamel.yaml
might fold) returns None and the caller dumps with ruamel.yaml. ``tests/e2e/test_export_yaml.py`` checks the
text against ruamel.yaml's, byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

# bare: a letter first, then letters, digits and _ . @ / + - | ; with single spaces between words
# (``redial|1;newcall|2``: a soft key list)
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.@/+|;-]*(?: [A-Za-z0-9_.@/+|;-]+)*\Z")
# the same with a digit first (0.0.0.0/0.0.0.0): bare only when ruamel.yaml reads it as a string
_PLAIN_DIGIT = re.compile(r"[0-9][A-Za-z0-9_.@/+|;-]*(?: [A-Za-z0-9_.@/+|;-]+)*\Z")
# what YAML 1.1 reads as a boolean: export writes these strings double-quoted (``"OFF"``)
YAML11_BOOLEANS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false"])
_STR = "tag:yaml.org,2002:str"
_resolver = VersionedResolver()
_DIGITS = re.compile(r"[0-9]+\Z")
# a MAC address with colons and a letter among its digits (all digits: YAML 1.1's base 60)
_MAC = re.compile(r"(?=[0-9:]*[A-Fa-f])[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\Z")
# words a YAML 1.1 or 1.2 reader takes for something other than a string
_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])
_COMMENT = re.compile(r"[A-Za-z0-9](?:[ -~]*[!-~])?\Z")  # a line of printable ASCII, a letter first
MAX_LINE = 110
FLOW_KEYS = 6  # export._plain_to_rt: list items of at most 6 scalars are written in flow style


class _Unsure(Exception):
    """The document has something only ruamel.yaml writes for sure."""


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        if value.lower() in YAML11_BOOLEANS:
            return f'"{value}"'
        if (_PLAIN.match(value) and value.lower() not in _WORDS) or _MAC.match(value):
            return value
        if _PLAIN_DIGIT.match(value) and _reads_as_string(value):
            return value
        if not value or _DIGITS.match(value):
            return f"'{value}'"
    raise _Unsure


def _reads_as_string(value: str) -> bool:
    """ruamel.yaml's own question for a bare scalar (no colon: never YAML 1.1's base 60)."""
    return str(_resolver.resolve(ScalarNode, value, (True, False))) == _STR


def _key(key: Any, flow: bool = False) -> str:
    """A key as ruamel.yaml writes it (keys are never quoted by ``export._scalar``: a YAML 1.1
    boolean word as a key is left to ruamel.yaml; so is a quoted key outside a flow map)."""
    if type(key) is not str or key.lower() in YAML11_BOOLEANS:
        raise _Unsure
    text = _scalar(key)
    if not flow and text.startswith("'"):
        raise _Unsure
    return text


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _map(node: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for k, v in node.items():
        key = _key(k)
        if isinstance(v, dict | list) and not v:
            out.append(f"{pad}{key}: {'{}' if isinstance(v, dict) else '[]'}")
        elif isinstance(v, dict) and set(v) == {"fromEnv"} and _is_scalar(v["fromEnv"]):
            # a secret's reference, on its field's line (export._plain_to_rt's flow style)
            out.append(f"{pad}{key}: {{fromEnv: {_scalar(v['fromEnv'])}}}")
        elif isinstance(v, dict):
            out.append(f"{pad}{key}:")
            _map(v, indent + 2, out)
        elif isinstance(v, list):
            out.append(f"{pad}{key}:")
            _seq(v, indent + 2, out)
        else:
            out.append(f"{pad}{key}: {_scalar(v)}")


def _flow_items(items: list[Any]) -> bool:
    return all(
        isinstance(v, dict) and len(v) <= FLOW_KEYS and all(_is_scalar(x) for x in v.values()) for v in items
    )


def _seq(items: list[Any], indent: int, out: list[str]) -> None:
    dash = " " * indent + "- "
    if _flow_items(items):
        for item in items:
            if not item:
                raise _Unsure
            pairs = ", ".join(f"{_key(k, flow=True)}: {_scalar(v)}" for k, v in item.items())
            out.append(dash + "{" + pairs + "}")
        return
    inner = " " * (indent + 2)
    for item in items:
        if isinstance(item, dict):
            if not item or not all(_is_scalar(v) for v in item.values()):
                raise _Unsure
            first = True
            for k, v in item.items():
                key = _key(k)
                out.append(f"{dash if first else inner}{key}: {_scalar(v)}")
                first = False
        elif _is_scalar(item):
            out.append(dash + _scalar(item))
        else:
            raise _Unsure


def fast_text(doc: dict[str, Any], comment: str | None) -> str | None:
    """The YAML text of a new manifest ``doc`` (with ``comment`` as its first line), or None when
    only ruamel.yaml can be trusted to write it."""
    out: list[str] = []
    if comment is not None:
        if not _COMMENT.match(comment):
            return None
        out.append(f"# {comment}")
    try:
        _map(doc, 0, out)
    except _Unsure:
        return None
    if any(len(line) > MAX_LINE for line in out):
        return None
    out.append("")
    return "\n".join(out)
