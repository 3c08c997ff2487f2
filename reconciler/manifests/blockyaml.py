"""A fast path for the plain block YAML that exports write and most people type: nested block
mappings and lists, keys that are plain words, one-line plain or simply quoted scalars, one-line
flow collections of scalars, comments. ``parse`` builds the same ``Document`` (values, positions,
source) as the composer path of ``reconciler.manifests.compose`` for such text in a fraction of
the time, and answers ``None`` for anything else (anchors, tags, multi-line or block scalars,
several documents, tabs, duplicate keys, odd indentation, a comment after a quote...): that text
goes to libyaml as before, which also finds its problems. Why it exists, and how it is kept equal
to libyaml: docs/architecture.md ("What we wrote ourselves").
"""

from __future__ import annotations

import re
import sys
from typing import Any

from reconciler.manifests.nodes import (
    _STRING_POINTERS,
    MAX_DEPTH,
    MAX_DOCUMENT_VALUES,
    Document,
    _resolve_plain,
)
from reconciler.manifests.positions import PackedPositions, interned
from reconciler.model import Location, SecretRef

# Characters the fast path leaves to libyaml: anything YAML does not print, tabs, carriage
# returns and the other line breaks (NEL, LS, PS), the byte order mark.
_OTHER = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: +(.*))?\Z")

_SINGLE = re.compile(r"'((?:[^']|'')*)'\Z")

_DOUBLE = re.compile(r'"([^"\\]*)"\Z')

# A scalar inside a one-line flow collection: quoted, or plain without flow indicators or colons.
_FLOW_SCALAR = (
    r"""('(?:[^']|'')*'|"[^"\\]*"|(?:[A-Za-z0-9_./+]|-[0-9])(?:[^,\[\]{}#:'"]*[^,\[\]{}#:'"\s])?)"""
)

# One ``key: value`` of a one-line flow mapping and what follows it; one item of a flow list.
_FLOW_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): +" + _FLOW_SCALAR + r" *([,}]) *")

_FLOW_SEQ_ITEM = re.compile(_FLOW_SCALAR + r" *([,\]]) *")

