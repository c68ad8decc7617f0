"""The provider presets resolve to the right endpoints and parameters (no network)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from control_plane.accounts.oidc import ProviderClient, pkce_challenge, resolve
from control_plane.accounts.oidc.client import github_identity
from control_plane.accounts.oidc.errors import OidcProviderUnavailable, OidcRedirectNotAllowed
from control_plane.accounts.oidc.service import OidcService
from control_plane.core.settings import ConfigError, OidcProvider, load_settings

PUBLIC = "https://video.example.com"


def test_google_is_discovered_under_its_issuer() -> None:
    config = resolve("google", OidcProvider(preset="google", client_id="g-id"), public_url=PUBLIC)
    assert config.kind == "oidc" and config.display_name == "Google"
    assert config.issuer == "https://accounts.google.com"
    assert config.discovery_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert config.scopes == ("openid", "email", "profile")
    assert config.response_mode is None
    assert config.redirect_uri == "https://video.example.com/api/v1/auth/oidc/google/callback"
    assert "none" not in config.algorithms and not any(a.startswith("HS") for a in config.algorithms)


def test_apple_posts_its_callback_and_asks_for_the_name() -> None:
    config = resolve(
        "apple",
        OidcProvider(preset="apple", client_id="com.example.web", client_secret="eyJ..."),
        public_url=PUBLIC,
    )
    assert config.issuer == "https://appleid.apple.com"
    assert config.discovery_url == "https://appleid.apple.com/.well-known/openid-configuration"
    assert config.response_mode == "form_post"
    assert config.scopes == ("openid", "email", "name")
    assert config.client_secret == "eyJ..."


def test_github_is_oauth2_with_fixed_endpoints() -> None:
    config = resolve(
        "github", OidcProvider(preset="github", client_id="gh-id", client_secret="s"), public_url=PUBLIC
    )
    assert config.kind == "github" and config.discovery_url is None
    assert config.api_base == "https://api.github.com"
    with httpx.Client() as http:
        client = ProviderClient(config, http)
        meta = client.metadata()  # fixed: nothing is fetched
        assert meta.authorization_endpoint == "https://github.com/login/oauth/authorize"
        assert meta.token_endpoint == "https://github.com/login/oauth/access_token"
        assert meta.jwks_uri is None
        url = client.authorization_url(state="st", nonce="unused", code_verifier="v" * 64)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://github.com/login/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "gh-id",
        "redirect_uri": "https://video.example.com/api/v1/auth/oidc/github/callback",
        "scope": "read:user user:email",
        "state": "st",
        "code_challenge": pkce_challenge("v" * 64),
        "code_challenge_method": "S256",
    }  # no nonce: GitHub issues no ID token


def test_pkce_s256_matches_rfc_7636() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_settings_override_the_preset() -> None:
    provider = OidcProvider(
        preset="google",
        client_id="g",
        scopes=["openid", "email"],
        display_name="Work account",
        redirect_uri="https://gateway.example.com/cb",
    )
    config = resolve("work", provider, public_url=PUBLIC)
    assert config.scopes == ("openid", "email") and config.display_name == "Work account"
    assert config.redirect_uri == "https://gateway.example.com/cb"


def test_unsafe_provider_settings_are_refused(tmp_path: Path) -> None:
    for bad in (
        {"x": {"preset": "generic", "client_id": "c"}},  # no issuer
        {"x": {"preset": "generic", "client_id": "c", "issuer": "http://idp.example.com"}},  # not https
        {"x": {"preset": "google", "client_id": "c", "allowed_redirects": ["javascript:alert(1)"]}},
    ):
        with pytest.raises(ConfigError, match="OIDC_PROVIDERS"):
            load_settings(data_dir=tmp_path, oidc_providers=bad)
    with pytest.raises(ValueError, match="provider name"):
        resolve("Bad Name", OidcProvider(preset="google", client_id="c"), public_url=PUBLIC)


def test_redirects_must_be_exactly_on_the_allow_list() -> None:
    config = resolve(
        "google",
        OidcProvider(preset="google", client_id="c", allowed_redirects=["https://app.example.com/signed-in"]),
        public_url=PUBLIC,
    )
    OidcService.check_redirect(config, "https://app.example.com/signed-in")
    OidcService.check_redirect(config, "https://APP.example.com/signed-in?from=tv")
    for bad in (
        "https://app.example.com.evil.example/signed-in",
        "https://app.example.com/signed-in/../admin",
        "http://app.example.com/signed-in",
        "https://app.example.com:8443/signed-in",
        "https://app.example.com/signed-in#x",
        "//app.example.com/signed-in",
    ):
        with pytest.raises(OidcRedirectNotAllowed):
            OidcService.check_redirect(config, bad)


def test_github_identity_prefers_the_primary_verified_address() -> None:
    # The shapes of GitHub's documented /user and /user/emails answers.
    user = {"login": "octocat", "id": 583231, "name": "The Octocat", "email": "public@example.com"}
    emails = [
        {"email": "old@example.com", "verified": True, "primary": False, "visibility": None},
        {"email": "Octocat@Example.com", "verified": True, "primary": True, "visibility": "public"},
        {"email": "unconfirmed@example.com", "verified": False, "primary": False, "visibility": None},
    ]
    identity = github_identity(user, emails)
    assert identity.subject == "583231" and identity.username_hint == "octocat"
    assert identity.email == "octocat@example.com" and identity.email_verified
    assert identity.name == "The Octocat"
    # No verified address at all: the profile's address, which does not count for linking.
    identity = github_identity(user, [e for e in emails if not e["verified"]])
    assert identity.email == "public@example.com" and not identity.email_verified
    assert github_identity({**user, "email": None}, []).email is None
    with pytest.raises(OidcProviderUnavailable):
        github_identity({"login": "ghost"}, emails)
