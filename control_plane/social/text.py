"""Hashtags and mentions in a post's text: Unicode-aware, never inside a URL or an email address.

A hashtag is ``#`` followed by letters, digits, marks and underscores (any script) holding at
least one letter: ``#café``, ``#日本語``, ``#हिन्दी``. Its key is the NFKC case-folded form, so
``#Straße``, ``#STRASSE`` and ``#ｓｔｒａｓｓｅ`` are one tag; the first spelling is kept for display.
A mention is ``@`` followed by a username (ASCII letters, digits, ``_``, ``.``, ``-``; a trailing
``.`` or ``-`` ends the sentence, not the name). Either must start the text or follow a character
that cannot belong to a word or a path (``a#b``, ``x/#y``, ``&#35;`` and ``ada@example.com`` hold
none), and a mention followed by ``@`` names an account on another server, which is not ours.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Parsed", "Tag", "normalize_tag", "parse"]

MAX_TAG_LENGTH = 100
#: URLs (with a scheme, or starting ``www.``) and email addresses: masked before scanning.
_LINKS = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"']+"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Characters after which neither a tag nor a mention can start.
_GLUE = frozenset("/&#@)]}'")
#: Joiners that belong inside words of some scripts (Persian, Indic).
_JOINERS = frozenset("\u200c\u200d")


@dataclass(frozen=True)
class Tag:
    key: str
    name: str


@dataclass(frozen=True)
class Parsed:
    """Distinct hashtags and mentioned usernames, in order of first appearance."""

    hashtags: tuple[Tag, ...]
    mentions: tuple[str, ...]


def _wordish(ch: str) -> bool:
    return ch == "_" or ch in _JOINERS or unicodedata.category(ch)[0] in "LNM"


def normalize_tag(name: str) -> str:
    """The key of a tag as written (without ``#``): NFKC, case-folded, NFKC again."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _starts(text: str, i: int) -> bool:
    if i == 0:
        return True
    before = text[i - 1]
    return not _wordish(before) and before not in _GLUE


def _tag_at(text: str, i: int) -> str | None:
    end = i + 1
    while end < len(text) and _wordish(text[end]):
        end += 1
    body = text[i + 1 : end]
    if not body or len(body) > MAX_TAG_LENGTH or not any(unicodedata.category(c)[0] == "L" for c in body):
        return None
    return body


def _mention_at(text: str, i: int) -> str | None:
    match = _USERNAME.match(text, i + 1)
    if match is None:
        return None
    name = match.group().rstrip(".-")
    after = i + 1 + len(name)
    if after < len(text) and (text[after] == "@" or _wordish(text[after])):
        return None
    return name if 3 <= len(name) <= 32 else None


def parse(text: str) -> Parsed:
    """The hashtags and mentions of ``text`` (see the module's rules)."""
    masked = _LINKS.sub(lambda m: " " * len(m.group()), text)
    tags: dict[str, Tag] = {}
    mentions: dict[str, str] = {}
    for i, ch in enumerate(masked):
        if ch not in "#@" or not _starts(masked, i):
            continue
        if ch == "#":
            body = _tag_at(masked, i)
            if body is not None:
                key = normalize_tag(body)
                if len(key) <= MAX_TAG_LENGTH:
                    tags.setdefault(key, Tag(key, body))
        else:
            name = _mention_at(masked, i)
            if name is not None:
                mentions.setdefault(name, name)
    return Parsed(tuple(tags.values()), tuple(mentions))
