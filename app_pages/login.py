"""Sign in, sign out, and accept an invitation (a one-time link `login?invite=TOKEN` sent by an admin).

Under serve.py a sign-in also sets the HttpOnly cookie (app_pages/_cookie.py): the page sends the browser once
through the cookie route with a one-time code, and sign-out goes through the route that clears it.
"""

import json

import streamlit as st

from app_pages import _cookie
from app_pages._account import TOKEN_KEY, session_token, signed_in_user
from tracker.accounts import auth
from tracker.core.config import get_settings
from tracker.core.errors import TrackerError
from tracker.core.work import perform

HANDOFF_KEY = "_cookie_handoff"


def remember(token: str) -> None:
    """Keep the token for this tab and, when the cookie routes exist, have the browser fetch the cookie."""
    st.session_state[TOKEN_KEY] = token
    if _cookie.installed():
        st.session_state[HANDOFF_KEY] = auth.cookie_handoff(token)


def go_to(url: str, label: str) -> None:
    """Send the browser to one of the cookie routes (same site); a link in case scripts are blocked."""
    st.html(f"<script>window.top.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)
    st.link_button(label, url)


user = signed_in_user()
invite = st.query_params.get("invite")

if user is not None:
    st.title("Account")
    company = f" for {user.company_id}" if user.company_id else ""
    st.write(f"Signed in as **{user.username}** ({user.role}{company}).")
    handoff = st.session_state.pop(HANDOFF_KEY, None)
    if handoff:
        go_to(_cookie.session_url(handoff), "Stay signed in on this browser")
    elif not _cookie.installed():
        st.caption("You stay signed in while this browser tab is open (started without serve.py, so no sign-in "
                   "cookie is set).")
    if st.button("Sign out", key="sign_out"):
        perform(auth.end_session, session_token())
        st.session_state.pop(TOKEN_KEY, None)
        if get_settings().oidc_login and st.user.is_logged_in:
            st.logout()
        if _cookie.installed():
            go_to(_cookie.signout_url(), "Finish signing out")
            st.stop()
        st.rerun()
elif invite:
    st.title("Set your password")
    st.caption("Your invitation link works once. Choose a password of at least "
               f"{auth.MIN_PASSWORD_LENGTH} characters.")
    with st.form("accept_invitation"):
        password = st.text_input("New password", type="password")
        repeat = st.text_input("Repeat the password", type="password")
        accepted = st.form_submit_button("Set password and sign in")
    if accepted:
        if password != repeat:
            st.error("The two passwords differ.")
        else:
            try:
                remember(perform(auth.accept_invitation_and_sign_in, invite, password))
            except TrackerError as exc:
                st.error(str(exc))
            else:
                st.query_params.clear()
                st.rerun()
else:
    st.title("Sign in")
    st.caption("Accounts are for company representatives, reviewers and admins. Reading the tracker needs none.")
    with st.form("sign_in"):
        username = st.text_input("User name or e-mail")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            remember(perform(auth.login, username, password))
        except TrackerError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if get_settings().oidc_login:
        st.divider()
        if st.button("Sign in with single sign-on", key="sso"):
            st.login()
