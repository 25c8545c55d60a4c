"""`python -m tracker ...`: one sub-command per operation; every handler calls the domain and prints.

Handlers return an exit code. A TrackerError anywhere becomes a one-line message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from tracker.errors import TrackerError

Handler = Callable[[argparse.Namespace], int]


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


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
