"""Agreement of passage classification with labelled passages (the `eval mapping` command).

Rows are ``{"id", "text", "commitment", "provider"?, "framework"?}``; ``commitment`` is a commitment id or
``"none"`` for text that should map to nothing. Top-1 means the best commitment returned by
`classify_passages` (or "none" when it returns nothing) must equal the label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tracker.analysis.mapping import METHOD_VERSION, classify_passages, load_rubric
from tracker.core.errors import ValidationError
from tracker.core.jsonl import read_jsonl
from tracker.evaluation.metrics import classification_report

NO_COMMITMENT = "none"
EXPERT_DATA_ATTRIBUTION = (
    "Expert-coded passages: Frontier Safety Framework Corpus coding study (L. Y. Zhu, 2026), CC BY 4.0"
)


def read_labelled(path: Path) -> list[dict]:
    """Labelled rows of a JSONL file; a bad line raises ValidationError naming the file and line number."""
    if not path.is_file():
        raise ValidationError(f"labelled file {path} not found (pass --file PATH)")
    rows = []
    for number, row in read_jsonl(path):
        if not isinstance(row.get("text"), str) or not isinstance(
            row.get("commitment"), str
        ):
            raise ValidationError(f"{path}:{number}: needs string fields 'text' and 'commitment'")
        rows.append(row)
    return rows


def _framework_of(row: dict) -> str | None:
    if row.get("framework"):
        return str(row["framework"])
    label = row["commitment"]
    return label.split("/")[0] if "/" in label else None


def evaluate_classification(rows: Iterable[dict], framework_id: str) -> dict:
    """Per-commitment top-1 precision/recall/F1, confusion, overall top-1 (and top-2) accuracy, per provider."""
    rubric = load_rubric(framework_id)
    selected = [r for r in rows if _framework_of(r) in (framework_id, None)]
    if not selected:
        raise ValidationError(f"no labelled rows for framework {framework_id!r}")
    results = classify_passages(framework_id, [r["text"] for r in selected])
    gold = [r["commitment"] for r in selected]
    predicted = [ranked[0][0] if ranked else NO_COMMITMENT for ranked in results]
    labels = [c.id for c in rubric.commitments] + [NO_COMMITMENT]
    report = classification_report(gold, predicted, labels).as_dict()
    top2 = sum(g in [c for c, _ in ranked[:2]] or (g == NO_COMMITMENT and not ranked)
               for g, ranked in zip(gold, results, strict=True))
    by_provider: dict[str, list[bool]] = defaultdict(list)
    for row, g, p in zip(selected, gold, predicted, strict=True):
        by_provider[str(row.get("provider", "unknown"))].append(g == p)
    return {
        "framework": framework_id,
        "method": METHOD_VERSION,
        "n": report["n"],
        "top1_accuracy": report["accuracy"],
        "top2_accuracy": round(top2 / len(gold), 4),
        "macro_f1": report["macro_f1"],
        "per_commitment": report["per_class"],
        "confusion": report["confusion"],
        "per_provider": {p: {"n": len(v), "top1_accuracy": round(sum(v) / len(v), 4)}
                         for p, v in sorted(by_provider.items())},
    }


def in_sample(rows: Sequence[dict]) -> bool:
    """Whether these rows are the very passages the shipped classifier was trained on (same fingerprint), in
    which case `evaluate_classification` overstates: quote `evaluate_lopo` instead."""
    from tracker.analysis.classifier import _fingerprint, load_classifier

    return _fingerprint(list(rows)) == load_classifier().meta.get("data_sha256_16")


def evaluate_lopo(rows: Sequence[dict], framework_id: str = "seoul-2024") -> dict:
    """Leave-one-provider-out scores of the classifier, its halves, the blend mapping uses, and the baselines."""
    from tracker.analysis import classifier

    rubric = load_rubric(framework_id)
    selected = [r for r in rows if _framework_of(r) in (framework_id, None) and r["commitment"] != NO_COMMITMENT]
    if framework_id != classifier.FRAMEWORK:
        raise ValidationError(f"the passage classifier is trained for {classifier.FRAMEWORK}, not {framework_id!r}")
    report = classifier.evaluate_lopo(selected, rubric_ranker=classifier.default_rubric_ranker,
                                      commitment_ids=[c.id for c in rubric.commitments])
    report["attribution"] = EXPERT_DATA_ATTRIBUTION
    return report


def format_lopo(report: dict) -> str:
    """The leave-one-provider-out table: one row per method, with the 95% bootstrap interval of top-1."""
    lines = [f"leave-one-provider-out, n={report['n']} ({', '.join(f'{p} {n}' for p, n in report['providers'].items())})",
             f"{'method':<16}{'top-1':>7}{'95% CI':>16}{'top-2':>8}{'macro F1':>10}   per provider (top-1)"]
    for name, m in report["methods"].items():
        per = ", ".join(f"{p} {v['top1']:.2f}" for p, v in m["per_provider"].items())
        lines.append(f"{name:<16}{m['top1']:>7.3f}   [{m['top1_ci95'][0]:.3f}, {m['top1_ci95'][1]:.3f}]"
                     f"{m['top2']:>8.3f}{m['macro_f1']:>10.3f}   {per}")
    return "\n".join(lines)


def format_report(report: dict, labels: Sequence[str] | None = None) -> str:
    """A plain-text table of the report for the terminal."""
    lines = [f"{'commitment':<22}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}"]
    for row in report["per_commitment"]:
        if labels and row["label"] not in labels:
            continue
        lines.append(f"{row['label']:<22}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>8.3f}"
                     f"{row['support']:>9}")
    lines.append(f"top-1 accuracy {report['top1_accuracy']:.3f}   top-2 accuracy {report['top2_accuracy']:.3f}   "
                 f"macro F1 {report['macro_f1']:.3f}   n={report['n']}   method {report['method']}")
    providers = ", ".join(f"{p} {v['top1_accuracy']:.3f} (n={v['n']})" for p, v in report["per_provider"].items())
    lines.append(f"per provider: {providers}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- levels
# Agreement of document levels with the reviewers' levels (the `eval levels` command). Each row of
# data/reviews/*.yaml names a company, a source, a date and a Seoul commitment; the mapped level for that row is
# the best level over the company's documents in force on that date (as `tracker.ingest.pipeline.derive_assessments`
# combines them), so a review that judged two documents together is compared like for like.

LEVEL_LABELS = ["0", "1", "2", "3"]
DEFAULT_REVIEWS_DIR = Path(__file__).resolve().parents[2] / "data" / "reviews"
DEFAULT_SOURCES_DIR = Path(__file__).resolve().parents[2] / "data" / "sources"

# The reviewed companies were split BEFORE the rubric was tuned on them: in alphabetical order, the 1st, 3rd,
# 5th, ... company is for development (tuning), the 2nd, 4th, ... is held out. The list is fixed here so that
# adding a company later does not move anyone between halves; companies not listed are held out.
DEVELOPMENT_COMPANIES = frozenset({"amazon", "cohere", "google", "meta", "naver", "openai"})
DEVELOPMENT, HELD_OUT = "development", "held_out"


def split_of(company: str) -> str:
    """Which half of the reviewed rows a company belongs to (see DEVELOPMENT_COMPANIES)."""
    return DEVELOPMENT if company in DEVELOPMENT_COMPANIES else HELD_OUT


@dataclass(frozen=True)
class _CorpusDocument:
    path: Path
    source_id: str
    company: str
    published: date
    frameworks: tuple[str, ...]


def _corpus_documents(corpus_dir: Path, sources_dir: Path) -> tuple[list[_CorpusDocument], dict[str, str]]:
    """Corpus files with their source (longest `corpus_prefix` wins) and the supersedes links of sources."""
    from tracker.core.yamlfile import load_model
    from tracker.ingest.catalog import SourcesFile
    from tracker.ingest.pipeline import CORPUS_DATE, corpus_files

    if not corpus_dir.is_dir():
        raise ValidationError(f"corpus folder {corpus_dir} not found (pass --corpus DIR with the framework *.txt files)")
    sources = []
    for path in sorted(sources_dir.glob("*.yaml")):
        sources_file, _ = load_model(path, SourcesFile)
        sources.extend((sources_file.company, s) for s in sources_file.sources)
    supersedes = {s.id: s.supersedes for _, s in sources if s.supersedes}
    documents = []
    for path in corpus_files(corpus_dir):
        match = CORPUS_DATE.search(path.name)
        owners = [(c, s) for c, s in sources if s.corpus_prefix and path.name.startswith(s.corpus_prefix)]
        if not match or not owners:
            continue
        company, source = max(owners, key=lambda item: len(item[1].corpus_prefix or ""))
        documents.append(_CorpusDocument(path, source.id, company, date.fromisoformat(match.group(1)),
                                         tuple(source.frameworks)))
    if not documents:
        raise ValidationError(f"{corpus_dir}: no *.txt file whose name starts with a source's corpus_prefix "
                              "and ends with _YYYY-MM-DD.txt")
    return documents, supersedes


def _in_force(documents: list[_CorpusDocument], supersedes: dict[str, str], company: str, framework_id: str,
              when: date) -> list[_CorpusDocument]:
    """The newest version of each of the company's sources on `when`, minus sources replaced by then."""
    newest: dict[str, _CorpusDocument] = {}
    for document in sorted(documents, key=lambda d: d.published):
        if document.company == company and framework_id in document.frameworks and document.published <= when:
            newest[document.source_id] = document
    replaced = {supersedes[s] for s in newest if s in supersedes}
    return [d for s, d in sorted(newest.items()) if s not in replaced]


