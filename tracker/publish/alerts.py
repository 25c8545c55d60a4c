"""Alerts: tell subscribers about new versions and weakened or removed commitments, each at most once.

Two steps, both safe to run from several processes at once:
- `queue_alerts` turns events recorded after a subscription was made into `AlertDelivery` rows; the unique
  (subscription_id, event_key) is the de-duplication, and the payload is frozen there as the record of
  what is sent.
- `deliver_pending` claims due deliveries one by one (a conditional UPDATE, so two senders never both send
  one), sends them by webhook (JSON POST signed with HMAC-SHA256 of the body) or e-mail (SMTP), and on
  failure schedules a retry with exponential backoff until `TRACKER_ALERT_MAX_ATTEMPTS` is reached.

Events: `new_version` (a fetched or imported version; seed and self-report uploads are not news) and `change`
(the weakened and removed passages of one new version, grouped so one document update is one alert).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tracker.core.config import Settings, get_settings
from tracker.core.db import session_scope
from tracker.core.errors import NotFoundError, ValidationError
from tracker.store import models as m
from tracker.store.versions import public_change, public_version
from tracker.store.vocabulary import WEAKENING_DIRECTIONS

EVENTS = ("new_version", "change")
CHANNELS = ("webhook", "email")
NEWS_ORIGINS = ("fetched", "imported")
SIGNATURE_HEADER = "X-Tracker-Signature"
CLAIM_LEASE = timedelta(minutes=10)  # a sender that dies mid-send frees its delivery after this long
MAX_BACKOFF = timedelta(hours=24)
QUOTE_LIMIT = 600
EMAIL_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


class DeliveryError(Exception):
    """One attempt failed; the message is stored on the delivery and shown by `alerts list`."""


# ------------------------------------------------------------------------------------------ subscriptions


def subscribe(
    session: Session,
    *,
    webhook: str | None = None,
    email: str | None = None,
    company_id: str | None = None,
    commitment_id: str | None = None,
    events: Iterable[str] = EVENTS,
) -> m.AlertSubscription:
    """A subscription to events recorded from now on (nothing already in the database is sent)."""
    if bool(webhook) == bool(email):
        raise ValidationError("give exactly one of --webhook URL or --email ADDRESS")
    if webhook:
        parts = urlsplit(webhook)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"webhook {webhook!r} is not an absolute http(s) URL")
        channel, target = "webhook", webhook
    else:
        assert email is not None
        if not EMAIL_ADDRESS.fullmatch(email):
            raise ValidationError(f"{email!r} is not an e-mail address")
        channel, target = "email", email
    events = list(dict.fromkeys(events))
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise ValidationError(f"unknown event(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(EVENTS)}")
    if company_id and session.get(m.Company, company_id) is None:
        raise NotFoundError(f"unknown company '{company_id}'; see data/companies.yaml for company ids")
    if commitment_id and session.get(m.Commitment, commitment_id) is None:
        raise NotFoundError(f"unknown commitment '{commitment_id}'; ids look like seoul-2024/II")
    last_version = session.exec(select(sa.func.max(m.DocumentVersion.id))).one() or 0
    last_change = session.exec(select(sa.func.max(m.ChangeEvent.id))).one() or 0
    subscription = m.AlertSubscription(
        channel=channel, target=target, company_id=company_id, commitment_id=commitment_id, events=events,
        after_version_id=last_version, after_change_id=last_change,
    )
    session.add(subscription)
    session.flush()
    return subscription


def unsubscribe(session: Session, subscription_id: int) -> m.AlertSubscription:
    subscription = session.get(m.AlertSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError(f"no alert subscription {subscription_id}; see `python -m tracker alerts list`")
    subscription.active = False
    session.flush()
    return subscription


def describe(subscription: m.AlertSubscription) -> str:
    scope = [f"company {subscription.company_id}"] if subscription.company_id else []
    scope += [f"commitment {subscription.commitment_id}"] if subscription.commitment_id else []
    return (f"{subscription.channel} {subscription.target}: {', '.join(subscription.events)} for "
            f"{' and '.join(scope) or 'everything'}")


# ------------------------------------------------------------------------------------------------ events


def _version_info(version: m.DocumentVersion, source: m.Source, company: m.Company | None) -> dict:
    return {
        "company": {"id": source.company_id, "name": company.name if company else source.company_id},
        "source": {"id": source.id, "title": source.title, "url": source.url},
        "version": {
            "id": version.id, "label": version.version_label,
            "published_on": version.published_on.isoformat() if version.published_on else None,
            "fetched_at": version.fetched_at.isoformat(), "url": version.url, "origin": version.origin,
            "silent_reupload": version.silent_reupload,
        },
    }


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= QUOTE_LIMIT:
        return text
    return text[: QUOTE_LIMIT - 1].rstrip() + "…"


def _link(settings: Settings, path: str) -> str | None:
    return f"{settings.public_url}/{path}" if settings.public_url else None


def _matches_commitment(subscription: m.AlertSubscription, source: m.Source) -> bool:
    if not subscription.commitment_id:
        return True
    framework_id = subscription.commitment_id.split("/", 1)[0]
    return framework_id in source.frameworks


def _candidate_events(session: Session, subscription: m.AlertSubscription, settings: Settings) -> list[tuple]:
    """(event, event_key, payload) for every event this subscription should hear about."""
    found: list[tuple[str, str, dict]] = []
    sources = {s.id: s for s in session.exec(select(m.Source))}
    companies = {c.id: c for c in session.exec(select(m.Company))}
    if "new_version" in subscription.events:
        query = select(m.DocumentVersion).where(
            m.DocumentVersion.id > subscription.after_version_id, m.DocumentVersion.origin.in_(NEWS_ORIGINS),
            public_version(),
        )
        for version in session.exec(query.order_by(m.DocumentVersion.id)):
            source = sources[version.source_id]
            if subscription.company_id and source.company_id != subscription.company_id:
                continue
            if not _matches_commitment(subscription, source):
                continue
            payload = {"event": "new_version", **_version_info(version, source, companies.get(source.company_id)),
                       "link": _link(settings, "changes")}
            found.append(("new_version", f"version:{version.id}", payload))
    if "change" in subscription.events:
        query = select(m.ChangeEvent).where(
            m.ChangeEvent.id > subscription.after_change_id, m.ChangeEvent.direction.in_(WEAKENING_DIRECTIONS),
            public_change(),
        )
        if subscription.company_id:
            query = query.where(m.ChangeEvent.company_id == subscription.company_id)
        by_version: dict[int, list[m.ChangeEvent]] = {}
        for change in session.exec(query.order_by(m.ChangeEvent.id)):
            if subscription.commitment_id and subscription.commitment_id not in change.commitments:
                continue
            by_version.setdefault(change.new_version_id, []).append(change)
        for version_id, changes in by_version.items():
            version = session.get(m.DocumentVersion, version_id)
            assert version is not None
            source = sources[version.source_id]
            payload = {
                "event": "change", **_version_info(version, source, companies.get(source.company_id)),
                "previous_version_id": changes[0].old_version_id,
                "changes": [{
                    "id": c.id, "direction": c.direction, "commitments": c.commitments, "reasons": c.reasons,
                    "announced": c.announced, "old_section": c.old_section, "new_section": c.new_section,
                    "old_quote": _clip(c.old_quote), "new_quote": _clip(c.new_quote),
                } for c in changes],
                "link": _link(settings, "changes"),
            }
            found.append(("change", f"change:v{version_id}", payload))
    return found


def queue_alerts(engine: Engine, settings: Settings | None = None) -> int:
    """Add a pending delivery for every new event of every active subscription; returns how many were added."""
    settings = settings or get_settings()
    added = 0
    with session_scope(engine) as session:
        subscriptions = session.exec(select(m.AlertSubscription).where(m.AlertSubscription.active == True))  # noqa: E712
        for subscription in list(subscriptions):
            known = set(session.exec(
                select(m.AlertDelivery.event_key).where(m.AlertDelivery.subscription_id == subscription.id)
            ))
            for event, key, payload in _candidate_events(session, subscription, settings):
                if key in known:
                    continue
                payload = {**payload, "event_key": key, "subscription_id": subscription.id}
                try:
                    with session.begin_nested():  # another process may queue the same one: the unique key wins
                        session.add(m.AlertDelivery(subscription_id=subscription.id, event_key=key, event=event,
                                                    payload=payload))
                    added += 1
                except sa.exc.IntegrityError:
                    pass
    return added


# ---------------------------------------------------------------------------------------------- delivery


def sign(body: bytes, secret: str) -> str:
    """The value of the X-Tracker-Signature header: receivers recompute it with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def send_webhook(url: str, payload: dict, delivery_id: int, settings: Settings) -> str:
    from scrapers.capture import FetchError
    from scrapers.http import ensure_public_host
    from scrapers.netguard import AddressRefused, GuardedAdapter

    if settings.is_production:
        try:
            ensure_public_host(url)
        except FetchError as exc:
            raise DeliveryError(f"refused: {exc.message}") from None
    body = webhook_body(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": settings.user_agent,
        SIGNATURE_HEADER: sign(body, settings.webhook_secret), "X-Tracker-Event": payload.get("event", ""),
        "X-Tracker-Delivery": str(delivery_id),
    }
    timeout = settings.alert_timeout_seconds
    try:
        # Redirects are not followed: a redirect could lead to an address the check above would refuse.
        with requests.Session() as session:
            if settings.is_production:  # resolve once, refuse non-public addresses, connect to the checked one
                session.trust_env = False
                guard = GuardedAdapter(public_only=True)
                session.mount("http://", guard)
                session.mount("https://", guard)
            response = session.post(url, data=body, headers=headers, timeout=(timeout, timeout),
                                    allow_redirects=False)
    except AddressRefused as exc:
        raise DeliveryError(f"refused: {exc}") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code} from {url}")
    return f"HTTP {response.status_code}"


