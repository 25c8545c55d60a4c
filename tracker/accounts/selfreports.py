"""Self-reports: what a company says it has done, kept verbatim, and the reviewer's decision beside it.

Authorization lives here, not in the pages: every function that reads submissions or changes anything takes
the acting `User` and checks role and company (`PermissionDenied` otherwise), so no page or script can reach a
submission another way. A representative sees and writes only their own company's submissions; reviewers and
admins see all and decide. Approval appends an `Assessment` with basis `self-reported` (or `reviewed` when the
reviewer also verified the claim against independent evidence), linked back to the submission.

Uploaded and fetched documents become versions (origin `submitted`) of the per-company source
`<company>-self-reports`. That source maps onto no framework, so a company's own material never feeds the
tracker's automatic levels: claims and checks stay apart. Those versions are private to the company and the
reviewers until the submission is approved (`tracker.store.versions.public_version`).

Reading an upload (text extraction) and fetching evidence links are slow and depend on what others sent, so
they never run on a page's request: `submit` checks size and type, keeps the bytes in the raw store and marks
the upload `received`; `read_upload` (run by a small background pool, `schedule_reading`) extracts it, stores
the version and marks it `read`, or `refused` with the reason. The page shows that status.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scrapers.capture import Capture, FetchError
from scrapers.extract import sniff_format
from tracker.accounts.audit import record, snapshot
from tracker.accounts.auth import require_role
from tracker.core.config import get_settings
from tracker.core.db import session_scope
from tracker.core.errors import NotFoundError, PermissionDenied, ValidationError
from tracker.core.rawstore import RawStore
from tracker.ingest.attempts import attempt_from
from tracker.read.asof import latest_assessments
from tracker.read.queries import SUBMISSION_PAGE, submission_links, submission_path  # noqa: F401  (part of this API)
from tracker.store import models as m
from tracker.store.spans import add_assessment
from tracker.store.versions import self_report_source_id
from tracker.store.vocabulary import LEVELS, SUBMISSION_STATUSES

DECISIONS = {"approve": "approved", "reject": "rejected", "request_changes": "changes_requested"}
MAX_STATEMENT_CHARS = 20_000
MAX_EVIDENCE_URLS = 10
MAX_URL_CHARS = 2_000
UPLOAD_KINDS = {"pdf": "application/pdf", "html": "text/html"}
SUFFIX_KINDS = {".pdf": "pdf", ".html": "html", ".htm": "html"}
# Reading an upload: received (queued) -> reading -> read | refused. A claim older than READING_TIMEOUT is
# taken to be a reader that died (a restart), and the upload is read again.
UPLOAD_STATUSES = ("received", "reading", "read", "refused")
READING_TIMEOUT = timedelta(minutes=10)
READER_THREADS = 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it; only `body` is trusted to say what it is."""

    filename: str
    body: bytes


# ------------------------------------------------------------------------------------------- validation


def _check_upload(upload: Upload) -> tuple[str, str]:
    """Size and type by content (cheap, on the request): refuses before anything is stored. Name and kind."""
    limit = get_settings().max_upload_bytes
    name = PurePath(upload.filename or "upload").name
    if not upload.body:
        raise ValidationError(f"{name}: the file is empty")
    if len(upload.body) > limit:
        raise ValidationError(f"{name} is {len(upload.body):,} bytes; uploads may be at most {limit:,} bytes "
                              "(TRACKER_MAX_UPLOAD_BYTES). Send a smaller file or a link to the document.")
    kind = sniff_format(upload.body, "", "")  # by content only: names and browser-declared types can lie
    claimed = SUFFIX_KINDS.get(PurePath(name).suffix.lower())
    if kind not in UPLOAD_KINDS:
        raise ValidationError(f"{name} is not a PDF or HTML document (checked by its content); upload a PDF or "
                              "an HTML page")
    if claimed is not None and claimed != kind:
        raise ValidationError(f"{name} is named as {claimed.upper()} but its content is {kind.upper()}; the file "
                              "was refused")
    return name, kind


