"""Social sign-in: the short-lived flow state, linking identities to users, and tickets.

A sign-in starts with :meth:`OidcService.begin`, which keeps the PKCE verifier, the nonce, the
hash of the browser's binding cookie and where to send the client back, under a random
``state``, in the key-value store for ten minutes. :meth:`OidcService.complete` spends that state
once (a replay finds nothing), checks it came back to the same browser (and, when the answer
names its issuer, RFC 9207, from the same provider), lets the provider client prove who signed
in, and maps that identity onto a user (:class:`IdentityLinks`):

* an identity (provider, subject) already linked signs in as its user;
* else, when the provider vouches for the email *and* a local user has verified that same
  address, the identity is linked to that user (audited);
* a local user with that email where either side has not verified it is refused
  (``OIDC_ACCOUNT_EXISTS``), so nobody takes over an account by claiming its address;
* else a new user is made, with the ``creator`` role, as password registration gives.

Users with two-factor sign-in on get no tokens from the callback: they get a single-use ticket
that :meth:`OidcService.redeem` turns into tokens only with a valid code. Clients that asked to
be sent back to an app URL get such a ticket too (never tokens in a URL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from control_plane.accounts.errors import InvalidOtp
from control_plane.accounts.models import OidcIdentity
from control_plane.accounts.oidc.client import ProviderClient
from control_plane.accounts.oidc.errors import (
    OidcDenied,
    OidcRedirectNotAllowed,
    OidcStateInvalid,
    OidcTicketInvalid,
    OidcTokenInvalid,
)
from control_plane.accounts.oidc.linking import IdentityLinks
from control_plane.accounts.oidc.providers import ProviderConfig, resolve
from control_plane.accounts.service import AccountService, TokenPair
from control_plane.core.db import Database
from control_plane.core.errors import ProblemError
from control_plane.core.kv import KeyValue
from control_plane.core.settings import Settings

__all__ = ["Completion", "OidcService"]

log = logging.getLogger(__name__)

#: Seconds a started sign-in may take at the provider.
STATE_TTL = 600
#: Seconds a ticket (second factor pending, or an app's hand-over) stays valid.
TICKET_TTL = 300
#: Wrong codes a ticket survives.
TICKET_ATTEMPTS = 5


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Completion:
    """What a callback ends in: tokens, a ticket (second factor or app hand-over), a link made
    while signed in, or (for app clients only) an error code to send back to the app."""

    provider: str
    pair: TokenPair | None = None
    ticket: str | None = None
    second_factor: bool = False
    linked: bool = False
    redirect_to: str | None = None
    error: str | None = None


class OidcService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        kv: KeyValue,
        accounts: AccountService,
        *,
        http: httpx.Client | None = None,
        jwks_cooldown: float = 30.0,
    ) -> None:
        self.db = db
        self.kv = kv
        self.accounts = accounts
        self.links = IdentityLinks(db, accounts)
        self.http = http or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False)
        self._clients: dict[str, ProviderClient] = {}
        for name, provider in settings.oidc_providers.items():
            try:
                config = resolve(name, provider, public_url=settings.effective_public_url)
            except ValueError as exc:
                log.error("OIDC provider skipped: %s", exc)
                continue
            self._clients[name] = ProviderClient(config, self.http, jwks_cooldown=jwks_cooldown)

    def providers(self) -> list[ProviderConfig]:
        return [client.config for client in self._clients.values()]

    def client(self, name: str) -> ProviderClient:
        """The provider's client; OidcUnknownProvider (404) for a name not configured."""
        from control_plane.accounts.oidc.errors import OidcUnknownProvider

        client = self._clients.get(name)
        if client is None:
            raise OidcUnknownProvider(f"No sign-in provider named {name[:32]!r} is configured.")
        return client

    # -- starting ----------------------------------------------------------------------------

    def begin(
        self, name: str, *, binding: str, redirect_to: str | None = None, link_user_id: str | None = None
    ) -> str:
        """Start a sign-in (or, with ``link_user_id``, linking to a signed-in user) in the browser
        holding ``binding``; returns the provider's authorization URL."""
        client = self.client(name)
        if redirect_to is not None:
            self.check_redirect(client.config, redirect_to)
        state, nonce, verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(64),
        )
        url = client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        record = {
            "p": name,
            "n": nonce,
            "v": verifier,
            "b": _digest(binding),
            "r": redirect_to,
            "l": link_user_id,
        }
        self.kv.set(f"oidc:state:{_digest(state)}", json.dumps(record).encode(), ttl=STATE_TTL)
        return url

    @staticmethod
    def check_redirect(config: ProviderConfig, redirect_to: str) -> None:
        """Only an exact allowed URL (scheme, host, port and path; any query) may be sent back to."""
        parts = urlsplit(redirect_to)
        if parts.fragment or not parts.scheme:
            raise OidcRedirectNotAllowed("redirect_to must be an absolute URL without a fragment.")
        for allowed in config.allowed_redirects:
            want = urlsplit(allowed)
            if (parts.scheme.lower(), parts.netloc.lower(), parts.path) == (
                want.scheme.lower(),
                want.netloc.lower(),
                want.path,
            ):
                return
        raise OidcRedirectNotAllowed("That redirect_to is not on this provider's allow list.")

    # -- the callback --------------------------------------------------------------------------

    def complete(
        self,
        name: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        binding: str | None,
        issuer: str | None = None,
        form_user: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> Completion:
        """Finish a sign-in from the callback's parameters (``issuer`` is RFC 9207's ``iss``)."""
        client = self.client(name)
        record = self._take_state(name, state, binding, ip)
        redirect_to = record.get("r")
        try:
            if error or not code:
                self.accounts.audit("oidc.denied", ip=ip, provider=name, error=(error or "no code")[:64])
                raise OidcDenied(
                    f"{client.config.display_name} did not sign you in ({(error or 'no code')[:64]})."
                )
            expected = client.metadata().issuer
            if issuer is not None and expected is not None and issuer.rstrip("/") != expected.rstrip("/"):
                # RFC 9207: the answer names another provider than the one this sign-in went to.
                self.accounts.audit("oidc.state_invalid", ip=ip, provider=name, reason="issuer mix-up")
                raise OidcStateInvalid("The answer comes from another provider than this sign-in went to.")
            try:
                identity = client.identity(
                    code, code_verifier=record["v"], nonce=record["n"], form_user=form_user
                )
            except OidcTokenInvalid as exc:
                self.accounts.audit("oidc.token_invalid", ip=ip, provider=name, reason=str(exc)[:200])
                raise
            user_id = self.links.user_for(client.config, identity, record.get("l"), ip)
            if record.get("l"):
                return Completion(name, linked=True, redirect_to=redirect_to)
            with self.db.session() as session:
                second_factor = self.accounts.twofactor.enabled(session, user_id)
            if second_factor or redirect_to:
                ticket = self._ticket(user_id, name, second_factor)
                return Completion(name, ticket=ticket, second_factor=second_factor, redirect_to=redirect_to)
            pair = self.accounts.start_session(user_id, user_agent=user_agent, ip=ip, method=f"oidc:{name}")
            return Completion(name, pair=pair)
        except ProblemError as exc:
            if redirect_to:
                return Completion(name, redirect_to=redirect_to, error=exc.code)
            raise

    def _take_state(
        self, name: str, state: str | None, binding: str | None, ip: str | None
    ) -> dict[str, Any]:
        """Spend the state once; it must be this provider's and come back to the same browser."""
        key = f"oidc:state:{_digest(state or '')}"
        raw = self.kv.get(key) if state else None
        if raw is None or not self.kv.compare_and_delete(key, raw):
            self.accounts.audit("oidc.state_invalid", ip=ip, provider=name, reason="unknown or spent")
            raise OidcStateInvalid("This sign-in link is unknown, expired or already used; start again.")
        record: dict[str, Any] = json.loads(raw)
        if record["p"] != name:
            self.accounts.audit("oidc.state_invalid", ip=ip, provider=name, reason="other provider")
            raise OidcStateInvalid("This sign-in was started with another provider; start again.")
        if not binding or not hmac.compare_digest(_digest(binding), record["b"]):
            self.accounts.audit("oidc.state_invalid", ip=ip, provider=name, reason="other browser")
            raise OidcStateInvalid("This sign-in was started in another browser; start again here.")
        return record

    # -- tickets -------------------------------------------------------------------------------

    def _ticket(self, user_id: str, provider: str, second_factor: bool) -> str:
        ticket = "st_" + secrets.token_urlsafe(32)
        record = {"u": user_id, "p": provider, "f": second_factor}
        self.kv.set(f"oidc:ticket:{_digest(ticket)}", json.dumps(record).encode(), ttl=TICKET_TTL)
        return ticket

    def redeem(
        self,
        ticket: str,
        *,
        otp: str | None = None,
        recovery_code: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Tokens for a ticket from a callback: once, and with the second factor if the user has it."""
        key = f"oidc:ticket:{_digest(ticket)}"
        raw = self.kv.get(key)
        if raw is None:
            raise OidcTicketInvalid("This sign-in ticket is unknown, expired or already used; sign in again.")
        if self.kv.incr(key + ":tries", ttl=TICKET_TTL) > TICKET_ATTEMPTS:
            self.kv.delete(key)
            raise OidcTicketInvalid("Too many wrong codes for this sign-in; sign in again.")
        record = json.loads(raw)
        user_id, provider = str(record["u"]), str(record["p"])
        if record["f"]:
            with self.db.session() as session:
                try:
                    used = self.accounts.twofactor.verify(
                        session, user_id, otp=otp, recovery_code=recovery_code
                    )
                except InvalidOtp:
                    self.accounts.audit("otp.failed", user_id=user_id, ip=ip, method=f"oidc:{provider}")
                    raise
            if used == "recovery_code":
                self.accounts.audit("recovery_code.used", user_id=user_id, ip=ip)
        if not self.kv.compare_and_delete(key, raw):
            raise OidcTicketInvalid("This sign-in ticket was already used; sign in again.")
        return self.accounts.start_session(user_id, user_agent=user_agent, ip=ip, method=f"oidc:{provider}")

    # -- linked identities ------------------------------------------------------------------------

    def identities(self, user_id: str) -> list[OidcIdentity]:
        """The provider accounts linked to the user, oldest first."""
        return self.links.identities(user_id)

    def unlink(self, user_id: str, identity_id: str, *, ip: str | None = None) -> None:
        """Remove one of the user's identities, unless it is their last way to sign in."""
        self.links.unlink(user_id, identity_id, ip=ip)
