"""`python -m tracker ...`: one sub-command per operation; every handler calls the domain and prints.

Handlers return an exit code. A TrackerError anywhere becomes a one-line message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from tracker.errors import TrackerError, ValidationError

Handler = Callable[[argparse.Namespace], int]
EXIT_LOCK_BUSY = 3  # `refresh` without --wait found another run holding the lock (documented in operations.md)


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _emit_report(args: argparse.Namespace, report: dict, text: str) -> int:
    """Shared tail of the `eval` tasks: optionally save the JSON report, then print JSON or the table."""
    if args.save:
        out = Path(args.save)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.json:
        _print_json(report)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tracker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


# Each registrar adds one sub-command and sets `handler` on it. Keep them in the order of the README.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = []


def command(func: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    REGISTRARS.append(func)
    return func


@command
def _register_init(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("init", help="migrate, load the catalog and the shipped seed (idempotent)")
    parser.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tracker.bootstrap import initialize, row_counts

    changed = initialize()
    table = Table(title="Database after init", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("added or changed now", justify="right")
    names = {"framework": "frameworks", "commitment": "commitments", "company": "companies",
             "signature": "signatures", "commitmentlink": "links", "source": "sources",
             "documentversion": "versions", "evidence": "evidence", "assessment": "assessments",
             "changeevent": "changes"}
    for table_name, count in row_counts().items():
        if table_name in names:
            table.add_row(table_name, str(count), str(changed.get(names[table_name], 0)))
    Console(stderr=False).print(table)
    return 0


def _parse_date(value: str):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _parse_datetime(value: str):
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or datetime (ISO 8601): {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@command
def _register_refresh(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("refresh", help="fetch sources, keep new versions, map them, detect changes")
    parser.add_argument("--company", help="only this company's sources (company id)")
    parser.add_argument("--source", help="only this source (source id)")
    parser.add_argument("--wait", action="store_true", help="wait for a running refresh instead of exiting")
    parser.set_defaults(handler=cmd_refresh)


def cmd_refresh(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tracker.db import get_engine
    from tracker.locks import LockBusy
    from tracker.refresh import refresh

    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("fetching", total=None)
            summary = refresh(
                get_engine(), company=args.company, source=args.source, wait=args.wait,
                on_start=lambda total: progress.update(task, total=total),
                on_result=lambda result: progress.update(task, advance=1, description=f"{result.source_id}"),
            )
    except LockBusy as exc:  # not an error: cron started us while the previous run is still busy
        sys.stderr.write(f"refresh skipped: {exc}\n")
        return EXIT_LOCK_BUSY
    for run_id in summary.interrupted_runs:
        console.print(f"note: refresh run {run_id} had been left running by a process that died; "
                      "marked interrupted")
    table = Table(title=f"Refresh run {summary.run_id}", show_edge=False)
    for column in ("source", "outcome", "detail"):
        table.add_column(column)
    order = {"failed": 0, "new_version": 1, "not_modified": 2, "unchanged": 3}
    for result in sorted(summary.outcomes, key=lambda r: (order.get(r.outcome, 9), r.source_id)):
        detail = result.message or ""
        if result.outcome == "failed":
            detail = f"{result.reason}: {result.message}"
        elif result.outcome == "new_version":
            detail = f"version {result.version_id}, {result.changes} change(s)" + (
                "; SILENT RE-UPLOAD" if result.silent_reupload else "")
        table.add_row(result.source_id, result.outcome.replace("_", " "), detail)
    Console().print(table)
    counts = summary.counts
    Console().print(f"{counts['new_version']} new, {counts['unchanged'] + counts['not_modified']} unchanged, "
                    f"{counts['failed']} failed")
    if summary.alerts is not None:
        console.print(summary.alerts.summary(), markup=False, highlight=False)
    if summary.alerts_error:
        console.print(f"alerts could not be delivered: {summary.alerts_error}", markup=False, highlight=False)
    return 0


@command
def _register_import_file(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import-file", help="ingest an archived copy (PDF, HTML or text) as a version")
    parser.add_argument("path", help="the file")
    parser.add_argument("--source", required=True, help="source id (see data/sources/*.yaml)")
    parser.add_argument("--fetched-at", type=_parse_datetime, help="when the copy was retrieved (ISO date)")
    parser.add_argument("--published-on", type=_parse_date, help="publication date, if the file does not say")
    parser.set_defaults(handler=cmd_import_file)


def cmd_import_file(args: argparse.Namespace) -> int:
    from tracker.db import session_scope
    from tracker.pipeline import import_file

    with session_scope() as session:
        result = import_file(session, Path(args.path), args.source, fetched_at=args.fetched_at,
                             published_on=args.published_on)
        version = result.version
        print(f"{result.outcome.replace('_', ' ')}: {args.source} version {version.id} "
              f"({version.version_label or 'no label'}, published {version.published_on or 'unknown'}), "
              f"{result.changes} change(s), {result.assessments} new level(s)")
        for note in result.notes:
            print(f"note: {note}")
    return 0


@command
def _register_import_corpus(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("import-corpus", help="import every *.txt of a corpus folder into its source")
    parser.add_argument("folder", nargs="?", default=str(PROJECT_ROOT.parent / "shared" / "corpus"))
    parser.set_defaults(handler=cmd_import_corpus)


def cmd_import_corpus(args: argparse.Namespace) -> int:
    from tracker.db import session_scope
    from tracker.pipeline import corpus_files, corpus_source, import_file

    folder = Path(args.folder)
    files = corpus_files(folder)
    if not files:
        raise ValidationError(f"{folder}: no *.txt files to import")
    for path in files:
        with session_scope() as session:
            source = corpus_source(session, path)
            if source is None:
                print(f"skipped {path.name}: no source has a matching corpus_prefix")
                continue
            result = import_file(session, path, source.id)
            print(f"{result.outcome.replace('_', ' '):12} {source.id:45} {path.name}")
    return 0


@command
def _register_diff(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diff", help="readable report of what changed between two versions of a source")
    parser.add_argument("source", help="source id")
    parser.add_argument("versions", nargs="*", type=int, help="two version ids (default: the last two)")
    parser.set_defaults(handler=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from tracker.changes import detect_changes, render_diff_report
    from tracker.db import session_scope
    from tracker.pipeline import _versions_in_order

    if len(args.versions) not in (0, 2):
        raise ValidationError("give two version ids, or none for the last two versions")
    with session_scope() as session:
        versions = _versions_in_order(session, args.source)
        if args.versions:
            by_id = {v.id: v for v in versions}
            missing = [str(i) for i in args.versions if i not in by_id]
            if missing:
                raise ValidationError(f"source '{args.source}' has no version {', '.join(missing)}; "
                                      f"its versions are {', '.join(str(v.id) for v in versions) or 'none'}")
            old, new = by_id[args.versions[0]], by_id[args.versions[1]]
        elif len(versions) < 2:
            raise ValidationError(f"source '{args.source}' has {len(versions)} version(s); a diff needs two")
        else:
            old, new = versions[-2], versions[-1]
        if old.text is None or new.text is None:
            raise ValidationError("one of these versions has no stored text (seed versions carry only quotes); "
                                  "see the Changes page for their recorded change events")
        label = lambda v: f"v{v.id} {v.version_label or ''} ({v.published_on or v.fetched_at.date()})"  # noqa: E731
        changes = detect_changes(old.text, new.text)
        print(render_diff_report(old.text, new.text, changes, old_label=label(old), new_label=label(new)))
    return 0


@command
def _register_build_seed(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("build-seed", help="rebuild data/seed/ from a corpus folder with the pipeline")
    parser.add_argument("--corpus", default=str(PROJECT_ROOT.parent / "shared" / "corpus"), help="folder of *.txt")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "data" / "seed"), help="where to write the seed")
    parser.add_argument("--as-of", type=_parse_date, help="the date the seed speaks for (default today)")
    parser.set_defaults(handler=cmd_build_seed)


def cmd_build_seed(args: argparse.Namespace) -> int:
    from tracker.seedbuild import build_seed

    manifest = build_seed(Path(args.corpus), Path(args.out), as_of=args.as_of)
    _print_json(manifest)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except TrackerError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


# --------------------------------------------------------------------------------------------- mapping
# `eval` has one sub-command per task (`eval mapping`, `eval changes`, ...). A task registers itself with
# `@eval_task`, the same way commands register with `@command`, so tasks can live next to each other.

from tracker.config import PROJECT_ROOT  # noqa: E402

DEFAULT_MAPPING_EVAL_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "passages.jsonl"
DEFAULT_PAIRS_EVAL_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "pairs.jsonl"

EVAL_TASKS: list[Callable[[argparse._SubParsersAction], None]] = []


def eval_task(func: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    EVAL_TASKS.append(func)
    return func


def _read_classify_input(stream: TextIO) -> list[tuple[object, str]]:
    items = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"stdin line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            raise ValidationError(f'stdin line {number}: expected {{"id": ..., "text": "..."}}')
        items.append((row["id"], row["text"]))
    return items


def _classify(args: argparse.Namespace) -> int:
    from tracker.mapping import classify_passages

    items = _read_classify_input(sys.stdin)
    results = classify_passages(args.framework, [text for _, text in items])
    for (item_id, _), ranked in zip(items, results, strict=True):
        _print_json({"id": item_id, "commitments": [{"id": c, "score": s} for c, s in ranked]})
    return 0


@command
def _register_classify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="which commitments each passage evidences (JSONL on stdin)")
    p.add_argument("--framework", required=True, help="framework id, e.g. seoul-2024")
    p.set_defaults(handler=_classify)


CONTENT_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html"}


def _document_text(path: Path) -> str:
    """Text of a local file: .txt/.md as is, PDF and HTML through the scrapers' extractor."""
    if not path.is_file():
        raise ValidationError(f"file {path} not found")
    body = path.read_bytes()
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{path}: not UTF-8 text; pass a .pdf, .html or UTF-8 .txt file") from exc
    try:
        from scrapers.extract import extract
    except ImportError as exc:
        raise ValidationError(f"{path}: reading {path.suffix} files needs scrapers.extract, which is missing") from exc
    return extract(body, content_type, path.resolve().as_uri()).text


