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


# --- change analysis -------------------------------------------------------------------------------------

PROJECT_ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = PROJECT_ROOT.parent / "shared" / "eval" / "pairs.jsonl"


def _compare_passages(args: argparse.Namespace) -> int:
    from tracker.changes import compare_passages
    from tracker.errors import ValidationError

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
        })  # fmt: skip
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
    from pathlib import Path

    from tracker.changes_eval import evaluate_pairs, format_report, load_pairs

    result = evaluate_pairs(load_pairs(Path(args.file)))
    result["file"] = str(args.file)
    if args.save:
        save = Path(args.save)
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.json:
        _print_json(result)
    else:
        sys.stdout.write(format_report(result))
    return 0


@command
def _register_eval_changes(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="scores on a labelled file, per class and overall")
    parser.add_argument("task", choices=["changes"], help="what to evaluate")
    parser.add_argument("--file", default=str(DEFAULT_PAIRS), help="labelled JSONL (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the full result as JSON to PATH")
    parser.set_defaults(handler=_eval_changes)
