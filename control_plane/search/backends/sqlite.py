"""SQLite FTS5 search for the embedded default.

``search_fts`` is an external-content FTS5 table over ``search_documents`` (its rowid is the
document's id), tokenized with ``porter unicode61 remove_diacritics 2``: Unicode words, accents
folded, English stemming. Ranking is BM25 with the title weighing 10, tags 4 and the body 1.
The last term also matches as a prefix of an indexed (stemmed) word: ``transc`` finds
``transcoding``; unlike PostgreSQL, a prefix longer than the stem (``runn`` for ``running``,
stored as ``run``) finds it only once the word is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import utcnow
from control_plane.search.backend import Document, SearchBackend
from control_plane.search.models import SearchDocument
from control_plane.search.terms import Terms

__all__ = ["SqliteSearch", "fts_query"]

#: BM25 weights of the title, tags and body columns, in the table's column order.
WEIGHTS = (10.0, 4.0, 1.0)
_fts = sa.table("search_fts", sa.column("rowid", sa.Integer))
_DELETE = sa.text(
    "INSERT INTO search_fts(search_fts, rowid, title, tags, body) "
    "VALUES ('delete', :id, :title, :tags, :body)"
)
_INSERT = sa.text("INSERT INTO search_fts(rowid, title, tags, body) VALUES (:id, :title, :tags, :body)")


def fts_query(terms: Terms) -> str:
    """``"a" "b" "c"*``: every term (implicitly AND), the last also as a prefix."""
    *whole, last = terms.words
    return " ".join([*(f'"{w}"' for w in whole), f'"{last}"*'])


class SqliteSearch(SearchBackend):
    def _forget(self, session: Session, rows: Sequence[SearchDocument]) -> None:
        """Take the rows out of the FTS index (FTS5 needs the values it indexed to do so)."""
        for row in rows:
            session.execute(_DELETE, {"id": row.id, "title": row.title, "tags": row.tags, "body": row.body})

    def _existing(self, session: Session, kind: str, ref_ids: Sequence[str]) -> list[SearchDocument]:
        query = sa.select(SearchDocument).where(
            SearchDocument.kind == kind, SearchDocument.ref_id.in_(list(ref_ids))
        )
        return list(session.execute(query).scalars())

    def put(self, session: Session, documents: Sequence[Document]) -> None:
        for kind in {d.kind for d in documents}:
            batch = [d for d in documents if d.kind == kind]
            rows = {r.ref_id: r for r in self._existing(session, kind, [d.ref_id for d in batch])}
            self._forget(session, list(rows.values()))
            for doc in batch:
                row = rows.get(doc.ref_id) or SearchDocument(kind=doc.kind, ref_id=doc.ref_id)
                row.title, row.tags, row.body, row.language = doc.title, doc.tags, doc.body, doc.language
                row.updated_at = utcnow()
                session.add(row)
                session.flush()
                session.execute(
                    _INSERT, {"id": row.id, "title": row.title, "tags": row.tags, "body": row.body}
                )

    def remove(self, session: Session, kind: str, ref_ids: Sequence[str]) -> None:
        if not ref_ids:
            return
        rows = self._existing(session, kind, ref_ids)
        self._forget(session, rows)
        for row in rows:
            session.delete(row)
        session.flush()

    def matches(self, session: Session, kind: str, terms: Terms) -> sa.Select[tuple[str, float]]:
        table: sa.ColumnElement[Any] = sa.literal_column("search_fts")
        rank = -sa.func.bm25(table, *WEIGHTS)
        return (
            sa.select(SearchDocument.ref_id.label("ref_id"), rank.label("rank"))
            .select_from(SearchDocument)
            .join(_fts, _fts.c.rowid == SearchDocument.id)
            .where(SearchDocument.kind == kind, table.op("MATCH")(fts_query(terms)))
        )
