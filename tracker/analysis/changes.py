"""Change analysis between two versions of a framework: what moved, what was dropped, what got weaker.

Companies revise their frameworks often and rarely announce every material change, so each new version is
compared with the previous one passage by passage:

1. **Alignment** (`align_passages`): passages of both versions are matched by TF-IDF cosine similarity with a
   one-to-one optimal assignment (Hungarian), so a commitment that moved section or was reworded keeps its
   counterpart. A passage without a counterpart is *added* or *removed*, unless its words are still present in
   the other version (a paragraph merely split or merged differently).
2. **Direction** (`compare_passages`): each aligned pair is `reworded` (no material change), `strengthened` or
   `weakened`; a pair whose new text hands the matter to a non-binding document is `removed`. The direction
   follows from reasons a reader can check, each quoting the words that changed:

   ======================== =============================================================================
   code                     meaning
   ======================== =============================================================================
   modal_weakened           the strongest commitment verb got weaker ("will" → "may", "must" → "aim to")
   modal_strengthened       the strongest commitment verb got stronger
   threshold_changed        a number (compute, percentage, interval) was replaced; detail says which way
   threshold_removed        a quantitative criterion disappeared without replacement
   threshold_added          a quantitative criterion appeared
   date_changed             a year or dated deadline was replaced (later counts as weaker)
   third_party_removed      a named outside party or government access is no longer mentioned
   third_party_added        a named outside party or government access appears
   escape_clause_added      a condition or way out appeared ("unless", "if another developer", "where feasible")
   escape_clause_removed    such a condition disappeared
   scope_narrowed           fewer risk domains or model classes, or "all" became "some"/"certain"
   scope_broadened          more risk domains or model classes
   disclosure_reduced       publication became sharing with a few, sharing became internal, or only summaries
   disclosure_increased     the reverse
   timing_later             the obligation moved later in the model's life (before training → before deployment)
   timing_earlier           the reverse
   consequence_removed      a concrete consequence (pause, halt, delay, not deploy) is no longer promised
   consequence_added        a concrete consequence is newly promised
   moved_to_non_binding     the new text sends the matter to another, non-binding document or says "no longer"
   ======================== =============================================================================

   Number direction follows the usual reading of a trigger: a higher threshold or a longer interval triggers
   later (weaker) unless the number is a floor ("at least 90%"), where higher is stronger.
3. **Announcement** (`find_changelog`, `is_announced`): the new version's changelog, version history or summary
   of changes is located by its heading; a change is `announced` when a changelog entry shares enough of the
   change's distinctive words (or names its section), `partly` when it shares a few, `silent` otherwise, and
   `no-changelog` when the new version has none.

Only commitment passages (`tracker.analysis.language.is_commitment`) are reported by `detect_changes`. Everything here is
pure: no database, no network; `render_diff_report` turns the result into terminal text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from tracker.analysis.language import is_commitment, modal_markers
from tracker.analysis.passages import Passage, split_passages
from tracker.store.vocabulary import ANNOUNCEMENT_STATES, DIRECTIONS  # noqa: F401  (part of this module's API)

# Below this cosine two passages are not the same commitment.
ALIGN_MIN_SIMILARITY = 0.2
# An unmatched passage whose word trigrams are this much present in the other version was only re-split.
CARRIED_COVERAGE = 0.8

WEAKENING = {
    "modal_weakened", "threshold_removed", "third_party_removed", "escape_clause_added", "scope_narrowed",
    "disclosure_reduced", "timing_later", "consequence_removed", "moved_to_non_binding",
}  # fmt: skip
STRENGTHENING = {
    "modal_strengthened", "threshold_added", "third_party_added", "escape_clause_removed", "scope_broadened",
    "disclosure_increased", "timing_earlier", "consequence_added",
}  # fmt: skip


@dataclass(frozen=True)
class Reason:
    """Why a pair is material: a code from the module docstring and the words that changed."""

    code: str
    detail: str
    # -1 weakens, +1 strengthens, 0 material but of no clear direction.
    sign: int = 0
    # Character spans of the words that triggered the reason, in the old and in the new quote.
    old_spans: tuple[tuple[int, int], ...] = ()
    new_spans: tuple[tuple[int, int], ...] = ()


@dataclass
class Comparison:
    direction: str
    reasons: list[Reason]
    similarity: float
    material: bool
    # How sure the direction is (tracker.analysis.direction); ranks the review queue.
    probability: float = 1.0
    weakened_probability: float = 0.0


@dataclass
class DetectedChange:
    """One commitment passage that changed between two versions."""

    direction: str
    reasons: list[Reason]
    old: Passage | None
    new: Passage | None
    similarity: float
    announced: str = "no-changelog"
    commitments: list[str] = field(default_factory=list)
    probability: float = 1.0
    weakened_probability: float = 0.0


# --------------------------------------------------------------------------------------------------------
# Text features. Each returns what a reason can quote.

WORD = re.compile(r"[a-z0-9]+(?:[-'’][a-z0-9]+)*")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'")).strip()


def _words(text: str) -> list[str]:
    return WORD.findall(_norm(text))


# Numbers: "10^26", "1e26", "30 days", "5%", "1 out of 20"; not footnote marks glued to a word ("scaling2").
NUMBER = re.compile(
    r"(?<![\w.^-])(?P<num>\d+(?:[.,]\d+)?(?:\s*(?:\^|e|x\s*10\^?)\s*-?\d+)?)"
    r"(?P<unit>\s*(?:%|percent\b|x\b|×|times\b|flops?\b|(?:hours?|days?|weeks?|months?|years?)\b|"
    r"out of \d+|in \d+))?",
    re.I,
)
YEAR = re.compile(r"^(?:19|20)\d\d$")
# "at least 90%" is a floor the company must reach; "more than 10^26 FLOP" is a trigger.
FLOOR_CONTEXT = re.compile(r"(?:at least|a minimum of|minimum|no fewer than|no less than)\s*$", re.I)
MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DATE = re.compile(rf"\b(?:(?:{MONTHS})\s+(?:\d{{1,2}},?\s+)?|q[1-4]\s+|end of\s+|by\s+)?(?:19|20)\d\d\b", re.I)


def _number_value(raw: str) -> float | None:
    raw = raw.replace(",", "").replace(" ", "").lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:(?:\^|e|x10\^?)(-?\d+))?", raw)
    if not match:
        return None
    base = float(match.group(1))
    if match.group(2) is not None:
        exponent = int(match.group(2))
        return base**exponent if "^" in raw and "x10" not in raw else base * 10**exponent
    return base


@dataclass(frozen=True)
class _Number:
    words: str
    value: float
    unit: str
    floor: bool


def _numbers(text: str) -> list[_Number]:
    found = []
    for match in NUMBER.finditer(text):
        raw = match.group("num")
        if YEAR.match(raw) or raw.count(".") > 1:
            continue
        # Enumeration marks "(1)" and bare small counts are structure, not thresholds.
        if text[max(0, match.start() - 1) : match.start()] == "(" and text[match.end() : match.end() + 1] == ")":
            continue
        # A number opening a passage is a page or footnote mark left by PDF extraction.
        if not text[: match.start()].strip():
            continue
        # "3.1. Preliminary Assessment": a section number in running text or a table of contents.
        if "." in raw and re.match(r"\.?\s+[A-Z]", text[match.end() : match.end() + 3]):
            continue
        # Section and level numbers ("Section 4", "ASL-3", "Level 2") are names, not thresholds.
        before = text[max(0, match.start() - 12) : match.start()].lower()
        if re.search(r"(?:section|appendix|table|figure|page|level|tier|step|footnote|version|v)\s*$", before):
            continue
        value = _number_value(raw)
        if value is None:
            continue
        unit = _norm(match.group("unit") or "")
        unit = re.sub(r"s\b", "", unit)
        if not unit and value < 10 and re.fullmatch(r"\d", raw):
            continue
        floor = unit != "flop" and bool(FLOOR_CONTEXT.search(text[max(0, match.start() - 20) : match.start()]))
        found.append(_Number(match.group(0).strip(), value, unit, floor))
    return found


def _dates(text: str) -> list[str]:
    return [_norm(m.group(0)) for m in DATE.finditer(text)]


THIRD_PARTY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern, re.I))
    for key, pattern in [
        ("AI Safety/Security Institute", r"\b(?:(?:UK|US|U\.S\.|Japan(?:ese)?|Korea(?:n)?)\s+)?(?:AI\s+)?"
                                         r"(?:Safety|Security)\s+Institutes?\b|\bC?AISIs?\b"),
        ("government", r"\bgovernments?\b|\bgovernmental\b|\bpublic authorit(?:y|ies)\b|\bregulators?\b|"
                       r"\bpolicymakers?\b|\bauthorities\b|\bnational security agencies\b"),
        ("third parties", r"\bthird[- ]part(?:y|ies)\b"),
        ("external experts", r"\b(?:external|independent|outside|qualified)\s+(?:experts?|evaluators?|"
                             r"reviewers?|auditors?|audits?|assessors?|advisors?|researchers?|parties|"
                             r"organi[sz]ations|red[- ]?team(?:s|ers|ing)?|testers?|review|assessments?)\b"),
        ("academia and civil society", r"\bacademi(?:a|cs?)\b|\bcivil society\b|\bnon-?profits?\b"),
        ("Long-Term Benefit Trust", r"\bLong[- ]Term Benefit Trust\b|\bLTBT\b"),
        ("industry bodies", r"\bFrontier Model Forum\b|\bindustry (?:peers|partners|bodies)\b|"
                            r"\bother (?:AI )?(?:developers|labs|companies)\b"),
    ]
]  # fmt: skip
NAMED_PARTY = re.compile(
    r"\b(?:in (?:consultation|collaboration|partnership|coordination) with|with input from|reviewed by|"
    r"audited by|shared? (?:\w+ )?with|notify|inform|provide)\s+(?:the\s+)?"
    r"((?:[A-Z][\w&.-]*)(?:\s+(?:of\s+|for\s+|and\s+)?[A-Z][\w&.-]*)*)"
)
NOT_PARTIES = {"We", "Our", "The", "This", "AI", "In", "If", "Any", "All"}


def _third_parties(text: str) -> dict[str, str]:
    """Outside parties named in a text: canonical key -> the words used."""
    found: dict[str, str] = {}
    for key, pattern in THIRD_PARTY_PATTERNS:
        match = pattern.search(text)
        if match:
            found[key] = match.group(0)
    for match in NAMED_PARTY.finditer(text):
        name = match.group(1).strip(" .")
        if name and name not in NOT_PARTIES and not any(p.search(name) for _, p in THIRD_PARTY_PATTERNS):
            found[name.lower()] = name
    return found


ESCAPE_CLAUSES: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern, re.I))
    for key, pattern in [
        ("unless", r"\bunless\b"),
        ("except", r"\bexcept(?:ion)?s?\b(?: (?:where|when|if|in|for))?"),
        ("other developers", r"\b(?:if|where|when|should)\b[^.]{0,60}\b(?:another|other|competing|a competitor|"
                             r"competitors?)\b[^.]{0,30}\b(?:developers?|labs?|compan(?:y|ies)|actors?|"
                             r"providers?)\b|\bcompetitive (?:landscape|pressure|dynamics?)\b|"
                             r"\bother (?:frontier )?(?:AI )?developers\b"),
        ("where feasible", r"\bwhere (?:possible|feasible|appropriate|practicable|practical|necessary|relevant)\b|"
                           r"\bas (?:appropriate|needed|necessary|feasible|practicable)\b|"
                           r"\bif (?:possible|feasible|appropriate|practicable)\b"),
        ("to the extent", r"\bto the extent\b"),
        ("discretion", r"\b(?:at (?:our|its|their) (?:sole )?discretion|reserve the right|we deem)\b"),
        ("exceptional circumstances", r"\bin (?:exceptional|extraordinary|rare|limited|certain) "
                                      r"(?:circumstances|cases|situations)\b"),
        ("may choose", r"\b(?:may|might|can|could) (?:decide|choose|opt|elect)\b|\bcase[- ]by[- ]case\b"),
        ("if we judge", r"\bif (?:we|the company|leadership) (?:determine|judge|believe|conclude|decide)s?\b"),
        ("reasonable", r"\b(?:commercially )?reasonabl[ey]\b"),
        ("subject to", r"\bsubject to\b"),
        ("waive", r"\b(?:waive|override|deviate from|make exceptions?)\b"),
        ("generally", r"\b(?:generally|in most cases|ordinarily)\b"),
    ]
]  # fmt: skip


def _escape_clauses(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for key, pattern in ESCAPE_CLAUSES:
        n = len(pattern.findall(text))
        if n:
            counts[key] = n
    return counts


def _first_match_words(key: str, text: str, table: Sequence[tuple[str, re.Pattern[str]]]) -> str:
    for name, pattern in table:
        if name == key:
            match = pattern.search(text)
            if match:
                return match.group(0)
    return key


SCOPE_TERMS: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern, re.I))
    for key, pattern in [
        ("chemical", r"\bchemical\b"),
        ("biological", r"\bbiolog(?:ical|y)\b|\bbio(?:weapons?|security)?\b"),
        ("radiological", r"\bradiological\b"),
        ("nuclear", r"\bnuclear\b"),
        ("CBRN", r"\bCBRNE?\b|\bweapons of mass destruction\b|\bWMD\b"),
        ("cyber", r"\bcyber(?:security|attacks?|offen[cs]e|[- ]?operations)?\b"),
        ("autonomy", r"\bautonom(?:y|ous(?: replication)?)\b|\bself[- ]exfiltrat\w*|\bARA\b"),
        ("AI R&D", r"\b(?:AI|ML) R&D\b|\bself[- ]improvement\b|\bautomated (?:AI )?research\b"),
        ("persuasion", r"\bpersuasion\b|\bmanipulation\b"),
        ("misalignment", r"\bmisalign\w*|\bdecepti(?:on|ve)\b|\bloss of control\b|\bsabotage\b|\bscheming\b"),
        ("open-weight models", r"\bopen[- ](?:weights?|source)\b"),
        ("internal deployment", r"\binternal(?:ly)? (?:deploy\w*|use)\b"),
        ("external deployment", r"\bexternal(?:ly)? deploy\w*\b|\bpublic(?:ly)? (?:release|deploy\w*)\b"),
        ("fine-tuned models", r"\bfine[- ]tun\w*\b"),
        ("all models", r"\b(?:all|every|each|any)\s+(?:\w+\s+)?(?:new\s+)?(?:frontier\s+)?models?\b"),
    ]
]  # fmt: skip
NARROW_QUANTIFIER = re.compile(r"\b(?:some|certain|select(?:ed)?|significant|major|relevant|particular|"
                               r"specific|most)\s+(?:\w+\s+)?models?\b", re.I)


def _scope(text: str) -> dict[str, str]:
    found = {}
    for key, pattern in SCOPE_TERMS:
        match = pattern.search(text)
        if match:
            found[key] = match.group(0)
    return found


DISCLOSURE_LEVELS: list[tuple[int, str, re.Pattern[str]]] = [
    (level, name, re.compile(pattern, re.I))
    for level, name, pattern in [
        (3, "public", r"\bpublish\w*\b|\bpublicly\b|\bmake (?:\w+ )?(?:public|available to the public)\b|"
                      r"\bon our website\b|\b(?:system|model) cards?\b|\btransparency reports?\b|"
                      r"\bpublic (?:disclosure|report)s?\b"),
        (2, "shared with some", r"\b(?:share|provide|disclose|report|notify|inform)\w*\b[^.]{0,40}?\b(?:with|to)\s+"
                                r"(?:the\s+)?(?:select|trusted|relevant|appropriate|external|key|certain|"
                                r"government|governments|authorities|partners|regulators|customers|"
                                r"third|(?:US|UK|U\.S\.)\b|AI Safety)\w*|\bupon request\b|\bunder NDA\b"),
        (1, "internal", r"\binternal(?:ly)?\s+(?:document|report|record|shar)\w*|\b(?:report|share|escalate)\w*"
                        r"\b[^.]{0,30}?\bto (?:the )?(?:board|leadership|CEO|management|Responsible Scaling "
                        r"Officer|RSO|SAG|internal)\b|\binternally\b"),
    ]
]  # fmt: skip
PARTIAL_DISCLOSURE = re.compile(r"\b(?:summar(?:y|ies|ize)|high[- ]level|key information|redact\w*|"
                                r"not including|excluding (?:sensitive|confidential)|sensitive details|"
                                r"where (?:appropriate|possible) to disclose|selected)\b", re.I)


def _disclosure(text: str) -> tuple[int, str]:
    for level, _name, pattern in DISCLOSURE_LEVELS:
        match = pattern.search(text)
        if match:
            return level, match.group(0)
    return 0, ""


TIMING_STAGES: list[tuple[int, re.Pattern[str]]] = [
    (stage, re.compile(pattern, re.I))
    for stage, pattern in [
        (0, r"\b(?:before|prior to) (?:we (?:begin|start) )?(?:\w+ )?(?:pre-?|the )?training\b|"
            r"\bbefore (?:training|scaling)\b|\bpre-?training\b"),
        (1, r"\b(?:during|throughout) (?:the )?training\b|\bduring (?:model )?development\b"),
        (2, r"\b(?:before|prior to) (?:any |the |a |its )?(?:\w+ )?(?:deploy\w*|release|launch\w*)\b|"
            r"\bpre-?deployment\b"),
        (3, r"\b(?:at|upon|when we|with) (?:the )?(?:time of )?(?:deploy\w*|release|launch)\b"),
        (4, r"\b(?:after|following|post-?)\s*(?:\w+ )?(?:deploy\w*|release|launch)\b"),
    ]
]  # fmt: skip
SPEED = [
    (0, re.compile(r"\b(?:immediately|promptly|without delay|as soon as possible|right away)\b", re.I)),
    (1, re.compile(r"\b(?:in a timely (?:manner|fashion)|within a reasonable (?:time|period)|eventually|"
                   r"as soon as (?:practicable|feasible|reasonably)|over time|in due course)\b", re.I)),
]


def _timing(text: str) -> tuple[int, str] | None:
    found = []
    for stage, pattern in TIMING_STAGES:
        match = pattern.search(text)
        if match:
            found.append((stage, match.group(0)))
    return min(found) if found else None


def _speed(text: str) -> tuple[int, str] | None:
    for level, pattern in SPEED:
        match = pattern.search(text)
        if match:
            return level, match.group(0)
    return None


CONSEQUENCE = re.compile(
    r"\b(?:pause|halt|stop|delay|suspend|cease|de-?deploy|withdraw|roll ?back|delete)\w*\b|"
    r"\b(?:will|would|must|shall) not (?:\w+ )?(?:deploy|train|release|scale|continue)\w*\b|"
    r"\bnot (?:be )?(?:deploy|train|release)\w*\b",
    re.I,
)
NON_BINDING = re.compile(
    r"\b(?:outside (?:of )?(?:this|the) (?:\w+ )?(?:framework|policy)|no longer (?:part of|covered|included|"
    r"apply|applies|require|track)\w*|(?:handled|addressed|covered|governed|described|set out) (?:separately|"
    r"elsewhere|in (?:a |our )?(?:separate|other|companion|usage|model spec))\w*|non-binding|"
    r"(?:moving|moved) [^.]{0,60} (?:into|to) (?:research categories|a separate))",
    re.I,
)


# --------------------------------------------------------------------------------------------------------
# Comparing one pair.


# "We run ...", "xAI is exploring ...": a first-person statement of current practice, weaker than "will" but
# more than a hope. Only used when a passage has no modal at all.
PRACTICE = re.compile(r"\bwe\s+(?!may\b|might\b|could\b|should\b|hope\b|aim\b|believe\b|think\b|can\b)"
                      r"(?:\w+ly\s+)?[a-z]+\b|\b(?:is|are)\s+(?:responsible for|\w+ing)\b", re.I)


def _top_modal(text: str) -> tuple[float, str] | None:
    markers = modal_markers(text)
    if markers:
        top = max(markers, key=lambda m: m.strength)
        return top.strength, top.words
    practice = PRACTICE.search(text)
    return (2.0, practice.group(0)) if practice else None


def _modal_reasons(old: str, new: str) -> list[Reason]:
    """Compare the strongest modal of each side; a side without any (an imperative list item, a heading-led
    fragment) gives no evidence either way."""
    old_top, new_top = _top_modal(old), _top_modal(new)
    if old_top is None or new_top is None:
        return []
    (old_strength, old_words), (new_strength, new_words) = old_top, new_top
    if old_strength >= 2.5 and new_strength <= old_strength - 1.0:
        return [Reason("modal_weakened", f"'{old_words}' → '{new_words}'", -1)]
    if new_strength >= 2.5 and old_strength <= new_strength - 1.0:
        return [Reason("modal_strengthened", f"'{old_words}' → '{new_words}'", +1)]
    return []


def _number_reasons(old: str, new: str) -> list[Reason]:
    old_numbers, new_numbers = _numbers(old), _numbers(new)
    old_values = {(n.value, n.unit) for n in old_numbers}
    new_values = {(n.value, n.unit) for n in new_numbers}
    gone = [n for n in old_numbers if (n.value, n.unit) not in new_values]
    came = [n for n in new_numbers if (n.value, n.unit) not in old_values]
    reasons = []
    used: set[int] = set()
    for before in gone:
        # Same unit first; a bare number may be paired with a bare number only.
        partner = next((i for i, n in enumerate(came) if i not in used and n.unit == before.unit), None)
        if partner is None:
            continue
        used.add(partner)
        after = came[partner]
        later = after.value > before.value
        weaker = later != before.floor
        sign = -1 if weaker else +1
        detail = f"'{before.words}' → '{after.words}' ({'weaker' if weaker else 'stricter'} trigger)"
        reasons.append(Reason("threshold_changed", detail, sign))
    unmatched_gone = [n for n in gone if not any(r.detail.startswith(f"'{n.words}'") for r in reasons)]
    unmatched_came = [n for i, n in enumerate(came) if i not in used]
    if unmatched_gone and not unmatched_came and not new_numbers:
        words = ", ".join(f"'{n.words}'" for n in unmatched_gone[:3])
        reasons.append(Reason("threshold_removed", f"no longer states {words}", -1))
    elif unmatched_came and not old_numbers:
        words = ", ".join(f"'{n.words}'" for n in unmatched_came[:3])
        reasons.append(Reason("threshold_added", f"now states {words}", +1))
    return reasons


def _date_reasons(old: str, new: str) -> list[Reason]:
    old_dates, new_dates = _dates(old), _dates(new)
    gone = [d for d in old_dates if d not in new_dates]
    came = [d for d in new_dates if d not in old_dates]
    if not gone or not came:
        return []
    year = re.compile(r"(?:19|20)\d\d")
    later = int(year.search(came[0]).group(0)) > int(year.search(gone[0]).group(0))  # type: ignore[union-attr]
    return [Reason("date_changed", f"'{gone[0]}' → '{came[0]}'" + (" (later)" if later else ""),
                   -1 if later else 0)]  # fmt: skip


def _set_reasons(
    old: dict[str, str], new: dict[str, str], removed_code: str, added_code: str, noun: str
) -> list[Reason]:
    gone = [old[k] for k in old if k not in new]
    came = [new[k] for k in new if k not in old]
    reasons = []
    if gone:
        reasons.append(Reason(removed_code, f"{noun} no longer named: " + ", ".join(f"'{w}'" for w in gone), -1))
    if came:
        reasons.append(Reason(added_code, f"{noun} newly named: " + ", ".join(f"'{w}'" for w in came), +1))
    return reasons


def _escape_reasons(old: str, new: str) -> list[Reason]:
    old_counts, new_counts = _escape_clauses(old), _escape_clauses(new)
    came = [k for k in new_counts if new_counts[k] > old_counts.get(k, 0)]
    gone = [k for k in old_counts if old_counts[k] > new_counts.get(k, 0)]
    reasons = []
    if came:
        words = ", ".join(f"'{_first_match_words(k, new, ESCAPE_CLAUSES)}'" for k in came)
        reasons.append(Reason("escape_clause_added", f"new condition: {words}", -1))
    if gone:
        words = ", ".join(f"'{_first_match_words(k, old, ESCAPE_CLAUSES)}'" for k in gone)
        reasons.append(Reason("escape_clause_removed", f"condition dropped: {words}", +1))
    return reasons


def _scope_reasons(old: str, new: str) -> list[Reason]:
    old_scope, new_scope = _scope(old), _scope(new)
    gone = [k for k in old_scope if k not in new_scope]
    came = [k for k in new_scope if k not in old_scope]
    # A domain folded into its umbrella term ("chemical, biological" → "CBRN") is not a narrowing.
    umbrella = {"chemical", "biological", "radiological", "nuclear"}
    if "CBRN" in came:
        gone = [k for k in gone if k not in umbrella]
    if "CBRN" in gone:
        came = [k for k in came if k not in umbrella]
    if gone and set(came) == {"all models"}:
        came = []
    reasons = []
    if len(gone) > len(came):
        words = ", ".join(f"'{old_scope[k]}'" for k in gone)
        reasons.append(Reason("scope_narrowed", f"no longer covers {words}", -1))
    elif len(came) > len(gone):
        words = ", ".join(f"'{new_scope[k]}'" for k in came)
        reasons.append(Reason("scope_broadened", f"now covers {words}", +1))
    narrow = NARROW_QUANTIFIER.search(new)
    quantifier_narrowed = (
        "all models" in old_scope and "all models" not in new_scope and narrow and not NARROW_QUANTIFIER.search(old)
    )
    if quantifier_narrowed and narrow and not any(r.code == "scope_narrowed" for r in reasons):
        reasons.append(Reason("scope_narrowed", f"'{old_scope['all models']}' → '{narrow.group(0)}'", -1))
    return reasons


def _disclosure_reasons(old: str, new: str) -> list[Reason]:
    old_level, old_words = _disclosure(old)
    new_level, new_words = _disclosure(new)
    if old_level and new_level < old_level:
        after = new_words or "no disclosure"
        return [Reason("disclosure_reduced", f"'{old_words}' → '{after}'", -1)]
    if new_level and new_level > old_level:
        before = old_words or "no disclosure"
        return [Reason("disclosure_increased", f"'{before}' → '{new_words}'", +1)]
    partial = PARTIAL_DISCLOSURE.search(new)
    if old_level and new_level == old_level and partial and not PARTIAL_DISCLOSURE.search(old):
        return [Reason("disclosure_reduced", f"only '{partial.group(0)}' now disclosed", -1)]
    return []


def _timing_reasons(old: str, new: str) -> list[Reason]:
    reasons = []
    old_stage, new_stage = _timing(old), _timing(new)
    if old_stage and new_stage and old_stage[0] != new_stage[0]:
        later = new_stage[0] > old_stage[0]
        code = "timing_later" if later else "timing_earlier"
        reasons.append(Reason(code, f"'{old_stage[1]}' → '{new_stage[1]}'", -1 if later else +1))
    old_speed, new_speed = _speed(old), _speed(new)
    if old_speed and new_speed and old_speed[0] != new_speed[0]:
        later = new_speed[0] > old_speed[0]
        code = "timing_later" if later else "timing_earlier"
        reasons.append(Reason(code, f"'{old_speed[1]}' → '{new_speed[1]}'", -1 if later else +1))
    return reasons


def _consequence_reasons(old: str, new: str) -> list[Reason]:
    old_match, new_match = CONSEQUENCE.search(old), CONSEQUENCE.search(new)
    if old_match and not new_match:
        return [Reason("consequence_removed", f"no longer promises '{old_match.group(0)}'", -1)]
    if new_match and not old_match:
        return [Reason("consequence_added", f"now promises '{new_match.group(0)}'", +1)]
    return []


def _vectorizer(*, content_only: bool = True) -> TfidfVectorizer:
    """Content words only: on the coders' pairs this kept 60% of true counterparts above 0.2 cosine while only
    0.4% of random pairings reached it."""
    return TfidfVectorizer(lowercase=True, stop_words="english" if content_only else None, sublinear_tf=True)


def text_similarity(old: str, new: str) -> float:
    """Cosine of TF-IDF word vectors of two texts: 1 identical, 0 nothing in common. Function words count here
    (unlike in alignment), so "will" → "may" shows as a difference."""
    if not old.strip() or not new.strip():
        return 0.0
    if _norm(old) == _norm(new):
        return 1.0
    try:
        matrix = _vectorizer(content_only=False).fit_transform([old, new])
    except ValueError:  # only stop-words or punctuation
        return 0.0
    return float((matrix[0] @ matrix[1].T).toarray()[0, 0])


def rule_reasons(old: str, new: str) -> list[Reason]:
    """The rule set's reasons for a pair with both sides (the detectors of this module, no model)."""
    reasons: list[Reason] = []
    non_binding = NON_BINDING.search(new)
    if non_binding and not NON_BINDING.search(old):
        reasons.append(Reason("moved_to_non_binding", f"'{non_binding.group(0)}'", -1))
    reasons += _modal_reasons(old, new)
    reasons += _number_reasons(old, new)
    reasons += _date_reasons(old, new)
    reasons += _set_reasons(_third_parties(old), _third_parties(new), "third_party_removed", "third_party_added",
                            "outside party")  # fmt: skip
    reasons += _escape_reasons(old, new)
    reasons += _scope_reasons(old, new)
    reasons += _disclosure_reasons(old, new)
    reasons += _timing_reasons(old, new)
    reasons += _consequence_reasons(old, new)
    return reasons


