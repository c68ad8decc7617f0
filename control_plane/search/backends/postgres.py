"""PostgreSQL full-text search: a weighted ``tsvector`` per document, GIN-indexed.

Each field is indexed twice: stemmed in the document's language (``running`` → ``run``) and as
written (the ``simple`` configuration), so a query matches a word's other forms and, as you
type, the start of the word itself (``runn`` finds ``running``). Title weighs A, tags B, body C.

A query does not say its language, so its terms are read in every language the index stems
(the ``||`` of one ``tsquery`` per configuration): a German query finds German plurals, an
English one English ones, and the ``simple`` reading finds names that no stemmer knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR
from sqlalchemy.orm import Session

from control_plane.search.backend import Document, SearchBackend
from control_plane.search.terms import Terms

__all__ = ["LANGUAGES", "PostgresSearch", "tsquery"]

#: ISO 639-1 codes and the PostgreSQL text search configuration that stems each.
LANGUAGES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
}
DEFAULT_CONFIG = "english"
#: The most matches one query ranks (the newest); see ``PostgresSearch.matches``.
CANDIDATES = 1000

_FIELD = "setweight(to_tsvector(CAST(:config AS regconfig), :{f}) || to_tsvector('simple', :{f}), '{w}')"
_UPSERT = sa.text(
    "INSERT INTO search_documents (kind, ref_id, title, tags, body, language, updated_at, document) "
    "VALUES (:kind, :ref_id, :title, :tags, :body, :language, now(), "
    + " || ".join(_FIELD.format(f=f, w=w) for f, w in (("title", "A"), ("tags", "B"), ("body", "C")))
    + ") ON CONFLICT (kind, ref_id) DO UPDATE SET title = EXCLUDED.title, tags = EXCLUDED.tags, "
    "body = EXCLUDED.body, language = EXCLUDED.language, updated_at = EXCLUDED.updated_at, "
    "document = EXCLUDED.document"
)
_docs = sa.table(
    "search_documents",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("ref_id", sa.String),
    sa.column("document", TSVECTOR),
)


def _reading(config: str, text: str) -> sa.ColumnElement[Any]:
    # The configuration as a constant of the statement (a cast at run time is not immutable and
    # would make PostgreSQL compute the query again for every row).
    assert config.isalpha()
    return sa.func.to_tsquery(sa.literal_column(f"'{config}'::regconfig", REGCONFIG), text)


def tsquery(terms: Terms) -> sa.ColumnElement[Any]:
    """The ``tsquery`` of the terms: for each configuration, every term stemmed in it, the last
    one also read as the start of a word as written (``simple``: stemming a prefix in a foreign
    language would make ``transco`` find ``transcription``)."""
    *whole, last = terms.words
    prefix = _reading("simple", f"{last}:*")
    readings = []
    for config in ("simple", *LANGUAGES.values()):
        reading = prefix.op("||")(_reading(config, last))
        if whole:
            reading = _reading(config, " & ".join(whole)).op("&&")(reading)
        readings.append(reading)
    query = readings[0]
    for reading in readings[1:]:
        query = query.op("||")(reading)
    return query


class PostgresSearch(SearchBackend):
    def put(self, session: Session, documents: Sequence[Document]) -> None:
        if not documents:
            return
        session.execute(
            _UPSERT,
            [
                {
                    "kind": d.kind,
                    "ref_id": d.ref_id,
                    "title": d.title,
                    "tags": d.tags,
                    "body": d.body,
                    "language": d.language,
                    "config": LANGUAGES.get(d.language or "", DEFAULT_CONFIG),
                }
                for d in documents
            ],
        )

    def remove(self, session: Session, kind: str, ref_ids: Sequence[str]) -> None:
        if ref_ids:
            session.execute(sa.delete(_docs).where(_docs.c.kind == kind, _docs.c.ref_id.in_(list(ref_ids))))

    def matches(self, kind: str, terms: Terms) -> sa.Select[tuple[str, float]]:
        """Ranks at most ``CANDIDATES`` matches, the most recently indexed: ``ts_rank`` reads each
        document's vector, so a word in a third of 200,000 posts would otherwise cost a second."""
        query = sa.select(tsquery(terms)).scalar_subquery()  # computed once per statement
        candidates = (
            sa.select(_docs.c.ref_id, _docs.c.document)
            .where(_docs.c.kind == kind, _docs.c.document.op("@@")(query))
            .order_by(_docs.c.id.desc())
            .limit(CANDIDATES)
            .subquery()
        )
        # ts_rank is a 4-byte real; as an 8-byte double it survives a trip through a page cursor.
        rank: sa.ColumnElement[float] = sa.cast(sa.func.ts_rank(candidates.c.document, query), sa.Double())
        return sa.select(candidates.c.ref_id.label("ref_id"), rank.label("rank"))
