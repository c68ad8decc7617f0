"""Content-ID jobs: fingerprint and match every upload; index and un-index references."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from control_plane.contentid.keys import fingerprint_key
from control_plane.jobs.models import Job
from control_plane.videos import VideoGone
from fingerprint import FingerprintError, MediaFingerprint, fingerprint_file, merge
from workers import runtime
from workers.reference_index import ReferenceIndex

__all__ = ["match", "reference", "unreference"]

log = logging.getLogger(__name__)

_index: ReferenceIndex | None = None
_index_lock = threading.Lock()


def _reference_index() -> ReferenceIndex:
    """One index per worker process, kept warm between jobs."""
    global _index
    ctx = runtime.current()
    with _index_lock:
        if _index is None or _index.store is not ctx.store:
            _index = ReferenceIndex(ctx.store, ctx.kv)
        return _index


def _args(job_id: str) -> dict[str, Any]:
    with runtime.current().db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return dict(job.args)


def _fingerprint(video_id: str) -> MediaFingerprint:
    """The video's fingerprint: from storage if a job made it already, else from its source."""
    ctx = runtime.current()
    key = fingerprint_key(video_id)
    if ctx.store.exists(key):
        return MediaFingerprint.from_bytes(ctx.store.read(key))
    source_key = ctx.videos.source(video_id).source_key
    with tempfile.TemporaryDirectory(prefix="socialflow-fp-") as tmp:
        path = Path(tmp) / "source"
        ctx.store.download(source_key, path)
        fp = fingerprint_file(path)
    ctx.store.put(key, fp.to_bytes())
    return fp


def match(job_id: str) -> dict[str, Any]:
    """Match an upload against every reference; the service claims what is long enough once
    clipped to both videos, and the claims apply their policy."""
    video_id = str(_args(job_id)["video_id"])
    gone = {"video_id": video_id, "claims": 0, "skipped": "VIDEO_GONE"}
    try:
        fp = _fingerprint(video_id)
    except FingerprintError as exc:  # unreadable media is the transcode job's to report
        log.info("no fingerprint for video %s: %s", video_id, exc)
        return {"video_id": video_id, "claims": 0, "skipped": exc.code}
    except VideoGone:  # deleted before its source could be read
        return gone
    found = merge(_reference_index().matcher().match(fp))  # the claim rule is the service's
    made = runtime.current().claims.record_matches(video_id, found, query_seconds=fp.duration)
    if made is None:  # deleted meanwhile: the fingerprint written above may have missed its purge
        runtime.current().store.delete(fingerprint_key(video_id))
        return gone
    log.info("content-id matched", extra={"video_id": video_id, "claims": made})
    return {"video_id": video_id, "claims": made, "matches": len(found)}


def reference(job_id: str) -> dict[str, Any]:
    """Index a registered reference's video and mark the reference active."""
    ctx = runtime.current()
    reference_id = int(_args(job_id)["reference_id"])
    video_id = ctx.claims.reference_to_index(reference_id)
    if video_id is None:
        return {"reference_id": reference_id, "indexed": False}
    _reference_index().add(reference_id, _fingerprint(video_id))
    if not ctx.claims.indexed(reference_id):  # removed while it was being indexed
        _reference_index().remove(reference_id)
        return {"reference_id": reference_id, "indexed": False}
    return {"reference_id": reference_id, "indexed": True}


def unreference(job_id: str) -> dict[str, Any]:
    reference_id = int(_args(job_id)["reference_id"])
    _reference_index().remove(reference_id)
    return {"reference_id": reference_id, "removed": True}
