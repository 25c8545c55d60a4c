"""Supervised passage classification (passage -> Seoul commitment), combined with the rubric.

The rubric scorer (`tracker.mapping`) needs no training data, but on providers it was never tuned on it picks
the right commitment for only about half the expert-coded passages: threshold passages read as risk assessment,
processes-when-thresholds-are-met are rarely recognised. Two logistic regressions are fitted on the coders'
passages (`../shared/eval/passages.jsonl`, Frontier Safety Framework Corpus coding study, L. Y. Zhu 2026,
CC BY 4.0) and their probabilities averaged:

* a **text model** on TF-IDF of stemmed content words and word pairs (what the passage talks about), and
* a **rubric model** on the rubric scorer's indicator and commitment scores (which indicators it matches), so
  the rubric's cue phrases still count for providers whose vocabulary the text model has never seen.

Both use balanced class weights: the providers' mix of commitments differs a lot (one has 77 mitigation
passages, another 3), and a model that learnt one provider's mix mislabels the next. Character n-grams and a
sentence-embedding model (all-MiniLM-L6-v2, numpy forward pass) were tried and not kept: leave-one-provider-out
they added at most 0.004 top-1 (data/methodology/mapping.md).

The fitted model is a small JSON artefact (`data/models/passage-classifier-<version>.json`: vocabulary, IDF
and coefficients, no pickles, so it loads under any scikit-learn version); `build_artefact` retrains it and
`load_classifier` reads it at run time. Applying it is plain numpy and keeps mapping above 100,000 chars/s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from tracker.analysis.lopo import bootstrap_ci, folds, macro_f1
from tracker.core.errors import NotFoundError, ValidationError
from tracker.core.jsonl import location, read_jsonl

ARTEFACT_VERSION = "passage-lr-1"
MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
DEFAULT_ARTEFACT = MODELS_DIR / f"passage-classifier-{ARTEFACT_VERSION.rsplit('-', 1)[1]}.json"
FRAMEWORK = "seoul-2024"

# Chosen leave-one-provider-out on the development passages (data/methodology/mapping.md).
TEXT_C = 1.0  # inverse regularisation of the text model
RUBRIC_C = 3.0  # of the rubric model
TEXT_WEIGHT = 0.4  # share of the text model in the averaged probabilities
MIN_DF = 3  # a term must occur in this many training passages
# At run time the classifier's probabilities are blended with the rubric's own commitment scores, so a passage the
# rubric reads clearly keeps its reading and a commitment without training passages (Seoul V) can still win.
# Leave-one-provider-out this costs 0.004 top-1 (0.576 -> 0.572) and fixes the rubric's own test paragraphs.
RUBRIC_BLEND = 0.4

# The rubric feature: (texts) -> (matrix texts x features, feature names). Injected so this module needs only
# the rubric scorer's output, not its internals.
RubricFeaturizer = Callable[[Sequence[str]], tuple[np.ndarray, list[str]]]
Tokenizer = Callable[[str], list[str]]


def default_terms(text: str) -> list[str]:
    """Stemmed content words and adjacent pairs, the same tokens the rubric scorer uses."""
    from tracker.analysis import mapping

    return mapping._content_terms(mapping._stems(text))


def default_rubric_features(texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Indicator scores and per-commitment scores of the Seoul rubric for each text."""
    from tracker.analysis import mapping

    scorer = mapping._scorer(FRAMEWORK)
    indicator_scores, _ = scorer.indicator_scores(list(texts))
    matrix = np.hstack([indicator_scores, scorer.commitment_scores(indicator_scores)])
    return matrix, [i.id for i in scorer.indicators] + list(scorer.commitment_ids)


