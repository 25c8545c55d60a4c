"""Rebuild `data/seed/` from a corpus folder with the tracker's own pipeline, plus our reviews.

Steps: a scratch database gets the catalog; every corpus file the catalog lists (`corpus_file` of a known
version in `data/sources/`) is imported as that version, in history order (`tracker.store.versions.order_key`:
re-uploads at the day they were first seen), with its own document URL, archived copy and publisher's file hash,
and with the company's own account of the revision (`changelogs/`) so each change is judged announced or
silent against it; files the catalog lists as editions (Naver's Korean renderings) or does not know are listed
in the manifest's `skipped` with the reason. The pipeline maps and compares each version with its immediate
predecessor only; reviewers' corrections in `data/reviews/*.yaml` are added as `reviewed` assessments through the `review import` path
(`tracker.store.reviewfiles`);
signatories with no framework get level 0 with the reason; then the derived data (never the documents) is
written as JSON Lines that `tracker.ingest.seed.load_seed` reads. The same inputs give the same bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.analysis.announcement import silent_share
from tracker.core.config import get_settings
from tracker.core.errors import ValidationError
from tracker.core.rawstore import RawStore
from tracker.ingest.bootstrap import initialize
from tracker.ingest.pipeline import corpus_files, import_corpus
from tracker.store import models as m
from tracker.store.reviewfiles import ReviewFile, ReviewSpec, import_rows, load_review_files
from tracker.store.versions import effective_date

__all__ = ["ReviewFile", "ReviewSpec", "apply_reviews", "build_seed", "export_seed", "load_reviews"]

QUOTE_CHARS = 320
CHANGE_QUOTE_WORDS = 80
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def short_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The first sentence or two, cut at a word boundary: a citation, not a copy of the document."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    out = ""
    for sentence in SENTENCE.split(text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    if not out and len(first := SENTENCE.split(text)[0]) <= 2 * limit:
        out = first  # one long sentence stays whole: a quote that stops mid-sentence misleads
    if not out or len(out) > 2 * limit:
        out = text[:limit].rsplit(" ", 1)[0]
    return out.rstrip() + ("" if out.endswith((".", "!", "?")) else " …")


def short_words(text: str | None, words: int = CHANGE_QUOTE_WORDS) -> str | None:
    if not text:
        return text
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def load_reviews(reviews_dir: Path, session: Session) -> list[tuple[ReviewFile, Path]]:
    """The review files, checked against the catalog (the same reader as `review import`)."""
    return load_review_files(reviews_dir, session)


def apply_reviews(session: Session, reviews: list[tuple[ReviewFile, Path]]) -> int:
    """Add the reviews through the import path; here every quote must be found in its version's text."""
    return len(import_rows(session, reviews, require_text=True))


def add_missing_frameworks(session: Session, framework_id: str, as_of: date) -> int:
    """Level 0 with the reason for every signatory with no framework yet, from the day it signed."""
    added = 0
    commitments = list(session.exec(select(m.Commitment.id).where(m.Commitment.framework_id == framework_id)))
    signatures = session.exec(select(m.Signature).where(m.Signature.framework_id == framework_id,
                                                        m.Signature.status != "declined")).all()
    for signature in signatures:
        sources = session.exec(select(m.Source).where(m.Source.company_id == signature.company_id,
                                                      m.Source.kind == "framework")).all()
        versions = session.exec(select(m.DocumentVersion).where(
            m.DocumentVersion.source_id.in_([s.id for s in sources]))).all()
        known = [date.fromisoformat(k["published_on"]) for s in sources for k in s.known_versions
                 if k.get("published_on")]  # versions the catalog knows of, archived copy or not
        first = min([effective_date(v) for v in versions] + known, default=None)
        if first is not None and first <= signature.signed_on:
            continue
        # Dateless on purpose: the row holds from the signing date on, and a view as of any date shows that date;
        # naming the build date (or the later first publication) would explain a past date with a later one.
        reason = ("No safety framework published." if first is None
                  else "No safety framework published yet.")
        for commitment_id in commitments:
            session.add(m.Assessment(
                company_id=signature.company_id, commitment_id=commitment_id, level=0, basis="automatic",
                valid_from=signature.signed_on, assessor="tracker", rationale=reason, method="no-framework",
                recorded_at=datetime.combine(as_of, datetime.min.time(), UTC),
            ))
            added += 1
    session.flush()
    return added


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_seed(session: Session, out_dir: Path, *, evidence_per_indicator: int = 2) -> dict[str, int]:
    """Write the derived data as JSON Lines, sorted so that a rebuild from the same inputs is byte-identical."""
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = {v.id: v for v in session.exec(select(m.DocumentVersion))}
    rows: dict[str, list[dict]] = {"versions": [], "evidence": [], "assessments": [], "changes": []}
    for v in sorted(versions.values(), key=lambda v: (v.source_id, effective_date(v), v.text_sha256)):
        rows["versions"].append({
            "source_id": v.source_id, "text_sha256": v.text_sha256, "raw_sha256": v.raw_sha256, "url": v.url,
            "archived_url": v.archived_url, "publisher_sha256": v.publisher_sha256,
            "first_seen_on": _iso(v.first_seen_on),
            "fetched_at": _iso(v.fetched_at), "version_label": v.version_label, "published_on": _iso(v.published_on),
            "published_on_evidence": v.published_on_evidence, "char_count": v.char_count,
            "page_count": v.page_count, "silent_reupload": v.silent_reupload, "format": v.format,
            "sections": [{"heading": s["heading"], "start": s["start"], "page": s.get("page")} for s in v.sections
                         if s.get("level", 1) <= 2][:80],
            "mapped_method": v.mapped_method, "changes_method": v.changes_method,
            **({"update_record": v.update_record} if v.update_record else {}),  # read by the regimes' clocks
        })
    kept: dict[tuple[int, str, str | None], int] = {}
    evidence = sorted(session.exec(select(m.Evidence)), key=lambda e: (e.version_id, e.commitment_id,
                                                                     e.indicator_id or "", -e.score, e.start or 0))
    for e in evidence:
        key = (e.version_id, e.commitment_id, e.indicator_id)
        if kept.get(key, 0) >= evidence_per_indicator:
            continue
        kept[key] = kept.get(key, 0) + 1
        v = versions[e.version_id]
        rows["evidence"].append({
            "source_id": v.source_id, "text_sha256": v.text_sha256, "commitment_id": e.commitment_id,
            "indicator_id": e.indicator_id, "start": e.start, "end": e.end, "section": e.section, "page": e.page,
            "quote": short_quote(e.quote), "score": e.score, "commits": e.commits, "method": e.method,
        })
    for a in sorted(session.exec(select(m.Assessment)),
                    key=lambda a: (a.company_id, a.commitment_id, a.valid_from, a.basis, a.id or 0)):
        v = versions.get(a.version_id) if a.version_id else None
        rows["assessments"].append({
            "company_id": a.company_id, "commitment_id": a.commitment_id, "level": a.level, "basis": a.basis,
            "valid_from": _iso(a.valid_from), "recorded_at": _iso(a.recorded_at), "assessor": a.assessor,
            "rationale": a.rationale, "confidence": a.confidence, "score": a.score, "method": a.method,
            "source_id": v.source_id if v else None, "text_sha256": v.text_sha256 if v else None,
        })
    for c in sorted(session.exec(select(m.ChangeEvent)),
                    key=lambda c: (c.source_id, c.new_version_id, c.new_start or -1, c.old_start or -1)):
        old, new = versions.get(c.old_version_id) if c.old_version_id else None, versions[c.new_version_id]
        rows["changes"].append({
            "source_id": c.source_id, "old_source_id": old.source_id if old else None,
            "old_text_sha256": old.text_sha256 if old else None,
            "new_text_sha256": new.text_sha256, "direction": c.direction, "reasons": c.reasons,
            "commitments": c.commitments, "old_quote": short_words(c.old_quote), "new_quote": short_words(c.new_quote),
            "old_section": c.old_section, "new_section": c.new_section, "old_start": c.old_start,
            "new_start": c.new_start, "similarity": c.similarity, "probability": c.probability,
            "weakened_probability": c.weakened_probability, "announced": c.announced,
            "announcement_quote": c.announcement_quote, "announcement_source": c.announcement_source,
            "published_on": _iso(c.published_on), "detected_at": _iso(new.fetched_at), "method": c.method,
        })
    for name, items in rows.items():
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    return {name: len(items) for name, items in rows.items()}


