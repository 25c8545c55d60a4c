"""Bytes -> canonical text: the one format every later stage (passages, mapping, change detection) reads.

Canonical text (same as the archived copies in shared/corpus/*.txt): headings are `## Heading` lines,
PDF page breaks are `[[page N]]` lines, paragraphs are separated by one blank line, list items are lines
starting `- `, table rows are cells joined by ` | `. Normalisation makes the text depend only on what the
publisher wrote, so a page that changes only its cookie banner, clock or copyright year keeps its hash.
"""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import charset_normalizer
from bs4 import (
    BeautifulSoup,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Tag,
)

from scrapers.capture import FetchError, Section
from scrapers.pdf import pdf_to_text

# ---------------------------------------------------------------------------------------------- sniffing

HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title", b"<div", b"<p>", b"<main")


def sniff_format(body: bytes, content_type: str, url: str) -> str:
    """"pdf", "html" or "text" from the bytes first, then the Content-Type, then the URL's extension;
    "binary" when none fits. Bytes win because servers lie: CDNs serve PDFs as text/html or
    application/octet-stream, and error pages come back as application/pdf."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"%PDF-" in body[:1024]:
        return "pdf"
    if any(head.startswith(marker) for marker in HTML_MARKERS) or (
        head.startswith(b"<?xml") and b"<html" in head
    ):
        return "html"
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/pdf":
        return "pdf"
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime.startswith("text/"):
        return "text"
    path = url.split("?")[0].split("#")[0].lower()
    if path.endswith(".pdf"):
        return "pdf"
    if path.endswith((".html", ".htm")):
        return "html"
    if path.endswith((".txt", ".md")):
        return "text"
    if body and b"\x00" not in body[:8192]:
        return "text" if mime in ("", "application/octet-stream") else "binary"
    return "binary"


# ---------------------------------------------------------------------------------------------- decoding

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
MAX_REPLACEMENT_SHARE = 0.001  # a stray bad byte in a big page is tolerated (with a warning), garbage is not


def _charset_from_header(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def decode_text(body: bytes, content_type: str, url: str, is_html: bool) -> tuple[str, list[str]]:
    """Decode with the HTML precedence (BOM, then HTTP header, then <meta>); without any declaration try
    UTF-8 and then charset detection. Raises `invalid_encoding` when the bytes do not fit."""
    warnings: list[str] = []
    declared: str | None = None
    for bom, name in BOMS:
        if body.startswith(bom):
            declared, body = name, body[len(bom):]
            break
    declared = declared or _charset_from_header(content_type)
    if declared is None and is_html:
        match = META_CHARSET.search(body[:4096])
        declared = match.group(1).decode("ascii") if match else None
    if declared is not None:
        try:
            codecs.lookup(declared)
        except LookupError:
            warnings.append(f"unknown charset {declared!r} declared; tried UTF-8 instead")
            declared = None
    encoding = declared or "utf-8"
    try:
        return body.decode(encoding), warnings
    except UnicodeDecodeError:
        pass
    if declared is None:
        best = charset_normalizer.from_bytes(body).best()
        if best is not None and best.encoding:
            warnings.append(f"no charset declared and not UTF-8; decoded as detected {best.encoding}")
            return str(best), warnings
    text = body.decode(encoding, errors="replace")
    bad = text.count("\ufffd") - body.decode(encoding, errors="ignore").count("\ufffd")
    if bad <= max(1, int(len(body) * MAX_REPLACEMENT_SHARE)):
        warnings.append(f"{bad} byte sequence(s) invalid in {encoding} replaced with U+FFFD")
        return text, warnings
    raise FetchError(
        "invalid_encoding",
        f"{url}: {bad} byte sequences are not valid {encoding} (declared: {declared or 'none'}); the page's "
        "charset declaration is wrong or the file is not text.",
        url=url,
        bytes_received=len(body),
    )


# ---------------------------------------------------------------------------------------------- normalising

ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
SPACES = re.compile(r"[^\S\n]+")  # whitespace except newlines (covers NBSP, thin spaces, tabs)

# Lines that change without the publisher changing anything: generated per request or per year. Matched
# against a whole line. Kept on purpose: "Last updated: <date>", "Effective <date>", "Version X" lines.
# Those are written by the author and change only when the document is revised, so they are a version
# signal, not noise. A *relative* time ("Updated 3 minutes ago") or a clock time is rendered by the site
# at request time and says nothing about the document.
_WHEN = r"(?:\d+|a|an|one|few|several)\s+(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"
VOLATILE_LINES = [
    re.compile(r"(?:last\s+(?:visited|accessed|checked|crawled|viewed)|accessed\s+on|retrieved\s+on)\b.*", re.I),
    re.compile(r"(?:page\s+)?(?:generated|rendered|built|served|cached)\s+(?:at|on|in)\b.*", re.I),
    re.compile(r"(?:current\s+time|server\s+time|request\s+id|session\s+id)\b.*", re.I),
    re.compile(rf"(?:(?:updated|posted|edited|published|modified|refreshed)\s+)?(?:about\s+)?{_WHEN}\s+ago\.?", re.I),
    re.compile(r"(?:©|\(c\)|copyright)\s*(?:©\s*)?(?:\d{4}\s*[-–—]\s*)?\d{4}\b.{0,120}", re.I),
    re.compile(r"(?:©|copyright)\s*.{0,80}\b\d{4}\b\.?(?:\s*all rights reserved\.?)?", re.I),
    re.compile(r"all rights reserved\.?", re.I),
    re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?", re.I),
    re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:am|pm)?(?:\s+[A-Z]{2,5})?", re.I),
    re.compile(r"(?:this\s+(?:web)?site|we)\s+uses?\s+cookies\b.{0,300}", re.I),
]


def is_volatile_line(line: str) -> bool:
    """True for a line that a site regenerates without the document changing (see VOLATILE_LINES)."""
    stripped = line.strip().removeprefix("## ").strip()
    return any(pattern.fullmatch(stripped) for pattern in VOLATILE_LINES)


def normalise_text(text: str) -> str:
    """Unicode NFC, one space between words, no trailing spaces, at most one blank line, volatile lines
    dropped; ends with a single newline (empty string when there is no text). Idempotent."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = ZERO_WIDTH.sub("", text).replace("\u2028", "\n").replace("\u2029", "\n")
    lines: list[str] = []
    for raw in text.split("\n"):
        line = SPACES.sub(" ", raw).strip()
        if line and is_volatile_line(line):
            continue
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