def _capture_for_upload(name: str, content_type: str, body: bytes) -> Capture:
    """Extract an upload's text (slow: in the background reader only); ValidationError when it cannot be read."""
    from tracker.ingest.pipeline import extract_upload

    try:
        return extract_upload(body, content_type, name)
    except FetchError as exc:
        raise ValidationError(f"{name}: {exc.message}") from exc


def _check_urls(urls: list[str]) -> list[str]:
    cleaned: list[str] = []
    for url in (u.strip() for u in urls):
        if not url or url in cleaned:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_CHARS:
            raise ValidationError(f"{url[:100]!r} is not an http(s) link; give full addresses like https://…")
        cleaned.append(url)
    if len(cleaned) > MAX_EVIDENCE_URLS:
        raise ValidationError(f"at most {MAX_EVIDENCE_URLS} evidence links per submission ({len(cleaned)} given)")
    return cleaned


def _own_company(actor: m.User, company_id: str | None) -> str:
    if not actor.company_id:
        raise PermissionDenied(f"the representative '{actor.username}' is not bound to a company")
    if company_id is not None and company_id != actor.company_id:
        raise PermissionDenied(f"'{actor.username}' represents {actor.company_id}, not {company_id}")
    return actor.company_id


def self_report_source(session: Session, company_id: str) -> m.Source:
    """The company's `<company>-self-reports` source, created on first use (maps onto no framework)."""
    source = session.get(m.Source, self_report_source_id(company_id))
    if source is None:
        company = session.get(m.Company, company_id)
        if company is None:
            raise NotFoundError(f"unknown company '{company_id}'")
        source = m.Source(
            id=self_report_source_id(company_id), company_id=company_id, title=f"{company.name}: self-reports",
            kind="policy-page", format="html", url=f"urn:commitment-tracker:self-reports:{company_id}",
            frameworks=[], fetchable=False,
            notes="Documents uploaded or linked by the company's representatives with their self-reports.",
        )
        session.add(source)
        session.flush()
    return source


# ------------------------------------------------------------------------------------------ submissions


def submit(
    session: Session,
    actor: m.User | None,
    commitment_id: str,
    claimed_level: int,
    statement: str,
    *,
    evidence_urls: list[str] | None = None,
    upload: Upload | None = None,
    company_id: str | None = None,
    raw_store: RawStore | None = None,
) -> m.SelfReport:
    """A representative's claim for their own company. Everything is checked before anything is stored.

    Nothing slow happens here: an upload is kept as bytes (status `received`) and evidence links are only
    recorded; `read_upload` reads both in the background (`schedule_reading`).
    """
    actor = require_role(actor, "representative", doing="submit self-reports")
    company_id = _own_company(actor, company_id)
    if session.get(m.Commitment, commitment_id) is None:
        raise NotFoundError(f"unknown commitment '{commitment_id}'")
    if claimed_level not in LEVELS:
        raise ValidationError(f"the claimed level must be one of {', '.join(map(str, LEVELS))}")
    if not statement or not statement.strip():
        raise ValidationError("write a statement: what the company has done for this commitment")
    if len(statement) > MAX_STATEMENT_CHARS:
        raise ValidationError(f"the statement has {len(statement):,} characters; the limit is "
                              f"{MAX_STATEMENT_CHARS:,} (attach a document for more)")
    urls = _check_urls(evidence_urls or [])
    checked = _check_upload(upload) if upload is not None else None

    report = m.SelfReport(company_id=company_id, commitment_id=commitment_id, submitted_by=actor.id,
                          claimed_level=claimed_level, statement=statement, evidence_urls=urls)
    if checked is not None:
        name, kind = checked
        report.upload_filename = name
        report.upload_sha256 = (raw_store or RawStore()).put(upload.body)  # read later by `read_upload`
        report.upload_content_type = UPLOAD_KINDS[kind]
        report.upload_status = "received"
    session.add(report)
    session.flush()
    record(session, actor, "selfreport.submit", "selfreport", report.id, after=snapshot(report))
    return report


