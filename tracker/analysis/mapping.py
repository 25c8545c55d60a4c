"""Map a document onto the commitments of a framework: which commitments it addresses, how fully, and where.

A rubric (``data/rubrics/<framework>.yaml``) breaks each commitment into indicators with a description and
cue phrases. Each passage of the document is scored against each indicator with two signals that need no
training data, so they carry over to providers the tracker has never seen:

* TF-IDF cosine similarity between the passage and the indicator (description + cues). The IDF is fitted on
  the rubric itself, so words shared by many indicators ("risk", "model") count little and the words that
  tell commitments apart count much.
* Cue phrases found in the passage (after light stemming), multi-word cues counting more than single words.

A passage in which the author commits ("we will", "we must", `tracker.analysis.language`) weighs more than one that
describes the world. Indicator scores then give a level per commitment (0 no public evidence, 1 mentioned,
2 partial, 3 comprehensive) and the evidence passages that justify it.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tracker.analysis.language import commitment_strength, is_commitment
from tracker.analysis.passages import SENTENCE_END, Passage, split_passages
from tracker.core.errors import CatalogError, NotFoundError

# rubric-lr-3: passages classified by the trained classifier (tracker.analysis.classifier) together with the rubric,
# evidence quality rules (tracker.analysis.evidence), cell scores and a harder level 3 (tracker.analysis.cellscore).
METHOD_VERSION = "rubric-lr-3"

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "rubrics"

# Scoring constants (0..1 scale). Chosen on the expert passages and our own cases; see data/methodology/mapping.md.
CUE_WEIGHT = 0.5  # share of the cue signal in an indicator score; the rest is TF-IDF similarity
COSINE_FULL = 0.2  # cosine similarity that counts as a full match (rubric queries are short, so cosines are low)
SINGLE_WORD_CUE = 0.3  # evidence added by one matched single-word cue; two-word cues add 0.5, longer ones 0.65
MULTI_WORD_CUE = 0.5
LONG_CUE = 0.65  # "halt further development" is more specific than "halt" or "development"
COMMITS_BONUS = 0.25  # up to this share of a score depends on how strongly the passage commits its author
CLASSIFY_FLOOR = 0.15  # commitments scoring below this are not returned by classify_passages
EVIDENCE_FLOOR = 0.3  # a passage must score this on an indicator to be listed as evidence
MENTION_FLOOR = 0.2  # best passage score at which a commitment counts as mentioned (level 1)
INDICATOR_MET = 0.4  # best passage score at which an indicator counts as addressed
EVIDENCE_PER_INDICATOR = 3
SHORT_PASSAGE_WORDS = 8  # passages with fewer content words get proportionally less TF-IDF similarity
QUOTE_MAX_CHARS = 420  # longer passages are quoted by their best one or two sentences
# Frameworks with a trained passage classifier (data/models/passage-classifier-*.json).
CLASSIFIED_FRAMEWORKS = frozenset({"seoul-2024"})
CLASSIFIER_FLOOR = 0.05  # classify_passages leaves out commitments the classifier gives less than this
EVIDENCE_TOP_COMMITMENTS = 2  # a passage is evidence only for the commitments the classifier ranks this high...
EVIDENCE_MIN_PROBABILITY = 0.25  # ... or gives at least this probability
EVIDENCE_CANDIDATES = 12  # passages tried per indicator before giving up on finding quotable evidence

INDICATOR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
TOKEN = re.compile(r"[a-z0-9]+")

# Function words that carry no topic; modal verbs are judged separately by tracker.analysis.language.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just may me might more most must my no nor not now of off on once
    only or other our ours out over own same shall she should so some such than that the their them then there
    these they this those through to too under until up us very was we were what when where which while who whom
    why will with would you your""".split()  # noqa: SIM905 (a word list reads better as prose)
)


# --------------------------------------------------------------------------------------------- rubric


@dataclass(frozen=True)
class Indicator:
    """One checkable element of a commitment; ``id`` is the full id, e.g. ``seoul-2024/II#thresholds``."""

    id: str
    key: str
    description: str
    cues: tuple[str, ...]
    required: bool = False


