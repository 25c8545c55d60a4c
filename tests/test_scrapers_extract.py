"""Bytes -> canonical text: formats, charsets, bad documents, volatile-line normalisation, dates."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from scrapers.capture import FetchError
from scrapers.dating import detect_publication_date, detect_version_label
from scrapers.extract import (
    extract,
    normalise_text,
    sniff_format,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def make_pdf(pages: list[list[tuple[str, int]]]) -> bytes:
    """One list per page of (text, font size) blocks."""
    pdf = FPDF()
    for blocks in pages:
        pdf.add_page()
        for text, size in blocks:
            pdf.set_font("Helvetica", "B" if size > 12 else "", size)
            pdf.multi_cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypt(body: bytes, user_password: str, algorithm: str = "RC4-128") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(body)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


TWO_PAGES = make_pdf(
    [
        [("Frontier Safety Policy", 22), ("Version 2.1", 11), ("Effective March 31, 2025", 11),
         ("We will not deploy a model that crosses a capability threshold. " * 3, 11)],
        [("Governance", 16), ("The board reviews this policy every year and publishes the results.", 11)],
    ]
)


# ---------------------------------------------------------------------------------------------- PDF


def test_pdf_pages_headings_and_sections():
    extracted = extract(TWO_PAGES, "application/pdf", "https://example.org/fsp.pdf")
    text = extracted.text
    assert extracted.format == "pdf" and extracted.page_count == 2
    assert text.index("[[page 1]]") < text.index("## Frontier Safety Policy") < text.index("[[page 2]]")
    assert text.index("[[page 2]]") < text.index("## Governance") < text.index("The board reviews")
    assert "\n\n\n" not in text and "## Version 2.1" not in text  # body-size lines are not headings
    first, second = extracted.sections
    assert (first.heading, first.level, first.page) == ("Frontier Safety Policy", 1, 1)
    assert (second.heading, second.level, second.page) == ("Governance", 2, 2)
    assert text[second.start:].startswith("## Governance") and second.end == len(text)
    assert first.end == len(text)  # a level-2 heading does not end a level-1 section
    assert detect_version_label(text) == "2.1"
    assert detect_publication_date(text) == (date(2025, 3, 31), "Effective March 31, 2025")


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_encrypted_pdf_with_password_is_refused(algorithm):
    with pytest.raises(FetchError) as info:
        extract(encrypt(TWO_PAGES, "secret", algorithm), "application/pdf", "https://example.org/locked.pdf")
    assert info.value.reason == "pdf_encrypted" and "password" in info.value.message


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_permissions_only_encryption_is_read(algorithm):
    extracted = extract(encrypt(TWO_PAGES, "", algorithm), "application/pdf", "https://example.org/restricted.pdf")
    assert "## Governance" in extracted.text
    assert any("encrypted" in warning for warning in extracted.warnings)


@pytest.mark.parametrize("body", [b"%PDF-1.4\n" + b"\x00\x01junk" * 100, TWO_PAGES[: len(TWO_PAGES) // 3]])
def test_corrupt_or_truncated_pdf(body):
    with pytest.raises(FetchError) as info:
        extract(body, "application/pdf", "https://example.org/broken.pdf")
    assert info.value.reason == "pdf_corrupt"
    assert info.value.url == "https://example.org/broken.pdf"


def test_pdf_without_text_layer():
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    with pytest.raises(FetchError) as info:
        extract(bytes(pdf.output()), "application/pdf", "https://example.org/scan.pdf")
    assert info.value.reason == "no_text" and "scanned" in info.value.message


# ---------------------------------------------------------------------------------------------- sniffing


def test_sniffing_trusts_bytes_over_headers():
    assert sniff_format(TWO_PAGES, "text/html; charset=utf-8", "https://x/doc") == "pdf"
    assert sniff_format(b"<!DOCTYPE html><html><p>Hi</p></html>", "application/pdf", "https://x/a.pdf") == "html"
    assert sniff_format(b"plain words", "application/octet-stream", "https://x/file") == "text"
    assert sniff_format(b"## Title\n\nbody", "", "https://x/copy.txt") == "text"
    assert sniff_format(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "https://x/logo.png") == "binary"
    with pytest.raises(FetchError) as info:
        extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "image/png", "https://x/logo.png")
    assert info.value.reason == "unsupported_content"


# ---------------------------------------------------------------------------------------------- charsets


def test_charset_from_header():
    body = "<html><body><p>Sécurité des modèles</p></body></html>".encode("latin-1")
    assert "Sécurité des modèles" in extract(body, "text/html; charset=ISO-8859-1", "https://x/").text


def test_charset_from_meta_tag():
    body = '<html><head><meta charset="windows-1252"></head><body><p>“Quoted” – dash</p></body></html>'
    assert "“Quoted” – dash" in extract(body.encode("cp1252"), "text/html", "https://x/").text


def test_invalid_utf8_is_refused_and_a_stray_byte_is_tolerated():
    garbage = b"<html><body><p>" + bytes(range(0x80, 0xFF)) * 4 + b"</p></body></html>"
    with pytest.raises(FetchError) as info:
        extract(garbage, "text/html; charset=utf-8", "https://x/bad")
    assert info.value.reason == "invalid_encoding" and "utf-8" in info.value.message
    stray = ("<html><body><p>" + "A long and valid paragraph. " * 60 + "</p></body></html>").encode()
    stray = stray.replace(b"valid", b"val\xffd", 1)
    extracted = extract(stray, "text/html; charset=utf-8", "https://x/ok")
    assert "val\ufffdd" in extracted.text and extracted.warnings


# ---------------------------------------------------------------------------------------------- HTML


PAGE = """<!doctype html><html><head><title>T</title><style>p {{}}</style></head><body>
<header><a href="/">Acme AI</a></header><nav><ul><li>Home</li><li>Research</li></ul></nav>
<div id="cookie-banner"><p>{cookie}</p><button>Accept</button></div>
<main>
  <h1>Responsible   Scaling
      Policy</h1>
  <p>Last updated: 15th April, 2025</p>
  <p>{clock}</p>
  <h2>Thresholds</h2>
  <p>We will <b>not</b> deploy models<br>above a threshold.</p>
  <ul><li>Biological risk<ul><li>uplift to novices</li></ul></li><li>Cyber risk</li></ul>
  <table><tr><th>Level</th><th>Action</th></tr><tr><td>High</td><td>Pause</td></tr></table>
  <script>track()</script>