def rule_comparison(old: str, new: str) -> Comparison:
    """The rule set's verdict before the codebook model (method tfidf-rubric-2): any reason decides. Kept as
    the baseline the evaluation reports beside the model."""
    old, new = old or "", new or ""
    if not old.strip() and not new.strip():
        return Comparison("reworded", [], 1.0, False)
    if not old.strip():
        return Comparison("added", [], 0.0, True)
    if not new.strip():
        return Comparison("removed", [], 0.0, True)
    similarity = text_similarity(old, new)
    if _norm(old) == _norm(new):
        return Comparison("reworded", [], 1.0, False)
    reasons = rule_reasons(old, new)
    return Comparison(_direction(reasons), reasons, round(similarity, 4), bool(reasons))


def compare_passages(old: str, new: str) -> Comparison:
    """Direction of change from one passage to its counterpart, by the coders' codebook
    (`tracker.analysis.direction.judge`): material first, then direction, any weakening winning; each reason in
    plain words with the spans of its trigger words in both texts, and a probability."""
    from tracker.analysis.direction import judge

    judgement = judge(old or "", new or "")
    reasons = [Reason(r.code, r.text, r.sign, r.old_spans, r.new_spans) for r in judgement.reasons]
    return Comparison(judgement.direction, reasons, judgement.similarity, judgement.material,
                      judgement.probability, judgement.weakened_probability)


