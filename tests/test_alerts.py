"""Alerts: signed webhooks and e-mail to local receivers, at most once, retried, filtered by company/commitment."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socketserver
import threading
from datetime import timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, select

from tests.factories import add_change, add_version
from tests.fakeweb import FakeWeb, Reply
from tracker.cli import main
from tracker.core.config import Settings, get_settings
from tracker.core.errors import NotFoundError, ValidationError
from tracker.publish.alerts import _claim, deliver_pending, subscribe
from tracker.store import models as m

SECRET = "test-shared-secret"

OLD = "We will give the UK AI Security Institute pre-deployment access to test our frontier models."
NEW = "We may share selected results with external parties where appropriate."


class WebhookReceiver:
    """http.server on 127.0.0.1 that records POSTs and answers with the scripted statuses (last one repeats)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses[min(len(receiver.received), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """Just enough SMTP (RFC 5321) on 127.0.0.1 to accept messages from smtplib and keep them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake-smtp ready")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    verb = line.decode().strip().split(" ", 1)[0].upper()
                    argument = line.decode().strip()[len(verb):].strip()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 fake-smtp")
                    elif verb == "MAIL":
                        sender, recipients = argument.split(":", 1)[1].strip("<> "), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(argument.split(":", 1)[1].strip("<> "))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        receiver.messages.append((sender, recipients, data))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> SmtpReceiver:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def settings(**values: object) -> Settings:
    base = {"TRACKER_WEBHOOK_SECRET": SECRET, "TRACKER_ALERT_RETRY_SECONDS": 60, "TRACKER_ENV": "test",
            "TRACKER_PUBLIC_URL": "https://tracker.example.org"}
    return Settings(**{**base, **values})


def weakening(session: Session, source_id: str = "anthropic-rsp", commitments=("seoul-2024/II",)):
    """Two versions of a source; the second weakens one passage and strengthens another."""
    v1 = add_version(session, source_id, "v1 " + OLD, version_label="1.0")
    v2 = add_version(session, source_id, "v2 " + NEW, version_label="2.0", previous=v1)
    add_change(session, v1, v2, "weakened", old_quote=OLD, new_quote=NEW, commitments=list(commitments),
               reasons=[{"code": "modal_weakened", "detail": "'will' → 'may'"}])
    add_change(session, v1, v2, "strengthened", old_quote="a", new_quote="b", commitments=list(commitments))
    session.commit()
    return v1, v2


def deliveries(session: Session) -> list[m.AlertDelivery]:
    session.expire_all()
    return list(session.exec(select(m.AlertDelivery).order_by(m.AlertDelivery.id)))


def test_webhook_is_signed_carries_the_events_and_is_sent_once(engine, session):
    with WebhookReceiver() as receiver:
        subscribe(session, webhook=receiver.url)
        session.commit()
        v1, v2 = weakening(session)
        report = deliver_pending(engine, settings=settings())
        assert (report.queued, report.sent, report.retrying) == (3, 3, 0)
        for headers, body in receiver.received:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-tracker-signature"] == expected
            assert headers["content-type"].startswith("application/json")
        by_key = {p["event_key"]: p for p in receiver.payloads()}
        assert set(by_key) == {f"version:{v1.id}", f"version:{v2.id}", f"change:v{v2.id}"}
        change = by_key[f"change:v{v2.id}"]
        assert change["event"] == "change" and change["company"] == {"id": "anthropic", "name": change["company"]["name"]}
        assert change["version"]["label"] == "2.0" and change["previous_version_id"] == v1.id
        assert [c["direction"] for c in change["changes"]] == ["weakened"]  # strengthened is not an alert
        assert change["changes"][0]["old_quote"] == OLD and change["changes"][0]["new_quote"] == NEW
        assert change["link"] == "https://tracker.example.org/changes"

        again = deliver_pending(engine, settings=settings())
        assert (again.queued, again.sent) == (0, 0)
        assert len(receiver.received) == 3
    rows = deliveries(session)
    assert all(d.status == "sent" and d.attempts == 1 and d.sent_at and d.response.startswith("HTTP 200")
               for d in rows)
    assert {d.event_key: d.payload for d in rows} == by_key  # the record is exactly what was sent


def test_only_events_after_subscribing_are_sent(engine, session):
    weakening(session)
    with WebhookReceiver() as receiver:
        subscribe(session, webhook=receiver.url)
        session.commit()
        assert deliver_pending(engine, settings=settings()).queued == 0
        v3 = add_version(session, "anthropic-rsp", "v3 text", version_label="3.0")
        session.commit()
        assert deliver_pending(engine, settings=settings()).sent == 1
        assert [p["event_key"] for p in receiver.payloads()] == [f"version:{v3.id}"]


def test_filters_by_company_commitment_and_event(engine, session):
    with WebhookReceiver() as receiver:
        other_company = subscribe(session, webhook=receiver.url + "?openai", company_id="openai")
        same_company = subscribe(session, webhook=receiver.url + "?anthropic", company_id="anthropic",
                                 events=["change"])
        on_commitment = subscribe(session, webhook=receiver.url + "?II", commitment_id="seoul-2024/II")
        elsewhere = subscribe(session, webhook=receiver.url + "?IV", commitment_id="seoul-2024/IV")
        other_framework = subscribe(session, webhook=receiver.url + "?g7", commitment_id="hiroshima-2023/1")
        session.commit()
        _, v2 = weakening(session, commitments=("seoul-2024/II",))
        deliver_pending(engine, settings=settings())
    got: dict[int, set[str]] = {}
    for d in deliveries(session):
        got.setdefault(d.subscription_id, set()).add(d.event_key)
    assert other_company.id not in got
    assert got[same_company.id] == {f"change:v{v2.id}"}
    assert f"change:v{v2.id}" in got[on_commitment.id] and len(got[on_commitment.id]) == 3
    assert got[elsewhere.id] == {f"version:{v2.id - 1}", f"version:{v2.id}"}  # versions of a Seoul source, no change
    assert other_framework.id not in got  # anthropic-rsp does not speak to the Hiroshima code


def test_failed_delivery_is_retried_with_backoff_then_given_up(engine, session):
    with WebhookReceiver(500, 200) as receiver:
        subscribe(session, webhook=receiver.url, events=["change"])
        session.commit()
        weakening(session)
        first = deliver_pending(engine, settings=settings())
        assert (first.sent, first.retrying) == (0, 1)
        assert "HTTP 500" in first.problems[0] and "attempt 1/5" in first.problems[0]
        (delivery,) = deliveries(session)
        assert delivery.status == "pending" and delivery.attempts == 1 and "HTTP 500" in delivery.last_error
        assert deliver_pending(engine, settings=settings()).sent == 0  # not due yet: backoff
        assert len(receiver.received) == 1
        later = delivery.next_attempt_at + timedelta(seconds=1)
        assert deliver_pending(engine, settings=settings(), now=later).sent == 1
        assert len(receiver.received) == 2
        assert receiver.payloads()[0] == receiver.payloads()[1]  # a retry sends the same payload
    (delivery,) = deliveries(session)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, None)

    with WebhookReceiver(503) as failing:
        subscribe(session, webhook=failing.url, events=["new_version"])
        session.commit()
        add_version(session, "anthropic-rsp", "v3")
        session.commit()
        config = settings(TRACKER_ALERT_MAX_ATTEMPTS=2)
        assert deliver_pending(engine, settings=config).retrying == 1
        gave_up = deliver_pending(engine, settings=config, now=later + timedelta(days=2))
        assert gave_up.gave_up == 1
        assert deliver_pending(engine, settings=config, now=later + timedelta(days=9)).sent == 0
        assert len(failing.received) == 2
    assert deliveries(session)[-1].status == "failed"


def test_a_delivery_is_claimed_by_one_sender_only(engine, session):
    subscribe(session, webhook="http://127.0.0.1:9/hook")
    session.commit()
    add_version(session, "anthropic-rsp", "v1")
    session.commit()
    from tracker.publish.alerts import queue_alerts

    assert queue_alerts(engine, settings()) == 1
    assert queue_alerts(engine, settings()) == 0  # queuing twice adds nothing
    (delivery,) = deliveries(session)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    assert _claim(engine, delivery, now) is True
    assert _claim(engine, delivery, now) is False  # a second sender with the same snapshot loses


def test_email_goes_through_smtp_as_plain_text(engine, session):
    with SmtpReceiver() as smtp:
        subscribe(session, email="desk@example.org", company_id="anthropic")
        session.commit()
        _, v2 = weakening(session)
        report = deliver_pending(engine, settings=settings(TRACKER_SMTP_HOST="127.0.0.1", TRACKER_SMTP_PORT=smtp.port,
                                                           TRACKER_SMTP_FROM="alerts@tracker.example.org"))
        assert report.sent == 3, report.summary()
    assert len(smtp.messages) == 3
    assert all(sender == "alerts@tracker.example.org" and to == ["desk@example.org"] for sender, to, _ in smtp.messages)
    messages = [email.message_from_bytes(data, policy=policy.default) for _, _, data in smtp.messages]
    change = next(msg for msg in messages if msg["X-Tracker-Event"] == f"change:v{v2.id}")
    assert "weakened or removed commitment passage" in change["Subject"]
    assert change.get_content_type() == "text/plain"
    text = change.get_content()
    assert OLD in text and NEW in text and "'will' → 'may'" in text and "seoul-2024/II" in text


def test_missing_configuration_holds_deliveries_back_without_using_attempts(engine, session):
    with WebhookReceiver() as receiver:
        subscribe(session, webhook=receiver.url)
        subscribe(session, email="desk@example.org")
        session.commit()
        add_version(session, "anthropic-rsp", "v1")
        session.commit()
        report = deliver_pending(engine, settings=settings(TRACKER_WEBHOOK_SECRET="", TRACKER_SMTP_HOST=""))
        assert report.sent == 0 and not receiver.received
        assert any("TRACKER_WEBHOOK_SECRET is not set" in p for p in report.problems)
        assert any("TRACKER_SMTP_HOST is not set" in p for p in report.problems)
        assert {(d.status, d.attempts) for d in deliveries(session)} == {("pending", 0)}


def test_production_refuses_webhooks_to_private_addresses(engine, session):
    with WebhookReceiver() as receiver:
        subscribe(session, webhook=receiver.url)
        session.commit()
        add_version(session, "anthropic-rsp", "v1")
        session.commit()
        report = deliver_pending(engine, settings=settings(TRACKER_ENV="production"))
        assert report.retrying == 1 and "non-public address" in report.problems[0]
        assert not receiver.received


def test_subscription_input_errors(session):
    with pytest.raises(ValidationError, match="exactly one"):
        subscribe(session, webhook="https://example.org/h", email="a@example.org")
    with pytest.raises(ValidationError, match="not an absolute http"):
        subscribe(session, webhook="example.org/hook")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        subscribe(session, email="desk")
    with pytest.raises(ValidationError, match="unknown event"):
        subscribe(session, email="a@example.org", events=["removed"])
    with pytest.raises(NotFoundError, match="unknown company 'nobody'"):
        subscribe(session, email="a@example.org", company_id="nobody")
    with pytest.raises(NotFoundError, match="unknown commitment"):
        subscribe(session, email="a@example.org", commitment_id="seoul-2024/XX")


def test_alerts_cli_and_refresh_delivery(engine, use_database, monkeypatch, capsys):
    use_database(engine)
    monkeypatch.setenv("TRACKER_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    with WebhookReceiver() as receiver, FakeWeb() as web:
        assert main(["alerts", "subscribe", "--webhook", receiver.url, "--company", "anthropic"]) == 0
        assert "subscription 1: webhook" in capsys.readouterr().out
        assert main(["alerts", "subscribe", "--email", "nope"]) == 2
        assert "not an e-mail address" in capsys.readouterr().err

        web.route("/rsp", Reply(body=b"<html><body><main><p>We will test every model.</p></main></body></html>"))
        with Session(engine) as db:
            for source in db.exec(select(m.Source)):
                source.active = source.id == "anthropic-rsp"
                source.url, source.adapter, source.format = web.url("/rsp"), "document", "html"
            db.commit()
        from scrapers.http import FetchContext
        from tracker.ingest.refresh import refresh
        from tracker.publish.alerts import deliver_pending

        summary = refresh(engine, context=FetchContext(user_agent="tests", per_host_interval=0, retries=0),
                          deliver_alerts=deliver_pending)
        assert summary.alerts is not None and summary.alerts.sent == 1
        assert receiver.payloads()[0]["event"] == "new_version"

        assert main(["alerts", "send"]) == 0
        assert "0 queued, 0 sent" in capsys.readouterr().out
        assert main(["alerts", "list", "--deliveries"]) == 0
        out = capsys.readouterr().out
        assert "1 sent, 0 pending, 0 failed" in out and "version:" in out and "HTTP 200" in out
        assert main(["alerts", "unsubscribe", "1"]) == 0
        assert main(["alerts", "list"]) == 0
        assert "1 (stopped)" in capsys.readouterr().out
