"""The pages behind the mailed links, driven like a browser: the link from a real mail (over SMTP),
the page's own form read from its HTML and submitted as a browser would, and the account checked
through the API afterwards. Opening a link changes nothing; the headers keep the token in."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin

import httpx
import pytest
import sqlalchemy as sa
from support.platform import Platform, embedded, live_server
from support.smtp import SmtpServer, link_in, token_of

from control_plane.accounts.models import EmailToken
from control_plane.core.db import utcnow
from control_plane.http.htmlpage import Html, html

PW = "correct horse battery"
PUBLIC_URL = "https://flow.example"
NEW_PW = "a brand new passphrase"


class Client(Protocol):
    def get(self, url: str) -> httpx.Response: ...
    def post(self, url: str, *, data: dict[str, str]) -> httpx.Response: ...


@pytest.fixture
def mail_platform(
    tmp_path: Path, platform_factory: Callable[..., Platform], smtp_server: SmtpServer
) -> Platform:
    return platform_factory(embedded(tmp_path, smtp_url=smtp_server.url, public_url=PUBLIC_URL))


def mailed_link(server: SmtpServer, to: str, subject: str, path: str, count: int = 1) -> str:
    """The path and query of the newest of ``count`` mails ``subject`` to ``to``."""
    deadline = time.monotonic() + 20
    while True:
        found = [m for m in server.messages if m["To"] == to and m["Subject"] == subject]
        if len(found) >= count:
            link = link_in(found[count - 1], path)
            assert link.startswith(PUBLIC_URL + path + "?token=")
            return link[len(PUBLIC_URL) :]
        assert time.monotonic() < deadline, f"{len(found)} of {count} mails {subject!r} to {to}"
        time.sleep(0.02)


@dataclass
class Form:
    action: str
    method: str
    #: name -> (type, value) of each input
    inputs: dict[str, tuple[str, str]] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page, and any tag that would make a browser fetch something or run code."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.fetching: list[str] = []
        self._button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "img", "iframe", "link", "object", "embed") or "src" in a or "style" in a:
            self.fetching.append(tag)
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            self.forms[-1].inputs[a["name"]] = (a.get("type", "text"), a.get("value", ""))
        elif tag == "button":
            self._button = True

    def handle_endtag(self, tag: str) -> None:
        self._button = self._button and tag != "button"

    def handle_data(self, data: str) -> None:
        if self._button and self.forms:
            self.forms[-1].buttons.append(data.strip())


def parse(page: httpx.Response) -> _Forms:
    parser = _Forms()
    parser.feed(page.text)
    parser.close()
    assert not parser.fetching, parser.fetching
    return parser


def the_form(page: httpx.Response) -> Form:
    (form,) = parse(page).forms
    assert form.method == "post", form
    return form


def submit(client: Client, page_url: str, form: Form, **typed: str) -> httpx.Response:
    """Post ``form`` as a browser does: its hidden fields plus what the user typed."""
    data = {name: value for name, (kind, value) in form.inputs.items() if kind == "hidden"}
    for name in typed:
        assert name in form.inputs and form.inputs[name][0] != "hidden", (name, form.inputs)
    return client.post(urljoin(page_url, form.action), data={**data, **typed})


def safe_page(r: httpx.Response, status: int) -> str:
    """The page's text, once its status and every protective header are as they must be."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["form-action"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    # The one inline style is allowed by its hash, and nothing else is.
    (style,) = re.findall(r"<style>(.*?)</style>", r.text, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert csp["style-src"] == f"'sha256-{digest}'"
    assert set(csp) == {"default-src", "style-src", "form-action", "frame-ancestors", "base-uri"}
    parse(r)
    return r.text


def me(p: Platform, headers: dict[str, str]) -> httpx.Response:
    return p.client.get("/api/v1/users/me", headers=headers)


def test_verification_over_http_only_on_the_click(mail_platform: Platform, smtp_server: SmtpServer) -> None:
    p = mail_platform
    headers = p.user("ada")
    path = mailed_link(smtp_server, "ada@example.com", "Confirm your email address", "/verify-email")
    with live_server(p) as base, httpx.Client(base_url=base, timeout=10) as browser:
        url = base + path
        # A mail scanner or a link preview fetches the link, maybe more than once: nothing happens.
        for _ in range(3):
            page = browser.get(url)
            safe_page(page, 200)
        assert me(p, headers).json()["email_verified"] is False
        form = the_form(page)
        assert form.action == "verify-email" and form.buttons == ["Confirm my address"]
        assert form.inputs == {"token": ("hidden", token_of(path))}

        done = submit(browser, url, form)
        assert "your email address is confirmed" in safe_page(done, 200)
        assert me(p, headers).json()["email_verified"] is True
        again = submit(browser, url, form)
        assert "This link was already used; ask for a new one." in safe_page(again, 403)


def test_reset_through_the_page(mail_platform: Platform, smtp_server: SmtpServer) -> None:
    p = mail_platform
    headers = p.user("bob")
    assert p.client.post("/api/v1/auth/password-reset", json={"email": "bob@example.com"}).status_code == 202
    path = mailed_link(smtp_server, "bob@example.com", "Reset your password", "/reset-password")
    token = token_of(path)
    form = the_form(p.client.get(path))
    assert form.action == "reset-password"
    assert form.inputs == {
        "token": ("hidden", token),
        "new_password": ("password", ""),
        "repeat_password": ("password", ""),
    }

    # Two different passwords, then a common one: the form comes back with the reason, the token
    # still in it and neither password anywhere, and the link stays good.
    r = submit(p.client, path, form, new_password=NEW_PW, repeat_password=NEW_PW + "!")
    text = safe_page(r, 422)
    assert "The two passwords differ" in text and NEW_PW not in text
    assert the_form(r).inputs["token"] == ("hidden", token)
    r = submit(p.client, path, the_form(r), new_password="Password123", repeat_password="Password123")
    text = safe_page(r, 422)
    assert "one of the most common passwords" in text and "Password123" not in text
    assert me(p, headers).status_code == 200

    r = submit(p.client, path, the_form(r), new_password=NEW_PW, repeat_password=NEW_PW)
    text = safe_page(r, 200)
    assert "Your new password is set" in text and NEW_PW not in text
    assert me(p, headers).status_code == 401  # every session ended
    login = p.client.post("/api/v1/auth/login", json={"username": "bob", "password": PW})
    assert login.status_code == 401
    login = p.client.post("/api/v1/auth/login", json={"username": "bob", "password": NEW_PW})
    assert login.status_code == 200
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert me(p, fresh).json()["email_verified"] is True  # following the link proved the address

    # The same form again (a replay, a double click): refused, and the password stays.
    r = submit(p.client, path, form, new_password="yet another phrase", repeat_password="yet another phrase")
    text = safe_page(r, 403)
    assert "This link was already used; ask for a new one." in text and not parse(r).forms
    assert (
        p.client.post("/api/v1/auth/login", json={"username": "bob", "password": NEW_PW}).status_code == 200
    )


@pytest.mark.parametrize("page", ["/verify-email", "/reset-password"])
def test_bad_links_are_refused_before_any_lookup(platform: Platform, page: str) -> None:
    c = platform.client
    for query in (
        "",
        "?token=",
        "?token=short",
        "?token=" + "x" * 129,
        "?token=no/slash+plus%3D",
        "?other=1",
    ):
        text = safe_page(c.get(page + query), 404)
        assert "This link is incomplete" in text and not parse(c.get(page + query)).forms
    r = c.post(page, data={"token": "a<b>" * 8, "new_password": NEW_PW, "repeat_password": NEW_PW})
    assert "This link is incomplete" in safe_page(r, 404) and "a<b>" not in r.text
    # Well formed but unknown: the API's words, and nothing about any account.
    unknown = secrets.token_urlsafe(32)
    form = the_form(c.get(f"{page}?token={unknown}"))
    typed = {"new_password": NEW_PW, "repeat_password": NEW_PW} if page == "/reset-password" else {}
    r = submit(c, page, form, **typed)
    assert "This link is not valid; ask for a new one." in safe_page(r, 403)


def test_a_link_of_the_other_kind_or_expired_is_refused(
    tmp_path: Path, platform_factory: Callable[..., Platform], smtp_server: SmtpServer
) -> None:
    p = platform_factory(embedded(tmp_path, smtp_url=smtp_server.url, public_url=PUBLIC_URL))
    headers = p.user("cyd")
    verify = mailed_link(smtp_server, "cyd@example.com", "Confirm your email address", "/verify-email")
    # The verification token in the reset page's form is no reset token.
    form = the_form(p.client.get(verify.replace("/verify-email", "/reset-password")))
    r = submit(p.client, "/reset-password", form, new_password=NEW_PW, repeat_password=NEW_PW)
    assert "This link is not valid; ask for a new one." in safe_page(r, 403)
    with p.services.db.session() as session:
        session.execute(sa.update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = submit(p.client, verify, the_form(p.client.get(verify)))
    assert "This link has expired; ask for a new one." in safe_page(r, 403)
    assert me(p, headers).json()["email_verified"] is False
    assert p.client.post("/api/v1/auth/login", json={"username": "cyd", "password": PW}).status_code == 200


def test_the_page_and_the_api_share_the_per_client_limit(platform: Platform) -> None:
    """30 token uses per client in 10 minutes, whether through the API or the pages."""
    c = platform.client
    for _ in range(20):
        r = c.post("/api/v1/auth/verify-email", json={"token": secrets.token_urlsafe(32)})
        assert r.status_code == 403, r.text
    for i in range(10):
        page = "/verify-email" if i % 2 else "/reset-password"
        data = {"token": secrets.token_urlsafe(32), "new_password": NEW_PW, "repeat_password": NEW_PW}
        assert c.post(page, data=data).status_code == 403
    r = c.post("/reset-password", data=data)
    assert "Too many email link attempts" in safe_page(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 600
    r = c.post("/api/v1/auth/verify-email", json={"token": secrets.token_urlsafe(32)})
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    # Opening a link costs nothing and still works.
    safe_page(c.get(f"/verify-email?token={secrets.token_urlsafe(32)}"), 200)


def test_a_post_that_is_no_form_is_refused(platform: Platform) -> None:
    token = secrets.token_urlsafe(32)
    for page in ("/verify-email", "/reset-password"):
        r = platform.client.post(page, json={"token": token})
        assert r.status_code == 415 and r.json()["code"] == "FORM_REQUIRED", r.text
        r = platform.client.post(
            page, content=b"token=%ff%fe", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert r.status_code == 415 and r.json()["code"] == "FORM_REQUIRED", r.text


def test_html_escapes_every_value_but_html() -> None:
    hostile = "\"><script>alert('x')</script>&"
    out = html('<p title="$a">$b $c</p>', a=hostile, b=hostile, c=Html("<em>kept</em>"))
    assert out == (
        '<p title="&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;">'
        "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp; <em>kept</em></p>"
    )
    assert isinstance(out, Html)
    with pytest.raises(KeyError):
        html("<p>$missing</p>")