def _direction(reasons: Sequence[Reason]) -> str:
    """Any weakening reason makes the pair weakened: a commitment can gain in one respect and lose in another, and
    the loss is what a reader must not miss (each reason is listed, so the gain is visible too)."""
    if not reasons:
        return "reworded"
    if any(r.code == "moved_to_non_binding" for r in reasons):
        return "removed"
    if any(r.sign < 0 for r in reasons):
        return "weakened"
    if any(r.sign > 0 for r in reasons):
        return "strengthened"
    return "weakened"


# --------------------------------------------------------------------------------------------------------
# Aligning two versions.


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)} or ({tuple(words)} if words else set())


def _coverage(passage: Passage, other_trigrams: set[tuple[str, ...]]) -> float:
    """Share of a passage's word trigrams found anywhere in the other version."""
    grams = _trigrams(passage.text)
    return len(grams & other_trigrams) / len(grams) if grams else 1.0


def align_passages(
    old: Sequence[Passage], new: Sequence[Passage], *, min_similarity: float = ALIGN_MIN_SIMILARITY
) -> list[tuple[Passage | None, Passage | None, float]]:
    """Match old passages to new ones, wherever they moved; unmatched ones come back paired with None.

    Identical texts pair first; the rest are paired by an optimal one-to-one assignment on TF-IDF cosine
    (Hungarian, `scipy.optimize.linear_sum_assignment`), so a reworded commitment in another section still finds
    its counterpart and two similar passages cannot both claim the same one. Result in new-document order, with
    removed passages after the counterpart of their predecessor.
    """
    pairs: list[tuple[Passage | None, Passage | None, float]] = []
    new_by_text: dict[str, list[Passage]] = {}
    for passage in new:
        new_by_text.setdefault(_norm(passage.text), []).append(passage)
    old_left: list[Passage] = []
    used_new: set[int] = set()
    for passage in old:
        same = new_by_text.get(_norm(passage.text))
        if same:
            match = same.pop(0)
            used_new.add(match.index)
            pairs.append((passage, match, 1.0))
        else:
            old_left.append(passage)
    new_left = [p for p in new if p.index not in used_new]
    matched_old: set[int] = set()
    matched_new: set[int] = set()
    if old_left and new_left:
        vectorizer = _vectorizer()
        try:
            matrix = vectorizer.fit_transform([p.text for p in old_left] + [p.text for p in new_left])
            sims = (matrix[: len(old_left)] @ matrix[len(old_left) :].T).toarray()
        except ValueError:  # nothing but stop-words
            sims = np.zeros((len(old_left), len(new_left)))
        rows, cols = linear_sum_assignment(-sims)
        for r, c in zip(rows, cols, strict=True):
            if sims[r, c] >= min_similarity:
                pairs.append((old_left[r], new_left[c], round(float(sims[r, c]), 4)))
                matched_old.add(r)
                matched_new.add(c)
    pairs += [(p, None, 0.0) for i, p in enumerate(old_left) if i not in matched_old]
    pairs += [(None, p, 0.0) for i, p in enumerate(new_left) if i not in matched_new]

    def order(pair: tuple[Passage | None, Passage | None, float]) -> tuple[int, int]:
        old_p, new_p, _ = pair
        if new_p is not None:
            return new_p.start, 0
        assert old_p is not None
        # Place a removed passage after the new counterpart of the closest preceding old passage.
        anchor = max((n.start for o, n, _ in pairs if o is not None and n is not None and o.start < old_p.start),
                     default=-1)  # fmt: skip
        return anchor, 1 + old_p.index

    return sorted(pairs, key=order)