</main>
<aside>Related posts</aside><footer><p>© {year} Acme AI. All rights reserved.</p></footer>
</body></html>"""


def render(cookie="We use cookies to improve your experience.", clock="Updated 3 minutes ago", year=2025) -> bytes:
    return PAGE.format(cookie=cookie, clock=clock, year=year).encode()


def test_html_main_text_in_canonical_form():
    extracted = extract(render(), "text/html; charset=utf-8", "https://acme.example/rsp")
    assert extracted.format == "html"
    assert extracted.text == (
        "## Responsible Scaling Policy\n\n"
        "Last updated: 15th April, 2025\n\n"
        "## Thresholds\n\n"
        "We will not deploy models\nabove a threshold.\n\n"
        "- Biological risk\n- uplift to novices\n- Cyber risk\n\n"
        "Level | Action\nHigh | Pause\n"
    )
    assert [(s.heading, s.level, s.page) for s in extracted.sections] == [
        ("Responsible Scaling Policy", 1, None),
        ("Thresholds", 2, None),
    ]
    assert detect_publication_date(extracted.text) == (date(2025, 4, 15), "Last updated: 15th April, 2025")


def test_cookie_banner_clock_and_copyright_changes_keep_the_hash():
    def text_hash(body: bytes) -> str:
        return hashlib.sha256(extract(body, "text/html", "https://acme.example/rsp").text.encode()).hexdigest()

    baseline = text_hash(render())
    assert text_hash(render(cookie="We value your privacy. Manage consent.")) == baseline
    assert text_hash(render(clock="Updated 2 hours ago")) == baseline
    assert text_hash(render(clock="Page generated at 2025-06-01 10:22:03 UTC")) == baseline
    assert text_hash(render(year=2026)) == baseline
    changed = render().replace(b"Last updated: 15th April, 2025", b"Last updated: 2nd May, 2025")
    assert text_hash(changed) != baseline  # a stated revision date is a real change


def test_html_without_text():
    body = b"<html><body><div id='root'></div><script>app()</script><nav>Menu</nav></body></html>"
    with pytest.raises(FetchError) as info:
        extract(body, "text/html", "https://x/app")
    assert info.value.reason == "no_text" and "JavaScript" in info.value.message


def test_body_without_main_drops_page_chrome():
    body = b"<html><body><header>Site</header><h2>Policy</h2><p>Text here.</p><footer>Contact</footer></body></html>"
    assert extract(body, "text/html", "https://x/").text == "## Policy\n\nText here.\n"


# ---------------------------------------------------------------------------------------------- normalisation and text


def test_normalise_text():
    raw = "  Cafe\u0301   menu \t\n\n\n\nLast visited 3 June 2025\nEnd\u00a0here  \n\u200bZero\n\n"
    assert normalise_text(raw) == "Café menu\n\nEnd here\nZero\n"
    assert normalise_text(normalise_text(raw)) == normalise_text(raw)
    assert normalise_text("\n \n") == ""
    assert normalise_text("Last updated: August 20, 2025\n10:42 AM\n") == "Last updated: August 20, 2025\n"


def test_plain_text_keeps_canonical_structure():
    archived = "\n[[page 1]]\n\n## Title\n\nPara one\nwrapped.\n\n[[page 2]]\n\n## Next\n\nMore.\n"
    extracted = extract(archived.encode(), "text/plain", "file:///copy.txt")
    assert extracted.format == "text" and extracted.page_count == 2
    assert extracted.text == archived.lstrip("\n")
    assert [(s.heading, s.page) for s in extracted.sections] == [("Title", 1), ("Next", 2)]


@pytest.mark.corpus
def test_corpus_copies_pass_through_unchanged_in_structure():
    files = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
    if not files:
        pytest.skip("shared corpus not present")
    for path in files:
        original = path.read_text(encoding="utf-8")
        extracted = extract(path.read_bytes(), "text/plain", path.name)
        assert extracted.text.count("[[page ") == original.count("[[page "), path.name
        headings = [line for line in original.splitlines() if line.startswith("## ")]
        assert len(extracted.sections) == len(headings), path.name
        assert normalise_text(extracted.text) == extracted.text


# ---------------------------------------------------------------------------------------------- version and date


@pytest.mark.parametrize(
    ("text", "label", "published", "evidence"),
    [
        ("Responsible Scaling Policy\nVersion 2.1\nEffective March 31, 2025\n", "2.1", date(2025, 3, 31), "Effective March 31, 2025"),
        ("Preparedness Framework\nVersion 2. Last updated: 15th April, 2025\n", "2", date(2025, 4, 15), "Last updated: 15th April, 2025"),
        ("Frontier AI Framework\nEffective Date: 30 June 2026\n", None, date(2026, 6, 30), "Effective Date: 30 June 2026"),
        ("The Secure AI Framework\nV1.0 (February 2025)\n", "1.0", date(2025, 2, 1), "V1.0 (February 2025)"),
        ("AGI Readiness Policy\nVersion 1.0 — July 2, 2024\n", "1.0", date(2024, 7, 2), "Version 1.0 — July 2, 2024"),
        ("## 4th February 2025\n\n## Frontier Safety Framework\n", None, date(2025, 2, 4), "4th February 2025"),
        ("Policy text without any stated date.\n", None, None, None),
    ],
)
def test_version_and_date_phrasings(text, label, published, evidence):
    assert detect_version_label(text) == label
    assert detect_publication_date(text) == (published, evidence)


def test_impossible_dates_are_skipped():
    assert detect_publication_date("Effective February 30, 2025\nPublished: 2 March 2025") == (
        date(2025, 3, 2),
        "Published: 2 March 2025",
    )
