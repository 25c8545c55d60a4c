"""Reviewed levels as files: `data/reviews/<company>.yaml` is both what `review export` writes and what
`review import` (and `build-seed`) reads, so shipped reviews and reviews made in the app travel one path.

A file names a company, a default reviewer and date, and rows (commitment, level, valid_from, source,
rationale, quote); a row may carry its own `reviewer` / `reviewed_on` when it differs from the file's. Each
row becomes one `reviewed` assessment through `tracker.store.spans.add_assessment`, with the reviewer as
assessor and the review date as `recorded_at`, so a fresh install shows who reviewed what and when.

Import is idempotent: a row whose assessment already exists (same company, commitment, date, level, reviewer
and rationale, wherever it came from: an earlier import or the seed) is skipped. Authorization and the audit
log are the caller's (`tracker.accounts.reviews`); the seed build calls this directly on its scratch database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from tracker.core.errors import CatalogError, ValidationError
from tracker.core.yamlfile import fail_at, load_model
from tracker.store import models as m
from tracker.store.spans import add_assessment
from tracker.store.versions import effective_date
from tracker.store.vocabulary import score_in_band

QUOTE_MARK = ' Quote: "'  # how a row's quote is kept in the assessment's rationale (and split off on export)
REVIEW_METHOD = "review"


class ReviewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commitment: str
    level: int | None = Field(ge=0, le=3)
    valid_from: date
    rationale: str = Field(min_length=10)
    source: str | None = None  # source id whose version on valid_from the review is about
    quote: str | None = None  # the words that justify the level, verbatim from that version
    reviewer: str | None = None  # only when it differs from the file's reviewer
    reviewed_on: date | None = None  # only when it differs from the file's date


class ReviewFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company: str
    reviewer: str
    reviewed_on: date
    reviews: list[ReviewSpec] = []


@dataclass(frozen=True)
class ReviewRow:
    """One row with its file's defaults filled in: what one reviewed assessment holds."""

    company: str
    commitment: str
    level: int | None
    valid_from: date
    rationale: str
    source: str | None
    quote: str | None
    reviewer: str
    reviewed_on: date

    @property
    def full_rationale(self) -> str:
        return self.rationale + (f'{QUOTE_MARK}{self.quote}"' if self.quote else "")


def rows_of(review: ReviewFile) -> list[ReviewRow]:
    return [ReviewRow(review.company, s.commitment, s.level, s.valid_from, s.rationale, s.source, s.quote,
                      s.reviewer or review.reviewer, s.reviewed_on or review.reviewed_on) for s in review.reviews]


def split_rationale(text: str) -> tuple[str, str | None]:
    """(rationale, quote) of an assessment written by `import_rows` (the quote is the last `Quote: "..."`)."""
    if text.endswith('"') and QUOTE_MARK in text:
        head, _, quote = text.rpartition(QUOTE_MARK)
        return head, quote[:-1]
    return text, None


def load_review_files(reviews_dir: Path, session: Session) -> list[tuple[ReviewFile, Path]]:
    """Every `*.yaml` of the folder (not subfolders), checked against the catalog; errors name file and line."""
    if not reviews_dir.is_dir():
        raise ValidationError(f"{reviews_dir} is not a folder of review files (<company>.yaml)")
    files = []
    commitments = set(session.exec(select(m.Commitment.id)))
    sources = {s.id: s for s in session.exec(select(m.Source))}
    for path in sorted(reviews_dir.glob("*.yaml")):
        review, lines = load_model(path, ReviewFile)
        if session.get(m.Company, review.company) is None:
            raise fail_at(path, lines, ("company",), f"unknown company '{review.company}'")
        for i, spec in enumerate(review.reviews):
            if spec.commitment not in commitments:
                raise fail_at(path, lines, ("reviews", i, "commitment"), f"unknown commitment '{spec.commitment}'")
            if spec.source and (spec.source not in sources or sources[spec.source].company_id != review.company):
                raise fail_at(path, lines, ("reviews", i, "source"), f"unknown source '{spec.source}' for this company")
        files.append((review, path))
    return files


def version_on(session: Session, source_id: str, when: date) -> m.DocumentVersion | None:
    """The version of a source in force on a date (newest effective date on or before it)."""
    versions = [v for v in session.exec(select(m.DocumentVersion).where(m.DocumentVersion.source_id == source_id))
                if effective_date(v) <= when]
    return max(versions, key=lambda v: (effective_date(v), v.fetched_at), default=None)


def quote_in(quote: str, text: str) -> bool:
    """Whitespace-insensitive: extraction breaks lines differently from the reviewer's copy."""
    return " ".join(quote.split()) in " ".join(text.split())


def _key(company: str, commitment: str, valid_from: date, level: int | None, assessor: str,
         rationale: str) -> tuple:
    return company, commitment, valid_from, level, assessor, rationale


