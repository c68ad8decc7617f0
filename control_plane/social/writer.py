"""What the domain's rate-limited writers (graph, posts, comments) are built from."""

from __future__ import annotations

from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.ratelimit import Limit, RateLimiter
from control_plane.social.counters import CountWriter

__all__ = ["LimitedWriter"]


class LimitedWriter:
    """A service that writes on a user's behalf.

    ``limit`` bounds how often one user may (``limiter`` counts; 429 with Retry-After past it);
    ``counts`` changes the counts its rows are part of, in the writing transaction (an account's
    or a video's, kept on that domain's row: see ``counters.CountWriter``); ``events`` hears of
    each change once it is committed.
    """

    def __init__(
        self, db: Database, events: EventHub, limiter: RateLimiter, limit: Limit, *, counts: CountWriter
    ) -> None:
        self.db = db
        self.events = events
        self.limiter = limiter
        self.limit = limit
        self.counts = counts
