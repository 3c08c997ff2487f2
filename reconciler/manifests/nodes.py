"""YAML nodes to plain data, with a ``Location`` for every mapping key and list item under its
JSON pointer (``/spec/members/0/port``): what ``reconciler.manifests.compose`` builds each
document with.

- YAML 1.2 core-schema scalars (``on``/``yes`` are strings, no dates): every scalar is resolved
  here from its text, style and explicit tag;
- problems as ``Diagnostic`` objects, never tracebacks: duplicate keys, unknown tags, undefined or
  recursive aliases, runaway nesting and oversized documents (alias bombs: values are counted
  after alias expansion without expanding anything);
- merge keys (``<<``), and ``{fromEnv: NAME}`` (a mapping with exactly that key and a string
  value) as ``SecretRef``.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent, DocumentStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from reconciler.model import Diagnostic, Location, SecretRef

MAX_DOCUMENT_VALUES = 200_000  # values in one document after alias expansion (alias bombs)

MAX_DEPTH = 64  # nesting depth of one document

NESTING_MESSAGE = f"nesting deeper than {MAX_DEPTH} levels; rest of the file skipped"

# Plain scalars at these pointers stay strings even when they look like numbers
# (a MAC such as 001122334455 must keep its leading zeros).
_STRING_POINTERS = frozenset({"/metadata/mac", "/spec/uploadDevice"})

_TAG = "tag:yaml.org,2002:"

_IMPLICIT = "?"  # the tag of every untagged (or ``!``-tagged) scalar: resolved by this module

_MAP_TAG = _TAG + "map"

_SEQ_TAG = _TAG + "seq"

_MERGE_TAG = _TAG + "merge"


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

_TRUES = frozenset({"true", "True", "TRUE"})

_FALSES = frozenset({"false", "False", "FALSE"})

_INT_RE = re.compile(r"^[-+]?[0-9]+$")

_OCT_RE = re.compile(r"^0o[0-7]+$")

_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")

_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")

_INF_RE = re.compile(r"^[-+]?\.(inf|Inf|INF)$")

_NAN_RE = re.compile(r"^\.(nan|NaN|NAN)$")

_PROPERTY_RE = re.compile(r"([!&]\S*)\s+")  # a tag or an anchor before a node

_NAME_RE = re.compile(r"[&*]([^\s,\[\]{}]+)")  # an anchor or alias name


def _resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema resolution of a plain scalar."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    first = text[0]
    if first.isdigit() or first in "-+.":
        if _INT_RE.match(text):
            return int(text)
        if _OCT_RE.match(text):
            return int(text[2:], 8)
        if _HEX_RE.match(text):
            return int(text[2:], 16)
        if _FLOAT_RE.match(text):
            return float(text)
        if _INF_RE.match(text):
            return -math.inf if text[0] == "-" else math.inf
        if _NAN_RE.match(text):
            return math.nan
    return text


def escape_pointer(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


class _Abort(Exception):
    """Stops the current document; the diagnostic is already recorded."""


class _Stop(Exception):
    """Stops the file (runaway nesting); the diagnostic is already recorded."""


_SKIP = object()  # the value of a key that is dropped (duplicate or not a string)

_MERGE = object()  # a merge key (<<), and the value of one

Positions = list[tuple[str, Location]]


class _Anchor:
    """A node that aliases refer to: its value, positions inside it, values counted in it."""

    __slots__ = ("count", "positions", "value")

    def __init__(self, value: Any, positions: Positions, count: int) -> None:
        self.value = value
        self.positions = positions  # relative to the anchored node
        self.count = count


def _shared_nodes(root: Any) -> set[int]:
    """Nodes met more than once in a composed graph: the targets of aliases (no recursion)."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if type(node) is MappingNode:
            for pair in node.value:
                stack.extend(pair)
        elif type(node) is SequenceNode:
            stack.extend(node.value)
    return shared


def _alias_events(text: str, loader: Any) -> list[list[tuple[str, Any]]]:
    """Per document, the name and start of every alias, in order (composed nodes lack them)."""
    docs: list[list[tuple[str, Any]]] = []
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, DocumentStartEvent):
                docs.append([])
            elif isinstance(event, AliasEvent):
                docs[-1].append((event.anchor, event.start_mark))
    except Exception:  # past the documents composed so far: not needed
        pass
    return docs


@dataclass
class Document:
    """One parsed YAML document: plain data, positions by JSON pointer, where it starts."""

    data: Any
    positions: dict[str, Location] = field(default_factory=dict)
    source: Location = field(default_factory=lambda: Location("<unknown>", 1, 1))


