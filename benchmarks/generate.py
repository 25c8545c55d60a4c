"""Synthetic data at scale: N companies × M commitments × T years of weekly versions and assessments.

Why: the as-of query, the pages and the exports must stay fast with years of history, and a benchmark needs a
database of a known shape to measure that. Everything is deterministic for a given seed. Rows go in with
SQLAlchemy Core multi-row inserts in batches (one statement per batch, types still processed), with explicit
ids so versions can chain and assessments can point at the version they rest on; PostgreSQL sequences are
moved past them afterwards.

Shape (defaults are realistic, not worst case):
- M commitments in frameworks of `commitments_per_framework` (default 10, the size of real ones: 3 to 11):
  `bench-01/C001..C010`, `bench-02/C011..`; every company signs every framework at the start;
- per company one framework source and one DocumentVersion per week (a short synthetic text, unique per
  week, so full-text search has something to find);
- per (company, commitment) an initial assessment, then on average `changes_per_year` level changes at random
  weeks; about 5% of changes also get a reviewed row on the same `valid_from` (exercises the tie-break);
- one Evidence row per assessment at level >= 1 (the quote the pages show);
- one AssessmentSpan per assessment (the as-of index), written by `tracker.store.spans.refresh_spans`.

Run alone: python benchmarks/generate.py sqlite:////tmp/bench.db --companies 100 --commitments 20 --years 2
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.store import models as m
from tracker.store.spans import refresh_spans

FRAMEWORK_PREFIX = "bench-"
START = date(2021, 1, 4)  # a Monday; week w starts START + 7w
BATCH = 2000
TOPICS = 2000  # each version names one topic word: a query for one matches ~1 in 2000 versions
WORD_LIST = """model capability threshold evaluation safeguards deployment security weights risk will must may board
review publish external experts pause training governance mitigation misuse cyber biological red team incident
reporting transparency watermark provenance audit compute disclosure staging rollback monitoring"""
WORDS = WORD_LIST.split()


@dataclass
class GeneratedCounts:
    """Rows written per table and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def company_id(n: int) -> str:
    return f"bench-co{n:04d}"


def framework_id(f: int) -> str:
    return f"{FRAMEWORK_PREFIX}{f:02d}"


def commitment_id(k: int, per_framework: int = 10) -> str:
    """Commitments are numbered across frameworks: C001..C010 in bench-01, C011..C020 in bench-02, ..."""
    return f"{framework_id((k - 1) // per_framework + 1)}/C{k:03d}"


def source_id(n: int) -> str:
    return f"{company_id(n)}-framework"


def week_date(week: int) -> date:
    return START + timedelta(weeks=week)