# --------------------------------------------------------------------------------------------------------
# Changelogs and announcement.

CHANGELOG_HEADING = re.compile(
    r"\b(?:change ?logs?|version history|revision history|document history|summary of (?:key )?changes|"
    r"(?:key |major |notable )?changes (?:from|since|in|to) (?:the )?(?:previous|prior|this|last)|"
    r"past updates|release notes|what'?s new|updates (?:from|since) (?:the )?(?:previous|prior|last))\b",
    re.I,
)
HEADING_LINE = re.compile(r"^#{1,6}\s+(.*\S)\s*$", re.M)
# A heading inside a changelog names a version or a date, not a new part of the document.
ENTRY_HEADING = re.compile(rf"\b(?:v(?:ersion)?\s*\d|rsp|(?:19|20)\d\d|{MONTHS})\b|^[A-Z]$", re.I)
STOP = ENGLISH_STOP_WORDS | {"will", "shall", "must", "may", "might", "could", "should", "also", "new"}


def _changelog_spans(text: str) -> list[tuple[int, int]]:
    """Every heading that names a changelog, with its extent (following version or date headings included)."""
    headings = list(HEADING_LINE.finditer(text))
    spans = []
    for i, heading in enumerate(headings):
        if not CHANGELOG_HEADING.search(heading.group(1)):
            continue
        end = len(text)
        for later in headings[i + 1 :]:
            if not ENTRY_HEADING.search(later.group(1)) and not CHANGELOG_HEADING.search(later.group(1)):
                end = later.start()
                break
        spans.append((heading.start(), end))
    return spans


