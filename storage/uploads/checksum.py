"""Checksum-verified chunks (tus checksum extension) before they reach ``UploadStore.write``.

``write`` makes bytes durable as they arrive, so a chunk whose checksum turns out wrong must be
held back until verified: ``spool_verified`` copies the body to a spooled temporary file (in
memory up to ``memory_limit`` bytes, then on disk) while hashing it, and hands back the file only
if the digest matches.
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from pathlib import Path
from typing import BinaryIO, cast

from ..base import CHUNK_SIZE
from ..errors import ChecksumMismatch, UnsupportedChecksum

__all__ = ["CHECKSUM_ALGORITHMS", "spool_verified"]

CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha256")
"""Algorithm names as tus spells them in ``Upload-Checksum``."""


def spool_verified(
    stream: BinaryIO,
    *,
    algorithm: str,
    expected: bytes,
    max_bytes: int,
    memory_limit: int = CHUNK_SIZE,
    spool_dir: str | Path | None = None,
) -> BinaryIO:
    """Read at most ``max_bytes`` bytes of ``stream`` and return them as a rewound file.

    ``expected`` is the raw digest (tus sends it base64-encoded). Raises ``UnsupportedChecksum``
    for an unknown algorithm and ``ChecksumMismatch`` when the digest differs; the caller closes
    the returned file after passing it to ``write``.
    """
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UnsupportedChecksum(
            f"checksum algorithm {algorithm!r} is not supported (use {', '.join(CHECKSUM_ALGORITHMS)})"
        )
    digest = hashlib.new(algorithm)
    spool = tempfile.SpooledTemporaryFile(
        max_size=memory_limit, dir=None if spool_dir is None else str(spool_dir)
    )  # noqa: SIM115
    try:
        remaining = max_bytes
        while remaining > 0:
            chunk = stream.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            digest.update(chunk)
            spool.write(chunk)
            remaining -= len(chunk)
        if not hmac.compare_digest(digest.digest(), expected):
            raise ChecksumMismatch(f"the chunk's {algorithm} checksum does not match Upload-Checksum")
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return cast(BinaryIO, spool)