@dataclass(frozen=True)
class RubricCommitment:
    """``level3_requires``: indicators of other commitments the document must also meet for level 3 (mitigations
    can only keep risks "within defined thresholds" if the document defines thresholds)."""

    id: str
    title: str
    text: str
    indicators: tuple[Indicator, ...]
    level3_requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    framework: str
    commitments: tuple[RubricCommitment, ...]
    method_note: str = ""
    path: Path | None = None

    @property
    def indicators(self) -> list[Indicator]:
        return [indicator for commitment in self.commitments for indicator in commitment.indicators]

    def commitment(self, commitment_id: str) -> RubricCommitment:
        for commitment in self.commitments:
            if commitment.id == commitment_id:
                return commitment
        raise NotFoundError(f"commitment {commitment_id!r} is not in the {self.framework} rubric")


def _require(condition: bool, path: Path, where: str, message: str) -> None:
    if not condition:
        raise CatalogError(f"{path}: {where}: {message}")


def _parse_rubric(raw: object, path: Path, framework_id: str) -> Rubric:
    _require(isinstance(raw, dict), path, "top level", "must be a mapping with 'framework' and 'commitments'")
    assert isinstance(raw, dict)
    _require(raw.get("framework") == framework_id, path, "framework",
             f"must be {framework_id!r} (the file name), found {raw.get('framework')!r}")
    commitments_raw = raw.get("commitments")
    _require(isinstance(commitments_raw, list) and bool(commitments_raw), path, "commitments",
             "must be a non-empty list")
    commitments: list[RubricCommitment] = []
    seen: set[str] = set()
    for i, item in enumerate(commitments_raw):
        where = f"commitments[{i}]"
        _require(isinstance(item, dict), path, where, "must be a mapping with 'id' and 'indicators'")
        cid = item.get("id")
        _require(isinstance(cid, str) and cid.startswith(framework_id + "/"), path, f"{where}.id",
                 f"must be a string starting with '{framework_id}/', found {cid!r}")
        _require(cid not in seen, path, f"{where}.id", f"duplicate commitment id {cid!r}")
        seen.add(cid)
        indicators_raw = item.get("indicators")
        _require(isinstance(indicators_raw, list) and bool(indicators_raw), path, f"{where}.indicators",
                 "must be a non-empty list")
        indicators: list[Indicator] = []
        keys: set[str] = set()
        for j, ind in enumerate(indicators_raw):
            iwhere = f"{where}.indicators[{j}]"
            _require(isinstance(ind, dict), path, iwhere, "must be a mapping with 'id', 'description', 'cues'")
            key = ind.get("id")
            _require(isinstance(key, str) and bool(INDICATOR_KEY.match(key)), path, f"{iwhere}.id",
                     f"must be a lower-case identifier like 'thresholds', found {key!r}")
            _require(key not in keys, path, f"{iwhere}.id", f"duplicate indicator id {key!r} in {cid}")
            keys.add(key)
            description = ind.get("description")
            _require(isinstance(description, str) and bool(description.strip()), path, f"{iwhere}.description",
                     "must be a non-empty string")
            cues = ind.get("cues")
            _require(isinstance(cues, list) and bool(cues), path, f"{iwhere}.cues", "must be a non-empty list")
            for k, cue in enumerate(cues):
                _require(isinstance(cue, str) and bool(_stems(cue)), path, f"{iwhere}.cues[{k}]",
                         f"must be a phrase with at least one word, found {cue!r}")
            required = ind.get("required", False)
            _require(isinstance(required, bool), path, f"{iwhere}.required", "must be true or false")
            indicators.append(Indicator(f"{cid}#{key}", key, description.strip(), tuple(cues), required))
        title = item.get("title", "")
        text = item.get("text", "")
        _require(isinstance(title, str) and isinstance(text, str), path, where, "'title' and 'text' must be strings")
        level3_requires = item.get("level3_requires", [])
        _require(isinstance(level3_requires, list) and all(isinstance(r, str) for r in level3_requires), path,
                 f"{where}.level3_requires", "must be a list of indicator ids like 'demo/II#thresholds'")
        commitments.append(RubricCommitment(cid, title.strip(), " ".join(text.split()), tuple(indicators),
                                            tuple(level3_requires)))
    known = {indicator.id for commitment in commitments for indicator in commitment.indicators}
    for i, commitment in enumerate(commitments):
        for k, needed in enumerate(commitment.level3_requires):
            _require(needed in known and not needed.startswith(commitment.id + "#"), path,
                     f"commitments[{i}].level3_requires[{k}]",
                     f"must name an indicator of another commitment in this rubric, found {needed!r}")
    note = raw.get("method_note", "") or ""
    _require(isinstance(note, str), path, "method_note", "must be a string")
    return Rubric(framework_id, tuple(commitments), note.strip(), path)