def email_message(payload: dict, to: str, settings: Settings) -> EmailMessage:
    """A plain-text e-mail: scraped quotes are never rendered as HTML."""
    company = payload["company"]["name"]
    source = payload["source"]["title"]
    version = payload["version"]
    label = version["label"] or version["published_on"] or version["fetched_at"][:10]
    lines = []
    if payload["event"] == "new_version":
        subject = f"{company}: new version of {source} ({label})"
        lines.append(f"The tracker found a new version of {source} by {company}.")
    else:
        count = len(payload["changes"])
        subject = f"{company}: {count} weakened or removed commitment passage(s) in {source} ({label})"
        lines.append(f"The new version of {source} by {company} weakens or removes {count} commitment passage(s).")
    lines += ["", f"Version: {label}", f"Published: {version['published_on'] or 'not stated'}",
              f"Retrieved: {version['fetched_at']}", f"Document: {version['url']}"]
    if version.get("silent_reupload"):
        lines.append("Note: the text changed but the stated version label did not.")
    for number, change in enumerate(payload.get("changes", []), 1):
        lines += ["", f"{number}. {change['direction'].upper()} ({', '.join(change['commitments']) or 'no commitment'})"]
        lines += [f"   reason: {r.get('detail') or r.get('code')}" for r in change["reasons"]]
        if change["old_quote"]:
            lines.append(f"   before: {change['old_quote']}")
        if change["new_quote"]:
            lines.append(f"   after: {change['new_quote']}")
    if payload.get("link"):
        lines += ["", f"Details: {payload['link']}"]
    lines += ["", "Automatic analysis: read the quoted passages before drawing conclusions.",
              f"You receive this because of alert subscription {payload['subscription_id']}."]
    message = EmailMessage()
    message["Subject"] = "[Commitment Tracker] " + subject
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[-1])
    message["X-Tracker-Event"] = payload["event_key"]
    message.set_content("\n".join(lines))
    return message


