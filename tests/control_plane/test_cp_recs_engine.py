"""The recommendation engine's parts on small exact cases: co-watch neighbours, the blend's
scaling, the diversity pass, content vectors and ALS on a matrix with two clear tastes."""

from __future__ import annotations

import numpy as np
import pytest

from control_plane.recommendations.engine import (
    Blend,
    LsaEmbedder,
    Model,
    cowatch,
    diversify,
    fit_als,
    interactions,
    normalized,
)

ITEMS = ["a", "b", "c", "d"]
#: u1 and u2 watch a and b; u3 and u4 watch c and d; u5 watches a and c.
ROWS = [("u1", "a", 60), ("u1", "b", 60), ("u2", "a", 30), ("u2", "b", 90), ("u3", "c", 60),
        ("u3", "d", 60), ("u4", "c", 60), ("u4", "d", 10), ("u5", "a", 60), ("u5", "c", 60),
        ("u6", "zzz", 60)]  # fmt: skip


def test_interactions_weigh_watch_time_and_skip_unknown_items() -> None:
    users, matrix = interactions(ROWS, ITEMS)
    assert users == ["u1", "u2", "u3", "u4", "u5"] and matrix.shape == (5, 4) and matrix.nnz == 10
    assert matrix[0, 0] == pytest.approx(np.log1p(60))


def test_cowatch_neighbours_are_by_cosine() -> None:
    _, matrix = interactions(ROWS, ITEMS)
    neighbours, scores = cowatch(matrix, k=3)
    # a was watched by u1, u2, u5; b by u1, u2: cosine 2 / sqrt(3 * 2)
    assert neighbours[1, 0] == 0 and scores[1, 0] == pytest.approx(2 / np.sqrt(6))
    assert neighbours[1, 1] == -1  # b shares viewers with a only
    model = Model(
        ITEMS, [], np.zeros((0, 2)), np.zeros((4, 2)), neighbours, scores, np.zeros((4, 2), np.float32)
    )
    got = model.cowatched([1, 3])
    assert set(got) == {0, 2} and got[0] == pytest.approx(2 / np.sqrt(6))


def test_als_puts_each_taste_first() -> None:
    users, matrix = interactions(ROWS, ITEMS)
    user_f, item_f = fit_als(matrix, factors=4, iterations=20, regularization=0.01)
    model = Model(
        ITEMS, users, user_f, item_f, np.full((4, 1), -1), np.zeros((4, 1)), np.zeros((4, 2), np.float32)
    )
    first = sorted(model.als_user(users.index("u1"), 4).items(), key=lambda x: -x[1])
    assert {i for i, _ in first[:2]} == {0, 1}
    third = sorted(model.als_user(users.index("u3"), 4).items(), key=lambda x: -x[1])
    assert {i for i, _ in third[:2]} == {2, 3}


def test_content_vectors_find_the_similar_text() -> None:
    texts = [
        "pasta sauce recipe italian",
        "italian pasta recipe easy",
        "speedrun platform game",
        "game speedrun world record",
    ]
    content = LsaEmbedder(dims=2).fit_transform(texts)
    assert content.shape == (4, 2) and np.allclose(np.linalg.norm(content, axis=1), 1, atol=1e-5)
    model = Model(
        ITEMS, [], np.zeros((0, 2)), np.zeros((4, 2)), np.full((4, 1), -1), np.zeros((4, 1)), content
    )
    near = model.similar_content([0], 4)
    assert max((i for i in near if i != 0), key=near.__getitem__) == 1


def test_the_blend_scales_each_source_and_boosts_fresh_videos() -> None:
    assert normalized({1: 2.0, 2: 1.0, 3: -1.0}) == {1: 1.0, 2: 0.5}
    blend = Blend(als=1.0, cowatch=1.0, content=0.0, popular=0.0, fresh=0.5, half_life=7.0)
    scores = blend.combine(
        {"als": {1: 10.0, 2: 5.0}, "cowatch": {2: 0.3}}, age_days=lambda i: 0.0 if i == 1 else 7.0
    )
    assert scores == {1: pytest.approx(1.5), 2: pytest.approx((0.5 + 1.0) * 1.25)}


def test_diversify_keeps_at_most_two_of_a_channel() -> None:
    owners = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}
    assert diversify(["a1", "a2", "a3", "b1", "c1"], owners, 4) == ["a1", "a2", "b1", "c1"]
    assert diversify(["a1", "a2", "a3"], owners, 3) == ["a1", "a2", "a3"]  # nothing else to show
