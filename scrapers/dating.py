"""What a document says about itself: its publication date and version label, read from the title page and front
matter the way a person would ("Version 2.1 Effective March 31, 2025"). Used by every Capture.
"""

from __future__ import annotations

import re
from datetime import date


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()  # \s covers the line-break marker U+2028 too

# ---------------------------------------------------------------------------------------------- dates, versions

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_ORD = r"(?:st|nd|rd|th)?"
DATE_FORMS = [
    re.compile(rf"(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}}){_ORD},?\s+(?P<year>\d{{4}})", re.I),
    re.compile(rf"(?P<day>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<month>{_MONTH}),?\s+(?P<year>\d{{4}})", re.I),
    re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"),
    re.compile(rf"(?P<month>{_MONTH}),?\s+(?P<year>\d{{4}})", re.I),
]
_DATE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}{_ORD},?\s+\d{{4}}|\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH},?\s+\d{{4}})"
)
_VERSION = r"(?:\d+(?:\.\d+)*)"
# Ordered by how directly the phrase states the document's own date.
DATE_PHRASES = [
    (re.compile(rf"\bEffective(?:\s+Date)?(?:\s+(?:on|from|as\s+of))?\s*[:\-–]?\s*{_DATE}", re.I), True),
    (re.compile(rf"\b(?:Last\s+)?(?:Updated|Revised|Modified)(?:\s+on)?\s*[:\-–]?\s*{_DATE}", re.I), False),
    (re.compile(rf"\b(?:Published|Publication\s+date|Date\s+of\s+publication|Released|Dated)(?:\s+on)?\s*[:\-–]?\s*{_DATE}", re.I), True),
    (re.compile(rf"\bVersion\s+{_VERSION}\s*[—–\-:,]\s*{_DATE}", re.I), True),
    (re.compile(rf"\bV{_VERSION}\s*\(\s*{_DATE}\s*\)", re.I), True),
    (re.compile(rf"^(?:##\s+)?{_DATE}\s*$", re.I | re.M), True),
]
HEAD_CHARS = 6000  # title page and front matter: where documents state their own version and date
VERSION_PHRASES = [
    re.compile(r"\bVersion\s+(\d+(?:\.\d+)*)\b", re.I),
    re.compile(r"(?<![\w.])[vV](\d+(?:\.\d+)+)\b"),
]


def parse_date(text: str) -> date | None:
    """A date from one of DATE_FORMS (a month without a day means the 1st of that month)."""
    for form in DATE_FORMS:
        match = form.search(text)
        if not match:
            continue
        parts = match.groupdict()
        month_text = parts["month"].rstrip(".").lower()
        month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text)
        try:
            return date(int(parts["year"]), month or 0, int(parts.get("day") or 1))
        except (TypeError, ValueError):
            continue
    return None


def detect_publication_date(text: str) -> tuple[date | None, str | None]:
    """The date the document states for itself and the phrase it came from, e.g.
    (2025-03-31, "Effective March 31, 2025"). "Last updated" is searched in the whole text (pages put it at
    the foot), the other phrases only in the front matter, where they describe the document itself."""
    head = text[:HEAD_CHARS]
    for pattern, head_only in DATE_PHRASES:
        for match in pattern.finditer(head if head_only else text):
            found = parse_date(match.group(0))
            if found is not None:
                return found, _fold(match.group(0).replace("## ", ""))
    return None, None


def detect_version_label(text: str) -> str | None:
    """The version number the document states on its front matter ("Version 2.1" -> "2.1",
    "V1.0 (February 2025)" -> "1.0"), or None."""
    head = text[:HEAD_CHARS]
    for pattern in VERSION_PHRASES:
        match = pattern.search(head)
        if match:
            return match.group(1)
    return None
