"""All tables of the tracker, in one module (the vocabulary of DESIGN.md).

Catalog tables (Framework, Commitment, CommitmentLink, Company, Signature, Source) are loaded from YAML in
`data/` and keyed by stable string ids. Observations (FetchAttempt, DocumentVersion, Evidence, ChangeEvent)
and judgements (Assessment) are append-only: an Assessment is never updated in place, a newer row supersedes
it, so any date can be replayed. Datetimes are stored and returned as UTC-aware values on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime: SQLite keeps naive UTC, PostgreSQL `timestamptz`; both give back UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the tracker stores UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    nullable = kw.pop("nullable", False)
    index = kw.pop("index", False)
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index), **kw)


def _json(default: Any = None) -> Any:
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default or {}))
    return Field(default_factory=factory, sa_column=sa.Column(sa.JSON, nullable=False))


def _json_filled(default: list | dict) -> Any:
    """A JSON column with a server default too: rows inserted without it (SQL by hand, bulk loaders, rows that
    existed before the column) get the empty value. Used for the columns added after the first schema."""
    empty = sa.text("'[]'") if isinstance(default, list) else sa.text("'{}'")
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default))
    return Field(default_factory=factory, sa_column=sa.Column(sa.JSON, nullable=False, server_default=empty))


def _text(nullable: bool = True) -> Any:
    return Field(default=None if nullable else "", sa_column=sa.Column(sa.Text, nullable=nullable))


# --------------------------------------------------------------------------------------------- catalog


class Framework(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    short_name: str
    announced: date | None = None
    publisher: str = ""
    source_url: str
    edition: str | None = None
    licence: str | None = None
    licence_url: str | None = None
    attribution: str | None = None
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    kind: str = Field(default="voluntary", sa_column_kwargs={"server_default": "voluntary"})  # | code-of-practice | law
    applies_from: date | None = None  # when its duties start to bind; upcoming while after the as-of date
    applies_to: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))  # who
    scopes: list[dict] = _json_filled([])  # parts a company may sign separately: [{"id", "title", "note"}]
    deadlines: list[dict] = _json([])  # the clocks: [{"id", "kind", "date", "label", ...}], see catalog.DeadlineSpec
    preamble: list[dict] = _json([])
    groups: list[dict] = _json([])


class Commitment(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=80)  # "<framework>/<number>", e.g. seoul-2024/II
    framework_id: str = Field(foreign_key="framework.id", index=True)
    number: str = Field(max_length=16)
    position: int
    group_id: str | None = None
    title: str
    title_official: bool = False
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    text_confirmed: bool = True
    source_url: str
    detail_text: str | None = _text()
    detail_text_confirmed: bool = False
    detail_source_url: str | None = None
    legal_basis: str | None = _text()  # the provision it sits in or implements, e.g. "Arts 55(1), 56(5) AI Act"
    parts: list[dict] = _json_filled([])  # official sub-items, e.g. the Measures of an EU Code commitment: [{"number", "title"}]
    note: str | None = _text()


class CommitmentLink(SQLModel, table=True):
    """Crosswalk: two commitments of different frameworks that ask for the same thing, or overlap."""

    __table_args__ = (sa.UniqueConstraint("from_commitment_id", "to_commitment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    from_commitment_id: str = Field(foreign_key="commitment.id", index=True)
    to_commitment_id: str = Field(foreign_key="commitment.id", index=True)
    relation: str  # same | overlaps | part-of
    note: str = ""
    reviewed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})  # checked by a reviewer


class Company(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    aliases: list[str] = _json([])
    country: str = Field(max_length=2)
    group: str = "frontier-lab"
    website: str | None = None
    haip: dict = _json({})


class Signature(SQLModel, table=True):
    """How a company stands to a framework: signed it, declined to, or is bound by it as a law.

    A declined row is kept so it can be shown as such; readers that want signatories filter on `status`.
    For a law, `signed_on` is the day its duties start to bind the company.
    """

    __table_args__ = (sa.UniqueConstraint("company_id", "framework_id"),)
    id: int | None = Field(default=None, primary_key=True)
    company_id: str = Field(foreign_key="company.id", index=True)
    framework_id: str = Field(foreign_key="framework.id", index=True)
    signed_on: date
    date_precision: str = "exact"  # exact | on-or-before | intent (the day it announced it would sign)
    date_confidence: str = "C"  # V | C | S | M, as tagged in REFERENCE.md
    status: str = Field(default="signed", sa_column_kwargs={"server_default": "signed"})  # | declined | bound (law)
    status_confidence: str | None = None  # V | C | S | M | ours: how sure the status is (None: as the date)
    scope: str | None = None  # id of one of the framework's scopes (e.g. "safety-and-security"); None: no parts
    label: str | None = None
    source_url: str
    note: str | None = _text()


class Source(SQLModel, table=True):
    """A URL we watch for a company; the YAML in data/sources/ is the truth, this row mirrors it."""

    id: str = Field(primary_key=True, max_length=100)
    company_id: str = Field(foreign_key="company.id", index=True)
    title: str
    kind: str  # framework | companion | version-history | policy-page | transparency-hub | system-cards | haip-report
    format: str  # pdf | html
    adapter: str = "document"  # document | index
    url: str
    link_pattern: str | None = None
    link_text_pattern: str | None = None
    frameworks: list[str] = _json([])
    licence: str | None = _text()
    corpus_prefix: str | None = None
    notes: str | None = _text()
    known_versions: list[dict] = _json([])
    active: bool = True
    fetchable: bool = True  # False: behind a form or login; versions only come from imports
    supersedes: str | None = None  # id of the source this one renamed or replaced (versions are compared across)
    etag: str | None = None  # validators of the last successful fetch, for conditional requests
    last_modified: str | None = None


# ------------------------------------------------------------------------------------------ observations


class RefreshRun(SQLModel, table=True):
    """One run of `refresh`: when, how it went, and its counts (shown on the sources health page)."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _ts(default_factory=utcnow, index=True)
    finished_at: datetime | None = _ts(default=None, nullable=True)
    status: str = "running"  # running | finished | failed | interrupted
    trigger: str = "cli"
    host: str = ""
    counts: dict = _json({})
    errors: list[dict] = _json([])