def send_email(to: str, payload: dict, settings: Settings) -> str:
    message = email_message(payload, to, settings)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.alert_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"SMTP server refused {', '.join(refused)}")
    return f"accepted by {settings.smtp_host}:{settings.smtp_port}"


def _not_configured(channel: str, settings: Settings) -> str | None:
    if channel == "webhook" and not settings.webhook_secret:
        return "TRACKER_WEBHOOK_SECRET is not set: webhooks are only sent signed"
    if channel == "email" and not settings.smtp_host:
        return "TRACKER_SMTP_HOST is not set: e-mail alerts cannot be sent"
    return None


@dataclass
class DeliveryReport:
    queued: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, will be retried by a later run
    gave_up: int = 0  # failed for the last allowed time
    problems: list[str] = field(default_factory=list)  # one line per failure or configuration gap

    def summary(self) -> str:
        text = f"alerts: {self.queued} queued, {self.sent} sent, {self.retrying} to retry, {self.gave_up} given up"
        return text + "".join(f"\n  {p}" for p in self.problems)


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Wait before attempt `attempts + 1`: the retry interval doubled per failed attempt, at most a day."""
    return min(timedelta(seconds=settings.alert_retry_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_pending(engine: Engine, *, now: datetime | None = None, settings: Settings | None = None) -> DeliveryReport:
    """Queue new events, then send every due delivery once. Never raises for a failed delivery."""
    settings = settings or get_settings()
    report = DeliveryReport(queued=queue_alerts(engine, settings))
    now = now or datetime.now(UTC)
    due = (m.AlertDelivery.status == "pending") & (
        m.AlertDelivery.next_attempt_at.is_(None) | (m.AlertDelivery.next_attempt_at <= now)
    )
    with session_scope(engine) as session:
        rows = session.exec(
            select(m.AlertDelivery, m.AlertSubscription)
            .join(m.AlertSubscription, m.AlertSubscription.id == m.AlertDelivery.subscription_id)
            .where(due, m.AlertSubscription.active == True)  # noqa: E712
            .order_by(m.AlertDelivery.id)
        ).all()
    unconfigured: set[str] = set()
    for delivery, subscription in rows:
        problem = _not_configured(subscription.channel, settings)
        if problem:  # a configuration gap is not the receiver's fault: it uses up no attempt
            unconfigured.add(problem)
            continue
        if not _claim(engine, delivery, now):
            continue  # another sender has it
        attempts = delivery.attempts + 1
        started = time.monotonic()
        try:
            if subscription.channel == "webhook":
                response = send_webhook(subscription.target, delivery.payload, delivery.id, settings)
            else:
                response = send_email(subscription.target, delivery.payload, settings)
        except DeliveryError as exc:
            final = attempts >= settings.alert_max_attempts
            _finish(engine, delivery.id, status="failed" if final else "pending", last_error=str(exc),
                    next_attempt_at=None if final else now + backoff(attempts, settings))
            report.gave_up += final
            report.retrying += not final
            report.problems.append(f"delivery {delivery.id} ({subscription.channel} {subscription.target}, "
                                   f"attempt {attempts}/{settings.alert_max_attempts}): {exc}")
            continue
        _finish(engine, delivery.id, status="sent", response=f"{response} in {time.monotonic() - started:.1f}s",
                sent_at=datetime.now(UTC), next_attempt_at=None, last_error=None)
        report.sent += 1
    report.problems += sorted(unconfigured)
    return report


def _claim(engine: Engine, delivery: m.AlertDelivery, now: datetime) -> bool:
    """Take a delivery for one attempt; False when another process took it first."""
    table = m.AlertDelivery.__table__
    with engine.begin() as connection:
        result = connection.execute(
            table.update()
            .where(table.c.id == delivery.id, table.c.status == "pending", table.c.attempts == delivery.attempts)
            .values(attempts=delivery.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
        )
    return result.rowcount == 1


def _finish(engine: Engine, delivery_id: int, **values: object) -> None:
    table = m.AlertDelivery.__table__
    with engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == delivery_id).values(**values))


def subscriptions_with_counts(session: Session) -> list[tuple[m.AlertSubscription, dict[str, int]]]:
    """Every subscription and how many of its deliveries are sent, pending and failed."""
    counts: dict[int, dict[str, int]] = {}
    for subscription_id, status, count in session.exec(
        select(m.AlertDelivery.subscription_id, m.AlertDelivery.status, sa.func.count())
        .group_by(m.AlertDelivery.subscription_id, m.AlertDelivery.status)
    ):
        counts.setdefault(subscription_id, {})[status] = count
    subscriptions = session.exec(select(m.AlertSubscription).order_by(m.AlertSubscription.id))
    return [(s, {k: counts.get(s.id or 0, {}).get(k, 0) for k in ("sent", "pending", "failed")}) for s in subscriptions]
