"""Recommendations: the training job's work, and the two lists the API serves.

``train`` reads the last ``days`` of signed-in watch sessions (the views domain's raw sessions)
and the texts of public ready videos, fits the engine (``engine.py``) and stores the model in the
blob store (``recommendations/model.npz``); every API process loads it, and loads it again when
its etag changes (looked at every ``reload_every`` seconds).

Serving blends the sources' candidates (ALS, co-watch, content, popularity in the viewer's
country), then keeps only what the viewer may watch, in one query: ready and public, not hidden
by a block or mute, not geofenced or age-restricted for them (``moderation.access``), not already
watched to the end; then at most two videos of one channel. Without a model, or for a viewer
without history, the list is the popular videos in their country, then everywhere (cold start).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Collection, Sequence
from datetime import timedelta

import numpy as np
import sqlalchemy as sa

from control_plane.accounts.models import User
from control_plane.core.db import Database, utcnow
from control_plane.moderation.access import Audience, watchable
from control_plane.recommendations.engine import (
    Blend,
    LsaEmbedder,
    Model,
    cowatch,
    diversify,
    fit_als,
    interactions,
)
from control_plane.social.audience import visible_to
from control_plane.videos.catalogue import Listed, describe
from control_plane.videos.models import Video, VideoTag
from control_plane.views.models import ViewSession, WatchDaily
from storage import BlobNotFound, BlobStore

__all__ = ["MODEL_KEY", "RecommendationService"]

log = logging.getLogger(__name__)

MODEL_KEY = "recommendations/model.npz"
#: Candidates each source contributes before filtering.
CANDIDATES = 200
#: Seconds the popular videos of a country and language are kept in process.
POPULAR_TTL = 60.0
#: Seconds a viewer's (or a video's) ranked candidates are kept in process, and how many are kept.
RANKED_TTL = 60.0
RANKED_ENTRIES = 20_000
#: Share of a video's length after which it counts as watched to the end.
FINISHED = 0.9


class RecommendationService:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        blend: Blend | None = None,
        platform_blocked: Collection[str] = (),
        reload_every: float = 30.0,
    ) -> None:
        self.db = db
        self.store = store
        self.blend = blend or Blend()
        self.platform_blocked = tuple(platform_blocked)
        self.reload_every = reload_every
        self._model: Model | None = None
        self._etag: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        #: ("user", id, country, language, model etag) or ("related", video id, country, None,
        #: model etag) → (expires, ranked candidate ids).
        self._ranked: dict[tuple[str | None, ...], tuple[float, list[str]]] = {}
        #: (country, language) → (expires, popular videos); the same for every viewer there.
        self._popular_cache: dict[tuple[str, str | None], tuple[float, dict[str, float]]] = {}

    # -- training ---------------------------------------------------------------------------

    def train(self, *, days: int = 30) -> dict[str, int]:
        """Fit the model on the last ``days`` of watching and store it; returns its size."""
        since = utcnow() - timedelta(days=days)
        with self.db.session() as session:
            videos = session.execute(
                sa.select(Video.id, Video.title, Video.description)
                .where(Video.status == "ready", Video.visibility == "public")
                .order_by(Video.id)
            ).all()
            tags: dict[str, list[str]] = {}
            for video_id, tag in session.execute(sa.select(VideoTag.video_id, VideoTag.tag)):
                tags.setdefault(video_id, []).append(tag)
            watched = session.execute(
                sa.select(ViewSession.user_id, ViewSession.video_id, sa.func.sum(ViewSession.watched))
                .where(ViewSession.user_id.is_not(None), ViewSession.last_at >= since)
                .group_by(ViewSession.user_id, ViewSession.video_id)
            ).all()
        items = [v.id for v in videos]
        texts = [" ".join([v.title, v.description or "", *tags.get(v.id, [])]) for v in videos]
        users, matrix = interactions(((str(u), str(v), float(s or 0)) for u, v, s in watched), items)
        user_f, item_f = fit_als(matrix)
        neighbours, similarity = cowatch(matrix)
        content = LsaEmbedder().fit_transform(texts) if texts else np.zeros((0, 1), np.float32)
        out = io.BytesIO()
        np.savez_compressed(
            out,
            items=np.array(items, dtype="U32"),
            users=np.array(users, dtype="U32"),
            user_factors=user_f,
            item_factors=item_f,
            neighbours=neighbours,
            similarity=similarity,
            content=content,
        )
        self.store.put(MODEL_KEY, out.getvalue(), content_type="application/octet-stream")
        with self._lock:
            self._checked = 0.0
        self._ranked.clear()
        return {"items": len(items), "users": len(users), "interactions": int(matrix.nnz)}

    def model(self) -> Model | None:
        """The stored model, loaded once and again when it changes; None before any training."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self.reload_every:
                return self._model
            self._checked = now
            try:
                info = self.store.stat(MODEL_KEY)
            except BlobNotFound:
                self._model = None
                return None
            if info.etag != self._etag:
                with np.load(io.BytesIO(self.store.read(MODEL_KEY))) as data:
                    self._model = Model(
                        items=[str(i) for i in data["items"]],
                        users=[str(u) for u in data["users"]],
                        user_factors=data["user_factors"],
                        item_factors=data["item_factors"],
                        neighbours=data["neighbours"],
                        similarity=data["similarity"],
                        content=data["content"],
                    )
                self._etag = info.etag
            return self._model

    # -- serving ----------------------------------------------------------------------------

    def for_user(self, audience: Audience, limit: int, *, language: str | None = None) -> list[Listed]:
        """Recommendations for a signed-in viewer."""
        assert audience.user_id is not None
        model = self.model()
        key = ("user", audience.user_id, audience.country, language, self._etag if model else None)
        ranked = self._ranked_cache_get(key)
        if ranked is None:
            ranked = self._rank_for_user(model, audience, language)
            self._ranked_cache_put(key, ranked)
        return self._serve(ranked, audience, limit)

    def _rank_for_user(self, model: Model | None, audience: Audience, language: str | None) -> list[str]:
        assert audience.user_id is not None
        history = self._history(audience.user_id)
        sources: dict[str, dict[int, float]] = {}
        popular = self._popular(audience.country, language)
        if model is not None:
            past = [i for i in (model.item(v) for v in history) if i is not None][-50:]
            user = model.user(audience.user_id)
            if user is not None:
                sources["als"] = model.als_user(user, CANDIDATES)
            elif past:
                sources["als"] = model.als_items(past, CANDIDATES)
            if past:
                sources["cowatch"] = model.cowatched(past)
                sources["content"] = model.similar_content(past, CANDIDATES)
            sources["popular"] = {i: s for v, s in popular.items() if (i := model.item(v)) is not None}
            ranked = self._rank(model, sources)
        else:
            ranked = []
        return _then_popular(ranked, popular)

    def related(self, video_id: str, audience: Audience, limit: int) -> list[Listed]:
        """Videos to watch after ``video_id``: co-watched, similar in content and in taste."""
        model = self.model()
        key = ("related", video_id, audience.country, None, self._etag if model else None)
        ranked = self._ranked_cache_get(key)
        if ranked is None:
            ranked = []
            if model is not None and (item := model.item(video_id)) is not None:
                sources = {
                    "cowatch": model.cowatched([item]),
                    "content": model.similar_content([item], CANDIDATES),
                    "als": model.als_items([item], CANDIDATES),
                }
                ranked = self._rank(model, sources)
            popular = self._popular(audience.country, None)
            ranked = [v for v in _then_popular(ranked, popular) if v != video_id]
            self._ranked_cache_put(key, ranked)
        return self._serve(ranked, audience, limit)

    # The candidates, ranked, before any filtering: per viewer (or video) and country, for
    # ``RANKED_TTL`` seconds and the model they came from. What the viewer may watch (blocks,
    # mutes, geofences, age, privacy, finished videos) is decided on every request, never cached.

    def _ranked_cache_get(self, key: tuple[str | None, ...]) -> list[str] | None:
        cached = self._ranked.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    def _ranked_cache_put(self, key: tuple[str | None, ...], ranked: list[str]) -> None:
        if len(self._ranked) > RANKED_ENTRIES:
            self._ranked.clear()
        self._ranked[key] = (time.monotonic() + RANKED_TTL, ranked)

    def _rank(self, model: Model, sources: dict[str, dict[int, float]]) -> list[str]:
        scores = self.blend.combine(sources)
        return [model.items[i] for i, _ in sorted(scores.items(), key=lambda x: -x[1])[: CANDIDATES * 2]]

    def _history(self, user_id: str) -> list[str]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    sa.select(ViewSession.video_id)
                    .where(ViewSession.user_id == user_id)
                    .order_by(ViewSession.last_at)
                    .limit(500)
                )
            )

    def _popular(self, country: str, language: str | None) -> dict[str, float]:
        """Views of the last 7 days per video: in the viewer's country, then everywhere (a
        tenth as much), a video in the viewer's language counting half again. Kept a minute."""
        key, now = (country, language), time.monotonic()
        cached = self._popular_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        popular = self._read_popular(country, language)
        if len(self._popular_cache) > 10_000:
            self._popular_cache.clear()
        self._popular_cache[key] = (now + POPULAR_TTL, popular)
        return popular

    def _read_popular(self, country: str, language: str | None) -> dict[str, float]:
        since = utcnow().date() - timedelta(days=7)
        views = sa.func.sum(WatchDaily.views)
        out: dict[str, float] = {}
        with self.db.session() as session:
            for where, weight in ((WatchDaily.country == country, 1.0), (sa.true(), 0.1)):
                rows = session.execute(
                    sa.select(WatchDaily.video_id, views)
                    .where(where, WatchDaily.day >= since)
                    .group_by(WatchDaily.video_id)
                    .order_by(views.desc())
                    .limit(CANDIDATES)
                )
                for video_id, n in rows:
                    out[video_id] = out.get(video_id, 0.0) + weight * float(n or 0)
            if language and out:
                speaking = session.scalars(
                    sa.select(Video.id).where(Video.id.in_(list(out)), Video.language.like(f"{language}%"))
                )
                for video_id in speaking:
                    out[video_id] *= 1.5
            if len(out) < CANDIDATES:  # a young platform: its newest public videos
                for video_id in session.scalars(
                    sa.select(Video.id)
                    .where(Video.status == "ready", Video.visibility == "public")
                    .order_by(Video.published_at.desc())
                    .limit(CANDIDATES)
                ):
                    out.setdefault(video_id, 0.0)
        return out

    def _serve(self, ranked: Sequence[str], audience: Audience, limit: int) -> list[Listed]:
        """The first ``limit`` of ``ranked`` the audience may watch: the best few times ``limit``
        are filtered first, the whole list only when too many of them are filtered out."""
        window = max(limit * 4, 40)
        listed = self._filtered(ranked[:window], audience, limit)
        if len(listed) < limit and len(ranked) > window:
            listed = self._filtered(ranked, audience, limit)
        return listed

    def _filtered(self, ranked: Sequence[str], audience: Audience, limit: int) -> list[Listed]:
        if not ranked:
            return []
        with self.db.session() as session:
            query = (
                sa.select(Video.id, Video.owner_id)
                .join(User, User.id == Video.owner_id)
                .where(
                    Video.id.in_(list(ranked)),
                    Video.status == "ready",
                    Video.visibility == "public",
                    User.is_active.is_(True),
                    visible_to(Video.owner_id, audience.user_id),
                    watchable(audience, self.platform_blocked),
                )
            )
            if audience.user_id is not None:
                finished = sa.select(ViewSession.video_id).where(
                    ViewSession.user_id == audience.user_id,
                    ViewSession.video_id == Video.id,
                    Video.duration.is_not(None),
                    ViewSession.max_position >= Video.duration * FINISHED,
                )
                query = query.where(~sa.exists(finished))
            # ids and owners only for the whole window; the rows of the few served
            owners: dict[str, str] = {i: o for i, o in session.execute(query)}
            order = diversify([v for v in ranked if v in owners], owners, limit)
            videos = {v.id: v for v in session.scalars(sa.select(Video).where(Video.id.in_(order)))}
            listed = describe(session, [videos[v] for v in order])
            session.expunge_all()
        return listed


def _then_popular(ranked: list[str], popular: dict[str, float]) -> list[str]:
    """``ranked``, then the popular videos it lacks, most popular first."""
    seen = set(ranked)
    return ranked + [v for v in sorted(popular, key=lambda v: -popular[v]) if v not in seen]
