"""The control plane's error tree and its one mapping to RFC 9457 problem+json.

Every error a route can raise knows its wire form: a stable ``code`` and an HTTP ``status``.
Errors of other packages (storage, pipelines) follow the same shape and are rendered by the same
handler, so routes never build error responses by hand.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

__all__ = [
    "ProblemError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "problem_response",
    "install_error_handlers",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://socialflow.dev/problems/"

log = logging.getLogger(__name__)


class ProblemError(Exception):
    """Base of the tree. Subclasses set ``status``, ``code`` and ``title``; ``detail`` is per raise."""

    status = 500
    code = "INTERNAL_ERROR"
    title = "Internal server error"

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.headers = headers or {}


class BadRequest(ProblemError):
    status, code, title = 400, "BAD_REQUEST", "Bad request"


class Unauthorized(ProblemError):
    status, code, title = 401, "UNAUTHORIZED", "Authentication required"

    def __init__(self, detail: str | None = None, *, code: str | None = None):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    status, code, title = 403, "FORBIDDEN", "Not allowed"


class NotFound(ProblemError):
    status, code, title = 404, "NOT_FOUND", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "CONFLICT", "Conflict"


class PayloadTooLarge(ProblemError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class RateLimited(ProblemError):
    status, code, title = 429, "RATE_LIMITED", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"


_HTTP_CODES = {
    400: ("BAD_REQUEST", "Bad request"),
    401: ("UNAUTHORIZED", "Authentication required"),
    403: ("FORBIDDEN", "Not allowed"),
    404: ("NOT_FOUND", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    413: ("PAYLOAD_TOO_LARGE", "Request body too large"),
}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _wire_form(exc: Exception) -> tuple[int, str, str] | None:
    """(status, code, title) for any exception that carries a wire form, else None."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if isinstance(status, int) and isinstance(code, str) and 400 <= status <= 599:
        title = getattr(exc, "title", None) or code.replace("_", " ").capitalize()
        return status, code, str(title)
    return None


def install_error_handlers(app: FastAPI, extra_error_bases: tuple[type[Exception], ...] = ()) -> None:
    """Map every error to problem+json in one place.

    ``extra_error_bases`` are other packages' error roots (storage, pipelines) whose members carry
    ``status`` and ``code``; they are rendered exactly like ProblemError.
    """

    async def handle_any(request: Request, exc: Exception) -> JSONResponse:
        form = _wire_form(exc)
        if form is None:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return problem_response(
                500,
                "INTERNAL_ERROR",
                "Internal server error",
                "An unexpected error occurred.",
                instance=request.url.path,
            )
        status, code, title = form
        if status >= 500:
            log.error("%s on %s %s: %s", code, request.method, request.url.path, exc)
        detail = getattr(exc, "detail", None) or str(exc) or title
        headers = getattr(exc, "headers", None)
        return problem_response(status, code, title, str(detail), instance=request.url.path, headers=headers)

    async def handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code,
            code,
            title,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    async def handle_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"][1:]) or "body"
        return problem_response(
            422,
            "VALIDATION_FAILED",
            "Request validation failed",
            f"{where}: {first['msg']}",
            instance=request.url.path,
            extra={"errors": errors},
        )

    async def handle_disconnect(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # Nobody is left to read this answer; what arrived before the break is already kept.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return problem_response(
            400, "CLIENT_DISCONNECTED", "Client disconnected", "The request body was cut off."
        )

    app.add_exception_handler(ClientDisconnect, handle_disconnect)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, handle_http)  # type: ignore[arg-type]
    bases: tuple[type[Exception], ...] = (ProblemError, *extra_error_bases)
    for base in bases:
        app.add_exception_handler(base, handle_any)
    app.add_exception_handler(Exception, handle_any)
