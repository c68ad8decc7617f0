"""Social login over OpenID Connect (and GitHub's OAuth 2.0): presets, the code flow with PKCE,
state and nonce, ID token checks, and linking provider identities to users."""

from control_plane.accounts.oidc.client import Identity, Metadata, ProviderClient, pkce_challenge
from control_plane.accounts.oidc.linking import NO_PASSWORD, IdentityLinks
from control_plane.accounts.oidc.providers import ALGORITHMS, PRESETS, ProviderConfig, resolve
from control_plane.accounts.oidc.service import Completion, OidcService

__all__ = [
    "ALGORITHMS",
    "Completion",
    "Identity",
    "IdentityLinks",
    "Metadata",
    "NO_PASSWORD",
    "OidcService",
    "PRESETS",
    "ProviderClient",
    "ProviderConfig",
    "pkce_challenge",
    "resolve",
]
