"""Lines a person reads, folded to the text width (``common.text_width``): a long line breaks at
spaces, its continuation lines indented under it. A double-quoted value and a word (a name, a
path, a MAC) are never split; one longer than the line stays whole on a line of its own. ANSI
colors take no columns."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WORDS = re.compile(r'(?:"(?:[^"\\]|\\.)*"|[^\s"])+|"')
LEAD_WORD = 10  # a line's first word this short never stands alone
GLUED = 3  # a word this short never ends a line
CONTINUATION = 4  # continuation lines sit this much deeper than the line they continue


def columns(text: str) -> int:
    """The columns ``text`` takes on a terminal (its colors none)."""
    return len(_ANSI.sub("", text))


def fold_line(line: str, width: int) -> list[str]:
    """``line`` as lines of at most ``width`` columns where it can break (at spaces)."""
    if columns(line) <= width:
        return [line]
    body = line.lstrip(" ")
    lead = len(line) - len(body)
    words = _glued(_WORDS.findall(body))
    if len(words) > 2 and " " not in words[0] and len(words[0]) <= LEAD_WORD:
        words[:2] = [f"{words[0]} {words[1]}"]  # ``Warning:`` stays with what it is about
    if len(words) < 2:
        return [line]
    indent = " " * min(lead + CONTINUATION, width // 2)
    out = [" " * lead + words[0]]
    for word in words[1:]:
        if columns(out[-1]) + 1 + columns(word) <= width:
            out[-1] += " " + word
        else:
            out.append(indent + word)
    return out


def _glued(words: list[str]) -> list[str]:
    """A short word (a symbol such as ``#``, ``~`` or ``->``, a method such as ``PUT``, "to") stays
    on the line of the word after it."""
    out: list[str] = []
    carry = ""
    for word in words:
        joined = f"{carry} {word}" if carry else word
        carry = joined if columns(word) <= GLUED else ""
        if not carry:
            out.append(joined)
    return [*out, carry] if carry else out


def fold(text: str, width: int | None = None) -> str:
    """Every line of ``text`` folded to ``width`` (default: the text width)."""
    from reconciler.render.common import text_width

    width = width or text_width()
    return "\n".join(part for line in text.split("\n") for part in fold_line(line, width))


def fit(line: str) -> list[str]:
    """``line`` folded to the text width."""
    from reconciler.render.common import text_width

    return fold_line(line, text_width())
