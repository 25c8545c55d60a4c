"""Passages keep exact offsets, section headings and page numbers (mapping quotes link back through them)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.analysis.passages import MAX_CHARS, passage_at, split_passages


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


DOC = """[[page 1]]

## Frontier Safety Policy

## Version 2

This policy sets out how we assess and manage severe risks from our most capable models.
It is reviewed every year.

[[page 2]]

## Thresholds

We define capability thresholds for biological, cyber and autonomy risks. When a model
reaches a threshold we apply stronger safeguards.

- We will pause deployment if the safeguards are not ready in time for release.
- We will notify the board within two weeks of any threshold being reached.

Short line.
A short paragraph joins the next one so that nothing is lost.
"""


def test_offsets_fold_to_passage_text_and_sections_and_pages() -> None:
    passages = split_passages(DOC)
    assert passages, "a document with paragraphs yields passages"
    for p in passages:
        assert fold(DOC[p.start : p.end]) == p.text
    first = passages[0]
    assert first.section == "Frontier Safety Policy Version 2"  # consecutive headings join into one title
    assert first.page == 1
    thresholds = [p for p in passages if p.section == "Thresholds"]
    assert len(thresholds) == 4
    assert all(p.page == 2 for p in thresholds)
    assert thresholds[0].text.startswith("We define capability thresholds")
    assert thresholds[1].text.startswith("- We will pause deployment")  # a bullet starts its own passage
    assert [p.index for p in passages] == list(range(len(passages)))


def test_short_paragraph_is_joined_with_the_next() -> None:
    last = split_passages(DOC)[-1]
    assert last.text.startswith("Short line. A short paragraph joins")


def test_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "We will evaluate every model for dangerous capabilities before it is deployed. "
    text = "## Evaluations\n\n" + sentence * 40
    passages = split_passages(text)
    assert len(passages) > 1
    for p in passages:
        assert len(p.text) <= MAX_CHARS + len(sentence)
        assert p.text.endswith(".")
        assert p.section == "Evaluations"
    assert fold(" ".join(p.text for p in passages)) == fold(sentence * 40)


def test_passage_at_finds_the_passage_holding_an_offset() -> None:
    passages = split_passages(DOC)
    target = passages[2]
    assert passage_at(passages, target.start) == target
    assert passage_at(passages, target.end - 1) == target
    assert passage_at(passages, len(DOC) + 10) is None


def test_empty_and_blank_text_give_no_passages() -> None:
    assert split_passages("") == []
    assert split_passages("\n\n   \n[[page 3]]\n## Heading only\n") == []


def test_crlf_line_endings_keep_offsets() -> None:
    text = DOC.replace("\n", "\r\n")
    for p in split_passages(text):
        assert fold(text[p.start : p.end]) == p.text


LINE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x1c\x1d\x1e\x85\u2028\u2029"),
            max_size=120),
    st.sampled_from(["", "## A heading", "[[page 7]]", "- a bullet item that goes on", "1. numbered item"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(LINE, max_size=40))
def test_any_text_keeps_offsets(lines: list[str]) -> None:
    text = "\n".join(lines)
    passages = split_passages(text)
    previous_end = 0
    for p in passages:
        assert 0 <= p.start < p.end <= len(text)
        assert p.start >= previous_end  # in document order, never overlapping
        previous_end = p.end
        assert fold(text[p.start : p.end]) == p.text


@pytest.mark.corpus
def test_real_frameworks_keep_offsets(corpus_dir) -> None:
    from tracker.ingest.pipeline import corpus_files

    for path in corpus_files(corpus_dir):  # the documents, not the corpus licence
        text = path.read_text(encoding="utf-8")
        passages = split_passages(text)
        assert len(passages) > 10, path.name
        if "[[page " in text:
            assert any(p.page for p in passages), path.name
        for p in passages:
            assert fold(text[p.start : p.end]) == p.text, (path.name, p.index)
