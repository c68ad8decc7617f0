"""Offline evaluation of the recommendation engine on a synthetic but structured interaction set.

Users have latent tastes over categories (a Dirichlet draw concentrated on a few); items belong to
one category (and lean to a second), with a title and description generated from their categories'
vocabularies plus noise, a creation time and a popularity (Zipf). Sessions happen over time: a user
is shown a list drawn mostly from their tastes (and some from what is popular), and clicks with a
position bias (the first rows far more often); watch time is longer for a better match. The
interactions are split by time (the last ``test_share`` held out); each method ranks unseen items
for every user with held-out watches: popularity, ALS, content only, co-watch, and the blend.
Metrics: recall@10 and NDCG@10 against the held-out set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from control_plane.recommendations.engine import Blend, LsaEmbedder, Model, cowatch, fit_als, interactions

__all__ = ["Synthetic", "evaluate", "synthesize"]

WORDS_PER_CATEGORY = 40
NOISE_WORDS = 400


@dataclass
class Synthetic:
    items: list[str]
    texts: list[str]
    created: np.ndarray
    #: (user, item, watched seconds, time) in time order.
    events: list[tuple[str, str, float, float]]


def synthesize(
    *, users: int = 2000, items: int = 3000, categories: int = 24, sessions: int = 12, seed: int = 19
) -> Synthetic:
    rng = np.random.default_rng(seed)
    vocab = [[f"c{c}w{w}" for w in range(WORDS_PER_CATEGORY)] for c in range(categories)]
    noise = [f"n{w}" for w in range(NOISE_WORDS)]
    category = rng.integers(0, categories, items)
    second = (category + rng.integers(1, categories, items)) % categories
    created = np.sort(rng.uniform(0, 100, items))
    popularity = 1 / (1 + rng.permutation(items)) ** 0.8
    texts = []
    for i in range(items):
        words = list(rng.choice(vocab[category[i]], 6)) + list(rng.choice(vocab[second[i]], 2))
        words += list(rng.choice(noise, 6))
        rng.shuffle(words)
        texts.append(" ".join(words))
    by_category = [np.flatnonzero(category == c) for c in range(categories)]
    events: list[tuple[str, str, float, float]] = []
    position_bias = 1 / np.log2(np.arange(2, 12))
    for u in range(users):
        taste = rng.dirichlet(np.full(categories, 0.08))
        user = f"u{u}"
        for _ in range(sessions):
            now = rng.uniform(0, 100)
            shown: list[int] = []
            for _slot in range(10):
                if rng.random() < 0.2:  # the popular shelf
                    pool = np.flatnonzero(created <= now)
                    if not len(pool):
                        continue
                    weights = popularity[pool] / popularity[pool].sum()
                    shown.append(int(rng.choice(pool, p=weights)))
                else:
                    c = rng.choice(categories, p=taste)
                    pool = by_category[c][created[by_category[c]] <= now]
                    if not len(pool):
                        continue
                    weights = popularity[pool] + 0.02
                    shown.append(int(rng.choice(pool, p=weights / weights.sum())))
            for rank, item in enumerate(shown):
                match = taste[category[item]] + 0.3 * taste[second[item]]
                if rng.random() < position_bias[rank] * min(1.0, 0.15 + 1.5 * match):
                    watched = float(rng.uniform(5, 60) + 600 * match * rng.random())
                    events.append((user, f"i{item}", watched, now + rank * 1e-3))
    events.sort(key=lambda e: e[3])
    return Synthetic([f"i{i}" for i in range(items)], texts, created, events)


def _metrics(ranked: list[int], truth: set[int], k: int = 10) -> tuple[float, float]:
    hits = [1.0 if item in truth else 0.0 for item in ranked[:k]]
    recall = sum(hits) / min(k, len(truth))
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(truth))))
    return recall, dcg / ideal


def evaluate(
    data: Synthetic, *, test_share: float = 0.2, k: int = 10, blend: Blend | None = None
) -> dict[str, Any]:
    """recall@k and NDCG@k of each method; the model is trained on the earlier interactions only."""
    blend = blend or Blend()
    cut = int(len(data.events) * (1 - test_share))
    train, test = data.events[:cut], data.events[cut:]
    started = time.perf_counter()
    users, matrix = interactions(((u, i, s) for u, i, s, _ in train), data.items)
    user_f, item_f = fit_als(matrix)
    neighbours, similarity = cowatch(matrix)
    content = LsaEmbedder().fit_transform(data.texts)
    model = Model(data.items, users, user_f, item_f, neighbours, similarity, content)
    train_seconds = time.perf_counter() - started
    counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
    popular = {int(i): float(counts[i]) for i in np.argsort(-counts)[:500]}
    seen: dict[str, set[int]] = {}
    for u, i, _s, _t in train:
        seen.setdefault(u, set()).add(int(i[1:]))
    truth: dict[str, set[int]] = {}
    for u, i, _s, _t in test:
        item = int(i[1:])
        if item not in seen.get(u, set()):
            truth.setdefault(u, set()).add(item)
    cut_time = train[-1][3]
    age = cut_time - data.created

    def rank(scores: dict[int, float], exclude: set[int]) -> list[int]:
        return [i for i, _ in sorted(scores.items(), key=lambda x: -x[1]) if i not in exclude][:k]

    methods = ("popularity", "als", "content", "cowatch", "blend")
    totals = {m: [0.0, 0.0] for m in methods}
    evaluated = 0
    for user, wanted in truth.items():
        index = model.user(user)
        history = sorted(seen.get(user, set()))
        if index is None or not history:
            continue
        sources = {
            "als": model.als_user(index, 300),
            "cowatch": model.cowatched(history),
            "content": model.similar_content(history, 300),
            "popular": popular,
        }
        rankings = {
            "popularity": rank(popular, set(history)),
            "als": rank(sources["als"], set(history)),
            "content": rank(sources["content"], set(history)),
            "cowatch": rank(sources["cowatch"], set(history)),
            "blend": rank(blend.combine(sources, age_days=lambda i: float(age[i])), set(history)),
        }
        for method, ranked in rankings.items():
            recall, ndcg = _metrics(ranked, wanted, k)
            totals[method][0] += recall
            totals[method][1] += ndcg
        evaluated += 1
    table = {
        m: {f"recall@{k}": round(r / max(evaluated, 1), 4), f"ndcg@{k}": round(n / max(evaluated, 1), 4)}
        for m, (r, n) in totals.items()
    }
    return {
        "users": len(users),
        "items": len(data.items),
        "train_events": len(train),
        "test_events": len(test),
        "evaluated_users": evaluated,
        "train_seconds": round(train_seconds, 2),
        "methods": table,
    }
