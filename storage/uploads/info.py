"""What is known of one resumable upload, and its JSON record kept beside the data.

The record is a small JSON object stored in the blob store at ``<prefix><id>.info`` so that any
process can resume an upload. It holds what cannot be read from the data itself; the offset is
never stored there but computed from the durable data on every ``info()``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidUpload

__all__ = ["UploadInfo", "UploadRecord", "validate_upload_id"]

UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
RECORD_VERSION = 1


def validate_upload_id(upload_id: str) -> str:
    """Return ``upload_id`` if it is 1-200 of ``A-Z a-z 0-9 _ -``, else raise ``InvalidUpload``."""
    if not isinstance(upload_id, str) or not UPLOAD_ID.fullmatch(upload_id):
        raise InvalidUpload(f"upload id {upload_id!r} must be 1-200 characters of A-Z, a-z, 0-9, '_', '-'")
    return upload_id


@dataclass(frozen=True)
class UploadInfo:
    """One upload as seen now. Sizes and offsets in bytes; ``length`` is None while deferred.

    ``offset`` is durable: every byte before it survives a crash. ``parts`` lists the partial
    upload ids of a final (concatenated) upload, in order. ``key`` is where the finished blob
    is (or will be) in the blob store.
    """

    id: str
    offset: int
    length: int | None
    metadata: dict[str, str]
    expires_at: datetime | None
    is_partial: bool
    is_final: bool
    parts: tuple[str, ...]
    key: str
    finished: bool

    @property
    def is_complete(self) -> bool:
        """Whether every declared byte has arrived."""
        return self.length is not None and self.offset == self.length


@dataclass
class UploadRecord:
    """The persisted, mutable part of an upload's state."""

    id: str
    length: int | None
    metadata: dict[str, str]
    expires_at: datetime | None
    is_partial: bool = False
    is_final: bool = False
    parts: tuple[str, ...] = ()
    finished: bool = False
    multipart_id: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "version": RECORD_VERSION,
                "id": self.id,
                "length": self.length,
                "metadata": self.metadata,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "is_partial": self.is_partial,
                "is_final": self.is_final,
                "parts": list(self.parts),
                "finished": self.finished,
                "multipart_id": self.multipart_id,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> UploadRecord:
        data = json.loads(raw)
        if data.get("version") != RECORD_VERSION:
            raise InvalidUpload(f"upload record version {data.get('version')!r} is not {RECORD_VERSION}")
        expires = data.get("expires_at")
        return cls(
            id=data["id"],
            length=data["length"],
            metadata=dict(data["metadata"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            is_partial=bool(data["is_partial"]),
            is_final=bool(data["is_final"]),
            parts=tuple(data["parts"]),
            finished=bool(data["finished"]),
            multipart_id=data.get("multipart_id"),
        )
