"""The search domain's tables: one document per searchable thing, and the refresh watermarks.

A document is what the index knows of a video, an account or a post: a title, tags and a body,
weighted in that order, and a language for stemming. PostgreSQL keeps a weighted ``tsvector``
beside it (column ``document``, with a GIN and a newest-first index per kind, made by the
migration); SQLite keeps an FTS5 table, ``search_fts``, whose rowids are the documents' ids.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.core.db import Base, UTCDateTime, utcnow

__all__ = ["KINDS", "SearchDocument", "SearchWatermark"]

#: The backend-specific parts of the index, which the models do not describe (Alembic's
#: comparison leaves them alone): SQLite's FTS5 table and its shadow tables, PostgreSQL's column.
Base.metadata.info.setdefault("unmapped", set()).update(
    {
        "table:search_fts*",
        "column:search_documents.document",
        "index:ix_search_documents_document_*",
        "index:ix_search_documents_newest_*",
    }
)

#: What a document is about: a video, an account (a channel) or a post.
KINDS = ("video", "user", "post")


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (sa.UniqueConstraint("kind", "ref_id", name="uq_search_documents_ref"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    ref_id: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.Text, default="")
    tags: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: ISO 639-1 code of the text's language; None: unknown (English stemming).
    language: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SearchWatermark(Base):
    """How far the periodic refresh has read one source (``videos``, ``users``, ``posts``)."""

    __tablename__ = "search_watermarks"

    source: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