# ---------------------------------------------------------------------------------------------- HTML

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr", "html", "li", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "form", "button",
    "input", "select", "textarea", "nav", "aside", "dialog", "head",
]
CHROME_TAGS = ["header", "footer"]  # page chrome when outside main/article; kept inside them
BOILERPLATE_ATTR = re.compile(r"cookie|consent|banner|newsletter|gdpr|onetrust|subscribe|skip-link", re.I)
LINE_BREAK = "\u2028"  # stands for <br> until whitespace is folded
_FLUSH = "\x00flush"  # marker on the walker's stack: flush the buffer when a block element ends


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace(LINE_BREAK, " ")).strip()


def _is_boilerplate(tag: Tag) -> bool:
    attrs = tag.attrs or {}
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if re.search(r"display\s*:\s*none", attrs.get("style", "") or ""):
        return True
    if attrs.get("role") in ("navigation", "banner", "contentinfo", "search", "alertdialog"):
        return True
    names = " ".join([attrs.get("id", "") or "", " ".join(attrs.get("class", []) or [])])
    return bool(BOILERPLATE_ATTR.search(names))


class _HtmlWalker:
    """Turns a DOM subtree into canonical blocks. Blocks of kind "li"/"tr" are joined by single newlines
    (a list stays one group), all others by a blank line."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.headings: list[tuple[str, int]] = []
        self.buffer: list[str] = []

    def flush(self) -> None:
        raw = "".join(self.buffer)
        self.buffer = []
        lines = [_fold(part) for part in raw.split(LINE_BREAK)]
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(("p", text))

    def walk(self, node: Tag) -> None:
        """Depth-first over `node`'s children with an explicit stack, not recursion: a hostile page nested
        a thousand elements deep must not raise RecursionError."""
        stack: list[Iterator[PageElement | str]] = [iter(node.children)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            if child is _FLUSH:
                self.flush()
                continue
            if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                self.buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in HEADINGS:
                self.flush()
                heading = _fold(child.get_text(""))
                if heading:
                    self.blocks.append(("h", "## " + heading))
                    self.headings.append((heading, int(name[1])))
            elif name == "li":
                self.flush()
                nested = self._list_item(child)
                if nested:
                    stack.append(itertools.chain.from_iterable(sub.children for sub in nested))
            elif name == "tr":
                self.flush()
                cells = [_fold(cell.get_text(" ")) for cell in child.find_all(["td", "th"], recursive=False)]
                row = " | ".join(cell for cell in cells if cell)
                if row:
                    self.blocks.append(("tr", row))
            elif name == "br":
                self.buffer.append(LINE_BREAK)
            elif name in BLOCK_TAGS:
                self.flush()
                stack.append(iter((_FLUSH,)))
                stack.append(iter(child.children))
            else:
                stack.append(iter(child.children))

    def _list_item(self, item: Tag) -> list[Tag]:
        """Add the item's own text as one `- ` block; return its nested lists for the caller to walk next."""
        nested = [child.extract() for child in item.find_all(["ul", "ol"], recursive=False)]
        inner = _HtmlWalker()
        inner.walk(item)
        inner.flush()
        text = " ".join(_fold(block) for _, block in inner.blocks if not block.startswith("## "))
        if text:
            self.blocks.append(("li", "- " + text))
        return nested

    def text(self) -> str:
        parts: list[str] = []
        previous = ""
        for kind, block in self.blocks:
            if parts:
                parts.append("\n" if kind == previous and kind in ("li", "tr") else "\n\n")
            parts.append(block)
            previous = kind
        return "".join(parts)


