"""Output as one run of words: text folded to the terminal's width, read as a sentence."""

from __future__ import annotations


def flat(text: str) -> str:
    """``text`` with every run of spaces and line breaks as one space (how a folded line reads)."""
    return " ".join(text.split())
