"""Atom feeds of new document versions and flagged changes: one for everything, one per company.

A reader subscribes once and sees each new framework version and each weakened or strengthened commitment as
it is detected. Entry ids are tag: URIs built from natural keys (source id + text hash for a version; source,
new version's hash and the change id for a change), so they do not change when the feed is regenerated.
Content is plain text (`type="text"`): ElementTree escapes it, so scraped quotes can never become markup.
A change shows its published call and review label (`tracker.read.reviews`); one a reviewer dismissed as not
a change is left out. The corrections feed lists every published judgement a reviewer changed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlmodel import Session, select

from tracker.core.config import get_settings
from tracker.core.errors import NotFoundError, ValidationError
from tracker.read.reviews import change_states, corrections
from tracker.store import models as m
from tracker.store.versions import display_label, public_change, public_version
from tracker.store.vocabulary import LEVEL_MOVING_DIRECTIONS, REVIEW_LABELS

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_DATE = "2024"  # the year the tag authority minted these ids; never change it, or every id changes
DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: datetime
    published: datetime | None
    company_id: str
    company: str
    link: str
    related: str | None
    category: str
    content: str


def app_url(page: str, base_url: str | None = None, **params: str) -> str:
    """Link to a page of the app (`TRACKER_PUBLIC_URL`), with query parameters."""
    base = (base_url or get_settings().public_url).rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{base}/{page}" + (f"?{query}" if query else "")


def _tag(kind: str, *parts: object, base_url: str) -> str:
    authority = urlsplit(base_url).hostname or "localhost"
    return f"tag:{authority},{TAG_DATE}:{kind}/" + "/".join(str(p) for p in parts)


def _as_datetime(value) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day, tzinfo=UTC)


def feed_entries(
    session: Session, *, company_id: str | None = None, limit: int = DEFAULT_LIMIT, base_url: str | None = None
) -> list[FeedEntry]:
    """Newest first: new document versions and flagged change events (optionally of one company)."""
    base = base_url or get_settings().public_url
    companies = {c.id: c.name for c in session.exec(select(m.Company))}
    if company_id is not None and company_id not in companies:
        raise NotFoundError(f"unknown company '{company_id}'")
    source_query = select(m.Source)
    if company_id is not None:
        source_query = source_query.where(m.Source.company_id == company_id)
    sources = {s.id: s for s in session.exec(source_query)}
    if not sources:
        return []
    version_query = (select(m.DocumentVersion).where(m.DocumentVersion.source_id.in_(list(sources)), public_version())
                     .order_by(m.DocumentVersion.fetched_at.desc(), m.DocumentVersion.id.desc()).limit(limit))
    versions = list(session.exec(version_query))
    change_query = (select(m.ChangeEvent).where(m.ChangeEvent.source_id.in_(list(sources)), public_change(),
                                               m.ChangeEvent.direction.in_(LEVEL_MOVING_DIRECTIONS))
                    .order_by(m.ChangeEvent.detected_at.desc(), m.ChangeEvent.id.desc()).limit(limit))
    changes = list(session.exec(change_query))
    needed = {c.new_version_id for c in changes} - {v.id for v in versions}
    by_id = {v.id: v for v in versions}
    if needed:
        by_id.update({v.id: v for v in session.exec(
            select(m.DocumentVersion).where(m.DocumentVersion.id.in_(list(needed))))})

    entries = []
    for version in versions:
        source = sources[version.source_id]
        label = display_label(version)
        lines = [f"New version of {source.title} ({source.kind}) by {companies[source.company_id]}: {label}.",
                 f"Retrieved {version.fetched_at.isoformat(timespec='seconds')} from {version.url}",
                 f"Text SHA-256: {version.text_sha256}"]
        if version.archived_url:
            lines.insert(2, f"Archived copy: {version.archived_url}")
        if version.silent_reupload:
            seen = f" first seen {version.first_seen_on}" if version.first_seen_on else ""
            lines.insert(1, f"Silent re-upload{seen}: the file changed without a new version label or date.")
        entries.append(FeedEntry(
            id=_tag("version", source.id, version.text_sha256, base_url=base),
            title=f"{companies[source.company_id]}: new version of {source.title} ({label})",
            updated=version.fetched_at, published=_as_datetime(version.published_on),
            company_id=source.company_id, company=companies[source.company_id],
            link=app_url("company", base, company=source.company_id), related=version.url,
            category="new_version", content="\n".join(lines),
        ))
    states = change_states(session, [(c.id, c.direction, c.announced) for c in changes])
    for change in changes:
        state = states[change.id]
        if state.dismissed:
            continue  # a reviewer found it was not a change; the corrections feed says so
        direction, announced = state.direction or change.direction, state.announced or change.announced
        source = sources[change.source_id]
        version = by_id[change.new_version_id]
        reasons = "; ".join(f"{r.get('code', '')}: {r.get('detail', '')}" for r in change.reasons) or "none given"
        lines = [f"A commitment passage of {source.title} was {direction} "
                 f"({', '.join(change.commitments) or 'no commitment mapped'}).",
                 f"Reasons: {reasons}.", f"Announced by the company: {announced}"
                 + (f' ({change.announcement_source}: "{change.announcement_quote}")' if change.announcement_quote
                    else "") + ".",
                 f"Review: {REVIEW_LABELS.get(state.status, state.status)}."]
        if change.old_quote:
            lines.append(f"Before: {change.old_quote}")
        if change.new_quote:
            lines.append(f"After: {change.new_quote}")
        lines.append(f"Version {display_label(version)}, {version.url}"
                     + (f" (archived {version.archived_url})" if version.archived_url else "")
                     + f", text SHA-256 {version.text_sha256}")
        entries.append(FeedEntry(
            id=_tag("change", source.id, version.text_sha256, change.id, base_url=base),
            title=f"{companies[change.company_id]}: commitment {direction} in {source.title}",
            updated=change.detected_at, published=_as_datetime(change.published_on),
            company_id=change.company_id, company=companies[change.company_id],
            link=app_url("changes", base, company=change.company_id), related=version.url,
            category=direction, content="\n".join(lines),
        ))
    entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
    return entries[:limit]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_atom(entries: list[FeedEntry], *, title: str, feed_id: str, alternate: str,
                self_href: str | None = None) -> bytes:
    """An Atom 1.0 document; `updated` is the newest entry's time (stable when nothing changed)."""
    ET.register_namespace("", ATOM_NS)
    q = lambda name: f"{{{ATOM_NS}}}{name}"  # noqa: E731
    feed = ET.Element(q("feed"))
    ET.SubElement(feed, q("id")).text = feed_id
    ET.SubElement(feed, q("title")).text = title
    newest = max((e.updated for e in entries), default=datetime(2024, 1, 1, tzinfo=UTC))
    ET.SubElement(feed, q("updated")).text = _iso(newest)
    ET.SubElement(feed, q("link"), rel="alternate", type="text/html", href=alternate)
    if self_href:
        ET.SubElement(feed, q("link"), rel="self", type="application/atom+xml", href=self_href)
    ET.SubElement(ET.SubElement(feed, q("author")), q("name")).text = "Commitment Tracker"
    ET.SubElement(feed, q("generator")).text = "Commitment Tracker"
    for entry in entries:
        node = ET.SubElement(feed, q("entry"))
        ET.SubElement(node, q("id")).text = entry.id
        ET.SubElement(node, q("title"), type="text").text = entry.title
        ET.SubElement(node, q("updated")).text = _iso(entry.updated)
        if entry.published is not None:
            ET.SubElement(node, q("published")).text = _iso(entry.published)
        ET.SubElement(ET.SubElement(node, q("author")), q("name")).text = entry.company
        ET.SubElement(node, q("link"), rel="alternate", type="text/html", href=entry.link)
        if entry.related:
            ET.SubElement(node, q("link"), rel="related", href=entry.related)
        ET.SubElement(node, q("category"), term=entry.category)
        ET.SubElement(node, q("content"), type="text").text = entry.content
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def company_feed(session: Session, company_id: str | None, *, limit: int = DEFAULT_LIMIT,
                 base_url: str | None = None) -> bytes:
    """The feed of one company, or of all companies when `company_id` is None."""
    base = base_url or get_settings().public_url
    entries = feed_entries(session, company_id=company_id, limit=limit, base_url=base)
    if company_id is None:
        return render_atom(entries, title="Commitment Tracker: new versions and flagged changes",
                           feed_id=_tag("feed", "all", base_url=base), alternate=app_url("overview", base))
    name = session.get(m.Company, company_id).name  # feed_entries has checked it exists
    return render_atom(entries, title=f"Commitment Tracker: {name}",
                       feed_id=_tag("feed", "company", company_id, base_url=base),
                       alternate=app_url("company", base, company=company_id))


