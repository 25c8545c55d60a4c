"""Extraction with bounds: hostile documents (a PDF decompression bomb, megabytes of tiny HTML elements,
HTML nested thousands deep, text that needs more memory than allowed) are refused with a stable reason,
quickly, without a traceback; normal documents come out exactly as in-process extraction makes them."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from scrapers.adapters import SourceSpec, fetch_source
from scrapers.bounded import ExtractLimits, extract_bounded
from scrapers.capture import REASONS, FetchError
from scrapers.extract import extract
from tests.fakeweb import FakeWeb, Reply
from tests.test_scrapers_extract import TWO_PAGES
from tests.test_scrapers_fetch import make_ctx

ROOT = Path(__file__).resolve().parents[1]


def pdf_bomb(operations: int = 100_000) -> bytes:
    """A one-page PDF of a few KB whose content stream inflates to megabytes of text operators (seconds
    of CPU in any pure-Python PDF parser)."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 10 10 Td " + b"(a) Tj 1 0 Td " * operations + b"ET\n")
    page.replace_contents(stream)
    page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def refused(body: bytes, content_type: str, limits: ExtractLimits) -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        extract_bounded(body, content_type, "https://example.org/hostile", limits)
    return info.value, time.monotonic() - started


@pytest.fixture(scope="module", autouse=True)
def warm_worker():
    """Start a worker once so timings below measure extraction, not interpreter start-up."""
    extract_bounded(b"<html><body><p>warm up</p></body></html>", "text/html", "https://example.org/")


def test_a_pdf_decompression_bomb_is_stopped_by_the_cpu_limit():
    bomb = pdf_bomb()
    assert len(bomb) < 10_000
    error, elapsed = refused(bomb, "application/pdf", ExtractLimits(cpu_seconds=1, wall_seconds=30))
    assert error.reason == "extraction_timeout" and error.reason in REASONS
    assert "1 CPU seconds" in error.message and error.bytes_received == len(bomb)
    assert elapsed < 15  # unbounded it costs seconds of CPU per 100,000 operators; on a loaded machine, more


def test_the_wall_clock_limit_stops_a_worker_that_takes_too_long():
    error, elapsed = refused(pdf_bomb(), "application/pdf", ExtractLimits(cpu_seconds=120, wall_seconds=1))
    assert error.reason == "extraction_timeout" and "1s" in error.message
    assert elapsed < 10


def test_the_memory_limit_refuses_a_document_that_needs_too_much():
    body = b"word\n" * 6_000_000  # 30 MB of text: several copies while normalising
    error, _ = refused(body, "text/plain", ExtractLimits(memory_bytes=150 * 1024 * 1024))
    assert error.reason == "extraction_memory" and "150 MiB" in error.message


def test_megabytes_of_small_elements_are_refused_before_parsing():
    body = b"<html><body>" + b"<p>a</p>" * 1_000_000 + b"</body></html>"  # 8 MB
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        extract(body, "text/html", "https://example.org/many")
    assert info.value.reason == "too_complex" and "1,000,002" in info.value.message
    assert time.monotonic() - started < 5
    error, elapsed = refused(body, "text/html", ExtractLimits())
    assert error.reason == "too_complex" and elapsed < 10


@pytest.mark.parametrize("depth", [1000, 5000])
def test_html_nested_thousands_deep_is_read_without_recursion(depth):
    body = (b"<html><body><main><h1>Deep</h1>" + b"<div><section><span>" * depth + b"We will pause training."
            + b"</span></section></div>" * depth + b"</main></body></html>")
    direct = extract(body, "text/html", "https://example.org/deep")
    assert direct.text == "## Deep\n\nWe will pause training.\n"
    assert extract_bounded(body, "text/html", "https://example.org/deep") == direct


def test_bounded_extraction_gives_exactly_the_in_process_result():
    html = (b"<html><body><main><h1>Policy</h1><ul><li>One<ul><li>Nested</li></ul></li><li>Two</li></ul>"
            b"<table><tr><td>a</td><td>b</td></tr></table></main></body></html>")
    for body, content_type in ((TWO_PAGES, "application/pdf"), (html, "text/html")):
        assert extract_bounded(body, content_type, "https://example.org/x") == extract(body, content_type, "https://example.org/x")


def test_reasons_from_the_extractor_survive_the_worker():
    cases = {
        "pdf_corrupt": (b"%PDF-1.7\n" + b"\x00garbage" * 50, "application/pdf"),
        "unsupported_content": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image/png"),
        "no_text": (b"<html><body><script>render()</script></body></html>", "text/html"),
    }
    for reason, (body, content_type) in cases.items():
        error, _ = refused(body, content_type, ExtractLimits())
        assert (error.reason, error.url, error.bytes_received) == (reason, "https://example.org/hostile", len(body))


def test_a_worker_that_broke_a_limit_is_replaced():
    refused(pdf_bomb(), "application/pdf", ExtractLimits(cpu_seconds=1))
    assert extract_bounded(TWO_PAGES, "application/pdf", "https://example.org/fsp.pdf").page_count == 2


def test_concurrent_callers_share_the_workers():
    results: list[int | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(extract_bounded(TWO_PAGES, "application/pdf", "https://example.org/fsp.pdf").page_count)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and results == [2] * 5


def test_fetched_documents_are_extracted_with_bounds():
    bomb = pdf_bomb()
    with FakeWeb() as web, make_ctx() as ctx:
        web.route("/fsp.pdf", Reply(body=bomb, content_type="application/pdf"))
        with pytest.raises(FetchError) as info:
            fetch_source(ctx, SourceSpec("fsp", web.url("/fsp.pdf"), "pdf"), limits=ExtractLimits(cpu_seconds=1))
    assert info.value.reason == "extraction_timeout"
    assert (info.value.status, info.value.bytes_received, info.value.url) == (200, len(bomb), web.url("/fsp.pdf"))


def test_workers_start_whatever_the_callers_main_module_is(tmp_path):
    """multiprocessing's spawn would re-run an unguarded main script; the worker must not depend on it."""
    script = tmp_path / "caller.py"
    script.write_text(
        "from scrapers.bounded import extract_bounded\n"
        "print(extract_bounded(b'<html><body><p>hello from a script</p></body></html>', 'text/html', 'u').text)\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from a script"
