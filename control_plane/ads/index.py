"""The decision index: every servable campaign of this process, filtered per request with bit masks.

Campaigns are ranked by eCPM (ties in a random order drawn at each build) and campaign ``i`` is
bit ``i``. For each targeting value the index keeps the mask of the campaigns it lets through
(``country["GB"] | any_country``, and so on), so one request's eligible set is a handful of integer
ANDs over all campaigns at once, and its lowest set bits are its best bids: the auction reads them
in order and usually stops after two. What cannot be a mask (the schedule, the pacing throttle,
blocked advertisers, the viewer's last ad) is checked on the few campaigns read.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["CampaignEntry", "CreativeEntry", "DecisionIndex", "Request", "Pacer", "MAX_AGE"]

MAX_AGE = 120


@dataclass(frozen=True)
class CreativeEntry:
    id: str
    video_id: str
    click_url: str
    duration: float
    hls: str
    mp4: str
    width: int
    height: int
    bitrate: int | None = None


@dataclass(frozen=True)
class CampaignEntry:
    """A servable campaign as the index sees it. Money in millis; times as Unix seconds."""

    id: str
    advertiser_id: str
    advertiser: str
    name: str
    ecpm: int
    budget_millis: int
    daily_millis: int | None
    cap: int | None
    period_s: int
    starts_at: float
    ends_at: float | None
    countries: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    audiences: frozenset[str] = frozenset()
    interests: frozenset[str] = frozenset()
    age_min: int | None = None
    age_max: int | None = None
    excluded: frozenset[str] = frozenset()
    creatives: tuple[CreativeEntry, ...] = ()


@dataclass(frozen=True)
class Request:
    """What a decision knows of the viewer and the video. ``age`` None: not told."""

    country: str | None
    device: str
    audiences: frozenset[str]
    interests: frozenset[str]
    age: int | None
    category: str | None
    #: Accounts the viewer (or the video's owner) blocked or was blocked by: their ads never show.
    hidden: frozenset[str] = frozenset()


def _masks(
    entries: Sequence[CampaignEntry], values: Callable[[CampaignEntry], frozenset[str]]
) -> tuple[dict[str, int], int]:
    by_value: dict[str, int] = defaultdict(int)
    unrestricted = 0
    for bit, entry in enumerate(entries):
        chosen = values(entry)
        if not chosen:
            unrestricted |= 1 << bit
        for value in chosen:
            by_value[value] |= 1 << bit
    return dict(by_value), unrestricted


@dataclass
class DecisionIndex:
    entries: tuple[CampaignEntry, ...]
    everything: int = 0
    countries: dict[str, int] = field(default_factory=dict)
    any_country: int = 0
    devices: dict[str, int] = field(default_factory=dict)
    any_device: int = 0
    audiences: dict[str, int] = field(default_factory=dict)
    any_audience: int = 0
    interests: dict[str, int] = field(default_factory=dict)
    any_interest: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    any_age: int = 0
    ages: list[int] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, campaigns: Sequence[CampaignEntry], rng: random.Random | None = None) -> DecisionIndex:
        draw = (rng or random).random
        entries = tuple(e for _, e in sorted(((-c.ecpm, draw()), c) for c in campaigns))
        index = cls(entries=entries, everything=(1 << len(entries)) - 1)
        index.countries, index.any_country = _masks(entries, lambda e: e.countries)
        index.devices, index.any_device = _masks(entries, lambda e: e.devices)
        index.audiences, index.any_audience = _masks(entries, lambda e: e.audiences)
        index.interests, index.any_interest = _masks(entries, lambda e: e.interests)
        index.excluded, _ = _masks(entries, lambda e: e.excluded)
        ages = [0] * (MAX_AGE + 1)
        for bit, entry in enumerate(entries):
            if entry.age_min is None and entry.age_max is None:
                index.any_age |= 1 << bit
                continue
            low, high = (
                entry.age_min or 0,
                min(entry.age_max if entry.age_max is not None else MAX_AGE, MAX_AGE),
            )
            for age in range(low, high + 1):
                ages[age] |= 1 << bit
        index.ages = ages
        index.positions = {e.id: bit for bit, e in enumerate(entries)}
        return index

    def mask(self, request: Request) -> int:
        """The campaigns whose targeting and brand-safety exclusions admit ``request``."""
        m = self.everything
        m &= self.countries.get(request.country or "", 0) | self.any_country
        m &= self.devices.get(request.device, 0) | self.any_device
        audiences = self.any_audience
        for audience in request.audiences:
            audiences |= self.audiences.get(audience, 0)
        m &= audiences
        interests = self.any_interest
        for interest in request.interests:
            interests |= self.interests.get(interest, 0)
        m &= interests
        if request.age is None:
            m &= self.any_age
        else:
            m &= self.ages[min(max(request.age, 0), MAX_AGE)] | self.any_age
        if request.category is not None:
            m &= ~self.excluded.get(request.category, 0)
        return m

    def candidates(
        self,
        request: Request,
        now: float,
        *,
        without: int = 0,
        keep: Callable[[CampaignEntry], bool] | None = None,
    ) -> Iterator[CampaignEntry]:
        """Eligible campaigns, best eCPM first: targeting, then schedule and blocked advertisers;
        ``without`` masks out campaigns (spent ones); ``keep`` is the pacing throttle."""
        m = self.mask(request) & ~without
        entries = self.entries
        while m:
            low = m & -m
            m ^= low
            entry = entries[low.bit_length() - 1]
            if entry.starts_at > now or (entry.ends_at is not None and entry.ends_at <= now):
                continue
            if entry.advertiser_id in request.hidden:
                continue
            if keep is not None and not keep(entry):
                continue
            yield entry

    def bits(self, campaign_ids: Sequence[str]) -> int:
        m = 0
        for campaign in campaign_ids:
            bit = self.positions.get(campaign)
            if bit is not None:
                m |= 1 << bit
        return m


class Pacer:
    """Spreads each campaign's daily budget evenly over the UTC day.

    Every refresh compares what a campaign spent today with its plan so far (the daily budget
    times the fraction of the day gone; a campaign without one plans its remaining budget evenly
    over its remaining days, and one without an end date is not throttled). Ahead of plan, its
    throttle (the chance it enters an auction) shrinks by ``down``; behind, it grows back by
    ``up``. A campaign starts each day unthrottled.
    """

    def __init__(self, *, floor: float = 0.01, down: float = 0.7, up: float = 1.3) -> None:
        self.floor, self.down, self.up = floor, down, up
        self.throttle: dict[str, float] = {}
        self._day: str | None = None

    def daily_plan(self, entry: CampaignEntry, spent_total: int, now: float) -> int | None:
        if entry.daily_millis is not None:
            return entry.daily_millis
        if entry.ends_at is None:
            return None
        days_left = max(1.0, (entry.ends_at - now) / 86_400)
        return int(max(0, entry.budget_millis - spent_total) / days_left)

    def update(
        self, entries: Sequence[CampaignEntry], total: dict[str, int], today: dict[str, int], now: float
    ) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        if day != self._day:
            self._day, self.throttle = day, {}
        elapsed = (now % 86_400) / 86_400
        for entry in entries:
            plan = self.daily_plan(entry, total.get(entry.id, 0), now)
            if plan is None:
                self.throttle.pop(entry.id, None)
                continue
            current = self.throttle.get(entry.id, 1.0)
            target = plan * max(elapsed, 1 / 1440)  # at least a minute's share, so mornings start
            if today.get(entry.id, 0) > target:
                current = max(self.floor, current * self.down)
            else:
                current = min(1.0, current * self.up)
            self.throttle[entry.id] = current

    def keep(self, draw: Callable[[], float] = random.random) -> Callable[[CampaignEntry], bool]:
        throttle = self.throttle

        def admitted(entry: CampaignEntry) -> bool:
            p = throttle.get(entry.id, 1.0)
            return p >= 1.0 or draw() < p

        return admitted
