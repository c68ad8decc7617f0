"""The canary: a round trip through a worker, the database and the blob store."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import sqlalchemy as sa

from workers import runtime

__all__ = ["run"]

PAYLOAD_BYTES = 64 * 1024


def run(job_id: str) -> dict[str, Any]:
    """Write, read back and delete a random blob; returns timings (ms) and the worker's name."""
    ctx = runtime.current()
    key = f"ops/canary/{job_id}"
    payload = os.urandom(PAYLOAD_BYTES)
    started = time.perf_counter()
    ctx.store.put(key, payload)
    echoed = ctx.store.read(key)
    ctx.store.delete(key)
    storage_ms = (time.perf_counter() - started) * 1000
    if echoed != payload:
        raise RuntimeError(f"storage returned {len(echoed)} different bytes for {key}")
    started = time.perf_counter()
    with ctx.db.session() as session:
        session.execute(sa.text("SELECT 1"))
    db_ms = (time.perf_counter() - started) * 1000
    return {
        "worker": runtime.worker_name(),
        "bytes": PAYLOAD_BYTES,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "storage_roundtrip_ms": round(storage_ms, 3),
        "database_roundtrip_ms": round(db_ms, 3),
    }
