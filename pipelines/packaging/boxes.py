"""ISO BMFF (MP4) box reading and writing: just what CMAF packaging needs.

Sizes and offsets are in bytes; all integers are big-endian as ISO/IEC 14496-12 says.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Box", "iter_boxes", "read_children", "find_child", "box", "full_box"]


@dataclass(frozen=True)
class Box:
    """A box found at ``offset`` in its source; ``payload`` excludes the size/type header."""

    kind: bytes
    offset: int
    size: int
    payload: bytes

    def full_header(self) -> tuple[int, int]:
        """(version, flags) of a full box."""
        word = struct.unpack_from(">I", self.payload, 0)[0]
        return word >> 24, word & 0xFFFFFF


def iter_boxes(handle: BinaryIO, *, skip_payload: frozenset[bytes] = frozenset()) -> Iterator[Box]:
    """Top-level boxes of an open file, in order. Boxes whose type is in ``skip_payload`` come
    back with an empty payload (read them later by offset); a truncated last box ends the walk."""
    offset = handle.seek(0, 2)
    end = offset
    handle.seek(0)
    offset = 0
    while offset + 8 <= end:
        handle.seek(offset)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", handle.read(8))[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        payload = b"" if kind in skip_payload else handle.read(size - header)
        yield Box(kind, offset, size, payload)
        offset += size


def read_children(payload: bytes) -> list[Box]:
    """Child boxes packed in a container box's payload."""
    children = []
    offset = 0
    while offset + 8 <= len(payload):
        size, kind = struct.unpack_from(">I4s", payload, offset)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", payload, offset + 8)[0]
            header = 16
        if size < header or offset + size > len(payload):
            break
        children.append(Box(kind, offset, size, payload[offset + header : offset + size]))
        offset += size
    return children


def find_child(payload: bytes, *path: bytes) -> Box | None:
    """The first box along ``path`` below a container payload (``None`` when absent)."""
    found: Box | None = None
    for kind in path:
        found = next((b for b in read_children(payload) if b.kind == kind), None)
        if found is None:
            return None
        payload = found.payload
    return found


def box(kind: bytes, *parts: bytes) -> bytes:
    """A serialized box of ``kind`` holding ``parts``."""
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)
