"""ISO BMFF box building for the live packager: sizes in bytes, integers big-endian."""

from __future__ import annotations

import struct

__all__ = ["box", "full_box"]


def box(kind: bytes, *payload: bytes) -> bytes:
    """A box of four-character ``kind`` whose payload is the concatenation of ``payload``."""
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A full box: one version byte and 24 flag bits before the payload."""
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)