def _load(session: Session, report_id: int) -> m.SelfReport:
    report = session.get(m.SelfReport, report_id)
    if report is None:
        raise NotFoundError(f"no submission #{report_id}")
    return report


def get_submission(session: Session, actor: m.User | None, report_id: int) -> m.SelfReport:
    """One submission: for its company's representatives, reviewers and admins."""
    actor = require_role(actor, *("representative", "reviewer", "admin"), doing="read submissions")
    report = _load(session, report_id)
    if actor.role == "representative" and report.company_id != actor.company_id:
        raise PermissionDenied(f"submission #{report_id} belongs to another company")
    return report


def list_submissions(
    session: Session, actor: m.User | None, *, status: str | None = None, company_id: str | None = None
) -> list[m.SelfReport]:
    """Submissions newest first; a representative gets only their own company's."""
    actor = require_role(actor, *("representative", "reviewer", "admin"), doing="read submissions")
    if actor.role == "representative":
        company_id = _own_company(actor, company_id)
    if status is not None and status not in SUBMISSION_STATUSES:
        raise ValidationError(f"unknown status '{status}'; use one of {', '.join(SUBMISSION_STATUSES)}")
    query = select(m.SelfReport).order_by(m.SelfReport.submitted_at.desc(), m.SelfReport.id.desc())
    if company_id is not None:
        query = query.where(m.SelfReport.company_id == company_id)
    if status is not None:
        query = query.where(m.SelfReport.status == status)
    return list(session.exec(query))


def withdraw(session: Session, actor: m.User | None, report_id: int) -> m.SelfReport:
    """A representative takes back an undecided submission of their company."""
    actor = require_role(actor, "representative", doing="withdraw submissions")
    report = get_submission(session, actor, report_id)
    if report.status not in ("submitted", "changes_requested"):
        raise ValidationError(f"submission #{report_id} is {report.status}; only undecided ones can be withdrawn")
    before = snapshot(report)
    report.status = "withdrawn"
    session.add(report)
    session.flush()
    record(session, actor, "selfreport.withdraw", "selfreport", report.id, before=before, after=snapshot(report))
    return report


def fetch_evidence(session: Session, actor: m.User | None, report_id: int, ctx=None,
                   raw_store: RawStore | None = None) -> list[dict]:
    """Fetch a submission's evidence links with the scrapers; each outcome (or failure) is recorded.

    A failed link is recorded, never fatal. In production configuration private and loopback addresses are
    refused by the fetch context (see `tracker.ingest.refresh.default_context`).
    """
    from scrapers.adapters import SourceSpec, fetch_source
    from tracker.ingest.pipeline import ingest_capture
    from tracker.ingest.refresh import default_context

    report = get_submission(session, actor, report_id)
    source = self_report_source(session, report.company_id)
    own_context = ctx is None
    ctx = ctx or default_context()
    outcomes: list[dict] = []
    try:
        for url in report.evidence_urls:
            outcome: dict = {"url": url, "at": datetime.now(UTC).isoformat()}
            try:
                capture = fetch_source(ctx, SourceSpec(id=source.id, url=url, format="html"))
                result = ingest_capture(session, source, capture, origin="submitted", raw_store=raw_store)
                outcome |= {"outcome": result.outcome, "version_id": result.version.id}
                attempt = attempt_from(capture, source.id, url=url)
                attempt.outcome, attempt.version_id = result.outcome, result.version.id
                session.add(attempt)
            except FetchError as exc:
                outcome |= {"outcome": "failed", "reason": exc.reason, "message": exc.message}
                session.add(attempt_from(exc, source.id, url=url))
            outcomes.append(outcome)
    finally:
        if own_context:
            ctx.close()
    before = snapshot(report)
    report.evidence_fetches = outcomes
    session.add(report)
    session.flush()
    record(session, actor, "selfreport.fetch_evidence", "selfreport", report.id, before=before,
           after=snapshot(report))
    return outcomes


