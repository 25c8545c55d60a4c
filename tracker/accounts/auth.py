"""Accounts, sign-in and sessions: the only place that decides who someone is and what role they have.

Roles: `representative` (bound to one company: submits self-reports for it), `reviewer` (decides on
submissions), `admin` (manages accounts, reads the audit log, and may review). Passwords are hashed with
argon2; session and invitation tokens are random and only their sha256 is stored, so a copy of the database
cannot be used to sign in. After `MAX_FAILED_LOGINS` wrong passwords an account is locked for
`LOCK_MINUTES`; while locked even the right password is refused, and its sessions do not work. Every sign-in
failure gives the same message, so the form does not tell whether a user name exists, and is audited.

Sign-in takes a user name or an e-mail address (stored lower-case, one account per address). Failures are
counted in the database in one UPDATE, so parallel guesses cannot overwrite each other's count; at most
`MAX_PASSWORD_CHECKS` argon2 computations (64 MiB each) run at once in a process, so a burst of sign-ins
queues instead of exhausting memory. A password reset or an admin lock ends every session of the account.

The command line acts as `command_line_actor()`: an in-memory admin that is never stored (whoever can run the
CLI already has the database). Pages must pass the signed-in user, never build an actor themselves.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from tracker.accounts.audit import record, snapshot
from tracker.core.config import get_settings
from tracker.core.errors import NotFoundError, PermissionDenied, TrackerError, ValidationError
from tracker.store import models as m

ROLES = ("representative", "reviewer", "admin")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
INVITATION_HOURS = 72
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_CHECKS = 4  # argon2 computations at once per process (each takes 64 MiB)
LOGIN_FAILED_MESSAGE = (
    "Sign-in failed: wrong user name or password, or the account is locked for a while after repeated "
    "failures. Try again later, or ask an admin."
)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,119}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
_password_checks = threading.BoundedSemaphore(MAX_PASSWORD_CHECKS)
# Verified against when the user does not exist, so a missing user costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class LoginFailed(TrackerError):
    """Sign-in refused; the message is the same whatever the cause (see LOGIN_FAILED_MESSAGE)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    check_password_strength(password)
    with _password_checks:
        return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise ValidationError("the password must not start or end with spaces")


def _verify(stored_hash: str | None, password: str) -> bool:
    """One argon2 check, waiting for a free slot (`MAX_PASSWORD_CHECKS`) so memory stays bounded."""
    with _password_checks:
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def normalize_email(email: str | None) -> str | None:
    """E-mail addresses are compared and stored lower-case and trimmed; empty means none."""
    email = (email or "").strip().lower()
    return email or None


