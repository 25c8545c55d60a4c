"""Attacks on the fetcher, as a hostile URL or server would try them: SSRF with the production address
policy (parser confusion, robots.txt redirects, DNS rebinding), bodies that trickle, retries that ignore
host spacing, bot-check pages that would become versions, partial byte counts.

Only loopback addresses are ever contacted: a guard fails any connect() to another address, and names
resolve through a fake resolver. Local servers on 127.0.0.2 play "public" sites: `pretend_public` makes
the address policy see 127.0.0.2 as a public address (and nothing else changes).
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import time
import types

import pytest

import scrapers.netguard as netguard
from scrapers.adapters import SourceSpec, fetch_source
from scrapers.capture import REASONS, FetchError
from scrapers.http import FetchContext
from scrapers.netguard import is_public_address, validate_url
from tests.fakeweb import FakeWeb, Reply, make_tls_files
from tests.test_scrapers_fetch import HTML, make_ctx, pdf_bytes

PUBLIC_STAND_IN = "127.0.0.2"  # a local server that the policy is told to treat as public
METADATA = "169.254.169.254"


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket tried to connect to; non-loopback ones are refused (and fail the test)."""
    seen: list[str] = []
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        seen.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise ConnectionRefusedError(f"test guard: no connection to {host} allowed")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield seen
    outside = [host for host in seen if not ipaddress.ip_address(host).is_loopback]
    assert not outside, f"a connection to a non-loopback address was attempted: {outside}"


@pytest.fixture
def resolver(monkeypatch):
    """names[name] = address, or a list of addresses answered in turn (the last repeats). Records lookups."""
    names: dict[str, object] = {}
    lookups: list[str] = []
    counters: dict[str, itertools.count] = {}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        key = host.decode() if isinstance(host, bytes) else host
        if key in names:
            lookups.append(key)
            answer = names[key]
            if isinstance(answer, list):
                index = next(counters.setdefault(key, itertools.count()))
                answer = answer[min(index, len(answer) - 1)]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, int(port or 80)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return types.SimpleNamespace(names=names, lookups=lookups)


@pytest.fixture
def pretend_public(monkeypatch):
    """The address policy sees 127.0.0.2 as a public address (works on the module's `ipaddress`)."""
    def ip_address(value):
        real = ipaddress.ip_address(value)
        return ipaddress.ip_address("93.184.215.14") if str(real) == PUBLIC_STAND_IN else real

    shim = types.SimpleNamespace(**{name: getattr(ipaddress, name) for name in dir(ipaddress) if not name.startswith("_")})
    shim.ip_address = ip_address
    monkeypatch.setattr(netguard, "ipaddress", shim)


@pytest.fixture
def public_web():
    with FakeWeb(PUBLIC_STAND_IN) as server:
        yield server


def strict_ctx(**overrides) -> FetchContext:
    return make_ctx(allow_private_addresses=False, **overrides)