def _aware(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _version_text(rng: random.Random, company: int, week: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(40))
    return (f"## Frontier safety policy of company {company}\n\nVersion {week + 1}. We will {words}.\n\n"
            f"Topic topic{rng.randrange(TOPICS):04d}. Revision note w{week:04d}c{company:04d}.")


def _insert(connection: sa.Connection, table: sa.Table, rows: Iterator[dict], counts: GeneratedCounts) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(sa.insert(table), batch)
            counts.rows[table.name] = counts.rows.get(table.name, 0) + len(batch)
            batch = []
    if batch:
        connection.execute(sa.insert(table), batch)
        counts.rows[table.name] = counts.rows.get(table.name, 0) + len(batch)


def generate(
    engine: Engine,
    companies: int = 1000,
    commitments: int = 100,
    years: int = 5,
    seed: int = 42,
    *,
    changes_per_year: float = 2.0,
    commitments_per_framework: int = 10,
    text: bool = True,
) -> GeneratedCounts:
    """Fill a migrated (empty or catalog-only) database with the synthetic framework and its history."""
    if companies < 1 or commitments < 1 or years < 1:
        raise ValueError("companies, commitments and years must each be at least 1")
    started = time.perf_counter()
    rng = random.Random(seed)
    per = max(1, commitments_per_framework)
    frameworks = (commitments + per - 1) // per

    def framework_of(k: int) -> int:
        return (k - 1) // per + 1

    weeks = 52 * years
    counts = GeneratedCounts()
    with engine.begin() as connection:
        first_version = (connection.scalar(sa.select(sa.func.max(m.DocumentVersion.id))) or 0) + 1
        first_assessment = (connection.scalar(sa.select(sa.func.max(m.Assessment.id))) or 0) + 1
        first_evidence = (connection.scalar(sa.select(sa.func.max(m.Evidence.id))) or 0) + 1
        _insert(connection, m.Framework.__table__, ({
            "id": framework_id(f), "name": f"Synthetic benchmark framework {f}", "short_name": f"Bench {f}",
            "announced": START, "publisher": "benchmarks/generate.py", "source_url": "https://example.org/bench",
            "description": "Synthetic data for benchmarks.", "preamble": [], "groups": [],
            # A deadline in the first year, as real frameworks have one: the overview's headline counts it.
            "deadlines": [{"id": "bench-summit", "date": (START + timedelta(weeks=26)).isoformat(),
                           "label": "the synthetic summit"}],
        } for f in range(1, frameworks + 1)), counts)
        _insert(connection, m.Commitment.__table__, ({
            "id": commitment_id(k, per), "framework_id": framework_id(framework_of(k)), "number": f"C{k:03d}",
            "position": k,
            "title": f"Synthetic commitment {k}", "text": f"Signatories will do thing {k}.",
            "source_url": "https://example.org/bench", "text_confirmed": True, "title_official": False,
            "detail_text_confirmed": False,
        } for k in range(1, commitments + 1)), counts)
        _insert(connection, m.Company.__table__, ({
            "id": company_id(n), "name": f"Bench Company {n:04d}", "aliases": [], "country": "US",
            "group": "frontier-lab" if n % 4 else "other", "haip": {},
        } for n in range(1, companies + 1)), counts)
        _insert(connection, m.Signature.__table__, ({
            "company_id": company_id(n), "framework_id": framework_id(f), "signed_on": START,
            "date_precision": "exact", "date_confidence": "C", "source_url": "https://example.org/bench",
        } for n in range(1, companies + 1) for f in range(1, frameworks + 1)), counts)
        _insert(connection, m.Source.__table__, ({
            "id": source_id(n), "company_id": company_id(n), "title": f"Frontier safety policy {n:04d}",
            "kind": "framework", "format": "html", "adapter": "document",
            "url": f"https://bench.invalid/co{n:04d}/policy", "known_versions": [],
            "frameworks": [framework_id(f) for f in range(1, frameworks + 1)],
            "active": True, "fetchable": False,  # never fetched by a real refresh
        } for n in range(1, companies + 1)), counts)

        def version_id(company: int, week: int) -> int:
            return first_version + (company - 1) * weeks + week

        def versions() -> Iterator[dict]:
            for n in range(1, companies + 1):
                for w in range(weeks):
                    body = _version_text(rng, n, w) if text else f"w{w}c{n}"
                    sha = hashlib.sha256(body.encode()).hexdigest()
                    yield {
                        "id": version_id(n, w), "source_id": source_id(n), "fetched_at": _aware(week_date(w)),
                        "url": f"https://bench.invalid/co{n:04d}/policy", "origin": "fetched", "raw_sha256": sha,
                        "text_sha256": sha, "format": "html", "char_count": len(body),
                        "text": body if text else None, "sections": [], "published_on": week_date(w),
                        "silent_reupload": False, "previous_version_id": version_id(n, w - 1) if w else None,
                        "mapped_levels": {},
                    }

        _insert(connection, m.DocumentVersion.__table__, versions(), counts)

        assessments: list[dict] = []
        evidence: list[dict] = []
        next_assessment, next_evidence = first_assessment, first_evidence

        def add(n: int, k: int, week: int, level: int, basis: str) -> None:
            nonlocal next_assessment, next_evidence
            day = week_date(week)
            version = version_id(n, week)
            assessments.append({
                "id": next_assessment, "company_id": company_id(n), "commitment_id": commitment_id(k, per),
                "level": level, "basis": basis, "valid_from": day, "recorded_at": _aware(day, 7 if basis ==
                "automatic" else 12), "assessor": "tracker" if basis == "automatic" else "reviewer",
                "rationale": "", "confidence": 0.7, "version_id": version, "method": "bench",
                "origin": "pipeline" if basis == "automatic" else "review",
            })
            next_assessment += 1
            if level >= 1:
                evidence.append({
                    "id": next_evidence, "version_id": version, "commitment_id": commitment_id(k, per),
                    "indicator_id": f"C{k:03d}-a", "section": "Policy", "quote": f"We will do thing {k}.",
                    "score": 0.5 + level / 10, "commits": True, "method": "bench",
                })
                next_evidence += 1

        table_a, table_e = m.Assessment.__table__, m.Evidence.__table__
        for n in range(1, companies + 1):
            for k in range(1, commitments + 1):
                level = rng.randint(0, 3)
                add(n, k, 0, level, "automatic")
                changes = _poisson(rng, changes_per_year * years)
                change_weeks = sorted({rng.randrange(1, weeks) for _ in range(changes)})
                for w in change_weeks:
                    level = min(3, max(0, level + rng.choice((-1, 1, 1))))
                    add(n, k, w, level, "automatic")
                    if rng.random() < 0.05:  # a reviewer corrects it the same day: must outrank the automatic row
                        add(n, k, w, min(3, level + 1), "reviewed")
            if len(assessments) >= BATCH * 10:
                _insert(connection, table_a, iter(assessments), counts)
                _insert(connection, table_e, iter(evidence), counts)
                assessments.clear()
                evidence.clear()
        _insert(connection, table_a, iter(assessments), counts)
        _insert(connection, table_e, iter(evidence), counts)
        refresh_spans(connection, [company_id(n) for n in range(1, companies + 1)])  # Core inserts: spans by hand
        counts.rows["assessmentspan"] = connection.scalar(sa.select(sa.func.count()).select_from(m.AssessmentSpan))
        if connection.dialect.name == "postgresql":
            for table in ("documentversion", "assessment", "evidence", "signature"):
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    counts.seconds = time.perf_counter() - started
    return counts


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    threshold, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def main() -> int:
    from tracker.core.db import get_engine, migrate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="database URL (a fresh database: it is migrated first)")
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--commitments", type=int, default=100)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-framework", type=int, default=10, help="commitments per synthetic framework")
    args = parser.parse_args()
    engine = get_engine(args.url)
    migrate(engine)
    counts = generate(engine, args.companies, args.commitments, args.years, args.seed,
                      commitments_per_framework=args.per_framework)
    for table, n in counts.rows.items():
        print(f"{table:<20}{n:>12,}")
    print(f"{'total':<20}{counts.total:>12,}  in {counts.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
