"""Search over videos, channels, posts and hashtags: one small index interface
(``SearchBackend``) with PostgreSQL full-text search and SQLite FTS5 behind it."""

from control_plane.search.backend import Document, SearchBackend, open_backend
from control_plane.search.service import SearchService

__all__ = ["Document", "SearchBackend", "SearchService", "open_backend"]