def fetch_error(ctx: FetchContext, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        ctx.get(url)
    return info.value


# ---------------------------------------------------------------------------------------------- SSRF (a)


def test_backslash_and_userinfo_urls_are_refused_as_urllib3_reads_them(web_local, resolver, connects):
    """`http://127.0.0.1:P\\@example.com/x` is example.com to urlsplit but 127.0.0.1 to urllib3."""
    resolver.names["example.com"] = "93.184.215.14"  # a public answer, never connected to
    web_local.route("/x", Reply(body=HTML))
    urls = [
        f"http://127.0.0.1:{web_local.port}\\@example.com/x",
        f"http://127.0.0.1:{web_local.port}\\\\@example.com/x",
        f"http://example.com\\@127.0.0.1:{web_local.port}/x",
        f"http://user:pass@127.0.0.1:{web_local.port}/x",
        f"http://example.com@127.0.0.1:{web_local.port}/x",
        f"http://127.0.0.1:{web_local.port}/x\\..\\y",
        "http://exam\tple.com/x",
    ]
    with strict_ctx(respect_robots=False) as context:
        reasons = {url: fetch_error(context, url).reason for url in urls}
    assert set(reasons.values()) == {"invalid_url"}, reasons
    assert web_local.hits("/x") == []
    with make_ctx(respect_robots=False) as permissive:  # credentials in URLs are refused in every mode
        assert fetch_error(permissive, f"http://user:pw@127.0.0.1:{web_local.port}/x").reason == "invalid_url"


def test_validate_url_returns_the_host_the_library_connects_to():
    assert validate_url("https://Example.ORG:8443/a?b#c") == "example.org"
    assert validate_url("http://[::1]:8080/") == "::1"
    with pytest.raises(FetchError) as info:
        validate_url("http://a.example\\@b.example/")
    assert info.value.reason == "invalid_url" and "backslash" in info.value.message


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.215.14", True), ("2606:4700::1111", True), ("127.0.0.1", False), ("10.1.2.3", False),
     ("169.254.169.254", False), ("100.100.100.200", False), ("0.0.0.0", False), ("::1", False),
     ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False), ("fd00::1", False), ("fe80::1", False),
     ("224.0.0.1", False), ("2002:7f00:1::", False)],
)
def test_address_policy(address, public):
    assert is_public_address(address) is public


# ---------------------------------------------------------------------------------------------- SSRF (b)


def test_robots_redirect_to_metadata_is_refused_before_any_connection(public_web, resolver, pretend_public, connects):
    resolver.names["docs.test"] = PUBLIC_STAND_IN
    public_web.route("/robots.txt", Reply(status=302, location=f"http://{METADATA}/latest/meta-data/"))
    public_web.route("/doc", Reply(body=HTML))
    with strict_ctx() as context:
        error = fetch_error(context, f"http://docs.test:{public_web.port}/doc")
    assert error.reason == "private_address" and METADATA in error.message
    assert METADATA not in connects
    assert public_web.hits("/doc") == []  # nothing fetched from the site while its robots.txt is refused


def test_robots_redirect_hops_are_checked_and_spaced(public_web, resolver, pretend_public, connects):
    resolver.names["docs.test"] = PUBLIC_STAND_IN
    resolver.names["inner.test"] = "10.0.0.5"
    public_web.route("/robots.txt", Reply(status=301, location="/robots-1.txt"))
    public_web.route("/robots-1.txt", Reply(status=302, location="http://inner.test/robots.txt"))
    public_web.route("/doc", Reply(body=HTML))
    with strict_ctx(per_host_interval=0.2) as context:
        error = fetch_error(context, f"http://docs.test:{public_web.port}/doc")
    assert error.reason == "private_address" and "10.0.0.5" in error.message
    first, second = public_web.hits("/robots.txt")[0], public_web.hits("/robots-1.txt")[0]
    assert second.arrived - first.arrived >= 0.15  # the redirect hop waited for the host's slot


def test_main_redirect_to_metadata_is_refused_before_any_connection(public_web, resolver, pretend_public, connects):
    resolver.names["docs.test"] = PUBLIC_STAND_IN
    resolver.names["metadata.test"] = METADATA
    public_web.route("/a", Reply(status=302, location=f"http://{METADATA}/latest/"))
    public_web.route("/b", Reply(status=307, location="http://metadata.test/latest/"))
    with strict_ctx(respect_robots=False) as context:
        for path in ("/a", "/b"):
            assert fetch_error(context, f"http://docs.test:{public_web.port}{path}").reason == "private_address"


# ---------------------------------------------------------------------------------------------- SSRF (c)