def _agreement(rows: list[dict]) -> dict:
    """Exact and within-one agreement, mean absolute and signed error, confusion, per commitment."""
    if not rows:
        return {"n": 0}
    gold = [str(r["reviewed"]) for r in rows]
    predicted = [str(r["mapped"]) for r in rows]
    report = classification_report(gold, predicted, LEVEL_LABELS).as_dict()
    errors = [r["mapped"] - r["reviewed"] for r in rows]
    by_commitment: dict[str, list[int]] = defaultdict(list)
    for row, error in zip(rows, errors, strict=True):
        by_commitment[row["commitment"]].append(error)
    return {
        "n": len(rows),
        "exact": round(sum(e == 0 for e in errors) / len(rows), 4),
        "within_one": round(sum(abs(e) <= 1 for e in errors) / len(rows), 4),
        "mae": round(sum(abs(e) for e in errors) / len(rows), 4),
        "bias": round(sum(errors) / len(rows), 4),
        "per_level": report["per_class"],
        "confusion": report["confusion"],
        "per_commitment": {
            c: {"n": len(v), "exact": round(sum(e == 0 for e in v) / len(v), 4),
                "mae": round(sum(abs(e) for e in v) / len(v), 4), "bias": round(sum(v) / len(v), 4)}
            for c, v in sorted(by_commitment.items())
        },
    }


