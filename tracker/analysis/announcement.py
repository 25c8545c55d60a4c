"""The company's own account of a revision, and whether it announces a given change.

A company tells readers what changed in a version in a few places: an in-document changelog, a version-history
entry on its policy page, an announcement post. The corpus (`changelogs/*_revision-account.md`) transcribes these
per version; the tracker also finds the changelog inside the new document. A change is judged against the
*entries new in this version* (a cumulative changelog still lists every earlier version's entries; a silent
re-upload repeats its label's account word for word), and the sentence that announces it is kept, so a reader
sees the company's own words beside the change:

- `announced`: an entry shares enough of the change's distinctive words;
- `partly`: it shares a few (or names the section and one word);
- `silent`: the company gave an account of this version, and no entry of it talks about the change;
- `no-changelog`: the company gave no account of this version at all.

Pure functions: no database, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tracker.analysis.changes import DetectedChange, _content_words, _norm, _stem, find_changelog

# Sections of an account file that are not the company's account of the revision.
NOT_AN_ACCOUNT = re.compile(
    r"redline|not an official|lesswrong|third[- ]party|commentary|comparison with|footnotes?$|"
    r"not a revision account|reconnaissance", re.I)
# Headings that start a new part of an account (what kind of account it is).
ACCOUNT_KIND = re.compile(
    r"version[- ]history|in-document|changelog|change log|announcement|press release|updates? (?:and changes|section)|"
    r"account", re.I)
# Lines the corpus authors wrote about an account, not the account itself.
META_LINE = re.compile(
    r"^(?:source|note|predecessor|saved as|hyperlink|the phrase|this (?:file|entry|variant)|checked|none found|"
    r"no provider account|na\b|none\b|date checked|live bytes|sha-256)", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z“\"(])")
QUOTE_CHARS = 300


@dataclass(frozen=True)
class AccountEntry:
    """One entry of a company's account: a sentence or list item, and where it was published."""

    kind: str  # "in-document changelog", "version history", "announcement post", ...
    text: str
    stems: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.stems:
            object.__setattr__(self, "stems", frozenset(_stem(w) for w in _content_words(self.text)))


@dataclass
class Judgement:
    state: str  # announced | partly | silent | no-changelog
    quote: str | None = None  # the sentence of the account that announces the change
    kind: str | None = None  # where that sentence was published
    overlap: int = 0


