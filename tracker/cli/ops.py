"""Operations: config check, alerts, backup and restore."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracker.cli.base import (
    command,
)
from tracker.core.errors import TrackerError


@command
def _register_config(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show and validate the effective settings")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="print the effective settings (secrets masked); exit 2 on a bad value")
    check.add_argument("--connect", action="store_true", help="also connect to the database and report its schema")
    check.set_defaults(handler=cmd_config_check)


def cmd_config_check(args: argparse.Namespace) -> int:
    from tracker.core.config import effective_settings, load_settings, settings_file, unknown_variables

    settings = load_settings()
    path = settings_file()
    print(f"settings file: {path or 'none (set TRACKER_SETTINGS_FILE to use one)'}")
    for variable, value, origin in effective_settings(settings):
        print(f"{variable:28} {value}  [{origin}]")
    for name in unknown_variables():
        print(f"warning: {name} is set but no setting reads it (a typo?)")
    if args.connect:
        import sqlalchemy as sa

        from tracker.core.db import get_engine

        engine = get_engine(settings.database_url)
        try:
            with engine.connect() as connection:
                revision = None
                if sa.inspect(connection).has_table("alembic_version"):
                    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.OperationalError as exc:
            raise TrackerError(f"cannot reach the database: {exc.orig}") from None
        print(f"database reachable; schema revision {revision or 'none (run python -m tracker init)'}")
    print("configuration is valid")


@command
def _register_alerts(sub: argparse._SubParsersAction) -> None:
    from tracker.publish.alerts import EVENTS

    parser = sub.add_parser("alerts", help="subscriptions to new versions and weakened commitments; delivery")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("subscribe", help="subscribe a webhook or an e-mail address (events from now on)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", metavar="URL", help="POST signed JSON to this URL")
    target.add_argument("--email", metavar="ADDRESS", help="send plain-text e-mail to this address")
    p.add_argument("--company", help="only this company (company id)")
    p.add_argument("--commitment", help="only this commitment (e.g. seoul-2024/II)")
    p.add_argument("--events", nargs="+", choices=EVENTS, default=list(EVENTS),
                   help="new_version and/or change (weakened or removed passages); default both")
    p.set_defaults(handler=cmd_alerts_subscribe)
    p = actions.add_parser("unsubscribe", help="stop a subscription (its delivery record is kept)")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_alerts_unsubscribe)
    p = actions.add_parser("list", help="subscriptions with their sent, pending and failed deliveries")
    p.add_argument("--deliveries", action="store_true", help="also list every delivery with its last error")
    p.set_defaults(handler=cmd_alerts_list)
    p = actions.add_parser("send", help="queue new events and deliver pending alerts (retries failed ones)")
    p.set_defaults(handler=cmd_alerts_send)


def cmd_alerts_subscribe(args: argparse.Namespace) -> int:
    from tracker.core.config import get_settings
    from tracker.core.db import session_scope
    from tracker.publish.alerts import describe, subscribe

    with session_scope() as session:
        subscription = subscribe(session, webhook=args.webhook, email=args.email, company_id=args.company,
                                 commitment_id=args.commitment, events=args.events)
        print(f"subscription {subscription.id}: {describe(subscription)}")
    settings = get_settings()
    if args.webhook and not settings.webhook_secret:
        print("warning: TRACKER_WEBHOOK_SECRET is not set; webhooks are held back until it is")
    if args.email and not settings.smtp_host:
        print("warning: TRACKER_SMTP_HOST is not set; e-mails are held back until it is")
    return 0


def cmd_alerts_unsubscribe(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.publish.alerts import describe, unsubscribe

    with session_scope() as session:
        subscription = unsubscribe(session, args.id)
        print(f"subscription {subscription.id} stopped: {describe(subscription)}")
    return 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from tracker.core.db import session_scope
    from tracker.publish.alerts import describe, subscriptions_with_counts
    from tracker.store import models as m

    with session_scope() as session:
        rows = subscriptions_with_counts(session)
        if not rows:
            print("no alert subscriptions; add one with `python -m tracker alerts subscribe`")
        for subscription, counts in rows:
            state = "" if subscription.active else " (stopped)"
            print(f"{subscription.id}{state}: {describe(subscription)}; {counts['sent']} sent, "
                  f"{counts['pending']} pending, {counts['failed']} failed")
            if args.deliveries:
                for delivery in session.exec(select(m.AlertDelivery).where(
                        m.AlertDelivery.subscription_id == subscription.id).order_by(m.AlertDelivery.id)):
                    when = delivery.sent_at or delivery.next_attempt_at or delivery.created_at
                    detail = delivery.response if delivery.status == "sent" else delivery.last_error or ""
                    print(f"    {delivery.id} {delivery.event_key} {delivery.status} after {delivery.attempts} "
                          f"attempt(s), {when:%Y-%m-%d %H:%M} UTC {detail}")
    return 0


def cmd_alerts_send(args: argparse.Namespace) -> int:
    from tracker.core.db import get_engine
    from tracker.publish.alerts import deliver_pending

    report = deliver_pending(get_engine())
    print(report.summary())
    return 1 if report.retrying or report.gave_up else 0


@command
def _register_backup(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("backup", help="archive the database and its raw files (safe while the app runs)")
    parser.add_argument("path", help="archive file (.tar.gz), or an existing folder to put a dated archive in")
    parser.set_defaults(handler=cmd_backup)
    parser = sub.add_parser("restore", help="restore an archive made by `backup` into an empty database")
    parser.add_argument("path", help="the archive")
    parser.add_argument("--force", action="store_true", help="replace everything in a database that is not empty")
    parser.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from tracker.core.db import get_engine
    from tracker.store.backup import backup

    result = backup(get_engine(), Path(args.path))
    rows = sum(result.tables.values())
    print(f"backup written to {result.path}: {rows} rows in {len(result.tables)} tables, {result.raw_files} raw file(s)")
    if result.missing_raw:
        print(f"note: {len(result.missing_raw)} referenced raw file(s) are not in the raw store (seed versions ship "
              "without documents) and are not in the archive")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from tracker.core.db import get_engine
    from tracker.store.backup import restore

    counts = restore(get_engine(), Path(args.path), force=args.force)
    print(f"restored {sum(counts.values())} rows in {len(counts)} tables from {args.path}")
    return 0
