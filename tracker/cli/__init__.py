"""`python -m tracker ...`: one sub-command per operation; every handler calls the domain and prints.

Handlers return an exit code. A TrackerError anywhere becomes a one-line message on stderr and exit 2.
Commands live in one module per family (`ingest`, `analysis`, `publish`, `accounts`, `ops`) and register
themselves with `tracker.cli.base.command`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tracker.cli import accounts, analysis, ingest, ops, publish  # noqa: F401  (they register their commands)
from tracker.cli.base import EXIT_LOCK_BUSY, REGISTRARS
from tracker.core.errors import TrackerError

__all__ = ["EXIT_LOCK_BUSY", "build_parser", "main"]
FAMILY_ORDER = ("ingest", "analysis", "publish", "accounts", "ops")  # the order of `--help` and the README


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tracker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in sorted(REGISTRARS, key=lambda r: FAMILY_ORDER.index(r.__module__.rsplit(".", 1)[-1])):
        register(sub)
    return parser


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

