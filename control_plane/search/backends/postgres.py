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

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from control_plane.search.backend import Document, SearchBackend
from control_plane.search.models import KINDS
from control_plane.search.terms import Terms

__all__ = ["LANGUAGES", "PostgresSearch", "tsquery_text"]

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
#: The most matches one query ranks (the newest), and how many of a kind's newest documents are
#: read in order before the word index is asked for the rest; see ``PostgresSearch.matches``.
CANDIDATES = 200
WALKED = 10_000

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


_READINGS = sa.text(
    "SELECT w.ord, c.cfg, t.lexeme, t.positions[1] "
    "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, ord) "
    "CROSS JOIN unnest(CAST(:configs AS text[])) AS c(cfg) "
    "CROSS JOIN LATERAL unnest(to_tsvector(CAST(c.cfg AS regconfig), w.word)) AS t"
)
CONFIGS = ("simple", *LANGUAGES.values())


def _lexeme(text: str, prefix: bool = False) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def tsquery_text(session: Session, terms: Terms) -> str | None:
    """The ``tsquery`` of the terms, as text: each term as stemmed by each configuration (the
    distinct readings, OR-ed), the last one also as the start of a word as written (``simple``;
    a prefix stemmed in a foreign language would make ``transco`` find ``transcription``); the
    terms AND-ed. None when no term holds a word PostgreSQL indexes.

    PostgreSQL stems the words (one round trip); the query is then a constant of the statement
    that runs it, which the planner can weigh against the column's statistics (a rare word is
    looked up in the GIN index, a very common one read newest first).
    """
    found: dict[int, dict[str, list[tuple[int, str]]]] = {}
    params = {"words": list(terms.words), "configs": list(CONFIGS)}
    for ordinal, config, lexeme, position in session.execute(_READINGS, params):
        found.setdefault(ordinal - 1, {}).setdefault(config, []).append((position or 0, lexeme))
    clauses = []
    for index in range(len(terms.words)):
        readings = found.get(index, {})
        options = sorted({tuple(sorted(lexeme for _, lexeme in r)) for r in readings.values()})
        alternatives = [" & ".join(_lexeme(lexeme) for lexeme in option) for option in options]
        if index == len(terms.words) - 1 and readings.get("simple"):
            typed = [lexeme for _, lexeme in sorted(readings["simple"])]
            alternatives.append(" & ".join([*map(_lexeme, typed[:-1]), _lexeme(typed[-1], prefix=True)]))
        if alternatives:
            clauses.append("(" + " | ".join(f"({a})" for a in alternatives) + ")")
    return " & ".join(clauses) or None


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

    def matches(self, session: Session, kind: str, terms: Terms) -> sa.Select[tuple[str, float]]:
        """Ranks the ``CANDIDATES`` most recently indexed matches: ``ts_rank`` reads each
        document's vector, so ranking a word found in a third of 200,000 posts would take a second.

        The newest matches come from one statement, in two parts that PostgreSQL runs in turn and
        stops as soon as it has enough (a ``LIMIT`` over a ``UNION ALL``): first the kind's
        ``WALKED`` newest documents, read newest first (its partial index on ``id``) and each
        tested against the query, which finds a common word's newest matches after a few hundred
        rows; then, only if those held too few, the word's GIN index over the older documents,
        which costs what the (then rare) word's matches cost. Neither part depends on the
        planner's estimate of how common the word is (of a prefix it is often ten times off): the
        first is written so that no word index can serve it (``ts_match_vq``, the function
        behind ``@@``), the second so that the ``id`` index cannot (``id + 0``).
        """
        text = tsquery_text(session, terms)
        if text is None:
            nothing: sa.ColumnElement[float] = sa.cast(sa.literal(0.0), sa.Double())
            return sa.select(_docs.c.ref_id.label("ref_id"), nothing.label("rank")).where(sa.false())
        # Inline, not bound: the plan is made for this word (and no prepared statement's generic
        # plan could tell a rare word from a common one).
        query = sa.literal_column(_sql_string(text) + "::tsquery", TSQUERY)
        of_kind = _docs.c.kind == _constant(kind)
        newest = sa.select(sa.func.max(_docs.c.id)).where(of_kind).scalar_subquery()
        edge = newest - WALKED
        walked = (
            sa.select(_docs.c.id)
            .where(of_kind, _docs.c.id > edge, sa.func.ts_match_vq(_docs.c.document, query))
            .order_by(_docs.c.id.desc())
        )
        older = (
            sa.select(_docs.c.id)
            .where(of_kind, _docs.c.id + 0 <= edge, _docs.c.document.op("@@")(query))
            .order_by((_docs.c.id + 0).desc())
        )
        newest_first = sa.union_all(walked, older).subquery()
        ids = sa.select(newest_first.c.id).limit(CANDIDATES)
        candidates = sa.select(_docs.c.ref_id, _docs.c.document).where(_docs.c.id.in_(ids)).subquery()
        # ts_rank is a 4-byte real; as an 8-byte double it survives a trip through a page cursor.
        rank: sa.ColumnElement[float] = sa.cast(sa.func.ts_rank(candidates.c.document, query), sa.Double())
        return sa.select(candidates.c.ref_id.label("ref_id"), rank.label("rank"))


def _constant(kind: str) -> sa.ColumnElement[str]:
    """The kind as a constant of the statement, so that the planner picks the kind's own index."""
    assert kind in KINDS
    return sa.literal_column(_sql_string(kind), sa.String())


def _sql_string(text: str) -> str:
    """``text`` as an SQL string constant (standard-conforming strings: only quotes double)."""
    return "'" + text.replace("'", "''") + "'"
