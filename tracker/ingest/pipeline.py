"""From a capture to what the tracker knows: versions, evidence, automatic levels and change events.

`ingest_capture` is the one way a document enters the store (fetched by `refresh`, backfilled by
`import-file`, or uploaded with a self-report). It keeps the raw bytes, adds a `DocumentVersion` only when the
normalised text is new, maps it onto the commitments of its frameworks, re-derives the company's automatic
levels and compares it with its neighbouring versions. Everything for one document happens in the caller's
transaction, so a run killed half-way leaves either all of it or none of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from scrapers.build import build_capture
from scrapers.capture import Capture, FetchError
from tracker.analysis.announcement import Account, Judgement, judge, parse_account, version_account
from tracker.analysis.changes import DetectedChange, _common_words, detect_changes
from tracker.analysis.mapping import METHOD_VERSION, available_frameworks, classify_passages, map_document
from tracker.analysis.passages import split_passages
from tracker.analysis.regimes import update_record
from tracker.core.errors import NotFoundError, ValidationError
from tracker.core.rawstore import RawStore
from tracker.store import models as m
from tracker.store.versions import (
    effective_date,
    lineage_versions,
    order_key,
    version_label,
    versions_in_order,
)
from tracker.store.vocabulary import score_in_band

CHANGES_METHOD = "align-codebook-2"  # direction by the codebook model (tracker.analysis.direction)
CONTENT_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".txt": "text/plain",
                 ".md": "text/plain"}
CORPUS_DATE = re.compile(r"_(\d{4}-\d{2}-\d{2})\.txt$")
# A corpus document: `<provider>_<document>_<version>_<date>.txt` (not LICENSE-corpus.txt, README, ...).
CORPUS_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*_\d{4}-\d{2}-\d{2}\.txt$")


def extract_upload(body: bytes, content_type: str, name: str) -> Capture:
    """A document a company uploaded with a self-report, read: the one call the upload reader makes.

    Runs in the background reader (tracker.accounts.selfreports.read_upload), never on a page's request, and
    extracts in the scrapers' time- and memory-bounded worker. Raises FetchError with a reason code when the
    document cannot be read.
    """
    return build_capture(body, content_type, f"upload:{name}")


@dataclass
class IngestResult:
    outcome: str  # new_version | unchanged
    version: m.DocumentVersion
    changes: int = 0
    assessments: int = 0
    notes: list[str] = field(default_factory=list)


def known_version(source: m.Source, *, corpus_file: str | None = None,
                  published_on: date | None = None) -> dict | None:
    """The catalog's entry for a version: by corpus file name, else by stated date (never a re-upload by date)."""
    if corpus_file:
        for known in source.known_versions:
            if known.get("corpus_file") == corpus_file:
                return known
    if published_on is None:
        return None
    for known in source.known_versions:
        if known.get("published_on") == published_on.isoformat() and not known.get("silent_reupload"):
            return known
    return None


