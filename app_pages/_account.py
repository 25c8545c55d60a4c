"""Who is signed in to this browser session, and which account pages they may see (Streamlit side only).

The session token lives in `st.session_state` for this browser tab and, when the app runs under serve.py, in the
signed HttpOnly cookie (app_pages/_cookie.py) that survives a reload; `tracker.accounts.auth.user_for_token`
decides on every run whether it is still valid (expiry, sign-out, lock), so an expired session stops working at
the next click. Permission checks themselves happen in tracker/ (every call takes the user); this module only
finds the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app_pages import _cookie
from tracker.accounts import auth
from tracker.core.config import get_settings
from tracker.core.work import read_only

if TYPE_CHECKING:
    from sqlmodel import Session

    from tracker.store.models import User

TOKEN_KEY = "auth_token"

# (file, title, icon, url path, roles that see it; None = everyone)
ACCOUNT_PAGES: list[tuple[str, str, str, str, tuple[str, ...] | None]] = [
    ("app_pages/submit.py", "Submit a self-report", ":material/edit_note:", "submit", ("representative",)),
    ("app_pages/review.py", "Review queue", ":material/rule:", "review", ("reviewer", "admin")),
    ("app_pages/audit.py", "Audit log", ":material/history:", "audit", ("admin",)),
    ("app_pages/submission.py", "Company submissions", ":material/assignment:", "submission", None),
    ("app_pages/login.py", "Sign in", ":material/login:", "login", None),
]


def page_files_for(role: str | None) -> list[str]:
    """The account pages a role may open (None: not signed in)."""
    return [file for file, _t, _i, _u, roles in ACCOUNT_PAGES if roles is None or (role is not None and role in roles)]


def cookie_token() -> str | None:
    """The session token in the browser's sign-in cookie, if its signature holds (sent with the page request)."""
    try:
        value = st.context.cookies.get(_cookie.COOKIE)
    except (AttributeError, RuntimeError):  # no request context (a bare script run)
        return None
    return auth.cookie_token(value)


def session_token() -> str | None:
    """This tab's token, else the cookie's."""
    return st.session_state.get(TOKEN_KEY) or cookie_token()


def current_user(session: Session) -> User | None:
    """The signed-in user for this browser session, or None (an expired or revoked token is dropped)."""
    token = st.session_state.get(TOKEN_KEY)
    user = auth.user_for_token(session, token)
    if user is None and token:
        del st.session_state[TOKEN_KEY]
    if user is None:
        user = auth.user_for_token(session, cookie_token())
    if user is None and get_settings().oidc_login and st.user.is_logged_in:
        user = auth.user_for_email(session, st.user.get("email"))
    if user is not None:
        session.expunge(user)  # a detached copy: pages read it after their session closed
    return user


def signed_in_user() -> User | None:
    return read_only(current_user)


def account_pages() -> list:
    """st.Page objects for the Accounts section of the navigation, filtered by the signed-in role."""
    user = signed_in_user()
    files = set(page_files_for(user.role if user else None))
    return [
        st.Page(file, title="Account" if file == "app_pages/login.py" and user else title, icon=icon, url_path=url)
        for file, title, icon, url, _roles in ACCOUNT_PAGES if file in files
    ]


def require_user(*roles: str) -> User:
    """The signed-in user with one of `roles`, else a message and the page stops (tracker/ checks again)."""
    user = signed_in_user()
    if user is None:
        st.info("Sign in first (Accounts → Sign in).")
        st.stop()
    if roles and user.role not in roles:
        st.warning(f"This page is for {' and '.join(r + 's' for r in roles)}; you are signed in as a {user.role}.")
        st.stop()
    return user
