"""Positions kept small: a ``(line, column)`` in the manifest's own file is one int
(``line << 16 | column``), made a ``Location`` only when a message or a step asks for it (most
positions never are). The parse cache stores them so, and the block-YAML fast path builds them so.
"""

from __future__ import annotations

import sys
from typing import Any

from reconciler.model import Location

_ABSENT = object()
# Strings up to this length (keys, pointers, short values) are interned, by the block-YAML fast path
# as it parses and by the parse cache as it writes an entry: they repeat from file to file, and an
# entry written as the parser made it must share them as a walked one does.
SHORT_STRING = 64


def interned(value: Any) -> Any:
    """``value``, interned when it is a string of at most ``SHORT_STRING`` characters."""
    return sys.intern(value) if type(value) is str and len(value) <= SHORT_STRING else value


def pack(loc: Location | None, file: str) -> Any:
    """A position as one int (line and column) in its own file: an int is half a tuple's size."""
    if loc is None:
        return None
    if loc.file != file:
        return (loc.file, loc.line, loc.col)
    return loc.line << 16 | loc.col if 0 <= loc.col < 1 << 16 else (loc.line, loc.col)


def unpack(value: Any, file: str) -> Location | None:
    if value is None:
        return None
    if type(value) is int:
        return Location(file, value >> 16, value & 0xFFFF)
    if isinstance(value, Location):
        return value
    if len(value) == 2:
        return Location(file, value[0], value[1])
    return Location(value[0], value[1], value[2])


class PackedPositions(dict[str, Location]):
    """``Resource.positions`` whose values are kept packed (``pack``) and made ``Location``
    objects when read."""

    __slots__ = ("file",)

    def __init__(self, file: str, raw: dict[str, Any]) -> None:
        super().__init__()
        self.file = file
        dict.update(self, raw)

    def _made(self, value: Any) -> Location:
        loc = unpack(value, self.file)
        assert loc is not None
        return loc

    def __getitem__(self, key: str) -> Location:
        return self._made(dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key, _ABSENT)
        return default if value is _ABSENT else self._made(value)

    def values(self) -> Any:
        return [self._made(v) for v in dict.values(self)]

    def items(self) -> Any:
        return [(k, self._made(v)) for k, v in dict.items(self)]

    def packed(self) -> dict[str, Any]:
        """The positions as stored (``pack``'s form or ``Location``), keyed by pointer."""
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        return dict(self.items()) == (dict(other.items()) if isinstance(other, dict) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def copy(self) -> dict[str, Location]:
        return dict(self.items())
