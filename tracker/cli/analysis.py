"""Commands that analyse text and measure agreement: classify, score-document, compare-passages, eval."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from tracker.cli.base import (
    DEFAULT_CORPUS_DIR,
    DEFAULT_MAPPING_EVAL_FILE,
    DEFAULT_PAIRS_EVAL_FILE,
    EVAL_TASKS,
    command,
    emit_report,
    eval_task,
    print_json,
)
from tracker.core.config import get_settings
from tracker.core.errors import ValidationError
from tracker.core.jsonl import iter_jsonl


def _read_classify_input(stream: TextIO) -> list[tuple[object, str]]:
    items = []
    for number, row in iter_jsonl(stream, "stdin"):
        if "id" not in row or not isinstance(row.get("text"), str):
            raise ValidationError(f'stdin, line {number}: expected {{"id": ..., "text": "..."}}')
        items.append((row["id"], row["text"]))
    return items


def _classify(args: argparse.Namespace) -> int:
    from tracker.analysis.mapping import classify_passages

    items = _read_classify_input(sys.stdin)
    results = classify_passages(args.framework, [text for _, text in items])
    for (item_id, _), ranked in zip(items, results, strict=True):
        print_json({"id": item_id, "commitments": [{"id": c, "score": s} for c, s in ranked]})
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
        from scrapers.build import build_capture
    except ImportError as exc:
        raise ValidationError(f"{path}: reading {path.suffix} files needs scrapers.extract, which is missing") from exc
    return build_capture(body, content_type, path.resolve().as_uri()).text


def _score_document(args: argparse.Namespace) -> int:
    from tracker.analysis.mapping import map_document, mapping_as_dict

    print_json(mapping_as_dict(map_document(_document_text(Path(args.path)), args.framework)))
    return 0


@command
def _register_score_document(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score-document", help="map one file (PDF, HTML or text) onto a framework, no storing")
    p.add_argument("path", help="the document")
    p.add_argument("--framework", required=True, help="framework id, e.g. seoul-2024")
    p.set_defaults(handler=_score_document)


def _eval_mapping(args: argparse.Namespace) -> int:
    from tracker.evaluation.mapping_eval import (
        EXPERT_DATA_ATTRIBUTION,
        evaluate_classification,
        evaluate_lopo,
        format_lopo,
        format_report,
        in_sample,
        read_labelled,
    )

    path = Path(args.file) if args.file else DEFAULT_MAPPING_EVAL_FILE
    rows = read_labelled(path)
    report = evaluate_classification(rows, args.framework)
    report["data"] = str(path.name)
    if path.resolve() == DEFAULT_MAPPING_EVAL_FILE.resolve():
        report["attribution"] = EXPERT_DATA_ATTRIBUTION
    report["in_sample"] = in_sample(rows)
    text = format_report(report)
    if report["in_sample"]:
        text += "\n(in-sample: the shipped classifier was trained on these passages; quote --lopo figures)"
    if args.lopo:
        report["lopo"] = evaluate_lopo(rows, args.framework)
        text += "\n\n" + format_lopo(report["lopo"])
    return emit_report(args, report, text + "\n")


@eval_task
def _register_eval_mapping(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("mapping", help="top-1 agreement of passage classification with labelled passages")
    p.add_argument("--file", help=f"labelled JSONL (default {DEFAULT_MAPPING_EVAL_FILE})")
    p.add_argument("--framework", default="seoul-2024", help="framework id (default seoul-2024)")
    p.add_argument("--lopo", action="store_true",
                   help="also score leave-one-provider-out (refits per provider, with baselines; about a minute)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", help="also write the JSON report to this path (e.g. data/metrics/mapping.json)")
    p.set_defaults(handler=_eval_mapping)


def _build_classifier(args: argparse.Namespace) -> int:
    from tracker.analysis.build import build

    eval_dir = Path(args.eval_dir) if args.eval_dir else DEFAULT_MAPPING_EVAL_FILE.parent
    print_json(build(eval_dir))
    return 0


@command
def _register_build_classifier(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-classifier",
                       help="retrain the passage classifier and the change-direction model (data/models/)")
    p.add_argument("--eval-dir", help=f"folder with passages.jsonl and pairs.jsonl "
                                      f"(default {DEFAULT_MAPPING_EVAL_FILE.parent})")
    p.set_defaults(handler=_build_classifier)


@command
def _register_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="scores on a labelled file, per class and overall")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for register in EVAL_TASKS:
        register(tasks)





def _compare_passages(args: argparse.Namespace) -> int:
    from tracker.analysis.changes import compare_passages

    for number, row in iter_jsonl(sys.stdin, "stdin"):
        if "id" not in row:
            raise ValidationError(f'stdin, line {number}: expected an object with "id", "old" and "new"')
        old, new = row.get("old") or "", row.get("new") or ""
        if not isinstance(old, str) or not isinstance(new, str):
            raise ValidationError(f'stdin, line {number}: "old" and "new" must be strings')
        comparison = compare_passages(old, new)
        print_json({
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
    from tracker.evaluation.changes_eval import evaluate_pairs, format_report, load_pairs

    path = Path(args.file) if args.file else DEFAULT_PAIRS_EVAL_FILE
    result = evaluate_pairs(load_pairs(path))
    result["file"] = path.name
    return emit_report(args, result, format_report(result))


@eval_task
def _register_eval_changes(tasks: argparse._SubParsersAction) -> None:
    parser = tasks.add_parser("changes", help="direction of change against labelled version pairs")
    parser.add_argument("--file", help=f"labelled JSONL (default {DEFAULT_PAIRS_EVAL_FILE})")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the full result as JSON to PATH")
    parser.set_defaults(handler=_eval_changes)






def _eval_announcements(args: argparse.Namespace) -> int:
    from tracker.core.config import get_settings
    from tracker.evaluation.announcement_eval import evaluate_announcements, format_announcement_report
    from tracker.evaluation.changes_eval import load_pairs

    path = Path(args.file) if args.file else DEFAULT_PAIRS_EVAL_FILE
    result = evaluate_announcements(load_pairs(path), Path(args.corpus), get_settings().catalog_dir)
    result["file"] = path.name
    return emit_report(args, result, format_announcement_report(result))


@eval_task
def _register_eval_announcements(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("announcements", help="announced/partly/silent/no-changelog against the pairs' labels "
                                               "(leave-one-provider-out)")
    p.add_argument("--file", help=f"labelled JSONL (default {DEFAULT_PAIRS_EVAL_FILE})")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help=f"corpus folder (default {DEFAULT_CORPUS_DIR})")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--save", metavar="PATH", help="also write the full result as JSON to PATH")
    p.set_defaults(handler=_eval_announcements)


def _eval_levels(args: argparse.Namespace) -> int:
    from tracker.evaluation.mapping_eval import evaluate_levels, format_levels_report

    report = evaluate_levels(Path(args.corpus), Path(args.reviews) if args.reviews else None)
    report["corpus"] = Path(args.corpus).name
    return emit_report(args, report, format_levels_report(report) + "\n")


@eval_task
def _register_eval_levels(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("levels", help="agreement of mapped document levels with the reviewed levels")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help=f"folder of *.txt (default {DEFAULT_CORPUS_DIR})")
    p.add_argument("--reviews", help="folder of review *.yaml (default data/reviews)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", help="also write the JSON report to this path (e.g. data/metrics/levels.json)")
    p.set_defaults(handler=_eval_levels)


def _eval_reviewers(args: argparse.Namespace) -> int:
    from tracker.evaluation.agreement import format_reader_report, reader_agreement

    first = Path(args.first) if args.first else get_settings().catalog_dir / "reviews"
    second = Path(args.second) if args.second else first / "second-reading"
    report = reader_agreement(first, second)
    return emit_report(args, report, format_reader_report(report))


@eval_task
def _register_eval_reviewers(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser("reviewers", help="agreement between the first and the independent second reading of levels")
    p.add_argument("--first", help="folder of first-reading review *.yaml (default data/reviews)")
    p.add_argument("--second", help="folder of second-reading review *.yaml (default data/reviews/second-reading)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", help="also write the JSON report to this path (e.g. data/metrics/reviewers.json)")
    p.set_defaults(handler=_eval_reviewers)
