"""Signing in through the studio's page: with the second factor, and with a configured OpenID
Connect provider (a real one: npm ``oidc-provider``, as the social-login tests run it), whose
callback sends the browser back to ``/studio/signin`` with a ticket the page redeems."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from support.oidc_server import oidc_provider
from support.serve import Serve

from .conftest import PASSWORD, sign_in

CLIENT_ID, CLIENT_SECRET = "socialflow-studio", "a-studio-client-secret-of-some-length"


@pytest.fixture(scope="module")
def issuer_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Serve]]:
    serve = Serve(tmp_path_factory.mktemp("studio-signin"))
    callback = f"{serve.base}/api/v1/auth/oidc/test/callback"
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with oidc_provider(CLIENT_ID, CLIENT_SECRET, [callback], log) as issuer:
        providers = {
            "test": {
                "preset": "generic",
                "issuer": issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "display_name": "Test IdP",
            }
        }
        serve.env["SOCIALFLOW_OIDC_PROVIDERS"] = json.dumps(providers)
        serve.start()
        try:
            yield issuer, serve
        finally:
            serve.stop()


@pytest.fixture(scope="module")
def server(issuer_and_server: tuple[str, Serve]) -> Serve:
    return issuer_and_server[1]


def test_sign_in_with_the_second_factor(browsing: Any, server: Serve, artefacts: Path) -> None:
    headers = server.user("hana", PASSWORD)
    secret = httpx.post(f"{server.base}/api/v1/auth/2fa/totp/setup", headers=headers).json()["secret"]
    enabled = httpx.post(
        f"{server.base}/api/v1/auth/2fa/totp/enable", headers=headers, json={"code": pyotp.TOTP(secret).now()}
    )
    assert enabled.status_code == 200, enabled.text

    page = browsing().page()
    sign_in_page = "/studio/signin?next=/videos"
    page.goto(sign_in_page)
    page.get_by_label("Username", exact=True).fill("hana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_selector("text=Two-factor sign-in")
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector("form .error:not(:empty)")
    page.screenshot(path=artefacts / "signin-second-factor.png", full_page=True)
    # The app's current code was spent enabling two-factor sign-in: a recovery code opens it.
    page.get_by_label("Code from your authenticator app").fill("")
    page.get_by_label("Or a recovery code").fill(enabled.json()["recovery_codes"][0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/studio/videos")
    assert page.get_by_role("button", name="Sign out").is_visible()

    # A reload keeps the session (the refresh cookie); no token is in the page's storage.
    page.reload()
    page.wait_for_selector("h1:has-text('My videos')")
    stored = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "eyJ" not in stored and "rt_" not in stored, stored
    assert [c for c in page.context.cookies() if c["name"] == "sf_refresh"][0]["httpOnly"]


def test_sign_in_with_a_configured_oidc_provider(
    browsing: Any, issuer_and_server: tuple[str, Serve], artefacts: Path
) -> None:
    issuer, server = issuer_and_server
    page = browsing(allow=(issuer,)).page()
    page.goto("/studio/signin?next=/upload")
    page.get_by_role("link", name="Test IdP").click()
    page.wait_for_url(f"{issuer}/**")
    page.locator("input[name=login]").fill("ivan")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/studio/upload")
    assert "ticket" not in page.url
    page.wait_for_selector("nav >> text=Sign out")
    page.screenshot(path=artefacts / "signin-oidc.png", full_page=True)


def test_sign_out_ends_the_session(browsing: Any, server: Serve) -> None:
    server.user("jules", PASSWORD)
    page = browsing().page()
    sign_in(page, "jules")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("nav >> text=Sign in")
    page.goto("/studio/videos")
    page.wait_for_url("**/studio/signin?next=*")
