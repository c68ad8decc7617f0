"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from control_plane.http.deps import ServicesDep
from control_plane.http.openapi import answers, problems
from control_plane.http.problems import problem_response

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0  # seconds per dependency


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving. Says nothing about its dependencies."""
    return {"status": "ok"}


async def _check(name: str, fn: Callable[[], None]) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(asyncio.to_thread(fn), timeout=CHECK_TIMEOUT)
        return name, None
    except TimeoutError:
        return name, f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        return name, f"{type(exc).__name__}: {exc}"[:300]


@router.get("/readyz", responses=problems(503, s503="A dependency does not answer; ``checks`` says which"))
async def readyz(services: ServicesDep) -> Response:
    """200 when the database, broker, storage (and Redis, if configured) all answer; else 503."""
    checks = [
        _check("database", services.db.ping),
        _check("broker", services.jobs.ping),
        _check("storage", services.store.ping),
    ]
    if services.settings.redis_url:
        checks.append(_check("redis", services.kv.ping))
    results = dict(await asyncio.gather(*checks))
    body = {name: ("ok" if err is None else err) for name, err in results.items()}
    failed = [name for name, err in results.items() if err is not None]
    if failed:
        log.warning("not ready: %s", ", ".join(f"{n}: {results[n]}" for n in failed))
        return problem_response(
            503,
            "NOT_READY",
            "Not ready",
            f"unreachable: {', '.join(failed)}",
            instance="/readyz",
            extra={"checks": body},
        )
    return JSONResponse({"status": "ready", "checks": body})


@router.get(
    "/metrics", response_class=Response, responses=answers(200, "text/plain", description="Prometheus text")
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
