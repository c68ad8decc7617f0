"""One provider's side of the authorization code flow: discovery, the authorization URL (PKCE
S256, state, nonce), the code exchange, ID token checks against the provider's JWKS, and the
user's identity (from the ID token and userinfo, or from GitHub's REST API).

Signature checks are PyJWT's (``PyJWKClient`` caches the key set and fetches it again when a
token names a key it has not seen, so a provider's key rotation needs nothing from us).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt

from control_plane.accounts.oidc.errors import (
    OidcCodeRejected,
    OidcProviderUnavailable,
    OidcTokenInvalid,
)
from control_plane.accounts.oidc.providers import ProviderConfig

__all__ = ["Identity", "Metadata", "ProviderClient", "github_identity", "pkce_challenge"]

log = logging.getLogger(__name__)

#: Seconds discovery documents are kept before they are fetched again.
METADATA_TTL = 3600.0
#: Seconds the JWKS is kept; a token with an unknown key id fetches it sooner.
JWKS_TTL = 3600.0
#: Seconds of clock difference tolerated on exp, iat and nbf.
LEEWAY = 60
#: An ID token older than this (seconds, by its iat) is refused: it was just issued, or replayed.
ID_TOKEN_MAX_AGE = 600
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _secure_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    )


def _clean_email(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if len(email) <= 254 and EMAIL_RE.match(email) else None


def _truthy(value: object) -> bool:
    """Apple sends ``email_verified`` as the string "true"; others as a JSON boolean."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass(frozen=True)
class Metadata:
    """The endpoints of a provider, from discovery or from the preset."""

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in. ``subject`` is stable per provider; the email counts
    for linking only when ``email_verified``."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None
    username_hint: str | None = None


def github_identity(user: dict[str, Any], emails: list[Any]) -> Identity:
    """The identity in GitHub's ``/user`` and ``/user/emails`` answers: the numeric id as subject,
    the primary verified address (else any verified one; else the profile's, unverified)."""
    if not isinstance(user.get("id"), int):
        raise OidcProviderUnavailable("GitHub's /user answer has no id.")
    verified = [e for e in emails if isinstance(e, dict) and e.get("verified") is True]
    verified.sort(key=lambda e: e.get("primary") is not True)
    email = _clean_email(verified[0].get("email")) if verified else _clean_email(user.get("email"))
    name, login = user.get("name"), user.get("login")
    return Identity(
        subject=str(user["id"]),
        email=email,
        email_verified=bool(verified) and email is not None,
        name=name if isinstance(name, str) else None,
        username_hint=login if isinstance(login, str) else None,
    )


