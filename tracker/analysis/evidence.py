"""Evidence worth quoting: rules a quote must pass before it is shown as evidence for a commitment.

A fact-check of the shipped data found a quarter of the quotes defective: page headers cited as "published
plans", tables of contents, table-header rows, footnote URLs, words run together by the PDF extraction. These
pure functions say what is wrong with a quote (`quote_problems`), repair what extraction broke
(`repair_text`), cut a span to whole sentences (`whole_sentences`) and stop one quote from standing for four or
more commitments of a framework (`cap_reuse`). They need no database and no model, so the seed test, the
mapper and the review tools all apply the same rules.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

MIN_WORDS = 8  # a quote shorter than this is a fragment, not evidence
MAX_COMMITMENTS_PER_QUOTE = 3  # one quote may support at most this many commitments of one framework

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|ai|gov|io|net|edu)(?:/\S*)?\b", re.I)
DOT_LEADER = re.compile(r"(?:\.\s*){4,}\s*\d+|…{2,}\s*\d+|\s{3,}\d+\s*$")
TOC_ENTRY = re.compile(r"(?:^|\s)(?:\d{1,2}(?:\.\d{1,2})*\.?)\s+[A-Z][^.!?]{2,60}?\s+\d{1,3}(?=\s|$)")
PAGE_MARK = re.compile(r"\b(?:page\s+\d+(?:\s+of\s+\d+)?|\d+\s*/\s*\d+)\s*$|^\s*\d{1,3}\s*$", re.I)
CHANGELOG_SECTION = re.compile(
    r"\b(?:change ?logs?|version history|revision history|document history|summary of (?:key )?changes|"
    r"changes (?:from|since|to) (?:the )?(?:previous|prior|last)|past updates|release notes|what'?s new)\b", re.I)
HISTORY = re.compile(
    r"\b(?:(?:in|since) (?:the )?(?:previous|prior|last|earlier|original|first) (?:version|iteration|edition)|"
    r"(?:this|the) (?:update|revision|version) (?:adds|removes|changes|introduces|clarifies|replaces)|"
    r"(?:we|this policy) (?:have |has )?(?:updated|revised|changed|replaced|removed|added|renamed|clarified)"
    r" (?:the|our|this|a)\b[^.]{0,80}\b(?:to|from|with|in version)|"
    r"(?:was|were) (?:changed|updated|renamed|replaced|removed|added) (?:to|from|in)|"
    r"\bv(?:ersion)?\s?\d+(?:\.\d+)*\s*(?:→|->|to)\s*v?(?:ersion)?\s?\d)", re.I)
VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|will|would|shall|must|may|might|can|could|should|has|have|had|do|does|did|"
    r"commit\w*|ensur\w*|includ\w*|requir\w*|provid\w*|conduct\w*|publish\w*|evaluat\w*|assess\w*|"
    r"maintain\w*|implement\w*|review\w*|test\w*|use[sd]?|appl(?:y|ies|ied)|describ\w*|defin\w*|set[s]?|"
    r"take[sn]?|make[s]?|share[sd]?|report\w*|monitor\w*|restrict\w*|limit\w*|determin\w*|consider\w*|"
    r"pause[sd]?|stop\w*|halt\w*|deploy\w*|train\w*|develop\w*|establish\w*|mean[st]?|need[s]?|seek[s]?|"
    r"aim[s]?|plan[s]?|intend[s]?|expect[s]?|believe[s]?|identif\w*|protect\w*|prevent\w*|reduc\w*|"
    r"mitigat\w*|address\w*|notify\w*|inform\w*|run[s]?|perform\w*|work[s]?|continu\w*)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9•])")

Item = TypeVar("Item")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def _caps_share(words: list[str]) -> float:
    return sum(w[:1].isupper() for w in words) / len(words) if words else 0.0


def running_lines(text: str, min_pages: int = 3) -> frozenset[str]:
    """Lines repeated on several pages (page headers and footers), whitespace-folded and lower-cased."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        folded = " ".join(line.split()).lower()
        if 0 < len(folded) <= 120 and not folded.startswith("#"):
            counts[re.sub(r"\d+", "#", folded)] += 1
    return frozenset(line for line, n in counts.items() if n >= min_pages)


