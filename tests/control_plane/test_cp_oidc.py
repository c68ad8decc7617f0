"""Social login end to end against a real OpenID provider (npm ``oidc-provider``) on loopback.

The test is the user's browser: it starts at our authorize endpoint, posts the provider's login
form, and brings the provider's redirect back to our callback, with each site's cookies in their
own jar. The platform talks to the provider over real HTTP (discovery, JWKS, token endpoint).
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import jwt
import pyotp
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from support.oidc_server import free_port, oidc_provider
from support.platform import Platform, embedded, production, start_platform

from control_plane.accounts.models import AuditEvent, OidcIdentity, User
from control_plane.accounts.oidc import ProviderClient, resolve
from control_plane.accounts.oidc.errors import OidcTokenInvalid
from control_plane.core.db import utcnow
from control_plane.core.settings import OidcProvider

PUBLIC = "http://testserver"
CLIENT_ID, CLIENT_SECRET = "socialflow-test", "a-test-client-secret-of-some-length"
REDIRECTS = (f"{PUBLIC}/api/v1/auth/oidc/test/callback", f"{PUBLIC}/api/v1/auth/oidc/apple/callback")
APP = "socialflow-app://signed-in"
PW = "correct horse battery"


@contextmanager
def running_provider(port: int, log: Path) -> Iterator[str]:
    """The provider script on ``port`` with our client; yields its issuer URL."""
    with oidc_provider(CLIENT_ID, CLIENT_SECRET, REDIRECTS, log, port) as url:
        yield url


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider(free_port(), tmp_path_factory.mktemp("oidc") / "provider.log") as url:
        yield url


def provider_settings(issuer: str) -> dict[str, object]:
    return {
        "test": {
            "preset": "generic",
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "display_name": "Test IdP",
            "allowed_redirects": [APP],
        },
        # Apple's preset (form_post callback, "name" scope) against the same provider.
        "apple": {
            "preset": "apple",
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    }


@pytest.fixture(scope="module")
def platform(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    settings = embedded(
        tmp_path_factory.mktemp("sf"), public_url=PUBLIC, oidc_providers=provider_settings(issuer)
    )
    yield from start_platform(settings, inprocess_workers=False)


def browser(platform: Platform) -> TestClient:
    """A fresh browser on our site: its own cookie jar."""
    return TestClient(platform.client.app, base_url=PUBLIC)


def _walk(url: str, login: str) -> tuple[str, dict[str, str] | None]:
    """Sign in as ``login`` at the provider (a fresh session there); returns where it sends the
    browser back: our callback URL (code and state in the query), or, for ``form_post``, the
    form's action and its fields."""
    with httpx.Client(timeout=10) as site:
        r = site.get(url)
        for _ in range(10):
            if r.is_redirect:
                location = urljoin(str(r.url), r.headers["location"])
                if location.startswith(PUBLIC):
                    return location, None
                r = site.get(location)
                continue
            action = re.search(r'<form method="post" action="([^"]+)"', r.text)
            assert action is not None, f"provider answered {r.status_code}: {r.text[:500]}"
            target = html.unescape(action.group(1))
            if target.startswith(PUBLIC):
                fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text)
                return target, {k: html.unescape(v) for k, v in fields}
            r = site.post(urljoin(str(r.url), target), data={"login": login})
    raise AssertionError("too many steps at the provider")


def at_provider(url: str, login: str) -> str:
    back, form = _walk(url, login)
    assert form is None
    return back


def start(ours: TestClient, *, provider: str = "test", **params: str) -> str:
    r = ours.get(f"/api/v1/auth/oidc/{provider}/authorize", params=params, follow_redirects=False)
    assert r.status_code == 302, r.text
    return r.headers["location"]


def sign_in(
    platform: Platform,
    login: str,
    *,
    ours: TestClient | None = None,
    tamper: Callable[[str], str] | None = None,
) -> httpx.Response:
    ours = ours or browser(platform)
    url = start(ours)
    back = at_provider(tamper(url) if tamper else url, login)
    return ours.get(back, follow_redirects=False)


def me(platform: Platform, token: str) -> dict:
    r = platform.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def audit_kinds(platform: Platform) -> list[str]:
    with platform.services.db.session() as session:
        return list(session.scalars(sa.select(AuditEvent.kind).order_by(AuditEvent.id)))


