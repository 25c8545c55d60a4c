"""Sign-in under attack: lockout that holds under parallel guesses, bounded argon2 work, sessions that end on a
reset or lock, locked accounts refused everywhere, failed sign-ins audited, sign-in by user name or e-mail."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.accounts import auth
from tracker.accounts.audit import audit_entries
from tracker.core.errors import PermissionDenied, ValidationError
from tracker.store import models as m

PASSWORD = "correct horse battery"
WRONG = "wrong password 12345"


@pytest.fixture
def accounts(engine) -> dict[str, m.User]:
    with Session(engine, expire_on_commit=False) as session:
        cli = auth.command_line_actor()
        users = {
            "admin": auth.create_user(session, cli, "admin1", "admin", password=PASSWORD),
            "rep": auth.create_user(session, cli, "rep-openai", "representative", company_id="openai",
                                    password=PASSWORD, email="Rep@OpenAI.example"),
        }
        session.commit()
    return users


def _attempt(engine, name: str, password: str) -> str:
    with Session(engine, expire_on_commit=False) as session:
        try:
            auth.login(session, name, password)
        except auth.LoginFailed:
            session.rollback()
            return "refused"
        session.commit()
        return "ok"


def _user(engine, username: str) -> m.User:
    with Session(engine, expire_on_commit=False) as session:
        return auth.get_user(session, username)


def test_parallel_wrong_passwords_are_all_counted_and_lock_the_account(engine, accounts):
    """Twelve guesses at once used to leave failed_logins at 1 (each thread wrote its stale count + 1)."""
    barrier = threading.Barrier(12)

    def guess(_: int) -> str:
        barrier.wait()
        return _attempt(engine, "rep-openai", WRONG)

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(12)))
    assert outcomes == ["refused"] * 12
    user = _user(engine, "rep-openai")
    assert user.locked_until is not None and user.locked_until > auth.now_utc(), "twelve failures left it unlocked"
    with Session(engine) as session:
        failures = [e for e in audit_entries(session, accounts["admin"]) if e.action == "user.login_failed"]
        locks = [e for e in audit_entries(session, accounts["admin"]) if e.action == "user.auto_lock"]
    assert len(failures) == 12 and locks
    counted = sorted(e.after["failed_logins"] for e in failures if e.after["reason"] == "wrong password")
    # Each counted failure added exactly one (the count restarts at 0 on the failure that locks): the counts
    # seen are 1, 2, 3, 4, 0, 1, ... with no number seen twice in a round, as a stale read-modify-write gives.
    assert counted == sorted((i + 1) % auth.MAX_FAILED_LOGINS for i in range(len(counted)))
    assert len(counted) >= auth.MAX_FAILED_LOGINS and len(locks) == counted.count(0)
    assert _attempt(engine, "rep-openai", PASSWORD) == "refused", "locked: even the right password is refused"


def test_failed_sign_ins_are_audited_without_the_password(engine, accounts):
    assert _attempt(engine, "rep-openai", WRONG) == "refused"
    assert _attempt(engine, "nobody-" + WRONG, WRONG) == "refused"
    with Session(engine) as session:
        entries = [e for e in audit_entries(session, accounts["admin"]) if e.action == "user.login_failed"]
    assert {e.after["reason"] for e in entries} == {"wrong password", "unknown account"}
    assert str(accounts["rep"].id) in {e.entity_id for e in entries}
    text = repr([(e.entity_id, e.before, e.after) for e in entries])
    assert WRONG not in text and "nobody" not in text


def test_at_most_a_few_argon2_checks_run_at_once(engine, accounts, monkeypatch):
    """Each argon2 check takes 64 MiB: twenty at once took the process to 1.2 GB."""
    real = auth._hasher
    running, peak, lock = 0, 0, threading.Lock()

    class CountingHasher:
        def verify(self, stored: str, password: str) -> bool:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            try:
                return real.verify(stored, password)
            finally:
                with lock:
                    running -= 1

        def check_needs_rehash(self, stored: str) -> bool:
            return False

    monkeypatch.setattr(auth, "_hasher", CountingHasher())
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda _: auth._verify(accounts["rep"].password_hash, WRONG), range(16)))
    assert 1 <= peak <= auth.MAX_PASSWORD_CHECKS


def test_password_reset_and_lock_end_every_session(engine, accounts):
    with Session(engine, expire_on_commit=False) as session:
        rep = auth.get_user(session, "rep-openai")
        tokens = [auth.start_session(session, rep) for _ in range(3)]
        session.commit()
        auth.set_password(session, accounts["admin"], "rep-openai", "a brand new password")
        session.commit()
        assert [auth.user_for_token(session, t) for t in tokens] == [None] * 3
        token = auth.login(session, "rep-openai", "a brand new password")
        session.commit()
        assert auth.user_for_token(session, token) is not None
        auth.set_locked(session, accounts["admin"], "rep-openai", True)
        auth.set_locked(session, accounts["admin"], "rep-openai", False)
        session.commit()
        assert auth.user_for_token(session, token) is None, "a lock must end sessions for good"


def test_require_role_refuses_an_account_locked_after_failures(engine, accounts):
    rep = accounts["rep"]
    rep.locked_until = auth.now_utc() + timedelta(minutes=5)
    with pytest.raises(PermissionDenied, match="locked"):
        auth.require_role(rep, "representative", doing="submit self-reports")
    rep.locked_until = auth.now_utc() - timedelta(minutes=1)
    assert auth.require_role(rep, "representative", doing="submit self-reports") is rep


def test_sign_in_by_user_name_or_e_mail_in_any_case(engine, accounts):
    assert _user(engine, "rep-openai").email == "rep@openai.example"
    assert _attempt(engine, "rep-openai", PASSWORD) == "ok"
    assert _attempt(engine, "rep@openai.example", PASSWORD) == "ok"
    assert _attempt(engine, "  REP@OpenAI.Example ", PASSWORD) == "ok"
    assert _attempt(engine, "rep@openai.example", WRONG) == "refused"


def test_an_e_mail_address_names_one_account(engine, accounts):
    cli = auth.command_line_actor()
    with Session(engine) as session:
        with pytest.raises(ValidationError, match="already belongs"):
            auth.create_user(session, cli, "rep2", "reviewer", password=PASSWORD, email="REP@openai.example")
        with pytest.raises(ValidationError, match="e-mail address of the account"):
            auth.create_user(session, cli, "rep@openai.example", "reviewer", password=PASSWORD)
    with Session(engine) as session:  # the database refuses it too, whoever writes
        session.add(m.User(username="sneaky", role="reviewer", email="rep@openai.example"))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    with Session(engine) as session:
        assert len(session.exec(select(m.User).where(m.User.email == "rep@openai.example")).all()) == 1