# ---------------------------------------------------------------------------------- reading in the background


def _claim(session: Session, report_id: int, now: datetime) -> bool:
    """Take an upload for reading in one UPDATE, so two readers (threads or processes) never both read it."""
    table = m.SelfReport.__table__
    claimed = session.execute(
        sa.update(table).where(
            table.c.id == report_id,
            sa.or_(table.c.upload_status == "received",
                   sa.and_(table.c.upload_status == "reading", table.c.upload_claimed_at < now - READING_TIMEOUT)))
        .values(upload_status="reading", upload_claimed_at=now)
    )
    return claimed.rowcount == 1


def _finish(session: Session, report_id: int, status: str, *, error: str | None = None,
            version_id: int | None = None) -> m.SelfReport:
    report = _load(session, report_id)
    before = snapshot(report)
    report.upload_status, report.upload_error = status, error
    if version_id is not None:
        report.upload_version_id = version_id
    session.add(report)
    session.flush()
    record(session, None, f"selfreport.upload_{status}", "selfreport", report.id, before=before,
           after=snapshot(report))
    return report


def read_upload(report_id: int, *, engine: Engine | None = None, raw_store: RawStore | None = None,
                now: datetime | None = None) -> str | None:
    """Read one submission's upload and fetch its evidence links; the upload's final status (None: no upload or
    another reader has it). Three short transactions: claim, (extract outside any), store or refuse.

    Runs in the background pool; a refusal is stored with its reason for the representative and reviewers,
    and an unexpected error is logged and stored as a refusal, so no upload stays "being read" for ever.
    """
    from tracker.ingest.pipeline import ingest_capture

    raw_store = raw_store or RawStore()
    with session_scope(engine) as session:
        report = _load(session, report_id)
        name, sha, content_type = report.upload_filename, report.upload_sha256, report.upload_content_type
        has_links = bool(report.evidence_urls) and not report.evidence_fetches
        claimed = sha is not None and _claim(session, report_id, now or datetime.now(UTC))
    status = None
    if claimed:
        try:
            capture = _capture_for_upload(name or "upload", content_type or "", raw_store.get(sha))
        except ValidationError as exc:
            with session_scope(engine) as session:
                status = _finish(session, report_id, "refused", error=str(exc)).upload_status
        except Exception:
            log.exception("reading the upload of submission #%s failed", report_id)
            with session_scope(engine) as session:
                status = _finish(session, report_id, "refused",
                                 error=f"{name}: the document could not be read").upload_status
        else:
            with session_scope(engine) as session:
                report = _load(session, report_id)
                source = self_report_source(session, report.company_id)
                capture.source_id = source.id
                result = ingest_capture(session, source, capture, origin="submitted", raw_store=raw_store)
                status = _finish(session, report_id, "read", version_id=result.version.id).upload_status
    if has_links and (claimed or sha is None):
        with session_scope(engine) as session:
            report = _load(session, report_id)
            fetch_evidence(session, session.get(m.User, report.submitted_by), report_id, raw_store=raw_store)
    return status


def pending_readings(session: Session, *, now: datetime | None = None) -> list[int]:
    """Submissions whose upload waits to be read, or whose reader died (a restart): for `schedule_reading`."""
    now = now or datetime.now(UTC)
    waiting = sa.or_(m.SelfReport.upload_status == "received",
                     sa.and_(m.SelfReport.upload_status == "reading",
                             m.SelfReport.upload_claimed_at < now - READING_TIMEOUT))
    return list(session.scalars(sa.select(m.SelfReport.id).where(waiting).order_by(m.SelfReport.id)))


_pool: ThreadPoolExecutor | None = None
_queued: set[int] = set()
_pool_lock = threading.Lock()


