"""The ads API: campaigns and creatives (advertisers), reviews (moderators), the VAST and VMAP
decisions and their tracking beacons (players), ad profiles and earnings (everyone)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from control_plane.ads.models import AdCampaign, AdCreative, AdDailyStats
from control_plane.ads.server import Viewer
from control_plane.ads.service import CampaignSpec
from control_plane.ads.vast import vmap_document
from control_plane.http.clientip import client_ip
from control_plane.http.deps import Principal, PrincipalDep, ServicesDep, ViewerDep, require_role
from control_plane.http.openapi import answers, problems
from control_plane.http.pagination import Page, PageDep
from control_plane.videos.models import Category

router = APIRouter(prefix="/api/v1/ads", tags=["ads"])

Advertiser = Depends(require_role("advertiser"))
Moderator = Depends(require_role("moderator"))
Id = Annotated[str, Path(min_length=1, max_length=32)]
#: The device classes of ``viewers.DEVICES``.
DeviceName = Literal["mobile", "tablet", "tv", "desktop"]
Audience = Literal["free", "members", "creators"]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Event = Literal[
    "impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "skip", "click"
]
VAST_TYPE = "application/xml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetingIn(Strict):
    """Whom a campaign reaches; an empty list or a missing bound does not restrict."""

    countries: list[Country] = Field(default_factory=list, max_length=250)
    devices: list[DeviceName] = Field(default_factory=list, max_length=4)
    age_min: int | None = Field(None, ge=13, le=120)
    age_max: int | None = Field(None, ge=13, le=120)
    interests: list[Category] = Field(default_factory=list, max_length=19, description="catalogue categories")
    audiences: list[Audience] = Field(default_factory=list, max_length=3)


class FrequencyCap(Strict):
    impressions: int = Field(ge=1, le=1000, description="impressions one viewer may see")
    per_seconds: int = Field(ge=60, le=30 * 86_400, description="the period they are counted over")


class BrandSafety(Strict):
    excluded_categories: list[Category] = Field(default_factory=list, max_length=19)


class CampaignIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    budget: int = Field(ge=1, le=10**12, description="minor units (cents)")
    daily_budget: int | None = Field(
        None, ge=1, le=10**12, description="minor units; spread evenly over the day"
    )
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    cpm_bid: int = Field(ge=1, le=10**7, description="minor units per thousand impressions")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    targeting: TargetingIn = Field(default_factory=lambda: TargetingIn.model_validate({}))
    frequency_cap: FrequencyCap | None = None
    brand_safety: BrandSafety = Field(default_factory=lambda: BrandSafety())


class CampaignPatch(Strict):
    status: Literal["active", "paused", "ended"]


class CampaignOut(BaseModel):
    id: str
    name: str
    status: str
    currency: str
    budget: int
    daily_budget: int | None
    cpm_bid: int
    starts_at: datetime
    ends_at: datetime | None
    targeting: TargetingIn
    frequency_cap: FrequencyCap | None
    brand_safety: BrandSafety
    spent: int = Field(description="minor units recorded so far (the counters flush every few seconds)")
    created_at: datetime

    @classmethod
    def of(cls, c: AdCampaign) -> CampaignOut:
        cap = None
        if c.cap_impressions is not None and c.cap_seconds is not None:
            cap = FrequencyCap(impressions=c.cap_impressions, per_seconds=c.cap_seconds)
        return cls(
            id=c.id,
            name=c.name,
            status=c.status,
            currency=c.currency,
            budget=c.budget,
            daily_budget=c.daily_budget,
            cpm_bid=c.cpm_bid,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            targeting=TargetingIn.model_validate(c.targeting or {}),
            frequency_cap=cap,
            brand_safety=BrandSafety.model_validate({"excluded_categories": c.excluded_categories or []}),
            spent=(c.spent_millis or 0) // 1000,
            created_at=c.created_at,
        )


class CreativeIn(Strict):
    video_id: str = Field(min_length=1, max_length=32)
    click_url: HttpUrl = Field(description="where a click on the ad leads (http or https)")


class CreativeOut(BaseModel):
    id: str
    campaign_id: str
    video_id: str
    click_url: str
    duration: float = Field(description="seconds")
    status: str = Field(description="pending (waits for review), approved or rejected")
    review_note: str | None
    packaged: bool = Field(description="whether its progressive MP4 is made (it serves only then)")
    created_at: datetime

    @classmethod
    def of(cls, c: AdCreative) -> CreativeOut:
        return cls(
            id=c.id,
            campaign_id=c.campaign_id,
            video_id=c.video_id,
            click_url=c.click_url,
            duration=c.duration,
            status=c.status,
            review_note=c.review_note,
            packaged=c.mp4 is not None,
            created_at=c.created_at,
        )


class ReviewIn(Strict):
    decision: Literal["approve", "reject"]
    note: str | None = Field(None, max_length=500)


class Delivery(BaseModel):
    impressions: int
    starts: int
    first_quartiles: int
    midpoints: int
    third_quartiles: int
    completes: int
    skips: int
    clicks: int
    spent: int = Field(description="minor units")
    spent_millis: int = Field(description="thousandths of a minor unit, exact")

    @classmethod
    def of(cls, values: dict[str, int]) -> Delivery:
        return cls(
            **{k: v for k, v in values.items() if k != "spent_millis"},
            spent=values["spent_millis"] // 1000,
            spent_millis=values["spent_millis"],
        )


class DayOut(Delivery):
    day: date


class ReportOut(BaseModel):
    campaign: CampaignOut
    totals: Delivery
    completion_rate: float | None = Field(description="completes per impression")
    click_through_rate: float | None = Field(description="clicks per impression")
    charged: int = Field(description="minor units the ledger took from your balance for it")
    days: list[DayOut]


class EarningOut(BaseModel):
    video_id: str
    role: str = Field(description="creator, or claimant (a Content-ID claim that monetizes the video)")
    currency: str
    amount: int = Field(description="minor units credited to your balance on the ledger")


class EarningsOut(BaseModel):
    totals: dict[str, int] = Field(description="minor units by currency")
    videos: list[EarningOut]


class DepositIn(Strict):
    amount: int = Field(ge=1, le=100_000_000, description="minor units of the ad currency")


class DepositOut(BaseModel):
    id: str
    client_secret: str = Field(description="confirm the payment with it (Stripe.js, or the local provider)")
    amount: int
    currency: str


class FundsOut(BaseModel):
    currency: str
    balance: int = Field(description="minor units left to spend on ads (the ledger's advertiser balance)")


class ProfileIn(Strict):
    birth_year: int | None = Field(None, ge=1900, le=2100)


class ProfileOut(BaseModel):
    birth_year: int | None


def _day_values(d: AdDailyStats) -> dict[str, int]:
    return {k: getattr(d, k) for k in Delivery.model_fields if k != "spent"}


@router.post("/campaigns", status_code=201, response_model=CampaignOut, responses=problems(422))
def create_campaign(
    body: CampaignIn, services: ServicesDep, principal: Principal = Advertiser
) -> CampaignOut:
    """Start a campaign. Money is in minor units of the platform's ad currency
    (``SOCIALFLOW_ADS_CURRENCY``); a bid below the reserve price is refused. It is paid from your
    prepaid balance (``POST /api/v1/ads/funds``) as it delivers, and serves only while that covers
    it."""
    spec = CampaignSpec(
        name=body.name,
        budget=body.budget,
        daily_budget=body.daily_budget,
        currency=body.currency,
        cpm_bid=body.cpm_bid,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        targeting=body.targeting.model_dump(),
        excluded_categories=list(body.brand_safety.excluded_categories),
        cap_impressions=body.frequency_cap.impressions if body.frequency_cap else None,
        cap_seconds=body.frequency_cap.per_seconds if body.frequency_cap else None,
    )
    return CampaignOut.of(services.ads.create_campaign(principal.user, spec))


@router.get("/campaigns", response_model=Page[CampaignOut])
def list_campaigns(
    page: PageDep, services: ServicesDep, principal: Principal = Advertiser
) -> Page[CampaignOut]:
    rows, cursor = services.ads.campaigns(principal.user, page)
    return Page[CampaignOut](items=[CampaignOut.of(c) for c in rows], next_cursor=cursor)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, services: ServicesDep, principal: Principal = Advertiser) -> CampaignOut:
    moderator = principal.has_role("moderator")
    return CampaignOut.of(services.ads.campaign(principal.user, campaign_id, moderator=moderator))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, responses=problems(409))
def update_campaign(
    campaign_id: Id, body: CampaignPatch, services: ServicesDep, principal: Principal = Advertiser
) -> CampaignOut:
    """Pause, resume or end a campaign (an ended one never runs again)."""
    return CampaignOut.of(services.ads.set_status(principal.user, campaign_id, body.status))


@router.post(
    "/campaigns/{campaign_id}/creatives",
    status_code=201,
    response_model=CreativeOut,
    responses=problems(
        409,
        422,
        s409="The video is not ready, or the campaign has ended",
        s422="The video is longer than 7.0 s (CREATIVE_TOO_LONG)",
    ),
)
def add_creative(
    campaign_id: Id, body: CreativeIn, services: ServicesDep, principal: Principal = Advertiser
) -> CreativeOut:
    """Make one of your ready videos of at most 7.0 s an ad of the campaign. A moderator reviews
    it before it runs."""
    creative = services.ads.add_creative(principal.user, campaign_id, body.video_id, str(body.click_url))
    return CreativeOut.of(creative)


@router.get("/campaigns/{campaign_id}/creatives", response_model=list[CreativeOut])
def list_creatives(
    campaign_id: Id, services: ServicesDep, principal: Principal = Advertiser
) -> list[CreativeOut]:
    moderator = principal.has_role("moderator")
    return [
        CreativeOut.of(c) for c in services.ads.creatives(principal.user, campaign_id, moderator=moderator)
    ]


@router.get("/campaigns/{campaign_id}/report", response_model=ReportOut)
def campaign_report(campaign_id: Id, services: ServicesDep, principal: Principal = Advertiser) -> ReportOut:
    """Impressions, quartile completion, clicks and spend, in all and per UTC day."""
    report = services.ads.report(principal.user, campaign_id, moderator=principal.has_role("moderator"))
    totals = Delivery.of(report.totals)
    shown = totals.impressions
    return ReportOut(
        campaign=CampaignOut.of(report.campaign),
        totals=totals,
        completion_rate=totals.completes / shown if shown else None,
        click_through_rate=totals.clicks / shown if shown else None,
        charged=report.charged,
        days=[DayOut(day=d.day, **Delivery.of(_day_values(d)).model_dump()) for d in report.days],
    )


@router.get("/reviews", response_model=Page[CreativeOut])
def review_queue(page: PageDep, services: ServicesDep, principal: Principal = Moderator) -> Page[CreativeOut]:
    """Creatives waiting for review, oldest first (moderators)."""
    rows, cursor = services.ads.reviews(page)
    return Page[CreativeOut](items=[CreativeOut.of(c) for c in rows], next_cursor=cursor)


@router.post("/creatives/{creative_id}/review", response_model=CreativeOut)
def review_creative(
    creative_id: Id, body: ReviewIn, services: ServicesDep, principal: Principal = Moderator
) -> CreativeOut:
    """Approve a creative (it may run) or reject it (it never runs)."""
    return CreativeOut.of(services.ads.review(principal.user, creative_id, body.decision, body.note))


@router.get(
    "/vast",
    response_class=Response,
    responses={
        **answers(200, VAST_TYPE, description="A VAST 4.2 document, empty when no ad qualifies"),
        **problems(404, s404="No such video, or none the caller may see"),
    },
)
def vast(
    request: Request,
    services: ServicesDep,
    principal: ViewerDep,
    video_id: Annotated[str, Query(min_length=1, max_length=32)],
    placement: Annotated[Literal["preroll"], Query()] = "preroll",
) -> Response:
    """The ad to play before ``video_id`` for this viewer: one linear creative of at most 7 s with
    its MP4 and HLS media files and signed tracking URLs, or ``<VAST version="4.2"/>`` with no ad."""
    viewer = Viewer(
        user_id=principal.user.id if principal else None,
        moderator=principal.has_role("moderator") if principal else False,
        address=client_ip(request, services.settings.trusted_proxies),
        user_agent=request.headers.get("user-agent", ""),
    )
    body = services.ad_server.decide(video_id, viewer)
    return Response(body, media_type=VAST_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/vmap",
    response_class=Response,
    responses=answers(200, VAST_TYPE, description="A VMAP 1.0 document with one pre-roll break"),
)
def vmap(
    services: ServicesDep,
    principal: ViewerDep,
    video_id: Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    """The ad breaks of ``video_id``: a pre-roll whose ad comes from ``/api/v1/ads/vast``."""
    url = f"{services.settings.effective_public_url}/api/v1/ads/vast?video_id={video_id}&placement=preroll"
    return Response(vmap_document(url), media_type=VAST_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/beacons/{event}/{token}",
    status_code=204,
    response_class=Response,
    responses={
        302: {"description": "a click: on to the advertiser's page"},
        **problems(403, s403="The tracking link is not ours, or has expired"),
    },
)
def beacon(
    event: Event, token: Annotated[str, Path(min_length=1, max_length=300)], services: ServicesDep
) -> Response:
    """A player's tracking ping. Each counts once per ad served (``Ad-Beacon`` says ``counted``,
    ``repeat``, ``out_of_order`` or ``unpaid``); quartiles count only in order. A click also
    leads on to the advertiser's page."""
    outcome, click_url = services.ad_server.track(event, token)
    headers = {"Ad-Beacon": outcome, "Cache-Control": "no-store"}
    if event == "click" and click_url:
        return RedirectResponse(click_url, status_code=302, headers=headers)
    return Response(status_code=204, headers=headers)


