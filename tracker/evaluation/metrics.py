"""Agreement metrics shared by every `eval` command (mapping and change detection)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class ClassReport:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    """Per-class precision/recall/F1, accuracy and a confusion matrix (gold rows, predicted columns)."""

    labels: list[str]
    per_class: list[ClassReport]
    accuracy: float
    macro_f1: float
    n: int
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": [
                {
                    "label": c.label,
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.per_class
            ],
            "confusion": self.confusion,
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def classification_report(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> EvalReport:
    """Score predictions against gold labels; labels absent from both still get a (zero) row."""
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} items but predicted has {len(predicted)}")
    all_labels = list(labels) if labels else sorted(set(gold) | set(predicted))
    for extra in sorted((set(gold) | set(predicted)) - set(all_labels)):
        all_labels.append(extra)
    pairs = Counter(zip(gold, predicted, strict=True))
    confusion = {g: {p: pairs.get((g, p), 0) for p in all_labels} for g in all_labels}
    per_class = []
    for label in all_labels:
        tp = pairs.get((label, label), 0)
        predicted_n = sum(pairs.get((g, label), 0) for g in all_labels)
        gold_n = sum(pairs.get((label, p), 0) for p in all_labels)
        precision, recall = _ratio(tp, predicted_n), _ratio(tp, gold_n)
        f1 = _ratio(2 * precision * recall, precision + recall) if precision + recall else 0.0
        per_class.append(ClassReport(label, precision, recall, f1, gold_n))
    correct = sum(n for (g, p), n in pairs.items() if g == p)
    supported = [c for c in per_class if c.support]
    macro = sum(c.f1 for c in supported) / len(supported) if supported else 0.0
    return EvalReport(all_labels, per_class, _ratio(correct, len(gold)), macro, len(gold), confusion)