def schedule_reading(report_ids: list[int], *, engine: Engine | None = None) -> int:
    """Queue submissions for `read_upload` on this process's background pool (`READER_THREADS` threads);
    ids already queued are skipped. How many were queued. Pages call this right after `submit`."""
    global _pool
    queued = 0
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=READER_THREADS, thread_name_prefix="upload-reader")
        for report_id in report_ids:
            if report_id in _queued:
                continue
            _queued.add(report_id)
            _pool.submit(_read_queued, report_id, engine)
            queued += 1
    return queued


def _read_queued(report_id: int, engine: Engine | None) -> None:
    try:
        read_upload(report_id, engine=engine)
    except Exception:
        log.exception("background reading of submission #%s failed", report_id)
    finally:
        with _pool_lock:
            _queued.discard(report_id)


def upload_state(report: m.SelfReport) -> str:
    """What the representative and reviewers see of an upload: being read, read, or refused with the reason."""
    if report.upload_status in ("received", "reading"):
        return "being read"
    if report.upload_status == "refused":
        return f"refused: {report.upload_error or 'the document could not be read'}"
    if report.upload_status == "read" or report.upload_version_id is not None:
        return "read"
    return ""


# --------------------------------------------------------------------------------------------- decisions


def decide(
    session: Session,
    actor: m.User | None,
    report_id: int,
    decision: str,
    reason: str,
    *,
    verified: bool = False,
    valid_from: date | None = None,
) -> m.SelfReport:
    """Approve, reject or request changes (reviewers and admins), with a reason.

    Approval appends an Assessment at the claimed level: basis `reviewed` when `verified` (checked against
    independent evidence), else `self-reported`.
    """
    actor = require_role(actor, "reviewer", "admin", doing="decide on submissions")
    if decision not in DECISIONS:
        raise ValidationError(f"unknown decision '{decision}'; use one of {', '.join(DECISIONS)}")
    if not reason or not reason.strip():
        raise ValidationError("give a reason for the decision; it is shown beside the submission")
    report = _load(session, report_id)
    if report.status != "submitted":
        raise ValidationError(f"submission #{report_id} is {report.status.replace('_', ' ')}, not awaiting review")
    if decision == "approve" and report.upload_status in ("received", "reading"):
        raise ValidationError(f"the document of submission #{report_id} is still being read; approve it once it "
                              "has been read (the review page shows its text then)")
    now = datetime.now(UTC)
    before = snapshot(report)
    report.status = DECISIONS[decision]
    report.decided_by = actor.id
    report.decided_at = now
    report.decision_reason = reason.strip()
    report.verified = bool(verified and decision == "approve")
    if decision == "approve":
        assessment = add_assessment(session, m.Assessment(
            company_id=report.company_id, commitment_id=report.commitment_id, level=report.claimed_level,
            basis="reviewed" if report.verified else "self-reported", valid_from=valid_from or now.date(),
            recorded_at=now, assessor=actor.username, self_report_id=report.id, origin="self-report",
            rationale=f"Self-report #{report.id} approved"
                      f"{' and verified against independent evidence' if report.verified else ''}: {report.decision_reason}",
        ))
        record(session, actor, "assessment.create", "assessment", assessment.id, after=snapshot(assessment))
        report.assessment_id = assessment.id
    session.add(report)
    session.flush()
    record(session, actor, f"selfreport.{decision}", "selfreport", report.id, before=before, after=snapshot(report))
    return report


@dataclass
class EvidenceItem:
    source_id: str
    source_title: str
    version_id: int
    version_label: str | None
    published_on: date | None
    url: str
    section: str | None
    page: int | None
    quote: str
    score: float


@dataclass
class ReviewContext:
    """What a reviewer needs on one screen: the claim, the tracker's own evidence and current level."""

    report: m.SelfReport
    company: m.Company
    commitment: m.Commitment
    current: sa.Row | None  # the assessment in force today (a row of tracker.read.asof.latest_assessments)
    evidence: list[EvidenceItem] = field(default_factory=list)
    upload_version: m.DocumentVersion | None = None


