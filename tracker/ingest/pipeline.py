"""From a capture to what the tracker knows: versions, evidence, automatic levels and change events.

`ingest_capture` is the one way a document enters the store (fetched by `refresh`, backfilled by
`import-file`, or uploaded with a self-report). It keeps the raw bytes, adds a `DocumentVersion` only when the
normalised text is new, maps it onto the commitments of its frameworks, re-derives the company's automatic
levels and compares it with its neighbouring versions. Everything for one document happens in the caller's
transaction, so a run killed half-way leaves either all of it or none of it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from scrapers.capture import Capture, FetchError
from scrapers.extract import Extracted, detect_publication_date, detect_version_label, extract
from tracker.analysis.changes import DetectedChange, detect_changes
from tracker.analysis.mapping import METHOD_VERSION, available_frameworks, classify_passages, map_document
from tracker.core.errors import NotFoundError, ValidationError
from tracker.core.rawstore import RawStore
from tracker.store import models as m
from tracker.store.versions import effective_date, order_key, version_label, versions_in_order

CHANGES_METHOD = "align-rules-1"
CONTENT_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".txt": "text/plain",
                 ".md": "text/plain"}
CORPUS_DATE = re.compile(r"_(\d{4}-\d{2}-\d{2})\.txt$")


def extract_upload(body: bytes, content_type: str, name: str) -> Extracted:
    """Text of a document a company uploaded with a self-report: the one call the upload reader makes.

    Runs in the background reader (tracker.accounts.selfreports.read_upload), never on a page's request.
    Raises FetchError with a reason code when the document cannot be read. The scrapers' time- and
    memory-bounded extraction replaces `extract` here, in this one line.
    """
    return extract(body, content_type, f"upload:{name}")


@dataclass
class IngestResult:
    outcome: str  # new_version | unchanged
    version: m.DocumentVersion
    changes: int = 0
    assessments: int = 0
    notes: list[str] = field(default_factory=list)


def lineage(session: Session, source: m.Source) -> list[str]:
    """The source and the ones it superseded (a renamed framework is still the same commitment document)."""
    chain, current = [source.id], source
    while current.supersedes and current.supersedes not in chain:
        current = session.get(m.Source, current.supersedes)
        if current is None:
            break
        chain.append(current.id)
    successors = session.exec(select(m.Source).where(m.Source.supersedes == source.id)).all()
    return chain + [s.id for s in successors if s.id not in chain]


def versions_in_lineage(session: Session, source: m.Source) -> list[m.DocumentVersion]:
    """Versions of a document across renames, oldest first: what change analysis compares in sequence."""
    versions = list(session.exec(select(m.DocumentVersion).where(
        m.DocumentVersion.source_id.in_(lineage(session, source)))))
    return sorted(versions, key=order_key)


def _known_version(source: m.Source, published_on: date | None) -> dict | None:
    if published_on is None:
        return None
    for known in source.known_versions:
        if known.get("published_on") == published_on.isoformat():
            return known
    return None


def ingest_capture(
    session: Session,
    source: m.Source,
    capture: Capture,
    *,
    origin: str = "fetched",
    raw_store: RawStore | None = None,
    published_on: date | None = None,
    version_label: str | None = None,
) -> IngestResult:
    """Store a capture as a version of `source` (or recognise it as unchanged) and analyse it."""
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
    known = _known_version(source, published_on)
    version_label = version_label or capture.version_label or (known or {}).get("label")
    version = m.DocumentVersion(
        source_id=source.id, fetched_at=capture.fetched_at, url=capture.final_url or capture.requested_url,
        origin=origin, raw_sha256=capture.raw_sha256 or None, text_sha256=capture.text_sha256,
        content_type=capture.content_type, format=capture.format, byte_size=len(capture.body),
        char_count=len(capture.text), page_count=capture.page_count, text=capture.text,
        sections=[{"heading": s.heading, "level": s.level, "start": s.start, "end": s.end, "page": s.page}
                  for s in capture.sections],
        version_label=version_label, published_on=published_on,
        published_on_evidence=capture.published_on_evidence if capture.published_on == published_on else None,
        etag=capture.etag, last_modified=capture.last_modified,
    )
    session.add(version)
    session.flush()
    result = IngestResult("new_version", version)
    ordered = versions_in_lineage(session, source)
    index = [v.id for v in ordered].index(version.id)
    previous = ordered[index - 1] if index > 0 else None
    following = ordered[index + 1] if index + 1 < len(ordered) else None
    version.previous_version_id = previous.id if previous else None
    if (previous is not None and previous.source_id == source.id and previous.version_label
            and previous.version_label == version.version_label):
        version.silent_reupload = True
        result.notes.append(f"text changed but the stated version '{version.version_label}' did not")
    map_version(session, version, source)
    if previous is not None:
        result.changes += compare_versions(session, previous, version, source)
    if following is not None:  # a backfilled version sits between two others: re-compare the later pair
        following.previous_version_id = version.id
        session.exec(sa.delete(m.ChangeEvent).where(m.ChangeEvent.new_version_id == following.id))
        following_source = session.get(m.Source, following.source_id) or source
        result.changes += compare_versions(session, version, following, following_source)
    result.assessments = derive_assessments(session, source.company_id)
    return result


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
    session: Session, old: m.DocumentVersion, new: m.DocumentVersion, source: m.Source
) -> int:
    """ChangeEvent rows for the commitment passages that differ between two versions."""
    if old.text is None or new.text is None:
        return 0
    detected = detect_changes(old.text, new.text, classify=_classifier(_frameworks_for(source)))
    for change in detected:
        session.add(change_event(change, old, new, source))
    new.changes_method = CHANGES_METHOD
    session.flush()
    return len(detected)


def change_event(
    change: DetectedChange, old: m.DocumentVersion, new: m.DocumentVersion, source: m.Source
) -> m.ChangeEvent:
    return m.ChangeEvent(
        source_id=source.id, company_id=source.company_id, old_version_id=old.id, new_version_id=new.id,
        direction=change.direction, reasons=[{"code": r.code, "detail": r.detail} for r in change.reasons],
        commitments=list(change.commitments),
        old_quote=change.old.text if change.old else None, new_quote=change.new.text if change.new else None,
        old_section=change.old.section if change.old else None,
        new_section=change.new.section if change.new else None,
        old_start=change.old.start if change.old else None, new_start=change.new.start if change.new else None,
        similarity=round(change.similarity, 4) if change.similarity is not None else None,
        announced=change.announced, published_on=new.published_on, method=CHANGES_METHOD,
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
                rationale=f"Suggested by the mapping of {version.source_id} ({label}); "
                          f"indicators met: {', '.join(info.get('indicators_met') or []) or 'none'}.",
            )
            session.add(assessment)
            existing.append(assessment)
            added += 1
    session.flush()
    return added


# ------------------------------------------------------------------------------------------- import files


def capture_from_file(path: Path, source: m.Source, fetched_at: datetime | None = None) -> Capture:
    """Read an archived copy (PDF, HTML or canonical text) the way a fetch would have produced it."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    body = path.read_bytes()
    if not body:
        raise ValidationError(f"{path}: the file is empty")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    try:
        extracted = extract(body, content_type, path.resolve().as_uri())
    except FetchError as exc:
        raise ValidationError(f"{path}: {exc.message}") from exc
    published_on, evidence = detect_publication_date(extracted.text)
    return Capture(
        source_id=source.id, requested_url=source.url, final_url=source.url,
        fetched_at=fetched_at or datetime.now(UTC), status=None, headers={}, content_type=content_type,
        format=extracted.format, body=body, raw_sha256=hashlib.sha256(body).hexdigest(), text=extracted.text,
        text_sha256=hashlib.sha256(extracted.text.encode()).hexdigest(), sections=extracted.sections,
        page_count=extracted.page_count, version_label=detect_version_label(extracted.text),
        published_on=published_on, published_on_evidence=evidence, warnings=extracted.warnings,
    )


