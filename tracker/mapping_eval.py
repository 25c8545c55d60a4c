"""Agreement of passage classification with labelled passages (the `eval mapping` command).

Rows are ``{"id", "text", "commitment", "provider"?, "framework"?}``; ``commitment`` is a commitment id or
``"none"`` for text that should map to nothing. Top-1 means the best commitment returned by
`classify_passages` (or "none" when it returns nothing) must equal the label.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from tracker.errors import ValidationError
from tracker.mapping import METHOD_VERSION, classify_passages, load_rubric
from tracker.metrics import classification_report

NO_COMMITMENT = "none"
EXPERT_DATA_ATTRIBUTION = (
    "Expert-coded passages: Frontier Safety Framework Corpus coding study (L. Y. Zhu, 2026), CC BY 4.0"
)


def read_labelled(path: Path) -> list[dict]:
    """Labelled rows of a JSONL file; a bad line raises ValidationError naming the file and line number."""
    if not path.is_file():
        raise ValidationError(f"labelled file {path} not found (pass --file PATH)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path}, line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(
            row.get("commitment"), str
        ):
            raise ValidationError(f"{path}, line {number}: needs string fields 'text' and 'commitment'")
        rows.append(row)
    return rows


def _framework_of(row: dict) -> str | None:
    if row.get("framework"):
        return str(row["framework"])
    label = row["commitment"]
    return label.split("/")[0] if "/" in label else None


def evaluate_classification(rows: Iterable[dict], framework_id: str) -> dict:
    """Per-commitment top-1 precision/recall/F1, confusion, overall top-1 (and top-2) accuracy, per provider."""
    rubric = load_rubric(framework_id)
    selected = [r for r in rows if _framework_of(r) in (framework_id, None)]
    if not selected:
        raise ValidationError(f"no labelled rows for framework {framework_id!r}")
    results = classify_passages(framework_id, [r["text"] for r in selected])
    gold = [r["commitment"] for r in selected]
    predicted = [ranked[0][0] if ranked else NO_COMMITMENT for ranked in results]
    labels = [c.id for c in rubric.commitments] + [NO_COMMITMENT]
    report = classification_report(gold, predicted, labels).as_dict()
    top2 = sum(g in [c for c, _ in ranked[:2]] or (g == NO_COMMITMENT and not ranked)
               for g, ranked in zip(gold, results, strict=True))
    by_provider: dict[str, list[bool]] = defaultdict(list)
    for row, g, p in zip(selected, gold, predicted, strict=True):
        by_provider[str(row.get("provider", "unknown"))].append(g == p)
    return {
        "framework": framework_id,
        "method": METHOD_VERSION,
        "n": report["n"],
        "top1_accuracy": report["accuracy"],
        "top2_accuracy": round(top2 / len(gold), 4),
        "macro_f1": report["macro_f1"],
        "per_commitment": report["per_class"],
        "confusion": report["confusion"],
        "per_provider": {p: {"n": len(v), "top1_accuracy": round(sum(v) / len(v), 4)}
                         for p, v in sorted(by_provider.items())},
    }


def format_report(report: dict, labels: Sequence[str] | None = None) -> str:
    """A plain-text table of the report for the terminal."""
    lines = [f"{'commitment':<22}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}"]
    for row in report["per_commitment"]:
        if labels and row["label"] not in labels:
            continue
        lines.append(f"{row['label']:<22}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>8.3f}"
                     f"{row['support']:>9}")
    lines.append(f"top-1 accuracy {report['top1_accuracy']:.3f}   top-2 accuracy {report['top2_accuracy']:.3f}   "
                 f"macro F1 {report['macro_f1']:.3f}   n={report['n']}   method {report['method']}")
    providers = ", ".join(f"{p} {v['top1_accuracy']:.3f} (n={v['n']})" for p, v in report["per_provider"].items())
    lines.append(f"per provider: {providers}")
    return "\n".join(lines)
