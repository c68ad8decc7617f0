"""TOTP second factor: enrolment, sign-in with a code or a recovery code, replay refused, step-up."""

from __future__ import annotations

import time

import pyotp
from support.platform import Platform

PW = "correct horse battery"


def login(platform: Platform, **extra: str):
    return platform.client.post("/api/v1/auth/login", json={"username": "tess", "password": PW, **extra})


def fresh_code(secret: str, used: set[str]) -> str:
    """A code of a time step not used yet (the server refuses a replayed step)."""
    totp = pyotp.TOTP(secret)
    while (code := totp.now()) in used:
        time.sleep(0.5)
    used.add(code)
    return code


def test_totp_enrolment_sign_in_recovery_and_step_up(platform: Platform) -> None:
    headers = platform.user("tess", password=PW)
    setup = platform.client.post("/api/v1/auth/2fa/totp/setup", headers=headers).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/Social%20Flow:tess?secret=")
    secret, used = setup["secret"], set()
    # Not on until confirmed: sign-in needs no code yet.
    assert login(platform).status_code == 200
    r = platform.client.post("/api/v1/auth/2fa/totp/enable", headers=headers, json={"code": "000000"})
    assert r.status_code == 401 and r.json()["code"] == "INVALID_OTP"
    code = fresh_code(secret, used)
    codes = platform.client.post("/api/v1/auth/2fa/totp/enable", headers=headers, json={"code": code}).json()[
        "recovery_codes"
    ]
    assert len(codes) == 10 and len(set(codes)) == 10

    r = login(platform)
    assert r.status_code == 401 and r.json()["code"] == "OTP_REQUIRED"
    assert login(platform, otp="123456").json()["code"] == "INVALID_OTP"
    assert login(platform, otp=code).json()["code"] == "INVALID_OTP"  # the enrolment code cannot be replayed
    # The next time step's code (the server allows one step of clock drift either way), so the
    # test need not wait up to 30 s for a fresh code.
    ahead = pyotp.TOTP(secret).at(time.time() + 30)
    assert ahead not in used
    r = login(platform, otp=ahead)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert login(platform, recovery_code=codes[0]).status_code == 200
    assert login(platform, recovery_code=codes[0]).json()["code"] == "INVALID_OTP"  # single use

    # Step-up: changing the password needs the second factor again, and ends other sessions.
    auth = {"Authorization": f"Bearer {token}"}
    r = platform.client.post(
        "/api/v1/users/me/password",
        headers=auth,
        json={"current_password": PW, "new_password": "another long phrase"},
    )
    assert r.status_code == 401 and r.json()["code"] == "OTP_REQUIRED"
    r = platform.client.post(
        "/api/v1/users/me/password",
        headers=auth,
        json={"current_password": PW, "new_password": "another long phrase", "recovery_code": codes[1]},
    )
    assert r.status_code == 204
    assert platform.client.get("/api/v1/users/me", headers=headers).status_code == 401  # other session ended
    assert platform.client.get("/api/v1/users/me", headers=auth).status_code == 200

    r = platform.client.post(
        "/api/v1/auth/2fa/totp/disable",
        headers=auth,
        json={"password": "another long phrase", "recovery_code": codes[2]},
    )
    assert r.status_code == 204
    assert (
        platform.client.post(
            "/api/v1/auth/login", json={"username": "tess", "password": "another long phrase"}
        ).status_code
        == 200
    )
    admin = platform.user("sec", role="admin")
    kinds = {e["kind"] for e in platform.client.get("/api/v1/admin/audit", headers=admin).json()}
    assert {"2fa.enabled", "otp.failed", "recovery_code.used", "password.changed", "2fa.disabled"} <= kinds


def test_a_recovery_code_raced_by_many_sign_ins_opens_one(platform: Platform) -> None:
    """Sign-ins that present the same recovery code at once: exactly one gets in."""
    from concurrent.futures import ThreadPoolExecutor

    headers = platform.user("tess", password=PW)
    secret = platform.client.post("/api/v1/auth/2fa/totp/setup", headers=headers).json()["secret"]
    codes = platform.client.post(
        "/api/v1/auth/2fa/totp/enable", headers=headers, json={"code": pyotp.TOTP(secret).now()}
    ).json()["recovery_codes"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: login(platform, recovery_code=codes[0]).status_code, range(8)))
    assert sorted(answers) == [200] + [401] * 7