def correction_entries(session: Session, *, company_id: str | None = None, limit: int = DEFAULT_LIMIT,
                       base_url: str | None = None) -> list[FeedEntry]:
    """The public corrections log as entries: what a published judgement was, what it is now, and why."""
    base = base_url or get_settings().public_url
    entries = []
    for item in corrections(session, company_id=company_id, limit=limit):
        when = datetime(item.on.year, item.on.month, item.on.day, tzinfo=UTC)
        what = f"level on {item.subject}" + (f" from {item.valid_from}" if item.valid_from else "") if (
            item.kind == "level") else f"change in {item.subject}"
        entries.append(FeedEntry(
            id=_tag("correction", *item.key.split("/"), base_url=base),
            title=f"{item.company_name}: {what} corrected ({item.before} → {item.after})", updated=when,
            published=when, company_id=item.company_id, company=item.company_name,
            link=app_url("corrections", base, company=item.company_id), related=None, category=f"correction-{item.kind}",
            content="\n".join([f"Corrected on {item.on.isoformat()} by {', '.join(item.reviewers)}.",
                               f"Before: {item.before}", f"After: {item.after}", f"Reason: {item.reason}"]),
        ))
    return entries


def corrections_feed(session: Session, *, company_id: str | None = None, limit: int = DEFAULT_LIMIT,
                     base_url: str | None = None) -> bytes:
    base = base_url or get_settings().public_url
    return render_atom(correction_entries(session, company_id=company_id, limit=limit, base_url=base),
                       title="Commitment Tracker: corrections", feed_id=_tag("feed", "corrections", base_url=base),
                       alternate=app_url("corrections", base))