class DocumentVersion(SQLModel, table=True):
    """One distinct normalised text of a source: a new row only when `text_sha256` changes."""

    __table_args__ = (
        sa.UniqueConstraint("source_id", "text_sha256"),
        sa.Index("ix_documentversion_source_fetched", "source_id", "fetched_at"),
        sa.Index("ix_documentversion_source_published", "source_id", "published_on"),  # first publication: 1 seek
    )
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(foreign_key="source.id", index=True)
    fetched_at: datetime = _ts(default_factory=utcnow)
    url: str  # this version's own document (the PDF or page itself, never a landing page)
    archived_url: str | None = None  # an archived copy of that document (Wayback capture), when one is known
    origin: str = "fetched"  # fetched | imported | submitted | seed
    # SHA-256 of the bytes the tracker stored: the download for a fetched version, the imported file otherwise
    # (for a corpus import that is the corpus's plain-text copy, not the publisher's file).
    raw_sha256: str | None = Field(default=None, max_length=64)
    # SHA-256 of the publisher's own file: the download for a fetched version, the corpus manifest's hash for
    # an imported one; None when unknown.
    publisher_sha256: str | None = Field(default=None, max_length=64)
    text_sha256: str = Field(max_length=64, index=True)
    content_type: str | None = None
    format: str | None = None
    byte_size: int | None = None
    char_count: int = 0
    page_count: int | None = None
    text: str | None = _text()  # None for seed versions: the tracker ships derived data, not documents
    sections: list[dict] = _json([])
    version_label: str | None = None
    published_on: date | None = Field(default=None, index=True)
    published_on_evidence: str | None = None
    silent_reupload: bool = False
    # A silent re-upload speaks for the day it was first seen, not the date it still states.
    first_seen_on: date | None = None
    previous_version_id: int | None = Field(default=None, foreign_key="documentversion.id")
    mapped_method: str | None = None  # METHOD_VERSION of the mapping that produced its Evidence
    mapped_levels: dict = _json({})  # {commitment_id: {"level", "score", "confidence", "indicators_met",
    # "cell_score"}} suggested by mapping ("score": best rubric match 0-1; "cell_score": 0-100, cellscore.py)
    changes_method: str | None = None  # version of the change analysis run against the previous version
    update_record: dict = _json_filled({})  # its own account of the update (analysis.clocks.UpdateRecord); {} unread
    etag: str | None = None
    last_modified: str | None = None