def quote_problems(quote: str, *, section: str = "", running: frozenset[str] = frozenset()) -> list[str]:
    """What makes a quote unfit as evidence, in plain words; [] when it passes every rule."""
    text = " ".join(quote.split())
    problems: list[str] = []
    words = WORD.findall(text)
    if len(words) < MIN_WORDS:
        problems.append(f"a fragment of {len(words)} words (fewer than {MIN_WORDS})")
    if URL.search(text) and (len(words) < 25 or re.match(r"^\s*\d{1,3}\s", text)):
        problems.append("a footnote or reference URL")
    if DOT_LEADER.search(text) or len(TOC_ENTRY.findall(text)) >= 3:
        problems.append("a table-of-contents entry")
    folded = re.sub(r"\d+", "#", text.lower())
    if (running and any(line and (folded == line or (len(line) > 15 and folded.startswith(line)))
                        for line in running)) or (PAGE_MARK.search(text) and len(words) < 15):
        problems.append("a page header or footer")
    lower_words = " ".join(w for w in words if not w[:1].isupper())
    if words and not VERB.search(lower_words) and _caps_share(words) >= 0.6:
        problems.append("a table-header row or a title, not a sentence")
    elif text.count("|") >= 2 or (len(re.findall(r"\s{2,}|\t", quote)) >= 3 and not VERB.search(text)):
        problems.append("a table row")
    if CHANGELOG_SECTION.search(section) or HISTORY.search(text):
        problems.append("a changelog's history, not current practice")
    if text and not _whole(text):
        problems.append("not whole sentences")
    return problems


def _whole(text: str) -> bool:
    """Starts like a sentence (capital, digit, quote or bullet) and ends with sentence punctuation."""
    bullet = bool(re.match(r"^(?:[•●○▪◦■\-–*]|\(?[a-z0-9]{1,3}[.)])\s", text))
    starts = bullet or bool(re.match(r"^[\"“‘(]?\s*[A-Z0-9]", text))
    if text.rstrip().endswith(("…", "...")) or re.search(r"\b(?:and|or|the|a|of|to|for|with|by|such as)$", text):
        return False  # cut off mid-sentence
    # A list item is whole without a full stop; a sentence may end with a footnote mark ("in place.34").
    ends = bullet or bool(re.search(r"[.!?:;][\"”’)\]]*\s*(?:\d{1,2})?$", text))
    return starts and ends


def is_quotable(quote: str, *, section: str = "", running: frozenset[str] = frozenset()) -> bool:
    return not quote_problems(quote, section=section, running=running)


