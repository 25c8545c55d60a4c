"""Accounts, sign-in and sessions: the only place that decides who someone is and what role they have.

Roles: `representative` (bound to one company: submits self-reports for it), `reviewer` (decides on
submissions), `admin` (manages accounts, reads the audit log, and may review). Passwords are hashed with
argon2; session and invitation tokens are random and only their sha256 is stored, so a copy of the database
cannot be used to sign in. After `MAX_FAILED_LOGINS` wrong passwords an account is locked for
`LOCK_MINUTES`; while locked even the right password is refused. Every sign-in failure gives the same message,
so the form does not tell whether a user name exists.

The command line acts as `command_line_actor()`: an in-memory admin that is never stored (whoever can run the
CLI already has the database). Pages must pass the signed-in user, never build an actor themselves.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets
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
LOGIN_FAILED_MESSAGE = (
    "Sign-in failed: wrong user name or password, or the account is locked for a while after repeated "
    "failures. Try again later, or ask an admin."
)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,119}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
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
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise ValidationError("the password must not start or end with spaces")


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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
    if email is not None and not EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an e-mail address")
    _check_role_and_company(session, role, company_id)
    if session.exec(select(m.User).where(m.User.username == username)).first() is not None:
        raise ValidationError(f"a user named '{username}' already exists")
    user = m.User(
        username=username, role=role, company_id=company_id, email=email, display_name=display_name,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, after=snapshot(user))
    return user


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
    session.flush()
    record(session, actor, "user.set_password", "user", user.id, before=before,
           after=snapshot(user) | {"password": "changed"})
    return user


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
        session.exec(sa.update(m.LoginSession).where(m.LoginSession.user_id == user.id).values(revoked=True))
    session.flush()
    record(session, actor, "user.lock" if locked else "user.unlock", "user", user.id, before=before,
           after=snapshot(user))
    return user


def list_users(session: Session, actor: m.User | None) -> list[m.User]:
    require_role(actor, "admin", doing="list accounts")
    return list(session.exec(select(m.User).order_by(m.User.role, m.User.username)))


# ----------------------------------------------------------------------------------------------- sign-in


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> m.User:
    """The user if the password is right and the account usable; else LoginFailed (always the same message).

    Failures are counted; the `MAX_FAILED_LOGINS`-th locks the account for `LOCK_MINUTES`. A counted failure
    is committed before LoginFailed is raised, so a caller's rollback cannot undo it.
    """
    now = now or now_utc()
    user = session.exec(select(m.User).where(m.User.username == username.strip())).first()
    if user is None or not user.active or user.password_hash is None:
        _verify(None, password)  # same work as a real check
        raise LoginFailed(LOGIN_FAILED_MESSAGE)
    if user.locked_until is not None and user.locked_until > now:
        _verify(None, password)
        raise LoginFailed(LOGIN_FAILED_MESSAGE)
    if not _verify(user.password_hash, password):
        before = snapshot(user)
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            session.add(user)
            session.flush()
            record(session, None, "user.auto_lock", "user", user.id, before=before, after=snapshot(user))
        session.add(user)
        session.commit()
        raise LoginFailed(LOGIN_FAILED_MESSAGE)
    if _hasher.check_needs_rehash(user.password_hash):
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