def blend(proba: np.ndarray, labels: Sequence[str], rubric_scores: np.ndarray, commitment_ids: Sequence[str],
          rubric_weight: float = RUBRIC_BLEND) -> np.ndarray:
    """texts x commitments: (1 - w) x classifier probability + w x rubric commitment score (0..1 each)."""
    index = {cid: n for n, cid in enumerate(commitment_ids)}
    classified = np.zeros_like(rubric_scores, dtype=float)
    for j, label in enumerate(labels):
        if label in index:
            classified[:, index[label]] = proba[:, j]
    return (1.0 - rubric_weight) * classified + rubric_weight * rubric_scores


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class PassageClassifier:
    """The two fitted models and how to combine them; `predict_proba` is all the run time needs."""

    labels: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    text_coef: np.ndarray  # labels x vocabulary
    text_intercept: np.ndarray
    rubric_features: list[str]
    rubric_coef: np.ndarray  # labels x rubric features
    rubric_intercept: np.ndarray
    text_weight: float = TEXT_WEIGHT
    meta: dict = field(default_factory=dict)
    tokenizer: Tokenizer = default_terms

    def text_matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF x IDF, L2-normalised rows (as scikit-learn's TfidfVectorizer with sublinear_tf)."""
        rows, cols, values = [], [], []
        for row, text in enumerate(texts):
            counts = Counter(c for c in map(self.vocabulary.get, self.tokenizer(text)) if c is not None)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), int, len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))) * self.idf[idx]
            weights /= math.sqrt(float(weights @ weights))
            rows.extend([row] * len(idx))
            cols.extend(idx.tolist())
            values.extend(weights.tolist())
        return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), len(self.vocabulary)))

    def text_proba(self, texts: Sequence[str]) -> np.ndarray:
        return _softmax(self.text_matrix(texts) @ self.text_coef.T + self.text_intercept)

    def rubric_proba(self, rubric_matrix: np.ndarray) -> np.ndarray:
        if rubric_matrix.shape[1] != len(self.rubric_features):
            raise ValidationError(f"rubric features have {rubric_matrix.shape[1]} columns, the classifier was "
                                  f"trained on {len(self.rubric_features)} (rebuild it: build-classifier)")
        return _softmax(rubric_matrix @ self.rubric_coef.T + self.rubric_intercept)

    def predict_proba(self, texts: Sequence[str], rubric_matrix: np.ndarray) -> np.ndarray:
        """texts x labels probabilities: the weighted mean of the text and rubric models."""
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        return (self.text_weight * self.text_proba(texts)
                + (1.0 - self.text_weight) * self.rubric_proba(rubric_matrix))

    def to_json(self) -> dict:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "version": ARTEFACT_VERSION,
            "labels": self.labels,
            "text_weight": self.text_weight,
            "terms": terms,
            "idf": [round(float(v), 6) for v in self.idf],
            "text_coef": [[round(float(v), 6) for v in row] for row in self.text_coef],
            "text_intercept": [round(float(v), 6) for v in self.text_intercept],
            "rubric_features": self.rubric_features,
            "rubric_coef": [[round(float(v), 6) for v in row] for row in self.rubric_coef],
            "rubric_intercept": [round(float(v), 6) for v in self.rubric_intercept],
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, raw: dict, where: str = "classifier") -> PassageClassifier:
        try:
            if raw.get("version") != ARTEFACT_VERSION:
                raise ValidationError(f"{where}: artefact version {raw.get('version')!r}, this code reads "
                                      f"{ARTEFACT_VERSION!r} (rebuild it: build-classifier)")
            terms = list(raw["terms"])
            return cls(
                labels=list(raw["labels"]),
                vocabulary={t: i for i, t in enumerate(terms)},
                idf=np.asarray(raw["idf"], dtype=float),
                text_coef=np.asarray(raw["text_coef"], dtype=float),
                text_intercept=np.asarray(raw["text_intercept"], dtype=float),
                rubric_features=list(raw["rubric_features"]),
                rubric_coef=np.asarray(raw["rubric_coef"], dtype=float),
                rubric_intercept=np.asarray(raw["rubric_intercept"], dtype=float),
                text_weight=float(raw["text_weight"]),
                meta=dict(raw.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"{where}: not a passage-classifier artefact ({exc})") from exc


def _fit_lr(x: np.ndarray | sparse.spmatrix, y: Sequence[str], c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(x, list(y))
    return model


def _softmax_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients as one row per class; two classes come back from scikit-learn as one (sigmoid) row, which
    is the softmax of (0, z)."""
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    if coef.shape[0] == 1:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept


def fit(texts: Sequence[str], labels: Sequence[str], rubric_matrix: np.ndarray, rubric_features: list[str], *,
        tokenizer: Tokenizer = default_terms, text_c: float = TEXT_C, rubric_c: float = RUBRIC_C,
        text_weight: float = TEXT_WEIGHT, min_df: int = MIN_DF) -> PassageClassifier:
    """Fit both models on labelled passages (rubric_matrix: the rubric features of the same texts)."""
    if len(set(labels)) < 2:
        raise ValidationError("training needs passages of at least two commitments")
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=tokenizer, sublinear_tf=True, min_df=min_df)
    x_text = vectorizer.fit_transform(list(texts))
    text_model = _fit_lr(x_text, labels, text_c)
    rubric_model = _fit_lr(rubric_matrix, labels, rubric_c)
    assert list(text_model.classes_) == list(rubric_model.classes_)
    vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
    text_coef, text_intercept = _softmax_weights(text_model)
    rubric_coef, rubric_intercept = _softmax_weights(rubric_model)
    return PassageClassifier(
        labels=[str(c) for c in text_model.classes_], vocabulary=vocabulary, idf=vectorizer.idf_.copy(),
        text_coef=text_coef, text_intercept=text_intercept, rubric_features=list(rubric_features),
        rubric_coef=rubric_coef, rubric_intercept=rubric_intercept, text_weight=text_weight, tokenizer=tokenizer,
    )


# --------------------------------------------------------------------------------------------- data


def read_passages(path: Path) -> list[dict]:
    """Labelled passages `{"id", "provider", "text", "commitment"}`; a bad line names file and line."""
    if not path.is_file():
        raise ValidationError(f"labelled passages file {path} not found")
    rows = []
    for number, row in read_jsonl(path):
        if not all(isinstance(row.get(k), str) for k in ("text", "commitment")):
            raise ValidationError(f"{location(str(path), number)}: needs string fields 'text' and 'commitment'")
        rows.append(row)
    if not rows:
        raise ValidationError(f"{path}: no labelled passages")
    return rows


def _fingerprint(rows: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.get('provider', '')}\t{row['commitment']}\t{row['text']}\n".encode())
    return digest.hexdigest()[:16]


def build_artefact(sources: Sequence[Path], out: Path = DEFAULT_ARTEFACT, *,
                   featurize: RubricFeaturizer = default_rubric_features) -> dict:
    """Retrain on every labelled file in `sources` and write the JSON artefact; returns its metadata."""
    import sklearn

    rows = [row for path in sources for row in read_passages(path)]
    texts = [r["text"] for r in rows]
    labels = [r["commitment"] for r in rows]
    matrix, names = featurize(texts)
    model = fit(texts, labels, matrix, names)
    model.meta = {
        "trained_on": [p.name for p in sources],
        "n": len(rows),
        "per_label": dict(sorted(Counter(labels).items())),
        "providers": sorted({str(r.get("provider", "?")) for r in rows}),
        "data_sha256_16": _fingerprint(rows),
        "sklearn": sklearn.__version__,
        "text_c": TEXT_C, "rubric_c": RUBRIC_C, "min_df": MIN_DF,
        "attribution": "Frontier Safety Framework Corpus coding study (L. Y. Zhu, 2026), CC BY 4.0",
    }  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
    load_classifier.cache_clear()
    return {"path": str(out), "bytes": out.stat().st_size, **model.meta}


@functools.lru_cache(maxsize=4)
def load_classifier(path: Path = DEFAULT_ARTEFACT) -> PassageClassifier:
    """The artefact at `path` (cached); a missing or stale file says how to rebuild it."""
    if not path.is_file():
        raise NotFoundError(f"passage classifier {path} not found (build it: python -m tracker build-classifier)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not valid JSON ({exc.msg})") from exc
    return PassageClassifier.from_json(raw, str(path))


# --------------------------------------------------------------------------------------------- evaluation


def _ranked(proba: np.ndarray, labels: Sequence[str]) -> list[list[str]]:
    order = np.argsort(-proba, axis=1, kind="stable")
    return [[labels[i] for i in row] for row in order]


def _scores(gold: Sequence[str], ranked: Sequence[Sequence[str]], providers: Sequence[str]) -> dict:
    g = np.asarray(gold, dtype=object)
    top1 = np.array([r[0] if r else "none" for r in ranked], dtype=object)
    hit1 = top1 == g
    hit2 = np.array([x in r[:2] for x, r in zip(gold, ranked, strict=True)])
    prov = np.asarray(providers)
    return {
        "n": len(gold),
        "top1": round(float(hit1.mean()), 4),
        "top1_ci95": list(bootstrap_ci(lambda idx: float(hit1[idx].mean()), len(gold))),
        "top2": round(float(hit2.mean()), 4),
        "macro_f1": round(macro_f1(g, top1), 4),
        "macro_f1_ci95": list(bootstrap_ci(lambda idx: macro_f1(g[idx], top1[idx]), len(gold), resamples=300)),
        "per_provider": {p: {"n": int((prov == p).sum()), "top1": round(float(hit1[prov == p].mean()), 4)}
                         for p in sorted(set(prov.tolist()))},
    }


def evaluate_lopo(rows: Sequence[dict], *, featurize: RubricFeaturizer = default_rubric_features,
                  rubric_ranker: Callable[[Sequence[str]], list[list[str]]] | None = None,
                  min_df: int = MIN_DF, commitment_ids: Sequence[str] | None = None) -> dict:
    """Leave-one-provider-out top-1/top-2/macro F1 of the combined model, its two halves and the baselines.

    Baselines: the majority commitment of the training providers; multinomial naive Bayes on word counts;
    TF-IDF (word 1-2-grams and character 2-5-grams) with a logistic regression; the rubric mapper as it was
    (`rubric_ranker`, no training at all). `tracker` is what mapping uses: `combined` blended with the rubric's
    commitment scores (the last len(commitment_ids) columns of the rubric features).
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline, make_union

    providers = [str(r.get("provider", "?")) for r in rows]
    if len(set(providers)) < 2:
        raise ValidationError("leave-one-provider-out needs passages of at least two providers")
    texts = [r["text"] for r in rows]
    gold = [r["commitment"] for r in rows]
    arr_texts = np.asarray(texts, dtype=object)
    y = np.asarray(gold, dtype=object)
    matrix, names = featurize(texts)
    methods = ["majority", "naive_bayes", "tfidf_lr", "rubric_lr", "text_lr", "combined", "tracker"]
    ids = commitment_ids or sorted(set(gold))
    rubric_scores = matrix[:, -len(ids):] if commitment_ids else None
    ranked: dict[str, list[list[str]]] = {m: [[] for _ in rows] for m in methods}
    for _provider, train, test in folds(providers):
        idx = np.flatnonzero(test)
        model = fit(list(arr_texts[train]), list(y[train]), matrix[train], names, min_df=min_df)
        test_texts = list(arr_texts[test])
        outputs = {
            "text_lr": model.text_proba(test_texts),
            "rubric_lr": model.rubric_proba(matrix[test]),
            "combined": model.predict_proba(test_texts, matrix[test]),
        }
        counts = Counter(y[train].tolist())
        majority = [label for label, _ in counts.most_common()]
        nb = make_pipeline(CountVectorizer(), MultinomialNB()).fit(list(arr_texts[train]), list(y[train]))
        lr = make_pipeline(
            make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            LogisticRegression(C=4.0, max_iter=3000),
        ).fit(list(arr_texts[train]), list(y[train]))
        for name, proba in outputs.items():
            for i, r in zip(idx, _ranked(proba, model.labels), strict=True):
                ranked[name][i] = r
        if rubric_scores is not None:
            blended = blend(outputs["combined"], model.labels, rubric_scores[test], ids)
            for i, r in zip(idx, _ranked(blended, list(ids)), strict=True):
                ranked["tracker"][i] = r
        else:
            for i in idx:
                ranked["tracker"][i] = ranked["combined"][i]
        for i, r in zip(idx, _ranked(nb.predict_proba(test_texts), list(nb.classes_)), strict=True):
            ranked["naive_bayes"][i] = r
        for i, r in zip(idx, _ranked(lr.predict_proba(test_texts), list(lr.classes_)), strict=True):
            ranked["tfidf_lr"][i] = r
        for i in idx:
            ranked["majority"][i] = majority
    report = {name: _scores(gold, ranked[name], providers) for name in methods}
    if rubric_ranker is not None:
        ranked_rubric = rubric_ranker(texts)
        report = {"rubric_mapper": _scores(gold, ranked_rubric, providers), **report}
    return {
        "protocol": "leave-one-provider-out: each provider's passages scored by models fitted on the others",
        "n": len(rows),
        "providers": dict(sorted(Counter(providers).items())),
        "labels": dict(sorted(Counter(gold).items())),
        "method": ARTEFACT_VERSION,
        "methods": report,
    }


def default_rubric_ranker(texts: Sequence[str]) -> list[list[str]]:
    """The rubric mapper's own ranking, without the classifier (as `classify_passages` ranked before it):
    commitments by rubric score, those under the mapper's floor left out."""
    from tracker.analysis import mapping

    scorer = mapping._scorer(FRAMEWORK)
    indicator_scores, _ = scorer.indicator_scores(list(texts))
    ranked = []
    for row in scorer.commitment_scores(indicator_scores):
        order = np.argsort(-row, kind="stable")
        ranked.append([scorer.commitment_ids[c] for c in order if row[c] >= mapping.CLASSIFY_FLOOR])
    return ranked