def _date_or_none(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def ingest_capture(
    session: Session,
    source: m.Source,
    capture: Capture,
    *,
    origin: str = "fetched",
    raw_store: RawStore | None = None,
    published_on: date | None = None,
    version_label: str | None = None,
    known: dict | None = None,
    account: Account | None = None,
    accounts: dict[int, Account] | None = None,
) -> IngestResult:
    """Store a capture as a version of `source` (or recognise it as unchanged) and analyse it.

    `known` is the catalog's entry for this version (its own document URL, archived copy, publisher's file
    hash, re-upload flag and first-seen date); `account` the company's own account of it (corpus
    changelogs), kept in `accounts` by version id so a later re-comparison can use it too.
    """
    if capture.body:
        (raw_store or RawStore()).put(capture.body)
    existing = session.exec(
        select(m.DocumentVersion).where(
            m.DocumentVersion.source_id == source.id, m.DocumentVersion.text_sha256 == capture.text_sha256
        )
    ).first()
    if existing is not None:
        return IngestResult("unchanged", existing)

    published_on = published_on or capture.published_on
    known = known or known_version(source, published_on=published_on)
    facts = known or {}
    version_label = version_label or facts.get("label") or capture.version_label
    url = capture.final_url or capture.requested_url
    if origin != "fetched" and facts.get("url"):
        url = facts["url"]  # an imported copy links to the publisher's document, never to our file
    evidence = capture.published_on_evidence if capture.published_on == published_on else None
    version = m.DocumentVersion(
        source_id=source.id, fetched_at=capture.fetched_at, url=url, archived_url=facts.get("archived_url"),
        origin=origin, raw_sha256=capture.raw_sha256 or None, text_sha256=capture.text_sha256,
        publisher_sha256=(capture.raw_sha256 or None) if origin == "fetched" else facts.get("publisher_sha256"),
        content_type=capture.content_type, format=capture.format, byte_size=len(capture.body),
        char_count=len(capture.text), page_count=capture.page_count, text=capture.text,
        sections=[{"heading": s.heading, "level": s.level, "start": s.start, "end": s.end, "page": s.page}
                  for s in capture.sections],
        version_label=version_label, published_on=published_on,
        published_on_evidence=facts.get("published_on_evidence") or evidence,
        silent_reupload=bool(facts.get("silent_reupload")), first_seen_on=_date_or_none(facts.get("first_seen")),
        etag=capture.etag, last_modified=capture.last_modified,
    )
    session.add(version)
    session.flush()
    if accounts is not None and account is not None:
        accounts[version.id] = account  # type: ignore[index]
    result = IngestResult("new_version", version)
    ordered = lineage_versions(session, source)
    index = [v.id for v in ordered].index(version.id)
    previous = ordered[index - 1] if index > 0 else None
    following = ordered[index + 1] if index + 1 < len(ordered) else None
    version.previous_version_id = previous.id if previous else None
    if (not version.silent_reupload and previous is not None and previous.source_id == source.id
            and previous.version_label and previous.version_label == version.version_label):
        version.silent_reupload = True  # same label, changed file: dated the day we first saw it
        version.first_seen_on = capture.fetched_at.date()
    if version.silent_reupload:
        result.notes.append(f"text changed but the stated version '{version.version_label}' did not")
    map_version(session, version, source)
    record_update(version)
    if previous is not None:
        result.changes += compare_versions(session, previous, version, source, accounts=accounts)
    if following is not None:  # a backfilled version sits between two others: re-compare the later pair
        following.previous_version_id = version.id
        session.exec(sa.delete(m.ChangeEvent).where(m.ChangeEvent.new_version_id == following.id))
        following_source = session.get(m.Source, following.source_id) or source
        result.changes += compare_versions(session, version, following, following_source, accounts=accounts)
    result.assessments = derive_assessments(session, source.company_id)
    return result


def record_update(version: m.DocumentVersion) -> bool:
    """Store what the version states about its own update (changelog, version, date of change, justification),
    which the regimes' clocks read without loading texts; False when there is no text to read."""
    if version.text is None:
        return False
    evidence = version.published_on_evidence
    version.update_record = update_record(
        version.text, version_label=version.version_label, dated_on=version.published_on if evidence else None,
        dated_evidence=evidence).to_json()
    return True


def record_updates(session: Session, *, batch: int = 200) -> int:
    """Backfill the update record of every stored text that has none yet (versions ingested before it existed)."""
    unread = sa.cast(m.DocumentVersion.update_record, sa.Text) == "{}"  # JSON as text, the same on both backends
    ids = list(session.scalars(sa.select(m.DocumentVersion.id).where(m.DocumentVersion.text.is_not(None), unread)))
    done = 0
    for i in range(0, len(ids), batch):
        for version in session.scalars(sa.select(m.DocumentVersion).where(m.DocumentVersion.id.in_(ids[i:i + batch]))):
            done += record_update(version)
        session.flush()
    return done


def _frameworks_for(source: m.Source) -> list[str]:
    known = set(available_frameworks())
    return [f for f in source.frameworks if f in known]


def map_version(session: Session, version: m.DocumentVersion, source: m.Source) -> int:
    """Evidence rows and suggested levels for each framework the source speaks to; skipped when current."""
    if version.text is None or version.mapped_method == METHOD_VERSION:
        return 0
    session.exec(sa.delete(m.Evidence).where(m.Evidence.version_id == version.id))
    levels: dict[str, dict] = {}
    added = 0
    for framework_id in _frameworks_for(source):
        mapping = map_document(version.text, framework_id)
        for commitment in mapping.commitments:
            levels[commitment.commitment_id] = {
                "level": commitment.level, "score": round(commitment.score, 4),
                "confidence": round(commitment.confidence, 3), "indicators_met": commitment.indicators_met,
                "cell_score": round(commitment.cell_score, 1),  # 0-100 (tracker.analysis.cellscore)
            }
            for item in commitment.evidence:
                session.add(m.Evidence(
                    version_id=version.id, commitment_id=commitment.commitment_id,
                    indicator_id=item.indicator_id, start=item.start, end=item.end, section=item.section or None,
                    page=item.page, quote=item.quote, score=round(item.score, 4), commits=item.commits,
                    method=METHOD_VERSION,
                ))
                added += 1
    version.mapped_levels = levels
    version.mapped_method = METHOD_VERSION
    session.flush()
    return added


def _classifier(frameworks: list[str]):
    def classify(text: str) -> list[str]:
        found: list[str] = []
        for framework_id in frameworks:
            found += [cid for cid, score in classify_passages(framework_id, [text])[0][:2] if score >= 0.3]
        return found

    return classify


def compare_versions(
    session: Session, old: m.DocumentVersion, new: m.DocumentVersion, source: m.Source, *,
    accounts: dict[int, Account] | None = None,
) -> int:
    """ChangeEvent rows for the commitment passages that differ between two versions.

    Each change is judged against the company's own account of the new version: what its changelog and (when
    the corpus has it) its version history and announcement say that they did not already say for the old one.
    """
    if old.text is None or new.text is None:
        return 0
    detected = detect_changes(old.text, new.text, classify=_classifier(_frameworks_for(source)))
    account, has_account = version_account(new.text, old.text, file_account=(accounts or {}).get(new.id),
                                           previous_file_account=(accounts or {}).get(old.id))
    common = _common_words([*split_passages(old.text), *split_passages(new.text)])
    for change in detected:
        judgement = judge(change, account, has_account, common_words=common)
        change.announced = judgement.state
        session.add(change_event(change, old, new, source, judgement))
    new.changes_method = CHANGES_METHOD
    session.flush()
    return len(detected)


def change_event(
    change: DetectedChange, old: m.DocumentVersion, new: m.DocumentVersion, source: m.Source,
    judgement: Judgement | None = None,
) -> m.ChangeEvent:
    """One change as a row; dated by the new version's effective date (a re-upload: when it was first seen)."""
    return m.ChangeEvent(
        source_id=source.id, company_id=source.company_id, old_version_id=old.id, new_version_id=new.id,
        direction=change.direction, reasons=[{"code": r.code, "detail": r.detail} for r in change.reasons],
        commitments=list(change.commitments),
        old_quote=change.old.text if change.old else None, new_quote=change.new.text if change.new else None,
        old_section=change.old.section if change.old else None,
        new_section=change.new.section if change.new else None,
        old_start=change.old.start if change.old else None, new_start=change.new.start if change.new else None,
        similarity=round(change.similarity, 4) if change.similarity is not None else None,
        probability=round(change.probability, 4), weakened_probability=round(change.weakened_probability, 4),
        announced=change.announced, announcement_quote=judgement.quote if judgement else None,
        announcement_source=judgement.kind if judgement else None, published_on=effective_date(new),
        method=CHANGES_METHOD,
    )


def derive_assessments(session: Session, company_id: str) -> int:
    """Re-derive the company's automatic levels over time from its mapped versions; append what changed.

    At each date a version took effect, the level on a commitment is the best level among the newest version
    (as of that date) of each of the company's sources, ignoring sources replaced by a successor by then. A row
    is added only when the level or the version it cites differs from the automatic row already in force, so
    re-running adds nothing.
    """
    sources = list(session.exec(select(m.Source).where(m.Source.company_id == company_id)))
    timelines = {s.id: [v for v in versions_in_order(session, s.id) if v.mapped_levels] for s in sources}
    dates = sorted({effective_date(v) for versions in timelines.values() for v in versions})
    existing = list(session.exec(
        select(m.Assessment).where(m.Assessment.company_id == company_id, m.Assessment.basis == "automatic")
    ))
    added = 0
    for when in dates:
        current: dict[str, tuple[int, date, float, m.DocumentVersion]] = {}
        replaced = {s.supersedes for s in sources
                    if s.supersedes and any(effective_date(v) <= when for v in timelines[s.id])}
        for source_id, versions in timelines.items():
            in_force = [v for v in versions if effective_date(v) <= when]
            if not in_force or source_id in replaced:  # a renamed framework's old versions no longer count
                continue
            version = in_force[-1]
            for commitment_id, info in version.mapped_levels.items():
                # best level wins; on a tie the newer document is the one to cite
                candidate = (info["level"], effective_date(version), info.get("score", 0.0), version)
                best = current.get(commitment_id)
                if best is None or candidate[:3] > best[:3]:
                    current[commitment_id] = candidate
        for commitment_id, (level, _when, _score, version) in current.items():
            in_force = [a for a in existing if a.commitment_id == commitment_id and a.valid_from <= when]
            latest = max(in_force, key=lambda a: (a.valid_from, a.recorded_at, a.id or 0), default=None)
            if latest is not None and (latest.level, latest.version_id) == (level, version.id):
                continue
            info = version.mapped_levels[commitment_id]
            label = version_label(version)
            assessment = m.Assessment(
                company_id=company_id, commitment_id=commitment_id, level=level, basis="automatic",
                valid_from=when, confidence=info.get("confidence"), version_id=version.id, method=METHOD_VERSION,
                score=score_in_band(level, info.get("cell_score")),
                rationale=f"Suggested by the mapping of {version.source_id} ({label}); "
                          f"indicators met: {', '.join(info.get('indicators_met') or []) or 'none'}.",
                # A backfilled history is recorded as of its versions, not the wall clock: rebuilding the seed
                # from the same corpus gives the same bytes. A fetched version is recorded when it is mapped.
                recorded_at=datetime.now(UTC) if version.origin == "fetched" else version.fetched_at,
            )
            session.add(assessment)
            existing.append(assessment)
            added += 1
    session.flush()
    return added


# ------------------------------------------------------------------------------------------- import files


def capture_from_file(path: Path, source: m.Source, fetched_at: datetime | None = None,
                      url: str | None = None) -> Capture:
    """Read an archived copy (PDF, HTML or canonical text) the way a fetch of `url` would have produced it.

    `url` is the version's own document (from the catalog); the source's watched URL is only a fallback.
    """
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    body = path.read_bytes()
    if not body:
        raise ValidationError(f"{path}: the file is empty")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    try:
        return build_capture(body, content_type, url or source.url, source_id=source.id, fetched_at=fetched_at)
    except FetchError as exc:
        raise ValidationError(f"{path}: {exc.message}") from exc


def import_file(
    session: Session,
    path: Path,
    source_id: str,
    *,
    fetched_at: datetime | None = None,
    published_on: date | None = None,
    raw_store: RawStore | None = None,
    known: dict | None = None,
    account: Account | None = None,
    accounts: dict[int, Account] | None = None,
) -> IngestResult:
    """Backfill an archived copy as a version of a source.

    The catalog's entry for the file (by corpus file name) gives its label, dates and links; otherwise a corpus
    file name's date is its publication date. The version counts as seen on its first-seen date (re-uploads)
    or publication date, so a backfilled history reads as it happened.
    """
    source = session.get(m.Source, source_id)
    if source is None:
        raise NotFoundError(f"unknown source '{source_id}'; see data/sources/*.yaml for source ids")
    known = known or known_version(source, corpus_file=path.name)
    match = CORPUS_DATE.search(path.name)
    if published_on is None and known:
        published_on = _date_or_none(known.get("published_on"))
    if published_on is None and match:
        published_on = date.fromisoformat(match.group(1))
    capture = capture_from_file(path, source, fetched_at, url=(known or {}).get("url"))
    if published_on is None:
        published_on = capture.published_on
    seen_on = _date_or_none((known or {}).get("first_seen")) or published_on
    if fetched_at is None and seen_on is not None:
        capture.fetched_at = datetime.combine(seen_on, datetime.min.time(), UTC)
    return ingest_capture(session, source, capture, origin="imported", raw_store=raw_store,
                          published_on=published_on, known=known or known_version(source, published_on=published_on),
                          account=account, accounts=accounts)


@dataclass
class CorpusEntry:
    """Where a corpus file belongs: its source and catalog entry, or why it is not imported."""

    path: Path
    source: m.Source | None
    known: dict | None = None
    skip_reason: str | None = None


def corpus_entry(session: Session, path: Path, sources: list[m.Source] | None = None) -> CorpusEntry:
    """The catalog's place for a corpus file: a version (by `corpus_file`), an edition, or a `corpus_prefix`."""
    sources = sources if sources is not None else list(session.exec(select(m.Source).order_by(m.Source.id)))
    for source in sources:
        for known in source.known_versions:
            if known.get("corpus_file") == path.name:
                return CorpusEntry(path, source, known)
            for edition in known.get("editions", []):
                if edition.get("corpus_file") == path.name:
                    return CorpusEntry(path, None, skip_reason=f"{edition.get('language', '')} edition of "
                                       f"{source.id} {known.get('label')}: {edition.get('skip_reason', '')}")
    prefixed = [s for s in sources if s.corpus_prefix and path.name.startswith(s.corpus_prefix)]
    source = max(prefixed, key=lambda s: len(s.corpus_prefix or ""), default=None)
    if source is None:
        return CorpusEntry(path, None, skip_reason="no source in data/sources/ lists this file or its prefix")
    return CorpusEntry(path, source)


def corpus_source(session: Session, path: Path) -> m.Source | None:
    """The source a corpus file is a version of (None for a skipped edition or an unknown file)."""
    return corpus_entry(session, path).source


def corpus_files(folder: Path) -> list[Path]:
    """The corpus documents (not its licence or readme) by the date in the file name, so history builds forwards.

    The seed build orders them again by the catalog's version facts (re-uploads by their first-seen date).
    """
    def key(path: Path) -> tuple[str, str]:
        match = CORPUS_DATE.search(path.name)
        return (match.group(1) if match else "9999", path.name)

    return sorted((p for p in folder.glob("*.txt") if CORPUS_NAME.match(p.name)), key=key)


@dataclass
class _Planned:
    """A corpus file's version facts before import, so the import order is the history order."""

    published_on: date | None
    fetched_at: datetime
    silent_reupload: bool
    first_seen_on: date | None


def _planned(entry: CorpusEntry) -> _Planned:
    known = entry.known or {}
    published = _date_or_none(known.get("published_on"))
    if published is None and (match := CORPUS_DATE.search(entry.path.name)):
        published = date.fromisoformat(match.group(1))
    first_seen = _date_or_none(known.get("first_seen"))
    seen = first_seen or published or date.min
    return _Planned(published, datetime.combine(seen, datetime.min.time(), UTC), bool(known.get("silent_reupload")),
                    first_seen)


def _revision_account(folder: Path, known: dict | None, missing: list[str]) -> Account | None:
    """The company's own account of this version (the corpus's changelogs/), when the corpus has it."""
    name = (known or {}).get("revision_account")
    if not name:
        return None
    path = folder / "changelogs" / name
    if not path.is_file():
        missing.append(name)
        return None
    return parse_account(path.read_text(encoding="utf-8"))


@dataclass
class CorpusImport:
    imported: list[tuple[str, str, str]] = field(default_factory=list)  # (outcome, source id, file name)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {file, reason}
    missing_accounts: list[str] = field(default_factory=list)  # revision accounts the catalog names, not on disk


def import_corpus(session: Session, folder: Path, *, raw_store: RawStore | None = None,
                  commit: Callable[[], None] | None = None) -> CorpusImport:
    """Import a corpus folder in history order (`order_key`: re-uploads at their first-seen date).

    Each file becomes the catalog's version it is listed as, with the company's own account of the revision
    from `changelogs/`, so every version is compared with its immediate predecessor only and each change judged
    against what the company said. Editions and unknown files are skipped with the reason. `commit` runs after
    each file (one transaction per document).
    """
    result = CorpusImport()
    sources = list(session.exec(select(m.Source).order_by(m.Source.id)))
    entries = [corpus_entry(session, path, sources) for path in corpus_files(folder)]
    result.skipped = [{"file": e.path.name, "reason": e.skip_reason or ""} for e in entries if e.source is None]
    planned = sorted((e for e in entries if e.source is not None), key=lambda e: (order_key(_planned(e)), e.path.name))
    accounts: dict[int, Account] = {}
    for entry in planned:
        source_id = entry.source.id if entry.source else ""
        account = _revision_account(folder, entry.known, result.missing_accounts)
        outcome = import_file(session, entry.path, source_id, raw_store=raw_store, known=entry.known,
                              account=account, accounts=accounts)
        if outcome.outcome == "unchanged" and account is not None:
            accounts[outcome.version.id] = account  # type: ignore[index]
        result.imported.append((outcome.outcome, source_id, entry.path.name))
        if commit is not None:
            commit()
    result.missing_accounts.sort()
    return result
