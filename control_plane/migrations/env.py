"""Alembic environment: runs on the connection handed in by control_plane.core.migrate."""

from __future__ import annotations

from alembic import context

# Every domain's tables, registered on Base.metadata for autogenerate's comparison.
from control_plane.accounts import models as accounts  # noqa: F401
from control_plane.ads import models as ads  # noqa: F401
from control_plane.analytics import models as analytics  # noqa: F401
from control_plane.channels import models as channels  # noqa: F401
from control_plane.contentid import models as contentid  # noqa: F401
from control_plane.core.db import Base
from control_plane.core.migrate import include_object
from control_plane.feed import models as feed  # noqa: F401
from control_plane.jobs import models as jobs  # noqa: F401
from control_plane.live import models as live  # noqa: F401
from control_plane.moderation import models as moderation  # noqa: F401
from control_plane.notifications import models as notifications  # noqa: F401
from control_plane.payments import models as payments  # noqa: F401
from control_plane.search import models as search  # noqa: F401
from control_plane.social import models as social  # noqa: F401
from control_plane.uploads import models as uploads  # noqa: F401
from control_plane.videos import models as videos  # noqa: F401
from control_plane.views import models as views  # noqa: F401

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `socialflow migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
