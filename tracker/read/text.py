"""Showing scraped and submitted text: word-level and passage-level diffs, every word escaped.

Text that comes from a company's document or a submission is data, never markup. Pages that pass it through
`st.markdown` escape it first with `escape_markdown`; diffs escape each word before marking it, so a quote that
contains `**`, `[link](...)`, `<script>` or `$x$` is shown literally.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tracker.analysis.passages import split_passages
from tracker.core.escaping import escape_markdown

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DiffPart:
    """A run of words that is the same in both texts (`equal`), only in the old (`removed`) or only in the new."""

    kind: str  # equal | removed | added
    text: str


def word_diff(old: str, new: str) -> list[DiffPart]:
    """Word-level diff (difflib on whitespace-separated words); a replacement is a removal then an addition."""
    old_words, new_words = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    parts: list[DiffPart] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(DiffPart("equal", " ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            parts.append(DiffPart("removed", " ".join(old_words[a1:a2])))
        if b2 > b1:
            parts.append(DiffPart("added", " ".join(new_words[b1:b2])))
    return parts


def diff_markdown(old: str, new: str) -> str:
    """One paragraph of Markdown: removed words red and struck through, added words green, all text escaped."""
    rendered = []
    for part in word_diff(old, new):
        text = escape_markdown(part.text)
        if part.kind == "removed":
            rendered.append(f":red-background[~~{text}~~]")
        elif part.kind == "added":
            rendered.append(f":green-background[{text}]")
        else:
            rendered.append(text)
    return " ".join(rendered)


def changed_words(old: str, new: str) -> tuple[list[str], list[str]]:
    """The removed and the added word runs, for a plain-text summary beside the highlighted diff."""
    parts = word_diff(old, new)
    return [p.text for p in parts if p.kind == "removed"], [p.text for p in parts if p.kind == "added"]


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis (for labels and previews)."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut + "…"


def marked_side(old: str, new: str, side: str) -> str:
    """Markdown of one side of a word diff: the old text with removals marked, or the new with additions."""
    keep, mark = ("removed", ":red-background[~~{}~~]") if side == "old" else ("added", ":green-background[{}]")
    rendered = []
    for part in word_diff(old, new):
        if part.kind == "equal":
            rendered.append(escape_markdown(part.text))
        elif part.kind == keep:
            rendered.append(mark.format(escape_markdown(part.text)))
    return " ".join(rendered)


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side document diff: a run of unchanged passages, or a changed/removed/added one."""

    kind: str  # equal | changed | removed | added
    old: str
    new: str
    section: str
    unchanged: int = 0  # for `equal` rows: how many passages the row stands for


def passage_diff(old_text: str, new_text: str) -> list[DiffRow]:
    """Align two versions passage by passage (difflib on the passages of `split_passages`).

    Unchanged runs collapse into one row so that a 40-page document with three edits reads as three edits.
    """
    old_passages, new_passages = split_passages(old_text), split_passages(new_text)
    matcher = difflib.SequenceMatcher(a=[p.text for p in old_passages], b=[p.text for p in new_passages],
                                      autojunk=False)
    rows: list[DiffRow] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            rows.append(DiffRow("equal", "", "", old_passages[a1].section, unchanged=a2 - a1))
            continue
        olds, news = old_passages[a1:a2], new_passages[b1:b2]
        for i in range(max(len(olds), len(news))):
            old = olds[i] if i < len(olds) else None
            new = news[i] if i < len(news) else None
            kind = "changed" if old and new else "removed" if old else "added"
            rows.append(DiffRow(kind, old.text if old else "", new.text if new else "",
                                (new or old).section))  # type: ignore[union-attr]
    return rows
