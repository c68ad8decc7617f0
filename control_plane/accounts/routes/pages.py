"""The pages behind the mailed links: ``/verify-email?token=...`` and ``/reset-password?token=...``.

Social Flow ships no front end, so the control plane serves these two itself, as plain HTML forms
(no script). Opening a link changes nothing, since mail scanners and link previews open links too:
the page asks for a click (or a new password) and posts the token back to the same path, where it
is spent through the same service, with the same per-client limit, as ``POST
/api/v1/auth/verify-email`` and ``POST /api/v1/auth/password-reset/confirm``. A token that does not
look like one is refused before any lookup. Problems come back as pages, with the API's words.
The forms post to a relative path, so the pages also work behind a gateway that adds a path prefix.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from control_plane.accounts.errors import EmailTokenExpired, EmailTokenInvalid, WeakPassword
from control_plane.accounts.routes.recovery import LINK_PER_IP, TOKEN, EmailTokensDep
from control_plane.core.errors import ProblemError, RateLimited
from control_plane.http.clientip import client_ip
from control_plane.http.deps import ServicesDep
from control_plane.http.htmlpage import Html, html, page
from control_plane.http.openapi import problems

__all__ = ["router", "FormRequired"]

router = APIRouter(tags=["pages"])

_TOKEN = TypeAdapter(Annotated[str, TOKEN])
FORM = "application/x-www-form-urlencoded"
#: A form of ours has at most three fields; more is not a browser posting it.
MAX_FIELDS = 8


class FormRequired(ProblemError):
    status, code, title = 415, "FORM_REQUIRED", "An HTML form post is required"


def _html(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {"text/html": {}}, "description": "An HTML page."} for status in statuses}


#: What a form route answers: pages (an incomplete link is 404, a spent or expired one 403, a
#: refused password 422), and problem+json to a client that posts no form.
_FORM_RESPONSES = {**_html(403, 404, 422, 429), **problems(415, s415="The body is not an HTML form.")}


def _form_body(*fields: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {f: {"type": "string"} for f in fields},
        "required": list(fields),
        "additionalProperties": {"type": "string"},
        "maxProperties": MAX_FIELDS,
    }
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (the first value of each name). Raises FormRequired for any other
    body, or one that is not UTF-8 once decoded."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != FORM:
        raise FormRequired(f"Post this as an HTML form ({FORM}).")
    try:
        pairs = parse_qsl(
            (await request.body()).decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRequired(f"The form could not be read: post it as {FORM} in UTF-8.") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def _good_token(token: str | None) -> str | None:
    """The token if it has the shape of a mailed token, else None (no lookup either way)."""
    if token is None:
        return None
    try:
        return _TOKEN.validate_python(token)
    except ValidationError:
        return None


def _incomplete() -> HTMLResponse:
    body = html(
        "<p class=problem>This link is incomplete. Open the whole link from the mail; if your mail "
        "program broke it over two lines, copy both parts into the address bar.</p>"
    )
    return page("Incomplete link", body, status=404)


def _refused(title: str, exc: ProblemError) -> HTMLResponse:
    """A page with the error's own words, status and headers (a rate limit's Retry-After)."""
    return page(
        title, html("<p class=problem>$detail</p>", detail=exc.detail), status=exc.status, headers=exc.headers
    )


@router.get("/verify-email", response_class=HTMLResponse, responses=_html(404))
def verify_email_page(token: str | None = None) -> HTMLResponse:
    """The page of a mailed verification link: one button that posts the token. Changes nothing."""
    good = _good_token(token)
    if good is None:
        return _incomplete()
    body = html(
        '<p>Confirm that this is your email address.</p>\n<form method="post" action="verify-email">'
        '<input type="hidden" name="token" value="$token"><button type="submit">Confirm my address</button>'
        "</form>",
        token=good,
    )
    return page("Confirm your email address", body)


@router.post(
    "/verify-email", response_class=HTMLResponse, responses=_FORM_RESPONSES, openapi_extra=_form_body("token")
)
def verify_email_form(
    fields: FormDep, request: Request, services: ServicesDep, tokens: EmailTokensDep
) -> HTMLResponse:
    """Spend a verification token posted by the page's form; answers a page saying how it went."""
    token = _good_token(fields.get("token"))
    if token is None:
        return _incomplete()
    ip = client_ip(request, services.settings.trusted_proxies)
    try:
        services.limiter.hit(LINK_PER_IP, ip)
        tokens.verify_email(token, ip=ip)
    except (EmailTokenInvalid, EmailTokenExpired, RateLimited) as exc:
        return _refused("Your address is not confirmed", exc)
    return page("Address confirmed", html("<p>Thank you: your email address is confirmed.</p>"))


_RESET_FORM = """$problem<form method="post" action="reset-password">
<input type="hidden" name="token" value="$token">
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required
 minlength="$min" maxlength="$max" autofocus>
<label for="repeat_password">The same password again</label>
<input id="repeat_password" name="repeat_password" type="password" autocomplete="new-password" required
 minlength="$min" maxlength="$max">
<button type="submit">Set the new password</button>
</form>
<p>Every session of your account ends: you sign in again with the new password.</p>"""


def _reset_form(
    services: ServicesDep, token: str, problem: str | None = None, status: int = 200
) -> HTMLResponse:
    """The new-password form; ``problem`` is why the last try was refused. Never shows a password."""
    policy = services.accounts.policy
    body = html(
        _RESET_FORM,
        problem=html("<p class=problem>$p</p>\n", p=problem) if problem else Html(""),
        token=token,
        min=policy.min_length,
        max=policy.max_length,
    )
    return page("Choose a new password", body, status=status)


@router.get("/reset-password", response_class=HTMLResponse, responses=_html(404))
def reset_password_page(services: ServicesDep, token: str | None = None) -> HTMLResponse:
    """The page of a mailed password reset link: a form for the new password. Changes nothing."""
    good = _good_token(token)
    return _incomplete() if good is None else _reset_form(services, good)


@router.post(
    "/reset-password",
    response_class=HTMLResponse,
    responses=_FORM_RESPONSES,
    openapi_extra=_form_body("token", "new_password", "repeat_password"),
)
def reset_password_form(
    fields: FormDep, request: Request, services: ServicesDep, tokens: EmailTokensDep
) -> HTMLResponse:
    """Check the two passwords match, then spend the reset token and set the password (the policy's
    refusal shows the form again with the reason, and the link stays good)."""
    token = _good_token(fields.get("token"))
    if token is None:
        return _incomplete()
    password = fields.get("new_password", "")
    if password != fields.get("repeat_password", ""):
        return _reset_form(services, token, "The two passwords differ; type the same one twice.", 422)
    ip = client_ip(request, services.settings.trusted_proxies)
    try:
        services.limiter.hit(LINK_PER_IP, ip)
        tokens.confirm_reset(token, password, ip=ip)
    except WeakPassword as exc:
        return _reset_form(services, token, exc.detail, exc.status)
    except (EmailTokenInvalid, EmailTokenExpired, RateLimited) as exc:
        return _refused("Your password is unchanged", exc)
    body = html(
        "<p>Your new password is set, and every session of your account has ended: sign in again "
        "with the new password.</p>"
    )
    return page("Password changed", body)