def write_feeds(session: Session, *, out: Path | None = None, company_id: str | None = None,
                per_company: Path | None = None, limit: int = DEFAULT_LIMIT, corrections: bool = False) -> list[Path]:
    """`out`: one feed (all, or `company_id`'s; the corrections log with `corrections`); `per_company`: all.xml
    plus <company>.xml for each company."""
    if out is None and per_company is None:
        raise ValidationError("give --out PATH, --per-company DIR, or both")
    if corrections and per_company is not None:
        raise ValidationError("--corrections writes one feed: give --out PATH")
    if limit < 1:
        raise ValidationError("--limit must be at least 1")
    written = []
    if out is not None:
        if out.is_dir():
            raise ValidationError(f"{out} is a folder; --out takes a file path (e.g. {out / 'feed.xml'})")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(corrections_feed(session, company_id=company_id, limit=limit) if corrections
                        else company_feed(session, company_id, limit=limit))
        written.append(out)
    if per_company is not None:
        if per_company.exists() and not per_company.is_dir():
            raise ValidationError(f"{per_company} is a file; --per-company takes a folder")
        per_company.mkdir(parents=True, exist_ok=True)
        (per_company / "all.xml").write_bytes(company_feed(session, None, limit=limit))
        written.append(per_company / "all.xml")
        for company in session.exec(select(m.Company).order_by(m.Company.id)):
            path = per_company / f"{company.id}.xml"
            path.write_bytes(company_feed(session, company.id, limit=limit))
            written.append(path)
    return written
