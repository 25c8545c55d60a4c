"""Commitment language: how strongly a passage binds its author.

Shared by mapping (a passage that commits weighs more than one that describes the world) and change analysis
(modal strength dropping from "will" to "may" is a weakening).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Strength of a modal construction on a 0..3 scale: 3 binding, 2 intended, 1 aspirational, 0 permissive.
MODAL_PATTERNS: list[tuple[float, str, re.Pattern[str]]] = [
    (3.0, "must", re.compile(r"\b(?:must|shall|are required to|is required to|will always)\b", re.I)),
    (3.0, "commit", re.compile(r"\b(?:we|i|company|organi[sz]ation)\s+(?:\w+\s+)?commits?\s+to\b", re.I)),
    (3.0, "will not", re.compile(r"\b(?:will not|won't|shall not|must not|never)\b", re.I)),
    (2.5, "will", re.compile(r"\bwe(?:\s+\w+)?\s+will\b|\bwill\s+(?:be|not|only|first|conduct|require|"
                             r"implement|publish|share|notify|pause|halt|stop|apply|assess|evaluate|test|"
                             r"review|update|report|ensure|maintain|define|establish)\b", re.I)),
    (2.0, "expect", re.compile(r"\b(?:expect to|plan to|intend to|are designed to|is designed to)\b", re.I)),
    (1.5, "should", re.compile(r"\bshould\b", re.I)),
    (1.0, "aim", re.compile(r"\b(?:aim to|aims to|strive to|seek to|seeks to|endeavou?r to|hope to|"
                            r"where (?:possible|feasible|appropriate)|as appropriate|to the extent)\b", re.I)),
    (0.5, "may", re.compile(r"\b(?:may|might|could|can choose to|at our discretion)\b", re.I)),
]

FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b", re.I)


@dataclass(frozen=True)
class ModalProfile:
    """The strongest and weakest modal found, and which words they were."""

    strongest: float
    weakest: float
    markers: tuple[str, ...]

    @property
    def commits(self) -> bool:
        return self.strongest >= 2.5


@functools.lru_cache(maxsize=8192)
def modal_profile(text: str) -> ModalProfile:
    """Scan a passage for modal constructions; no modal at all gives strength 0."""
    found = [(strength, name) for strength, name, pattern in MODAL_PATTERNS if pattern.search(text)]
    if not found:
        return ModalProfile(0.0, 0.0, ())
    strengths = [s for s, _ in found]
    return ModalProfile(max(strengths), min(strengths), tuple(name for _, name in found))


@dataclass(frozen=True)
class ModalMarker:
    """One modal construction found in a text: its strength, bucket name and the exact words."""

    strength: float
    name: str
    words: str
    start: int


def modal_markers(text: str) -> list[ModalMarker]:
    """Every modal construction in the text, in reading order, so a change report can quote the words."""
    found = [
        ModalMarker(strength, name, match.group(0), match.start())
        for strength, name, pattern in MODAL_PATTERNS
        for match in pattern.finditer(text)
    ]
    return sorted(found, key=lambda marker: (marker.start, -marker.strength))


def commitment_strength(text: str) -> float:
    """0..1: how much a passage reads as the author's own commitment rather than a description."""
    profile = modal_profile(text)
    score = profile.strongest / 3.0
    if FIRST_PERSON.search(text):
        score = min(1.0, score + 0.1)
    return round(score, 3)


def is_commitment(text: str) -> bool:
    """True when the passage binds its author ("we will", "we must", "we commit to")."""
    return modal_profile(text).commits
