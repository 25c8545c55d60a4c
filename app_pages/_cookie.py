"""The sign-in cookie: HttpOnly, signed, set and cleared by two small HTTP routes next to the Streamlit app.

Streamlit talks to the browser over a websocket, which cannot set cookies, and JavaScript (a component,
`st.html`) cannot set an HttpOnly one. So `serve.py` runs the app as `st.App` (public API since Streamlit
1.5x) with two routes: `SESSION_PATH` exchanges a one-time code from the sign-in form for the cookie, and
`SIGNOUT_PATH` ends the session and clears it. The cookie is HttpOnly (no script can read it), SameSite=Strict,
Secure when served over https (directly or behind a proxy that sets X-Forwarded-Proto), and signed
(`tracker.accounts.auth.sign_cookie`); its token is checked against the database on every run.

Started the old way (`streamlit run app.py`) the routes do not exist: sign-in then lasts for the browser tab's
session only, as before, and the pages say so.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from tracker.accounts import auth
from tracker.core.config import get_settings
from tracker.core.work import perform

COOKIE = "tracker_session"
SESSION_PATH = "/_session/start"
SIGNOUT_PATH = "/_session/end"
DEFAULT_NEXT = "/login"
_installed = False


def routes() -> list[Route]:
    """The two cookie routes, for `st.App(..., routes=routes())`; from then on pages use the cookie."""
    global _installed
    _installed = True
    return [Route(SESSION_PATH, set_session_cookie, methods=["GET"]),
            Route(SIGNOUT_PATH, clear_session_cookie, methods=["GET"])]


def installed() -> bool:
    """True when the app runs under serve.py, i.e. the cookie routes exist."""
    return _installed


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never an absolute URL, `//host` or a backslash trick (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(
            ord(c) < 32 for c in value):
        return DEFAULT_NEXT
    return value


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _redirect(request: Request) -> RedirectResponse:
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the one-time code must not travel on
    return response


async def set_session_cookie(request: Request) -> RedirectResponse:
    """GET SESSION_PATH?code=...&next=/path: set the cookie for the session the code stands for, then go on."""
    response = _redirect(request)
    token = auth.redeem_cookie_handoff(request.query_params.get("code"))
    if token is not None:
        response.set_cookie(COOKIE, auth.sign_cookie(token), max_age=int(get_settings().session_hours * 3600),
                            path="/", httponly=True, samesite="strict", secure=_https(request))
    return response


async def clear_session_cookie(request: Request) -> RedirectResponse:
    """GET SIGNOUT_PATH: end the cookie's session in the database and delete the cookie."""
    token = auth.cookie_token(request.cookies.get(COOKIE))
    if token is not None:
        await run_in_threadpool(perform, auth.end_session, token)
    response = _redirect(request)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_https(request))
    return response


def session_url(code: str, next_path: str = DEFAULT_NEXT) -> str:
    return f"{SESSION_PATH}?{urlencode({'code': code, 'next': next_path})}"


def signout_url(next_path: str = DEFAULT_NEXT) -> str:
    return f"{SIGNOUT_PATH}?{urlencode({'next': next_path})}"
