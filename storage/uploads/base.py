"""The resumable-upload store interface (the storage side of tus) and its optional capabilities.

No HTTP here and no locking: ``write`` must be called by one writer at a time per upload (the
control plane holds a cross-process lock around it). Offsets and lengths are bytes; times are
timezone-aware datetimes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import BinaryIO

from .info import UploadInfo

__all__ = ["Concater", "LengthDeferrer", "Terminater", "UploadStore"]


class UploadStore(ABC):
    """Creates uploads, takes their bytes durably at known offsets and turns them into blobs."""

    @abstractmethod
    def create(
        self,
        upload_id: str,
        length: int | None,
        metadata: dict[str, str],
        *,
        expires_at: datetime | None,
        is_partial: bool = False,
    ) -> UploadInfo:
        """Start an empty upload of ``length`` bytes (None: declared later).

        Raises ``UploadExists`` for a taken id and ``InvalidUpload`` for a malformed id
        (1-200 of ``A-Z a-z 0-9 _ -``), a negative length or non-string metadata.
        """

    @abstractmethod
    def info(self, upload_id: str) -> UploadInfo:
        """The upload's state with its durable offset; raises ``UploadNotFound``."""

    @abstractmethod
    def write(self, upload_id: str, offset: int, stream: BinaryIO, *, max_bytes: int) -> int:
        """Append at most ``max_bytes`` bytes read from ``stream`` and return the new durable offset.

        ``offset`` must be the current offset (else ``OffsetMismatch``). Reading stops at EOF,
        after ``max_bytes`` bytes, or at the declared length, whichever comes first; the caller
        refuses oversized bodies beforehand. Memory stays bounded whatever the body size. If
        reading ``stream`` fails midway, the bytes received so far are kept and the error
        propagates; ``info().offset`` then says where to resume. Raises ``UploadExpired`` after
        ``expires_at``, ``UploadForbidden`` for a final or finished upload.
        """

    @abstractmethod
    def finish(self, upload_id: str) -> str:
        """Turn a complete upload into one blob and return its key; calling again returns the key.

        Raises ``UploadIncomplete`` when the length is unknown or not reached.
        """

    @abstractmethod
    def forget(self, upload_id: str) -> None:
        """Drop the bookkeeping of a finished upload, keeping its blob; ``UploadIncomplete`` if unfinished."""

    @abstractmethod
    def expired(self, now: datetime) -> list[str]:
        """Ids of unfinished uploads whose ``expires_at`` is at or before ``now``, sorted.

        Reads every upload record under the store's prefix: meant for a periodic sweeper.
        """


class Terminater(ABC):
    """An upload store that can delete an upload and everything it stored."""

    @abstractmethod
    def terminate(self, upload_id: str) -> None:
        """Delete the upload's data, its pending parts and its record; raises ``UploadNotFound``."""


class Concater(ABC):
    """An upload store that joins partial uploads into a final one (tus concatenation)."""

    @abstractmethod
    def concatenate(
        self,
        final_id: str,
        partial_ids: Sequence[str],
        *,
        metadata: dict[str, str] | None = None,
        expires_at: datetime | None = None,
    ) -> UploadInfo:
        """Create the finished upload ``final_id`` holding the partial uploads' bytes in order.

        Every partial must exist, have been created with ``is_partial=True`` and be complete
        (``UploadIncomplete`` otherwise). The partial uploads are left in place.
        """


class LengthDeferrer(ABC):
    """An upload store that accepts the length after creation (tus creation-defer-length)."""

    @abstractmethod
    def declare_length(self, upload_id: str, length: int) -> UploadInfo:
        """Set the length once; ``InvalidUpload`` if already set or below the current offset."""
