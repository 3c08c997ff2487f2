"""User-provided text made safe to show: control, zero-width and bidi characters escaped, long
values cut.

Manifests come from pull requests, so any string in them may be hostile: a ``\\r`` rewrites the
terminal line it is printed on, a bidi override reverses what a reviewer reads, a 30 MB value
floods a log. Every message that echoes such a string goes through ``shown()`` or ``visible()``.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "ECHO_LIMIT",
    "MAC_CUTOFF",
    "clip",
    "did_you_mean",
    "is_invisible",
    "mac_key",
    "shown",
    "terminal_safe",
    "visible",
]

ECHO_LIMIT = 80  # characters of a user value echoed in a message
ELLIPSIS = "…"


def is_invisible(ch: str) -> bool:
    """Control (Cc), format (Cf: zero-width, bidi controls, BOM), line/paragraph separators,
    surrogates and private/unassigned code points: characters a reader cannot see as written."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def visible(text: str) -> str:
    """``text`` with each character a reader cannot see written as its escape (``\\r``,
    ``\\u202e``), as ``repr`` writes it."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def json_visible(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with each character a reader cannot
    see (C1 controls such as U+009B, bidirectional overrides, zero-width marks) written as its
    ``\\uXXXX`` escape: the same JSON value, and nothing in it a terminal acts on. Newlines (the
    document's own layout) are kept."""
    if document.replace("\n", "").isprintable():
        return document
    return "".join(
        ch if ch.isprintable() or ch == "\n" else json.dumps(ch, ensure_ascii=True)[1:-1] for ch in document
    )


# The only escape sequence the tool itself prints: SGR (colour), ``ESC [ digits;... m``.
_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def terminal_safe(text: str, keep_colour: bool = False) -> str:
    """``text`` as a terminal may be given it: each line's invisible characters escaped
    (``visible``), newlines kept; with ``keep_colour``, the tool's own colour codes kept too.
    Idempotent: what it returns, it returns unchanged."""
    if text.isprintable() or (text.replace("\n", "").isprintable()):
        return text
    lines = text.split("\n")
    if not keep_colour:
        return "\n".join(visible(line) for line in lines)
    return "\n".join(
        "".join(part if i % 2 else visible(part) for i, part in enumerate(_SGR.split(line))) for line in lines
    )


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most ``limit`` characters of ``text``, then ``…`` when it was longer."""
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def shown(value: Any, limit: int = ECHO_LIMIT) -> str:
    """A value as a message quotes it: its ``repr`` (which escapes what is not printable), a
    string cut to ``limit`` characters first."""
    if isinstance(value, str):
        return repr(clip(value, limit))
    return clip(repr(value), limit)


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())


def did_you_mean(
    word: Any, choices: Iterable[Any], key: Callable[[str], str] = _plain, cutoff: float = 0.6
) -> str:
    """`` (did you mean 'X'?)`` for the choice closest to ``word``, or ``""`` when none is close.
    ``key`` is how both are compared: case, spacing (by default) or a MAC's separators aside;
    what is suggested is the choice as written. A MAC passes ``mac_key`` and a higher ``cutoff``
    (every MAC of one vendor looks alike)."""
    if not isinstance(word, str):
        return ""
    by_key: dict[str, str] = {}
    for choice in choices:
        if isinstance(choice, str):
            by_key.setdefault(key(choice), choice)
    wanted = key(word)
    close = (
        [wanted] if wanted in by_key else difflib.get_close_matches(wanted, list(by_key), n=1, cutoff=cutoff)
    )
    return f" (did you mean {shown(by_key[close[0]])}?)" if close else ""


def mac_key(text: str) -> str:
    """A MAC compared by its hex digits only: ``0a:1b-2C3d.4e5f`` -> ``0A1B2C3D4E5F``."""
    return re.sub(r"[^0-9A-Fa-f]", "", text).upper()


MAC_CUTOFF = 0.8  # two hex digits of twelve wrong at most
MAC_WRONG_DIGITS = 2  # a MAC suggested differs in at most this many of its 12 hex digits


def did_you_mean_mac(word: Any, choices: Iterable[Any]) -> str:
    """`` (did you mean 'X'?)`` for the MAC nearest ``word``: the fewest hex digits differ (at
    most two, in place: a shared prefix counts), then the nearest as a number."""
    if not isinstance(word, str):
        return ""
    wanted = mac_key(word)
    if len(wanted) != 12:
        return did_you_mean(word, choices, mac_key, MAC_CUTOFF)
    ranked = []
    for choice in choices:
        digits = mac_key(str(choice))
        if len(digits) == 12:
            wrong = sum(a != b for a, b in zip(wanted, digits, strict=True))
            ranked.append((wrong, abs(int(digits, 16) - int(wanted, 16)), str(choice)))
    best = min(ranked, default=None)
    return f" (did you mean {shown(best[2])}?)" if best and best[0] <= MAC_WRONG_DIGITS else ""