@router.get("/earnings", response_model=EarningsOut)
def earnings(services: ServicesDep, principal: PrincipalDep) -> EarningsOut:
    """What ads on your videos earned you (your revenue share, or a claimant's), in minor units;
    it is in your balance and your monthly statement (ledger kind ``ads``)."""
    totals, videos = services.ads.earnings(principal.user)
    return EarningsOut(
        totals=totals,
        videos=[EarningOut(video_id=v, role=r, currency=c, amount=m) for v, r, c, m in videos],
    )


@router.post("/funds", status_code=201, response_model=DepositOut, responses=problems(422, 503))
def deposit(body: DepositIn, services: ServicesDep, principal: Principal = Advertiser) -> DepositOut:
    """Prepay ``amount`` into your ad balance: the client confirms the payment with
    ``client_secret``, and the balance grows when the provider reports it paid."""
    deposit_id, intent = services.payments.ads.deposit(principal.user.id, body.amount)
    return DepositOut(
        id=deposit_id,
        client_secret=intent.client_secret,
        amount=body.amount,
        currency=services.payments.ads.currency,
    )


@router.get("/funds", response_model=FundsOut)
def funds(services: ServicesDep, principal: Principal = Advertiser) -> FundsOut:
    """Your prepaid ad balance: campaigns serve only while it covers them."""
    money = services.payments.ads
    return FundsOut(currency=money.currency, balance=money.balance(principal.user.id))


@router.get("/profile", response_model=ProfileOut)
def get_profile(services: ServicesDep, principal: PrincipalDep) -> ProfileOut:
    return ProfileOut(birth_year=services.ads.profile(principal.user).birth_year)


@router.put("/profile", response_model=ProfileOut)
def put_profile(body: ProfileIn, services: ServicesDep, principal: PrincipalDep) -> ProfileOut:
    """The year you were born, for age-targeted ads (without it, only ads for every age reach you)."""
    return ProfileOut(birth_year=services.ads.set_birth_year(principal.user, body.birth_year).birth_year)