class _Builder:
    """Builds the documents of one file from PyYAML's composed nodes.

    Aliases in the composed graph are the anchored node itself: values and positions of an
    anchored node are built once and copied per alias, its value count added per alias (so an
    alias bomb is stopped by counting, never expanded). Recursion is bounded by ``MAX_DEPTH``."""

    def __init__(self, file: str, text: str, loader: Any, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        self.text = text
        self.loader = loader
        self.diagnostics = diagnostics
        self.aliases: list[list[tuple[str, Any]]] | None = None  # read when a document has one
        self.start(0, None)

    def start(self, index: int, root_loc: Location | None) -> None:
        self.index = index
        self.positions: Positions = []
        self.count = 0
        self.root_loc = root_loc
        self.shared: set[int] = set()
        self.anchors: dict[int, _Anchor] = {}
        self.open: set[int] = set()  # anchored nodes being built (an alias to one is recursive)
        self.alias_seen = 0

    def loc(self, node: Any) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def error(self, loc: Location, message: str) -> None:
        self.diagnostics.append(Diagnostic(loc, message, code="yaml"))

    def fail(self, loc: Location, message: str) -> None:
        self.error(loc, message)
        raise _Abort

    def too_large(self) -> None:
        assert self.root_loc is not None
        self.fail(
            self.root_loc,
            f"document too large: more than {MAX_DOCUMENT_VALUES} values after alias expansion "
            "(an alias bomb?); document skipped",
        )

    def document(self, root: Any, index: int) -> Document | None:
        """The document composed as ``root`` (``index`` in its file), or None if empty or failed."""
        loc = self.loc(root)
        self.start(index, loc)
        if "&" in self.text:  # no anchor, no alias: skip looking for shared nodes
            self.shared = _shared_nodes(root)
        self.positions.append(("", loc))
        try:
            value = self.node(root, "", 0, False)
        except _Abort:
            return None
        if value is None:
            return None
        return Document(value, dict(self.positions), loc)

    # -- any node ----------------------------------------------------------------------------

    def next_alias(self) -> tuple[str, Location]:
        if self.aliases is None:
            self.aliases = _alias_events(self.text, self.loader)
        name, mark = self.aliases[self.index][self.alias_seen]
        self.alias_seen += 1
        return name, Location(self.file, mark.line + 1, mark.column + 1)

    def node(self, node: Any, ptr: str, depth: int, record: bool, key: bool = False) -> Any:
        """The value of ``node`` at ``ptr`` (a list item's position recorded if ``record``); a key
        scalar gives its text. ``self.last`` is where the node (or the alias to it) was written."""
        ident = id(node)
        if ident in self.shared and (ident in self.anchors or ident in self.open):
            return self.alias(ident, ptr, record)
        loc = self.last = self.loc(node)
        if record:
            self.positions.append((ptr, loc))
        if ident not in self.shared:
            value = self.build(node, ptr, loc, depth, key)
            self.last = loc
            return value
        mark = len(self.positions)
        before = self.count
        self.open.add(ident)
        value = self.build(node, ptr, loc, depth, key)
        self.open.discard(ident)
        rel = [(p[len(ptr) :], at) for p, at in self.positions[mark:]]
        self.anchors[ident] = _Anchor(value, rel, self.count - before)
        self.last = loc
        return value

    def alias(self, ident: int, ptr: str, record: bool) -> Any:
        name, loc = self.next_alias()
        self.last = loc
        if record:
            self.positions.append((ptr, loc))
        anchor = self.anchors.get(ident)
        if anchor is None:
            self.fail(loc, f"alias *{name} refers to an anchor that is not defined before it")
        assert anchor is not None
        self.count += anchor.count
        if self.count > MAX_DOCUMENT_VALUES:
            self.too_large()
        self.positions.extend((ptr + rel, at) for rel, at in anchor.positions)
        value = anchor.value
        return copy.deepcopy(value) if isinstance(value, dict | list) else value

    def build(self, node: Any, ptr: str, loc: Location, depth: int, key: bool) -> Any:
        kind = type(node)
        if kind is ScalarNode:
            self.counted()
            return self.key_text(node) if key else self.scalar(node, ptr)
        if depth >= MAX_DEPTH:
            self.error(loc, NESTING_MESSAGE)
            raise _Stop
        is_map = kind is MappingNode
        if node.tag != (_MAP_TAG if is_map else _SEQ_TAG):
            self.error(loc, f"unsupported YAML tag {node.tag!r} on a {'mapping' if is_map else 'list'}")
        self.counted()
        if is_map:
            return self.mapping(node, ptr, loc, depth + 1)
        return self.sequence(node, ptr, depth + 1)

    # -- scalars -----------------------------------------------------------------------------

    def bang(self, node: Any) -> bool:
        """Whether a plain scalar carries the non-specific tag ``!`` (a string, then)."""
        pos = node.start_mark.index
        while match := _PROPERTY_RE.match(self.text, pos):
            if match[1] == "!":
                return True
            pos = match.end()
        return False

    def scalar(self, node: Any, ptr: str) -> Any:
        text: str = node.value
        tag = node.tag
        if tag == _IMPLICIT:
            if node.style or ptr in _STRING_POINTERS:
                return text
            value = _resolve_plain(text)
            if type(value) is not str:
                start = node.start_mark.index
                if text[:1] != self.text[start : start + 1] and self.bang(node):
                    return text  # ``! 5``: the non-specific tag makes it a string
            return value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool" and text in _TRUES | _FALSES:
            return text in _TRUES
        if tag in (_TAG + "int", _TAG + "float"):
            value = _resolve_plain(text)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value if tag == _TAG + "int" and isinstance(value, int) else float(value)
            self.error(self.loc(node), f"{text!r} is not a valid {tag.removeprefix(_TAG)}")
            return text
        if tag == _TAG + "bool":
            self.error(self.loc(node), f"{text!r} is not a valid bool")
        else:
            self.error(self.loc(node), f"unsupported YAML tag {tag!r}")
        return text

    def key_text(self, node: Any) -> Any:
        """A scalar in key position: its text (``<<`` marks a merge)."""
        if node.tag == _MERGE_TAG:
            return _MERGE
        if node.value == "<<" and node.tag == _IMPLICIT and not node.style and not self.bang(node):
            return _MERGE
        return node.value

    # -- lists and mappings: plain scalars in them take a short cut -------------------------

    def counted(self) -> None:
        self.count += 1
        if self.count > MAX_DOCUMENT_VALUES:
            self.too_large()

    def sequence(self, node: Any, ptr: str, depth: int) -> list[Any]:
        out: list[Any] = []
        positions = self.positions
        shared = self.shared
        for i, item in enumerate(node.value):
            item_ptr = f"{ptr}/{i}"
            if type(item) is ScalarNode and id(item) not in shared:
                mark = item.start_mark
                positions.append((item_ptr, Location(self.file, mark.line + 1, mark.column + 1)))
                self.counted()
                out.append(self.scalar(item, item_ptr))
            else:
                out.append(self.node(item, item_ptr, depth, True))
        return out

    def mapping(self, node: Any, ptr: str, loc: Location, depth: int) -> Any:
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}  # key -> line of first definition
        merges: list[tuple[Any, Positions]] = []
        positions = self.positions
        shared = self.shared
        for key_node, value_node in node.value:
            if (
                type(key_node) is ScalarNode
                and id(key_node) not in shared
                and key_node.value != "<<"
                and key_node.tag != _MERGE_TAG
            ):
                self.counted()
                mark = key_node.start_mark
                key_loc = Location(self.file, mark.line + 1, mark.column + 1)
                key = key_node.value
                if key in seen:
                    key = self.duplicate(key, key_loc, seen)
                else:
                    seen[key] = key_loc.line
                    key_ptr = f"{ptr}/{escape_pointer(key)}"
                    positions.append((key_ptr, key_loc))
            else:
                key = self.take_key(self.node(key_node, "", depth, False, True), self.last, ptr, seen)
                if type(key) is str:
                    key_ptr = f"{ptr}/{escape_pointer(key)}"
            if type(key) is str:
                if type(value_node) is ScalarNode and id(value_node) not in shared:
                    self.counted()
                    out[key] = self.scalar(value_node, key_ptr)
                else:
                    out[key] = self.node(value_node, key_ptr, depth, False)
            else:  # a merge, or a key whose value is dropped
                vptr = f"{ptr}/<<"
                first = len(positions)
                value = self.node(value_node, vptr, depth, False)
                if key is _MERGE:
                    merges.append((value, [(p[len(vptr) :], at) for p, at in positions[first:]]))
                del positions[first:]
        for source, rel in merges:
            self.merge(out, source, rel, ptr, loc)
        if len(out) == 1 and isinstance(out.get("fromEnv"), str):
            return SecretRef(out["fromEnv"])
        return out

    def take_key(self, value: Any, loc: Location, ptr: str, seen: dict[str, int]) -> Any:
        if value is _MERGE:
            return _MERGE
        if isinstance(value, dict | list | SecretRef):
            self.error(loc, "a mapping key must be a plain string, not a list or mapping")
            return _SKIP
        key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        if key in seen:
            return self.duplicate(key, loc, seen)
        seen[key] = loc.line
        self.positions.append((f"{ptr}/{escape_pointer(key)}", loc))
        return key

    def duplicate(self, key: str, loc: Location, seen: dict[str, int]) -> Any:
        self.error(loc, f"duplicate key {key!r} (first defined at line {seen[key]}); value ignored")
        return _SKIP

    def merge(self, out: dict[str, Any], source: Any, rel: Positions, ptr: str, loc: Location) -> None:
        items = [(source, "")] if isinstance(source, dict) else list(_merge_items(source))
        if not items:
            self.error(loc, "a merge key (<<) needs a mapping or a list of mappings")
        for mapping, prefix in items:
            for key, value in mapping.items():
                if key in out:
                    continue
                out[key] = value
                sub = f"{prefix}/{escape_pointer(key)}"
                for p, at in rel:
                    if p == sub or p.startswith(sub + "/"):
                        self.positions.append((ptr + "/" + escape_pointer(key) + p[len(sub) :], at))


def _merge_items(source: Any) -> Iterator[tuple[dict[str, Any], str]]:
    if isinstance(source, list):
        for i, item in enumerate(source):
            if isinstance(item, dict):
                yield item, f"/{i}"
