"""Evidence quality rules and the cell score."""

from __future__ import annotations

from tracker.analysis import evidence as ev
from tracker.analysis.cellscore import LEVEL3_MIN_SCORE, cell_score, level_with_score


def test_a_good_sentence_passes() -> None:
    assert ev.quote_problems("We will evaluate every frontier model before deployment against the thresholds "
                             "in Section 4.") == []


def test_defective_quotes_are_named() -> None:
    cases = {
        "Frontier Safety Framework Version 2.0 Page 4 of 20": "page header",
        "1. Introduction 3 2. Risk assessment 5 3. Thresholds 9 4. Governance 12": "table-of-contents",
        "Risk Category Threshold Mitigation Owner Review Cadence Status Notes": "table-header",
        "12 https://example.com/safety/report.pdf": "URL",
        "We will share results.": "fragment",
        "evaluations and other monitoring solutions along several categories, and indicating our": "whole",
        "In the previous version we required two-party access; this update changes it to a single approver.":
            "changelog",
    }
    for quote, problem in cases.items():
        assert any(problem in p for p in ev.quote_problems(quote)), quote
    assert any("changelog" in p for p in ev.quote_problems(
        "We will publish the results of every evaluation on our website.", section="Changelog"))


def test_running_headers_are_found_and_rejected() -> None:
    text = "\n".join(f"Acme Frontier Safety Framework {n}\nWe will test model number {n} before release today.\n"
                     for n in range(5))
    running = ev.running_lines(text)
    assert ev.quote_problems("Acme Frontier Safety Framework 3", running=running)


def test_repairs_broken_words() -> None:
    text = ("We will pro- vide results to the ResponsibleScaling Officer. The report will beescalated to the "
            "board. Reports are escalated. Issues are escalated. We expect scaling2 to be safe. Scaling matters; scaling again. The "
            "Responsible officer. Scaling. Pre- and post-deployment tests run.")
    repaired = ev.repair_text(text)
    for fixed in ("provide", "Responsible Scaling Officer", "be escalated", "expect scaling to"):
        assert fixed in repaired
    assert "Pre- and post-deployment" in repaired
    assert ev.repair_text("OpenAI and DeepMind publish.") == "OpenAI and DeepMind publish."


def test_whole_sentences_widens_a_span() -> None:
    text = "First one. We will evaluate models before deployment. Third."
    start, end = ev.whole_sentences(text, 15, 30)
    assert text[start:end] == "We will evaluate models before deployment."


def test_one_quote_supports_at_most_three_commitments() -> None:
    items = [("same quote", c, s) for c, s in [("I", 0.9), ("II", 0.5), ("III", 0.7), ("IV", 0.8)]]
    items.append(("other quote", "II", 0.3))
    kept = ev.cap_reuse(items, quote=lambda i: i[0], commitment=lambda i: i[1], score=lambda i: i[2])
    assert [(q, c) for q, c, _ in kept] == [("same quote", "I"), ("same quote", "III"), ("same quote", "IV"),
                                          ("other quote", "II")]


def test_cell_score_rewards_firm_specific_practice_and_withholds_level_3_from_plans() -> None:
    plan = cell_score(4, 5, 2, 2, ["We plan to develop thresholds for biological risks in the future."])
    practice = cell_score(4, 5, 2, 2, ["The Frontier Safety Committee reviews every evaluation every six months "
                                       "and halts deployment above 20% uplift."])
    assert practice.score > plan.score
    assert not plan.practice and practice.practice
    assert set(practice.kinds) == {"numbers", "named bodies", "cadences"}
    assert level_with_score(3, plan) == 2
    assert practice.score >= LEVEL3_MIN_SCORE and level_with_score(3, practice) == 3
    assert cell_score(0, 5, 0, 2, ["We will publish results of evaluations on our website."]).score <= 10
    assert 0 <= practice.score <= 100