def test_dns_rebinding_to_metadata_never_connects(public_web, resolver, pretend_public, connects):
    """The check sees a public answer, the next lookup says 169.254.169.254: the connection must use
    an address that was checked, so it is refused before any socket connects."""
    resolver.names["rebind.test"] = [PUBLIC_STAND_IN, METADATA]
    public_web.route("/doc", Reply(body=HTML))
    with strict_ctx(respect_robots=False, retries=0) as context:
        error = fetch_error(context, f"http://rebind.test:{public_web.port}/doc")
    assert error.reason == "private_address" and METADATA in error.message
    assert METADATA not in connects and public_web.hits("/doc") == []


def test_dns_rebinding_to_an_internal_listener_never_becomes_a_capture(public_web, resolver, pretend_public, connects):
    with FakeWeb("127.0.0.1", public_web.port) as internal:
        internal.route("/doc", Reply(body=b"<html><body><main><h1>Internal admin</h1><p>secret</p></main></body></html>"))
        resolver.names["rebind.test"] = [PUBLIC_STAND_IN, "127.0.0.1"]
        with strict_ctx(respect_robots=False, retries=0) as context, pytest.raises(FetchError) as info:
            fetch_source(context, SourceSpec("s", f"http://rebind.test:{public_web.port}/doc", "html"))
        assert info.value.reason == "private_address"
        assert internal.hits("/doc") == []


def test_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(public_web, resolver, pretend_public, connects):
    resolver.names["docs.test"] = PUBLIC_STAND_IN
    public_web.route("/doc", Reply(body=HTML))
    public_web.route("/robots.txt", Reply(status=404))
    with strict_ctx() as context:
        lookups_before = len(resolver.lookups)
        result = context.get(f"http://docs.test:{public_web.port}/doc")
    assert result.status == 200 and result.body == HTML
    assert public_web.hits("/doc")[0].host == f"docs.test:{public_web.port}"
    assert set(connects) == {PUBLIC_STAND_IN}
    # one lookup per URL check (robots.txt, document) and exactly one per connection: no second lookup
    assert len(resolver.lookups) - lookups_before == 2 + len(connects)


def test_a_name_with_any_private_address_is_refused(public_web, resolver, pretend_public, connects, monkeypatch):
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host == "mixed.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_STAND_IN, port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with strict_ctx(respect_robots=False) as context:
        assert fetch_error(context, f"http://mixed.test:{public_web.port}/doc").reason == "private_address"
    assert public_web.log == []


# ---------------------------------------------------------------------------------------------- (a) total deadline


def test_a_trickling_body_is_cut_off_by_the_total_deadline(web_local):
    web_local.route("/drip", Reply(body=b"x" * 40, content_type="text/plain", trickle=0.2))
    with make_ctx(max_duration=1.0, read_timeout=2.0, retries=0) as context:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            context.get(web_local.url("/drip"))
        elapsed = time.monotonic() - started
    assert info.value.reason == "timeout" and "1s" in info.value.message
    assert elapsed < 3.0  # the full body would take 8 s
    assert 1 <= info.value.bytes_received < 40