def import_file(
    session: Session,
    path: Path,
    source_id: str,
    *,
    fetched_at: datetime | None = None,
    published_on: date | None = None,
    raw_store: RawStore | None = None,
) -> IngestResult:
    """Backfill an archived copy as a version of a source. A corpus file name's date is its publication date."""
    source = session.get(m.Source, source_id)
    if source is None:
        raise NotFoundError(f"unknown source '{source_id}'; see data/sources/*.yaml for source ids")
    match = CORPUS_DATE.search(path.name)
    if published_on is None and match:
        published_on = date.fromisoformat(match.group(1))
    capture = capture_from_file(path, source, fetched_at)
    if published_on is None:
        published_on = capture.published_on
    if fetched_at is None and published_on is not None:
        capture.fetched_at = datetime.combine(published_on, datetime.min.time(), UTC)
    return ingest_capture(session, source, capture, origin="imported", raw_store=raw_store,
                          published_on=published_on)


def corpus_source(session: Session, path: Path) -> m.Source | None:
    """The source whose `corpus_prefix` the file name starts with (longest prefix wins)."""
    sources = [s for s in session.exec(select(m.Source)) if s.corpus_prefix and path.name.startswith(s.corpus_prefix)]
    return max(sources, key=lambda s: len(s.corpus_prefix or ""), default=None)


def corpus_files(folder: Path) -> list[Path]:
    """Archived copies in publication order (the date in the file name), so history builds forwards."""
    def key(path: Path) -> tuple[str, str]:
        match = CORPUS_DATE.search(path.name)
        return (match.group(1) if match else "9999", path.name)

    return sorted(folder.glob("*.txt"), key=key)