_NOT_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`")  # a plain scalar starting with one: left to libyaml

_NOT_IN = re.compile(r"#|: |:\Z|[\[\]{},]")  # comments, a key inside a value, flow indicators


class _Other(Exception):
    """The text is not in the subset: libyaml parses it."""


_MISS = object()

_SEEN_MAX = 8192
_intern = sys.intern
_seen: dict[str, Any] = {}  # plain scalar text -> its value: values repeat from file to file
_keyed: dict[str, tuple[str, str | None]] = {}  # a mapping line -> its key (interned) and the rest


def _scalar(text: str, ptr: str) -> Any:
    value = _seen.get(text, _MISS)
    if value is not _MISS and ptr not in _STRING_POINTERS:
        return value
    first = text[0]
    if first == "'":
        m = _SINGLE.match(text)
        if m is None:
            raise _Other
        return m[1].replace("''", "'")
    if first == '"':
        m = _DOUBLE.match(text)
        if m is None:
            raise _Other
        return m[1]
    if (first in _NOT_FIRST and not (first == "-" and text[1:2] not in ("", " "))) or _NOT_IN.search(text):
        raise _Other
    if ptr in _STRING_POINTERS:
        return text
    value = _resolve_plain(text)
    if len(_seen) < _SEEN_MAX:
        value = _seen[text] = interned(value)  # (as a cache entry keeps it: ``parse_cache.encode``)
    return value


def _flow(parser: _Parser, text: str, ptr: str, number: int, col: int) -> Any:
    """A one-line flow collection at ``col``: ``[]``, ``{}`` or ``{key: scalar, ...}``."""
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    pos = len(text) - len(text[1:].lstrip(" "))
    if text[0] == "[" and text[-1] == "]":
        return _flow_list(parser, text, pos, ptr, number, col)
    if text[0] != "{" or text[-1] != "}":
        raise _Other
    out: dict[str, Any] = {}
    while pos < len(text):
        m = _FLOW_ITEM.match(text, pos)
        if m is None or m[1] in out or (m[3] == "}") != (m.end() == len(text)):
            raise _Other
        key_ptr = f"{ptr}/{m[1]}"
        parser.positions.append((key_ptr, number << 16 | (col + pos + 1)))
        out[m[1]] = _scalar(m[2], key_ptr)
        pos = m.end()
    if len(out) == 1 and type(out.get("fromEnv")) is str:
        return SecretRef(out["fromEnv"])
    return out


def _flow_list(parser: _Parser, text: str, pos: int, ptr: str, number: int, col: int) -> list[Any]:
    out: list[Any] = []
    while pos < len(text):
        m = _FLOW_SEQ_ITEM.match(text, pos)
        if m is None or (m[2] == "]") != (m.end() == len(text)):
            raise _Other
        item_ptr = f"{ptr}/{len(out)}"
        parser.positions.append((item_ptr, number << 16 | (col + pos + 1)))
        out.append(_scalar(m[1], item_ptr))
        pos = m.end()
    return out


def _key_of(content: str) -> tuple[str, str | None]:
    """A mapping line's key (interned) and what follows it (None: nothing), remembered: the same
    lines come back file after file."""
    m = _KEY.match(content)
    if m is None:
        raise _Other  # a list item beside keys, or not a plain key
    split = (_intern(m[1]), m[2])
    if len(_keyed) < _SEEN_MAX:
        _keyed[content] = split
    return split


class _Parser:
    __slots__ = ("lines", "n", "positions")

    def __init__(self, lines: list[tuple[int, int, str]]) -> None:
        self.lines = lines  # (line number, column of the content, the content), content lines only
        self.n = len(lines)
        self.positions: list[tuple[str, int]] = []  # packed (``positions.pack``)

    def block(self, i: int, col: int, ptr: str, depth: int) -> tuple[Any, int]:
        """The collection whose first line is ``i`` (content at ``col``), and the next line."""
        if depth >= MAX_DEPTH - 1:
            raise _Other
        content = self.lines[i][2]
        if content[0] == "-" and content[1:2] in ("", " "):
            return self.sequence(i, col, ptr, depth)
        return self.mapping(i, col, ptr, depth)

    def after_scalar(self, i: int, col: int) -> int:
        """The line after a one-line scalar: nothing may continue it (more indented)."""
        i += 1
        if i < self.n and self.lines[i][1] > col:
            raise _Other
        return i

    def row(self, i: int, col: int) -> tuple[int, int, str] | None:
        """Line ``i`` if it is at ``col``; None where the block ends (no line, or one less
        indented); a line more indented belongs nowhere."""
        if i >= self.n:
            return None
        row = self.lines[i]
        if row[1] != col:
            if row[1] > col:
                raise _Other
            return None
        return row

    def mapping(self, i: int, col: int, ptr: str, depth: int) -> tuple[Any, int]:
        out: dict[str, Any] = {}
        lines, positions, n = self.lines, self.positions, self.n
        while i < n:  # (``row`` inlined: the loop of every key of every file)
            number, at, content = lines[i]
            if at != col:
                if at > col:
                    raise _Other  # a line more indented belongs nowhere
                break
            key, rest = _keyed.get(content) or _key_of(content)
            if key in out:
                raise _Other  # libyaml's path reports the duplicate
            key_ptr = f"{ptr}/{key}"
            positions.append((key_ptr, number << 16 | (col + 1)))
            if rest is not None:
                if rest[0] in "{[":
                    out[key] = _flow(self, rest, key_ptr, number, col + len(content) - len(rest))
                else:
                    out[key] = _scalar(rest, key_ptr)
                i += 1  # nothing may continue a one-line value (more indented)
                if i < n and lines[i][1] > col:
                    raise _Other
                continue
            i += 1
            if i < n and lines[i][1] > col:
                out[key], i = self.block(i, lines[i][1], key_ptr, depth + 1)
            elif i < n and lines[i][1] == col and lines[i][2][0] == "-":
                raise _Other  # a list at the key's own indentation
            else:
                out[key] = None
        if len(out) == 1 and type(out.get("fromEnv")) is str:
            return SecretRef(out["fromEnv"]), i
        return out, i

    def sequence(self, i: int, col: int, ptr: str, depth: int) -> tuple[list[Any], int]:
        out: list[Any] = []
        lines = self.lines
        while (row := self.row(i, col)) is not None:
            number, _, content = row
            if content[0] != "-":
                break  # back to the keys of the mapping around (checked there)
            rest = content[1:].lstrip(" ")
            if not rest or content[1] != " ":
                raise _Other  # an empty item, or ``-x``
            sub = col + len(content) - len(rest)
            item_ptr = f"{ptr}/{len(out)}"
            self.positions.append((item_ptr, number << 16 | (sub + 1)))
            if _KEY.match(rest) or (rest[0] == "-" and rest[1:2] in ("", " ")):
                lines[i] = (number, sub, rest)  # the item's first line, seen from its own column
                value, i = self.block(i, sub, item_ptr, depth + 1)
            else:
                value = (
                    _flow(self, rest, item_ptr, number, sub) if rest[0] in "{[" else _scalar(rest, item_ptr)
                )
                i = self.after_scalar(i, col)
            out.append(value)
        return out, i


def _content_lines(text: str) -> list[tuple[int, int, str]]:
    """(line number, column, content) of every line with content: comments and the spaces
    before them cut (a ``#`` after a space; after a quote, libyaml decides)."""
    if len(text) >= 1 << 16 and max(map(len, text.split("\n"))) >= 1 << 16:
        raise _Other  # a line too long to pack a column of
    if " #" not in text and " \n" not in text and not text.endswith(" "):  # what exports write
        return [
            (number, len(line) - len(content), content)
            for number, line in enumerate(text.split("\n"), 1)
            if (content := line.lstrip(" ")) and content[0] != "#"
        ]
    lines: list[tuple[int, int, str]] = []
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue  # blank, or a comment line
        indent = len(line) - len(content)
        cut = content.find(" #")
        if cut >= 0:
            content = content[:cut]
            if "'" in content or '"' in content:
                raise _Other  # the ``#`` may be inside a quoted scalar
        lines.append((number, indent, content.rstrip(" ")))
    return lines


def parse(text: str, file: str) -> list[Document] | None:
    """The one document of ``text`` when it is in the subset (else None: parse it with libyaml)."""
    if _OTHER.search(text) or len(text) > MAX_DOCUMENT_VALUES:
        return None
    try:
        lines = _content_lines(text)
        if not lines or lines[0][1] != 0 or not _KEY.match(lines[0][2]):
            return None
        parser = _Parser(lines)
        root = Location(file, lines[0][0], 1)
        parser.positions.append(("", lines[0][0] << 16 | 1))
        value, end = parser.mapping(0, 0, "", 0)
    except _Other:
        return None
    if end != len(lines) or isinstance(value, SecretRef):
        return None
    # pointers interned: the same ones recur in every file (and a cache entry keeps them so)
    positions = {_intern(ptr): at for ptr, at in parser.positions}
    return [Document(value, PackedPositions(file, positions), root)]
