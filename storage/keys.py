"""Blob key validation.

A key is a relative, slash-separated path such as ``videos/ab12/source.mp4``. The same rules hold
for every store so that a key valid on local disk is valid on S3 and the other way round.
"""

from __future__ import annotations

from .errors import InvalidKey

__all__ = ["MAX_KEY_BYTES", "validate_key", "validate_prefix"]

MAX_KEY_BYTES = 1024
"""Longest key accepted, in UTF-8 bytes (S3's own limit)."""


def _check_text(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise InvalidKey(f"{what} must be a string, not {type(value).__name__}")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"{what} is longer than {MAX_KEY_BYTES} bytes")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidKey(f"{what} {value!r} contains a control character")
    if "\\" in value:
        raise InvalidKey(f"{what} {value!r} contains a backslash")
    if value.startswith("/"):
        raise InvalidKey(f"{what} {value!r} is absolute; keys are relative paths")


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is safe, else raise :class:`InvalidKey`.

    Refused: empty keys, keys over ``MAX_KEY_BYTES``, absolute keys, backslashes, NUL and other
    control characters, empty segments (``a//b``, trailing ``/``) and ``.``/``..`` segments.
    """
    _check_text(key, "key")
    if not key:
        raise InvalidKey("key is empty")
    for segment in key.split("/"):
        if segment == "":
            raise InvalidKey(f"key {key!r} has an empty path segment")
        if segment in {".", ".."}:
            raise InvalidKey(f"key {key!r} has a '{segment}' segment")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it may start keys: empty, or a valid key text optionally ending in ``/``."""
    _check_text(prefix, "prefix")
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix
