"""Passage classifier: fitting, the JSON artefact, run-time prediction and the leave-one-provider-out report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import EVAL_DIR

from tracker.analysis import classifier
from tracker.core.errors import NotFoundError, ValidationError

EVAL = Path(os.environ.get("TRACKER_EVAL_DIR") or EVAL_DIR)

TOY = [
    ("Anthropic", "We will pause training if the model crosses the capability threshold.", "seoul-2024/IV"),
    ("Anthropic", "We will halt deployment and pause scaling when safeguards are insufficient.", "seoul-2024/IV"),
    ("Anthropic", "Model weights are protected with access controls and encryption against theft.", "seoul-2024/III"),
    ("Anthropic", "Security controls guard the weights against insider threats and exfiltration.", "seoul-2024/III"),
    ("Meta", "We pause development and do not release a model that crosses a critical threshold.", "seoul-2024/IV"),
    ("Meta", "Weights are kept secure with encryption, access controls and insider threat monitoring.", "seoul-2024/III"),
    ("Meta", "We stop training and halt release when the threshold is crossed.", "seoul-2024/IV"),
    ("Meta", "Strict access controls and encryption protect model weights from theft.", "seoul-2024/III"),
]


def _toy_rows() -> list[dict]:
    return [{"provider": p, "text": t, "commitment": c} for p, t, c in TOY]


def _fit_toy() -> classifier.PassageClassifier:
    rows = _toy_rows()
    texts = [r["text"] for r in rows]
    matrix, names = classifier.default_rubric_features(texts)
    return classifier.fit(texts, [r["commitment"] for r in rows], matrix, names, min_df=1)


def test_fit_predicts_the_commitment_a_passage_is_about() -> None:
    model = _fit_toy()
    texts = ["If a threshold is crossed we will pause training.", "We encrypt model weights and limit access."]
    matrix, _ = classifier.default_rubric_features(texts)
    proba = model.predict_proba(texts, matrix)
    assert proba.shape == (2, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert [model.labels[i] for i in proba.argmax(axis=1)] == ["seoul-2024/IV", "seoul-2024/III"]


def test_artefact_round_trip_gives_the_same_probabilities(tmp_path: Path) -> None:
    model = _fit_toy()
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    loaded = classifier.load_classifier(path)
    texts = ["We will halt deployment.", "Weights are encrypted."]
    matrix, _ = classifier.default_rubric_features(texts)
    assert np.allclose(loaded.predict_proba(texts, matrix), model.predict_proba(texts, matrix), atol=1e-5)


def test_text_features_match_scikit_learn_tfidf() -> None:
    """The run-time TF-IDF (no scikit-learn at run time) equals TfidfVectorizer's on the training texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [t for _, t, _ in TOY]
    vectorizer = TfidfVectorizer(analyzer=classifier.default_terms, sublinear_tf=True, min_df=1)
    expected = vectorizer.fit_transform(texts).toarray()
    model = _fit_toy()
    order = [model.vocabulary[t] for t in vectorizer.get_feature_names_out()]
    assert np.allclose(model.text_matrix(texts).toarray()[:, order], expected)


def test_bad_artefacts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="build-classifier"):
        classifier.load_classifier(tmp_path / "missing.json")
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"version": "passage-lr-0"}), encoding="utf-8")
    with pytest.raises(ValidationError, match="rebuild"):
        classifier.load_classifier(stale)
    with pytest.raises(ValidationError, match="two commitments"):
        classifier.fit(["a b c"], ["seoul-2024/I"], np.zeros((1, 2)), ["x", "y"])


def test_shipped_artefact_is_small_and_loads() -> None:
    path = classifier.DEFAULT_ARTEFACT
    assert path.stat().st_size < 5_000_000
    model = classifier.load_classifier(path)
    assert set(model.labels) >= {"seoul-2024/I", "seoul-2024/II", "seoul-2024/IV"}
    assert model.meta["n"] > 0 and model.meta["providers"]


def test_lopo_report_on_toy_rows_names_every_method() -> None:
    report = classifier.evaluate_lopo(_toy_rows(), min_df=1)
    assert set(report["methods"]) == {"majority", "naive_bayes", "tfidf_lr", "rubric_lr", "text_lr", "combined",
                                      "tracker"}
    combined = report["methods"]["combined"]
    assert combined["n"] == len(TOY) and set(combined["per_provider"]) == {"Anthropic", "Meta"}
    assert combined["top1_ci95"][0] <= combined["top1"] <= combined["top1_ci95"][1]


@pytest.mark.skipif(not (EVAL / "passages.jsonl").exists(), reason="../shared/eval is not present")
def test_combined_beats_the_rubric_mapper_leave_one_provider_out() -> None:
    rows = classifier.read_passages(EVAL / "passages.jsonl")
    from tracker.analysis.mapping import load_rubric

    ids = [c.id for c in load_rubric("seoul-2024").commitments]
    report = classifier.evaluate_lopo(rows, rubric_ranker=classifier.default_rubric_ranker, commitment_ids=ids)
    methods = report["methods"]
    assert methods["combined"]["top1"] >= methods["rubric_mapper"]["top1"] + 0.05
    assert methods["tracker"]["top1"] >= methods["rubric_mapper"]["top1"] + 0.05
    assert methods["combined"]["top1"] > methods["tfidf_lr"]["top1"]
    assert methods["combined"]["top1"] > methods["naive_bayes"]["top1"]
    assert methods["combined"]["top1"] > methods["majority"]["top1"]