def _has_entries(body: str) -> bool:
    # A heading with (almost) nothing under it is a table-of-contents line, not a changelog.
    return len(_words(HEADING_LINE.sub("", body))) >= 5


def _changelog_span(text: str) -> tuple[int, int] | None:
    # A table of contents names the changelog too (with its version headings); the changelog itself says most.
    spans = [span for span in _changelog_spans(text) if _has_entries(text[span[0] : span[1]])]
    return max(spans, key=lambda span: len(_words(text[span[0] : span[1]])), default=None)


def find_changelog(text: str) -> str | None:
    """The new version's changelog, version history or summary of changes (heading and entries), if it has one."""
    span = _changelog_span(text)
    return text[span[0] : span[1]].strip() if span else None


def _content_words(text: str) -> set[str]:
    return {w for w in _words(text) if len(w) > 2 and w not in STOP and not w.isdigit()}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _changelog_entries(changelog: str) -> list[str]:
    body = HEADING_LINE.sub("\n\n", changelog)
    entries = [e for e in re.split(r"\n\s*\n|\n\s*(?=[●○•▪\-*]|\d{1,2}[.)]\s)", body) if _words(e)]
    return [_norm(e) for e in entries]


def is_announced(change: DetectedChange, changelog: str | None, *, common_words: frozenset[str] = frozenset()) -> str:
    """`announced` / `partly` / `silent` / `no-changelog`: does some changelog entry talk about this change?

    The change's distinctive words are those of the changed passage that its counterpart lacks (all its words
    for an added or removed passage), less `common_words` (words found all over the document, such as "model"
    or "risk", which any changelog mentions), plus its section name. An entry sharing at least three of them and
    a fifth of them announces it; one sharing two and a tenth, or one plus the section name, announces it partly.
    """
    if not changelog:
        return "no-changelog"
    old_words = _content_words(change.old.text) if change.old else set()
    new_words = _content_words(change.new.text) if change.new else set()
    distinctive = (old_words ^ new_words) if old_words and new_words else (old_words | new_words)
    distinctive_stems = {_stem(w) for w in distinctive if w not in common_words}
    section = (change.new or change.old).section if (change.new or change.old) else ""
    section_stems = {_stem(w) for w in _content_words(section) if w not in common_words}
    best = 0
    section_named = False
    for entry in _changelog_entries(changelog):
        entry_stems = {_stem(w) for w in _content_words(entry)}
        best = max(best, len(distinctive_stems & entry_stems))
        if section_stems and len(section_stems & entry_stems) >= max(1, (len(section_stems) + 1) // 2):
            section_named = True
    if best >= 3 and best >= len(distinctive_stems) / 5:
        return "announced"
    if (best >= 2 and best >= len(distinctive_stems) / 10) or (section_named and best >= 1):
        return "partly"
    return "silent"


# --------------------------------------------------------------------------------------------------------
# Whole documents.


def _common_words(passages: Sequence[Passage], share: float = 0.05) -> frozenset[str]:
    """Words in more than `share` of the passages: too common to tie a changelog entry to one change."""
    counts: Counter[str] = Counter()
    for passage in passages:
        counts.update(_content_words(passage.text))
    limit = max(2, share * len(passages))
    return frozenset(w for w, n in counts.items() if n > limit)


def _outside(passages: Sequence[Passage], span: tuple[int, int] | None) -> list[Passage]:
    if span is None:
        return list(passages)
    return [p for p in passages if p.end <= span[0] or p.start >= span[1]]


def detect_changes(
    old_text: str, new_text: str, *, classify: Callable[[str], list[str]] | None = None
) -> list[DetectedChange]:
    """Changed commitment passages between two versions, in new-document order.

    All passages are aligned (so a moved description is not mistaken for an added one), then only pairs where
    either side commits its author are kept; identical pairs are not changes. The changelogs themselves are left
    out of the comparison: they describe changes, they do not make them.
    """
    old_passages = _outside(split_passages(old_text), _changelog_span(old_text))
    new_passages = _outside(split_passages(new_text), _changelog_span(new_text))
    changelog = find_changelog(new_text)
    common = _common_words([*old_passages, *new_passages])
    old_grams = _trigrams(" ".join(p.text for p in old_passages))
    new_grams = _trigrams(" ".join(p.text for p in new_passages))
    changes = []
    for old, new, similarity in align_passages(old_passages, new_passages):
        if old is not None and new is not None and _norm(old.text) == _norm(new.text):
            continue
        if not any(p is not None and is_commitment(p.text) for p in (old, new)):
            continue
        # A passage only re-split (its words are all still there) is neither added nor removed.
        if new is None and old is not None and _coverage(old, new_grams) >= CARRIED_COVERAGE:
            continue
        if old is None and new is not None and _coverage(new, old_grams) >= CARRIED_COVERAGE:
            continue
        comparison = compare_passages(old.text if old else "", new.text if new else "")
        found = [DetectedChange(comparison.direction, comparison.reasons, old, new, similarity,
                                probability=comparison.probability,
                                weakened_probability=comparison.weakened_probability)]
        if (old is not None and new is not None and comparison.direction == "removed"
                and not any(r.code == "moved_to_non_binding" for r in comparison.reasons)):
            # Too dissimilar to be the same commitment: the old one was removed and the new one added.
            found = [DetectedChange("removed", [], old, None, 0.0, probability=comparison.probability,
                                    weakened_probability=comparison.weakened_probability),
                     DetectedChange("added", [], None, new, 0.0)]
        for change in found:
            change.announced = is_announced(change, changelog, common_words=common)
            if classify is not None:
                change.commitments = list(classify((change.new or change.old).text))  # type: ignore[union-attr]
            changes.append(change)
    return changes


# --------------------------------------------------------------------------------------------------------
# Terminal report.

REPORT_ORDER = {"weakened": 0, "removed": 1, "added": 2, "strengthened": 3, "reworded": 4}


def _wrap(text: str, indent: str, width: int = 100) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def render_diff_report(
    old_text: str,
    new_text: str,
    changes: Sequence[DetectedChange],
    *,
    old_label: str = "old",
    new_label: str = "new",
) -> str:
    """Plain-text report of the changes: weakened and removed first, each with both quotes and its reasons."""
    counts = Counter(c.direction for c in changes)
    silent = sum(1 for c in changes if c.direction in ("weakened", "removed") and c.announced == "silent")
    changelog = find_changelog(new_text)
    lines = [
        f"Changes from {old_label} to {new_label}",
        "=" * min(100, len(f"Changes from {old_label} to {new_label}")),
        "  ".join(f"{d}: {counts.get(d, 0)}" for d in sorted(REPORT_ORDER, key=REPORT_ORDER.get)),  # type: ignore[arg-type]
        f"changelog in {new_label}: " + ("yes" if changelog else "none found")
        + (f"; weakened or removed and not mentioned in it: {silent}" if changelog else ""),
        "",
    ]  # fmt: skip
    # Weakened and removed first, the likeliest first within each direction (the review queue's order).
    ordered = sorted(changes, key=lambda c: (REPORT_ORDER.get(c.direction, 9), -c.probability,
                                             (c.new or c.old).start))  # type: ignore[union-attr]
    for number, change in enumerate(ordered, 1):
        where_old = change.old.section if change.old else ""
        where_new = change.new.section if change.new else ""
        section = where_new or where_old or "(no section)"
        if where_old and where_new and where_old != where_new:
            section = f"{where_old} → {where_new}"
        lines.append(f"[{number}] {change.direction.upper()}  p={change.probability:.2f}  ({change.announced})  "
                     f"section: {section}")
        if change.commitments:
            lines.append(f"    commitments: {', '.join(change.commitments)}")
        if change.old is not None:
            lines.append(_wrap(f"- {old_label}: “{change.old.text}”", "    "))
        if change.new is not None:
            lines.append(_wrap(f"+ {new_label}: “{change.new.text}”", "    "))
        for reason in change.reasons:
            lines.append(f"    because {reason.code}: {reason.detail}")
        if change.old is not None and change.new is not None:
            lines.append(f"    similarity {change.similarity:.2f}")
        lines.append("")
    if not changes:
        lines.append("No commitment passage changed.")
    return "\n".join(lines).rstrip() + "\n"
