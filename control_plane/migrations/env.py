"""Alembic environment: runs on the connection handed in by control_plane.migrate."""

from __future__ import annotations

from alembic import context

import control_plane.models  # noqa: F401  (registers every table on Base.metadata)
from control_plane.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `socialflow migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
