"""The search index's one small interface, with a PostgreSQL and an SQLite implementation.

An index stores :class:`Document` rows and answers :meth:`SearchBackend.matches`: an SQL
``SELECT ref_id, rank`` of the documents of one kind that match every term, ``rank`` higher for
better matches (a title match outweighs a tag match, which outweighs a body match). The search
service joins that query with the live tables, so what is private, hidden or deleted never comes
back even while the index still holds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database
from control_plane.search.terms import Terms

__all__ = ["Document", "SearchBackend", "open_backend"]


@dataclass(frozen=True)
class Document:
    """What the index knows of one thing. ``language`` is an ISO 639-1 code (None: unknown)."""

    kind: str
    ref_id: str
    title: str = ""
    tags: str = ""
    body: str = ""
    language: str | None = None


class SearchBackend(ABC):
    """Writes join the caller's transaction (``session``); ``matches`` builds a query to run."""

    @abstractmethod
    def put(self, session: Session, documents: Sequence[Document]) -> None:
        """Add the documents, or replace the ones already there (same kind and ref_id)."""

    @abstractmethod
    def remove(self, session: Session, kind: str, ref_ids: Sequence[str]) -> None:
        """Forget the documents; ids the index does not hold are ignored."""

    @abstractmethod
    def matches(self, session: Session, kind: str, terms: Terms) -> sa.Select[tuple[str, float]]:
        """``SELECT ref_id, rank`` of the documents of ``kind`` that match every term (at least
        one), to run in ``session`` (which a backend may use to prepare it)."""


def open_backend(db: Database) -> SearchBackend:
    """PostgreSQL full-text search on PostgreSQL, FTS5 on SQLite."""
    if db.engine.dialect.name == "postgresql":
        from control_plane.search.backends.postgres import PostgresSearch

        return PostgresSearch()
    from control_plane.search.backends.sqlite import SqliteSearch

    return SqliteSearch()
