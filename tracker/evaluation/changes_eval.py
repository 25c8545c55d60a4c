"""Score change detection against expert-coded version pairs (`../shared/eval/pairs.jsonl`).

The number that matters is precision and recall for *weakened or removed*: those are the changes a reader must
not miss. Baselines sit beside it: always answering "reworded", the same but reading an empty side as added or
removed (which needs no analysis at all), always "weakened", and the rule set before the codebook model.

The shipped change model (`data/models/change-direction-1.json`) is fitted on the development pairs, so its
scores on that file are in-sample (`in_sample` says so). The figure to quote is `lopo`: leave-one-provider-out,
each provider's pairs judged by a model refitted without them (`tracker.analysis.direction.evaluate_lopo`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tracker.analysis.changes import compare_passages
from tracker.analysis.direction import MODEL_VERSION, evaluate_lopo, load_model
from tracker.core.errors import ValidationError
from tracker.core.jsonl import read_jsonl
from tracker.evaluation.metrics import classification_report
from tracker.store.vocabulary import DIRECTIONS, WEAKENING_DIRECTIONS

REQUIRED_FIELDS = ("old", "new", "direction")


def load_pairs(path: Path) -> list[dict]:
    """Rows of a pairs file; a missing file or a bad line is a ValidationError naming it."""
    if not path.is_file():
        raise ValidationError(f"labelled pairs file not found: {path} (pass --file PATH)")
    rows = []
    for number, row in read_jsonl(path):
        missing = [f for f in REQUIRED_FIELDS if f not in row]
        if missing:
            raise ValidationError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
        if row["direction"] not in DIRECTIONS:
            raise ValidationError(f"{path}:{number}: direction {row['direction']!r} is not one of {DIRECTIONS}")
        rows.append(row)
    if not rows:
        raise ValidationError(f"{path}: no labelled pairs in the file")
    return rows


def _binary(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g in WEAKENING_DIRECTIONS and p in WEAKENING_DIRECTIONS)
    predicted_n = sum(1 for p in predicted if p in WEAKENING_DIRECTIONS)
    gold_n = sum(1 for g in gold if g in WEAKENING_DIRECTIONS)
    precision = tp / predicted_n if predicted_n else 0.0
    recall = tp / gold_n if gold_n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": gold_n, "flagged": predicted_n}  # fmt: skip


def _empty_side_baseline(row: dict) -> str:
    if not (row["old"] or "").strip():
        return "added"
    if not (row["new"] or "").strip():
        return "removed"
    return "reworded"


def evaluate_pairs(rows: Iterable[dict]) -> dict:
    """Per-direction P/R/F1, the weakened-or-removed binary scores and the baselines, overall and per provider."""
    rows = list(rows)
    gold = [row["direction"] for row in rows]
    comparisons = [compare_passages(row["old"] or "", row["new"] or "") for row in rows]
    predicted = [c.direction for c in comparisons]
    always_reworded = ["reworded"] * len(rows)
    empty_side = [_empty_side_baseline(row) for row in rows]
    per_provider = {}
    for provider in sorted({row.get("provider", "?") for row in rows}):
        idx = [i for i, row in enumerate(rows) if row.get("provider", "?") == provider]
        per_provider[provider] = {
            "n": len(idx),
            "weakened_or_removed": _binary([gold[i] for i in idx], [predicted[i] for i in idx]),
            "baseline_empty_side": _binary([gold[i] for i in idx], [empty_side[i] for i in idx]),
        }
    reasons_by_gold: dict[str, Counter[str]] = {}
    for comparison, label in zip(comparisons, gold, strict=True):
        for reason in comparison.reasons:
            reasons_by_gold.setdefault(reason.code, Counter())[label] += 1
    return {
        "n": len(rows),
        "method": MODEL_VERSION,
        "in_sample": _in_sample(rows),
        "lopo": _lopo(rows),
        "baseline_always_weakened": _binary(gold, ["weakened"] * len(rows)),
        "directions": classification_report(gold, predicted, DIRECTIONS).as_dict(),
        "weakened_or_removed": _binary(gold, predicted),
        "baseline_always_reworded": _binary(gold, always_reworded),
        "baseline_empty_side": _binary(gold, empty_side),
        "per_provider": per_provider,
        "reason_codes_by_gold_direction": {code: dict(c) for code, c in sorted(reasons_by_gold.items())},
    }


def _in_sample(rows: Sequence[dict]) -> bool:
    """Whether these pairs are (among) those the shipped model was fitted on: same providers and size."""
    meta = load_model().meta
    providers = sorted({str(r.get("provider", "?")) for r in rows})
    both = sum(1 for r in rows if (r["old"] or "").strip() and (r["new"] or "").strip())
    return set(providers) <= set(meta.get("providers", [])) and both <= int(meta.get("n", 0))


def _lopo(rows: Sequence[dict]) -> dict:
    """The leave-one-provider-out report, or why it cannot be computed for these rows."""
    try:
        return evaluate_lopo(rows)
    except ValidationError as exc:
        return {"skipped": str(exc)}


def format_report(result: dict) -> str:
    """The scores as a small plain-text table for the terminal."""
    lines = [f"change detection on {result['n']} labelled pairs", "", "direction      precision  recall  f1    n"]
    for row in result["directions"]["per_class"]:
        lines.append(f"{row['label']:<14} {row['precision']:>9.2f}  {row['recall']:>6.2f}  {row['f1']:.2f}  "
                     f"{row['support']}")  # fmt: skip
    lines += ["", "weakened or removed            precision  recall  f1"]
    for name, key in [("tracker", "weakened_or_removed"), ("baseline: always reworded", "baseline_always_reworded"),
                      ("baseline: empty side only", "baseline_empty_side")]:  # fmt: skip
        score = result[key]
        lines.append(f"{name:<30} {score['precision']:>9.2f}  {score['recall']:>6.2f}  {score['f1']:.2f}")
    if result.get("in_sample"):
        lines.append("(in-sample: the shipped model was fitted on these pairs; quote the leave-one-provider-out "
                     "figures below)")
    lopo = result.get("lopo", {})
    if "weakened_or_removed" in lopo:
        lines += ["", f"leave-one-provider-out, n={lopo['n']} ({lopo['n_both_sides']} with both sides)",
                  "weakened or removed            precision  recall  f1    95% CI (f1)"]
        for name, scores in lopo["weakened_or_removed"].items():
            s = scores["all_pairs"]
            lines.append(f"{name:<30} {s['precision']:>9.2f}  {s['recall']:>6.2f}  {s['f1']:.2f}  "
                         f"[{s['f1_ci95'][0]:.2f}, {s['f1_ci95'][1]:.2f}]")  # fmt: skip
        per = lopo["weakened_or_removed"]["model"]["per_provider"]
        lines.append("per provider (model): " + ", ".join(f"{p} {f:.2f}" for p, f in per.items()))
        lines.append(f"Brier score (both sides) {lopo['brier_both_sides']:.3f} vs base rate "
                     f"{lopo['brier_base_rate']:.3f}")
    elif lopo:
        lines += ["", f"leave-one-provider-out: skipped ({lopo['skipped']})"]
    lines += ["", "per provider (weakened or removed)   tracker f1  baseline f1"]
    for provider, scores in result["per_provider"].items():
        lines.append(f"{provider:<36} {scores['weakened_or_removed']['f1']:>10.2f}  "
                     f"{scores['baseline_empty_side']['f1']:>11.2f}")  # fmt: skip
    return "\n".join(lines) + "\n"