def test_slow_headers_are_cut_off_by_the_total_deadline(web_local):
    web_local.route("/slow", Reply(body=HTML, delay=4.0))
    with make_ctx(max_duration=1.0, read_timeout=10.0, retries=2) as context:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            context.get(web_local.url("/slow"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 3.0
    assert len(web_local.hits("/slow")) == 1  # no retry after the deadline


# ---------------------------------------------------------------------------------------------- (b) spacing


def test_retries_wait_for_the_host_slot(web_local):
    web_local.route("/flaky", Reply(status=503, body=b"busy"), Reply(status=503, body=b"busy"), Reply(body=HTML))
    web_local.route("/next", Reply(body=HTML))
    with make_ctx(per_host_interval=0.3, backoff=0.0, retries=3) as context:
        assert context.get(web_local.url("/flaky")).status == 200
        context.get(web_local.url("/next"))
    arrivals = sorted(hit.arrived for hit in web_local.log if hit.path in ("/flaky", "/next"))
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.25, gaps


def test_robots_retries_and_the_next_request_are_spaced(web_local):
    web_local.route("/robots.txt", Reply(status=500, body=b"err"), Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    web_local.route("/doc", Reply(body=HTML))
    with make_ctx(per_host_interval=0.3, backoff=0.0, retries=2) as context:
        assert context.get(web_local.url("/doc")).status == 200
    arrivals = sorted(hit.arrived for hit in web_local.log)
    assert [hit.path for hit in sorted(web_local.log, key=lambda h: h.arrived)] == ["/robots.txt", "/robots.txt", "/doc"]
    assert min(later - earlier for earlier, later in itertools.pairwise(arrivals)) >= 0.25


# ---------------------------------------------------------------------------------------------- (c) challenge pages


CLOUDFLARE = (b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title></head><body>"
              b"<div class='main-wrapper'><h1>example.org</h1><p>Verifying you are human. This may take a few "
              b"seconds.</p></div><script>window._cf_chl_opt={cvId: '3'};</script></body></html>")
ATTENTION = (b"<html><head><title>Attention Required! | Cloudflare</title></head><body><h1>Sorry, you have been "
             b"blocked</h1><p>You are unable to access example.org</p></body></html>")
AKAMAI = (b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>You don't have permission "
          b"to access \"http://example.org/fsp.pdf\" on this server.<P>Reference #18.2f3d1402.1700000000.1a2b3c</BODY></HTML>")
CAPTCHA = (b"<html><head><title>Security check</title></head><body><main><p>Please confirm you are not a robot.</p>"
           b"<div class='g-recaptcha' data-sitekey='x'></div></main></body></html>")


@pytest.mark.parametrize("page", [CLOUDFLARE, ATTENTION, AKAMAI, CAPTCHA], ids=["cloudflare", "attention", "akamai", "captcha"])
@pytest.mark.parametrize("expected", [None, "pdf"])
def test_a_challenge_page_is_a_failed_attempt_not_a_capture(web_local, page, expected):
    web_local.route("/fsp.pdf", Reply(body=page, content_type="text/html; charset=utf-8"))
    spec = SourceSpec("acme-fsp", web_local.url("/fsp.pdf"), "pdf", expected_format=expected)
    with make_ctx() as context, pytest.raises(FetchError) as info:
        fetch_source(context, spec)
    assert info.value.reason == "bot_challenge" and "bot_challenge" in REASONS
    assert info.value.status == 200 and info.value.bytes_received == len(page)


def test_cf_mitigated_header_marks_a_challenge(web_local):
    web_local.route("/p", Reply(body=HTML, headers={"cf-mitigated": "challenge"}))
    with make_ctx() as context, pytest.raises(FetchError) as info:
        fetch_source(context, SourceSpec("p", web_local.url("/p"), "html"))
    assert info.value.reason == "bot_challenge"


def test_a_long_document_that_mentions_captchas_is_not_a_challenge(web_local):
    policy = ("<html><head><title>Access denied requests: our policy</title></head><body><main><h1>Abuse policy</h1>"
              + "<p>We may show a CAPTCHA or ask you to verify you are human when traffic looks automated.</p>" * 60
              + "</main></body></html>").encode()
    web_local.route("/policy", Reply(body=policy))
    with make_ctx() as context:
        capture = fetch_source(context, SourceSpec("p", web_local.url("/policy"), "html", expected_format="html"))
    assert capture.format == "html" and "CAPTCHA" in capture.text


def test_a_format_contradicting_the_catalog_is_a_failed_attempt(web_local):
    web_local.route("/fsp.pdf", Reply(body=HTML, content_type="application/pdf"))
    web_local.route("/page", Reply(body=pdf_bytes(), content_type="text/html"))
    with make_ctx() as context:
        with pytest.raises(FetchError) as info:
            fetch_source(context, SourceSpec("fsp", web_local.url("/fsp.pdf"), "pdf", expected_format="pdf"))
        assert info.value.reason == "format_mismatch" and "PDF" in info.value.message
        with pytest.raises(FetchError) as info:
            fetch_source(context, SourceSpec("page", web_local.url("/page"), "html", expected_format="html"))
        assert info.value.reason == "format_mismatch"
        # Without expected_format the format stays a hint: a warning, as before.
        capture = fetch_source(context, SourceSpec("page", web_local.url("/page"), "html"))
        assert capture.format == "pdf" and any("expected html" in w for w in capture.warnings)


def test_an_index_page_answered_with_a_challenge_says_so(web_local):
    web_local.route("/safety/", Reply(body=CLOUDFLARE))
    spec = SourceSpec("x", web_local.url("/safety/"), "pdf", "index", r"\.pdf$", expected_format="pdf")
    with make_ctx() as context, pytest.raises(FetchError) as info:
        fetch_source(context, spec)
    assert info.value.reason == "bot_challenge"


# ---------------------------------------------------------------------------------------------- (d) byte counts


def test_partial_bodies_report_the_bytes_that_arrived(web_local):
    web_local.route("/cut", Reply(body=b"x" * 5000, reset_after=1234, content_type="text/plain"))
    web_local.route("/big", Reply(body=b"y" * 300_000, content_type="text/plain", no_length=True))
    with make_ctx(retries=0) as context:
        cut = fetch_error(context, web_local.url("/cut"))
    with make_ctx(retries=0, max_bytes=100_000) as context:
        big = fetch_error(context, web_local.url("/big"))
    assert (cut.reason, cut.bytes_received) == ("connection_reset", 1234)
    assert "1,234 bytes" in cut.message
    assert big.reason == "too_large" and 100_000 < big.bytes_received <= 100_000 + 65536


@pytest.fixture
def web_local():
    with FakeWeb() as server:
        yield server


# ---------------------------------------------------------------------------------------------- TLS with a pinned address


@pytest.fixture
def tls_files(tmp_path):
    return make_tls_files(tmp_path, ["docs.test"])


def test_https_to_a_pinned_address_keeps_sni_and_certificate_checks_for_the_name(tls_files, resolver, pretend_public, connects):
    ca_file, cert_file, key_file = tls_files
    resolver.names["docs.test"] = PUBLIC_STAND_IN
    resolver.names["alias.test"] = PUBLIC_STAND_IN
    with FakeWeb(PUBLIC_STAND_IN, tls=(cert_file, key_file)) as site:
        site.route("/doc", Reply(body=HTML))
        with strict_ctx(respect_robots=False, retries=0, ca_bundle=str(ca_file)) as context:
            result = context.get(f"https://docs.test:{site.port}/doc")
            assert result.status == 200 and result.body == HTML
            assert site.server_names == ["docs.test"] and site.hits("/doc")[0].host == f"docs.test:{site.port}"
            # Same address, a name the certificate does not cover: verification is for the name, not the IP.
            error = fetch_error(context, f"https://alias.test:{site.port}/doc")
        assert error.reason == "connection_error" and "certificate" in error.message.lower()
    assert set(connects) == {PUBLIC_STAND_IN}


def test_a_small_landing_page_with_a_captcha_form_is_not_a_challenge(web_local):
    landing = (b"<html><head><title>Safety at Acme</title></head><body><main><h1>Safety</h1>"
               b"<p><a href='/fsp-v2.pdf'>Frontier Safety Policy</a></p><form><div class='g-recaptcha'></div>"
               b"<button>Subscribe</button></form></main></body></html>")
    web_local.route("/safety/", Reply(body=landing))
    web_local.route("/fsp-v2.pdf", Reply(body=pdf_bytes(), content_type="application/pdf"))
    spec = SourceSpec("x", web_local.url("/safety/"), "pdf", "index", r"\.pdf$", expected_format="pdf")
    with make_ctx() as context:
        assert fetch_source(context, spec).format == "pdf"
