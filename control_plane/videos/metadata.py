"""A video's descriptive metadata: the bounds on each field and how tags and languages are
normalised, so that the catalogue's filters find what creators typed in any case or script."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from control_plane.core.errors import BadRequest
from control_plane.videos.models import CATEGORIES, COMMENT_POLICIES

__all__ = [
    "MAX_BLOCKED_COUNTRIES",
    "MAX_DESCRIPTION",
    "MAX_TAG_CHARS",
    "MAX_TAGS",
    "MAX_TITLE",
    "VISIBILITIES",
    "clean_changes",
    "normalize_countries",
    "normalize_language",
    "normalize_tag",
    "normalize_tags",
]

MAX_TITLE = 200
MAX_DESCRIPTION = 5000  # characters
MAX_TAGS = 15
MAX_TAG_CHARS = 30
#: Countries one video may be blocked in (ISO 3166-1 has 249 codes).
MAX_BLOCKED_COUNTRIES = 250
VISIBILITIES = ("public", "unlisted", "private", "members")

#: Letters, marks and digits of any script, with ``_`` and ``-`` inside (not leading).
_TAG = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")
#: A BCP 47 tag as people write it: a 2-3 letter language and optional subtags (``pt-BR``, ``zh-Hant``).
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")


class InvalidMetadata(BadRequest):
    code = "INVALID_METADATA"


def normalize_tag(raw: str) -> str:
    """``raw`` as the catalogue stores it: NFKC, case-folded, without a leading ``#``.

    Raises ``InvalidMetadata`` for an empty tag, one over ``MAX_TAG_CHARS`` characters, or one
    with anything but letters, digits, ``_`` and ``-``.
    """
    tag = unicodedata.normalize("NFKC", raw.strip()).removeprefix("#").casefold()
    if not tag or len(tag) > MAX_TAG_CHARS or not _TAG.match(tag):
        raise InvalidMetadata(
            f"A tag has 1 to {MAX_TAG_CHARS} letters, digits, '_' or '-' (not first or last): {raw[:40]!r}."
        )
    return tag


def normalize_tags(raw: Iterable[str]) -> list[str]:
    """The tags normalised, duplicates dropped, first-given order kept; at most ``MAX_TAGS``."""
    tags = list(dict.fromkeys(normalize_tag(t) for t in raw))
    if len(tags) > MAX_TAGS:
        raise InvalidMetadata(f"A video has at most {MAX_TAGS} tags.")
    return tags


def normalize_language(raw: str) -> str:
    """``pt-br`` → ``pt-BR``: the language in lower case, a two-letter region in upper case."""
    if not _LANGUAGE.match(raw):
        raise InvalidMetadata("The language is a BCP 47 tag such as 'en' or 'pt-BR'.")
    first, *rest = raw.split("-")
    return "-".join([first.lower(), *(s.upper() if len(s) == 2 else s for s in rest)])


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes a creator asked for, checked and normalised, keyed by the video's columns.

    ``None`` clears ``description``, ``tags``, ``category`` and ``language``, and leaves
    ``title``, ``visibility``, ``comment_policy`` and ``age_restricted`` as they are.
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "title":
            if value is not None:
                if not 1 <= len(value) <= MAX_TITLE:
                    raise InvalidMetadata(f"A title has 1 to {MAX_TITLE} characters.")
                out[name] = value
        elif name == "visibility":
            if value is not None:
                out[name] = _one_of(value, VISIBILITIES, name)
        elif name == "comment_policy":
            if value is not None:
                out[name] = _one_of(value, COMMENT_POLICIES, "comments")
        elif name == "age_restricted":
            if value is not None:
                out[name] = bool(value)
        elif name == "description":
            if value is not None and len(value) > MAX_DESCRIPTION:
                raise InvalidMetadata(f"A description has at most {MAX_DESCRIPTION} characters.")
            out[name] = value or ""
        elif name == "tags":
            out[name] = normalize_tags(value or [])
        elif name == "category":
            out[name] = None if value is None else _one_of(value, CATEGORIES, name)
        elif name == "language":
            out[name] = None if value is None else normalize_language(value)
        elif name == "blocked_countries":
            out[name] = normalize_countries(value or [])
        else:
            raise InvalidMetadata(f"A video has no field {name!r}.")
    return out


def normalize_countries(raw: Iterable[str]) -> list[str]:
    """ISO 3166-1 alpha-2 codes in upper case, duplicates dropped, sorted."""
    codes = set()
    for code in raw:
        if not _COUNTRY.match(code):
            raise InvalidMetadata(f"A country is an ISO 3166-1 alpha-2 code such as 'FR': {code[:8]!r}.")
        codes.add(code.upper())
    if len(codes) > MAX_BLOCKED_COUNTRIES:
        raise InvalidMetadata(f"A video is blocked in at most {MAX_BLOCKED_COUNTRIES} countries.")
    return sorted(codes)


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidMetadata(f"{name} is one of {', '.join(allowed)}.")
    return value
