"""Mapping with the trained classifier: evidence that passes the quality rules, cell scores, a harder level 3."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from conftest import DATA_DIR

from tracker.analysis.evidence import MAX_COMMITMENTS_PER_QUOTE, quote_problems
from tracker.analysis.mapping import METHOD_VERSION, classify_passages, map_document, mapping_as_dict

SEOUL = "seoul-2024"

DOCUMENT = """## Contents

1. Introduction 3 2. Risk assessment 5 3. Thresholds 9 4. Governance 12 5. Security 14

[[page 1]]

Acme Frontier Safety Framework

## Thresholds

We define capability thresholds at which severe risks would be intolerable unless adequately mitigated, for
example a model that provides expert-level uplift to a novice developing biological weapons.

We run early-warning evaluations every three months to monitor how close each model is to a threshold.

[[page 2]]

Acme Frontier Safety Framework

## Processes

If a model reaches a threshold and the required safeguards are not in place, we will not deploy it and will pause
further training; deployment proceeds only if residual risk is below the threshold.

## Security

We plan to develop security controls for unreleased model weights in the future.

[[page 3]]

Acme Frontier Safety Framework

## References

12 https://example.com/acme/safety-report.pdf
"""


def test_evidence_passes_the_quality_rules_and_the_cell_score_is_reported() -> None:
    mapping = map_document(DOCUMENT, SEOUL)
    assert mapping.method_version == METHOD_VERSION
    quotes_for: dict[str, set[str]] = defaultdict(set)
    for commitment in mapping.commitments:
        assert 0 <= commitment.cell_score <= 100
        for item in commitment.evidence:
            assert quote_problems(item.quote, section=item.section) == [], item.quote
            assert "https://" not in item.quote and "Contents" not in item.section
            quotes_for[item.quote].add(commitment.commitment_id)
    assert all(len(c) <= MAX_COMMITMENTS_PER_QUOTE for c in quotes_for.values())
    thresholds = mapping.commitment("seoul-2024/II")
    assert thresholds.level >= 2 and thresholds.cell_score > mapping.commitment("seoul-2024/VIII").cell_score
    assert "cell_score" in mapping_as_dict(mapping)["commitments"][0]


def test_a_plan_is_not_comprehensive_practice() -> None:
    plan = ("## Security\n\nWe plan to develop security controls for unreleased model weights against theft, "
            "exfiltration and insider threats, and we intend to add refusal training and misuse classifiers in the "
            "future to keep risks below the thresholds.\n\n## Thresholds\n\nWe define capability thresholds at which "
            "severe risks would be intolerable unless adequately mitigated.\n")
    assert map_document(plan, SEOUL).commitment("seoul-2024/III").level <= 2


def test_classifier_reads_threshold_passages_as_thresholds() -> None:
    (ranked,) = classify_passages(SEOUL, ["A model crosses the critical capability threshold when it can provide "
                                          "meaningful uplift to an expert developing a novel biological weapon."])
    assert ranked[0][0] == "seoul-2024/II"


def test_shipped_seed_evidence_passes_the_quality_rules() -> None:
    """The rules hold for seeds built with this method (the seed is rebuilt when the method version changes)."""
    path = DATA_DIR / "seed" / "evidence.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    current = [r for r in rows if r.get("method") == METHOD_VERSION]
    if not current:
        pytest.skip(f"data/seed was built with an earlier method than {METHOD_VERSION}; rebuild it to check")
    passing = sum(not quote_problems(r["quote"], section=r.get("section") or "") for r in current)
    assert passing / len(current) >= 0.97
    per_quote: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in current:
        per_quote[(r["source_id"], r["commitment_id"].split("/")[0], r["quote"])].add(r["commitment_id"])
    assert all(len(c) <= MAX_COMMITMENTS_PER_QUOTE for c in per_quote.values())
