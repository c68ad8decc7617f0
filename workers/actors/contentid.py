"""Content-ID jobs: fingerprint and match every upload; index and un-index references."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from control_plane.contentid import settle_video_status
from control_plane.models import Claim, Job, Reference, Video
from fingerprint import FingerprintError, MediaFingerprint, claims, fingerprint_file
from workers import runtime
from workers.reference_index import ReferenceIndex

__all__ = ["match", "reference", "unreference", "fingerprint_key"]

log = logging.getLogger(__name__)

_index: ReferenceIndex | None = None
_index_lock = threading.Lock()


def fingerprint_key(video_id: str) -> str:
    return f"fingerprints/{video_id}.fp"


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
    with ctx.db.session() as session:
        video = session.get(Video, video_id)
        if video is None or not video.source_key:
            raise LookupError(f"video {video_id} has no source")
        source_key = video.source_key
    with tempfile.TemporaryDirectory(prefix="socialflow-fp-") as tmp:
        path = Path(tmp) / "source"
        ctx.store.download(source_key, path)
        fp = fingerprint_file(path)
    ctx.store.put(key, fp.to_bytes())
    return fp


def match(job_id: str) -> dict[str, Any]:
    """Match an upload against every reference; claims over the threshold apply their policy."""
    ctx = runtime.current()
    video_id = str(_args(job_id)["video_id"])
    try:
        fp = _fingerprint(video_id)
    except FingerprintError as exc:  # unreadable media is the transcode job's to report
        log.info("no fingerprint for video %s: %s", video_id, exc)
        return {"video_id": video_id, "claims": 0, "skipped": exc.code}
    found = claims(_reference_index().matcher().match(fp))
    made = 0
    with ctx.db.session() as session:
        video = session.get(Video, video_id, with_for_update=True)
        if video is None:
            return {"video_id": video_id, "claims": 0, "skipped": "VIDEO_GONE"}
        for m in found:
            reference = session.get(Reference, m.reference_id)
            if reference is None or reference.status != "active" or reference.owner_id == video.owner_id:
                continue  # no claim of an owner against their own video
            existing = session.scalar(
                sa.select(Claim).where(Claim.video_id == video_id, Claim.reference_id == reference.id)
            )
            if existing is not None:
                continue  # a rerun of this job claims nothing twice
            session.add(
                Claim(
                    video_id=video_id,
                    reference_id=reference.id,
                    kind=m.kind,
                    query_start=round(m.query_start, 3),
                    reference_start=round(m.reference_start, 3),
                    duration=round(m.duration, 3),
                    score=round(m.score, 4),
                    policy=reference.policy,
                    status="active",
                )
            )
            made += 1
        session.flush()
        settle_video_status(session, video_id)
    log.info("content-id matched", extra={"video_id": video_id, "claims": made})
    return {"video_id": video_id, "claims": made, "matches": len(found)}


def reference(job_id: str) -> dict[str, Any]:
    """Index a registered reference's video and mark the reference active."""
    ctx = runtime.current()
    reference_id = int(_args(job_id)["reference_id"])
    with ctx.db.session() as session:
        ref = session.get(Reference, reference_id)
        if ref is None or ref.status == "removed":
            return {"reference_id": reference_id, "indexed": False}
        video_id = ref.video_id
    _reference_index().add(reference_id, _fingerprint(video_id))
    with ctx.db.session() as session:
        ref = session.get(Reference, reference_id)
        if ref is not None and ref.status == "indexing":
            ref.status = "active"
    return {"reference_id": reference_id, "indexed": True}


def unreference(job_id: str) -> dict[str, Any]:
    reference_id = int(_args(job_id)["reference_id"])
    _reference_index().remove(reference_id)
    return {"reference_id": reference_id, "removed": True}