@dataclass
class Account:
    """Every entry a company gave for one version (file account plus in-document changelog)."""

    entries: list[AccountEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def without(self, other: Account | None) -> Account:
        """The entries not already in `other` (an earlier version's account): what is new in this one."""
        if not other:
            return self
        seen = {_key(e.text) for e in other.entries}
        return Account([e for e in self.entries if _key(e.text) not in seen])


def _key(text: str) -> str:
    return " ".join(_norm(text).split())


def _kind_name(heading: str) -> str:
    lowered = heading.lower()
    if "in-document" in lowered or "changelog" in lowered or "change log" in lowered or "updates" in lowered:
        return "in-document changelog"
    if "version-history" in lowered or "version history" in lowered:
        return "version history"
    if "announcement" in lowered or "press release" in lowered:
        return "announcement post"
    return "company account"


BULLET = re.compile(r"^\s*(?:[●○•▪◦\-*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
HEADING = re.compile(r"^#{1,6}\s+")


def _units(text: str) -> list[str]:
    """Sentences and list items of an account, in the company's own wording (case and punctuation kept)."""
    paragraphs: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or HEADING.match(line) or BULLET.match(line):
            paragraphs.append([])
        line = BULLET.sub("", HEADING.sub("", line)).strip()
        if line:
            paragraphs[-1].append(line)
            if HEADING.match(raw.strip()):
                paragraphs.append([])
    units = []
    for lines in paragraphs:
        units += _sentences(" ".join(lines))
    return [u for u in units if len(_content_words(u)) >= 3]


def parse_account(markdown: str) -> Account:
    """The company's own words in a corpus revision-account file, as entries tagged with where they appeared."""
    kind: str | None = None
    excluded = False
    fenced = False
    blocks: list[tuple[str, list[str]]] = []
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip()
            if line.startswith("# "):  # the file's title
                continue
            if NOT_AN_ACCOUNT.search(heading):
                excluded, kind = True, None
                continue
            if ACCOUNT_KIND.search(heading) and not fenced:
                excluded, kind = False, _kind_name(heading)
                blocks.append((kind, []))
                continue
        if excluded or kind is None:
            continue
        if not fenced and META_LINE.match(line.strip()):
            continue
        blocks[-1][1].append(line)
    entries = []
    for block_kind, lines in blocks:
        for paragraph in _units("\n".join(lines)):
            entries.append(AccountEntry(block_kind, paragraph))
    return Account(entries)


def document_changelog(text: str | None) -> Account:
    """The changelog inside a version's text, as entries."""
    changelog = find_changelog(text or "")
    if not changelog:
        return Account()
    return Account([AccountEntry("in-document changelog", e) for e in _units(changelog)])


def version_account(
    new_text: str | None, old_text: str | None, *, file_account: Account | None = None,
    previous_file_account: Account | None = None,
) -> tuple[Account, bool]:
    """What the company said about this version only, and whether it said anything about this version at all.

    In-document entries the previous version already had are dropped (cumulative changelogs); so are file
    entries the previous version's account already had (a re-upload repeats its label's account).
    """
    in_document = document_changelog(new_text).without(document_changelog(old_text))
    from_file = (file_account or Account()).without(previous_file_account).without(document_changelog(old_text))
    merged = Account(list(from_file.entries))
    seen = {_key(e.text) for e in merged.entries}
    merged.entries += [e for e in in_document.entries if _key(e.text) not in seen]
    has_account = bool(file_account) or bool(find_changelog(new_text or ""))
    return merged, has_account


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def _distinctive(change: DetectedChange, common_words: frozenset[str]) -> tuple[set[str], set[str]]:
    old_words = _content_words(change.old.text) if change.old else set()
    new_words = _content_words(change.new.text) if change.new else set()
    distinctive = (old_words ^ new_words) if old_words and new_words else (old_words | new_words)
    stems = {_stem(w) for w in distinctive if w not in common_words}
    section = (change.new or change.old).section if (change.new or change.old) else ""
    section_stems = {_stem(w) for w in _content_words(section or "") if w not in common_words}
    return stems, section_stems


def _short(sentence: str) -> str:
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    return sentence[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"


# Chosen on the development pairs (Anthropic, Meta, OpenAI, xAI; `tracker eval-announcements` reports the
# leave-one-provider-out scores): an account sentence sharing 4+ of a change's distinctive word stems announces
# it, 3 (or the section name and one) partly. The fractions guard short changes against one long sentence.
PARAMS = {"k_ann": 4, "f_ann": 0.05, "k_part": 3, "f_part": 0.1}


@dataclass(frozen=True)
class Match:
    """How well the best entry of an account covers one change: what `judge` decides on."""

    overlap: int  # distinctive stems of the change that the best entry shares
    distinctive: int  # distinctive stems of the change
    section_named: bool  # some entry names the change's section
    entry: AccountEntry | None


def match(change: DetectedChange, account: Account, *, common_words: frozenset[str] = frozenset()) -> Match:
    """The account entry sharing most of the change's distinctive words (those its counterpart lacks)."""
    stems, section_stems = _distinctive(change, common_words)
    best: tuple[int, AccountEntry | None] = (0, None)
    section_named = False
    for entry in account.entries:
        entry_stems = entry.stems
        overlap = len(stems & entry_stems)
        if overlap > best[0]:
            best = (overlap, entry)
        if section_stems and len(section_stems & entry_stems) >= max(1, (len(section_stems) + 1) // 2):
            section_named = True
    return Match(best[0], len(stems), section_named, best[1])


def decide(found: Match, params: dict | None = None) -> str:
    """announced / partly / silent from a match, by the thresholds in `params` (default `PARAMS`)."""
    p = params or PARAMS
    if found.overlap >= p["k_ann"] and found.overlap >= found.distinctive * p["f_ann"]:
        return "announced"
    if ((found.overlap >= p["k_part"] and found.overlap >= found.distinctive * p["f_part"])
            or (found.section_named and found.overlap >= 1)):
        return "partly"
    return "silent"


def judge(
    change: DetectedChange, account: Account, has_account: bool, *, common_words: frozenset[str] = frozenset(),
    params: dict | None = None,
) -> Judgement:
    """Announced / partly / silent / no-changelog for one change, with the announcing sentence quoted."""
    if not has_account:
        return Judgement("no-changelog")
    if not account:
        return Judgement("silent")
    found = match(change, account, common_words=common_words)
    state = decide(found, params)
    if state == "silent" or found.entry is None:
        return Judgement(state, overlap=found.overlap)
    return Judgement(state, _short(found.entry.text), found.entry.kind, found.overlap)


def silent_share(states: Iterable[str], *, strict: bool = True) -> float | None:
    """Share of material changes the company did not (fully) announce: the corpus study's silent-revision rate.

    Strict: only `announced` counts as announced (partly, silent and no changelog are not).
    """
    values: Sequence[str] = list(states)
    if not values:
        return None
    quiet = ("partly", "silent", "no-changelog") if strict else ("silent", "no-changelog")
    return sum(1 for s in values if s in quiet) / len(values)