def tracker_evidence(session: Session, company_id: str, commitment_id: str, limit: int = 10) -> list[EvidenceItem]:
    """Evidence for a commitment from the newest version of each of the company's own-watched sources."""
    rows = session.exec(
        select(m.Evidence, m.DocumentVersion, m.Source)
        .join(m.DocumentVersion, m.DocumentVersion.id == m.Evidence.version_id)
        .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
        .where(m.Source.company_id == company_id, m.Evidence.commitment_id == commitment_id,
               m.Source.id != self_report_source_id(company_id))
    ).all()
    newest: dict[str, tuple] = {}
    for _evidence, version, source in rows:
        key = (version.published_on or version.fetched_at.date(), version.fetched_at, version.id)
        if source.id not in newest or key > newest[source.id]:
            newest[source.id] = key
    items = [
        EvidenceItem(source.id, source.title, version.id, version.version_label, version.published_on, version.url,
                     evidence.section, evidence.page, evidence.quote, evidence.score)
        for evidence, version, source in rows if newest[source.id][2] == version.id
    ]
    return sorted(items, key=lambda item: -item.score)[:limit]


def review_context(session: Session, actor: m.User | None, report_id: int) -> ReviewContext:
    actor = require_role(actor, "reviewer", "admin", doing="review submissions")
    report = _load(session, report_id)
    current = latest_assessments(session, date.today(), company_ids=[report.company_id],
                                 commitment_ids=[report.commitment_id])
    return ReviewContext(
        report=report, company=session.get(m.Company, report.company_id),
        commitment=session.get(m.Commitment, report.commitment_id), current=current[0] if current else None,
        evidence=tracker_evidence(session, report.company_id, report.commitment_id),
        upload_version=session.get(m.DocumentVersion, report.upload_version_id) if report.upload_version_id else None,
    )


# ------------------------------------------------------------------------------------------ public view


@dataclass(frozen=True)
class PublicSubmission:
    """What any reader may see of an approved submission (no account names, no rejected or pending claims)."""

    id: int
    company_id: str
    company_name: str
    commitment_id: str
    commitment_title: str
    claimed_level: int
    statement: str
    evidence_urls: list[str]
    upload_filename: str | None
    submitted_on: date
    decided_on: date | None
    decision_reason: str
    verified: bool
    basis: str
    valid_from: date | None


def _public(session: Session, report: m.SelfReport) -> PublicSubmission:
    company = session.get(m.Company, report.company_id)
    commitment = session.get(m.Commitment, report.commitment_id)
    assessment = session.get(m.Assessment, report.assessment_id) if report.assessment_id else None
    return PublicSubmission(
        id=report.id, company_id=report.company_id, company_name=company.name if company else report.company_id,
        commitment_id=report.commitment_id, commitment_title=commitment.title if commitment else "",
        claimed_level=report.claimed_level, statement=report.statement, evidence_urls=list(report.evidence_urls),
        upload_filename=report.upload_filename, submitted_on=report.submitted_at.date(),
        decided_on=report.decided_at.date() if report.decided_at else None,
        decision_reason=report.decision_reason or "", verified=report.verified,
        basis=assessment.basis if assessment else ("reviewed" if report.verified else "self-reported"),
        valid_from=assessment.valid_from if assessment else None,
    )


def public_submission(session: Session, self_report_id: int) -> PublicSubmission | None:
    """An approved submission as readers see it; None when it does not exist or is not approved."""
    report = session.get(m.SelfReport, self_report_id)
    if report is None or report.status != "approved":
        return None
    return _public(session, report)


def public_submissions(session: Session, company_id: str | None = None) -> list[PublicSubmission]:
    """Every approved submission, newest decision first."""
    query = select(m.SelfReport).where(m.SelfReport.status == "approved")
    if company_id:
        query = query.where(m.SelfReport.company_id == company_id)
    reports = session.exec(query.order_by(m.SelfReport.decided_at.desc(), m.SelfReport.id.desc()))
    return [_public(session, report) for report in reports]
