"""Accounts, sign-in, lockout, invitations, sessions and the audit trail of account changes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from tracker.accounts import auth
from tracker.accounts.audit import audit_entries, export_audit
from tracker.cli import main
from tracker.core.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.store import models as m

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def admin(session: Session) -> m.User:
    return auth.create_user(session, auth.command_line_actor(), "admin1", "admin", password=PASSWORD)


def _rep(session: Session, admin: m.User, name: str = "rep-openai", company: str = "openai") -> m.User:
    return auth.create_user(session, admin, name, "representative", company_id=company, password=PASSWORD)


def test_passwords_are_argon2_hashes_and_never_logged(session, admin):
    rep = _rep(session, admin)
    assert rep.password_hash.startswith("$argon2")
    assert PASSWORD not in rep.password_hash
    logged = json.dumps([entry.after for entry in audit_entries(session, admin)])
    assert "password_hash" not in logged and "$argon2" not in logged
    assert auth.authenticate(session, "rep-openai", PASSWORD).id == rep.id


def test_only_admins_manage_accounts_and_roles_are_checked(session, admin):
    rep = _rep(session, admin)
    with pytest.raises(PermissionDenied):
        auth.create_user(session, rep, "another", "reviewer", password=PASSWORD)
    with pytest.raises(PermissionDenied):
        auth.list_users(session, None)
    with pytest.raises(ValidationError, match="bound to a company"):
        auth.create_user(session, admin, "nocompany", "representative", password=PASSWORD)
    with pytest.raises(ValidationError, match="only representatives"):
        auth.create_user(session, admin, "rev", "reviewer", company_id="openai", password=PASSWORD)
    with pytest.raises(NotFoundError, match="unknown company"):
        auth.create_user(session, admin, "rep2", "representative", company_id="nope", password=PASSWORD)
    with pytest.raises(ValidationError, match="at least"):
        auth.create_user(session, admin, "short", "reviewer", password="short")
    with pytest.raises(ValidationError, match="already exists"):
        auth.create_user(session, admin, "rep-openai", "reviewer", password=PASSWORD)


def test_wrong_password_and_unknown_user_give_the_same_message(session, admin):
    _rep(session, admin)
    with pytest.raises(auth.LoginFailed) as wrong_password:
        auth.authenticate(session, "rep-openai", "wrong password!")
    with pytest.raises(auth.LoginFailed) as unknown_user:
        auth.authenticate(session, "nobody-here", "wrong password!")
    assert str(wrong_password.value) == str(unknown_user.value) == auth.LOGIN_FAILED_MESSAGE
    assert "nobody-here" not in str(unknown_user.value)


def test_failed_logins_are_kept_even_when_the_caller_rolls_back(engine):
    with Session(engine) as session:
        auth.create_user(session, auth.command_line_actor(), "rev", "reviewer", password=PASSWORD)
        session.commit()
    with Session(engine) as session, pytest.raises(auth.LoginFailed):
        auth.authenticate(session, "rev", "wrong password!")
    with Session(engine) as session:
        session.rollback()
        assert auth.get_user(session, "rev").failed_logins == 1


def test_locked_account_stays_locked_with_the_right_password_until_it_expires(session, admin):
    _rep(session, admin)
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(session, "rep-openai", "wrong password!", now=T0)
    user = auth.get_user(session, "rep-openai")
    assert user.locked_until == T0 + timedelta(minutes=auth.LOCK_MINUTES)
    with pytest.raises(auth.LoginFailed, match="locked for a while"):
        auth.authenticate(session, "rep-openai", PASSWORD, now=T0 + timedelta(minutes=1))
    with pytest.raises(auth.LoginFailed):
        auth.authenticate(session, "rep-openai", PASSWORD, now=T0 + timedelta(minutes=auth.LOCK_MINUTES - 1))
    assert auth.authenticate(session, "rep-openai", PASSWORD, now=T0 + timedelta(minutes=auth.LOCK_MINUTES + 1))
    actions = [entry.action for entry in audit_entries(session, admin, entity_type="user")]
    assert "user.auto_lock" in actions


def test_admin_unlock_ends_an_automatic_lock_and_admin_lock_ends_sessions(session, admin):
    _rep(session, admin)
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(auth.LoginFailed):
            auth.authenticate(session, "rep-openai", "wrong password!", now=T0)
    auth.set_locked(session, admin, "rep-openai", locked=False)
    token = auth.login(session, "rep-openai", PASSWORD, now=T0 + timedelta(minutes=1))
    assert auth.user_for_token(session, token, now=T0 + timedelta(minutes=2)) is not None
    auth.set_locked(session, admin, "rep-openai", locked=True)
    assert auth.user_for_token(session, token, now=T0 + timedelta(minutes=3)) is None
    with pytest.raises(auth.LoginFailed):
        auth.authenticate(session, "rep-openai", PASSWORD, now=T0 + timedelta(days=2))
    with pytest.raises(PermissionDenied):
        auth.set_locked(session, auth.get_user(session, "rep-openai"), "admin1", locked=True)


def test_sessions_expire_and_sign_out_revokes_them(session, admin, monkeypatch):
    monkeypatch.setenv("TRACKER_SESSION_HOURS", "2")
    auth.get_settings.cache_clear()
    try:
        token = auth.login(session, "admin1", PASSWORD, now=T0)
    finally:
        auth.get_settings.cache_clear()
    stored = session.exec(select(m.LoginSession)).one()
    assert stored.token_hash == auth.token_hash(token) and token not in stored.token_hash
    assert auth.user_for_token(session, token, now=T0 + timedelta(hours=1, minutes=59)).username == "admin1"
    assert auth.user_for_token(session, token, now=T0 + timedelta(hours=2)) is None
    assert auth.user_for_token(session, "made-up-token", now=T0) is None
    other = auth.login(session, "admin1", PASSWORD, now=T0)
    auth.end_session(session, other)
    assert auth.user_for_token(session, other, now=T0) is None


def test_invitation_works_once_and_expires(session, admin):
    invitation = auth.invite_representative(session, admin, "anthropic", "policy@anthropic.example", now=T0)
    user = invitation.user
    assert user.role == "representative" and user.company_id == "anthropic" and user.password_hash is None
    assert invitation.token not in (user.invite_token_hash or "")
    with pytest.raises(auth.LoginFailed):  # cannot sign in before accepting
        auth.authenticate(session, "policy@anthropic.example", "")
    auth.accept_invitation(session, invitation.token, PASSWORD, now=T0 + timedelta(hours=1))
    assert auth.authenticate(session, "policy@anthropic.example", PASSWORD).id == user.id
    with pytest.raises(ValidationError, match="not valid"):
        auth.accept_invitation(session, invitation.token, "another password 1", now=T0 + timedelta(hours=2))

    late = auth.invite_representative(session, admin, "meta", "trust@meta.example", hours=24, now=T0)
    with pytest.raises(ValidationError, match="expired"):
        auth.accept_invitation(session, late.token, PASSWORD, now=T0 + timedelta(hours=25))
    with pytest.raises(PermissionDenied):
        auth.invite_representative(session, user, "meta", "x@meta.example")


def test_single_sign_on_matches_active_users_by_email(session, admin):
    auth.create_user(session, admin, "rev", "reviewer", email="Rev@Example.org", password=PASSWORD)
    assert auth.user_for_email(session, "rev@example.org").username == "rev"
    auth.set_locked(session, admin, "rev", locked=True)
    assert auth.user_for_email(session, "rev@example.org") is None
    assert auth.user_for_email(session, None) is None


def test_audit_log_records_account_changes_and_exports(session, admin):
    rep = _rep(session, admin)
    auth.set_locked(session, admin, rep.username, locked=True)
    entries = audit_entries(session, admin)
    lock = next(entry for entry in entries if entry.action == "user.lock")
    assert lock.actor == "admin1" and lock.before == {"active": True} and lock.after == {"active": False}
    csv_text = export_audit(session, admin, "csv")
    assert csv_text.splitlines()[0] == "id,at,actor,actor_id,action,entity_type,entity_id,before,after"
    assert "user.lock" in csv_text
    rows = json.loads(export_audit(session, admin, "json"))
    assert {row["action"] for row in rows} >= {"user.create", "user.lock"}
    with pytest.raises(PermissionDenied):
        audit_entries(session, rep)
    with pytest.raises(ValidationError, match="unknown export format"):
        export_audit(session, admin, "xml")


def test_user_and_audit_commands(engine, use_database, monkeypatch, capsys, tmp_path):
    use_database(engine)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "rev", "--role", "reviewer", "--password-stdin"]) == 0
    assert main(["user", "invite", "--company", "openai", "safety@openai.example"]) == 0
    out = capsys.readouterr().out
    token = out.split("token: ")[1].split()[0]
    assert f"/login?invite={token}" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "add", "rev2", "--role", "reviewer"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert main(["user", "add", "rep", "--role", "representative", "--company", "nope"]) == 2
    assert "unknown company 'nope'" in capsys.readouterr().err
    assert main(["user", "lock", "rev"]) == 0
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    listed = {row["username"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["rev"]["active"] is False and listed["safety@openai.example"]["invited"] is True
    with Session(engine) as session:
        auth.accept_invitation(session, token, PASSWORD)
        session.commit()
    out_file = tmp_path / "audit.json"
    assert main(["audit", "export", "--out", str(out_file)]) == 0
    actions = [row["action"] for row in json.loads(out_file.read_text())]
    assert {"user.create", "user.invite", "user.lock", "user.accept_invitation"} <= set(actions)
    assert all(row["actor"].startswith("cli:") for row in json.loads(out_file.read_text())
               if row["action"] == "user.create")