def silent_revision_rate(session: Session) -> dict[str, object]:
    """Material changes (not mere rewording) not fully announced by the company: the corpus study's measure.

    Strict: only `announced` counts as announced; partly, silent and no changelog do not.
    """
    states = [c.announced for c in session.exec(select(m.ChangeEvent).where(m.ChangeEvent.direction != "reworded"))]
    strict = silent_share(states)
    lenient = silent_share(states, strict=False)
    return {"material_changes": len(states), "strict": round(strict, 3) if strict is not None else None,
            "silent_or_no_changelog": round(lenient, 3) if lenient is not None else None,
            "by_state": {state: states.count(state) for state in sorted(set(states))}}


def build_seed(corpus_dir: Path, out_dir: Path, *, data_dir: Path | None = None, as_of: date | None = None) -> dict:
    """Run the whole pipeline on a corpus folder in a scratch database and write `out_dir`."""
    data_dir = data_dir or get_settings().catalog_dir
    as_of = as_of or date.today()
    files = corpus_files(corpus_dir)
    if not files:
        raise ValidationError(f"{corpus_dir}: no corpus *.txt files; pass the folder of archived framework texts")
    with tempfile.TemporaryDirectory(prefix="seedbuild-") as scratch:
        scratch_path = Path(scratch)
        catalog_copy = scratch_path / "data"
        shutil.copytree(data_dir, catalog_copy, ignore=shutil.ignore_patterns("seed", "raw", "*.db*"))
        (catalog_copy / "seed").mkdir()
        engine = sa.create_engine(f"sqlite:///{scratch_path / 'seed.db'}")
        initialize(engine, catalog_copy)
        store = RawStore(scratch_path / "raw")
        with Session(engine) as session:
            imported = import_corpus(session, corpus_dir, raw_store=store, commit=session.commit)
            sources = list(session.exec(select(m.Source).order_by(m.Source.id)))
            reviews = apply_reviews(session, load_reviews(data_dir / "reviews", session))
            zeros = add_missing_frameworks(session, "seoul-2024", as_of)
            session.commit()
            counts = export_seed(session, out_dir)
            silent = silent_revision_rate(session)
            not_retrieved = [f"{s.id} {k['label']}" for s in sources for k in s.known_versions
                             if k.get("retrieved") is False]
        engine.dispose()
    manifest = {"built_on": as_of.isoformat(), "corpus_files": len(imported.imported), "skipped": imported.skipped,
                "versions_not_retrieved": not_retrieved, "revision_accounts_missing": imported.missing_accounts,
                "reviews": reviews, "no_framework_levels": zeros, **counts, "silent_revision_rate": silent,
                "note": "Derived data only: levels, short quotes with offsets and hashes, version metadata and "
                        "change events. The documents belong to their publishers and are not included."}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
