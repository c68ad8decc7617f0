"""The second-price auction on effective CPM, with a reserve price.

Bids arrive best first (the decision index keeps campaigns ranked by eCPM). The winner is the
first bid at or above the reserve that ``admit`` lets through (budget left, frequency-cap slot
free: ``admit`` takes the slot); it pays the eCPM of the next bid that ``eligible`` accepts, or the
reserve when there is none, and never more than its own bid. A bid ``admit`` refuses takes no part
at all, so it neither wins nor sets the price. eCPM is the CPM bid itself while every campaign
buys impressions; it is the place a click or completion price would be converted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Bid", "Outcome", "second_price"]

T = TypeVar("T")


@dataclass(frozen=True)
class Bid(Generic[T]):
    """A campaign's offer for one impression: ``ecpm`` in minor units per thousand."""

    ecpm: int
    item: T


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The winner and its clearing price (minor units per thousand impressions)."""

    winner: Bid[T]
    price: int
    #: The bid that set the price, None when the reserve did.
    runner_up: Bid[T] | None


def second_price(
    ranked: Iterable[Bid[T]],
    reserve: int,
    admit: Callable[[Bid[T]], bool],
    eligible: Callable[[Bid[T]], bool] | None = None,
) -> Outcome[T] | None:
    """Run the auction over ``ranked`` (non-increasing ``ecpm``). ``admit`` is asked of candidates
    in order until one accepts (it may take a cap slot: it is asked of the winner only once);
    ``eligible`` (default: always) is asked of those after it until one can set the price."""
    winner: Bid[T] | None = None
    for bid in ranked:
        if bid.ecpm < reserve:
            break
        if winner is None:
            if admit(bid):
                winner = bid
            continue
        if eligible is None or eligible(bid):
            return Outcome(winner, min(winner.ecpm, max(reserve, bid.ecpm)), bid)
    if winner is None:
        return None
    return Outcome(winner, reserve, None)