def html_to_text(html: str) -> tuple[str, list[tuple[str, int]]]:
    """Main text of a page in canonical form (not yet normalised) and its headings with levels."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(DROP_TAGS):
        tag.decompose()
    for tag in [t for t in soup.find_all(True) if _is_boilerplate(t)]:
        if not tag.decomposed:
            tag.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"})
    if root is None:
        articles = soup.find_all("article")
        root = articles[0] if len(articles) == 1 else None
    if root is None:
        root = soup.body or soup
        for tag in root.find_all(CHROME_TAGS):
            if not tag.decomposed and tag.find_parent(["main", "article"]) is None:
                tag.decompose()
    walker = _HtmlWalker()
    walker.walk(root)
    walker.flush()
    return walker.text(), walker.headings


# ---------------------------------------------------------------------------------------------- sections

PAGE_LINE = re.compile(r"^\[\[page (\d+)\]\]$")
PAGE_MARKS = re.compile(r"^\[\[page (\d+)\]\]$", re.M)


def sections_from_text(text: str, headings: list[tuple[str, int]] | None = None) -> list[Section]:
    """One Section per `## ` line; levels come from the extractor's headings (matched in order), else 1.
    A section ends where the next heading of the same or a higher level starts."""
    found: list[Section] = []
    known = list(headings or [])
    pointer = 0
    page: int | None = None
    offset = 0
    for line in text.split("\n"):
        page_match = PAGE_LINE.match(line)
        if page_match:
            page = int(page_match.group(1))
        elif line.startswith("## "):
            heading = line[3:].strip()
            level = 1
            for index in range(pointer, len(known)):
                if _fold(known[index][0]) == heading:
                    level, pointer = known[index][1], index + 1
                    break
            found.append(Section(heading=heading, level=level, start=offset, end=len(text), page=page))
        offset += len(line) + 1
    for index, section in enumerate(found):
        for later in found[index + 1:]:
            if later.level <= section.level:
                section.end = later.start
                break
    return found


# ---------------------------------------------------------------------------------------------- entry point


@dataclass
class Extracted:
    format: str
    text: str
    sections: list[Section] = field(default_factory=list)
    page_count: int | None = None
    warnings: list[str] = field(default_factory=list)


MAX_HTML_ELEMENTS = 200_000  # a long policy page has a few ten thousand; 8 MB of `<p>a</p>` has a million
TAG_START = re.compile(rb"<[A-Za-z]")


def count_html_elements(body: bytes) -> int:
    """Upper estimate of the number of elements (start tags) in an HTML body, in one cheap byte scan."""
    return sum(1 for _ in TAG_START.finditer(body))


def extract(
    body: bytes, content_type: str, url: str, max_html_elements: int | None = MAX_HTML_ELEMENTS
) -> Extracted:
    """Canonical, normalised text of a PDF, HTML page or text file. Raises FetchError with reason
    `unsupported_content`, `invalid_encoding`, `pdf_encrypted`, `pdf_corrupt`, `no_text` or `too_complex`
    (an HTML page with more than `max_html_elements` elements: parsing it would take minutes and
    gigabytes, so it is refused before parsing). Run it through `scrapers.bounded.extract_bounded` for
    bytes from outside, which also bounds its time and memory."""
    kind = sniff_format(body, content_type, url)
    warnings: list[str] = []
    headings: list[tuple[str, int]] = []
    page_count: int | None = None
    if kind == "pdf":
        raw, page_count, headings, warnings = pdf_to_text(body, url)
    elif kind == "html":
        if max_html_elements is not None:
            elements = count_html_elements(body)
            if elements > max_html_elements:
                raise FetchError(
                    "too_complex",
                    f"{url}: the page has about {elements:,} HTML elements, over the limit of "
                    f"{max_html_elements:,}; it is refused rather than parsed (real documents have far fewer).",
                    url=url, bytes_received=len(body),
                )
        decoded, warnings = decode_text(body, content_type, url, is_html=True)
        try:
            raw, headings = html_to_text(decoded)
        except RecursionError:
            raise FetchError(
                "too_complex",
                f"{url}: the page's elements are nested too deeply to be read; it is refused.",
                url=url, bytes_received=len(body),
            ) from None
    elif kind == "text":
        raw, warnings = decode_text(body, content_type, url, is_html=False)
    else:
        raise FetchError(
            "unsupported_content",
            f"{url}: the body ({content_type or 'no content type'}, starts {body[:8]!r}) is not PDF, HTML or "
            "text; check that the source URL points at the document.",
            url=url, bytes_received=len(body),
        )
    text = normalise_text(raw)
    if not any(ch.isalpha() for ch in PAGE_MARKS.sub("", text)):
        hint = {
            "pdf": "it may be a scanned PDF without a text layer",
            "html": "the page may render its text with JavaScript",
            "text": "the file is blank",
        }[kind]
        raise FetchError(
            "no_text", f"{url}: no text could be extracted; {hint}.", url=url, bytes_received=len(body)
        )
    if kind == "text":  # an archived copy keeps its [[page N]] markers
        page_numbers = [int(number) for number in PAGE_MARKS.findall(text)]
        page_count = max(page_numbers) if page_numbers else None
    return Extracted(kind, text, sections_from_text(text, headings), page_count, warnings)