def _score_document(args: argparse.Namespace) -> int:
    from tracker.mapping import map_document, mapping_as_dict

    _print_json(mapping_as_dict(map_document(_document_text(Path(args.path)), args.framework)))
    return 0


@command
def _register_score_document(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score-document", help="map one file (PDF, HTML or text) onto a framework, no storing")
    p.add_argument("path", help="the document")
    p.add_argument("--framework", required=True, help="framework id, e.g. seoul-2024")
    p.set_defaults(handler=_score_document)


def _eval_mapping(args: argparse.Namespace) -> int:
    from tracker.mapping_eval import (
        EXPERT_DATA_ATTRIBUTION,
        evaluate_classification,
        format_report,
        read_labelled,
    )

    path = Path(args.file) if args.file else DEFAULT_MAPPING_EVAL_FILE
    report = evaluate_classification(read_labelled(path), args.framework)
    report["data"] = str(path.name)
    if path.resolve() == DEFAULT_MAPPING_EVAL_FILE.resolve():
        report["attribution"] = EXPERT_DATA_ATTRIBUTION
    return _emit_report(args, report, format_report(report) + "\n")


@eval_task
def _register_eval_mapping(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("mapping", help="top-1 agreement of passage classification with labelled passages")
    p.add_argument("--file", help=f"labelled JSONL (default {DEFAULT_MAPPING_EVAL_FILE})")
    p.add_argument("--framework", default="seoul-2024", help="framework id (default seoul-2024)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", help="also write the JSON report to this path (e.g. data/metrics/mapping.json)")
    p.set_defaults(handler=_eval_mapping)


@command
def _register_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="scores on a labelled file, per class and overall")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for register in EVAL_TASKS:
        register(tasks)


# ------------------------------------------------------------------------------------- change analysis


def _compare_passages(args: argparse.Namespace) -> int:
    from tracker.changes import compare_passages

    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"stdin line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row:
            raise ValidationError(f'stdin line {number}: expected an object with "id", "old" and "new"')
        old, new = row.get("old") or "", row.get("new") or ""
        if not isinstance(old, str) or not isinstance(new, str):
            raise ValidationError(f'stdin line {number}: "old" and "new" must be strings')
        comparison = compare_passages(old, new)
        _print_json({
            "id": row["id"],
            "direction": comparison.direction,
            "reasons": [{"code": r.code, "detail": r.detail} for r in comparison.reasons],
            "similarity": comparison.similarity,
        })
    return 0


@command
def _register_compare_passages(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare-passages",
        help="direction of change for passage pairs (JSONL on stdin: {id, old, new})",
        description='Reads {"id","old","new"} lines on stdin (old or new may be empty); writes '
        '{"id","direction","reasons"} lines on stdout.',
    )
    parser.set_defaults(handler=_compare_passages)


def _eval_changes(args: argparse.Namespace) -> int:
    from tracker.changes_eval import evaluate_pairs, format_report, load_pairs

    path = Path(args.file) if args.file else DEFAULT_PAIRS_EVAL_FILE
    result = evaluate_pairs(load_pairs(path))
    result["file"] = path.name
    return _emit_report(args, result, format_report(result))


@eval_task
def _register_eval_changes(tasks: argparse._SubParsersAction) -> None:
    parser = tasks.add_parser("changes", help="direction of change against labelled version pairs")
    parser.add_argument("--file", help=f"labelled JSONL (default {DEFAULT_PAIRS_EVAL_FILE})")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the full result as JSON to PATH")
    parser.set_defaults(handler=_eval_changes)


# ------------------------------------------------------------------------------------------ operations


@command
def _register_config(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show and validate the effective settings")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="print the effective settings (secrets masked); exit 2 on a bad value")
    check.add_argument("--connect", action="store_true", help="also connect to the database and report its schema")
    check.set_defaults(handler=cmd_config_check)


def cmd_config_check(args: argparse.Namespace) -> int:
    from tracker.config import effective_settings, load_settings, settings_file, unknown_variables

    settings = load_settings()
    path = settings_file()
    print(f"settings file: {path or 'none (set TRACKER_SETTINGS_FILE to use one)'}")
    for variable, value, origin in effective_settings(settings):
        print(f"{variable:28} {value}  [{origin}]")
    for name in unknown_variables():
        print(f"warning: {name} is set but no setting reads it (a typo?)")
    if args.connect:
        import sqlalchemy as sa

        from tracker.db import get_engine

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

# ------------------------------------------------------------------------------------- accounts and audit
# The command line acts as `tracker.auth.command_line_actor()`: an admin that exists only in memory.


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
    from tracker import auth
    from tracker.db import session_scope

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
            _print_json([
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
def _register_alerts(sub: argparse._SubParsersAction) -> None:
    from tracker.alerts import EVENTS

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
    from tracker.alerts import describe, subscribe
    from tracker.config import get_settings
    from tracker.db import session_scope

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
    from tracker.alerts import describe, unsubscribe
    from tracker.db import session_scope

    with session_scope() as session:
        subscription = unsubscribe(session, args.id)
        print(f"subscription {subscription.id} stopped: {describe(subscription)}")
    return 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from tracker import models as m
    from tracker.alerts import describe, subscriptions_with_counts
    from tracker.db import session_scope

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
    from tracker.alerts import deliver_pending
    from tracker.db import get_engine

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
    from tracker.backup import backup
    from tracker.db import get_engine

    result = backup(get_engine(), Path(args.path))
    rows = sum(result.tables.values())
    print(f"backup written to {result.path}: {rows} rows in {len(result.tables)} tables, {result.raw_files} raw file(s)")
    if result.missing_raw:
        print(f"note: {len(result.missing_raw)} referenced raw file(s) are not in the raw store (seed versions ship "
              "without documents) and are not in the archive")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from tracker.backup import restore
    from tracker.db import get_engine

    counts = restore(get_engine(), Path(args.path), force=args.force)
    print(f"restored {sum(counts.values())} rows in {len(counts)} tables from {args.path}")
    return 0


@command
def _register_user(sub: argparse._SubParsersAction) -> None:
    from tracker.auth import INVITATION_HOURS, ROLES

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
    from tracker.audit import export_audit
    from tracker.auth import command_line_actor
    from tracker.db import session_scope

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


# ------------------------------------------------------------------------------- stocktake, open data, feeds


@command
def _register_export(sub: argparse._SubParsersAction) -> None:
    from tracker.exports import FORMATS

    parser = sub.add_parser(
        "export", help="stocktake of a framework as of a date, with what changed since another date",
        description="CSV goes to a folder of CSVs, or to a ZIP when --out ends in .zip; json, xlsx and html "
        "(a self-contained printable report) go to the file --out.",
    )
    parser.add_argument("--as-of", type=_parse_date, required=True, help="levels as of this date (YYYY-MM-DD)")
    parser.add_argument("--since", type=_parse_date, required=True,
                        help="report what changed after this date (e.g. 2025-02-10, the Paris summit)")
    parser.add_argument("--framework", default="seoul-2024", help="framework id (default seoul-2024)")
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--out", required=True, help="output file (or folder for csv)")
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from tracker.db import session_scope
    from tracker.exports import write_stocktake
    from tracker.stocktake import build_stocktake

    with session_scope() as session:
        stocktake = build_stocktake(session, args.framework, args.as_of, args.since)
    written = write_stocktake(stocktake, args.format, Path(args.out))
    print(f"stocktake of {stocktake.framework_id} as of {stocktake.as_of} since {stocktake.since}: "
          f"{len(stocktake.companies)} signatories, {len(stocktake.changes)} changes")
    for path in written:
        print(f"wrote {path}")
    return 0


@command
def _register_export_all(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export-all", help="open data: every public table as CSV, JSON and SQLite, "
                            "with a data dictionary and licences")
    parser.add_argument("--out", required=True, help="output folder")
    parser.set_defaults(handler=cmd_export_all)


def cmd_export_all(args: argparse.Namespace) -> int:
    from tracker.db import get_engine
    from tracker.exports import export_all

    out = Path(args.out)
    counts = export_all(get_engine(), out)
    print(f"wrote {out}: {sum(counts.values())} rows in {len(counts)} tables "
          f"(csv/, tracker.json, tracker.sqlite, DATA_DICTIONARY.md, LICENCES.md, SHA256SUMS)")
    return 0


@command
def _register_feed(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("feed", help="Atom feed of new versions and flagged changes")
    parser.add_argument("--out", help="write one feed to this file (all companies, or --company)")
    parser.add_argument("--company", help="only this company (company id)")
    parser.add_argument("--per-company", metavar="DIR", help="write all.xml and one <company>.xml per company")
    parser.add_argument("--limit", type=int, default=200, help="entries per feed (default 200, newest first)")
    parser.set_defaults(handler=cmd_feed)


def cmd_feed(args: argparse.Namespace) -> int:
    from tracker.db import session_scope
    from tracker.feeds import write_feeds

    with session_scope() as session:
        written = write_feeds(session, out=Path(args.out) if args.out else None, company_id=args.company,
                              per_company=Path(args.per_company) if args.per_company else None,
                              limit=args.limit)
    print(f"wrote {len(written)} feed(s): {written[0]}" + (" ..." if len(written) > 1 else ""))
    return 0


# ------------------------------------------------------------------------------------- level agreement

DEFAULT_CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus"


def _eval_levels(args: argparse.Namespace) -> int:
    from tracker.mapping_eval import evaluate_levels, format_levels_report

    report = evaluate_levels(Path(args.corpus), Path(args.reviews) if args.reviews else None)
    report["corpus"] = Path(args.corpus).name
    return _emit_report(args, report, format_levels_report(report) + "\n")


@eval_task
def _register_eval_levels(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("levels", help="agreement of mapped document levels with the reviewed levels")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help=f"folder of *.txt (default {DEFAULT_CORPUS_DIR})")
    p.add_argument("--reviews", help="folder of review *.yaml (default data/reviews)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", help="also write the JSON report to this path (e.g. data/metrics/levels.json)")
    p.set_defaults(handler=_eval_levels)
