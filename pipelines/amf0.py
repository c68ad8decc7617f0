"""AMF0, the value encoding of FLV script data (``onMetaData``) and of RTMP commands (Adobe AMF0
specification, 2007). It lives with the media formats because an FLV file needs it as much as the
RTMP protocol does, and the RTMP server takes it from here.

Python forms: number ``float`` (``int`` is accepted when encoding), boolean ``bool``, string and
long string ``str``, object ``dict[str, Any]``, ECMA array ``EcmaArray``, strict array ``list``,
date ``datetime`` (UTC, millisecond precision), null ``None``, undefined ``UNDEFINED``.
Typed objects decode to plain ``dict``; references, AMF3 switches and unknown markers raise.

Decoding never trusts a length: every length and count is checked against the bytes actually
present before anything is sliced or allocated, and nesting is bounded by ``MAX_DEPTH``, so a
hostile payload costs at most its own size. Every failure is a ``pipelines.errors.AmfError``.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pipelines.errors import AmfError

__all__ = ["EcmaArray", "UNDEFINED", "Undefined", "MAX_DEPTH", "encode", "decode", "decode_one"]

MAX_DEPTH: Final = 32

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED_MARKER = 0x00, 0x01, 0x02, 0x03, 0x05, 0x06
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = 0x08, 0x09, 0x0A, 0x0B, 0x0C
UNSUPPORTED, XML_DOCUMENT, TYPED_OBJECT = 0x0D, 0x0F, 0x10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Undefined:
    """The AMF0 ``undefined`` value (distinct from ``null``/``None``); use the ``UNDEFINED`` singleton."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()


class EcmaArray(dict[str, Any]):
    """An associative array (marker 0x08), as used by ``onMetaData``; otherwise a plain ``dict``."""


def encode(*values: Any) -> bytes:
    """Encode ``values`` one after another, as a command's arguments are laid out."""
    out = bytearray()
    for value in values:
        _encode_value(out, value, 0)
    return bytes(out)


def _encode_key(out: bytearray, key: str) -> None:
    raw = key.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise AmfError("object key longer than 65535 bytes")
    out += struct.pack(">H", len(raw)) + raw


def _encode_props(out: bytearray, props: dict[str, Any], depth: int) -> None:
    for key, item in props.items():
        if not isinstance(key, str):
            raise AmfError(f"object keys must be str, not {type(key).__name__}")
        _encode_key(out, key)
        _encode_value(out, item, depth + 1)
    out += b"\x00\x00" + bytes([OBJECT_END])


def _encode_value(out: bytearray, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise AmfError(f"nesting deeper than {MAX_DEPTH}")
    if value is None:
        out.append(NULL)
    elif value is UNDEFINED:
        out.append(UNDEFINED_MARKER)
    elif isinstance(value, bool):
        out += bytes([BOOLEAN, 1 if value else 0])
    elif isinstance(value, int | float):
        out.append(NUMBER)
        out += struct.pack(">d", float(value))
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) <= 0xFFFF:
            out += bytes([STRING]) + struct.pack(">H", len(raw)) + raw
        else:
            out += bytes([LONG_STRING]) + struct.pack(">I", len(raw)) + raw
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise AmfError("dates must be timezone-aware")
        millis = (value - _EPOCH) / timedelta(milliseconds=1)
        out += bytes([DATE]) + struct.pack(">dh", millis, 0)
    elif isinstance(value, EcmaArray):
        out += bytes([ECMA_ARRAY]) + struct.pack(">I", len(value))
        _encode_props(out, value, depth)
    elif isinstance(value, dict):
        out.append(OBJECT)
        _encode_props(out, value, depth)
    elif isinstance(value, list | tuple):
        out += bytes([STRICT_ARRAY]) + struct.pack(">I", len(value))
        for item in value:
            _encode_value(out, item, depth + 1)
    else:
        raise AmfError(f"cannot encode {type(value).__name__} as AMF0")


def decode(data: bytes) -> list[Any]:
    """Decode every value in ``data``; raises ``AmfError`` on anything malformed or truncated."""
    values: list[Any] = []
    offset = 0
    while offset < len(data):
        value, offset = decode_one(data, offset)
        values.append(value)
    return values


def decode_one(data: bytes, offset: int = 0) -> tuple[Any, int]:
    """Decode the value at ``offset``; returns it and the offset just past it."""
    return _Decoder(data).value(offset, 0)


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data

    def take(self, offset: int, size: int) -> bytes:
        if size < 0 or offset + size > len(self.data):
            raise AmfError(f"truncated: need {size} bytes at offset {offset}, have {len(self.data) - offset}")
        return self.data[offset : offset + size]

    def utf8(self, offset: int, size: int) -> str:
        try:
            return self.take(offset, size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AmfError("string is not valid UTF-8") from exc

    def value(self, offset: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise AmfError(f"nesting deeper than {MAX_DEPTH}")
        marker = self.take(offset, 1)[0]
        offset += 1
        if marker == NUMBER:
            return struct.unpack(">d", self.take(offset, 8))[0], offset + 8
        if marker == BOOLEAN:
            return self.take(offset, 1)[0] != 0, offset + 1
        if marker == STRING:
            (size,) = struct.unpack(">H", self.take(offset, 2))
            return self.utf8(offset + 2, size), offset + 2 + size
        if marker in (LONG_STRING, XML_DOCUMENT):
            (size,) = struct.unpack(">I", self.take(offset, 4))
            return self.utf8(offset + 4, size), offset + 4 + size
        if marker == NULL:
            return None, offset
        if marker in (UNDEFINED_MARKER, UNSUPPORTED):
            return UNDEFINED, offset
        if marker == OBJECT:
            return self.props(offset, depth, {})
        if marker == TYPED_OBJECT:
            (size,) = struct.unpack(">H", self.take(offset, 2))
            self.utf8(offset + 2, size)
            return self.props(offset + 2 + size, depth, {})
        if marker == ECMA_ARRAY:
            self.take(offset, 4)  # the count is advisory; the end marker is authoritative
            return self.props(offset + 4, depth, EcmaArray())
        if marker == STRICT_ARRAY:
            (count,) = struct.unpack(">I", self.take(offset, 4))
            offset += 4
            if count > len(self.data) - offset:
                raise AmfError(f"strict array claims {count} items in {len(self.data) - offset} bytes")
            items = []
            for _ in range(count):
                item, offset = self.value(offset, depth + 1)
                items.append(item)
            return items, offset
        if marker == DATE:
            millis, _tz = struct.unpack(">dh", self.take(offset, 10))
            try:
                if not math.isfinite(millis):
                    raise OverflowError
                return _EPOCH + timedelta(milliseconds=millis), offset + 10
            except OverflowError as exc:
                raise AmfError("date out of range") from exc
        if marker == OBJECT_END:
            raise AmfError("object end marker outside an object")
        raise AmfError(f"unsupported AMF0 marker 0x{marker:02x}")

    def props(self, offset: int, depth: int, into: dict[str, Any]) -> tuple[dict[str, Any], int]:
        while True:
            (size,) = struct.unpack(">H", self.take(offset, 2))
            if size == 0 and self.take(offset + 2, 1)[0] == OBJECT_END:
                return into, offset + 3
            key = self.utf8(offset + 2, size)
            into[key], offset = self.value(offset + 2 + size, depth + 1)