class ProviderClient:
    def __init__(self, config: ProviderConfig, http: httpx.Client, *, jwks_cooldown: float = 30.0) -> None:
        self.config = config
        self.http = http
        self.jwks_cooldown = jwks_cooldown
        self._lock = threading.Lock()
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None

    # -- endpoints -------------------------------------------------------------------------

    def metadata(self) -> Metadata:
        """The provider's endpoints; OIDC providers' come from discovery, kept for an hour."""
        cfg = self.config
        if cfg.kind == "github":
            assert cfg.authorization_endpoint and cfg.token_endpoint
            return Metadata(
                None, cfg.authorization_endpoint, cfg.token_endpoint, None, None, ("client_secret_post",)
            )
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL:
                return self._metadata
        assert cfg.discovery_url and cfg.issuer
        doc = self._get_json(cfg.discovery_url)
        issuer = doc.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != cfg.issuer.rstrip("/"):
            raise OidcProviderUnavailable(f"The {cfg.display_name} discovery document names another issuer.")
        endpoints = {}
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            value = doc.get(key)
            if value is not None and (not isinstance(value, str) or not _secure_url(value)):
                raise OidcProviderUnavailable(f"The {cfg.display_name} discovery document has a bad {key}.")
            endpoints[key] = value
        if (
            not endpoints["authorization_endpoint"]
            or not endpoints["token_endpoint"]
            or not endpoints["jwks_uri"]
        ):
            raise OidcProviderUnavailable(f"The {cfg.display_name} discovery document lacks an endpoint.")
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        meta = Metadata(
            issuer=issuer,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            userinfo_endpoint=endpoints["userinfo_endpoint"],
            token_auth_methods=tuple(str(m) for m in methods if isinstance(m, str)),
        )
        with self._lock:
            self._metadata, self._metadata_at = meta, time.monotonic()
            if self._jwks is None or self._jwks.uri != meta.jwks_uri:
                assert meta.jwks_uri
                self._jwks = jwt.PyJWKClient(
                    meta.jwks_uri,
                    cache_jwk_set=True,
                    lifespan=JWKS_TTL,
                    timeout=10,
                    cooldown_duration=self.jwks_cooldown,
                )
        return meta

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        cfg = self.config
        params = {
            "response_type": "code",
            "client_id": cfg.client_id,
            "redirect_uri": cfg.redirect_uri,
            "scope": " ".join(cfg.scopes),
            "state": state,
            "code_challenge": pkce_challenge(code_verifier),
            "code_challenge_method": "S256",
        }
        if cfg.kind == "oidc":
            params["nonce"] = nonce
        if cfg.response_mode:
            params["response_mode"] = cfg.response_mode
        endpoint = self.metadata().authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    # -- the callback ----------------------------------------------------------------------

    def identity(
        self, code: str, *, code_verifier: str, nonce: str, form_user: dict[str, Any] | None
    ) -> Identity:
        """Exchange the code and return who signed in; every check of the ID token is made."""
        tokens = self._exchange(code, code_verifier)
        access = tokens.get("access_token")
        if self.config.kind == "github":
            if not isinstance(access, str):
                raise OidcCodeRejected("GitHub returned no access token.")
            return self._github_identity(access)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcTokenInvalid("The provider returned no ID token.")
        claims = self.verify_id_token(id_token, nonce=nonce)
        if "email" not in claims and isinstance(access, str):
            claims = {**self._userinfo(access, str(claims["sub"])), **claims}
        name = claims.get("name")
        if not isinstance(name, str) and form_user:
            # Apple: the name comes once, in the (unsigned) form; only used to suggest a username.
            given = form_user.get("name")
            parts: dict[str, Any] = given if isinstance(given, dict) else {}
            name = " ".join(str(parts.get(k, "")) for k in ("firstName", "lastName")).strip() or None
        hint = claims.get("preferred_username") or claims.get("nickname")
        return Identity(
            subject=str(claims["sub"]),
            email=_clean_email(claims.get("email")),
            email_verified=_truthy(claims.get("email_verified")),
            name=name if isinstance(name, str) else None,
            username_hint=hint if isinstance(hint, str) else None,
        )

    def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of an ID token that passes every check: an allowed asymmetric algorithm, a
        signature by a key of the provider's JWKS, our client as audience, the provider as
        issuer, current exp/iat, and the nonce this browser's sign-in was started with."""
        cfg = self.config
        meta = self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise OidcTokenInvalid("The ID token is malformed.") from exc
        alg = header.get("alg")
        if alg not in cfg.algorithms:
            raise OidcTokenInvalid(f"The ID token is signed with {str(alg)[:16]!r}, which is not allowed.")
        jwks = self._jwks
        assert jwks is not None
        try:
            key = jwks.get_signing_key_from_jwt(id_token)
        except jwt.PyJWKClientConnectionError as exc:
            raise OidcProviderUnavailable(f"The {cfg.display_name} key set could not be fetched.") from exc
        except jwt.PyJWTError as exc:
            raise OidcTokenInvalid("The ID token is not signed by a key of the provider.") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[alg],
                audience=cfg.client_id,
                issuer=meta.issuer,
                leeway=LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcTokenInvalid(f"The ID token failed its checks: {exc}.") from exc
        if int(claims["iat"]) < time.time() - ID_TOKEN_MAX_AGE - LEEWAY:
            raise OidcTokenInvalid("The ID token is too old.")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != cfg.client_id:
            raise OidcTokenInvalid("The ID token was issued to another party (azp).")
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise OidcTokenInvalid("The ID token's nonce does not match this sign-in.")
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
            raise OidcTokenInvalid("The ID token's subject is not usable.")
        return claims

    # -- HTTP ------------------------------------------------------------------------------

    def _exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        cfg = self.config
        meta = self.metadata()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cfg.redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        if cfg.client_secret and "client_secret_basic" in meta.token_auth_methods and cfg.kind == "oidc":
            # RFC 6749 2.3.1: the id and secret are form-encoded before the Basic encoding.
            pair = f"{quote(cfg.client_id, safe='')}:{quote(cfg.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            data["client_id"] = cfg.client_id
            if cfg.client_secret:
                data["client_secret"] = cfg.client_secret
        try:
            response = self.http.post(meta.token_endpoint, data=data, headers=headers)
        except httpx.HTTPError as exc:
            raise OidcProviderUnavailable(
                f"The {cfg.display_name} token endpoint could not be reached."
            ) from exc
        body = self._json(response, "token endpoint", allow_client_errors=True)
        if response.status_code >= 400 or "error" in body:
            error = str(body.get("error", response.status_code))[:64]
            raise OidcCodeRejected(f"{cfg.display_name} refused the code ({error}); sign in again.")
        return body

    def _userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        meta = self.metadata()
        if not meta.userinfo_endpoint:
            return {}
        info = self._get_json(meta.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"})
        if info.get("sub") != subject:
            raise OidcTokenInvalid("The userinfo answer is about another subject.")
        return info

    def _github_identity(self, access_token: str) -> Identity:
        api = self.config.api_base
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        user = self._get_json(f"{api}/user", headers=headers)
        return github_identity(user, self._get_json_list(f"{api}/user/emails", headers=headers))

    def _get_json(self, url: str, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"Accept": "application/json", **(headers or {})})
        except httpx.HTTPError as exc:
            raise OidcProviderUnavailable(f"{self.config.display_name} could not be reached.") from exc
        return self._json(response, urlsplit(url).path)

    def _get_json_list(self, url: str, *, headers: dict[str, str]) -> list[Any]:
        try:
            response = self.http.get(url, headers=headers)
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcProviderUnavailable(f"{self.config.display_name} could not be reached.") from exc
        if not isinstance(body, list):
            raise OidcProviderUnavailable(f"{self.config.display_name} answered {response.status_code}.")
        return body

    def _json(
        self, response: httpx.Response, what: str, *, allow_client_errors: bool = False
    ) -> dict[str, Any]:
        if response.status_code >= 500 or (response.status_code >= 400 and not allow_client_errors):
            raise OidcProviderUnavailable(
                f"{self.config.display_name} answered {response.status_code} at its {what}."
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise OidcProviderUnavailable(f"{self.config.display_name} sent no JSON at its {what}.") from exc
        if not isinstance(body, dict):
            raise OidcProviderUnavailable(f"{self.config.display_name} sent unexpected JSON at its {what}.")
        return body
