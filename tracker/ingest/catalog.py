"""The catalog: frameworks, commitments, companies, signatures, crosswalk and sources, written by us in YAML.

`load_catalog` parses and cross-checks every file before anything touches the database, so a broken file
leaves the database as it was; `sync_catalog` then upserts the rows in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator
from sqlmodel import Session, select

from tracker.core.errors import CatalogError
from tracker.core.yamlfile import fail_at, load_model
from tracker.store import models as m
from tracker.store.vocabulary import SOURCE_KINDS

Confidence = Literal["V", "C", "S", "M"]
StatusConfidence = Literal["V", "C", "S", "M", "ours"]  # "ours": our own analysis, not a sourced fact
DeadlineKind = Literal["publish-by", "review-every", "change-within", "update-record"]
RecordField = Literal["changelog", "version", "date", "justification"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _url(value: str) -> str:
    HttpUrl(value)  # raises a readable error for anything that is not an http(s) URL
    return value


class TextBlock(_Strict):
    text: str
    text_confirmed: bool = True
    source_url: str | None = None
    note: str | None = None


class GroupSpec(_Strict):
    id: str
    title: str
    text: str | None = None
    text_confirmed: bool = True
    note: str | None = None


class DeadlineSpec(_Strict):
    """A clock a framework sets: one-off like Paris, or one that runs again with every review or change.

    kind: publish-by (a framework published on or before `date`); review-every (a new or re-dated version at
    most `every_months` after the previous one, counting from `date`); change-within (a material change
    published, with what `requires` lists, within `within_days`); update-record (every update from `date` on
    carries what `requires` lists). For the recurring kinds `date` is the day the clock starts to run.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: DeadlineKind = "publish-by"
    date: date
    label: str
    every_months: int | None = Field(default=None, ge=1, le=120)
    within_days: int | None = Field(default=None, ge=1, le=3650)
    requires: list[RecordField] = []
    text: str | None = None  # the official sentence that sets the clock, verbatim
    text_confirmed: bool = True
    confidence: Confidence | None = None
    source_url: str | None = None
    note: str | None = None


class ScopeSpec(_Strict):
    """A part of a framework that can be signed on its own (the EU Code's chapters)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    note: str | None = None


class PartSpec(_Strict):
    """An official sub-item of a commitment, e.g. Measure 1.1 of EU Code Commitment 1."""

    number: str
    title: str

    @field_validator("number", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value


class CommitmentSpec(_Strict):
    number: str
    group: str | None = None
    title: str
    title_official: bool = False
    text: str = Field(min_length=1)
    text_confirmed: bool = True
    source_url: str
    detail_text: str | None = None
    detail_text_confirmed: bool = False
    detail_source_url: str | None = None
    legal_basis: str | None = None
    parts: list[PartSpec] = []
    note: str | None = None

    _check_url = field_validator("source_url")(lambda cls, v: _url(v))

    @field_validator("number", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class FrameworkFile(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    short_name: str
    announced: date | None = None
    publisher: str = ""
    source_url: str
    edition: str | None = None
    licence: str | None = None
    licence_url: str | None = None
    attribution: str | None = None
    description: str = ""
    kind: Literal["voluntary", "code-of-practice", "law"] = "voluntary"
    applies_from: date | None = None
    applies_to: str = ""
    scopes: list[ScopeSpec] = []
    deadlines: list[DeadlineSpec] = []
    preamble: list[TextBlock] = []
    groups: list[GroupSpec] = []
    commitments: list[CommitmentSpec] = Field(min_length=1)

    _check_url = field_validator("source_url")(lambda cls, v: _url(v))


class SignatureSpec(_Strict):
    """Signed, declined, or (for a law) bound from `date`; `scope` names one of the framework's scopes."""

    framework: str
    date: date
    date_precision: Literal["exact", "on-or-before", "intent"] = "exact"
    date_confidence: Confidence = "C"
    status: Literal["signed", "declined", "bound"] = "signed"
    status_confidence: StatusConfidence | None = None
    scope: str | None = None
    label: str | None = None
    source_url: str
    note: str | None = None

    _check_url = field_validator("source_url")(lambda cls, v: _url(v))


class CompanySpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    aliases: list[str] = []
    country: str = Field(pattern=r"^[A-Z]{2}$")
    group: Literal["frontier-lab", "big-tech", "enterprise-ai"] = "frontier-lab"
    website: str | None = None
    haip_participant: dict | None = None
    signatures: list[SignatureSpec] = []


class CompaniesFile(_Strict):
    note: str | None = None
    companies: list[CompanySpec] = Field(min_length=1)


class LinkSpec(_Strict):
    from_: str = Field(alias="from")
    to: str
    relation: Literal["same", "overlaps", "part-of"]
    note: str = ""
    reviewed: bool = False


class CrosswalkFile(_Strict):
    note: str | None = None
    links: list[LinkSpec] = []


SHA256 = r"^[0-9a-f]{64}$"


class EditionSpec(_Strict):
    """Another-language rendering of a version (Naver's Korean editions): linked, not imported as a version."""

    language: str = Field(pattern=r"^[a-z]{2}$")
    corpus_version: str | None = None
    published_on: date | None = None
    url: str | None = None
    publisher_sha256: str | None = Field(default=None, pattern=SHA256)
    currently_hosted: bool | None = None
    corpus_file: str | None = None
    revision_account: str | None = None
    revision_account_exists: Literal["yes", "no", "na"] | None = None
    published_on_evidence: str | None = None
    skip_reason: str = Field(min_length=10)


class KnownVersion(_Strict):
    """A version the catalog knows of, from the corpus manifest or the publisher: see data/sources/README.md.

    Fields added for the complete history (issue 16): archived_url, publisher_sha256 (the publisher's file, not
    the text the tracker stores; replaces the ambiguous `sha256`), currently_hosted, silent_reupload, first_seen,
    corpus_version, corpus_file, retrieved, revision_account, revision_account_exists, published_on_evidence and
    editions.
    """

    label: str
    published_on: date
    url: str | None = None  # the version's own document, never a landing page
    archived_url: str | None = None  # Wayback capture of that document
    publisher_sha256: str | None = Field(default=None, pattern=SHA256)
    currently_hosted: bool | None = None
    silent_reupload: bool = False
    first_seen: date | None = None  # a re-upload's first sighting: where it sits in the history
    corpus_version: str | None = None  # the corpus manifest's `version` id
    corpus_file: str | None = None
    retrieved: bool = True  # False: never retrieved (known only from a later changelog)
    revision_account: str | None = None  # file in the corpus changelogs/ with the company's own account
    revision_account_exists: Literal["yes", "no", "na"] | None = None
    published_on_evidence: str | None = None
    editions: list[EditionSpec] = []
    note: str | None = None

    _check_urls = field_validator("url", "archived_url")(lambda cls, v: v if v is None else _url(v))

    @field_validator("label", mode="before")
    @classmethod
    def _label_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _reupload_dated(self) -> KnownVersion:
        if self.silent_reupload and self.first_seen is None:
            raise ValueError("a silent re-upload needs first_seen (the day the changed file was first seen)")
        if self.first_seen is not None and self.first_seen < self.published_on:
            raise ValueError("first_seen is before published_on")
        return self


class SourceSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    kind: Literal[SOURCE_KINDS]  # type: ignore[valid-type]  (the vocabulary's tuple, unpacked by Literal)
    format: Literal["pdf", "html"]
    adapter: Literal["document", "index"] = "document"
    url: str
    link_pattern: str | None = None
    link_text_pattern: str | None = None
    frameworks: list[str] = []
    licence: str | None = None
    corpus_prefix: str | None = None
    notes: str | None = None
    active: bool = True
    fetchable: bool = True
    supersedes: str | None = None
    versions: list[KnownVersion] = []

    _check_url = field_validator("url")(lambda cls, v: _url(v))

    @field_validator("link_pattern", "link_text_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class SourcesFile(_Strict):
    company: str
    sources: list[SourceSpec] = []


@dataclass
class Catalog:
    """Everything parsed from data/, cross-checked, ready to sync."""

    frameworks: list[FrameworkFile] = field(default_factory=list)
    companies: list[CompanySpec] = field(default_factory=list)
    links: list[LinkSpec] = field(default_factory=list)
    sources: list[tuple[str, SourceSpec]] = field(default_factory=list)  # (company id, source)

    def commitment_ids(self) -> list[str]:
        return [f"{f.id}/{c.number}" for f in self.frameworks for c in f.commitments]


def load_catalog(data_dir: Path) -> Catalog:
    """Parse and cross-check every catalog file; raise CatalogError naming file, line and field."""
    catalog = Catalog()
    framework_dir = data_dir / "frameworks"
    framework_files = sorted(framework_dir.glob("*.yaml"))
    if not framework_files:
        raise CatalogError(f"{framework_dir}: no framework files (*.yaml) found")
    for path in framework_files:
        framework, lines = load_model(path, FrameworkFile)
        if path.stem != framework.id:
            raise fail_at(path, lines, ("id",), f"id '{framework.id}' must match the file name '{path.stem}'")
        group_ids = {g.id for g in framework.groups}
        seen: set[str] = set()
        for i, commitment in enumerate(framework.commitments):
            if commitment.number in seen:
                raise fail_at(path, lines, ("commitments", i, "number"), f"duplicate number '{commitment.number}'")
            seen.add(commitment.number)
            if commitment.group and commitment.group not in group_ids:
                raise fail_at(path, lines, ("commitments", i, "group"), f"unknown group '{commitment.group}'")
        _check_deadlines(path, lines, framework)
        catalog.frameworks.append(framework)
    frameworks = {f.id: f for f in catalog.frameworks}
    framework_ids = set(frameworks)
    commitment_ids = set(catalog.commitment_ids())

    companies_path = data_dir / "companies.yaml"
    companies, lines = load_model(companies_path, CompaniesFile)
    seen_ids: set[str] = set()
    for i, company in enumerate(companies.companies):
        if company.id in seen_ids:
            raise fail_at(companies_path, lines, ("companies", i, "id"), f"duplicate company id '{company.id}'")
        seen_ids.add(company.id)
        signed: set[str] = set()
        for j, signature in enumerate(company.signatures):
            loc = ("companies", i, "signatures", j, "framework")
            if signature.framework not in framework_ids:
                raise fail_at(companies_path, lines, loc, f"unknown framework '{signature.framework}'")
            if signature.framework in signed:
                raise fail_at(companies_path, lines, loc, f"second signature of '{signature.framework}'")
            signed.add(signature.framework)
            problem = _signature_problem(frameworks[signature.framework], signature)
            if problem:
                key, message = problem
                raise fail_at(companies_path, lines, ("companies", i, "signatures", j, key), message)
    catalog.companies = companies.companies

    crosswalk_path = data_dir / "crosswalk.yaml"
    if crosswalk_path.exists():
        crosswalk, lines = load_model(crosswalk_path, CrosswalkFile)
        for i, link in enumerate(crosswalk.links):
            for key, value in (("from", link.from_), ("to", link.to)):
                if value not in commitment_ids:
                    raise fail_at(crosswalk_path, lines, ("links", i, key), f"unknown commitment '{value}'")
            if link.from_.split("/")[0] == link.to.split("/")[0]:
                raise fail_at(crosswalk_path, lines, ("links", i, "to"),
                              "a crosswalk link joins commitments of two different frameworks")
        catalog.links = crosswalk.links

    source_ids: set[str] = set()
    corpus_files: dict[str, str] = {}
    for path in sorted((data_dir / "sources").glob("*.yaml")):
        sources, lines = load_model(path, SourcesFile)
        if sources.company not in seen_ids:
            raise fail_at(path, lines, ("company",), f"unknown company '{sources.company}'")
        for i, source in enumerate(sources.sources):
            if source.id in source_ids:
                raise fail_at(path, lines, ("sources", i, "id"), f"duplicate source id '{source.id}'")
            source_ids.add(source.id)
            for j, framework_id in enumerate(source.frameworks):
                if framework_id not in framework_ids:
                    raise fail_at(path, lines, ("sources", i, "frameworks", j), f"unknown framework '{framework_id}'")
            order = [(v.first_seen or v.published_on) for v in source.versions]
            if order != sorted(order):
                raise fail_at(path, lines, ("sources", i, "versions"),
                              "versions must be listed oldest first (by first_seen for re-uploads, else published_on)")
            for j, version in enumerate(source.versions):
                for name in filter(None, [version.corpus_file, *(e.corpus_file for e in version.editions)]):
                    if name in corpus_files:
                        raise fail_at(path, lines, ("sources", i, "versions", j, "corpus_file"),
                                      f"corpus file '{name}' is already a version of '{corpus_files[name]}'")
                    corpus_files[name] = source.id
            if source.adapter == "index" and not (source.link_pattern or source.link_text_pattern):
                raise fail_at(path, lines, ("sources", i, "adapter"),
                              "an index source needs link_pattern or link_text_pattern")
            catalog.sources.append((sources.company, source))
    for company_id, source in catalog.sources:
        if source.supersedes and source.supersedes not in source_ids:
            raise CatalogError(f"data/sources/{company_id}.yaml: source '{source.id}' supersedes unknown source "
                               f"'{source.supersedes}'")
    return catalog


def _check_deadlines(path: Path, lines: dict, framework: FrameworkFile) -> None:
    """Each kind of clock needs its own fields, and only those; ids are unique within the framework."""
    seen: set[str] = set()
    for i, d in enumerate(framework.deadlines):
        loc = ("deadlines", i)
        if d.id in seen:
            raise fail_at(path, lines, (*loc, "id"), f"duplicate deadline id '{d.id}'")
        seen.add(d.id)
        needs = {"review-every": "every_months", "change-within": "within_days"}.get(d.kind)
        if needs and getattr(d, needs) is None:
            raise fail_at(path, lines, (*loc, "kind"), f"a '{d.kind}' deadline needs '{needs}'")
        for extra in ("every_months", "within_days"):
            if extra != needs and getattr(d, extra) is not None:
                raise fail_at(path, lines, (*loc, extra), f"'{extra}' does not apply to a '{d.kind}' deadline")
        if d.kind == "update-record" and not d.requires:
            raise fail_at(path, lines, (*loc, "kind"), "an 'update-record' deadline needs 'requires'")
        if d.kind in ("publish-by", "review-every") and d.requires:
            raise fail_at(path, lines, (*loc, "requires"), f"'requires' does not apply to a '{d.kind}' deadline")
        if d.source_url is not None:
            try:
                _url(d.source_url)
            except ValueError as exc:
                raise fail_at(path, lines, (*loc, "source_url"), str(exc).splitlines()[0]) from None


def _signature_problem(framework: FrameworkFile, signature: SignatureSpec) -> tuple[str, str] | None:
    """(field, message) when a signature does not fit its framework: a law binds, a voluntary text is signed."""
    if framework.kind == "law" and signature.status != "bound":
        return "status", f"'{framework.id}' is a law: companies are 'bound' by it, not '{signature.status}'"
    if framework.kind != "law" and signature.status == "bound":
        return "status", f"'{framework.id}' is not a law: 'bound' is only for laws (use 'signed' or 'declined')"
    scopes = {s.id for s in framework.scopes}
    if signature.status == "declined":
        if signature.scope is not None:
            return "scope", "a declined signature has no scope"
    elif scopes and signature.scope is None:
        return "scope", f"'{framework.id}' is signed in parts: give scope, one of {sorted(scopes)}"
    if signature.scope is not None and signature.scope not in scopes:
        known = sorted(scopes) or "none"
        return "scope", f"unknown scope '{signature.scope}' of '{framework.id}' (known: {known})"
    return None


def _known_dict(version: KnownVersion) -> dict:
    """A known version as stored on the source: the fields it sets (label and date always)."""
    values = version.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return {"label": version.label, "published_on": version.published_on.isoformat(), **values}


def _upsert(session: Session, model: type, key: object, values: dict) -> bool:
    """Insert or update one row by primary key; returns True when anything changed."""
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
        return True
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def sync_catalog(session: Session, catalog: Catalog) -> dict[str, int]:
    """Upsert the catalog into the database; returns how many rows of each kind were added or changed."""
    counts = {"frameworks": 0, "commitments": 0, "companies": 0, "signatures": 0, "links": 0, "sources": 0}
    for framework in catalog.frameworks:
        counts["frameworks"] += _upsert(session, m.Framework, framework.id, {
            "id": framework.id, "name": framework.name, "short_name": framework.short_name,
            "announced": framework.announced, "publisher": framework.publisher,
            "source_url": framework.source_url, "edition": framework.edition, "licence": framework.licence,
            "licence_url": framework.licence_url, "attribution": framework.attribution,
            "description": framework.description, "kind": framework.kind,
            "applies_from": framework.applies_from, "applies_to": framework.applies_to,
            "scopes": [s.model_dump(mode="json", exclude_none=True) for s in framework.scopes],
            "deadlines": [d.model_dump(mode="json", exclude_none=True) for d in framework.deadlines],
            "preamble": [p.model_dump(mode="json") for p in framework.preamble],
            "groups": [g.model_dump(mode="json") for g in framework.groups],
        })
    session.flush()
    for framework in catalog.frameworks:
        for position, c in enumerate(framework.commitments, start=1):
            cid = f"{framework.id}/{c.number}"
            counts["commitments"] += _upsert(session, m.Commitment, cid, {
                "id": cid, "framework_id": framework.id, "number": c.number, "position": position,
                "group_id": c.group, "title": c.title, "title_official": c.title_official, "text": c.text,
                "text_confirmed": c.text_confirmed, "source_url": c.source_url, "detail_text": c.detail_text,
                "detail_text_confirmed": c.detail_text_confirmed, "detail_source_url": c.detail_source_url,
                "legal_basis": c.legal_basis, "parts": [p.model_dump(mode="json") for p in c.parts], "note": c.note,
            })
    for company in catalog.companies:
        counts["companies"] += _upsert(session, m.Company, company.id, {
            "id": company.id, "name": company.name, "aliases": list(company.aliases), "country": company.country,
            "group": company.group, "website": company.website, "haip": company.haip_participant or {},
        })
    session.flush()

    signatures = {(s.company_id, s.framework_id): s for s in session.exec(select(m.Signature))}
    for company in catalog.companies:
        for spec in company.signatures:
            values = {
                "company_id": company.id, "framework_id": spec.framework, "signed_on": spec.date,
                "date_precision": spec.date_precision, "date_confidence": spec.date_confidence,
                "label": spec.label, "source_url": spec.source_url, "note": spec.note, "status": spec.status,
                "status_confidence": spec.status_confidence, "scope": spec.scope,
            }
            row = signatures.get((company.id, spec.framework))
            if row is None:
                session.add(m.Signature(**values))
                counts["signatures"] += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                counts["signatures"] += 1

    links = {(x.from_commitment_id, x.to_commitment_id): x for x in session.exec(select(m.CommitmentLink))}
    for link in catalog.links:
        row = links.get((link.from_, link.to))
        if row is None:
            session.add(m.CommitmentLink(from_commitment_id=link.from_, to_commitment_id=link.to,
                                         relation=link.relation, note=link.note, reviewed=link.reviewed))
            counts["links"] += 1
        elif (row.relation, row.note, row.reviewed) != (link.relation, link.note, link.reviewed):
            row.relation, row.note, row.reviewed = link.relation, link.note, link.reviewed
            counts["links"] += 1

    for company_id, s in catalog.sources:
        counts["sources"] += _upsert(session, m.Source, s.id, {
            "id": s.id, "company_id": company_id, "title": s.title, "kind": s.kind, "format": s.format,
            "adapter": s.adapter, "url": s.url, "link_pattern": s.link_pattern,
            "link_text_pattern": s.link_text_pattern, "frameworks": list(s.frameworks), "licence": s.licence,
            "corpus_prefix": s.corpus_prefix, "notes": s.notes, "active": s.active, "fetchable": s.fetchable,
            "supersedes": s.supersedes,
            "known_versions": [_known_dict(v) for v in s.versions],
        })
    session.flush()
    return counts
