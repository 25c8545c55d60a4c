"""Sign-in that survives a reload: a signed, HttpOnly, SameSite=Strict cookie set by serve.py's route from a
one-time code, refused when forged, cleared (and its session ended) on sign-out."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlmodel import Session
from starlette.requests import Request

from app_pages import _cookie
from tests.apprunner import running_app
from tracker.accounts import auth

PASSWORD = "correct horse battery"
CHROMIUM = Path("/usr/bin/chromium")


def _request(path: str, query: str = "", cookie: str | None = None, scheme: str = "http",
             forwarded: str | None = None) -> Request:
    headers = [(b"host", b"tracker.example")]
    if cookie:
        headers.append((b"cookie", f"{_cookie.COOKIE}={cookie}".encode()))
    if forwarded:
        headers.append((b"x-forwarded-proto", forwarded.encode()))
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                    "headers": headers, "scheme": scheme, "server": ("tracker.example", 80)})


def _set_cookie_header(response) -> str:
    return "; ".join(v.decode() for k, v in response.raw_headers if k == b"set-cookie")


def test_cookie_signature_is_checked_before_any_lookup():
    value = auth.sign_cookie("some-token")
    assert auth.cookie_token(value) == "some-token"
    for forged in ("some-token", "other-token." + value.split(".")[1], value + "x", "", None, "a.b.c"):
        assert auth.cookie_token(forged) is None


def test_a_handoff_code_works_once():
    code = auth.cookie_handoff("the-session-token")
    assert auth.redeem_cookie_handoff(code) == "the-session-token"
    assert auth.redeem_cookie_handoff(code) is None
    assert auth.redeem_cookie_handoff("guessed") is None


def test_the_session_route_sets_an_httponly_strict_cookie_and_redirects_only_on_site():
    code = auth.cookie_handoff("tok123")
    response = asyncio.run(_cookie.set_session_cookie(_request(_cookie.SESSION_PATH, f"code={code}&next=/submit")))
    header = _set_cookie_header(response)
    assert response.status_code == 303 and response.headers["location"] == "/submit"
    assert f"{_cookie.COOKIE}={auth.sign_cookie('tok123')}" in header
    assert "HttpOnly" in header and "SameSite=strict" in header and "Secure" not in header
    # A used code sets nothing; off-site targets fall back to the sign-in page (no open redirect).
    again = asyncio.run(_cookie.set_session_cookie(_request(_cookie.SESSION_PATH, f"code={code}")))
    assert _set_cookie_header(again) == ""
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = asyncio.run(_cookie.set_session_cookie(_request(_cookie.SESSION_PATH, f"next={target}")))
        assert response.headers["location"] == _cookie.DEFAULT_NEXT
    behind_proxy = asyncio.run(_cookie.set_session_cookie(
        _request(_cookie.SESSION_PATH, f"code={auth.cookie_handoff('t2')}", forwarded="https")))
    assert "Secure" in _set_cookie_header(behind_proxy)


def test_the_sign_out_route_ends_the_session_and_clears_the_cookie(engine, use_database):
    use_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        user = auth.create_user(session, auth.command_line_actor(), "rev1", "reviewer", password=PASSWORD)
        token = auth.start_session(session, user)
        session.commit()
    response = asyncio.run(_cookie.clear_session_cookie(
        _request(_cookie.SIGNOUT_PATH, cookie=auth.sign_cookie(token))))
    header = _set_cookie_header(response)
    assert response.status_code == 303 and f'{_cookie.COOKIE}=""' in header and "Max-Age=0" in header
    with Session(engine) as session:
        assert auth.user_for_token(session, token) is None


@pytest.mark.browser
def test_a_signed_in_browser_stays_signed_in_after_a_reload_and_signs_out(engine, use_database, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("TRACKER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and TRACKER_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect, sync_playwright

    url = use_database(engine)
    with Session(engine) as session:
        auth.create_user(session, auth.command_line_actor(), "rev1", "reviewer", password=PASSWORD,
                         email="rev1@tracker.example")
        session.commit()
    with running_app(url, tmp_path / "raw", script="serve.py") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(base + "/login")
            page.get_by_label("User name or e-mail").fill("REV1@tracker.example")
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
            page.wait_for_url("**/login", timeout=30_000)
            cookies: dict = {}
            for _ in range(60):  # the sign-in form sends the browser through /_session/start once
                cookies = {c["name"]: c for c in page.context.cookies()}
                if _cookie.COOKIE in cookies:
                    break
                page.wait_for_timeout(500)
            assert cookies[_cookie.COOKIE]["httpOnly"] and cookies[_cookie.COOKIE]["sameSite"] == "Strict"
            assert _cookie.COOKIE not in page.evaluate("document.cookie"), "scripts can read the cookie"
            page.reload()
            expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
            page.goto(base + "/review")
            expect(page.get_by_role("heading", name="Review workbench")).to_be_visible(timeout=30_000)
            page.goto(base + "/login")
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=30_000)
            assert _cookie.COOKIE not in {c["name"] for c in page.context.cookies()}
            page.reload()
            expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible(timeout=30_000)
        finally:
            browser.close()