def evaluate_levels(corpus_dir: Path, reviews_dir: Path | None = None, sources_dir: Path | None = None,
                    framework_id: str = "seoul-2024") -> dict:
    """Mapped levels against reviewed levels, for the development half, the held-out half and all rows."""
    from tracker.analysis.mapping import map_document
    from tracker.core.yamlfile import load_model
    from tracker.ingest.seedbuild import ReviewFile

    reviews_dir = reviews_dir or DEFAULT_REVIEWS_DIR
    review_files = sorted(reviews_dir.glob("*.yaml")) if reviews_dir.is_dir() else []
    if not review_files:
        raise ValidationError(f"no review files (*.yaml) in {reviews_dir} (pass --reviews DIR)")
    documents, supersedes = _corpus_documents(corpus_dir, sources_dir or DEFAULT_SOURCES_DIR)
    levels_of: dict[Path, dict[str, int]] = {}
    rows: list[dict] = []
    skipped: list[dict] = []
    for path in review_files:
        review, _ = load_model(path, ReviewFile)
        for spec in review.reviews:
            if not spec.commitment.startswith(framework_id + "/") or spec.level is None:
                continue
            where = {"company": review.company, "source": spec.source, "valid_from": spec.valid_from.isoformat(),
                     "commitment": spec.commitment}
            own = [d for d in _in_force(documents, {}, review.company, framework_id, spec.valid_from)
                   if d.source_id == spec.source]
            if spec.source and not own:
                skipped.append({**where, "reason": f"no corpus file of {spec.source} on or before that date"})
                continue
            in_force = _in_force(documents, supersedes, review.company, framework_id, spec.valid_from)
            if not in_force:
                skipped.append({**where, "reason": "no corpus file of this company on or before that date"})
                continue
            mapped = []
            for document in in_force:
                if document.path not in levels_of:
                    mapping = map_document(document.path.read_text(encoding="utf-8"), framework_id)
                    levels_of[document.path] = {c.commitment_id: c.level for c in mapping.commitments}
                mapped.append(levels_of[document.path][spec.commitment])
            rows.append({**where, "split": split_of(review.company), "reviewed": spec.level, "mapped": max(mapped),
                         "documents": [d.path.name for d in in_force]})
    if not rows:
        raise ValidationError(f"none of the reviews in {reviews_dir} matches a corpus file in {corpus_dir}")
    return {
        "framework": framework_id,
        "method": METHOD_VERSION,
        "development_companies": sorted(DEVELOPMENT_COMPANIES),
        "development": _agreement([r for r in rows if r["split"] == DEVELOPMENT]),
        "held_out": _agreement([r for r in rows if r["split"] == HELD_OUT]),
        "all": _agreement(rows),
        "skipped": skipped,
        "rows": rows,
    }


def format_levels_report(report: dict) -> str:
    """Plain-text summary: agreement per half, then per commitment (exact / bias) side by side."""
    halves = [(name, report[name]) for name in (DEVELOPMENT, HELD_OUT, "all") if report[name].get("n")]
    lines = [f"{'rows':<22}" + "".join(f"{name:>22}" for name, _ in halves)]
    for key in ("n", "exact", "within_one", "mae", "bias"):
        lines.append(f"{key:<22}" + "".join(f"{h[key]:>22}" for _, h in halves))
    lines.append(f"{'exact / bias':<22}" + "".join(f"{name:>22}" for name, _ in halves))
    commitments = sorted({c for _, h in halves for c in h["per_commitment"]})
    for commitment in commitments:
        cells = []
        for _, half in halves:
            c = half["per_commitment"].get(commitment)
            cells.append(f"{c['exact']:.2f} / {c['bias']:+.2f} (n={c['n']})" if c else "-")
        lines.append(f"{commitment:<22}" + "".join(f"{cell:>22}" for cell in cells))
    lines.append(f"method {report['method']}; development companies: {', '.join(report['development_companies'])}")
    for skip in report["skipped"]:
        lines.append(f"skipped {skip['company']} {skip['source']} {skip['valid_from']} {skip['commitment']}: "
                     f"{skip['reason']}")
    return "\n".join(lines)