def command_line_actor() -> m.User:
    """The operator at the command line, as an admin that exists only in memory (id None, never stored)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return m.User(username=f"cli:{login}", role="admin", display_name="command line")


def require_role(actor: m.User | None, *roles: str, doing: str) -> m.User:
    """The actor, if signed in with one of `roles`; else PermissionDenied naming what was refused."""
    if actor is None:
        raise PermissionDenied(f"sign in to {doing}")
    if not actor.active:
        raise PermissionDenied(f"the account '{actor.username}' is disabled")
    if actor.locked_until is not None and actor.locked_until > now_utc():
        raise PermissionDenied(f"the account '{actor.username}' is locked after repeated failed sign-ins until "
                               f"{actor.locked_until:%Y-%m-%d %H:%M} UTC")
    if actor.role not in roles:
        raise PermissionDenied(f"a {actor.role} may not {doing} (needs: {' or '.join(roles)})")
    return actor


# ---------------------------------------------------------------------------------------------- accounts


def get_user(session: Session, username: str) -> m.User:
    user = session.exec(select(m.User).where(m.User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user named '{username}'; see `python -m tracker user list`")
    return user


def _check_role_and_company(session: Session, role: str, company_id: str | None) -> None:
    if role not in ROLES:
        raise ValidationError(f"unknown role '{role}'; use one of {', '.join(ROLES)}")
    if role == "representative":
        if not company_id:
            raise ValidationError("a representative must be bound to a company (--company COMPANY_ID)")
        if session.get(m.Company, company_id) is None:
            raise NotFoundError(f"unknown company '{company_id}'; see data/companies.yaml for company ids")
    elif company_id:
        raise ValidationError(f"only representatives are bound to a company, not a {role}")


def create_user(
    session: Session,
    actor: m.User | None,
    username: str,
    role: str,
    *,
    password: str | None = None,
    company_id: str | None = None,
    email: str | None = None,
    display_name: str = "",
) -> m.User:
    """Add an account (admins only). Without a password the account cannot sign in until invited."""
    require_role(actor, "admin", doing="add accounts")
    if not USERNAME.match(username):
        raise ValidationError(
            f"user name {username!r} is not allowed: 2-120 letters, digits or . _ @ + -, starting with a letter or digit"
        )
    email = normalize_email(email)
    if email is not None and not EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an e-mail address")
    _check_role_and_company(session, role, company_id)
    if session.exec(select(m.User).where(m.User.username == username)).first() is not None:
        raise ValidationError(f"a user named '{username}' already exists")
    _check_names_free(session, username, email)
    user = m.User(
        username=username, role=role, company_id=company_id, email=email, display_name=display_name,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, after=snapshot(user))
    return user


def _check_names_free(session: Session, username: str, email: str | None) -> None:
    """Sign-in takes a user name or an e-mail, so neither may name a different account."""
    if email is not None:
        owner = session.exec(select(m.User).where(
            sa.or_(m.User.email == email, sa.func.lower(m.User.username) == email, m.User.username == email))).first()
        if owner is not None and owner.username != username:
            raise ValidationError(f"the e-mail address {email} already belongs to the account '{owner.username}'")
    owner = session.exec(select(m.User).where(m.User.email == username.lower())).first()
    if owner is not None and owner.username != username:
        raise ValidationError(f"'{username}' is the e-mail address of the account '{owner.username}'; choose "
                              "another user name")


@dataclass(frozen=True)
class Invitation:
    user: m.User
    token: str
    expires_at: datetime


def invite_representative(
    session: Session, actor: m.User | None, company_id: str, email: str, *, hours: float = INVITATION_HOURS,
    now: datetime | None = None,
) -> Invitation:
    """A one-time token with which a company representative sets their password (admins only).

    The user name is the e-mail address. Inviting the same address again replaces the earlier token.
    """
    require_role(actor, "admin", doing="invite representatives")
    email = normalize_email(email) or ""
    if not EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an e-mail address")
    now = now or now_utc()
    user = session.exec(select(m.User).where(m.User.username == email)).first()
    if user is None:
        user = create_user(session, actor, email, "representative", company_id=company_id, email=email)
    elif user.role != "representative" or user.company_id != company_id:
        raise ValidationError(f"'{email}' already has an account as {user.role} "
                              f"{'of ' + user.company_id if user.company_id else ''}".rstrip())
    before = snapshot(user)
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = token_hash(token)
    user.invite_expires_at = now + timedelta(hours=hours)
    session.add(user)
    session.flush()
    record(session, actor, "user.invite", "user", user.id, before=before, after=snapshot(user))
    return Invitation(user, token, user.invite_expires_at)


def accept_invitation(session: Session, token: str, password: str, *, now: datetime | None = None) -> m.User:
    """Set the password of an invited account; the token then stops working."""
    now = now or now_utc()
    user = session.exec(select(m.User).where(m.User.invite_token_hash == token_hash(token.strip()))).first()
    if user is None or user.invite_expires_at is None:
        raise ValidationError("this invitation link is not valid (it may have been used already); ask an admin "
                              "for a new one")
    if user.invite_expires_at <= now:
        raise ValidationError(f"this invitation expired on {user.invite_expires_at:%Y-%m-%d %H:%M} UTC; ask an "
                              "admin for a new one")
    before = snapshot(user)
    user.password_hash = hash_password(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    session.add(user)
    session.flush()
    record(session, user, "user.accept_invitation", "user", user.id, before=before, after=snapshot(user))
    return user


def set_password(session: Session, actor: m.User | None, username: str, password: str) -> m.User:
    """Admins reset anyone's password; everyone else only their own."""
    if actor is None or (actor.username != username and actor.role != "admin"):
        raise PermissionDenied("only admins may set another user's password")
    user = get_user(session, username)
    before = snapshot(user)
    user.password_hash = hash_password(password)
    session.add(user)
    _end_all_sessions(session, user)
    session.flush()
    record(session, actor, "user.set_password", "user", user.id, before=before,
           after=snapshot(user) | {"password": "changed", "sessions": "ended"})
    return user


