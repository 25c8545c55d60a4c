"""What a framework version states about its own update, read from its text for the new regimes' clocks.

The EU Code of Practice (Measure 1.3) wants "a changelog, describing how and why the Framework has been updated,
along with a version number and the date of change" for any update; California SB 53 and New York RAISE want a
material modification published "and a justification for that modification". These are facts a reader can
check on the published document, so `update_record` finds them with plain rules that quote what they found:

* the changelog: a heading the change analysis recognises (`find_changelog`), or a bare "Changelog" line as PDF
  text has it;
* the version number: the label stored for the version (read from its front matter at ingest), else "Version N"
  near the top, else the newest changelog entry's "vN";
* the date of change: the date the version states for itself (passed in, as stored at ingest), else the date of
  its newest changelog entry;
* a justification: the first sentence of the version's own (newest) changelog entry that gives a reason ("to
  align with", "to better reflect", "because", "in response to", "we believe", ...), else a passage that calls
  itself the justification or rationale for the changes.

The flags and clocks that use the record are in `tracker.analysis.clocks` (light, for the read layer); this
module reads text and is run at ingest.
"""

from __future__ import annotations

import re
from datetime import date

from tracker.analysis.changes import find_changelog
from tracker.analysis.clocks import UpdateRecord

_BARE_CHANGELOG = re.compile(
    r"^[ \t]*(?:appendix[^\n]{0,20}[-–—:]\s*)?(?:change\s*log|changelog|version history|revision history|"
    r"document history|summary of changes|history of changes)[ \t]*$", re.I | re.M)
_CHANGELOG_TAIL = 4000  # how much text after a bare changelog line belongs to it at most
_REASON = re.compile(
    r"\b(?:(?:in order )?to (?:better |more (?:clearly |closely )?|further )?(?:align|reflect|track|clarify|address|"
    r"account for|respond|incorporate|meet|comply|capture|improve|ensure|strengthen|simplify|streamline|match|keep "
    r"pace|support)|because|due to|so that|in response to|in light of|reflecting|as a result of|given (?:that|the)|"
    r"consistent with|in line with|following (?:the|our|feedback|updates?|finali[sz]ation)|based on (?:feedback|"
    r"our|lessons)|rationale|justification|the reason|reflects?|(?:do|does|did) not warrant|warrants?|we believe|"
    r"we (?:have )?(?:concluded|determined|found|learned)|to make (?:it|them|this)|align(?:s|ed)? with|"
    r"prompted by|motivated by)\b", re.I)
_JUSTIFICATION_PASSAGE = re.compile(
    r"^[^\n]*\b(?:justifications?|rationale|reasons?) for (?:the |these |this |our |each |any )?(?:material )?"
    r"(?:changes?|updates?|modifications?|revisions?)\b[^\n]*$", re.I | re.M)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n\s*\n|\n(?=\s*(?:[●○•▪\-*]|\(?[ivx]+\)|\d{1,2}[.)])\s)")
_VERSION_HEAD = re.compile(r"\bVersion\s+(\d+(?:\.\d+)*)\b|(?<![\w.])[vV]\.?\s?(\d+(?:\.\d+)+)\b")
_VERSION_IN_LOG = re.compile(r"(?<![\w.])(?:v(?:ersion)?\.?\s*)(\d+(?:\.\d+)*)\b", re.I)
_HEAD_CHARS = 6000
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_MONTH = {name[:3]: n for n, name in enumerate(_MONTH_NAMES, start=1)}
_M = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATES = (
    re.compile(rf"\b{_M}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I),  # March 2, 2026
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_M},?\s+((?:19|20)\d\d)\b", re.I),  # 24th July, 2026
    re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b"),  # 2026-03-02
    re.compile(rf"\b{_M},?\s+((?:19|20)\d\d)\b", re.I),  # February 2026 (the 1st)
)


def parse_date(text: str) -> date | None:
    """The first date in `text` (a month without a day is its 1st), or None."""
    for n, form in enumerate(_DATES):
        match = form.search(text)
        if not match:
            continue
        g = match.groups()
        try:
            if n == 0:
                return date(int(g[2]), _MONTH[g[0][:3].lower()], int(g[1]))
            if n == 1:
                return date(int(g[2]), _MONTH[g[1][:3].lower()], int(g[0]))
            if n == 2:
                return date(int(g[0]), int(g[1]), int(g[2]))
            return date(int(g[1]), _MONTH[g[0][:3].lower()], 1)
        except ValueError:
            continue
    return None


def find_update_log(text: str) -> str | None:
    """The version's changelog: a heading the change analysis recognises, or a bare "Changelog" line."""
    found = find_changelog(text)
    if found:
        return found
    for match in _BARE_CHANGELOG.finditer(text):
        body = text[match.end(): match.end() + _CHANGELOG_TAIL]
        if len(re.findall(r"[A-Za-z]{3,}", body)) >= 5:
            return f"{match.group(0).strip()}\n{body.strip()}"
    return None


def _entries(log: str) -> list[tuple[date, str]]:
    """The dated entries of a changelog: a line with a date in its first 40 characters starts one."""
    lines = log.splitlines()
    starts: list[tuple[int, date]] = []
    for i, line in enumerate(lines):
        head = line.strip().lstrip("#|*•● ").strip()[:40]
        found = parse_date(head) if head else None
        if found is not None:
            starts.append((i, found))
    return [(day, "\n".join(lines[i: starts[k + 1][0] if k + 1 < len(starts) else len(lines)]))
            for k, (i, day) in enumerate(starts)]


def current_entry(log: str) -> tuple[date | None, str]:
    """The changelog entry of the version itself: the newest one (changelogs run either way)."""
    entries = _entries(log)
    if not entries:
        return None, log
    return max(entries, key=lambda entry: entry[0])


def find_justification(text: str, changelog: str | None = None) -> str | None:
    """The first sentence that gives a reason for this version's changes, or None when it gives none."""
    log = changelog if changelog is not None else find_update_log(text)
    if log:
        _, entry = current_entry(log)
        for sentence in _SENTENCE.split(entry):
            if _REASON.search(sentence) and re.search(r"[A-Za-z]{3,}", sentence):
                return " ".join(sentence.split())[:300]
    passage = _JUSTIFICATION_PASSAGE.search(text)
    if passage:
        return " ".join(text[passage.start(): passage.end() + 300].split())[:300]
    return None


def update_record(text: str, *, version_label: str | None = None, dated_on: date | None = None,
                  dated_evidence: str | None = None) -> UpdateRecord:
    """Changelog, version number, date of change and justification as the version states them.

    `version_label` and `dated_on` (with the phrase it came from) are what ingest already read from the front
    matter; without them the version and date come from the text's head and its newest changelog entry.
    """
    log = find_update_log(text)
    entry_date, entry = current_entry(log) if log else (None, "")
    version = version_label
    if version is None:
        head = _VERSION_HEAD.search(text[:_HEAD_CHARS])
        version = (head.group(1) or head.group(2)) if head else None
    if version is None and entry:
        found = _VERSION_IN_LOG.search(entry)
        version = found.group(1) if found else None
    changed_on, evidence = dated_on, dated_evidence
    if changed_on is None and entry_date is not None:
        changed_on, evidence = entry_date, " ".join(entry.split())[:120]
    quoted = (entry if entry_date is not None else log) if log else None  # the version's own entry if dated
    return UpdateRecord(" ".join(quoted.split())[:300] if quoted else None, version, changed_on, evidence,
                        find_justification(text, log))
