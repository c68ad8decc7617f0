"""The upload service behind the tus endpoint: ownership, limits, locks and completion.

The protocol layer (``uploads/routes.py``) parses headers and hands over here; the bytes go to
an :class:`storage.uploads.UploadStore`, whose offsets are durable. This service keeps the
platform's own record of each upload (owner, quota, expiry) and, when the last byte lands, turns
the upload into its video's source through the video service, which starts processing.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, cast

import sqlalchemy as sa

from control_plane.core.db import Database, new_id, utcnow
from control_plane.core.kv import KeyValue
from control_plane.core.leftovers import Leftovers
from control_plane.core.settings import Settings
from control_plane.uploads.body import ThreadBody
from control_plane.uploads.errors import (
    LengthInvalid,
    OffsetConflict,
    QuotaExceeded,
    TooManyUploads,
    UploadFinished,
    UploadGone,
    UploadLocked,
    UploadMissing,
    UploadTooLarge,
)
from control_plane.uploads.headers import Checksum, sanitize_filename
from control_plane.uploads.models import Upload
from control_plane.videos import VideoService
from control_plane.videos.models import Video
from storage import OffsetMismatch, UploadNotFound
from storage.uploads import RecordedUploadStore, UploadInfo, spool_verified

__all__ = ["UploadService", "UploadState", "LOCK_TTL"]

log = logging.getLogger(__name__)

LOCK_TTL = 60.0  # seconds; extended while bytes flow
LOCK_WAIT = 5.0  # seconds a request waits for a write in flight (say, of a client that just dropped) to end


@dataclass(frozen=True)
class UploadState:
    """What HEAD and the other responses report. Bytes; ``length`` None while deferred."""

    id: str
    offset: int
    length: int | None
    metadata: dict[str, str]
    expires_at: datetime | None
    is_partial: bool
    is_final: bool
    parts: tuple[str, ...] = ()


def _state(info: UploadInfo, row: Upload) -> UploadState:
    return UploadState(
        row.id,
        info.offset,
        info.length,
        info.metadata,
        row.expires_at,
        row.is_partial,
        row.is_final,
        info.parts,
    )


class UploadService:
    def __init__(
        self,
        db: Database,
        store: RecordedUploadStore,
        kv: KeyValue,
        settings: Settings,
        videos: VideoService,
    ) -> None:
        self.db = db
        self.store = store
        self.kv = kv
        self.settings = settings
        self.videos = videos

    # -- creation -----------------------------------------------------------------------------

    def _check_limits(
        self, session: sa.orm.Session, owner_id: str, length: int | None, *, counts: bool
    ) -> None:
        if length is not None and length > self.settings.upload_max_bytes:
            raise UploadTooLarge(
                f"The file is {length} bytes; the limit is {self.settings.upload_max_bytes} bytes."
            )
        used = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(sa.func.coalesce(Upload.length, Upload.offset)), 0)).where(
                Upload.owner_id == owner_id
            )
        )
        if int(used or 0) + (length or 0) > self.settings.upload_quota_bytes:
            raise QuotaExceeded(
                f"This upload would go past your storage quota of {self.settings.upload_quota_bytes} bytes."
            )
        if counts:
            open_uploads = session.scalar(
                sa.select(sa.func.count())
                .select_from(Upload)
                .where(
                    Upload.owner_id == owner_id, Upload.completed_at.is_(None), Upload.expires_at > utcnow()
                )
            )
            if int(open_uploads or 0) >= self.settings.upload_max_concurrent:
                raise TooManyUploads(
                    f"You already have {open_uploads} uploads in progress; finish or cancel one first.",
                    headers={"Retry-After": "60"},
                )

    def create(
        self, owner_id: str, *, length: int | None, metadata: dict[str, str], partial: bool = False
    ) -> UploadState:
        """A new upload of ``length`` bytes (None: declared later). Creates its video unless partial."""
        if length is not None and length < 0:
            raise LengthInvalid("Upload-Length must be a non-negative number of bytes.")
        upload_id = new_id()
        expires_at = utcnow() + timedelta(seconds=self.settings.upload_expiry)
        with self.db.session() as session:
            self._check_limits(session, owner_id, length, counts=True)
            info = self.store.create(upload_id, length, metadata, expires_at=expires_at, is_partial=partial)
            row = Upload(
                id=upload_id,
                owner_id=owner_id,
                length=length,
                offset=0,
                is_partial=partial,
                is_final=False,
                expires_at=expires_at,
            )
            session.add(row)
            if not partial:
                self._add_video(session, upload_id, owner_id, metadata)
        log.info("upload created", extra={"upload_id": upload_id, "length": length, "partial": partial})
        state = _state(info, row)
        if length == 0 and not partial:
            self._complete(upload_id)
        return state

    def _add_video(
        self, session: sa.orm.Session, video_id: str, owner_id: str, metadata: dict[str, str]
    ) -> None:
        filename = sanitize_filename(metadata["filename"]) if metadata.get("filename") else None
        title = (metadata.get("title") or (filename or "")).strip()[:200]
        self.videos.add_upload(session, video_id, owner_id, title=title, filename=filename)

    def concatenate(self, owner_id: str, partial_ids: list[str], metadata: dict[str, str]) -> UploadState:
        """A final upload made of the owner's complete partial uploads, in order."""
        with self.db.session() as session:
            rows = [self._owned(session, owner_id, pid) for pid in partial_ids]
            for row in rows:
                if not row.is_partial:
                    raise LengthInvalid(f"Upload {row.id} is not a partial upload.")
            total = 0
            for pid in partial_ids:
                info = self.store.info(pid)
                if not info.is_complete:
                    raise LengthInvalid(f"Partial upload {pid} is not complete.")
                total += info.offset
            self._check_limits(session, owner_id, total, counts=False)
        final_id = new_id()
        expires_at = utcnow() + timedelta(seconds=self.settings.upload_expiry)
        info = self.store.concatenate(final_id, partial_ids, metadata=metadata, expires_at=expires_at)
        with self.db.session() as session:
            row = Upload(
                id=final_id,
                owner_id=owner_id,
                length=info.length,
                offset=info.offset,
                is_partial=False,
                is_final=True,
                expires_at=expires_at,
            )
            session.add(row)
            self._add_video(session, final_id, owner_id, metadata)
        self._complete(final_id)
        return _state(info, row)

    # -- reading and writing ------------------------------------------------------------------

    def _owned(self, session: sa.orm.Session, owner_id: str, upload_id: str) -> Upload:
        row = session.get(Upload, upload_id)
        if row is None or row.owner_id != owner_id:
            raise UploadMissing("No such upload.")
        if row.completed_at is None and row.expires_at <= utcnow():
            raise UploadGone("This upload expired; start a new one.")
        return row

    def _lock(self, upload_id: str) -> str:
        """Take the upload's lock, waiting up to LOCK_WAIT for a write in flight to end."""
        deadline = time.monotonic() + LOCK_WAIT
        while (token := self.kv.acquire_lock(f"upload:{upload_id}", LOCK_TTL)) is None:
            if time.monotonic() > deadline:
                raise UploadLocked("Another request is writing to this upload; retry when it ends.")
            time.sleep(0.05)
        return token

    def head(self, owner_id: str, upload_id: str) -> UploadState:
        """The upload's state; waits for a write in flight so the offset it reports is settled."""
        with self.db.session() as session:
            row = self._owned(session, owner_id, upload_id)
            session.expunge(row)
        token = self._lock(upload_id)
        try:
            return self._head(row)
        finally:
            self.kv.release_lock(f"upload:{upload_id}", token)

    def _head(self, row: Upload) -> UploadState:
        upload_id = row.id
        if row.completed_at is not None and not row.is_partial:
            return UploadState(
                row.id, row.length or 0, row.length, {}, row.expires_at, row.is_partial, row.is_final
            )
        info = self.store.info(upload_id)
        if info.is_complete and not row.is_partial:
            self._complete(upload_id)  # a crash between the last byte and completion is healed here
        return _state(info, row)

    def write(
        self,
        owner_id: str,
        upload_id: str,
        offset: int,
        body: ThreadBody,
        *,
        checksum: Checksum | None = None,
        declared_length: int | None = None,
        content_length: int | None = None,
    ) -> UploadState:
        """Append the body at ``offset``; the returned offset is durable. One writer at a time."""
        token = self._lock(upload_id)
        body.heartbeat = lambda: self._keep_lock(upload_id, token)
        try:
            return self._write_locked(
                owner_id, upload_id, offset, body, checksum, declared_length, content_length
            )
        finally:
            self.kv.release_lock(f"upload:{upload_id}", token)

    def _keep_lock(self, upload_id: str, token: str) -> None:
        if not self.kv.extend_lock(f"upload:{upload_id}", token, LOCK_TTL):
            raise UploadLocked("This upload's lock was lost; resume from its current offset.")

    def _write_locked(
        self,
        owner_id: str,
        upload_id: str,
        offset: int,
        body: ThreadBody,
        checksum: Checksum | None,
        declared_length: int | None,
        content_length: int | None,
    ) -> UploadState:
        with self.db.session() as session:
            row = self._owned(session, owner_id, upload_id)
            session.expunge(row)
        if row.is_final:
            raise UploadFinished("A final (concatenated) upload cannot be written to.")
        if row.completed_at is not None:
            if offset == row.length and not content_length:
                return UploadState(
                    row.id, offset, row.length, {}, row.expires_at, row.is_partial, row.is_final
                )
            raise OffsetConflict(f"This upload is complete at offset {row.length}.")
        info = self.store.info(upload_id)
        if declared_length is not None and info.length is None:
            if declared_length > self.settings.upload_max_bytes:
                raise UploadTooLarge(
                    f"The file is {declared_length} bytes; the limit is "
                    f"{self.settings.upload_max_bytes} bytes."
                )
            info = self.store.declare_length(upload_id, declared_length)
            with self.db.session() as session:
                self._check_limits(session, owner_id, declared_length - info.offset, counts=False)
                stored = session.get(Upload, upload_id)
                assert stored is not None
                stored.length = declared_length
        if offset != info.offset:
            raise OffsetConflict(f"Upload-Offset is {offset} but the upload is at {info.offset}.")
        remaining = (info.length if info.length is not None else self.settings.upload_max_bytes) - offset
        if content_length is not None and content_length > remaining:
            raise UploadTooLarge(
                f"The body has {content_length} bytes but only {remaining} remain to be sent."
            )
        stream = cast(BinaryIO, body)
        source = stream
        if checksum is not None:
            source = spool_verified(
                stream, algorithm=checksum.algorithm, expected=checksum.digest, max_bytes=remaining
            )
        new_offset: int | None = None
        try:
            new_offset = self.store.write(upload_id, offset, source, max_bytes=remaining)
        except OffsetMismatch as exc:
            raise OffsetConflict(str(exc)) from exc
        finally:
            if source is not stream:
                source.close()
            self._record_offset(upload_id, new_offset, info.length)
        if info.length is not None and new_offset == info.length and not row.is_partial:
            self._complete(upload_id)
        return UploadState(
            row.id, new_offset, info.length, info.metadata, row.expires_at, row.is_partial, row.is_final
        )

    def _record_offset(self, upload_id: str, offset: int | None, length: int | None) -> None:
        """Copy the durable offset into the database (for quota and the video's progress).

        ``offset`` None (a write that failed midway) reads what was kept from the store.
        """
        if offset is None:
            try:
                stored = self.store.info(upload_id)
            except UploadNotFound:
                return
            offset, length = stored.offset, stored.length
        with self.db.session() as session:
            row = session.get(Upload, upload_id)
            if row is None:  # removed with its video while these bytes were arriving
                self._terminate(upload_id)
                return
            row.offset = offset
            if length:
                self.videos.upload_progress(session, upload_id, offset / length)

    def _complete(self, upload_id: str) -> None:
        """Turn a complete upload into its video's source (idempotent) and start processing."""
        key = self.store.finish(upload_id)
        size = self.store.info(upload_id).offset
        with self.db.session(exclusive=True) as session:
            row = session.get(Upload, upload_id, with_for_update=True)
            if row is None or row.completed_at is not None:
                return
            row.completed_at, row.offset = utcnow(), size
            self.videos.source_arrived(session, upload_id, size=size, source_key=key)
        self.store.forget(upload_id)
        log.info("upload complete", extra={"upload_id": upload_id, "bytes": size})
        self.videos.process(upload_id)

    # -- removal ------------------------------------------------------------------------------

    def terminate(self, owner_id: str, upload_id: str) -> None:
        with self.db.session() as session:
            row = self._owned(session, owner_id, upload_id)
            if row.completed_at is not None and not row.is_partial:
                raise UploadFinished("This upload is finished; delete the video instead.")
        token = self._lock(upload_id)
        try:
            self._remove(upload_id)
        finally:
            self.kv.release_lock(f"upload:{upload_id}", token)

    def _remove(self, upload_id: str) -> None:
        self._terminate(upload_id)
        with self.db.session() as session:
            self.videos.discard_upload(session, upload_id)
            session.execute(sa.delete(Upload).where(Upload.id == upload_id))

    def video_removed(self, session: sa.orm.Session, video: Video, leftovers: Leftovers) -> None:
        """The video's remover (``VideoService.on_remove``): its upload row goes in the removing
        transaction, and the bytes of an unfinished upload after the commit (a finished upload's
        bytes are the video's source, which the video service removes)."""
        self._remove_rows(session, sa.select(Upload).where(Upload.id == video.id), leftovers)

    def remove_rows_of_owner(self, session: sa.orm.Session, owner_id: str) -> Leftovers:
        """Every upload row of ``owner_id`` (partial ones too) in the caller's transaction; the
        returned leftovers remove their bytes after its commit."""
        leftovers = Leftovers()
        self._remove_rows(session, sa.select(Upload).where(Upload.owner_id == owner_id), leftovers)
        return leftovers

    def _remove_rows(self, session: sa.orm.Session, query: sa.Select, leftovers: Leftovers) -> None:
        for row in list(session.scalars(query)):
            if row.completed_at is None or row.is_partial:
                leftovers.then.append(functools.partial(self._discard_data, row.id))
            session.delete(row)

    def _discard_data(self, upload_id: str) -> None:
        """Remove an upload's bytes and record from the store; waits for a write in flight first,
        and goes ahead without the lock if it does not end (that write's bytes find no row and
        come back here)."""
        try:
            token: str | None = self._lock(upload_id)
        except UploadLocked:
            token = None
        try:
            self._terminate(upload_id)
        finally:
            if token is not None:
                self.kv.release_lock(f"upload:{upload_id}", token)

    def _terminate(self, upload_id: str) -> None:
        try:
            self.store.terminate(upload_id)
        except UploadNotFound:
            pass

    def sweep(self, now: datetime | None = None) -> int:
        """Remove every unfinished upload past its expiry; returns how many were removed."""
        now = now or utcnow()
        with self.db.session() as session:
            ids = list(
                session.scalars(
                    sa.select(Upload.id).where(Upload.completed_at.is_(None), Upload.expires_at <= now)
                )
            )
        orphans = [i for i in self.store.expired(now) if i not in ids]
        for upload_id in ids + orphans:
            self._remove(upload_id)
        if ids or orphans:
            log.info("expired uploads swept", extra={"count": len(ids) + len(orphans)})
        return len(ids) + len(orphans)
