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
#: read in order before the word index is asked for older ones; see ``PostgresSearch.matches``.
CANDIDATES = 100
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

        The newest matches are found in up to two steps, neither of which follows PostgreSQL's
        estimate of how common the word is (of a prefix it is often ten times off, and the cost it
        puts on testing a vector is far below what it takes): first the kind's ``WALKED`` newest
        documents are read newest first (its partial index on ``id``) and each tested, which
        finds a common word's newest matches after a few hundred rows and stops; then, only if
        those held too few, the word's GIN index is asked for the newest of the older documents,
        with the other ways off for that one statement (``_OLDER``), which costs what the (then
        rare) word's matches cost. The ids go into the ranking statement as constants.
        """
        text = tsquery_text(session, terms)
        if text is None:
            nothing: sa.ColumnElement[float] = sa.cast(sa.literal(0.0), sa.Double())
            return sa.select(_docs.c.ref_id.label("ref_id"), nothing.label("rank")).where(sa.false())
        # Inline, not bound: the statements are planned for this word and this kind.
        query = _sql_string(text) + "::tsquery"
        of_kind = {"kind": _sql_string(kind), "query": query}
        newest_first = _NEWEST.format(**of_kind, walked=int(WALKED), limit=int(CANDIDATES))
        found = session.connection().exec_driver_sql(newest_first).all()
        newest = found[0].newest if found else None
        ids = [row.id for row in found if row.id is not None]
        if newest is not None and len(ids) < CANDIDATES:
            edge = int(newest) - int(WALKED)
            ids += _run_without_index_order(
                session, _OLDER.format(**of_kind, edge=edge, limit=CANDIDATES - len(ids))
            )
        tsquery = sa.literal_column(query, TSQUERY)
        # ts_rank is a 4-byte real; as an 8-byte double it survives a trip through a page cursor.
        rank: sa.ColumnElement[float] = sa.cast(sa.func.ts_rank(_docs.c.document, tsquery), sa.Double())
        chosen = _docs.c.id.in_([sa.literal_column(str(int(i))) for i in ids]) if ids else sa.false()
        # Ranked here, in the page's order (rank, then ref_id, both descending), the caller's join
        # with the live tables reads the candidates in that order and stops at the page's end:
        # a page of 20 looks up 21 posts and their authors, not every candidate.
        ranked = sa.select(_docs.c.ref_id.label("ref_id"), rank.label("rank")).where(chosen)
        return ranked.order_by(rank.desc(), _docs.c.ref_id.desc())


#: The kind's newest id, and the ids of the matches among its ``walked`` newest documents, newest
#: first: its partial index on ``id`` read backwards, each vector tested (``ts_match_vq`` is the
#: function behind ``@@``, which no word index serves). One row with a null id when none match.
_NEWEST = (
    "SELECT m.newest, w.id FROM (SELECT max(id) AS newest FROM search_documents WHERE kind = {kind}) m "
    "LEFT JOIN LATERAL (SELECT id FROM search_documents WHERE kind = {kind} AND id > m.newest - {walked} "
    "AND ts_match_vq(document, {query}) ORDER BY id DESC LIMIT {limit}) w ON true"
)
#: The newest matches older than the walked documents, from the word's GIN index (with index
#: scans and sequential scans off, the planner has no other way; ``id + 0`` keeps the primary
#: key's range out of the bitmap).
_OLDER = (
    "SELECT id FROM search_documents WHERE kind = {kind} AND id + 0 <= {edge} AND document @@ {query} "
    "ORDER BY id DESC LIMIT {limit}"
)


def _run_without_index_order(session: Session, statement: str) -> list[int]:
    """``statement``'s first column, planned with index and sequential scans off and the two
    settings as they were afterwards: one round trip (three statements in the simple protocol,
    which takes no parameters, so every value is written into ``statement``)."""
    keep = ", ".join(
        f"set_config('socialflow.{name}', current_setting('{name}'), true), set_config('{name}', 'off', true)"
        for name in _SWITCHED
    )
    restore = ", ".join(
        f"set_config('{name}', current_setting('socialflow.{name}'), true)" for name in _SWITCHED
    )
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT {keep}; {statement}; SELECT {restore}")
        cursor.nextset()
        return [int(row[0]) for row in cursor.fetchall()]
    finally:
        cursor.close()


_SWITCHED = ("enable_indexscan", "enable_seqscan")


def _constant(kind: str) -> sa.ColumnElement[str]:
    """The kind as a constant of the statement, so that the planner picks the kind's own index."""
    assert kind in KINDS
    return sa.literal_column(_sql_string(kind), sa.String())


def _sql_string(text: str) -> str:
    """``text`` as an SQL string constant (standard-conforming strings: only quotes double)."""
    return "'" + text.replace("'", "''") + "'"
