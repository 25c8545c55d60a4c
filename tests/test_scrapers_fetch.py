"""The real fetch code against local servers: every fault maps to its reason, politeness holds."""

from __future__ import annotations

import itertools
import socket
from datetime import UTC

import pytest
from fpdf import FPDF

from scrapers.adapters import SourceSpec, fetch_many, fetch_source
from scrapers.capture import FetchError
from scrapers.http import FetchContext
from tests.fakeweb import FakeWeb, Reply

HTML = b"<html><body><main><h1>Safety Policy</h1><p>Version 2.1</p><p>We will pause training.</p></main></body></html>"


def make_ctx(**overrides) -> FetchContext:
    settings = {
        "user_agent": "CommitmentTracker-test/0.1",
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "retries": 2,
        "backoff": 0.01,
        "per_host_interval": 0.0,
        "max_bytes": 100_000,
    }
    settings.update(overrides)
    return FetchContext(**settings)


def pdf_bytes(text: str = "Frontier Safety Framework. We will not deploy.") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


@pytest.fixture
def web():
    with FakeWeb() as server:
        yield server


@pytest.fixture
def ctx():
    with make_ctx() as context:
        yield context


def fetch_error(ctx: FetchContext, url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as info:
        ctx.get(url, **kwargs)
    return info.value


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(("status", "reason"), [(404, "http_404"), (410, "http_410"), (403, "http_403"), (418, "http_4xx")])
def test_client_errors_have_their_own_reason(web, ctx, status, reason):
    web.route("/gone", Reply(status=status, body=b"no"))
    error = fetch_error(ctx, web.url("/gone"))
    assert (error.reason, error.status) == (reason, status)
    assert error.url == web.url("/gone") and str(status) in error.message
    assert len(web.hits("/gone")) == 1  # 4xx other than 429 is not retried


def test_server_error_is_retried_then_reported(web, ctx):
    web.route("/down", Reply(status=503, body=b"down"))
    error = fetch_error(ctx, web.url("/down"))
    assert error.reason == "http_5xx" and error.status == 503
    assert len(web.hits("/down")) == 3  # first try + 2 retries


def test_500_then_success_is_retried(web, ctx):
    web.route("/flaky", Reply(status=500, body=b"oops"), Reply(body=HTML))
    result = ctx.get(web.url("/flaky"))
    assert result.status == 200 and result.body == HTML
    assert len(web.hits("/flaky")) == 2


def test_429_honours_retry_after(web, ctx):
    web.route("/busy", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=HTML))
    result = ctx.get(web.url("/busy"))
    first, second = web.hits("/busy")
    assert result.status == 200
    assert second.arrived - first.arrived >= 0.9


def test_retry_after_is_capped(web):
    web.route("/busy", Reply(status=429, headers={"Retry-After": "3600"}), Reply(body=HTML))
    with make_ctx(max_retry_after=0.2) as context:
        assert context.get(web.url("/busy")).status == 200
    first, second = web.hits("/busy")
    assert second.arrived - first.arrived < 5


def test_read_timeout(web):
    web.route("/slow", Reply(body=HTML, delay=1.0))
    with make_ctx(read_timeout=0.3, retries=0) as context:
        error = fetch_error(context, web.url("/slow"))
    assert error.reason == "timeout"
    assert "0.3" in error.message


def test_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with make_ctx(retries=0, respect_robots=False) as context:
        error = fetch_error(context, f"http://127.0.0.1:{port}/x")
    assert error.reason == "connection_error"


def test_connection_reset_mid_body(web, ctx):
    web.route("/cut", Reply(body=b"x" * 5000, reset_after=100, content_type="text/plain"))
    error = fetch_error(ctx, web.url("/cut"))
    assert error.reason == "connection_reset"
    assert error.status == 200


