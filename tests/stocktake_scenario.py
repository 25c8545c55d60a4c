"""A small, fully synthetic world for the stocktake, export and feed tests (no shipped catalog needed).

Framework `fw-test` (I, II, III; deadline 2025-02-10), signatories alpha, beta, gamma (delta signs after the
as-of date). The numbers the tests expect are worked out in the comments next to each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from tests.factories import add_assessment, add_change, add_evidence, add_version
from tracker.store import models as m

FRAMEWORK = "fw-test"
SINCE = date(2025, 2, 10)
AS_OF = date(2025, 12, 31)
URL = "https://example.org/fw-test"
HOSTILE_QUOTE = 'We may pause <script>alert("x")</script> & =HYPERLINK("http://evil") ]]> **bold**'


@dataclass
class Scenario:
    versions: dict[str, m.DocumentVersion]
    changes: dict[str, m.ChangeEvent]


def _catalog(session: Session) -> None:
    session.add(m.Framework(
        id=FRAMEWORK, name="Test Frontier Commitments", short_name="Test", announced=date(2024, 5, 21),
        source_url=URL, licence="Open Government Licence v3.0", attribution="Contains public sector information.",
        deadlines=[{"id": "paris", "date": "2025-02-10", "label": "Publish a safety framework by Paris",
                    "source_url": URL}],
    ))
    session.flush()  # no ORM relationships, so the flush order must follow the foreign keys by hand
    for position, (number, title) in enumerate([("I", "Assess risks"), ("II", "Set thresholds"),
                                                ("III", "Mitigate")], start=1):
        session.add(m.Commitment(id=f"{FRAMEWORK}/{number}", framework_id=FRAMEWORK, number=number,
                                 position=position, title=title, text=f"Text of {number}.", source_url=URL))
    for company_id, name, signed in [("alpha", "Alpha AI", date(2024, 5, 21)), ("beta", "Beta Labs", date(2024, 5, 21)),
                                     ("gamma", "Gamma <Corp>", date(2024, 12, 1)),
                                     ("delta", "Delta", date(2026, 1, 15))]:
        session.add(m.Company(id=company_id, name=name, country="US"))
        session.flush()
        session.add(m.Signature(company_id=company_id, framework_id=FRAMEWORK, signed_on=signed, source_url=URL))
    for source_id, company_id, kind in [("alpha-fw", "alpha", "framework"), ("alpha-hub", "alpha", "transparency-hub"),
                                        ("beta-fw", "beta", "framework"), ("gamma-fw", "gamma", "framework")]:
        session.add(m.Source(id=source_id, company_id=company_id, title=f"{company_id} {kind}", kind=kind,
                             format="pdf", url=f"https://{company_id}.example.com/{kind}.pdf",
                             frameworks=[FRAMEWORK]))
    session.flush()


def build(session: Session) -> Scenario:
    _catalog(session)
    a1 = add_version(session, "alpha-fw", "We will assess risks. We will set thresholds.",
                     published_on=date(2024, 10, 1), version_label="1.0",
                     fetched_at=datetime(2024, 10, 2, 9, 0, tzinfo=UTC))
    a2 = add_version(session, "alpha-fw", "We will always assess risks. " + HOSTILE_QUOTE,
                     published_on=date(2025, 6, 1), version_label="2.0", previous=a1,
                     fetched_at=datetime(2025, 6, 2, 9, 0, tzinfo=UTC))
    a3 = add_version(session, "alpha-fw", "Risks may be assessed.", published_on=date(2026, 3, 1),
                     version_label="3.0", previous=a2, fetched_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    b1 = add_version(session, "beta-fw", "Beta sets thresholds for severe risks. Beta assesses risks.",
                     published_on=date(2025, 4, 1), fetched_at=datetime(2025, 4, 3, 9, 0, tzinfo=UTC))
    hub = add_version(session, "alpha-hub", "Hub page.", fetched_at=datetime(2024, 11, 5, 9, 0, tzinfo=UTC))

    add_evidence(session, a1, f"{FRAMEWORK}/I", "We will assess risks.")
    add_evidence(session, a2, f"{FRAMEWORK}/I", "We will always assess risks.", score=0.9)
    add_evidence(session, a2, f"{FRAMEWORK}/I", "always", score=0.2, commits=False)  # weaker: not the citation
    add_evidence(session, a2, f"{FRAMEWORK}/II", HOSTILE_QUOTE)
    add_evidence(session, b1, f"{FRAMEWORK}/II", "Beta sets thresholds for severe risks.")
    add_evidence(session, b1, f"{FRAMEWORK}/I", "Beta assesses risks.")

    # alpha I: 1 -> 3 inside the window (up); a later 0 (2026) must not show as of AS_OF.
    add_assessment(session, "alpha", f"{FRAMEWORK}/I", 1, date(2024, 10, 1), version=a1)
    add_assessment(session, "alpha", f"{FRAMEWORK}/I", 3, date(2025, 6, 1), version=a2)
    add_assessment(session, "alpha", f"{FRAMEWORK}/I", 0, date(2026, 3, 1), version=a3)
    # alpha II: 2 -> 1 (down); alpha III: 0 all along.
    add_assessment(session, "alpha", f"{FRAMEWORK}/II", 2, date(2024, 10, 1), version=a1)
    add_assessment(session, "alpha", f"{FRAMEWORK}/II", 1, date(2025, 6, 1), version=a2)
    add_assessment(session, "alpha", f"{FRAMEWORK}/III", 0, date(2024, 10, 1), version=a1)
    # beta II: first assessed in the window (new); beta I: reviewed, no version of its own (cited via evidence).
    add_assessment(session, "beta", f"{FRAMEWORK}/II", 2, date(2025, 4, 1), version=b1)
    add_assessment(session, "beta", f"{FRAMEWORK}/I", 1, date(2025, 5, 1), basis="reviewed",
                   rationale="Reviewer: mentions risk assessment only.")
    # gamma III: not applicable.
    add_assessment(session, "gamma", f"{FRAMEWORK}/III", None, date(2025, 3, 1), basis="reviewed")

    changes = {
        "weakened": add_change(session, a1, a2, "weakened", old_quote="We will set thresholds.",
                               new_quote=HOSTILE_QUOTE, commitments=[f"{FRAMEWORK}/II"],
                               reasons=[{"code": "modal_weakened", "detail": "'will' → 'may'"}]),
        "strengthened": add_change(session, a1, a2, "strengthened", old_quote="We will assess risks.",
                                   new_quote="We will always assess risks.", commitments=[f"{FRAMEWORK}/I"]),
        "reworded": add_change(session, a1, a2, "reworded", old_quote="x", new_quote="y",
                               commitments=[f"{FRAMEWORK}/I"]),
        "later": add_change(session, a2, a3, "weakened", old_quote="We will always assess risks.",
                            new_quote="Risks may be assessed.", commitments=[f"{FRAMEWORK}/I"]),
    }
    for change, detected in zip(changes.values(), [datetime(2025, 6, 2, 10, tzinfo=UTC)] * 3
                                + [datetime(2026, 3, 2, 10, tzinfo=UTC)], strict=True):
        change.detected_at = detected
    session.flush()
    return Scenario(versions={"a1": a1, "a2": a2, "a3": a3, "b1": b1, "hub": hub}, changes=changes)
