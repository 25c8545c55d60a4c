"""A score 0-100 per cell (company x commitment) that ranks documents where the 0-3 level ties.

Nearly half of the reviewed cells are level 3, so levels alone barely rank documents. The score adds how
firmly and how specifically the evidence commits:

* **coverage** (up to 50): the share of the commitment's indicators met, core indicators counting double;
* **firmness** (up to 25): the strongest evidence binds its author ("will", "must", present tense of practice)
  or only hedges ("aim to", "where appropriate", "would") or permits ("may"); a plan or intention ("we plan
  to", "we are developing", "in the future") earns less than practice;
* **specificity** (up to 25): named thresholds and numbers, named bodies (a committee, an officer, an outside
  institute), cadences ("every six months"), each kind counting once.

Level 3 is harder to earn: besides the rubric's own conditions it needs a score of at least `LEVEL3_MIN_SCORE`
and evidence of practice, not only of intention (`level_with_score`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.analysis.direction import _bodies, cadences, firmness, quantities

COVERAGE_POINTS = 50.0
FIRMNESS_POINTS = 25.0
SPECIFICITY_POINTS = 25.0
LEVEL3_MIN_SCORE = 70.0

INTENTION = re.compile(
    r"\b(?:plans? to|planning to|intends? to|intend(?:ing)? to|aims? to|expects? to|will (?:develop|explore|"
    r"consider|work towards?|seek to|aim to|look to|begin to|start to)|(?:are|is) (?:developing|exploring|"
    r"working (?:on|towards?)|building|designing|investigating)|in the future|over time|going forward|"
    r"future (?:work|versions?|iterations?)|not yet|have yet to|hope to|would like to|are committed to exploring)\b",
    re.I)


@dataclass(frozen=True)
class CellScore:
    score: float  # 0..100
    coverage: float
    firmness: float
    specificity: float
    practice: bool  # some evidence states practice or a binding duty, not only a plan
    kinds: tuple[str, ...]  # which kinds of specifics were found


def evidence_firmness(quote: str) -> tuple[float, bool]:
    """(0..1 firmness, states practice) of one quote: binding 1, hedged 0.5, permissive 0.2; an intention
    ("we plan to develop") is at most hedged however it is phrased."""
    level, _ = firmness(quote)
    intention = bool(INTENTION.search(quote))
    value = {3.0: 1.0, 1.5: 0.5, 0.5: 0.2}.get(level, 0.0)
    if intention:
        value = min(value, 0.5)
    return value, value >= 1.0


def specifics(quotes: Sequence[str]) -> tuple[str, ...]:
    """Kinds of specific detail in the evidence: thresholds/numbers, named bodies, cadences."""
    kinds = []
    if any(quantities(q) for q in quotes):
        kinds.append("numbers")
    if any(_bodies(q) for q in quotes):
        kinds.append("named bodies")
    if any(cadences(q) for q in quotes):
        kinds.append("cadences")
    return tuple(kinds)


def cell_score(met: int, total: int, core_met: int, core_total: int, quotes: Sequence[str]) -> CellScore:
    """The score of one cell from its indicators met and the quotes of its evidence."""
    if total <= 0:
        return CellScore(0.0, 0.0, 0.0, 0.0, False, ())
    other_total, other_met = total - core_total, met - core_met
    weight = 2.0 * core_total + other_total
    coverage = COVERAGE_POINTS * (2.0 * core_met + other_met) / weight if weight else 0.0
    firm = [evidence_firmness(q) for q in quotes]
    firmness_value = max((f for f, _ in firm), default=0.0)
    practice = any(p for _, p in firm)
    kinds = specifics(quotes)
    specificity = SPECIFICITY_POINTS * len(kinds) / 3.0
    score = coverage + FIRMNESS_POINTS * firmness_value + specificity
    if met == 0:
        score = min(score, 10.0)  # no indicator met: a mention at most
    return CellScore(round(score, 1), round(coverage, 1), round(FIRMNESS_POINTS * firmness_value, 1),
                     round(specificity, 1), practice, kinds)


def level_with_score(level: int, score: CellScore) -> int:
    """The rubric level, with level 3 withheld (2 instead) unless the score and practice earn it."""
    if level >= 3 and (score.score < LEVEL3_MIN_SCORE or not score.practice):
        return 2
    return level
