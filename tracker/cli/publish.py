"""Publishing: export, export-all, feed."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracker.cli.base import (
    command,
    parse_date,
)


@command
def _register_export(sub: argparse._SubParsersAction) -> None:
    from tracker.publish.exports import FORMATS

    parser = sub.add_parser(
        "export", help="stocktake of a framework as of a date, with what changed since another date",
        description="CSV goes to a folder of CSVs, or to a ZIP when --out ends in .zip; json, xlsx and html "
        "(a self-contained printable report) go to the file --out.",
    )
    parser.add_argument("--as-of", type=parse_date, required=True, help="levels as of this date (YYYY-MM-DD)")
    parser.add_argument("--since", type=parse_date, required=True,
                        help="report what changed after this date (e.g. 2025-02-10, the Paris summit)")
    parser.add_argument("--framework", default="seoul-2024", help="framework id (default seoul-2024)")
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--out", required=True, help="output file (or folder for csv)")
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.publish.exports import write_stocktake
    from tracker.publish.stocktake import build_stocktake

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
    from tracker.core.db import get_engine
    from tracker.publish.exports import export_all

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
    parser.add_argument("--corrections", action="store_true", help="the corrections log instead: every published "
                        "judgement a reviewer changed (with --out)")
    parser.set_defaults(handler=cmd_feed)


def cmd_feed(args: argparse.Namespace) -> int:
    from tracker.core.db import session_scope
    from tracker.publish.feeds import write_feeds

    with session_scope() as session:
        written = write_feeds(session, out=Path(args.out) if args.out else None, company_id=args.company,
                              per_company=Path(args.per_company) if args.per_company else None,
                              limit=args.limit, corrections=args.corrections)
    print(f"wrote {len(written)} feed(s): {written[0]}" + (" ..." if len(written) > 1 else ""))
    return 0


@command
def _register_search(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "search", help="find words in every evidence quote and every stored version's text",
        description="Every word must occur (word beginnings count). Quotes the levels rest on come first, then "
        "passages of stored texts; each hit prints its company, document, version and a citation link.",
    )
    parser.add_argument("query", nargs="+", help="words to find, e.g. third-party evaluation")
    parser.add_argument("--company", action="append", help="only this company id (repeatable)")
    parser.add_argument("--framework", help="only quotes on this framework's commitments (and sources mapped to it)")
    parser.add_argument("--source", help="only this source id")
    parser.add_argument("--since", type=parse_date, help="versions in effect from this date (YYYY-MM-DD)")
    parser.add_argument("--until", type=parse_date, help="versions in effect up to this date (YYYY-MM-DD)")
    parser.add_argument("--limit", type=int, default=20, help="hits to print (default 20)")
    parser.set_defaults(handler=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from tracker.core.config import get_settings
    from tracker.core.db import session_scope
    from tracker.read.cite import archived_url, permalink, text_fragment_url
    from tracker.read.search import search

    if args.limit < 1:
        print("--limit must be at least 1")
        return 2
    with session_scope() as session:
        result = search(session, " ".join(args.query), company_ids=args.company, framework_id=args.framework,
                        source_id=args.source, since=args.since, until=args.until, limit=args.limit)
    public = get_settings().public_url
    companies = sorted({h.company_name for h in result.hits})
    print(f"{len(result.hits)}{'+' if result.truncated else ''} hits for {result.query!r} from "
          f"{len(companies)} companies")
    for hit in result.hits[: args.limit]:
        snippet = "".join(f"[{text}]" if matched else text for matched, text in hit.snippet)
        where = f"{hit.company_name} · {hit.source_title} {hit.version.label}"
        if hit.commitment_id:
            where += f" · {hit.commitment_id}"
        print(f"\n{where}\n  {snippet}")
        print(f"  passage: {permalink(public, 'documents', source=hit.source_id, version=hit.version.id, find=' '.join(args.query))}")
        print(f"  live:    {text_fragment_url(hit.version.url, hit.passage, hit.version.format)}")
        print(f"  archive: {archived_url(hit.version.url, hit.version.fetched_at.date())}")
    return 0
