"""The ranked feed's parts: recency, AUC, the logistic model, author diversity, and the
``feed.train`` job on the platform's own interactions."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.platform import Platform
from support.waiting import wait_until

from control_plane.accounts.models import User
from control_plane.core.db import new_id, utcnow
from control_plane.feed.model import FEATURES, MODEL_KEY, Model, auc, fit
from control_plane.feed.ranking import MAX_RUN, diversify, recency
from control_plane.jobs.models import Job
from control_plane.social.models import Follow, Post, PostLike


def test_recency_halves_every_six_hours() -> None:
    assert recency(0) == 1.0
    assert recency(6 * 3600) == pytest.approx(0.5)
    assert recency(12 * 3600) == pytest.approx(0.25)
    assert recency(-5) == 1.0  # a clock a little behind is not the future


def test_auc_is_the_chance_a_positive_outranks_a_negative() -> None:
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, 60).astype(float)  # many ties
    labels = rng.integers(0, 2, 60)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    assert auc(scores, labels) == pytest.approx(sum(pairs) / len(pairs))
    assert auc(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0
    assert auc(np.array([0.1, 0.9]), np.array([1, 1])) == 0.5


def test_fit_learns_what_predicts_and_beats_recency_alone() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    x = np.column_stack(
        [rng.random(n), rng.random(n) * 3, rng.random(n) * 2, rng.integers(0, 2, n), rng.integers(0, 2, n)]
    )
    logit = 0.3 * x[:, 0] + 2.5 * x[:, 2] + 1.0 * x[:, 3] - 2.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    held = rng.random(n) < 0.25
    model = fit(x, y, held_out=held)
    weights = dict(zip(FEATURES, model.weights, strict=True))
    assert weights["affinity"] > weights["followed"] > 0 and abs(weights["video"]) < 0.2
    assert model.auc is not None and model.auc_recency is not None
    assert model.auc > model.auc_recency + 0.1
    again = Model.from_json(model.to_json())
    assert np.allclose(again.predict(x[:5]), model.predict(x[:5]))
    with pytest.raises(ValueError):
        Model.from_json(model.to_json().replace(b'"video"', b'"colour"'))
    assert np.allclose(Model.untrained().predict(x[:3]), 0.5)


def _items(authors: str) -> list[Any]:
    return [SimpleNamespace(author=a, n=i) for i, a in enumerate(authors)]


def test_diversify_examples() -> None:
    def run(authors: str) -> str:
        return "".join(i.author for i in diversify(_items(authors), lambda i: i.author))  # type: ignore[arg-type]

    assert run("aaab") == "aaba"
    assert run("aaaabbbb") == "aabaabbb"
    assert run("aaa") == "aaa"
    assert run("abab") == "abab"


@given(st.text(alphabet="abc", max_size=30))
def test_diversify_keeps_everything_and_breaks_long_runs(authors: str) -> None:
    out = diversify(_items(authors), lambda i: i.author)  # type: ignore[arg-type]
    assert sorted(i.n for i in out) == list(range(len(authors)))  # type: ignore[attr-defined]
    names = [i.author for i in out]  # type: ignore[attr-defined]
    for at in range(len(names) - MAX_RUN):
        if len(set(names[at : at + MAX_RUN + 1])) == 1:
            assert set(names[at:]) == {names[at]}  # only once no other author is left
    # otherwise the ranked order holds: each author's items keep their order
    for author in set(authors):
        mine = [i.n for i in out if i.author == author]  # type: ignore[attr-defined]
        assert mine == sorted(mine)


def _interactions(platform: Platform, *, users: int = 30, posts: int = 240, likes: int = 500) -> None:
    """Accounts that each like mostly one favourite author's recent posts."""
    rng = random.Random(4)
    now = utcnow()
    ids = [new_id() for _ in range(users)]
    favourite = {u: rng.choice(ids) for u in ids}
    with platform.services.db.session() as session:
        for i, user_id in enumerate(ids):  # rows only: hashing 30 passwords would be the slow part
            name = f"reader{i}"
            session.add(
                User(
                    id=user_id,
                    username=name,
                    username_key=name,
                    email=f"{name}@example.com",
                    password_hash="x",
                )
            )
        session.flush()
        made = []
        for i in range(posts):
            post = Post(
                id=new_id(),
                author_id=rng.choice(ids),
                text=f"post {i}",
                created_at=now - timedelta(hours=rng.uniform(0, 24 * 20)),
            )
            session.add(post)
            made.append(post)
        for u in ids:
            for f in rng.sample(ids, 8):
                if f != u:
                    session.add(Follow(follower_id=u, followee_id=f, created_at=now - timedelta(days=25)))
        session.flush()
        liked = set()
        for _ in range(likes):
            user = rng.choice(ids)
            pool = [p for p in made if p.author_id == favourite[user]] if rng.random() < 0.7 else made
            post = rng.choice(pool or made)
            if (user, post.id) in liked or post.author_id == user:
                continue
            liked.add((user, post.id))
            at = post.created_at + timedelta(hours=rng.expovariate(1 / 3))
            session.add(PostLike(post_id=post.id, user_id=user, created_at=min(at, now)))
            post.likes += 1


def test_train_job_fits_and_stores_the_model(platform: Platform) -> None:
    feed = platform.services.feed
    untouched = feed.train()
    assert untouched == {"trained": False, "samples": 0}
    _interactions(platform)
    job = platform.services.jobs.enqueue("feed.train")

    def finished() -> Job | None:
        with platform.services.db.session() as session:
            row = session.get(Job, job.id)
            return row if row is not None and row.status in ("succeeded", "failed") else None

    done = wait_until(finished, 60)
    assert isinstance(done, Job) and done.status == "succeeded", done and done.error
    stored = Model.from_json(platform.services.store.read(MODEL_KEY))
    assert stored.samples >= 400 and stored.auc is not None and stored.auc > 0.6
    assert stored.auc_recency is not None
    feed._model = (0.0, Model.untrained())  # as after the cache lapses
    assert feed.model().weights == stored.weights


def test_train_feed_command_trains_where_the_settings_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli import main

    monkeypatch.setenv("SOCIALFLOW_DATA_DIR", str(tmp_path / "data"))
    assert main(["train-feed"]) == 0
    assert json.loads(capsys.readouterr().out) == {"trained": False, "samples": 0}
