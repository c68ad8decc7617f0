"""Counts kept on a row (a video's views, a channel's followers): checking what a caller adds."""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["count_changes"]


def count_changes(deltas: Mapping[str, int], allowed: Collection[str]) -> dict[str, int]:
    """The non-zero ``deltas`` (count name → amount to add, negative to take away); raises
    ``ValueError`` for a name not in ``allowed``, a programming error rather than bad input."""
    unknown = set(deltas) - set(allowed)
    if unknown:
        raise ValueError(f"no such count: {', '.join(sorted(unknown))}")
    return {name: delta for name, delta in deltas.items() if delta}
