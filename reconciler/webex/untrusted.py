"""Text and JSON from the server made safe to keep, show and log.

The API's answers are not under our control: an error message may echo a secret back, a job's
error item may hold a proxy password, a product name may carry ``ESC ] ... BEL`` (which retitles a
terminal) or a bare ``\\r`` (which overwrites the line it is printed on), an answer may nest JSON
100,000 levels deep. Everything the tool keeps from an answer as text goes through ``api_text``:
registered secrets masked first, then every character a terminal acts on escaped (C0 and C1
controls, ``ESC``, ``CR``, bidi and zero-width characters, as ``repr`` writes them), then cut; in
that order, so that a cut never leaves part of a secret and an escape is never cut in half. The
same text is what the terminal, ``--format json``, markdown and the apply log then hold.

``parse_json`` parses an answer's bytes refusing nesting deeper than ``MAX_JSON_DEPTH`` (an API
object is a few levels deep) with a ``ValueError``, never a ``RecursionError``.
``without_userinfo`` removes a ``user:password@`` from a URL before it is shown.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any

from reconciler.textsafe import clip, visible
from reconciler.webex.redact import redact

__all__ = [
    "API_TEXT_LIMIT",
    "MAX_JSON_DEPTH",
    "JsonTooDeep",
    "api_text",
    "depth_bound",
    "depth_exceeds",
    "parse_json",
    "without_userinfo",
]

API_TEXT_LIMIT = 500  # characters of one message, description or name from the API
MAX_JSON_DEPTH = 64  # nesting of arrays and objects in an answer (the API's are under 10)

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#@\s]*@")


def api_text(text: object, limit: int = API_TEXT_LIMIT) -> str:
    """``text`` from the server as the tool keeps it: secrets masked, then escaped, then cut."""
    return clip(visible(redact(str(text))), limit)


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


class JsonTooDeep(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


# Bytes other than brackets (deleted), and brackets as 2 (open) or 0 (close).
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_VALUES = bytes.maketrans(b"[]{}", b"\x02\x00\x02\x00")


def depth_bound(data: bytes) -> int:
    """An upper bound of the nesting depth of the JSON text ``data``, at C speed: the deepest the
    brackets go, counting those inside strings too (which can only raise the bound)."""
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * MAX_JSON_DEPTH:
        return (len(brackets) + 1) // 2
    # after the i-th bracket the depth is opens - closes = 2 * opens - i
    values = brackets.translate(_BRACKET_VALUES)
    deepest: int = max(map(operator.sub, itertools.accumulate(values), range(1, len(values) + 1)))
    return deepest


def depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels deep (iterative)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def parse_json(data: bytes | str) -> Any:
    """The JSON value of ``data``; ``ValueError`` for invalid JSON, ``JsonTooDeep`` (a
    ``ValueError``) for nesting deeper than ``MAX_JSON_DEPTH``, never a ``RecursionError``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if depth_bound(raw) <= MAX_JSON_DEPTH:
        return json.loads(raw)
    # deep brackets, or brackets inside strings: parse, and measure the value itself
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep() from None
    if depth_exceeds(value):
        raise JsonTooDeep()
    return value
