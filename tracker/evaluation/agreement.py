"""Agreement between two independent readings of the same documents (reviewed levels), for the methodology page.

A cell is (company, commitment, source, valid_from). The first reading is `data/reviews/*.yaml`, the second
`data/reviews/second-reading/*.yaml` (read without seeing the first). Reported: n, exact and within-one agreement,
Cohen's kappa unweighted and with linear weights (scikit-learn), a percentile bootstrap 95% interval for exact
agreement, the confusion matrix and every disagreement with its adjudication note if the first reading has one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from tracker.core.errors import ValidationError
from tracker.core.yamlfile import load_model
from tracker.ingest.seedbuild import ReviewFile

LEVELS = (0, 1, 2, 3)
Cell = tuple[str, str, str, str]


def load_readings(folder: Path) -> dict[Cell, dict]:
    """Every reviewed cell of the review files directly in `folder` (validated like the seed build does)."""
    cells: dict[Cell, dict] = {}
    for path in sorted(folder.glob("*.yaml")):
        review, _lines = load_model(path, ReviewFile)
        for row in review.reviews:
            key = (review.company, row.commitment, row.source or "", row.valid_from.isoformat())
            if key in cells:
                raise ValidationError(f"{path}: cell {' '.join(key)} is reviewed twice")
            cells[key] = {"level": row.level, "rationale": row.rationale, "reviewer": review.reviewer}
    return cells


def bootstrap_interval(hits: np.ndarray, reps: int = 10_000, seed: int = 17) -> tuple[float, float]:
    """Percentile 95% interval of the mean of `hits`, resampling cells with replacement (fixed seed)."""
    rng = np.random.default_rng(seed)
    means = rng.choice(hits, size=(reps, len(hits)), replace=True).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def reader_agreement(first_dir: Path, second_dir: Path) -> dict:
    """The agreement report of two readings on the cells both cover (levels that are null in either are left out)."""
    first, second = load_readings(first_dir), load_readings(second_dir)
    if not second:
        raise ValidationError(f"no second-reading files in {second_dir}")
    both = sorted(k for k in second if k in first and first[k]["level"] is not None
                  and second[k]["level"] is not None)
    if not both:
        raise ValidationError("the two readings share no cell")
    a = np.array([first[k]["level"] for k in both])
    b = np.array([second[k]["level"] for k in both])
    hits = (a == b).astype(float)
    low, high = bootstrap_interval(hits)
    return {
        "protocol": "two independent readings of the same document versions against the Seoul commitments; the "
                    "second reader did not see the first; cells matched on company, commitment, source and date",
        "n": len(both),
        "second_reading_cells": len(second),
        "not_in_first_reading": [" ".join(k) for k in sorted(set(second) - set(first))],
        "exact": round(float(hits.mean()), 4),
        "exact_ci95": [round(low, 4), round(high, 4)],
        "within_one": round(float((np.abs(a - b) <= 1).mean()), 4),
        "kappa": round(float(cohen_kappa_score(a, b, labels=list(LEVELS))), 4),
        "kappa_linear": round(float(cohen_kappa_score(a, b, labels=list(LEVELS), weights="linear")), 4),
        "confusion": [[int(((a == i) & (b == j)).sum()) for j in LEVELS] for i in LEVELS],
        "disagreements": [
            {"company": k[0], "commitment": k[1], "source": k[2], "valid_from": k[3],
             "first": first[k]["level"], "second": second[k]["level"],
             "adjudicated": "adjudicated" in (first[k]["rationale"] or "").lower()}
            for k in both if first[k]["level"] != second[k]["level"]
        ],
    }


def format_reader_report(report: dict) -> str:
    lines = [
        f"cells compared: {report['n']} (second reading {report['second_reading_cells']})",
        f"exact agreement: {report['exact']:.3f} (bootstrap 95% CI {report['exact_ci95'][0]:.3f}-"
        f"{report['exact_ci95'][1]:.3f})",
        f"within one level: {report['within_one']:.3f}",
        f"Cohen's kappa: {report['kappa']:.3f} unweighted, {report['kappa_linear']:.3f} linear weights",
        "confusion (rows first reading 0-3, columns second reading 0-3):",
        *(f"  {level} {row}" for level, row in zip(LEVELS, report["confusion"], strict=True)),
        f"disagreements: {len(report['disagreements'])}",
        *(f"  {d['company']} {d['commitment']} ({d['valid_from']}): first {d['first']}, second {d['second']}"
          + (" — adjudicated" if d["adjudicated"] else "") for d in report["disagreements"]),
    ]
    return "\n".join(lines) + "\n"