def _end_all_sessions(session: Session, user: m.User) -> None:
    """Revoke every session of the account (a new password or a lock must shut out whoever had the old one)."""
    session.exec(sa.update(m.LoginSession).where(m.LoginSession.user_id == user.id, ~m.LoginSession.revoked)
                 .values(revoked=True))


def set_locked(session: Session, actor: m.User | None, username: str, locked: bool) -> m.User:
    """Lock (disable until unlocked, ending its sessions) or unlock an account, clearing failure counts."""
    require_role(actor, "admin", doing="lock or unlock accounts")
    user = get_user(session, username)
    before = snapshot(user)
    user.active = not locked
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    if locked:
        _end_all_sessions(session, user)
    session.flush()
    record(session, actor, "user.lock" if locked else "user.unlock", "user", user.id, before=before,
           after=snapshot(user))
    return user


def list_users(session: Session, actor: m.User | None) -> list[m.User]:
    require_role(actor, "admin", doing="list accounts")
    return list(session.exec(select(m.User).order_by(m.User.role, m.User.username)))


# ----------------------------------------------------------------------------------------------- sign-in


def find_account(session: Session, name: str) -> m.User | None:
    """The account a sign-in name means: its user name, else its e-mail address (case-insensitive)."""
    name = name.strip()
    if not name:
        return None
    user = session.exec(select(m.User).where(m.User.username == name)).first()
    if user is None and "@" in name:
        user = session.exec(select(m.User).where(m.User.email == name.lower())).first()
    return user


def _count_failure(session: Session, user: m.User, now: datetime) -> tuple[int, bool]:
    """Add one failed sign-in in a single UPDATE (atomic on SQLite and PostgreSQL); the new count and whether
    this failure locked the account. Concurrent guesses each add one; none can overwrite another's count."""
    table = m.User.__table__
    reaches_limit = table.c.failed_logins + 1 >= MAX_FAILED_LOGINS
    until = now + timedelta(minutes=LOCK_MINUTES)
    row = session.execute(
        sa.update(table).where(table.c.id == user.id)
        .values(failed_logins=sa.case((reaches_limit, 0), else_=table.c.failed_logins + 1),
                locked_until=sa.case((reaches_limit, until), else_=table.c.locked_until))
        .returning(table.c.failed_logins)
    ).one()
    return row.failed_logins, row.failed_logins == 0  # the count restarts only on the failure that locks


def _refuse(session: Session, user: m.User | None, reason: str, now: datetime, **after: object) -> LoginFailed:
    """Audit a refused sign-in (never the password, never the name typed for an unknown account), commit it so
    a caller's rollback cannot undo it, and return the one message every failure gives."""
    account_id = after.pop("account_id", user.id if user is not None else "-")
    record(session, None, "user.login_failed", "user", account_id, after={"reason": reason, **after})
    session.commit()
    return LoginFailed(LOGIN_FAILED_MESSAGE)


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> m.User:
    """The user if the password is right and the account usable; else LoginFailed (always the same message).

    `username` may be the user name or the account's e-mail. Failures are counted atomically in the database;
    the `MAX_FAILED_LOGINS`-th locks the account for `LOCK_MINUTES`. Every failure is audited and committed
    before LoginFailed is raised, so a caller's rollback cannot undo it.
    """
    now = now or now_utc()
    user = find_account(session, username)
    if user is None or not user.active or user.password_hash is None:
        _verify(None, password)  # same work as a real check
        reason = "unknown account" if user is None else "disabled" if not user.active else "no password set"
        raise _refuse(session, user, reason, now)
    user_id = user.id
    if user.locked_until is not None and user.locked_until > now:
        _verify(None, password)
        raise _refuse(session, user, "locked", now)
    if not _verify(user.password_hash, password):
        failures, locked_now = _count_failure(session, user, now)
        session.expire(user)
        if locked_now:
            record(session, None, "user.auto_lock", "user", user_id,
                   after={"locked_until": (now + timedelta(minutes=LOCK_MINUTES)).isoformat(),
                          "after_failures": MAX_FAILED_LOGINS})
        raise _refuse(session, None, "wrong password", now, failed_logins=failures, locked=locked_now,
                      account_id=user_id)
    if _hasher.check_needs_rehash(user.password_hash):
        with _password_checks:
            user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    session.flush()
    return user


