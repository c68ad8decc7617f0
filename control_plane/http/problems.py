"""The one mapping of errors to RFC 9457 problem+json: every ``SocialFlowError`` of any package
in its own wire form, framework errors (404, 405, validation) in the same shape, anything else as
a 500 that says nothing of its cause."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from storage.errors import SocialFlowError

__all__ = ["PROBLEM_JSON", "problem_response", "install_error_handlers", "allowed_methods"]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://socialflow.dev/problems/"

log = logging.getLogger(__name__)


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


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header for a 405 on this path: the methods of every route that matches it.

    Starlette names only the first matching route's methods, though one path may have several
    routes (``GET`` and ``POST`` of ``/api/v1/contentid/references`` are two).
    """
    path = request.scope["path"]
    methods = {
        method
        for route in getattr(request.app.state, "api_routes", ())
        if route.path_regex.match(path)
        for method in route.methods
    }
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json in one place: a ``SocialFlowError`` of any package in its
    own wire form, anything else as a 500 that says nothing of its cause."""

    async def handle_any(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, SocialFlowError) or not 400 <= exc.status <= 599:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return problem_response(
                500,
                "INTERNAL_ERROR",
                "Internal server error",
                "An unexpected error occurred.",
                instance=request.url.path,
            )
        if exc.status >= 500:
            # An answer that says when to come back (a stream not live yet) is expected, not a fault.
            expected = "Retry-After" in (exc.headers or {})
            log.log(
                logging.INFO if expected else logging.ERROR,
                "%s on %s %s: %s",
                exc.code,
                request.method,
                request.url.path,
                exc,
            )
        return problem_response(
            exc.status, exc.code, exc.summary, exc.detail, instance=request.url.path, headers=exc.headers
        )

    async def handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"{request.method} is not allowed here; this path answers {headers['Allow']}."
        return problem_response(
            exc.status_code, code, title, detail, instance=request.url.path, headers=headers or None
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
    app.add_exception_handler(SocialFlowError, handle_any)
    app.add_exception_handler(Exception, handle_any)
