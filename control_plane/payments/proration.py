"""Pro-rating a plan change in the middle of a billing period, as Stripe does by default.

Moving from a plan of ``old`` to one of ``new`` (minor units per period) with ``remaining`` of
``period`` seconds left credits the unused part of the old plan and charges the same part of the
new one: ``(new - old) × remaining / period``, rounded half away from zero to a minor unit.
Positive: the member pays the difference now; negative: it is credited to the next invoice.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["prorate"]


def prorate(old: int, new: int, remaining: float, period: float) -> int:
    """The amount due now (negative: a credit) for the change; 0 outside the period."""
    if period <= 0 or remaining <= 0:
        return 0
    share = Fraction(min(remaining, period)) / Fraction(period)
    exact = (new - old) * share
    magnitude = int(abs(exact) + Fraction(1, 2))
    return magnitude if exact >= 0 else -magnitude
