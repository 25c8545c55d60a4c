"""Commands that bring data in: init, refresh, import-file, import-corpus, diff, build-seed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tracker.cli.base import (
    DEFAULT_CORPUS_DIR,
    EXIT_LOCK_BUSY,
    command,
    parse_date,
    parse_datetime,
    print_json,
)
from tracker.core.config import PROJECT_ROOT
from tracker.core.errors import ValidationError


@command
def _register_init(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("init", help="migrate, load the catalog and the shipped seed (idempotent)")
    parser.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from tracker.ingest.bootstrap import initialize, row_counts

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

    from tracker.core.db import get_engine
    from tracker.core.locks import LockBusy
    from tracker.ingest.refresh import refresh
    from tracker.publish.alerts import deliver_pending

    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("fetching", total=None)
            summary = refresh(
                get_engine(), company=args.company, source=args.source, wait=args.wait, deliver_alerts=deliver_pending,
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
    parser.add_argument("--fetched-at", type=parse_datetime, help="when the copy was retrieved (ISO date)")
    parser.add_argument("--published-on", type=parse_date, help="publication date, if the file does not say")
    parser.set_defaults(handler=cmd_import_file)


def cmd_import_file(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.ingest.pipeline import import_file

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
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_CORPUS_DIR))
    parser.set_defaults(handler=cmd_import_corpus)


def cmd_import_corpus(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.ingest.pipeline import corpus_files, import_corpus

    folder = Path(args.folder)
    if not corpus_files(folder):
        raise ValidationError(f"{folder}: no corpus *.txt files to import")
    with session_scope() as session:
        result = import_corpus(session, folder, commit=session.commit)
    for outcome, source_id, name in result.imported:
        print(f"{outcome.replace('_', ' '):12} {source_id:45} {name}")
    for skipped in result.skipped:
        print(f"skipped {skipped['file']}: {skipped['reason']}")
    for name in result.missing_accounts:
        print(f"note: revision account {name} is not in {folder / 'changelogs'}; judged on the document's own changelog")
    return 0


@command
def _register_diff(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diff", help="readable report of what changed between two versions of a source")
    parser.add_argument("source", help="source id")
    parser.add_argument("versions", nargs="*", type=int, help="two version ids (default: the last two)")
    parser.set_defaults(handler=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from tracker.analysis.changes import detect_changes, render_diff_report
    from tracker.core.db import session_scope
    from tracker.store.versions import versions_in_order

    if len(args.versions) not in (0, 2):
        raise ValidationError("give two version ids, or none for the last two versions")
    with session_scope() as session:
        versions = versions_in_order(session, args.source)
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
def _register_history(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("history", help="a document's lineage: dates, labels, re-uploads, changes per step")
    parser.add_argument("source", help="source id (its renamed predecessors and successors are included)")
    parser.add_argument("--json", action="store_true", help="print the lineage as JSON")
    parser.set_defaults(handler=cmd_history)


def cmd_history(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.read.history import format_history, source_history

    with session_scope() as session:
        history = source_history(session, args.source)
        if args.json:
            print_json(history.as_dict())
        else:
            print(format_history(history), end="")
    return 0


@command
def _register_build_seed(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("build-seed", help="rebuild data/seed/ from a corpus folder with the pipeline")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help="folder of *.txt")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "data" / "seed"), help="where to write the seed")
    parser.add_argument("--as-of", type=parse_date, help="the date the seed speaks for (default today)")
    parser.set_defaults(handler=cmd_build_seed)


def cmd_build_seed(args: argparse.Namespace) -> int:
    from tracker.ingest.seedbuild import build_seed

    manifest = build_seed(Path(args.corpus), Path(args.out), as_of=args.as_of)
    print_json(manifest)
    return 0
