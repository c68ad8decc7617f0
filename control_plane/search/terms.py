"""A search box's text as terms: Unicode words, case-folded, the last one a prefix.

Only letters, digits, marks and underscores survive, so no backend's query syntax (tsquery
operators, FTS5 quotes and columns) can be written through the search box.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["MAX_TERMS", "Terms", "terms_of"]

MAX_TERMS = 8
MAX_TERM_LENGTH = 64


@dataclass(frozen=True)
class Terms:
    """Every word must match; ``words[-1]`` also matches as the start of a longer word (as you type)."""

    words: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.words)


def _word_char(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] in "LNM"


def terms_of(text: str) -> Terms:
    """The terms of ``text``: at most ``MAX_TERMS`` words of at most ``MAX_TERM_LENGTH`` characters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words: list[str] = []
    current: list[str] = []
    for ch in folded + " ":
        if _word_char(ch):
            current.append(ch)
        elif current:
            words.append("".join(current)[:MAX_TERM_LENGTH])
            current = []
    return Terms(tuple(words[:MAX_TERMS]))
