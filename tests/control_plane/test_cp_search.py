"""Search: one contract suite over both index backends (PostgreSQL full-text search, SQLite
FTS5), then the API on both platforms, where private, hidden and deleted things never appear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.platform import Platform
from support.social import member, ready_video

from control_plane.accounts.models import User
from control_plane.core import migrate
from control_plane.core.db import Database
from control_plane.http.pagination import encode_cursor
from control_plane.search import Document, SearchBackend, open_backend
from control_plane.search.terms import terms_of
from control_plane.videos.models import Video


class Index:
    def __init__(self, db: Database, backend: SearchBackend) -> None:
        self.db, self.backend = db, backend

    def put(self, *docs: Document) -> None:
        with self.db.session() as session:
            self.backend.put(session, docs)

    def remove(self, kind: str, *ref_ids: str) -> None:
        with self.db.session() as session:
            self.backend.remove(session, kind, ref_ids)

    def find(self, text: str, kind: str = "video") -> list[str]:
        with self.db.session() as session:
            query = self.backend.matches(session, kind, terms_of(text)).subquery()
            rows = session.execute(sa.select(query.c.ref_id).order_by(query.c.rank.desc(), query.c.ref_id))
            return list(rows.scalars())


@pytest.fixture
def index(database: Database) -> Index:
    """The index of a migrated database, on each backend (the ``database`` fixture)."""
    migrate.upgrade(database)
    return Index(database, open_backend(database))


def doc(
    ref: str,
    title: str = "",
    tags: str = "",
    body: str = "",
    kind: str = "video",
    language: str | None = None,
) -> Document:
    return Document(kind=kind, ref_id=ref, title=title, tags=tags, body=body, language=language)


def test_title_outweighs_tags_outweighs_body(index: Index) -> None:
    index.put(
        doc("body", "a quiet morning", "birds", "then a falcon flew over the hills"),
        doc("title", "The falcon", "birds", "a long description of a bird"),
        doc("tags", "morning walk", "falcon birds", "nothing more"),
        doc("none", "sparrows", "birds", "small and brown"),
    )
    assert index.find("falcon") == ["title", "tags", "body"]


def test_every_term_must_match_and_stems_match(index: Index) -> None:
    index.put(doc("a", "Running with red falcons"), doc("b", "A red kite"), doc("c", "The runner"))
    assert index.find("red falcon") == ["a"]
    assert index.find("runs red") == ["a"]  # stemmed: runs, running -> run
    assert index.find("falcons running") == ["a"]
    assert index.find("kite falcon") == []


def test_the_last_term_matches_as_you_type(index: Index) -> None:
    index.put(doc("a", "Transcoding explained"), doc("b", "Transport layers"), doc("c", "Live transcription"))
    assert sorted(index.find("transc")) == ["a", "c"]
    assert index.find("transco") == ["a"]
    assert index.find("explained transc") == ["a"]
    assert index.find("trans lay") == []  # only the last term is a prefix


def test_put_replaces_remove_forgets_and_kinds_are_apart(index: Index) -> None:
    index.put(doc("a", "old words"), doc("a", "ada", kind="user"))
    index.put(doc("a", "new title"))
    assert index.find("old") == [] and index.find("new") == ["a"]
    assert index.find("ada") == [] and index.find("ada", "user") == ["a"]
    index.remove("video", "a", "missing")
    assert index.find("new") == [] and index.find("ada", "user") == ["a"]


def test_query_syntax_cannot_be_injected(index: Index) -> None:
    index.put(doc("a", "plain title"))
    for text in (
        "plain & !title",
        "title:*",
        '"plain" OR title',
        "plain | (x",
        "NEAR(plain title)",
        "ti-tle:",
    ):
        index.find(text)  # no error from the backend's query parser
    assert index.find("plain & !title") == ["a"]
    assert not terms_of("&|!():*\"'\\")  # nothing to search for: the service answers an empty page


def test_postgres_stems_each_language(tmp_path: Path, postgres_url: str) -> None:
    db = Database(postgres_url)
    migrate.upgrade(db)
    index = Index(db, open_backend(db))
    index.put(doc("de", "Die Häuser am See", language="de"), doc("fr", "Les chevaux sauvages", language="fr"))
    assert index.find("haus") == ["de"]  # German stemming: Häuser -> haus
    assert index.find("cheval") == ["fr"]
    assert index.find("häus") == ["de"]  # as typed, unstemmed
    db.dispose()


@pytest.mark.parametrize("walked", [3, 1000])
def test_postgres_ranks_the_newest_matches_whichever_way_it_finds_them(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, walked: int
) -> None:
    from control_plane.search.backends import postgres

    monkeypatch.setattr(postgres, "CANDIDATES", 3)
    # 3: the newest documents hold one match, the word index finds the others; 1000: all are read in order.
    monkeypatch.setattr(postgres, "WALKED", walked)
    db = Database(postgres_url)
    migrate.upgrade(db)
    index = Index(db, open_backend(db))
    index.put(
        doc("old-title", "egret"),
        *(doc(f"new{i}", body="an egret") for i in range(4)),
        doc("other", "heron"),
        doc("newer", "heron"),
    )
    assert sorted(index.find("egret")) == ["new1", "new2", "new3"]  # the three newest
    index.put(doc("new4", "Egret egret"))
    assert index.find("egr")[0] == "new4"
    assert sorted(index.find("heron egr")) == []
    assert sorted(index.find("heron", kind="user")) == []
    db.dispose()


# -- the API on both platforms ------------------------------------------------------------


def search(
    platform: Platform, q: str, kind: str = "videos", headers: dict[str, str] | None = None
) -> list[str]:
    r = platform.client.get("/api/v1/search", params={"q": q, "type": kind}, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["title"] if kind in ("channels", "hashtags") else item["id"] for item in r.json()["items"]]


def test_search_shows_only_what_the_caller_may_see(both: Platform) -> None:
    ada, bob, cyd = (member(both, n) for n in ("ada", "bob", "cyd"))
    public = ready_video(both, ada, title="Kestrel hunting at dawn")
    hidden = [ready_video(both, ada, title=f"Kestrel {v}", visibility=v) for v in ("private", "unlisted")]
    with both.services.db.session() as session:
        for status in ("processing", "blocked", "failed"):
            session.add(
                Video(id=f"{status:0<32}"[:32], owner_id=ada.id, title=f"Kestrel {status}", status=status)
            )
    bobs = ready_video(both, bob, title="Kestrel nest")
    both.services.search.refresh()
    assert search(both, "kestrel") == [public, bobs] or search(both, "kestrel") == [bobs, public]
    assert set(search(both, "kest")) == {public, bobs}
    assert hidden and not set(hidden) & set(search(both, "kestrel"))

    post = both.client.post(
        "/api/v1/posts", json={"text": "Kestrels are #Falcons"}, headers=bob.headers
    ).json()
    assert search(both, "kestrel", "posts") == [post["id"]]  # indexed as it was made
    assert search(both, "falc", "hashtags") == ["Falcons"] and search(both, "#FALC", "hashtags") == [
        "Falcons"
    ]
    assert search(both, "bo", "channels") == ["bob"]

    assert both.client.put("/api/v1/users/bob/block", headers=cyd.headers).status_code == 204
    assert search(both, "kestrel", headers=cyd.headers) == [public]
    assert search(both, "kestrel", "posts", cyd.headers) == []
    assert search(both, "bob", "channels", cyd.headers) == []
    assert search(both, "bob", "channels", ada.headers) == ["bob"]

    both.client.delete(f"/api/v1/posts/{post['id']}", headers=bob.headers)
    assert search(both, "kestrel", "posts") == []
    with both.services.db.session() as session:
        session.execute(sa.delete(Video).where(Video.id == public))
    assert search(both, "kestrel") == [bobs]  # gone at once, before any refresh
    both.services.search.refresh()
    assert search(both, "dawn") == []


def test_search_reads_tags_and_profiles_from_their_owners(both: Platform) -> None:
    """Videos are indexed with the catalogue's tags, accounts with their channel's display name
    and bio; an edit of either alone (a tag list, a display name) reaches the index at the next
    refresh, even when other rows moved the refresh's watermark past the edited one's last change."""
    ada = member(both, "ada")
    long_ago = datetime.now(UTC) - timedelta(hours=1)

    def patch(path: str, body: dict) -> None:
        r = both.client.patch(f"/api/v1{path}", json=body, headers=ada.headers)
        assert r.status_code == 200, r.text

    video = ready_video(both, ada, title="Morning flight")
    patch(f"/videos/{video}", {"tags": ["Ospreys", "lakes"], "description": "over the water"})
    patch("/users/me", {"display_name": "Peregrine Watcher", "bio": "Counting falcons"})
    with both.services.db.session() as session:  # made and edited an hour ago...
        session.execute(sa.update(Video).where(Video.id == video).values(updated_at=long_ago))
        session.execute(sa.update(User).where(User.id == ada.id).values(created_at=long_ago))
    ready_video(both, ada, title="Evening")  # ...and newer rows since, which the refresh reads last
    member(both, "bob")
    both.services.search.refresh()
    assert search(both, "ospreys") == [video] and search(both, "water") == [video]
    assert search(both, "peregrine", "channels") == ["ada"] and search(both, "falcons", "channels") == ["ada"]

    patch(f"/videos/{video}", {"tags": ["kites"]})
    patch("/users/me", {"display_name": "Harrier"})
    both.services.search.refresh()
    assert search(both, "kites") == [video] and search(both, "ospreys") == []
    assert search(both, "harrier", "channels") == ["ada"] and search(both, "peregrine", "channels") == []


def test_search_pages_and_bounds(both: Platform) -> None:
    ada = member(both, "ada")
    for i in range(5):
        ready_video(both, ada, title=f"Heron {i}")
    both.services.search.refresh()
    seen: list[str] = []
    r = both.client.get("/api/v1/search", params={"q": "heron", "limit": 2}).json()
    seen += [i["id"] for i in r["items"]]
    while r["next_cursor"]:
        r = both.client.get(
            "/api/v1/search", params={"q": "heron", "limit": 2, "cursor": r["next_cursor"]}
        ).json()
        seen += [i["id"] for i in r["items"]]
    assert len(seen) == len(set(seen)) == 5
    forged = both.client.get(
        "/api/v1/search", params={"q": "heron", "cursor": encode_cursor("search_videos", ["high", "x"])}
    )
    assert forged.status_code == 422
    assert both.client.get("/api/v1/search", params={"q": "x" * 201}).status_code == 422
    assert both.client.get("/api/v1/search", params={"q": "heron", "type": "bogus"}).status_code == 422
    assert both.client.get("/api/v1/search", params={"q": "&&&"}).json() == {"items": [], "next_cursor": None}
    assert both.client.get("/api/v1/search", params={"q": "\x00", "type": "hashtags"}).status_code == 200