def test_redirects_are_followed_and_loops_stopped(web, ctx):
    web.route("/old", Reply(status=301, location="/new"))
    web.route("/new", Reply(body=HTML))
    result = ctx.get(web.url("/old"))
    assert result.final_url == web.url("/new") and result.redirects == [web.url("/old")]
    web.route("/a", Reply(status=302, location="/b"))
    web.route("/b", Reply(status=302, location=web.url("/a")))
    error = fetch_error(ctx, web.url("/a"))
    assert error.reason == "redirect_loop"


def test_redirect_limit(web):
    for n in range(5):
        web.route(f"/r{n}", Reply(status=302, location=f"/r{n + 1}"))
    with make_ctx(max_redirects=3) as context:
        assert fetch_error(context, web.url("/r0")).reason == "redirect_loop"


def test_oversized_body_by_header_and_by_stream(web):
    web.route("/big", Reply(body=b"a" * 5000, content_type="text/plain"))
    web.route("/big-stream", Reply(body=b"a" * 5000, content_type="text/plain", no_length=True))
    with make_ctx(max_bytes=1000) as context:
        declared = fetch_error(context, web.url("/big"))
        streamed = fetch_error(context, web.url("/big-stream"))
    assert declared.reason == streamed.reason == "too_large"
    assert streamed.bytes_received > 1000


def test_empty_body(web, ctx):
    web.route("/empty", Reply(body=b""))
    assert fetch_error(ctx, web.url("/empty")).reason == "empty_body"


def test_invalid_url_and_private_addresses(web):
    with make_ctx() as context:
        assert fetch_error(context, "ftp://example.org/x").reason == "invalid_url"
    web.route("/doc", Reply(body=HTML))
    with make_ctx(allow_private_addresses=False) as context:
        error = fetch_error(context, web.url("/doc"))
    assert error.reason == "private_address"
    assert web.hits("/doc") == []


# ---------------------------------------------------------------------------------------------- content faults via fetch_source


def test_pdf_served_as_html_is_still_a_pdf(web, ctx):
    web.route("/fw", Reply(body=pdf_bytes(), content_type="text/html; charset=utf-8"))
    capture = fetch_source(ctx, SourceSpec("acme-fw", web.url("/fw"), "pdf"))
    assert capture.format == "pdf" and capture.page_count == 1
    assert "[[page 1]]" in capture.text and "We will not deploy." in capture.text


def test_wrong_content_and_bad_documents_are_reported(web, ctx):
    web.route("/img", Reply(body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, content_type="image/png"))
    web.route("/bad.pdf", Reply(body=b"%PDF-1.7\n" + b"\x00garbage" * 50, content_type="application/pdf"))
    web.route("/blank", Reply(body=b"<html><body><div id='app'></div><script>render()</script></body></html>"))
    web.route("/latin", Reply(body="caf\u00e9 ".encode("utf-16-le") * 50, content_type="text/html; charset=utf-8"))
    reasons = {}
    for path in ("/img", "/bad.pdf", "/blank", "/latin"):
        with pytest.raises(FetchError) as info:
            fetch_source(ctx, SourceSpec("s" + path, web.url(path), "html"))
        reasons[path] = info.value
    assert {path: e.reason for path, e in reasons.items()} == {
        "/img": "unsupported_content",
        "/bad.pdf": "pdf_corrupt",
        "/blank": "no_text",
        "/latin": "invalid_encoding",
    }
    assert all(e.status == 200 and e.bytes_received > 0 and e.url for e in reasons.values())


def test_capture_fields(web, ctx):
    web.route("/policy", Reply(body=HTML, etag='"abc"', last_modified="Wed, 01 Jan 2025 00:00:00 GMT"))
    capture = fetch_source(ctx, SourceSpec("acme-policy", web.url("/policy"), "html"))
    assert capture.source_id == "acme-policy" and capture.status == 200
    assert capture.fetched_at.tzinfo is UTC
    assert capture.etag == '"abc"' and capture.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert capture.text.startswith("## Safety Policy\n") and capture.version_label == "2.1"
    assert len(capture.raw_sha256) == 64 and len(capture.text_sha256) == 64
    assert capture.sections[0].heading == "Safety Policy" and capture.not_modified is False
    assert web.hits("/policy")[0].headers["user-agent"] == "CommitmentTracker-test/0.1"