class FetchAttempt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(foreign_key="source.id", index=True)
    run_id: int | None = Field(default=None, foreign_key="refreshrun.id", index=True)
    started_at: datetime = _ts(default_factory=utcnow, index=True)
    duration_ms: int = 0
    url: str
    final_url: str | None = None
    http_status: int | None = None
    bytes_received: int = 0
    content_type: str | None = None
    outcome: str  # new_version | unchanged | not_modified | failed
    reason: str | None = None  # stable code for failures (http_404, timeout, pdf_encrypted, ...)
    error: str | None = _text()
    version_id: int | None = Field(default=None, foreign_key="documentversion.id")


class Evidence(SQLModel, table=True):
    """A passage of a version that supports an indicator of a commitment."""

    __table_args__ = (sa.Index("ix_evidence_version_commitment", "version_id", "commitment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="documentversion.id")
    commitment_id: str = Field(foreign_key="commitment.id", index=True)
    indicator_id: str | None = None
    start: int | None = None
    end: int | None = None
    section: str | None = None
    page: int | None = None
    quote: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    score: float = 0.0
    commits: bool = False
    method: str


class ChangeEvent(SQLModel, table=True):
    """What changed in one commitment passage between two versions of a source."""

    __table_args__ = (sa.Index("ix_changeevent_detected", "detected_at"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(foreign_key="source.id", index=True)
    company_id: str = Field(foreign_key="company.id", index=True)
    old_version_id: int | None = Field(default=None, foreign_key="documentversion.id")
    new_version_id: int = Field(foreign_key="documentversion.id", index=True)
    direction: str  # added | removed | weakened | strengthened | reworded
    reasons: list[dict] = _json([])  # [{"code": "modal_weakened", "detail": "'will' → 'may'"}]
    commitments: list[str] = _json([])
    old_quote: str | None = _text()
    new_quote: str | None = _text()
    old_section: str | None = None
    new_section: str | None = None
    old_start: int | None = None
    new_start: int | None = None
    similarity: float | None = None
    # How sure the call is (tracker.analysis.direction): of the direction, and that the change weakened or removed
    # a commitment; the review queue ranks by them. None for rows written before they were stored.
    probability: float | None = None
    weakened_probability: float | None = None
    announced: str = "silent"  # announced | partly | silent | no-changelog
    # The company's own words that announce the change (one sentence of its account), and where they appeared
    # ("in-document changelog", "version history", "announcement post"); None when silent.
    announcement_quote: str | None = _text()
    announcement_source: str | None = None
    published_on: date | None = None
    detected_at: datetime = _ts(default_factory=utcnow)
    method: str = ""


# --------------------------------------------------------------------------------------------- judgements


class Assessment(SQLModel, table=True):
    """Level of a company on a commitment from `valid_from` on; newer rows supersede older ones."""

    __table_args__ = (
        sa.Index("ix_assessment_asof", "company_id", "commitment_id", "valid_from", "id"),
        sa.Index("ix_assessment_commitment_asof", "commitment_id", "valid_from"),
    )
    id: int | None = Field(default=None, primary_key=True)
    company_id: str = Field(foreign_key="company.id")
    commitment_id: str = Field(foreign_key="commitment.id")
    level: int | None = None  # 0 no public evidence, 1 mentioned, 2 partial, 3 comprehensive; None = n/a
    basis: str = "automatic"  # automatic | reviewed | self-reported
    valid_from: date
    recorded_at: datetime = _ts(default_factory=utcnow)
    assessor: str = "tracker"
    rationale: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    confidence: float | None = None
    # 0-100 within the level's band (tracker.analysis.cellscore.score_in_band): ranks cells that share a level.
    score: float | None = None
    version_id: int | None = Field(default=None, foreign_key="documentversion.id")
    self_report_id: int | None = Field(default=None, foreign_key="selfreport.id")
    method: str | None = None
    origin: str = "pipeline"  # pipeline | seed | review | self-report
    review_source_id: str | None = Field(default=None, max_length=100)  # reviews: the source judged, kept even
    # when its version is not stored here (a review file names a source and date, not a version)


OPEN_END = date(9999, 12, 31)  # valid_until of a level still in force (a real date keeps the range indexable)


class AssessmentSpan(SQLModel, table=True):
    """When each Assessment is the one in force: [valid_from, valid_until). Derived, never edited by hand.

    Why: "the level of every company on every commitment as of D" is then one range scan of a covering index
    (`valid_from <= D < valid_until`) instead of a search for the newest row per pair. The precedence (newer
    `valid_from`, then reviewed > self-reported > automatic, then newer `recorded_at`, then higher id) is
    resolved when the span is written: a row outranked on its own day gets an empty span. `tracker.store.spans`
    rebuilds the spans of a company whenever one of its assessments is added; the columns the grids show are
    copied here so the read never touches the assessment table.
    """

    __table_args__ = (
        sa.Index("ix_assessmentspan_framework_asof", "framework_id", "valid_until", "valid_from", "company_id",
                 "commitment_id", "level", "basis", "version_id", "assessment_id", "score"),
        sa.Index("ix_assessmentspan_company_asof", "company_id", "commitment_id", "valid_until"),
        sa.Index("ix_assessmentspan_commitment_asof", "commitment_id", "valid_until"),
    )
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True)
    framework_id: str = Field(foreign_key="framework.id")
    company_id: str = Field(foreign_key="company.id")
    commitment_id: str = Field(foreign_key="commitment.id")
    valid_from: date
    valid_until: date  # exclusive; OPEN_END while in force; equal to valid_from when outranked that same day
    level: int | None = None
    basis: str
    version_id: int | None = None
    score: float | None = None


class ChangeReview(SQLModel, table=True):
    """One reviewer's decision on one change event, kept beside the automatic call (never overwriting it).

    `change_id` has no foreign key on purpose: re-analysing a version deletes and re-inserts its change events
    (`tracker.ingest.pipeline`), and a decision must not block that or vanish with it; the automatic call it
    judged is copied here. One decision per (change, reviewer), refused in `tracker.accounts.reviews` and backed
    by the unique key; an admin who was one of two disagreeing reviewers may still adjudicate (decision
    "adjudicate").
    """

    __table_args__ = (sa.UniqueConstraint("change_id", "reviewer", "decision"),)
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(index=True)
    company_id: str = Field(foreign_key="company.id", index=True)
    reviewer_id: int | None = Field(default=None, foreign_key="user.id")
    reviewer: str = Field(max_length=120)
    decided_at: datetime = _ts(default_factory=utcnow, index=True)
    decision: str  # confirm | correct | dismiss | adjudicate
    direction: str | None = None  # the direction this reviewer stands behind; None when dismissed
    announced: str | None = None
    dismissed: bool = False
    reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    automatic_direction: str  # the tracker's call when the decision was made
    automatic_announced: str


# ----------------------------------------------------------------------------------- people and decisions


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=120)
    display_name: str = ""
    email: str | None = Field(default=None, unique=True, max_length=254)  # stored lower-case: one account per address
    role: str  # representative | reviewer | admin
    company_id: str | None = Field(default=None, foreign_key="company.id")
    password_hash: str | None = None
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    last_login_at: datetime | None = _ts(default=None, nullable=True)
    failed_logins: int = 0
    locked_until: datetime | None = _ts(default=None, nullable=True)
    invite_token_hash: str | None = Field(default=None, index=True)
    invite_expires_at: datetime | None = _ts(default=None, nullable=True)


class LoginSession(SQLModel, table=True):
    """A signed-in browser session; only the token's hash is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()
    revoked: bool = False


class SelfReport(SQLModel, table=True):
    """A company's claim, kept verbatim beside the reviewer's decision."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: str = Field(foreign_key="company.id", index=True)
    commitment_id: str = Field(foreign_key="commitment.id", index=True)
    submitted_by: int = Field(foreign_key="user.id")
    submitted_at: datetime = _ts(default_factory=utcnow)
    claimed_level: int
    statement: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    evidence_urls: list[str] = _json([])
    upload_filename: str | None = None
    upload_sha256: str | None = None
    upload_content_type: str | None = None
    upload_version_id: int | None = Field(default=None, foreign_key="documentversion.id")
    # Reading an upload happens off the request path: received -> reading -> read | refused (reason in upload_error).
    upload_status: str | None = None
    upload_error: str | None = _text()
    upload_claimed_at: datetime | None = _ts(default=None, nullable=True)
    evidence_fetches: list[dict] = _json([])  # [{"url", "outcome", "reason", "message", "version_id", "at"}]
    status: str = "submitted"  # submitted | approved | rejected | changes_requested | withdrawn
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = _ts(default=None, nullable=True)
    decision_reason: str | None = _text()
    verified: bool = False
    assessment_id: int | None = None


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = "system"
    action: str
    entity_type: str = Field(index=True)
    entity_id: str
    before: dict | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    after: dict | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))


