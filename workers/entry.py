"""Entry of each ``socialflow worker`` process: Dramatiq's CLI calls :func:`boot` once per process."""

from __future__ import annotations

from control_plane.core.db import Database
from control_plane.core.heap import settle
from control_plane.core.kv import open_kv
from control_plane.core.logs import configure_logging
from control_plane.core.pubsub import open_pubsub
from control_plane.core.settings import load_settings
from storage import open_store
from workers import runtime
from workers.broker import broker_for

__all__ = ["boot"]


def boot() -> None:
    """Read the settings, open the database and blob store, and install the broker."""
    settings = load_settings()
    configure_logging(json_lines=settings.log_json)
    db = Database(settings.effective_database_url)
    store = open_store(settings.effective_storage_url, secret=settings.secret_bytes)
    broker = broker_for(settings)
    runtime.configure(
        runtime.WorkerContext(
            settings=settings,
            db=db,
            store=store,
            kv=open_kv(settings.redis_url),
            broker=broker,
            pubsub=open_pubsub(settings.redis_url),
        )
    )
    settle()  # startup's objects out of the collector's full passes
