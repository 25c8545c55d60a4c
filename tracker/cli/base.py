"""What every command module shares: the registries, the handler convention and small argument parsers.

A handler takes the parsed arguments and returns an exit code; a TrackerError it raises becomes a one-line
message on stderr and exit 2 (`tracker.cli.main`). Command modules register with `@command`, `eval` tasks with
`@eval_task`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from tracker.core.config import PROJECT_ROOT

Handler = Callable[[argparse.Namespace], int]
Registrar = Callable[[argparse._SubParsersAction], None]
EXIT_LOCK_BUSY = 3  # `refresh` without --wait found another run holding the lock (documented in operations.md)
SHARED_DIR = PROJECT_ROOT.parent / "shared"
DEFAULT_CORPUS_DIR = SHARED_DIR / "corpus"
DEFAULT_MAPPING_EVAL_FILE = SHARED_DIR / "eval" / "passages.jsonl"
DEFAULT_PAIRS_EVAL_FILE = SHARED_DIR / "eval" / "pairs.jsonl"

# Each registrar adds one sub-command and sets `handler` on it.
REGISTRARS: list[Registrar] = []
EVAL_TASKS: list[Registrar] = []


def command(func: Registrar) -> Registrar:
    REGISTRARS.append(func)
    return func


def eval_task(func: Registrar) -> Registrar:
    EVAL_TASKS.append(func)
    return func


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def emit_report(args: argparse.Namespace, report: dict, text: str) -> int:
    """Shared tail of the `eval` tasks: optionally save the JSON report, then print JSON or the table."""
    if args.save:
        out = Path(args.save)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(text)
    return 0


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def parse_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or datetime (ISO 8601): {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
