"""The ranked feed's learned term: a small logistic model of "the reader interacts with this item".

Features (one row per reader and item, in ``FEATURES`` order):

* ``recency``: ``2 ** (-age_hours / 6)``, the item's age seen through a 6 h half-life;
* ``engagement``: ``log1p(likes + 2·replies + 3·reposts)``;
* ``affinity``: ``log1p`` of the reader's likes, replies and reposts of the author's posts in the
  last 30 days;
* ``followed``: 1 when the reader follows the author (0: found through the accounts they follow);
* ``video``: 1 for a video, or a post carrying one.

The model standardises each feature (the training set's mean and deviation), then
``p = sigmoid(w · z + b)``. It is fitted by plain gradient descent with L2 regularisation in
numpy (a few thousand rows to a few hundred thousand; no library beyond numpy needed) and kept in
the blob store as JSON (``MODEL_KEY``), with its held-out AUC beside the AUC of recency alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np

__all__ = ["FEATURES", "MODEL_KEY", "Model", "auc", "fit"]

FEATURES = ("recency", "engagement", "affinity", "followed", "video")
MODEL_KEY = "feed/model.json"
HALF_LIFE_HOURS = 6.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass
class Model:
    """Weights over standardised ``FEATURES``; ``auc`` and ``auc_recency`` are measured on the
    held-out part of the training data (None for the untrained default)."""

    weights: list[float]
    bias: float
    mean: list[float]
    std: list[float]
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    auc: float | None = None
    auc_recency: float | None = None
    samples: int = 0
    trained_at: str | None = None

    @classmethod
    def untrained(cls) -> Model:
        """Every item alike (p = 0.5): ranking rests on the other terms until ``feed.train`` ran."""
        n = len(FEATURES)
        return cls(weights=[0.0] * n, bias=0.0, mean=[0.0] * n, std=[1.0] * n)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for the rows of ``x`` (columns in ``FEATURES`` order)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return _sigmoid(z @ np.asarray(self.weights) + self.bias)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Model:
        raw = json.loads(data)
        model = cls(**raw)
        if tuple(model.features) != FEATURES:
            raise ValueError(f"model features {model.features} are not {list(FEATURES)}")
        return model


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count half). 0.5 when one class is missing."""
    labels = labels.astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    ranks[order] = np.arange(1, len(scores) + 1)
    # ties share their mean rank
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    if len(values) < len(scores):
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    held_out: np.ndarray,
    steps: int = 400,
    rate: float = 0.5,
    l2: float = 1e-3,
) -> Model:
    """Fit on the rows not ``held_out`` (a boolean mask), measure on those that are."""
    train, test = ~held_out, held_out
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std < 1e-9] = 1.0
    z = (x[train] - mean) / std
    target = y[train].astype(float)
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        error = _sigmoid(z @ w + b) - target
        w -= rate * (z.T @ error / len(z) + l2 * w)
        b -= rate * float(error.mean())
    model = Model(
        weights=[float(v) for v in w],
        bias=float(b),
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
        samples=int(len(y)),
        trained_at=datetime.now(UTC).isoformat(),
    )
    if test.any():
        model.auc = round(auc(model.predict(x[test]), y[test]), 4)
        model.auc_recency = round(auc(x[test][:, FEATURES.index("recency")], y[test]), 4)
    return model