# ---------------------------------------------------------------------------------------------- conditional requests


def test_etag_gives_not_modified(web, ctx):
    web.route("/doc", Reply(body=HTML, etag='"v1"'))
    first = fetch_source(ctx, SourceSpec("d", web.url("/doc"), "html"))
    second = fetch_source(ctx, SourceSpec("d", web.url("/doc"), "html"), etag=first.etag)
    assert web.hits("/doc")[1].headers["if-none-match"] == '"v1"'
    assert second.status == 304 and second.not_modified
    assert (second.body, second.text, second.raw_sha256) == (b"", "", "")


def test_last_modified_gives_not_modified(web, ctx):
    stamp = "Tue, 15 Apr 2025 10:00:00 GMT"
    web.route("/doc", Reply(body=HTML, last_modified=stamp))
    capture = fetch_source(ctx, SourceSpec("d", web.url("/doc"), "html"), last_modified=stamp)
    assert capture.not_modified and web.hits("/doc")[0].headers["if-modified-since"] == stamp
    changed = fetch_source(ctx, SourceSpec("d", web.url("/doc"), "html"), last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert not changed.not_modified and changed.text


# ---------------------------------------------------------------------------------------------- robots.txt


def test_robots_disallow_and_allow(web, ctx):
    web.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    web.route("/private/doc", Reply(body=HTML))
    web.route("/public/doc", Reply(body=HTML))
    error = fetch_error(ctx, web.url("/private/doc"))
    assert error.reason == "robots_disallowed" and "robots.txt" in error.message
    assert ctx.get(web.url("/public/doc")).status == 200
    assert web.hits("/private/doc") == []
    assert len(web.hits("/robots.txt")) == 1  # cached per host


def test_robots_rules_for_our_agent(web, ctx):
    web.route("/robots.txt", Reply(body=b"User-agent: CommitmentTracker-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n"))
    web.route("/doc", Reply(body=HTML))
    assert fetch_error(ctx, web.url("/doc")).reason == "robots_disallowed"
    with make_ctx(respect_robots=False) as ignoring:
        assert ignoring.get(web.url("/doc")).status == 200


def test_robots_server_error_means_do_not_crawl(web):
    web.route("/robots.txt", Reply(status=500, body=b"err"))
    web.route("/doc", Reply(body=HTML))
    with make_ctx(retries=0) as context:
        assert fetch_error(context, web.url("/doc")).reason == "robots_unavailable"
    assert web.hits("/doc") == []


# ---------------------------------------------------------------------------------------------- politeness and concurrency


def test_per_host_interval_spaces_requests(web):
    web.route("/a", Reply(body=HTML))
    web.route("/b", Reply(body=HTML))
    with make_ctx(per_host_interval=0.3) as context:
        context.get(web.url("/a"))
        context.get(web.url("/b"))
    (a,), (b,) = web.hits("/a"), web.hits("/b")
    assert b.arrived - a.arrived >= 0.15  # 0.3 s apart when sent; server-side arrival jitters on a busy machine


def test_fetch_many_is_sequential_within_a_host_and_parallel_across_hosts():
    with FakeWeb("127.0.0.1") as one, FakeWeb("127.0.0.2") as two:
        specs = []
        for web, name in ((one, "one"), (two, "two")):
            for n in range(3):
                web.route(f"/d{n}", Reply(body=HTML, delay=0.2))
                specs.append(SourceSpec(f"{name}-{n}", web.url(f"/d{n}"), "html"))
        with make_ctx() as context:
            results = list(fetch_many(context, specs, max_workers=4))
        assert sorted(spec.id for spec, _ in results) == sorted(spec.id for spec in specs)
        assert all(not isinstance(outcome, FetchError) for _, outcome in results)
        for web in (one, two):
            hits = sorted((h for h in web.log if h.path.startswith("/d")), key=lambda h: h.arrived)
            for earlier, later in itertools.pairwise(hits):
                assert later.arrived >= earlier.finished - 0.01  # never two at once on one host
        first_one = min(h.arrived for h in one.log if h.path == "/d0")
        first_two = min(h.arrived for h in two.log if h.path == "/d0")
        one_done = min(h.finished for h in one.log if h.path == "/d0")
        assert first_two < one_done and first_one < min(h.finished for h in two.log if h.path == "/d0")


def test_fetch_many_reports_failures_and_bugs_without_stopping(web, ctx, monkeypatch):
    web.route("/ok", Reply(body=HTML, etag='"e"'))
    web.route("/boom", Reply(body=HTML))
    from scrapers import build

    real_extract = build.extract_bounded

    def fragile_extract(body, content_type, url, limits):
        if url.endswith("/boom"):
            raise RuntimeError("parser bug")
        return real_extract(body, content_type, url, limits)

    monkeypatch.setattr(build, "extract_bounded", fragile_extract)  # the one Capture builder extracts
    specs = [
        SourceSpec("ok", web.url("/ok"), "html"),
        SourceSpec("boom", web.url("/boom"), "html"),
        SourceSpec("missing", web.url("/missing"), "html"),
    ]
    outcomes = {spec.id: outcome for spec, outcome in fetch_many(ctx, specs, validators={"ok": ('"e"', None)})}
    assert outcomes["ok"].not_modified
    assert outcomes["boom"].reason == "internal_error" and "parser bug" in outcomes["boom"].message
    assert outcomes["missing"].reason == "http_404"


# ---------------------------------------------------------------------------------------------- index adapter


def index_page(*links: tuple[str, str]) -> bytes:
    anchors = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    return f"<html><body><nav><a href='/'>Home</a></nav><main><ul>{anchors}</ul></main></body></html>".encode()


def test_index_adapter_follows_relative_link_and_applies_validators_to_the_document(web, ctx):
    web.route("/policy/", Reply(body=index_page(("/press.pdf", "Press kit"), ("files/rsp-v3.pdf", "Responsible Scaling Policy"))))
    web.route("/policy/files/rsp-v3.pdf", Reply(body=pdf_bytes("Version 3.0 Effective March 1, 2026"), content_type="application/pdf", etag='"p3"'))
    spec = SourceSpec("acme-rsp", web.url("/policy/"), "pdf", "index", r"\.pdf$", r"(?i)scaling policy")
    capture = fetch_source(ctx, spec)
    assert capture.final_url == web.url("/policy/files/rsp-v3.pdf") and capture.index_url == web.url("/policy/")
    assert capture.version_label == "3.0" and str(capture.published_on) == "2026-03-01"
    again = fetch_source(ctx, spec, etag=capture.etag)
    assert again.not_modified
    assert "if-none-match" not in web.hits("/policy/")[1].headers
    assert web.hits("/policy/files/rsp-v3.pdf")[1].headers["if-none-match"] == '"p3"'


def test_index_adapter_with_href_pattern_only_and_absolute_link(web, ctx):
    web.route("/safety", Reply(body=index_page(("/about", "About"), (web.url("/docs/framework-2026.pdf"), "Read"))))
    web.route("/docs/framework-2026.pdf", Reply(body=pdf_bytes(), content_type="application/pdf"))
    capture = fetch_source(ctx, SourceSpec("x", web.url("/safety"), "pdf", "index", r"framework-\d+\.pdf"))
    assert capture.final_url.endswith("/docs/framework-2026.pdf") and capture.format == "pdf"


def test_index_link_missing(web, ctx):
    web.route("/safety", Reply(body=index_page(("/about", "About us"))))
    with pytest.raises(FetchError) as info:
        fetch_source(ctx, SourceSpec("x", web.url("/safety"), "pdf", "index", r"\.pdf$"))
    assert info.value.reason == "index_link_not_found" and r"\.pdf$" in info.value.message