# ----------------------------------------------------------------------------------------------- alerts


class AlertSubscription(SQLModel, table=True):
    """Who hears about what. Only events recorded after subscribing are sent (the `after_*` high-water marks)."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str  # webhook | email
    target: str  # URL or e-mail address
    company_id: str | None = Field(default=None, foreign_key="company.id")
    commitment_id: str | None = Field(default=None, foreign_key="commitment.id")
    events: list[str] = _json(["new_version", "change"])
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    after_version_id: int = 0  # versions with a larger id are news to this subscriber
    after_change_id: int = 0  # change events with a larger id are news to this subscriber


class AlertDelivery(SQLModel, table=True):
    """At most one delivery per (subscription, event): the unique key is the de-duplication."""

    __table_args__ = (sa.UniqueConstraint("subscription_id", "event_key"),)
    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="alertsubscription.id", index=True)
    event_key: str = Field(max_length=120)
    event: str = "change"  # new_version | change
    status: str = "pending"  # pending | sent | failed (gave up after the last attempt)
    attempts: int = 0
    last_error: str | None = _text()
    response: str | None = _text()  # what the receiver answered on success (HTTP status, SMTP reply)
    created_at: datetime = _ts(default_factory=utcnow)
    next_attempt_at: datetime | None = _ts(default=None, nullable=True, index=True)
    sent_at: datetime | None = _ts(default=None, nullable=True)
    payload: dict = _json({})  # exactly what was (or will be) sent


class CatalogState(SQLModel, table=True):
    """Key/value facts about loaded data (e.g. the hash of the seed that was loaded)."""

    key: str = Field(primary_key=True, max_length=80)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_at: datetime = _ts(default_factory=utcnow)
