"""The stocktake: where every signatory stands on every commitment as of a date, and what moved since another.

Organisers ask this at each summit ("as of Paris, and since Seoul"); journalists load the tables. Everything
here is plain data (dataclasses, lists of dicts, pandas frames) so the CLI writers, the page and the tests share
one computation. Dates are *effective* dates: a version counts from its stated publication date (else the day
we first saw it; a silent re-upload from the day it was first seen: `tracker.store.versions.effective_date`), an assessment from its `valid_from`. The window of
"what changed" is `since < date <= as_of`. Levels as of a date come from the one as-of query
(`tracker.store.spans.latest_assessments_query`), so a level recorded for a later date never leaks back.

Every level row carries its citation: the evidence quote, the source URL, the retrieval date and the content
hash of the document version it rests on, so a reader can check it against the publisher's copy.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.core.errors import NotFoundError, ValidationError
from tracker.read.asof import latest_assessments
from tracker.read.deadlines import deadline_statuses
from tracker.read.queries import (
    VERSION_META,
    VersionInfo,
    framework_commitments,
    published_frameworks_by,
    version_info,
)
from tracker.store import models as m
from tracker.store.versions import effective_date, order_key, public_change, public_version
from tracker.store.vocabulary import (
    BINDING_STATUSES,
    DEADLINE_STATUS_MEANINGS,
    LEVEL_MOVING_DIRECTIONS,
    LEVELS,
    level_label,
)

PARIS_SUMMIT = date(2025, 2, 10)
# Reviewers quote the passage they relied on at the end of their rationale: ... Quote: "...".
RATIONALE_QUOTE = re.compile(r'Quote:\s*"(.+)"\s*$', re.DOTALL)
# Change directions flagged to readers (stocktake and feeds). "added" and "reworded" stay in the database and
# on the Changes page but are mostly new or re-split text; a removed commitment passage is the strongest weakening.


# Each column carries its description (metadata 'doc'), so the documentation lives next to the column.
RAW_SHA_DOC = ("SHA-256 of the file the tracker stored: the download for a fetched version; for an imported "
               "corpus copy its plain-text file, not the publisher's file")
PUBLISHER_SHA_DOC = ("SHA-256 of the publisher's own file (the download, or the corpus manifest's hash for an "
                     "imported copy); empty when unknown")


@dataclass
class LevelRow:
    company_id: str = field(metadata={"doc": "Company id (stable catalog id)"})
    company: str = field(metadata={"doc": "Company name"})
    commitment_id: str = field(metadata={"doc": "Commitment id, '<framework>/<number>' (stable catalog id)"})
    commitment: str = field(metadata={"doc": "Commitment number within its framework"})
    title: str = field(metadata={"doc": "Short title of the commitment (ours unless the framework gives "
                                        "one)"})
    level: int | None = field(metadata={"doc": "Level as of the as-of date: 0 no public evidence, 1 "
                                               "mentioned, 2 partial, 3 comprehensive; empty when not "
                                               "applicable or not assessed"})
    level_label: str = field(metadata={"doc": "Level in words ('Not assessed' when there is no assessment)"})
    basis: str = field(metadata={"doc": "automatic (suggested by the mapping), reviewed (by a person) or "
                                        "self-reported (a company's claim, approved by a reviewer); 'not "
                                        "assessed' when there is none"})
    valid_from: date | None = field(metadata={"doc": "Date from which this level holds"})
    level_since: int | None = field(metadata={"doc": "Level as of the since date (empty when not applicable"
                                                     " or not assessed)"})
    moved: str = field(metadata={"doc": "up, down, new (first assessed in the window), unchanged or empty"})
    assessment_id: int | None = field(metadata={"doc": "Id of the assessment row (stable within this "
                                                       "database)"})
    confidence: float | None = field(metadata={"doc": "Confidence of an automatic level, 0-1"})
    score: float | None = field(metadata={"doc": "Cell score 0-100 within the level's band (0: 0-24.9, 1: "
                                                 "25-49.9, 2: 50-69.9, 3: 70-100): indicators met, how firmly "
                                                 "and how specifically; ranks cells of one level"})
    rationale: str = field(metadata={"doc": "Why this level: the assessor's or the mapping's reasons"})
    evidence_quote: str = field(metadata={"doc": "Short quote from the document supporting the level "
                                                 "(publisher's text)"})
    quote_from: str = field(metadata={"doc": "Where the quote comes from: 'evidence' (a passage of the cited "
                                             "version), 'rationale' (quoted by the reviewer from the cited "
                                             "version) or 'newest evidence' (the company's newest passage on "
                                             "this commitment, for levels that cite no version)"})
    evidence_section: str = field(metadata={"doc": "Section heading the quote is under"})
    evidence_page: int | None = field(metadata={"doc": "Page of the quote, for PDFs"})
    source_id: str = field(metadata={"doc": "Id of the watched source the document version came from"})
    source_url: str = field(metadata={"doc": "The document version's own URL (the publisher's file, not a "
                                             "landing page)"})
    version_id: int | None = field(metadata={"doc": "Id of the document version (stable within this "
                                                    "database)"})
    version_label: str = field(metadata={"doc": "Version label the document states, if any"})
    published_on: date | None = field(metadata={"doc": "Publication date the document states, if known"})
    retrieved_at: datetime | None = field(metadata={"doc": "When the tracker retrieved this version (UTC)"})
    text_sha256: str = field(metadata={"doc": "SHA-256 of the normalised text of the version (with "
                                              "source_id: its natural key)"})
    raw_sha256: str = field(metadata={"doc": RAW_SHA_DOC})
    publisher_sha256: str = field(metadata={"doc": PUBLISHER_SHA_DOC})
    archived_url: str = field(metadata={"doc": "Archived copy (Wayback Machine) of the version's document, if "
                                               "known"})


@dataclass
class CommitmentRow:
    commitment_id: str = field(metadata={"doc": "Commitment id, '<framework>/<number>'"})
    commitment: str = field(metadata={"doc": "Commitment number within its framework"})
    title: str = field(metadata={"doc": "Short title of the commitment"})
    signatories: int = field(metadata={"doc": "Signatories as of the as-of date"})
    level_0: int = field(metadata={"doc": "Signatories at level 0 (no public evidence)"})
    level_1: int = field(metadata={"doc": "Signatories at level 1 (mentioned)"})
    level_2: int = field(metadata={"doc": "Signatories at level 2 (partial)"})
    level_3: int = field(metadata={"doc": "Signatories at level 3 (comprehensive)"})
    not_applicable: int = field(metadata={"doc": "Signatories for which the commitment is judged not "
                                                 "applicable"})
    not_assessed: int = field(metadata={"doc": "Signatories with no assessment on this commitment yet"})
    average_level: float | None = field(metadata={"doc": "Mean level over assessed signatories as of the "
                                                         "as-of date"})
    average_level_since: float | None = field(metadata={"doc": "Mean level over the same signatories as of "
                                                               "the since date"})
    moved_up: int = field(metadata={"doc": "Signatories whose level rose between the two dates"})
    moved_down: int = field(metadata={"doc": "Signatories whose level fell between the two dates"})


@dataclass
class CompanyRow:
    company_id: str = field(metadata={"doc": "Company id"})
    company: str = field(metadata={"doc": "Company name"})
    signed_on: date = field(metadata={"doc": "Date the company signed the framework"})
    assessed: int = field(metadata={"doc": "Commitments with a level as of the as-of date"})
    level_0: int = field(metadata={"doc": "Commitments at level 0"})
    level_1: int = field(metadata={"doc": "Commitments at level 1"})
    level_2: int = field(metadata={"doc": "Commitments at level 2"})
    level_3: int = field(metadata={"doc": "Commitments at level 3"})
    average_level: float | None = field(metadata={"doc": "Mean level over assessed commitments as of the "
                                                         "as-of date"})
    average_level_since: float | None = field(metadata={"doc": "Mean level as of the since date"})
    moved_up: int = field(metadata={"doc": "Commitments whose level rose between the two dates"})
    moved_down: int = field(metadata={"doc": "Commitments whose level fell between the two dates"})
    weakened: int = field(metadata={"doc": "Weakened commitment passages in its documents within the window"})
    strengthened: int = field(metadata={"doc": "Strengthened commitment passages in its documents within "
                                               "the window"})
    first_framework_published_on: date | None = field(metadata={"doc": "First stated publication date of a "
                                                                       "framework document, on or before "
                                                                       "the as-of date"})
    deadlines: str = field(metadata={"doc": "Status of each framework deadline: '<deadline id>: <status>', "
                                            "'; '-separated"})
    documents: str = field(metadata={"doc": "The document versions that count as of the as-of date (see the"
                                            " documents table)"})


@dataclass
class DocumentRow:
    company_id: str = field(metadata={"doc": "Company id"})
    source_id: str = field(metadata={"doc": "Watched source id"})
    title: str = field(metadata={"doc": "Title of the source"})
    kind: str = field(metadata={"doc": "framework, companion, policy-page, transparency-hub, ..."})
    version_id: int = field(metadata={"doc": "Document version id (stable within this database)"})
    version_label: str = field(metadata={"doc": "Version label the document states, if any"})
    published_on: date | None = field(metadata={"doc": "Publication date the document states, if known"})
    retrieved_at: datetime = field(metadata={"doc": "When the tracker retrieved this version (UTC)"})
    url: str = field(metadata={"doc": "The version's own document (the publisher's file, not a landing page)"})
    archived_url: str = field(metadata={"doc": "Archived copy (Wayback Machine) of that document, if known"})
    silent_reupload: bool = field(metadata={"doc": "True when the file changed under an unchanged label and date "
                                                   "(dated from the day it was first seen)"})
    text_sha256: str = field(metadata={"doc": "SHA-256 of the normalised text (natural key with source_id)"})
    raw_sha256: str = field(metadata={"doc": RAW_SHA_DOC})
    publisher_sha256: str = field(metadata={"doc": PUBLISHER_SHA_DOC})
    why: str = field(metadata={"doc": "'in force' (newest version of a framework document as of the date, "
                                      "unless a successor document was published by then) and/or 'cited' (a "
                                      "current level rests on it)"})


@dataclass
class ChangeRow:
    kind: str = field(metadata={"doc": "new_framework, new_version, weakened, strengthened, removed,"
                                       " level_up, level_down, level_new, deadline_missed or deadline_met"})
    date: date = field(metadata={"doc": "Effective date of the event (publication date, else retrieval "
                                        "date; valid_from for levels; the due date for deadlines)"})
    company_id: str = field(metadata={"doc": "Company id"})
    company: str = field(metadata={"doc": "Company name"})
    commitments: str = field(metadata={"doc": "Commitment ids concerned, space-separated"})
    detail: str = field(metadata={"doc": "What happened, in words"})
    old_level: int | None = field(metadata={"doc": "Level before (level events)"})
    new_level: int | None = field(metadata={"doc": "Level after (level events)"})
    old_quote: str = field(metadata={"doc": "Passage before (change events; publisher's text)"})
    new_quote: str = field(metadata={"doc": "Passage after (change events; publisher's text)"})
    source_id: str = field(metadata={"doc": "Watched source id, when a document is concerned"})
    source_url: str = field(metadata={"doc": "The document version's own URL, when a document is concerned"})
    archived_url: str = field(metadata={"doc": "Archived copy (Wayback Machine) of that document, if known"})
    version_id: int | None = field(metadata={"doc": "Document version id, when a document is concerned"})
    text_sha256: str = field(metadata={"doc": "SHA-256 of that version's normalised text"})
    change_id: int | None = field(metadata={"doc": "ChangeEvent id (change events)"})
    assessment_id: int | None = field(metadata={"doc": "Assessment id (level events)"})


@dataclass
class DeadlineRow:
    deadline_id: str = field(metadata={"doc": "Deadline id from the framework catalog"})
    label: str = field(metadata={"doc": "What was due"})
    due: date | None = field(metadata={"doc": "Due date (for a recurring clock, of the current period; empty "
                                              "when nothing has triggered it)"})
    company_id: str = field(metadata={"doc": "Company id"})
    company: str = field(metadata={"doc": "Company name"})
    signed_on: date = field(metadata={"doc": "Date the company signed (for a law: the date it binds from)"})
    first_published_on: date | None = field(metadata={"doc": "First stated publication of a framework "
                                                             "document, on or before the as-of date"})
    status: str = field(metadata={"doc": "; ".join(f"{k} ({v})" for k, v in DEADLINE_STATUS_MEANINGS.items())})
    kind: str = field(default="publish-by", metadata={
        "doc": "publish-by, review-every, change-within or update-record"})
    version_id: int | None = field(default=None, metadata={"doc": "Version the status rests on"})
    version_label: str = field(default="", metadata={"doc": "That version's label and publication date"})
    version_published_on: date | None = field(default=None, metadata={"doc": "That version's publication date"})
    detail: str = field(default="", metadata={"doc": "Why: what was found, and what is due next"})
    flags: str = field(default="", metadata={"doc": "Change-analysis flags of that version, '; '-separated"})


TABLES: dict[str, type] = {
    "commitments": CommitmentRow, "companies": CompanyRow, "levels": LevelRow, "changes": ChangeRow,
    "deadlines": DeadlineRow, "documents": DocumentRow,
}
TABLE_DESCRIPTIONS = {
    "commitments": "Per commitment: how many signatories are at each level as of the date, and what moved.",
    "companies": "Per signatory: level counts, moves, weakened/strengthened passages, deadlines, documents.",
    "levels": "One row per signatory and commitment, with the citation the level rests on.",
    "changes": "What changed in the window (since, as of]: documents, passages, levels, deadlines.",
    "deadlines": "Each framework deadline for each signatory.",
    "documents": "The document versions that count as of the date, per signatory.",
}


def column_docs(table: str) -> dict[str, str]:
    """Column name -> description, for README sheets and the data dictionary."""
    return {f.name: f.metadata["doc"] for f in fields(TABLES[table])}


@dataclass
class Stocktake:
    framework_id: str
    framework_name: str
    framework_licence: str
    framework_attribution: str
    as_of: date
    since: date
    generated_at: datetime
    commitments: list[CommitmentRow]
    companies: list[CompanyRow]
    levels: list[LevelRow]
    changes: list[ChangeRow]
    deadlines: list[DeadlineRow]
    documents: list[DocumentRow]

    def tables(self) -> dict[str, list[dict]]:
        """Every table as dicts (shallow: the rows hold plain values, so `asdict`'s deep copies are not needed)."""
        result = {}
        for name, row_type in TABLES.items():
            columns = [f.name for f in fields(row_type)]
            result[name] = [{c: getattr(row, c) for c in columns} for row in getattr(self, name)]
        return result

    def frame(self, table: str) -> pd.DataFrame:
        return pd.DataFrame(self.tables()[table], columns=[f.name for f in fields(TABLES[table])])

    def meta(self) -> dict[str, object]:
        return {
            "title": f"Stocktake: {self.framework_name}",
            "framework_id": self.framework_id, "framework": self.framework_name,
            "as_of": self.as_of.isoformat(), "since": self.since.isoformat(),
            "window": f"changes dated after {self.since.isoformat()} up to and including {self.as_of.isoformat()}",
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "signatories": len(self.companies), "commitments": len(self.commitments),
            "levels": {str(k): v for k, v in LEVELS.items()},
        }


# ------------------------------------------------------------------------------------------- computation


def _signatories(
    session: Session, framework_id: str, as_of: date, since: date
) -> tuple[m.Framework, list[m.Commitment], dict[str, m.Signature], list[m.Company]]:
    """The framework, its commitments and its signatories as of the date (bad input: a clear error)."""
    if since > as_of:
        raise ValidationError(f"--since ({since}) must not be after --as-of ({as_of})")
    framework = session.get(m.Framework, framework_id)
    if framework is None:
        known = ", ".join(session.exec(select(m.Framework.id).order_by(m.Framework.id))) or "none loaded"
        raise NotFoundError(f"unknown framework '{framework_id}' (known: {known})")
    commitments = framework_commitments(session, framework_id)
    signatures = {
        s.company_id: s for s in session.exec(
            select(m.Signature).where(m.Signature.framework_id == framework_id, m.Signature.signed_on <= as_of,
                                      m.Signature.status.in_(BINDING_STATUSES))
        )
    }
    companies = list(session.exec(
        select(m.Company).where(m.Company.id.in_(list(signatures))).order_by(m.Company.name)
    )) if signatures else []
    return framework, commitments, signatures, companies


def build_stocktake(session: Session, framework_id: str, as_of: date, since: date) -> Stocktake:
    """Compute the stocktake of one framework: levels as of `as_of`, changes in (since, as_of]."""
    framework, commitments, signatures, companies = _signatories(session, framework_id, as_of, since)
    company_ids = [c.id for c in companies]
    names = {c.id: c.name for c in companies}

    now = {(a.company_id, a.commitment_id): a
           for a in latest_assessments(session, as_of, framework_id=framework_id, company_ids=company_ids)}
    then = {(a.company_id, a.commitment_id): a
            for a in latest_assessments(session, since, framework_id=framework_id, company_ids=company_ids)}

    sources = {s.id: s for s in session.exec(select(m.Source).where(m.Source.company_id.in_(company_ids)))}
    versions = [v for v in map(version_info, session.execute(
        sa.select(*VERSION_META).where(m.DocumentVersion.source_id.in_(list(sources)), public_version())
    )) if effective_date(v) <= as_of] if sources else []
    versions_by_id = {v.id: v for v in versions}
    evidence = _best_evidence(session, versions_by_id, [c.id for c in commitments])

    levels = _level_rows(companies, commitments, now, then, versions_by_id, sources, evidence, as_of)
    first_published = published_frameworks_by(session, company_ids, as_of) if company_ids else {}
    deadline_rows = _deadline_rows(framework, companies, session, as_of)
    documents = _document_rows(companies, sources, versions, now)
    changes = _change_rows(session, framework_id, since, as_of, names, sources, versions, levels,
                           deadline_rows)
    commitment_rows = _commitment_rows(commitments, companies, levels)
    company_rows = _company_rows(companies, signatures, levels, changes, first_published, deadline_rows,
                                 documents)
    return Stocktake(
        framework_id=framework.id, framework_name=framework.name, framework_licence=framework.licence or "",
        framework_attribution=framework.attribution or "", as_of=as_of, since=since,
        generated_at=datetime.now(UTC), commitments=commitment_rows, companies=company_rows, levels=levels,
        changes=changes, deadlines=deadline_rows, documents=documents,
    )


IN_CHUNK = 5_000
# What the stocktake shows of a passage: read as plain rows, never as ORM objects.
_EVIDENCE_COLUMNS = (
    m.Evidence.id, m.Evidence.version_id, m.Evidence.commitment_id, m.Evidence.quote, m.Evidence.section,
    m.Evidence.page, m.Evidence.score, m.Evidence.commits,
)


def _best_evidence(
    session: Session, versions: dict[int, VersionInfo], commitment_ids: list[str]
) -> dict[tuple[int, str], sa.Row]:
    """Per (version, commitment), the passage that best supports it: committing passages first, then score.

    Selected by the versions' sources (a few ids), not by version ids: a signatory may have hundreds of
    versions, and hundreds of thousands of bound parameters cost more to send than the rows they select.
    """
    best: dict[tuple[int, str], sa.Row] = {}
    if not versions or not commitment_ids:
        return best
    source_ids = sorted({v.source_id for v in versions.values()})
    rows = (row for start in range(0, len(source_ids), IN_CHUNK)  # chunks: backends cap the parameters per query
            for row in session.execute(
                sa.select(*_EVIDENCE_COLUMNS).join(m.DocumentVersion, m.DocumentVersion.id == m.Evidence.version_id)
                .where(m.DocumentVersion.source_id.in_(source_ids[start:start + IN_CHUNK]),
                       m.Evidence.commitment_id.in_(commitment_ids))))
    ranks: dict[tuple[int, str], tuple] = {}
    for row in rows:
        evidence_id, version_id, commitment_id, _, _, _, score, commits = row
        if version_id not in versions:  # published after the as-of date
            continue
        key, rank = (version_id, commitment_id), (commits, score, -(evidence_id or 0))
        if key not in ranks or rank > ranks[key]:
            ranks[key], best[key] = rank, row
    return best


def _moved(old: sa.Row | None, new: sa.Row | None) -> str:
    if new is None or new.level is None:
        return ""
    if old is None or old.level is None:
        return "new"
    return "up" if new.level > old.level else "down" if new.level < old.level else "unchanged"


def _level_rows(
    companies: list[m.Company], commitments: list[m.Commitment], now: dict, then: dict,
    versions: dict[int, VersionInfo], sources: dict[str, m.Source], evidence: dict, as_of: date,
) -> list[LevelRow]:
    # The quote a level rests on: a passage of its own version; else the passage a reviewer quoted; else, for a
    # level that cites no version, the newest passage of the company on the same commitment.
    newest_with_evidence: dict[tuple[str, str], m.Evidence] = {}
    for (version_id, commitment_id), row in evidence.items():
        version = versions[version_id]
        key = (sources[version.source_id].company_id, commitment_id)
        current = newest_with_evidence.get(key)
        if current is None or effective_date(version) > effective_date(versions[current.version_id]):
            newest_with_evidence[key] = row
    rows = []
    for company in companies:
        for commitment in commitments:
            current = now.get((company.id, commitment.id))
            before = then.get((company.id, commitment.id))
            version = versions.get(current.version_id) if current and current.version_id else None
            quote, quote_text, quote_from = None, "", ""
            if version is not None and (version.id, commitment.id) in evidence:
                quote = evidence[(version.id, commitment.id)]
                quote_text, quote_from = quote.quote, "evidence"
            elif current is not None and (found := RATIONALE_QUOTE.search(current.rationale or "")):
                quote_text, quote_from = found.group(1), "rationale"
            elif current is not None and (company.id, commitment.id) in newest_with_evidence:
                quote = newest_with_evidence[(company.id, commitment.id)]
                quote_text, quote_from = quote.quote, "newest evidence"
                version = version or versions[quote.version_id]
            rows.append(LevelRow(
                company_id=company.id, company=company.name, commitment_id=commitment.id,
                commitment=commitment.number, title=commitment.title,
                level=current.level if current else None,
                level_label=level_label(current.level) if current else "Not assessed",
                basis=current.basis if current else "not assessed",
                valid_from=current.valid_from if current else None,
                level_since=before.level if before else None, moved=_moved(before, current),
                assessment_id=current.id if current else None,
                confidence=current.confidence if current else None,
                score=current.score if current else None,
                rationale=_rationale(current, as_of),
                evidence_quote=quote_text, quote_from=quote_from,
                evidence_section=(quote.section or "") if quote else "",
                evidence_page=quote.page if quote else None,
                source_id=version.source_id if version else "", source_url=version.url if version else "",
                version_id=version.id if version else None,
                version_label=(version.version_label or "") if version else "",
                published_on=version.published_on if version else None,
                retrieved_at=version.fetched_at if version else None,
                text_sha256=version.text_sha256 if version else "",
                raw_sha256=(version.raw_sha256 or "") if version else "",
                publisher_sha256=(version.publisher_sha256 or "") if version else "",
                archived_url=(version.archived_url or "") if version else "",
            ))
    return rows


def _rationale(current: sa.Row | None, as_of: date) -> str:
    """The assessment's reasons; a 'no framework' level says the date of the view, never another date."""
    if current is None:
        return ""
    if current.method == "no-framework":
        return f"No safety framework published as of {as_of.isoformat()}."
    return current.rationale or ""


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _commitment_rows(
    commitments: list[m.Commitment], companies: list[m.Company], levels: list[LevelRow]
) -> list[CommitmentRow]:
    by_commitment: dict[str, list[LevelRow]] = defaultdict(list)
    for row in levels:
        by_commitment[row.commitment_id].append(row)
    result = []
    for commitment in commitments:
        rows = by_commitment[commitment.id]
        counts = Counter(r.level for r in rows if r.basis != "not assessed")
        result.append(CommitmentRow(
            commitment_id=commitment.id, commitment=commitment.number, title=commitment.title,
            signatories=len(companies), level_0=counts[0], level_1=counts[1], level_2=counts[2],
            level_3=counts[3], not_applicable=counts[None],
            not_assessed=sum(1 for r in rows if r.basis == "not assessed"),
            average_level=_mean([r.level for r in rows if r.level is not None]),
            average_level_since=_mean([r.level_since for r in rows if r.level_since is not None]),
            moved_up=sum(1 for r in rows if r.moved == "up"), moved_down=sum(1 for r in rows if r.moved == "down"),
        ))
    return result


def _document_rows(
    companies: list[m.Company], sources: dict[str, m.Source], versions: list[VersionInfo], now: dict
) -> list[DocumentRow]:
    newest: dict[str, VersionInfo] = {}
    for version in versions:
        current = newest.get(version.source_id)
        if current is None or order_key(version) > order_key(current):
            newest[version.source_id] = version
    # A superseded document stops counting the day its successor is published (the successor has a version).
    replaced = {sources[source_id].supersedes for source_id in newest if sources[source_id].supersedes}
    why: dict[int, set[str]] = defaultdict(set)
    for source_id, version in newest.items():
        if sources[source_id].kind == "framework" and source_id not in replaced:
            why[version.id].add("in force")
    cited = {a.version_id for a in now.values() if a.version_id is not None}
    by_id = {v.id: v for v in versions}
    for version_id in cited:
        if version_id in by_id:
            why[version_id].add("cited")
    order = {c.id: i for i, c in enumerate(companies)}
    rows = []
    for version_id, reasons in why.items():
        version = by_id[version_id]
        source = sources[version.source_id]
        rows.append(DocumentRow(
            company_id=source.company_id, source_id=source.id, title=source.title, kind=source.kind,
            version_id=version.id, version_label=version.version_label or "", published_on=version.published_on,
            retrieved_at=version.fetched_at, url=version.url, archived_url=version.archived_url or "",
            silent_reupload=version.silent_reupload, text_sha256=version.text_sha256,
            raw_sha256=version.raw_sha256 or "", publisher_sha256=version.publisher_sha256 or "",
            why=", ".join(sorted(reasons, reverse=True)),
        ))
    rows.sort(key=lambda r: (order[r.company_id], r.source_id, r.version_id))
    return rows


def _deadline_rows(framework: m.Framework, companies: list[m.Company], session: Session, as_of: date) -> list[DeadlineRow]:
    """Every clock of the framework for every signatory (`tracker.read.deadlines`), in the companies' order."""
    if not companies or not framework.deadlines:
        return []
    order = {c.id: i for i, c in enumerate(companies)}
    clocks = {str(d.get("id", d["date"])): i for i, d in enumerate(framework.deadlines)}
    statuses = deadline_statuses(session, framework.id, as_of, list(order))
    statuses.sort(key=lambda s: (clocks[s.deadline_id], order[s.company_id]))
    return [DeadlineRow(
        deadline_id=s.deadline_id, label=s.label, due=s.due, company_id=s.company_id, company=s.company,
        signed_on=s.bound_from, first_published_on=s.first_published_on, status=s.status, kind=s.kind,
        version_id=s.version_id, version_label=s.version_label, version_published_on=s.version_published_on,
        detail=s.detail, flags="; ".join(f.code for f in s.flags),
    ) for s in statuses]


def _change_rows(
    session: Session, framework_id: str, since: date, as_of: date, names: dict[str, str],
    sources: dict[str, m.Source], versions: list[VersionInfo], levels: list[LevelRow],
    deadlines: list[DeadlineRow], *, documents: bool = True,
) -> list[ChangeRow]:
    rows: list[ChangeRow] = []
    in_window = lambda day: since < day <= as_of  # noqa: E731

    # New documents: a company's first framework version is a new framework, everything else a new version.
    first_framework: dict[str, VersionInfo] = {}
    for version in versions:
        source = sources[version.source_id]
        if source.kind != "framework":
            continue
        current = first_framework.get(source.company_id)
        if current is None or (effective_date(version), version.id) < (effective_date(current), current.id):
            first_framework[source.company_id] = version
    first_ids = {v.id for v in first_framework.values()}
    for version in versions if documents else ():
        if not in_window(effective_date(version)):
            continue
        source = sources[version.source_id]
        label = version.version_label or "new version"
        rows.append(ChangeRow(
            kind="new_framework" if version.id in first_ids else "new_version", date=effective_date(version),
            company_id=source.company_id, company=names[source.company_id], commitments="",
            detail=f"{source.title}: {label}", old_level=None, new_level=None, old_quote="", new_quote="",
            source_id=source.id, source_url=version.url, archived_url=version.archived_url or "",
            version_id=version.id, text_sha256=version.text_sha256,
            change_id=None, assessment_id=None,
        ))

    # Weakened, strengthened and removed commitment passages recorded by the change analysis.
    by_id = {v.id: v for v in versions}
    if sources:
        events = session.exec(select(m.ChangeEvent).where(
            m.ChangeEvent.source_id.in_(list(sources)), m.ChangeEvent.direction.in_(LEVEL_MOVING_DIRECTIONS),
            public_change(),
        ).order_by(m.ChangeEvent.id))
    else:
        events = []
    prefix = f"{framework_id}/"
    for event in events:
        version = by_id.get(event.new_version_id)
        if version is None:
            continue
        if not in_window(effective_date(version)):
            continue
        if event.commitments and not any(c.startswith(prefix) for c in event.commitments):
            continue
        reasons = "; ".join(f"{r.get('code', '')}: {r.get('detail', '')}".strip(": ") for r in event.reasons)
        rows.append(ChangeRow(
            kind=event.direction, date=effective_date(version), company_id=event.company_id,
            company=names[event.company_id], commitments=" ".join(event.commitments),
            detail=f"{sources[event.source_id].title}: passage {event.direction}"
                   + (f" ({reasons})" if reasons else "") + f"; announced: {event.announced}"
                   + (f' ({event.announcement_source}: "{event.announcement_quote}")' if event.announcement_quote
                      else ""),
            old_level=None, new_level=None, old_quote=event.old_quote or "", new_quote=event.new_quote or "",
            source_id=event.source_id, source_url=version.url, archived_url=version.archived_url or "",
            version_id=version.id,
            text_sha256=version.text_sha256, change_id=event.id, assessment_id=None,
        ))

    # Level moves between the two dates (net: the level as of `since` against the level as of `as_of`).
    for row in levels:
        if row.moved not in ("up", "down", "new") or row.valid_from is None or not in_window(row.valid_from):
            continue
        rows.append(ChangeRow(
            kind=f"level_{row.moved}", date=row.valid_from, company_id=row.company_id, company=row.company,
            commitments=row.commitment_id,
            detail=f"{row.commitment_id}: {level_label(row.level_since) if row.level_since is not None else 'not assessed'}"
                   f" → {row.level_label} ({row.basis})",
            old_level=row.level_since, new_level=row.level, old_quote="", new_quote=row.evidence_quote,
            source_id=row.source_id, source_url=row.source_url, archived_url=row.archived_url,
            version_id=row.version_id,
            text_sha256=row.text_sha256, change_id=None, assessment_id=row.assessment_id,
        ))

    # Deadlines that fell due in the window; one due on the since date counts (it is usually that summit's).
    for deadline in deadlines:
        if (deadline.due is None or not since <= deadline.due <= as_of
                or deadline.status in ("signed after", "not due yet", "unknown")):
            continue
        met = deadline.status == "met"
        rows.append(ChangeRow(
            kind="deadline_met" if met else "deadline_missed", date=deadline.due,
            company_id=deadline.company_id, company=deadline.company, commitments="",
            detail=f"{deadline.label}: {deadline.status}"
                   + (f" (first framework published {deadline.first_published_on})"
                      if deadline.first_published_on else ""),
            old_level=None, new_level=None, old_quote="", new_quote="", source_id="", source_url="", archived_url="",
            version_id=None, text_sha256="", change_id=None, assessment_id=None,
        ))
    rows.sort(key=lambda r: (r.date, r.company, r.kind, r.commitments))
    return rows


def _company_rows(
    companies: list[m.Company], signatures: dict[str, m.Signature], levels: list[LevelRow],
    changes: list[ChangeRow], first_published: dict[str, date], deadlines: list[DeadlineRow],
    documents: list[DocumentRow],
) -> list[CompanyRow]:
    levels_of: dict[str, list[LevelRow]] = defaultdict(list)
    for level_row in levels:
        levels_of[level_row.company_id].append(level_row)
    kinds_of: dict[str, Counter] = defaultdict(Counter)
    for change in changes:
        kinds_of[change.company_id][change.kind] += 1
    docs_of: dict[str, list[DocumentRow]] = defaultdict(list)
    for document in documents:
        docs_of[document.company_id].append(document)
    deadlines_of: dict[str, list[DeadlineRow]] = defaultdict(list)
    for deadline in deadlines:
        deadlines_of[deadline.company_id].append(deadline)
    result = []
    for company in companies:
        rows = levels_of[company.id]
        counts = Counter(r.level for r in rows if r.basis != "not assessed")
        kinds = kinds_of[company.id]
        docs = docs_of[company.id]
        result.append(CompanyRow(
            company_id=company.id, company=company.name, signed_on=signatures[company.id].signed_on,
            assessed=sum(1 for r in rows if r.basis != "not assessed"),
            level_0=counts[0], level_1=counts[1], level_2=counts[2], level_3=counts[3],
            average_level=_mean([r.level for r in rows if r.level is not None]),
            average_level_since=_mean([r.level_since for r in rows if r.level_since is not None]),
            moved_up=sum(1 for r in rows if r.moved == "up"), moved_down=sum(1 for r in rows if r.moved == "down"),
            weakened=kinds["weakened"], strengthened=kinds["strengthened"],
            first_framework_published_on=first_published.get(company.id),
            deadlines="; ".join(f"{d.deadline_id}: {d.status}" for d in deadlines_of[company.id]),
            documents="; ".join(
                f"{d.title} ({d.version_label or d.published_on or d.retrieved_at.date()}, v{d.version_id})"
                for d in docs
            ),
        ))
    return result



# ------------------------------------------------------------------------------------ figures for the page


@dataclass
class StocktakeFigures:
    """What the stocktake page shows, without what only the downloads need (citations, every new version).

    At 1,000 signatories the full stocktake reads every version and passage of every signatory (tens of
    seconds); these figures read the two as-of grids, the flagged passages in the window and a count of new
    document versions, so the page can show them at once and build a download only when it is asked for.
    """

    framework_id: str
    framework_name: str
    as_of: date
    since: date
    commitments: list[CommitmentRow]
    companies: list[CompanyRow]
    levels: list[LevelRow]  # levels and moves only: the citation columns are empty (they are in the downloads)
    changes: list[ChangeRow]  # passages, levels and deadlines; new document versions are only counted
    deadlines: list[DeadlineRow]
    new_documents: int

    def frame(self, table: str) -> pd.DataFrame:
        columns = [f.name for f in fields(TABLES[table])]
        rows = [{c: getattr(row, c) for c in columns} for row in getattr(self, table)]
        return pd.DataFrame(rows, columns=columns)

    def change_kinds(self) -> dict[str, int]:
        kinds = Counter(row.kind for row in self.changes)
        return dict(kinds)


def _light_level_rows(
    companies: list[m.Company], commitments: list[m.Commitment], now: dict, then: dict
) -> list[LevelRow]:
    rows = []
    for company in companies:
        for commitment in commitments:
            current = now.get((company.id, commitment.id))
            before = then.get((company.id, commitment.id))
            rows.append(LevelRow(
                company_id=company.id, company=company.name, commitment_id=commitment.id,
                commitment=commitment.number, title=commitment.title,
                level=current.level if current else None,
                level_label=level_label(current.level) if current else "Not assessed",
                basis=current.basis if current else "not assessed",
                valid_from=current.valid_from if current else None,
                level_since=before.level if before else None, moved=_moved(before, current),
                assessment_id=current.id if current else None, confidence=None,
                score=current.score if current else None, rationale="",
                evidence_quote="", quote_from="", evidence_section="", evidence_page=None, source_id="",
                source_url="", version_id=current.version_id if current else None, version_label="",
                published_on=None, retrieved_at=None, text_sha256="", raw_sha256="", publisher_sha256="",
                archived_url="",
            ))
    return rows


def stocktake_figures(session: Session, framework_id: str, as_of: date, since: date) -> StocktakeFigures:
    """The stocktake's counts, moves, deadlines and flagged changes, as `build_stocktake` computes them."""
    from tracker.read.asof import levels_in_force
    from tracker.read.queries import effective_between

    framework, commitments, signatures, companies = _signatories(session, framework_id, as_of, since)
    company_ids = [c.id for c in companies]
    names = {c.id: c.name for c in companies}
    shown = set(company_ids)
    now = {(r.company_id, r.commitment_id): r for r in levels_in_force(session, as_of, framework_id=framework_id)
           if r.company_id in shown}
    then = {(r.company_id, r.commitment_id): r for r in levels_in_force(session, since, framework_id=framework_id)
            if r.company_id in shown}
    sources = {s.id: s for s in session.exec(select(m.Source).where(m.Source.company_id.in_(company_ids)))} \
        if company_ids else {}
    # Only the versions that flagged passages point at (for their dates and URLs), not every version.
    event_versions = [version_info(row) for row in session.execute(
        sa.select(*VERSION_META).where(m.DocumentVersion.id.in_(
            sa.select(m.ChangeEvent.new_version_id).where(
                m.ChangeEvent.source_id.in_(list(sources)),
                m.ChangeEvent.direction.in_(LEVEL_MOVING_DIRECTIONS)))))] if sources else []
    levels = _light_level_rows(companies, commitments, now, then)
    first_published = published_frameworks_by(session, company_ids, as_of) if company_ids else {}
    deadline_rows = _deadline_rows(framework, companies, session, as_of)
    changes = _change_rows(session, framework_id, since, as_of, names, sources,
                           [v for v in event_versions if effective_date(v) <= as_of], levels, deadline_rows,
                           documents=False)
    window = effective_between(m.DocumentVersion.published_on, m.DocumentVersion.fetched_at,
                                since + timedelta(days=1), as_of)
    new_documents = session.scalar(sa.select(sa.func.count()).select_from(m.DocumentVersion).where(
        m.DocumentVersion.source_id.in_(list(sources)), *window)) if sources else 0
    return StocktakeFigures(
        framework_id=framework.id, framework_name=framework.name, as_of=as_of, since=since,
        commitments=_commitment_rows(commitments, companies, levels),
        companies=_company_rows(companies, signatures, levels, changes, first_published, deadline_rows, []),
        levels=levels, changes=changes, deadlines=deadline_rows, new_documents=new_documents or 0,
    )
