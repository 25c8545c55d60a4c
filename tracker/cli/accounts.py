"""Accounts, audit and review: user, audit, review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tracker.cli.base import (
    command,
    print_json,
)
from tracker.core.errors import ValidationError

# The command line acts as `tracker.accounts.auth.command_line_actor()`: an admin that exists only in memory.


def _read_password(args: argparse.Namespace, required: bool) -> str | None:
    import getpass

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("--password-stdin was given but stdin had no password line")
        return password
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise ValidationError("the two passwords differ")
        return password
    if required:
        raise ValidationError("no terminal to ask for a password: pass it on stdin with --password-stdin")
    return None


def _cmd_user(args: argparse.Namespace) -> int:
    from tracker.accounts import auth
    from tracker.core.db import session_scope

    actor = auth.command_line_actor()
    with session_scope() as session:
        if args.user_command == "add":
            password = _read_password(args, required=args.role != "representative")
            user = auth.create_user(session, actor, args.username, args.role, password=password,
                                    company_id=args.company, email=args.email, display_name=args.name or "")
            print(f"added {user.role} '{user.username}'" + (f" for {user.company_id}" if user.company_id else "")
                  + ("" if password else " without a password: send them an invitation (`user invite`)"))
        elif args.user_command == "invite":
            invitation = auth.invite_representative(session, actor, args.company, args.email, hours=args.hours)
            print(f"invitation for {invitation.user.username} ({invitation.user.company_id}), valid until "
                  f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC, works once:")
            print(f"  token: {invitation.token}")
            print(f"  link:  {args.base_url.rstrip('/')}/login?invite={invitation.token}")
        elif args.user_command == "list":
            print_json([
                {"username": u.username, "role": u.role, "company": u.company_id, "email": u.email,
                 "active": u.active, "locked_until": u.locked_until, "last_login_at": u.last_login_at,
                 "invited": u.invite_token_hash is not None, "has_password": u.password_hash is not None}
                for u in auth.list_users(session, actor)
            ])
        elif args.user_command in ("lock", "unlock"):
            user = auth.set_locked(session, actor, args.username, locked=args.user_command == "lock")
            print(f"{user.username}: {'locked (sessions ended)' if not user.active else 'unlocked'}")
        elif args.user_command == "set-password":
            auth.set_password(session, actor, args.username, _read_password(args, required=True) or "")
            print(f"{args.username}: password set")
    return 0



@command
def _register_user(sub: argparse._SubParsersAction) -> None:
    from tracker.accounts.auth import INVITATION_HOURS, ROLES

    parser = sub.add_parser("user", help="accounts: add, invite, list, lock, unlock, set-password")
    users = parser.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = users.add_parser("add", help="add an account (prompts for the password on a terminal)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--company", help="company id (representatives only)")
    add.add_argument("--email")
    add.add_argument("--name", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    invite = users.add_parser("invite", help="one-time link for a company representative to set a password")
    invite.add_argument("email")
    invite.add_argument("--company", required=True, help="company id")
    invite.add_argument("--hours", type=float, default=INVITATION_HOURS, help="how long the link works")
    invite.add_argument("--base-url", default="http://localhost:8501", help="where the dashboard is served")
    users.add_parser("list", help="all accounts as JSON")
    for action, text in (("lock", "disable an account and end its sessions"), ("unlock", "re-enable an account "
                         "and clear a lock after failed sign-ins")):
        users.add_parser(action, help=text).add_argument("username")
    password = users.add_parser("set-password", help="set a user's password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    parser.set_defaults(handler=_cmd_user)


def _cmd_audit_export(args: argparse.Namespace) -> int:
    from tracker.accounts.audit import export_audit
    from tracker.accounts.auth import command_line_actor
    from tracker.core.db import session_scope

    out = Path(args.out)
    fmt = args.format or ("json" if out.suffix.lower() == ".json" else "csv")
    with session_scope() as session:
        text = export_audit(session, command_line_actor(), fmt, entity_type=args.entity)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({fmt})")
    return 0


@command
def _register_audit(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="the audit log of changes to assessments, submissions and accounts")
    actions = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write the log as CSV or JSON")
    export.add_argument("--out", required=True, help="file to write (.csv or .json)")
    export.add_argument("--format", choices=("csv", "json"), help="default: from the file suffix, else csv")
    export.add_argument("--entity", help="only this entity type (user, selfreport, assessment)")
    parser.set_defaults(handler=_cmd_audit_export)


def _reviewer(session, username: str):
    """The account a scripted decision is made as: it must exist; the domain checks its role."""
    from tracker.accounts import auth

    return auth.get_user(session, username)


def _cmd_review(args: argparse.Namespace) -> int:
    from tracker.accounts import reviews
    from tracker.accounts.auth import command_line_actor
    from tracker.core.db import session_scope

    with session_scope() as session:
        if args.review_command == "queue":
            actor = _reviewer(session, args.as_user) if args.as_user else command_line_actor()
            items = reviews.queue(session, actor, kinds=args.kind, company_id=args.company)
            if args.json:
                print_json([item.as_json() for item in items])
            else:
                for item in items:
                    call = (f"level {item.level}" if item.kind in ("level", "self-report")
                            else f"{item.direction}, {item.announced}")
                    confidence = "" if item.confidence is None else f" · confidence {item.confidence:.2f}"
                    print(f"{item.id:<16} {item.kind:<12} {item.company:<10} {item.commitment or '-':<16} "
                          f"{call}{confidence} · {item.status}")
                print(f"{len(items)} item(s) awaiting review")
        elif args.review_command == "decide":
            actor = _reviewer(session, args.as_user)
            result = reviews.decide(session, actor, args.item_id, reason=args.reason, confirm=args.confirm,
                                    level=args.level, quote=args.quote, direction=args.direction,
                                    announced=args.announced, dismiss=args.dismiss)
            print(result.message)
        elif args.review_command == "export":
            written = reviews.export_reviews(session, command_line_actor(), Path(args.out))
            print(f"wrote {len(written)} review file(s) to {args.out}")
        elif args.review_command == "import":
            added = reviews.import_reviews(session, command_line_actor(), Path(args.dir))
            print(f"imported {len(added)} reviewed level(s) from {args.dir} (rows already present were skipped)")
    return 0


@command
def _register_review(sub: argparse._SubParsersAction) -> None:
    from tracker.store.vocabulary import ANNOUNCEMENT_STATES, DIRECTIONS, REVIEW_KINDS

    parser = sub.add_parser("review", help="review workbench: queue, decide, export and import reviews")
    actions = parser.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    queue = actions.add_parser("queue", help="what awaits review, ranked (weakenings first)")
    queue.add_argument("--json", action="store_true", help="a JSON list of items")
    queue.add_argument("--as", dest="as_user", metavar="USER", help="the queue as this reviewer sees it "
                       "(leaves out what they already decided)")
    queue.add_argument("--kind", action="append", choices=REVIEW_KINDS, help="only these kinds (repeatable)")
    queue.add_argument("--company", help="only this company (company id)")
    decide = actions.add_parser("decide", help="record a decision on one queued item as a reviewer")
    decide.add_argument("item_id", metavar="ID", help="e.g. change-12, level-345, selfreport-3")
    decide.add_argument("--as", dest="as_user", required=True, metavar="USER", help="reviewer or admin account")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--confirm", action="store_true", help="agree with the call on the table")
    choice.add_argument("--level", type=int, choices=range(4), metavar="N", help="correct a level to N (0-3)")
    choice.add_argument("--direction", choices=DIRECTIONS, help="correct a change's direction")
    choice.add_argument("--announced", choices=ANNOUNCEMENT_STATES, help="correct a change's announced/silent call")
    choice.add_argument("--dismiss", action="store_true", help="not a change (re-split passage, extraction "
                        "artefact); rejects a self-report")
    decide.add_argument("--quote", help="with --level: the sentence of the document that justifies it")
    decide.add_argument("--reason", required=True, help="why (shown in the corrections log)")
    export = actions.add_parser("export", help="write reviewed levels as <company>.yaml (the data/reviews format)")
    export.add_argument("--out", required=True, help="folder to write")
    imp = actions.add_parser("import", help="add the reviews of a folder of <company>.yaml files (idempotent)")
    imp.add_argument("dir", help="folder of review files, e.g. data/reviews")
    parser.set_defaults(handler=_cmd_review)
