"""Leave-one-provider-out scoring and bootstrap intervals shared by the classifier and the change model.

Development figures are reported leave-one-provider-out only: every row of a provider is predicted by a model
fitted without any row of that provider, which is how the tracker meets a company it has never seen (random
k-fold lets a provider's house style leak from training into test and overstates accuracy by about 0.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20260521  # fixed, so a report is reproducible


def folds(providers: Sequence[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(provider, train mask, test mask) for each provider, in sorted order."""
    groups = np.asarray(providers)
    return [(p, groups != p, groups == p) for p in sorted(set(groups.tolist()))]


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float], n: int, *, resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95, seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile interval of `statistic(indices)` over row resamples with replacement."""
    if n == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)])
    tail = (1.0 - level) / 2.0
    return (round(float(np.quantile(values, tail)), 4), round(float(np.quantile(values, 1.0 - tail)), 4))


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Mean F1 over the classes present in `gold` (a class never predicted scores 0)."""
    g, p = np.asarray(gold, dtype=object), np.asarray(predicted, dtype=object)
    scores = []
    for label in sorted(set(g.tolist())):
        tp = float(np.sum((g == label) & (p == label)))
        precision = tp / max(1.0, float(np.sum(p == label)))
        recall = tp / max(1.0, float(np.sum(g == label)))
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def binary_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> dict:
    """Precision, recall and F1 of the positive class, with counts."""
    g, p = np.asarray(gold, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = int(np.sum(g & p))
    precision = tp / int(p.sum()) if p.sum() else 0.0
    recall = tp / int(g.sum()) if g.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": int(g.sum()), "flagged": int(p.sum()), "n": len(g)}


def f1_with_ci(gold: Sequence[bool], predicted: Sequence[bool]) -> dict:
    """`binary_scores` plus a bootstrap 95% interval for F1."""
    g, p = np.asarray(gold, dtype=bool), np.asarray(predicted, dtype=bool)
    scores = binary_scores(g, p)
    scores["f1_ci95"] = list(bootstrap_ci(lambda idx: binary_scores(g[idx], p[idx])["f1"], len(g)))
    return scores
