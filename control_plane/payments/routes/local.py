"""The local provider's pages: what Stripe's hosted checkout, Stripe.js and Connect onboarding do,
for the embedded default. The unguessable id in the path (and a payment intent's client secret)
is the credential, as a Stripe checkout URL is. Each answers 404 while Stripe is the provider."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from control_plane.core.errors import NotFound
from control_plane.http.deps import ServicesDep
from control_plane.http.openapi import problems
from control_plane.payments.providers import LocalProvider
from control_plane.services import Services

router = APIRouter(prefix="/api/v1/payments/local", tags=["payments (local provider)"])

Ref = Annotated[str, Path(min_length=8, max_length=64, pattern="^[a-z]+_[0-9a-f]+$")]


class CheckoutOut(BaseModel):
    id: str
    status: str
    plan: dict[str, Any]


class ConfirmIn(BaseModel):
    client_secret: str = Field(min_length=1, max_length=200)
    succeed: bool = Field(True, description="false: the card is declined")


class StatusOut(BaseModel):
    status: str


def local(services: Services) -> LocalProvider:
    provider = services.payments.local
    if provider is None:
        raise NotFound("The local payment provider is not in use.", code="LOCAL_PROVIDER_OFF")
    return provider


@router.get("/checkout/{ref}", response_model=CheckoutOut, responses=problems(404))
def checkout(ref: Ref, services: ServicesDep) -> CheckoutOut:
    """The checkout session: what the member is about to pay."""
    data = local(services).get_object(ref, "checkout")
    return CheckoutOut(id=ref, status=data["status"], plan=data["plan"])


@router.post("/checkout/{ref}", response_model=StatusOut, responses=problems(404))
def pay_checkout(ref: Ref, services: ServicesDep) -> StatusOut:
    """Pay: the subscription starts and its first invoice is paid (no money moves)."""
    provider = local(services)
    provider.complete_checkout(ref)
    return StatusOut(status=provider.get_object(ref, "checkout")["status"])


@router.post("/intents/{ref}/confirm", response_model=StatusOut, responses=problems(404))
def confirm(ref: Ref, body: ConfirmIn, services: ServicesDep) -> StatusOut:
    """Confirm a payment intent with its client secret, as Stripe.js does."""
    return StatusOut(status=local(services).confirm_intent(ref, body.client_secret, succeed=body.succeed))


@router.post("/onboarding/{ref}", response_model=StatusOut, responses=problems(404))
def onboard(ref: Ref, services: ServicesDep) -> StatusOut:
    """Finish a connected account's onboarding: its payouts are enabled."""
    local(services).complete_onboarding(ref)
    return StatusOut(status="enabled")
