"""Split a document's canonical text into passages that keep their section heading and offsets.

Canonical text (what `scrapers.extract` produces and what archived copies look like): headings are lines
starting with ``## ``, PDF page breaks are ``[[page N]]`` lines, paragraphs are separated by blank lines and
may be hard-wrapped. Offsets index into that text, so a quote can always be shown in context and linked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE_MARK = re.compile(r"^\[\[page (\d+)\]\]\s*$")
HEADING = re.compile(r"^#{1,6}\s+(.*\S)\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z(\"“‘'•\-–0-9])")
BULLET = re.compile(r"^\s*(?:[-•*▪●◦]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|[ivx]{1,4}[.)])\s+")

MIN_CHARS = 40
MAX_CHARS = 900


@dataclass(frozen=True)
class Passage:
    """A span of the document: text is exactly ``document[start:end]`` with whitespace folded."""

    index: int
    start: int
    end: int
    text: str
    section: str
    page: int | None


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _blocks(text: str):
    """Yield (start, end, kind, page, heading_text) for paragraphs, headings and page marks."""
    pos = 0
    block_start = None
    block_end = None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        line_start, line_end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        page = PAGE_MARK.match(stripped)
        heading = HEADING.match(stripped)
        starts_item = bool(BULLET.match(line)) and block_start is not None
        if not stripped or page or heading or starts_item:
            if block_start is not None:
                yield block_start, block_end, "para", None, None
                block_start = None
            if page:
                yield line_start, line_end, "page", int(page.group(1)), None
                continue
            if heading:
                yield line_start, line_end, "heading", None, heading.group(1)
                continue
            if not stripped:
                continue
        if block_start is None:
            block_start = line_start + (len(line) - len(line.lstrip()))
        block_end = line_end
    if block_start is not None:
        yield block_start, block_end, "para", None, None


def _split_long(text: str, start: int, end: int):
    """Cut an over-long paragraph at sentence ends so each passage stays quotable."""
    chunk_start = start
    last_cut = None
    for match in SENTENCE_END.finditer(text, start, end):
        if match.start() - chunk_start > MAX_CHARS and last_cut:
            yield chunk_start, last_cut[0]
            chunk_start = last_cut[1]
        last_cut = (match.start(), match.end())
    if end - chunk_start > MAX_CHARS and last_cut and last_cut[1] > chunk_start:
        yield chunk_start, last_cut[0]
        chunk_start = last_cut[1]
    yield chunk_start, end


def split_passages(text: str) -> list[Passage]:
    """Passages in document order; consecutive short heading-like lines join into one section title."""
    passages: list[Passage] = []
    section = ""
    heading_run: list[str] = []
    page: int | None = None
    pending: tuple[int, int] | None = None  # a short paragraph waiting to be joined with the next

    def emit(s: int, e: int) -> None:
        for cs, ce in _split_long(text, s, e):
            body = _fold(text[cs:ce])
            if body:
                passages.append(Passage(len(passages), cs, ce, body, section, page))

    for start, end, kind, page_no, heading in _blocks(text):
        if kind == "page":
            if pending:
                emit(*pending)
                pending = None
            page = page_no
            heading_run = []
            continue
        if kind == "heading":
            if pending:
                emit(*pending)
                pending = None
            heading_run.append(heading or "")
            section = _fold(" ".join(heading_run))
            continue
        heading_run = []
        if pending:
            start = pending[0]
            pending = None
        if end - start < MIN_CHARS:
            pending = (start, end)
            continue
        emit(start, end)
    if pending:
        emit(*pending)
    return passages


def passage_at(passages: list[Passage], offset: int) -> Passage | None:
    """The passage containing a character offset (for linking a quote back into context)."""
    for passage in passages:
        if passage.start <= offset < passage.end:
            return passage
    return None