def import_rows(session: Session, files: list[tuple[ReviewFile, Path]], *, require_text: bool = False
                ) -> list[m.Assessment]:
    """Add each row not yet present as a `reviewed` assessment; the assessments added.

    A quote is checked against the stored text of its version whenever that text is held; `require_text`
    (the seed build, which has every document) makes a missing version or text an error too.
    """
    existing = {
        _key(a.company_id, a.commitment_id, a.valid_from, a.level, a.assessor, a.rationale)
        for a in session.exec(select(m.Assessment).where(m.Assessment.basis == "reviewed"))
    }
    added = []
    for review, path in files:
        for row in rows_of(review):
            key = _key(row.company, row.commitment, row.valid_from, row.level, row.reviewer, row.full_rationale)
            if key in existing:
                continue
            version = version_on(session, row.source, row.valid_from) if row.source else None
            if row.quote:
                if version is None or version.text is None:
                    if require_text:
                        raise CatalogError(f"{path}: review of {row.commitment}: no version of '{row.source}' "
                                           f"on {row.valid_from} to check the quote against")
                elif not quote_in(row.quote, version.text):
                    raise CatalogError(f"{path}: review of {row.commitment}: the quote is not in "
                                       f"{row.source} as of {row.valid_from}: {row.quote[:80]!r}")
            added.append(add_assessment(session, m.Assessment(
                company_id=row.company, commitment_id=row.commitment, level=row.level, basis="reviewed",
                valid_from=row.valid_from, assessor=row.reviewer, rationale=row.full_rationale,
                version_id=version.id if version else None, method=REVIEW_METHOD, origin="review",
                review_source_id=row.source, score=_reviewed_score(row.level, row.commitment, version),
                recorded_at=datetime.combine(row.reviewed_on, datetime.min.time(), UTC),
            )))
            existing.add(key)
    session.flush()
    return added


def _reviewed_score(level: int | None, commitment_id: str, version: m.DocumentVersion | None) -> float | None:
    """A reviewed level keeps the mapping's score of the same document, moved into the reviewed level's band."""
    if version is None:
        return None
    return score_in_band(level, (version.mapped_levels or {}).get(commitment_id, {}).get("cell_score"))


def reviewed_rows(session: Session) -> list[ReviewRow]:
    """Every reviewed level a person set (shipped, imported or decided in the app), not approved self-reports."""
    sources = {v.id: v.source_id for v in session.exec(select(m.DocumentVersion))}
    positions = {c.id: (c.framework_id, c.position) for c in session.exec(select(m.Commitment))}
    rows = []
    for a in session.exec(select(m.Assessment).where(m.Assessment.basis == "reviewed",
                                                     m.Assessment.method == REVIEW_METHOD,
                                                     m.Assessment.self_report_id.is_(None))
                          .order_by(m.Assessment.recorded_at, m.Assessment.id)):
        rationale, quote = split_rationale(a.rationale)
        rows.append(ReviewRow(a.company_id, a.commitment_id, a.level, a.valid_from, rationale,
                              a.review_source_id or (sources.get(a.version_id) if a.version_id else None), quote, a.assessor,
                              a.recorded_at.date()))
    # the order of the shipped files: by version date, then source, then the commitment's place in its framework
    return sorted(rows, key=lambda r: (r.company, r.valid_from, r.source or "", positions.get(r.commitment, ("", 0))))


def review_files(rows: list[ReviewRow]) -> list[ReviewFile]:
    """Group rows per company; the most frequent reviewer and date become the file's, others stay per row."""
    by_company: dict[str, list[ReviewRow]] = {}
    for row in rows:
        by_company.setdefault(row.company, []).append(row)
    files = []
    for company, items in sorted(by_company.items()):
        reviewer = Counter(r.reviewer for r in items).most_common(1)[0][0]
        reviewed_on = Counter(r.reviewed_on for r in items).most_common(1)[0][0]
        files.append(ReviewFile(company=company, reviewer=reviewer, reviewed_on=reviewed_on, reviews=[
            ReviewSpec(commitment=r.commitment, level=r.level, valid_from=r.valid_from, rationale=r.rationale,
                       source=r.source, quote=r.quote,
                       reviewer=r.reviewer if r.reviewer != reviewer else None,
                       reviewed_on=r.reviewed_on if r.reviewed_on != reviewed_on else None)
            for r in items
        ]))
    return files


def dump_review_file(review: ReviewFile) -> str:
    """YAML in the shipped layout: file fields first, then one mapping per row, optional fields left out."""
    data = {"company": review.company, "reviewer": review.reviewer, "reviewed_on": review.reviewed_on,
            "reviews": [{k: v for k, v in spec.model_dump().items()
                         if v is not None or k == "level"} for spec in review.reviews]}
    order = ("commitment", "level", "valid_from", "source", "rationale", "quote", "reviewer", "reviewed_on")
    data["reviews"] = [{k: row[k] for k in order if k in row} for row in data["reviews"]]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def write_review_files(session: Session, out_dir: Path) -> list[Path]:
    """Write `<company>.yaml` for every company with reviewed levels; the files written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(f"{out_dir} is a file; --out takes a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for review in review_files(reviewed_rows(session)):
        path = out_dir / f"{review.company}.yaml"
        path.write_text(dump_review_file(review), encoding="utf-8")
        written.append(path)
    return written
