"""Provider presets (Google, Apple, GitHub) resolved onto one configuration shape.

Google and Apple are OpenID Connect providers found by discovery under their issuer; GitHub is
plain OAuth 2.0 with fixed endpoints whose user comes from its REST API. ``generic`` is any
OpenID Connect provider named by its issuer. Nothing here touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from control_plane.core.settings import OidcProvider

__all__ = ["ALGORITHMS", "NAME_RE", "PRESETS", "Preset", "ProviderConfig", "resolve"]

#: Signature algorithms an ID token may use. Never ``none``, never HMAC (the client secret is
#: not a key the provider should sign identities with).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: How a provider may be named in settings and URLs.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Preset:
    display_name: str
    kind: Literal["oidc", "github"] = "oidc"
    issuer: str | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    response_mode: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    api_base: str | None = None


PRESETS: dict[str, Preset] = {
    "google": Preset("Google", issuer="https://accounts.google.com"),
    # Apple posts the callback as a form (required when name or email is asked for) and sends
    # the user's name only on the first sign-in, outside the ID token.
    "apple": Preset(
        "Apple",
        issuer="https://appleid.apple.com",
        scopes=("openid", "email", "name"),
        response_mode="form_post",
    ),
    "github": Preset(
        "GitHub",
        kind="github",
        scopes=("read:user", "user:email"),
        authorization_endpoint="https://github.com/login/oauth/authorize",
        token_endpoint="https://github.com/login/oauth/access_token",
        api_base="https://api.github.com",
    ),
    "generic": Preset("OpenID Connect"),
}


@dataclass(frozen=True)
class ProviderConfig:
    """Everything the flow needs about one configured provider."""

    name: str
    display_name: str
    kind: Literal["oidc", "github"]
    client_id: str
    client_secret: str | None
    issuer: str | None
    scopes: tuple[str, ...]
    redirect_uri: str
    response_mode: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    api_base: str | None = None
    allowed_redirects: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = field(default=ALGORITHMS)

    @property
    def discovery_url(self) -> str | None:
        """Where the OpenID configuration lives (None for GitHub's fixed endpoints)."""
        if self.kind != "oidc" or not self.issuer:
            return None
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def resolve(name: str, provider: OidcProvider, *, public_url: str) -> ProviderConfig:
    """The full configuration of provider ``name``: the preset's values, overridden by settings.

    Raises ValueError for a name that cannot appear in a URL.
    """
    if not NAME_RE.match(name):
        raise ValueError(f"OIDC provider name {name!r}: use 1 to 32 lowercase letters, digits, '-' or '_'")
    preset = PRESETS[provider.preset]
    return ProviderConfig(
        name=name,
        display_name=provider.display_name or preset.display_name,
        kind=preset.kind,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        issuer=provider.issuer or preset.issuer,
        scopes=tuple(provider.scopes) if provider.scopes else preset.scopes,
        redirect_uri=provider.redirect_uri or f"{public_url.rstrip('/')}/api/v1/auth/oidc/{name}/callback",
        response_mode=preset.response_mode,
        authorization_endpoint=preset.authorization_endpoint,
        token_endpoint=preset.token_endpoint,
        api_base=preset.api_base,
        # The studio's sign-in page, served by this platform, is always a place to come back to.
        allowed_redirects=(*provider.allowed_redirects, f"{public_url.rstrip('/')}/studio/signin"),
    )
