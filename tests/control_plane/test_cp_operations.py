"""Operations endpoints and jobs on the embedded default: health, readiness, metrics, the canary."""

from __future__ import annotations

import os

from support.platform import Platform


def test_healthz_readyz_metrics(platform: Platform) -> None:
    assert platform.client.get("/healthz").json() == {"status": "ok"}
    ready = platform.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
    metrics = platform.client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'socialflow_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text


def test_readyz_names_what_is_down(platform: Platform) -> None:
    platform.services.db.engine.dispose()
    platform.services.db.url = "broken"
    import sqlalchemy as sa

    platform.services.db.engine = sa.create_engine("sqlite:////nonexistent/dir/x.db")
    r = platform.client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "NOT_READY" and "database" in body["detail"]
    assert body["checks"]["storage"] == "ok" and body["checks"]["database"] != "ok"


def test_unknown_route_and_openapi(platform: Platform) -> None:
    r = platform.client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert r.headers["content-type"].startswith("application/problem+json")
    paths = platform.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/users/me",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/jobs/{job_id}",
    ):
        assert path in paths
    assert platform.client.get("/docs").status_code == 200


def test_canary_job_runs_in_process_and_reports_its_state(platform: Platform) -> None:
    admin = platform.user("root", role="admin")
    r = platform.client.post("/api/v1/ops/canary", headers=admin)
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "canary"
    job = platform.wait_job(r.json()["id"], admin)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1 and job["error"] is None
    assert job["result"]["bytes"] == 64 * 1024 and len(job["result"]["sha256"]) == 64
    assert job["worker"].split(":")[1] == str(os.getpid())  # embedded: this process (host:pid:token)
    assert job["started_at"] <= job["finished_at"]
    assert list(platform.services.store.list("ops/")) == []  # the canary cleans up
    metrics = platform.client.get("/metrics").text
    assert 'socialflow_jobs_total{kind="canary",outcome="succeeded"}' in metrics


def test_canary_needs_admin_and_jobs_are_private(platform: Platform) -> None:
    creator = platform.user("maker")
    r = platform.client.post("/api/v1/ops/canary", headers=creator)
    assert r.status_code == 403 and r.json()["code"] == "ROLE_REQUIRED"
    assert platform.client.post("/api/v1/ops/canary").status_code == 401
    admin = platform.user("boss", role="admin")
    job_id = platform.client.post("/api/v1/ops/canary", headers=admin).json()["id"]
    assert platform.client.get(f"/api/v1/jobs/{job_id}", headers=creator).status_code == 404
    assert platform.client.get(f"/api/v1/jobs/{job_id}", headers=admin).status_code == 200
    assert platform.client.get("/api/v1/jobs/" + "0" * 32, headers=admin).json()["code"] == "JOB_NOT_FOUND"