def available_frameworks(data_dir: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (data_dir or DATA_DIR).glob("*.yaml") if "." not in p.stem)


@functools.lru_cache(maxsize=32)
def _load_rubric_cached(framework_id: str, data_dir: Path) -> Rubric:
    path = data_dir / f"{framework_id}.yaml"
    if not path.is_file():
        known = ", ".join(available_frameworks(data_dir)) or "none"
        raise NotFoundError(f"no rubric for framework {framework_id!r} in {data_dir} (available: {known})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    return _parse_rubric(raw, path, framework_id)


def load_rubric(framework_id: str, data_dir: Path | None = None) -> Rubric:
    """The rubric of a framework (cached per file); a malformed file raises CatalogError naming the field."""
    return _load_rubric_cached(framework_id, (data_dir or DATA_DIR).resolve())


# --------------------------------------------------------------------------------------------- text features


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Light suffix stripping so that plural, -ed, -ing and -ion forms meet ("mitigations" ~ "mitigated")."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ion"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _stems(text: str) -> list[str]:
    # Re-join words hyphenated across a line break in extracted PDFs ("pro- vide").
    text = re.sub(r"(\w)- (\w)", r"\1\2", text.lower())
    return [_stem(token) for token in TOKEN.findall(text)]


def _content_terms(stems: list[str]) -> list[str]:
    words = [s for s in stems if s not in STOP_WORDS and len(s) > 1]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass
class _Scorer:
    """The rubric compiled for scoring: TF-IDF matrix of indicator queries and stemmed cue keys."""

    rubric: Rubric
    indicators: list[Indicator]
    vocabulary: dict[str, int]
    idf: np.ndarray
    idf_outside: float
    queries: np.ndarray  # indicators x vocabulary, L2-normalised rows
    cues: list[list[tuple[str, float]]]  # per indicator: (" stem stem ", weight)
    commitment_of: np.ndarray  # indicator index -> commitment index
    commitment_ids: list[str] = field(default_factory=list)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(TF-IDF vector over the rubric vocabulary, cue score per indicator) for one passage."""
        stems = _stems(text)
        vector = np.zeros(len(self.vocabulary))
        outside: dict[str, int] = {}
        terms = _content_terms(stems)
        for term in terms:
            col = self.vocabulary.get(term)
            if col is not None:
                vector[col] += 1.0
            else:
                outside[term] = outside.get(term, 0) + 1
        nonzero = vector > 0
        vector[nonzero] = (1.0 + np.log(vector[nonzero])) * self.idf[nonzero]
        # Words the rubric never uses still count in the norm (at the rarest IDF), so a passage that is mostly
        # about something else scores low even if it shares a word or two with an indicator.
        outside_weights = (1.0 + np.log(np.fromiter(outside.values(), float, len(outside)))) * self.idf_outside
        norm = math.sqrt(float(vector @ vector) + float(outside_weights @ outside_weights))
        if norm:
            # A handful of words ("We have thresholds.") can match an indicator closely but evidences little.
            words = (len(terms) + 1) // 2
            vector *= min(1.0, words / SHORT_PASSAGE_WORDS) / norm
        padded = " " + " ".join(stems) + " "
        cue_scores = np.zeros(len(self.indicators))
        for i, cues in enumerate(self.cues):
            miss = 1.0
            for key, weight in cues:
                if key in padded:
                    miss *= 1.0 - weight
            cue_scores[i] = 1.0 - miss
        return vector, cue_scores

    def indicator_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        """Score matrix texts x indicators (0..1) and whether each text commits its author."""
        scores = np.zeros((len(texts), len(self.indicators)))
        commits: list[bool] = []
        for row, text in enumerate(texts):
            vector, cue_scores = self.features(text)
            cosine = np.minimum(1.0, (self.queries @ vector) / COSINE_FULL)
            relevance = CUE_WEIGHT * cue_scores + (1.0 - CUE_WEIGHT) * cosine
            strength = commitment_strength(text)
            scores[row] = relevance * ((1.0 - COMMITS_BONUS) + COMMITS_BONUS * strength)
            commits.append(is_commitment(text))
        return scores, commits

    def commitment_scores(self, indicator_scores: np.ndarray) -> np.ndarray:
        """Per text and commitment: best indicator plus a little for a second indicator of the same commitment."""
        out = np.zeros((indicator_scores.shape[0], len(self.commitment_ids)))
        for c in range(len(self.commitment_ids)):
            block = np.sort(indicator_scores[:, self.commitment_of == c], axis=1)[:, ::-1]
            second = block[:, 1] if block.shape[1] > 1 else 0.0
            out[:, c] = np.minimum(1.0, block[:, 0] + 0.15 * second)
        return out


def _compile(rubric: Rubric) -> _Scorer:
    indicators = rubric.indicators
    commitment_index = {c.id: n for n, c in enumerate(rubric.commitments)}
    documents: list[list[str]] = []
    for commitment in rubric.commitments:
        for indicator in commitment.indicators:
            query = " ".join([commitment.title, indicator.description, *indicator.cues])
            documents.append(_content_terms(_stems(query)))
    vocabulary: dict[str, int] = {}
    for terms in documents:
        for term in terms:
            vocabulary.setdefault(term, len(vocabulary))
    df = np.zeros(len(vocabulary))
    for terms in documents:
        for term in set(terms):
            df[vocabulary[term]] += 1
    idf = np.log((1 + len(documents)) / (1 + df)) + 1.0
    queries = np.zeros((len(documents), len(vocabulary)))
    for row, terms in enumerate(documents):
        for term in terms:
            queries[row, vocabulary[term]] += 1.0
    nonzero = queries > 0
    queries[nonzero] = 1.0 + np.log(queries[nonzero])
    queries *= idf
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    cues = []
    for indicator in indicators:
        keys = {}
        for cue in indicator.cues:
            stems = _stems(cue)
            weight = LONG_CUE if len(stems) > 2 else MULTI_WORD_CUE if len(stems) > 1 else SINGLE_WORD_CUE
            keys[" " + " ".join(stems) + " "] = weight
        cues.append(sorted(keys.items()))
    commitment_of = np.array([commitment_index[i.id.split("#")[0]] for i in indicators])
    idf_outside = float(np.log(1 + len(documents)) + 1.0)
    return _Scorer(rubric, indicators, vocabulary, idf, idf_outside, queries, cues, commitment_of,
                   [c.id for c in rubric.commitments])


@functools.lru_cache(maxsize=32)
def _scorer(framework_id: str) -> _Scorer:
    return _compile(load_rubric(framework_id))


# --------------------------------------------------------------------------------------------- classifier


def _commitment_probabilities(framework_id: str, scorer: _Scorer, texts: Sequence[str],
                              indicator_scores: np.ndarray) -> np.ndarray | None:
    """texts x commitments: the trained classifier's probabilities blended with the rubric's commitment scores
    (`tracker.analysis.classifier.blend`), or None for a framework without a classifier."""
    if framework_id not in CLASSIFIED_FRAMEWORKS or not len(texts):
        return None
    from tracker.analysis.classifier import blend, load_classifier

    model = load_classifier()
    per_commitment = scorer.commitment_scores(indicator_scores)
    proba = model.predict_proba(list(texts), np.hstack([indicator_scores, per_commitment]))
    return blend(proba, model.labels, per_commitment, scorer.commitment_ids)


# --------------------------------------------------------------------------------------------- public API


def classify_passages(framework_id: str, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
    """For each text, the commitments it evidences, best first.

    With a trained classifier the values are its probabilities (those >= CLASSIFIER_FLOOR), otherwise rubric
    scores (>= CLASSIFY_FLOOR); either way a text the rubric finds nothing in maps to nothing."""
    if not texts:
        return []
    scorer = _scorer(framework_id)
    indicator_scores, _ = scorer.indicator_scores(texts)
    per_commitment = scorer.commitment_scores(indicator_scores)
    probabilities = _commitment_probabilities(framework_id, scorer, texts, indicator_scores)
    results: list[list[tuple[str, float]]] = []
    for n, row in enumerate(per_commitment):
        if probabilities is None:
            values, floor = row, CLASSIFY_FLOOR
        elif row.max() < CLASSIFY_FLOOR:
            results.append([])
            continue
        else:
            values, floor = probabilities[n], CLASSIFIER_FLOOR
        order = np.argsort(-values, kind="stable")
        results.append([(scorer.commitment_ids[c], round(float(values[c]), 4)) for c in order
                        if values[c] >= floor])
    return results


@dataclass(frozen=True)
class EvidenceItem:
    """A quote that supports an indicator; ``text[start:end]`` of the mapped text holds the quote."""

    indicator_id: str
    quote: str
    start: int
    end: int
    section: str
    page: int | None
    score: float
    commits: bool


@dataclass(frozen=True)
class CommitmentMapping:
    commitment_id: str
    level: int
    score: float
    confidence: float
    indicators_met: list[str]
    evidence: list[EvidenceItem]
    # 0-100: indicators met, how firmly and how specifically (tracker.analysis.cellscore); ranks tied levels.
    cell_score: float = 0.0


@dataclass(frozen=True)
class DocumentMapping:
    framework_id: str
    method_version: str
    commitments: list[CommitmentMapping]

    def commitment(self, commitment_id: str) -> CommitmentMapping:
        for mapping in self.commitments:
            if mapping.commitment_id == commitment_id:
                return mapping
        raise NotFoundError(f"commitment {commitment_id!r} is not in this {self.framework_id} mapping")


def _quote_span(scorer: _Scorer, text: str, passage: Passage, indicator_index: int) -> tuple[int, int]:
    """The passage, or its best one or two sentences when it is too long to show as a quote."""
    if passage.end - passage.start <= QUOTE_MAX_CHARS:
        return passage.start, passage.end
    bounds = [passage.start]
    for match in SENTENCE_END.finditer(text, passage.start, passage.end):
        bounds.extend([match.start(), match.end()])
    bounds.append(passage.end)
    sentences = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    windows = [s for s in sentences if s[1] > s[0]]
    windows += [(a[0], b[1]) for a, b in itertools.pairwise(sentences)
                if b[1] - a[0] <= QUOTE_MAX_CHARS]
    if len(windows) <= 1:
        return passage.start, passage.end
    scores, _ = scorer.indicator_scores([text[s:e] for s, e in windows])
    best = max(range(len(windows)), key=lambda n: (scores[n, indicator_index], -(windows[n][1] - windows[n][0])))
    return windows[best]


def _level(met: list[Indicator], required: list[Indicator], n_indicators: int, best: float,
           any_commits: bool, prerequisites_met: bool = True) -> int:
    """0 no evidence, 1 mentioned, 2 partial (an element addressed), 3 comprehensive (all core indicators, most
    others, committed, and the indicators of other commitments it builds on)."""
    if not met:
        return 1 if best >= MENTION_FLOOR else 0
    if all(r in met for r in required) and len(met) / n_indicators >= 0.6 and any_commits and prerequisites_met:
        return 3
    return 2


def _eligible(framework_id: str, scorer: _Scorer, text: str, passages: list[Passage],
              scores: np.ndarray) -> np.ndarray:
    """passages x commitments: may this passage be evidence for this commitment?

    Not when it is a page header, a table of contents, a table row, a footnote URL, a fragment or a changelog's
    history (`tracker.analysis.evidence`); not when the trained classifier says it is about other commitments;
    and each passage counts for at most MAX_COMMITMENTS_PER_QUOTE commitments (those it scores best on).
    Only passages that could be evidence at all (an indicator score >= EVIDENCE_FLOOR) are checked: the rest
    stay as they are, below the floor, which keeps mapping fast."""
    from tracker.analysis.evidence import MAX_COMMITMENTS_PER_QUOTE, quote_problems, running_lines

    eligible = np.ones((len(passages), len(scorer.commitment_ids)), dtype=bool)
    candidates = np.flatnonzero(scores.max(axis=1) >= EVIDENCE_FLOOR) if len(passages) else np.zeros(0, int)
    if not len(candidates):
        return eligible
    running = running_lines(text)
    quotable = np.array([not [p for p in quote_problems(passages[i].text, section=passages[i].section,
                                                        running=running) if p != "not whole sentences"]
                         for i in candidates])
    block = np.repeat(quotable[:, None], eligible.shape[1], axis=1)
    probabilities = _commitment_probabilities(framework_id, scorer, [passages[i].text for i in candidates],
                                              scores[candidates])
    if probabilities is not None:
        from tracker.analysis.classifier import load_classifier

        top = np.zeros_like(block)
        ranks = np.argsort(-probabilities, axis=1, kind="stable")[:, :EVIDENCE_TOP_COMMITMENTS]
        np.put_along_axis(top, ranks, True, axis=1)
        # Commitments the classifier has no training passages for (Seoul V) are judged by the rubric alone.
        unlearnt = ~np.isin(scorer.commitment_ids, load_classifier().labels)
        block &= top | (probabilities >= EVIDENCE_MIN_PROBABILITY) | unlearnt[None, :]
    per_commitment = np.where(block, scorer.commitment_scores(scores[candidates]), -1.0)
    keep = np.argsort(-per_commitment, axis=1, kind="stable")[:, :MAX_COMMITMENTS_PER_QUOTE]
    capped = np.zeros_like(block)
    np.put_along_axis(capped, keep, True, axis=1)
    eligible[candidates] = block & capped
    return eligible


def _quote(text: str, passage: Passage, start: int, end: int, vocabulary) -> tuple[int, int, str] | None:
    """The quote for a span, widened to whole sentences inside its passage and repaired where extraction broke
    words; None when no quote there passes the evidence rules."""
    from tracker.analysis.evidence import quote_problems, repair_text, whole_sentences

    candidates = [(start, end)]
    wide = whole_sentences(text, start, end)
    wide = (max(wide[0], passage.start), min(wide[1], passage.end))
    if wide != (start, end) and wide[1] - wide[0] <= 2 * QUOTE_MAX_CHARS:
        candidates.append(wide)
    for s, e in candidates:
        quote = repair_text(" ".join(text[s:e].split()), vocabulary)
        if not quote_problems(quote, section=passage.section):
            return s, e, quote
    return None


def map_document(text: str, framework_id: str) -> DocumentMapping:
    """Levels, cell scores and evidence per commitment of the framework, in framework order."""
    from tracker.analysis.cellscore import cell_score, level_with_score
    from tracker.analysis.evidence import document_vocabulary

    scorer = _scorer(framework_id)
    passages = split_passages(text)
    if passages:
        raw_scores, commits = scorer.indicator_scores([p.text for p in passages])
        eligible = _eligible(framework_id, scorer, text, passages, raw_scores)
        scores = raw_scores * eligible[:, scorer.commitment_of]
    else:
        scores, commits = np.zeros((0, len(scorer.indicators))), []
    vocabulary = document_vocabulary(text)
    best_all = scores.max(axis=0) if passages else np.zeros(len(scorer.indicators))
    met_ids = {indicator.id for indicator, best in zip(scorer.indicators, best_all, strict=True)
               if best >= INDICATOR_MET}
    mappings: list[CommitmentMapping] = []
    for c, commitment in enumerate(scorer.rubric.commitments):
        columns = np.flatnonzero(scorer.commitment_of == c)
        best_per_indicator = best_all[columns]
        met = [scorer.indicators[col] for col in columns if scorer.indicators[col].id in met_ids]
        required = [i for i in commitment.indicators if i.required]
        # Evidence per indicator (a passage may support several), so every indicator met links to its quotes.
        found: list[tuple[float, int, int, int, int, str]] = []
        for col in columns:
            order = np.argsort(-scores[:, col], kind="stable")[:EVIDENCE_CANDIDATES] if passages else []
            kept = 0
            for p in order:
                if kept >= EVIDENCE_PER_INDICATOR or scores[p, col] < EVIDENCE_FLOOR:
                    break
                start, end = _quote_span(scorer, text, passages[p], col)
                quoted = _quote(text, passages[p], start, end, vocabulary)
                if quoted is not None:
                    found.append((float(scores[p, col]), int(p), int(col), *quoted))
                    kept += 1
        evidence: list[EvidenceItem] = []
        for score, p, col, start, end, quote in sorted(found, key=lambda item: (-item[0], item[1], item[2])):
            passage = passages[p]
            evidence.append(EvidenceItem(scorer.indicators[col].id, quote, start, end, passage.section,
                                         passage.page, round(score, 4), commits[p]))
        # An indicator counts as met only with a quote to show for it.
        quoted_ids = {e.indicator_id for e in evidence}
        met = [i for i in met if i.id in quoted_ids]
        best = float(best_per_indicator.max()) if len(columns) else 0.0
        level = _level(met, required, len(columns), best, any(e.commits for e in evidence),
                       all(needed in met_ids for needed in commitment.level3_requires))
        cell = cell_score(len(met), len(columns), sum(i in met for i in required), len(required),
                          [e.quote for e in evidence])
        level = level_with_score(level, cell)
        score = float(best_per_indicator.mean()) if len(columns) else 0.0
        # Confidence: how clear-cut the indicator decisions are (scores far from the "met" line on either side).
        margins = [min(1.0, abs(b - INDICATOR_MET) / INDICATOR_MET) for b in best_per_indicator]
        confidence = 0.3 + 0.65 * (sum(margins) / len(margins)) if margins else 0.3
        mappings.append(CommitmentMapping(commitment.id, level, round(score, 4), round(confidence, 3),
                                          [i.id for i in met], evidence, cell.score))
    return DocumentMapping(framework_id, METHOD_VERSION, mappings)


def mapping_as_dict(mapping: DocumentMapping) -> dict:
    """The `score-document` JSON shape of DESIGN.md (plus confidence and indicators met)."""
    return {
        "framework": mapping.framework_id,
        "method": mapping.method_version,
        "commitments": [
            {
                "id": c.commitment_id,
                "level": c.level,
                "score": c.score,
                "confidence": c.confidence,
                "cell_score": c.cell_score,
                "indicators_met": c.indicators_met,
                "evidence": [
                    {"quote": e.quote, "start": e.start, "end": e.end, "indicator": e.indicator_id,
                     "section": e.section, "page": e.page, "score": e.score, "commits": e.commits}
                    for e in c.evidence
                ],
            }
            for c in mapping.commitments
        ],
    }


__all__ = [
    "METHOD_VERSION",
    "CommitmentMapping",
    "DocumentMapping",
    "EvidenceItem",
    "Indicator",
    "Rubric",
    "RubricCommitment",
    "available_frameworks",
    "classify_passages",
    "load_rubric",
    "map_document",
    "mapping_as_dict",
]
