"""Amounts and currencies as the platform takes them, and how a payment is split.

Every amount is an integer of minor units. A payment of ``amount`` gives the platform
``fee = amount × fee_bps / 10000`` (rounded down), of which ``pool = fee × pool_bps / 10000``
goes to the pool shared by watch time; the creator gets the rest. A partial reversal (refund,
dispute) of ``part`` takes each share back in proportion, rounded so the parts add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.payments.errors import InvalidMoney

__all__ = ["Split", "ZERO_DECIMAL", "check_money", "minimum", "split"]

#: Currencies without minor units (Stripe's list, of those we may take).
ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"})


def minimum(currency: str) -> int:
    """The smallest charge Stripe takes in ``currency`` (about half a dollar), in minor units."""
    return 50 if currency not in ZERO_DECIMAL else 100


def check_money(amount: int, currency: str, *, allowed: list[str], maximum: int) -> str:
    """The currency, lower case, if the platform takes ``amount`` of it; ``InvalidMoney`` otherwise."""
    code = currency.lower()
    if code not in allowed:
        raise InvalidMoney(f"The currency must be one of {', '.join(allowed)}.", code="INVALID_CURRENCY")
    if isinstance(amount, bool) or not isinstance(amount, int) or not minimum(code) <= amount <= maximum:
        raise InvalidMoney(f"The amount is in minor units, from {minimum(code)} to {maximum} {code}.")
    return code


@dataclass(frozen=True)
class Split:
    creator: int
    fee: int
    pool: int

    @property
    def total(self) -> int:
        return self.creator + self.fee + self.pool

    def part(self, amount: int) -> Split:
        """The share of each for ``amount`` of this split's total, adding up to ``amount``."""
        if self.total == 0 or amount <= 0:
            return Split(0, 0, 0)
        amount = min(amount, self.total)
        pool = amount * self.pool // self.total
        fee = amount * self.fee // self.total
        return Split(amount - pool - fee, fee, pool)


def split(amount: int, fee_bps: int, pool_bps: int) -> Split:
    platform = amount * fee_bps // 10_000
    pool = platform * pool_bps // 10_000
    return Split(amount - platform, platform - pool, pool)