def start_session(session: Session, user: m.User, *, now: datetime | None = None) -> str:
    """A new session token for a signed-in user; it expires after TRACKER_SESSION_HOURS."""
    now = now or now_utc()
    token = secrets.token_urlsafe(32)
    session.add(m.LoginSession(
        user_id=user.id, token_hash=token_hash(token), created_at=now,
        expires_at=now + timedelta(hours=get_settings().session_hours),
    ))
    session.flush()
    return token


def login(session: Session, username: str, password: str, *, now: datetime | None = None) -> str:
    """authenticate + start_session: the token to keep in the browser session."""
    return start_session(session, authenticate(session, username, password, now=now), now=now)


def user_for_token(session: Session, token: str | None, *, now: datetime | None = None) -> m.User | None:
    """The user a session token belongs to, or None when missing, unknown, expired, revoked or locked."""
    if not token:
        return None
    now = now or now_utc()
    row = session.exec(select(m.LoginSession).where(m.LoginSession.token_hash == token_hash(token))).first()
    if row is None or row.revoked or row.expires_at <= now:
        return None
    user = session.get(m.User, row.user_id)
    if user is None or not user.active or (user.locked_until is not None and user.locked_until > now):
        return None
    return user


# ------------------------------------------------------------------------------------- sign-in cookie
#
# A browser keeps its session across reloads in an HttpOnly cookie set by a small HTTP route (app_pages/_cookie.py):
# the sign-in form (a websocket message, which cannot set cookies) hands the route a one-time code, valid for
# HANDOFF_SECONDS in this process, that the route exchanges for the session token. The cookie holds the token
# and an HMAC of it under TRACKER_SESSION_SECRET, so a forged or altered cookie is refused before any lookup;
# the token itself is still checked against the database on every run (expiry, sign-out, lock).

HANDOFF_SECONDS = 60
_handoffs: dict[str, tuple[str, float]] = {}
_handoff_lock = threading.Lock()
_process_secret = secrets.token_bytes(32)


def _cookie_key() -> bytes:
    secret = get_settings().session_secret
    return secret.encode() if secret else _process_secret


def _mac(token: str) -> str:
    digest = hmac.new(_cookie_key(), b"tracker-session:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_cookie(token: str) -> str:
    """The cookie value for a session token: `<token>.<signature>`."""
    return f"{token}.{_mac(token)}"


def cookie_token(value: str | None) -> str | None:
    """The session token in a cookie value if its signature is right; None otherwise."""
    if not value or value.count(".") != 1:
        return None
    token, signature = value.split(".")
    return token if token and hmac.compare_digest(signature, _mac(token)) else None


def cookie_handoff(token: str) -> str:
    """A one-time code (HANDOFF_SECONDS) with which the cookie route obtains this session token."""
    code = secrets.token_urlsafe(24)
    with _handoff_lock:
        now = time.monotonic()
        for stale in [c for c, (_t, expires) in _handoffs.items() if expires <= now]:
            del _handoffs[stale]
        _handoffs[token_hash(code)] = (token, now + HANDOFF_SECONDS)
    return code


def redeem_cookie_handoff(code: str | None) -> str | None:
    """The session token for a handoff code, once; None when unknown, used or expired."""
    if not code:
        return None
    with _handoff_lock:
        entry = _handoffs.pop(token_hash(code), None)
    if entry is None or entry[1] <= time.monotonic():
        return None
    return entry[0]


def end_session(session: Session, token: str | None) -> None:
    """Sign out: the token stops working at once."""
    if token:
        session.exec(sa.update(m.LoginSession).where(m.LoginSession.token_hash == token_hash(token))
                     .values(revoked=True))
        session.flush()


def user_for_email(session: Session, email: str | None) -> m.User | None:
    """The active account with this e-mail (for single sign-on via OpenID Connect); None if there is none."""
    if not email:
        return None
    user = session.exec(
        select(m.User).where(sa.func.lower(m.User.email) == email.strip().lower(), m.User.active)
    ).first()
    return user


def accept_invitation_and_sign_in(session: Session, token: str, password: str) -> str:
    """Set the invited account's password and start its first session, in one transaction; the session token."""
    return start_session(session, accept_invitation(session, token, password))