def whole_sentences(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen `text[start:end]` to the sentences it touches (never past a blank line or heading)."""
    start, end = max(0, start), min(len(text), end)
    left = max(text.rfind("\n\n", 0, start), text.rfind("\n#", 0, start))
    left = 0 if left < 0 else left + 1
    boundary = left
    for match in SENTENCE_END.finditer(text, left, start + 1):
        if match.end() <= start:
            boundary = match.end()
    right_block = min([i for i in (text.find("\n\n", end), text.find("\n#", end)) if i >= 0] or [len(text)])
    match = re.search(r"[.!?][\"”’)]*(?=\s|$)", text[end - 1 if end else 0 : right_block])
    stop = (end - 1 if end else 0) + match.end() if match else right_block
    while boundary < stop and text[boundary].isspace():
        boundary += 1
    return boundary, max(stop, boundary)


# --------------------------------------------------------------------------------------------- repairs

HYPHEN_BREAK = re.compile(r"\b([A-Za-z]{2,})-\s*\n\s*([a-z]{2,})\b|\b([a-z]{2,})- ([a-z]{3,})\b")
FOOTNOTE_MARK = re.compile(r"\b([a-z]{4,})(\d{1,2})(?=[\s,.;:)]|$)")
CAMEL_JOIN = re.compile(r"\b([A-Z]?[a-z]{2,})([A-Z][a-z]{2,})\b")
KEEP_CAMEL = frozenset({"OpenAI", "DeepMind", "YouTube", "GitHub", "LinkedIn", "PowerPoint", "JavaScript",
                        "TensorFlow", "PyTorch", "HuggingFace", "ChatGPT", "SafeGuard", "FrontierMath",
                        "WhatsApp", "NeurIPS", "MacOS", "iPhone", "LeetCode", "SecureBio"})
SMALL_WORDS = frozenset("""a an the of to in on by for and or as at be is are we our it its this that with from
into than then via per not no all any each who which""".split())  # noqa: SIM905


def document_vocabulary(text: str) -> Counter[str]:
    """How often each word occurs in a document: what `repair_text` checks a split or a join against."""
    return Counter(w.lower() for w in re.findall(r"[A-Za-z]{2,}", text))


def repair_text(text: str, vocabulary: Counter[str] | None = None) -> str:
    """Undo what PDF extraction broke: words hyphenated across lines ("pro- vide"), footnote marks glued to a
    word ("scaling2"), and words run together ("ResponsibleScaling", "theposition") when both halves are
    words the document uses elsewhere and the joined form is not."""
    vocab = vocabulary if vocabulary is not None else document_vocabulary(text)

    def dehyphen(match: re.Match[str]) -> str:
        a, b = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        joined = a + b
        if b.lower() in ("and", "or", "to") or (vocab[(a + "-" + b).lower()] and not vocab[joined.lower()]):
            return match.group(0).replace("\n", " ")
        return joined

    text = HYPHEN_BREAK.sub(dehyphen, text)
    text = FOOTNOTE_MARK.sub(lambda m: m.group(1) if vocab[m.group(1).lower()] >= 2 else m.group(0), text)
    text = CAMEL_JOIN.sub(lambda m: m.group(0) if m.group(0) in KEEP_CAMEL or vocab[m.group(0).lower()] >= 2
                          else f"{m.group(1)} {m.group(2)}", text)

    def split_run(match: re.Match[str]) -> str:
        word = match.group(0)
        lower = word.lower()
        if vocab[lower] >= 2 or len(word) < 7:
            return word
        for cut in range(2, len(word) - 2):
            head, tail = lower[:cut], lower[cut:]
            if (head in SMALL_WORDS or vocab[head] >= 3) and vocab[tail] >= 2 and len(tail) >= 4 and (
                    head in SMALL_WORDS or tail in SMALL_WORDS or len(head) >= 4):
                return f"{word[:cut]} {word[cut:]}"
        return word

    return re.sub(r"\b[a-z]{7,}\b", split_run, text)


# --------------------------------------------------------------------------------------------- reuse


def cap_reuse(items: Iterable[Item], *, quote: Callable[[Item], str], commitment: Callable[[Item], str],
              score: Callable[[Item], float], limit: int = MAX_COMMITMENTS_PER_QUOTE) -> list[Item]:
    """Keep each quote for at most `limit` commitments (those it scores best on); order is preserved.

    A passage that matches four or more commitments of a framework says too little about any one of them."""
    items = list(items)
    by_quote: dict[str, dict[str, float]] = defaultdict(dict)
    for item in items:
        key = " ".join(quote(item).split()).lower()
        c = commitment(item)
        by_quote[key][c] = max(by_quote[key].get(c, float("-inf")), score(item))
    allowed = {key: set(sorted(scores, key=lambda c: (-scores[c], c))[:limit]) for key, scores in by_quote.items()}
    return [item for item in items if commitment(item) in allowed[" ".join(quote(item).split()).lower()]]


def quality_share(quotes: Sequence[tuple[str, str]]) -> float:
    """Share of (quote, section) pairs that pass every rule (1.0 for none)."""
    if not quotes:
        return 1.0
    return sum(is_quotable(q, section=s) for q, s in quotes) / len(quotes)
