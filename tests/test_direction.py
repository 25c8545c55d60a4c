"""Change direction by the codebook: reasons in plain words with spans, the mixed-change rule, the model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import EVAL_DIR

from tracker.analysis import direction as d
from tracker.core.errors import ValidationError

EVAL = Path(os.environ.get("TRACKER_EVAL_DIR") or EVAL_DIR)


def _codes(old: str, new: str) -> set[str]:
    return {r.code for r in d.reasons_for(old, new)}


def _marked(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_a_longer_review_interval_is_a_weakening_in_plain_words() -> None:
    old = "We will review this framework every six months."
    new = "We will review this framework every twelve months."
    judgement = d.judge(old, new)
    assert judgement.direction == "weakened"
    reason = next(r for r in judgement.reasons if r.code == "cadence_longer")
    assert reason.text == "the review moved from every six months to every twelve months"
    assert _marked(old, reason.old_spans) == ["every six months"]
    assert _marked(new, reason.new_spans) == ["every twelve months"]
    assert "cadence_shorter" in _codes("We test models every 12 months.", "We test models every 3 months.")


def test_a_new_annual_review_is_a_strengthening() -> None:
    judgement = d.judge("We review the framework.", "We review the framework annually.")
    assert judgement.direction == "strengthened"
    assert [r.code for r in judgement.reasons] == ["cadence_added"]


def test_a_duty_becoming_a_may_is_a_weakening() -> None:
    old, new = "We must notify the board before deployment.", "We may notify the board before deployment."
    judgement = d.judge(old, new)
    assert judgement.direction == "weakened"
    reason = judgement.reasons[0]
    assert reason.text.startswith("the duty became a 'may'")
    assert _marked(old, reason.old_spans) == ["must"] and _marked(new, reason.new_spans) == ["may"]


def test_present_tense_is_as_firm_as_will() -> None:
    assert d.firmness("We run evaluations on every model.")[0] == d.firmness("We will run evaluations.")[0]
    assert d.judge("We will run evaluations on every model.", "We run evaluations on every model.").direction \
        == "reworded"


@pytest.mark.parametrize("hedge", ["would", "aim to", "where appropriate", "commercially reasonable"])
def test_hedges_weaken(hedge: str) -> None:
    new = {"would": "We would share results with the institute.",
           "aim to": "We aim to share results with the institute.",
           "where appropriate": "We will share results with the institute where appropriate.",
           "commercially reasonable": "We will make commercially reasonable efforts to share results with the "
                                      "institute."}[hedge]
    judgement = d.judge("We will share results with the institute.", new)
    assert judgement.direction == "weakened"
    assert any(hedge in new[a:b] for r in judgement.reasons for a, b in r.new_spans)


def test_section_and_standard_numbers_are_not_thresholds() -> None:
    assert d.quantities("as described in section 7.1 and ISO 42001, SOC 2 and ASL-3") == []
    assert d.judge("We follow section 7.1 and ISO 42001 for every model.",
                   "We follow section 7.2 and ISO 27001 for every model.").direction == "reworded"
    assert [q.words for q in d.quantities("if the model scores above 50% on the benchmark")] == ["50%"]


def test_a_number_becoming_qualitative_a_shorter_list_and_a_generic_body_weaken() -> None:
    assert "number_removed" in _codes("We pause if uplift exceeds 20%.", "We pause if uplift is significant.")
    assert "list_shorter" in _codes("We evaluate biology, chemistry, cyber and autonomy risks.",
                                    "We evaluate biology and cyber risks.")
    assert "named_body_generic" in _codes("The Frontier Safety Committee approves each deployment.",
                                          "Relevant leadership approves each deployment.")
    # The same body under its abbreviation is not a loss.
    assert not any(c.startswith("named_body") for c in _codes(
        "The Responsible Scaling Officer approves it.", "The RSO approves it."))


def test_a_strengthening_never_cancels_a_weakening() -> None:
    old = "We must share results with the AI Safety Institute."
    new = "We may share results with the AI Safety Institute and with external experts every six months."
    judgement = d.judge(old, new)
    assert any(r.sign > 0 for r in judgement.reasons) and any(r.sign < 0 for r in judgement.reasons)
    assert judgement.direction == "weakened"


def test_too_dissimilar_is_removed_not_weakened() -> None:
    judgement = d.judge("Our security team protects model weights with two-party access controls.",
                        "The weather in spring is pleasant and gardens bloom.")
    assert judgement.direction == "removed"


def test_empty_sides_and_identical_text() -> None:
    assert d.judge("", "We will publish.").direction == "added"
    assert d.judge("We will publish.", "").direction == "removed"
    assert d.judge("We will  publish.", "We will publish.").direction == "reworded"


def test_model_round_trip_and_stale_model(tmp_path: Path) -> None:
    rows = [{"provider": "A", "old": "We must test.", "new": "We may test.", "direction": "weakened"},
            {"provider": "A", "old": "We will test every model.", "new": "We will test every model carefully.",
             "direction": "reworded"},
            {"provider": "B", "old": "We test.", "new": "We test annually.", "direction": "strengthened"}]
    model = d.fit_model(rows)
    assert (model.weak_coef >= 0).all()  # no feature argues against a weakening
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    assert d.load_model(path).threshold == model.threshold
    path.write_text(json.dumps({"version": "direction-lr-0"}), encoding="utf-8")
    d.load_model.cache_clear()
    with pytest.raises(ValidationError, match="rebuild"):
        d.load_model(path)


@pytest.mark.skipif(not (EVAL / "pairs.jsonl").exists(), reason="../shared/eval is not present")
def test_lopo_f1_beats_the_baselines() -> None:
    report = d.evaluate_lopo(d.read_pairs(EVAL / "pairs.jsonl"))
    scores = report["weakened_or_removed"]
    model = scores["model"]["all_pairs"]["f1"]
    assert model >= 0.70
    for baseline in ("always_weakened", "empty_side_else_weakened", "legacy_rules"):
        assert model > scores[baseline]["all_pairs"]["f1"]
    assert report["brier_both_sides"] < report["brier_base_rate"]