def local_user(platform: Platform, name: str, *, verified: bool) -> dict[str, str]:
    """A password account with email NAME@example.org (its verification set directly)."""
    headers = platform.user(name, password=PW)
    r = platform.client.get("/api/v1/users/me", headers=headers)
    with platform.services.db.session() as session:
        user = session.get(User, r.json()["id"])
        assert user is not None
        user.email = f"{name}@example.org"
        user.email_verified_at = utcnow() if verified else None
    return headers


def test_providers_are_listed(platform: Platform) -> None:
    r = platform.client.get("/api/v1/auth/oidc/providers")
    assert r.status_code == 200
    assert r.json() == [
        {"name": "test", "display_name": "Test IdP"},
        {"name": "apple", "display_name": "Apple"},
    ]


def test_unknown_provider_is_404(platform: Platform) -> None:
    for path in ("/api/v1/auth/oidc/nope/authorize", "/api/v1/auth/oidc/nope/callback?code=x&state=y"):
        r = platform.client.get(path, follow_redirects=False)
        assert r.status_code == 404 and r.json()["code"] == "OIDC_UNKNOWN_PROVIDER", path


def test_new_user_then_the_same_user_again(platform: Platform) -> None:
    r = sign_in(platform, "alice")
    assert r.status_code == 200, r.text
    first = me(platform, r.json()["access_token"])
    assert first["username"] == "alice" and first["email"] == "alice@example.org"
    assert first["role"] == "creator"
    with platform.services.db.session() as session:
        user = session.get(User, first["id"])
        assert user is not None and user.email_verified_at is not None
    assert "oidc.user_created" in audit_kinds(platform)

    r = sign_in(platform, "alice")
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["id"] == first["id"]
    with platform.services.db.session() as session:
        rows = session.scalars(sa.select(OidcIdentity).where(OidcIdentity.user_id == first["id"])).all()
        assert [(row.provider, row.subject) for row in rows] == [("test", "sub-alice")]
    # A password sign-in of a social-only account is refused like any wrong password.
    r = platform.client.post("/api/v1/auth/login", json={"username": "alice", "password": "!oidc"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_CREDENTIALS"


def test_links_to_a_verified_local_account(platform: Platform) -> None:
    headers = local_user(platform, "carol", verified=True)
    local_id = platform.client.get("/api/v1/users/me", headers=headers).json()["id"]
    r = sign_in(platform, "carol")
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["id"] == local_id
    assert "oidc.linked" in audit_kinds(platform)
    listed = platform.client.get("/api/v1/users/me/identities", headers=headers).json()
    assert [(i["provider"], i["email"]) for i in listed] == [("test", "carol@example.org")]
    # carol has a password too, so she may unlink it.
    r = platform.client.delete(f"/api/v1/users/me/identities/{listed[0]['id']}", headers=headers)
    assert r.status_code == 204
    assert platform.client.get("/api/v1/users/me/identities", headers=headers).json() == []
    assert "oidc.unlinked" in audit_kinds(platform)


def test_refuses_to_link_when_either_side_is_unverified(platform: Platform) -> None:
    local_user(platform, "dave", verified=False)  # the provider vouches, the local account does not
    r = sign_in(platform, "dave")
    assert r.status_code == 409 and r.json()["code"] == "OIDC_ACCOUNT_EXISTS", r.text
    local_user(platform, "unverified-erin", verified=True)  # the provider does not vouch
    r = sign_in(platform, "unverified-erin")
    assert r.status_code == 409 and r.json()["code"] == "OIDC_ACCOUNT_EXISTS", r.text
    with platform.services.db.session() as session:
        subjects = set(session.scalars(sa.select(OidcIdentity.subject)))
    assert not subjects & {"sub-dave", "sub-unverified-erin"}
    assert audit_kinds(platform).count("oidc.link_refused") >= 2


def test_a_new_account_from_an_unverified_address_stays_unverified(platform: Platform) -> None:
    r = sign_in(platform, "unverified-frank")
    assert r.status_code == 200, r.text
    with platform.services.db.session() as session:
        user = session.get(User, me(platform, r.json()["access_token"])["id"])
        assert user is not None and user.email_verified_at is None


def test_state_must_match_and_is_spent_once(platform: Platform) -> None:
    ours = browser(platform)
    back = at_provider(start(ours), "gina")
    forged = back.replace("state=", "state=x", 1)
    r = ours.get(forged)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    # Another browser cannot finish this browser's sign-in (login CSRF): the binding cookie differs.
    r = browser(platform).get(back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    assert "other browser" in r.json()["detail"]


def test_an_answer_naming_another_issuer_is_refused(platform: Platform) -> None:
    ours = browser(platform)
    back = at_provider(start(ours), "ian")
    assert "iss=" in back  # oidc-provider names itself (RFC 9207)
    r = ours.get(re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fevil.example", back))
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    assert "another provider" in r.json()["detail"]


def test_replayed_state_is_refused(platform: Platform) -> None:
    ours = browser(platform)
    back = at_provider(start(ours), "hank")
    assert ours.get(back).status_code == 200
    r = ours.get(back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"


def test_wrong_nonce_is_refused(platform: Platform) -> None:
    def other_nonce(url: str) -> str:
        return re.sub(r"nonce=[^&]+", "nonce=not-the-nonce-we-sent", url)

    r = sign_in(platform, "ivy", tamper=other_nonce)
    assert r.status_code == 401 and r.json()["code"] == "OIDC_TOKEN_INVALID", r.text
    assert "nonce" in r.json()["detail"]
    assert "oidc.token_invalid" in audit_kinds(platform)


def test_the_form_post_callback(platform: Platform) -> None:
    ours = browser(platform)
    back = urlsplit(at_provider(start(ours), "jack"))
    fields = {k: v[0] for k, v in parse_qs(back.query).items()}
    r = ours.post(
        back.path, content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["username"] == "jack"


def test_app_redirect_gets_a_ticket_never_tokens(platform: Platform) -> None:
    ours = browser(platform)
    r = ours.get("/api/v1/auth/oidc/test/authorize", params={"redirect_to": "https://evil.example/"})
    assert r.status_code == 400 and r.json()["code"] == "OIDC_REDIRECT_NOT_ALLOWED"
    r = ours.get("/api/v1/auth/oidc/test/authorize", params={"redirect_to": APP, "mode": "json"})
    assert r.status_code == 200 and "sf_oidc" in r.cookies
    back = at_provider(r.json()["authorization_url"], "kate")
    r = ours.get(back, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith(APP + "#")
    fragment = parse_qs(urlsplit(r.headers["location"]).fragment)
    assert fragment["second_factor"] == ["no"] and "access_token" not in r.headers["location"]
    ticket = fragment["ticket"][0]
    r = ours.post("/api/v1/auth/oidc/token", json={"ticket": ticket})
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["username"] == "kate"
    r = ours.post("/api/v1/auth/oidc/token", json={"ticket": ticket})
    assert r.status_code == 401 and r.json()["code"] == "OIDC_TICKET_INVALID"


def test_two_factor_users_still_need_their_code(platform: Platform) -> None:
    headers = local_user(platform, "liam", verified=True)
    setup = platform.client.post("/api/v1/auth/2fa/totp/setup", headers=headers).json()
    r = platform.client.post(
        "/api/v1/auth/2fa/totp/enable", headers=headers, json={"code": pyotp.TOTP(setup["secret"]).now()}
    )
    recovery = r.json()["recovery_codes"]
    r = sign_in(platform, "liam")
    assert r.status_code == 401 and r.json()["code"] == "OIDC_SECOND_FACTOR_REQUIRED", r.text
    assert "access_token" not in r.json()
    ticket = r.json()["ticket"]
    r = platform.client.post("/api/v1/auth/oidc/token", json={"ticket": ticket})
    assert r.status_code == 401 and r.json()["code"] == "OTP_REQUIRED"
    r = platform.client.post("/api/v1/auth/oidc/token", json={"ticket": ticket, "otp": "000000"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_OTP"
    r = platform.client.post("/api/v1/auth/oidc/token", json={"ticket": ticket, "recovery_code": recovery[0]})
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["username"] == "liam"


def test_link_while_signed_in_and_the_last_way_to_sign_in_stays(platform: Platform) -> None:
    r = sign_in(platform, "mona")
    assert r.status_code == 200
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    ours = browser(platform)
    only = ours.get("/api/v1/users/me/identities", headers=auth).json()
    r = ours.delete(f"/api/v1/users/me/identities/{only[0]['id']}", headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "OIDC_LAST_SIGN_IN"
    # Link a second provider account (any email: the user is signed in) ...
    r = ours.post("/api/v1/auth/oidc/test/link", headers=auth)
    assert r.status_code == 200, r.text
    back = at_provider(r.json()["authorization_url"], "unverified-mona-alt")
    r = ours.get(back)
    assert r.status_code == 200 and r.json() == {"linked": True, "provider": "test"}, r.text
    listed = ours.get("/api/v1/users/me/identities", headers=auth).json()
    assert len(listed) == 2
    # ... then the first may go, and signing in with the second reaches the same user.
    assert ours.delete(f"/api/v1/users/me/identities/{only[0]['id']}", headers=auth).status_code == 204
    r = sign_in(platform, "unverified-mona-alt")
    assert me(platform, r.json()["access_token"])["username"] == "mona"
    # Someone else's identity cannot be unlinked (nor even seen).
    other = platform.user("nosy")
    r = ours.delete(f"/api/v1/users/me/identities/{listed[1]['id']}", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "OIDC_IDENTITY_NOT_FOUND"


def test_the_apple_preset_posts_its_callback(platform: Platform) -> None:
    ours = browser(platform)
    url = start(ours, provider="apple")
    query = parse_qs(urlsplit(url).query)
    assert query["response_mode"] == ["form_post"] and query["scope"] == ["openid email name"]
    action, fields = _walk(url, "pat")
    assert action == f"{PUBLIC}/api/v1/auth/oidc/apple/callback" and fields is not None
    # Apple adds the user's name, on the first sign-in only, as an unsigned form field.
    fields["user"] = json.dumps({"name": {"firstName": "Pat", "lastName": "Lee"}})
    r = ours.post(action, data=fields)
    assert r.status_code == 200, r.text
    assert me(platform, r.json()["access_token"])["email"] == "pat@example.org"
    # The form's fields are bounded, and a hostile user field is only ignored.
    r = ours.post(action, data={"state": "s" * 300})
    assert r.status_code == 400 and r.json()["code"] == "OIDC_CALLBACK_INVALID"
    r = ours.post(action, data={"state": "s", "code": "c", "user": "[" * 2000 + "]" * 2000})
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"


def test_authorize_is_rate_limited_per_address(issuer: str, tmp_path: Path) -> None:
    settings = embedded(tmp_path, public_url=PUBLIC, oidc_providers=provider_settings(issuer))
    gen = start_platform(settings, inprocess_workers=False)
    fresh = next(gen)
    try:
        answers = [
            fresh.client.get("/api/v1/auth/oidc/test/authorize", follow_redirects=False).status_code
            for _ in range(40)
        ]
    finally:
        for _ in gen:
            pass
    assert answers[:30] == [302] * 30 and 429 in answers[30:]


def test_a_refusal_at_the_provider_is_reported(platform: Platform) -> None:
    ours = browser(platform)
    state = parse_qs(urlsplit(start(ours)).query)["state"][0]
    r = ours.get("/api/v1/auth/oidc/test/callback", params={"error": "access_denied", "state": state})
    assert r.status_code == 400 and r.json()["code"] == "OIDC_DENIED"
    assert "oidc.denied" in audit_kinds(platform)


def test_on_postgresql_and_redis(issuer: str, tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    """The production backends: flow state and tickets in Redis, identities in PostgreSQL."""
    settings = production(
        tmp_path,
        database_url=postgres_url,
        broker_url=redis_url,
        storage_url=f"file://{tmp_path / 'blobs'}",
        redis_url=redis_url,
        public_url=PUBLIC,
        oidc_providers=provider_settings(issuer),
    )
    gen = start_platform(settings, inprocess_workers=False)
    prod = next(gen)
    try:
        ours = browser(prod)
        back = at_provider(start(ours), "quinn")
        r = ours.get(back)
        assert r.status_code == 200, r.text
        user_id = me(prod, r.json()["access_token"])["id"]
        assert ours.get(back).json()["code"] == "OIDC_STATE_INVALID"  # spent, in Redis
        r = sign_in(prod, "quinn")
        assert me(prod, r.json()["access_token"])["id"] == user_id
        local_user(prod, "rita", verified=False)
        assert sign_in(prod, "rita").json()["code"] == "OIDC_ACCOUNT_EXISTS"
    finally:
        for _ in gen:
            pass


def test_an_unreachable_provider_is_a_502_not_a_500(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    providers = {"down": {"issuer": closed, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}
    gen = start_platform(embedded(tmp_path, oidc_providers=providers), inprocess_workers=False)
    down = next(gen)
    try:
        r = down.client.get("/api/v1/auth/oidc/down/authorize", follow_redirects=False)
    finally:
        for _ in gen:
            pass
    assert r.status_code == 502 and r.json()["code"] == "OIDC_PROVIDER_UNAVAILABLE"


# -- the ID token checks, on real tokens of the provider ----------------------------------------


def provider_client(issuer: str, http: httpx.Client, **options: float) -> ProviderClient:
    config = resolve(
        "test",
        OidcProvider(preset="generic", issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        public_url=PUBLIC,
    )
    return ProviderClient(config, http, **options)


def issue_token(client: ProviderClient, login: str) -> tuple[str, str]:
    """A real ID token the provider issues to our client for ``login``, and its nonce."""
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    back = at_provider(client.authorization_url(state="s" * 20, nonce=nonce, code_verifier=verifier), login)
    code = parse_qs(urlsplit(back).query)["code"][0]
    return client._exchange(code, verifier)["id_token"], nonce


@pytest.fixture(scope="module")
def real_token(issuer: str) -> Iterator[tuple[ProviderClient, str, str]]:
    """Our provider client, a real ID token the provider issued to it, and its nonce."""
    with httpx.Client(timeout=10) as http:
        client = provider_client(issuer, http)
        token, nonce = issue_token(client, "olga")
        yield client, token, nonce


def test_a_rotated_signing_key_is_fetched_and_the_old_one_dropped(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "provider.log"
    with httpx.Client(timeout=10) as http:
        with running_provider(port, log) as issuer:
            client = provider_client(issuer, http, jwks_cooldown=0)
            old, old_nonce = issue_token(client, "pia")
            assert client.verify_id_token(old, nonce=old_nonce)["sub"] == "sub-pia"
        with running_provider(port, log):  # the provider restarts with a new key
            new, new_nonce = issue_token(client, "pia")
            assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
            assert client.verify_id_token(new, nonce=new_nonce)["sub"] == "sub-pia"
            with pytest.raises(OidcTokenInvalid, match="not signed by a key"):
                client.verify_id_token(old, nonce=old_nonce)


def flip(signature: str) -> str:
    """The signature with its first characters changed."""
    return ("BBBB" if signature.startswith("AAAA") else "AAAA") + signature[4:]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_real_id_token_passes(real_token: tuple[ProviderClient, str, str]) -> None:
    client, token, nonce = real_token
    claims = client.verify_id_token(token, nonce=nonce)
    assert claims["sub"] == "sub-olga" and claims["aud"] == CLIENT_ID


def test_tampered_id_tokens_are_refused(real_token: tuple[ProviderClient, str, str]) -> None:
    client, token, nonce = real_token
    header_b64, payload_b64, signature = token.split(".")
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {
        "payload changed": f"{header_b64}.{_b64({**payload, 'sub': 'sub-admin'})}.{signature}",
        "signature changed": f"{header_b64}.{payload_b64}.{flip(signature)}",
        "alg none": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{payload_b64}.",
        "HS256 with the client secret": jwt.encode(
            payload, CLIENT_SECRET, algorithm="HS256", headers={"kid": header["kid"]}
        ),
        "signed by another key": jwt.encode(
            payload, other_key, algorithm="RS256", headers={"kid": header["kid"]}
        ),
    }
    for what, bad in forged.items():
        with pytest.raises(OidcTokenInvalid):
            client.verify_id_token(bad, nonce=nonce)
            pytest.fail(f"{what} was accepted")
    with pytest.raises(OidcTokenInvalid, match="nonce"):
        client.verify_id_token(token, nonce="another-nonce")
    # The same genuine token presented to another client: wrong audience.
    other_client = ProviderClient(replace(client.config, client_id="another-client"), client.http)
    with pytest.raises(OidcTokenInvalid, match="(?i)audience"):
        other_client.verify_id_token(token, nonce=nonce)
