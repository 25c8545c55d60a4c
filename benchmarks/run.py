"""All benchmarks in one command, each against a naive baseline measured in the same run, printed as a table.

    python benchmarks/run.py [--scale small|full] [--backend sqlite|postgresql|both] [--repeat 5]

`full` is 1,000 companies × 100 commitments (frameworks of 10) × 5 years of weekly versions; `small` is
100 × 20 × 2. The generated database is kept (SQLite file in --workdir, PostgreSQL database `ct_bench_<scale>`)
and reused while its shape matches; --fresh rebuilds it. PostgreSQL is reached at --postgres-url (default
$TRACKER_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from unittest import mock

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import baselines
from benchmarks.generate import START, commitment_id, company_id, framework_id, generate
from tracker.core.db import get_engine, migrate
from tracker.publish import stocktake
from tracker.read import queries
from tracker.read.asof import latest_assessments, levels_in_force
from tracker.store import models as m

SCALES = {"small": (100, 20, 2), "full": (1000, 100, 5)}
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SHAPE_KEY = "benchmark_shape"


@dataclass
class Row:
    name: str
    backend: str
    ours_ms: float | None  # None: the benchmark failed (the note says why)
    baseline_ms: float | None
    note: str = ""

    @property
    def ratio(self) -> str:
        return f"{self.baseline_ms / self.ours_ms:.1f}x" if self.baseline_ms and self.ours_ms else "—"


def median_ms(fn: Callable[[int], object], repeat: int) -> float:
    """Median wall time of fn(i) for i in 0..repeat-1, after one untimed warm-up call."""
    fn(repeat)
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def dates(years: int) -> list[date]:
    """As-of dates spread over the whole history (and one after it): 'as of any date'."""
    end = START.toordinal() + 52 * 7 * years
    return [date.fromordinal(START.toordinal() + (end - START.toordinal()) * k // 6) for k in range(1, 8)]


# ------------------------------------------------------------------------------------------------- databases


def _database(backend: str, scale: str, workdir: Path, postgres_url: str, fresh: bool) -> tuple[Engine, str]:
    companies, commitments, years = SCALES[scale]
    shape = f"{companies}x{commitments}x{years}:seed42:v2"  # bump when generate.py changes its output
    if backend == "sqlite":
        path = workdir / f"ct-bench-{scale}.db"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        name = f"ct_bench_{scale}"
        with admin.connect() as connection:
            if fresh:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    engine = get_engine(url)
    migrate(engine)
    with Session(engine) as session:
        state = session.get(m.CatalogState, SHAPE_KEY)
        if state is not None and state.value == shape:
            return engine, "reused"
        if session.scalar(sa.select(sa.func.count()).select_from(m.Assessment)):
            raise SystemExit(f"{url} holds other data; run with --fresh to rebuild it")
    counts = generate(engine, companies, commitments, years)
    with Session(engine) as session:
        session.add(m.CatalogState(key=SHAPE_KEY, value=shape))
        session.commit()
    return engine, f"generated {counts.total:,} rows in {counts.seconds:.0f} s ({counts.rows.get('assessment', 0):,} " \
                   f"assessments, {counts.rows.get('documentversion', 0):,} versions)"


# ------------------------------------------------------------------------------------------------ benchmarks


def bench_database(engine: Engine, scale: str, repeat: int) -> list[Row]:
    companies, commitments, years = SCALES[scale]
    backend = engine.dialect.name
    when = dates(years)
    framework = framework_id(1)
    rows: list[Row] = []
    with Session(engine) as session:
        def pick(i: int) -> date:
            return when[i % len(when)]

        ours = median_ms(lambda i: levels_in_force(session, pick(i), framework_id=framework), repeat)
        base = median_ms(lambda i: baselines.replay_latest_assessments(session, pick(i), framework_id=framework),
                         repeat)
        rows.append(Row("as-of query, one framework", backend, ours, base,
                        f"{companies * 10:,} cells (levels_in_force); baseline: replay all rows in Python"))
        ours = median_ms(lambda i: latest_assessments(session, pick(i), framework_id=framework), repeat)
        rows.append(Row("as-of, whole assessment rows", backend, ours, base,
                        "latest_assessments: + rationale, confidence, ... (join by id); same baseline"))

        # "As of any date": the median per date over `repeat` runs, and the slowest date is what is reported.
        per_date = {d: median_ms(lambda i, d=d: queries.overview(session, framework, d), repeat) for d in when}
        worst = max(per_date, key=per_date.__getitem__)
        with mock.patch.object(queries, "levels_in_force", _replay_as_levels):
            base = median_ms(lambda i: queries.overview(session, framework, worst), max(1, repeat // 2))
        spread = f"{min(per_date.values()):,.0f}-{max(per_date.values()):,.0f} ms over {len(when)} dates"
        rows.append(Row("overview page read model", backend, per_date[worst], base,
                        f"slowest date ({worst}); {spread}; target 200 ms; baseline: same, as-of by replay"))

        ours = median_ms(lambda i: levels_in_force(session, pick(i)), max(1, repeat // 2))
        base = median_ms(lambda i: baselines.replay_latest_assessments(session, pick(i)), max(1, repeat // 2))
        rows.append(Row("as-of query, all frameworks", backend, ours, base,
                        f"{companies * commitments:,} cells; baseline: replay"))

        def company(i: int) -> str:
            return company_id(1 + (i * 37) % companies)

        ours = median_ms(lambda i: queries.company_view(session, company(i), pick(i), framework), repeat)
        base = median_ms(lambda i: baselines.company_page_n_plus_one(session, company(i), framework, pick(i)),
                         repeat)
        rows.append(Row("company page read model", backend, ours, base,
                        "baseline: 2 queries per commitment (N+1), levels and quotes only (ours also builds timeline, documents, changes)"))

        def commitment(i: int) -> str:
            return commitment_id(1 + (i * 7) % 10)

        ours = median_ms(lambda i: queries.commitment_view(session, commitment(i), pick(i)), repeat)
        base = median_ms(lambda i: baselines.commitment_page_n_plus_one(session, commitment(i), pick(i)), repeat)
        rows.append(Row("commitment page read model", backend, ours, base,
                        "baseline: 2 queries per company (N+1)"))

        from tracker.publish.exports import stocktake_csv_zip

        def export(i: int) -> bytes:
            return stocktake_csv_zip(stocktake.build_stocktake(session, framework, when[-2], when[1]))

        k = max(1, repeat // 2)
        try:
            ours = median_ms(export, k)
            with mock.patch.object(stocktake, "latest_assessments", _replay_as_latest):
                base = median_ms(export, k)
            rows.append(Row("stocktake CSV export", backend, ours, base, "baseline: same, as-of by replay"))
        except sa.exc.SQLAlchemyError as exc:  # a failure at scale is a result to report, not a crash
            session.rollback()
            reason = str(getattr(exc, "orig", exc)).splitlines()[0][:80]
            rows.append(Row("stocktake CSV export", backend, None, None, f"FAILED at this scale: {reason}"))

        def topic(i: int) -> str:
            return f"topic{(i * 131) % 2000:04d}" if i % 2 == 0 else f"w{(i * 11) % (52 * years):04d}c{1 + i:04d}"

        from tracker.store.search import search_versions

        ours = median_ms(lambda i: search_versions(session, topic(i)), repeat)
        base = median_ms(lambda i: baselines.like_search(session, topic(i)), repeat)
        versions = session.scalar(sa.select(sa.func.count()).select_from(m.DocumentVersion))
        rows.append(Row("full-text search, all versions", backend, ours, base,
                        f"{versions:,} versions; baseline: LIKE scan"))
    return rows


def _replay_as_latest(session: Session, as_of: date, **filters: object) -> list[m.Assessment]:
    return baselines.replay_latest_assessments(session, as_of, **filters)  # type: ignore[arg-type]


_LevelRow = collections.namedtuple("_LevelRow", "company_id commitment_id level basis valid_from id version_id")


def _replay_as_levels(session: Session, as_of: date, **filters: object) -> list[tuple]:
    """The replay baseline in the shape of `levels_in_force` rows (the columns of `in_force_query`)."""
    return [_LevelRow(a.company_id, a.commitment_id, a.level, a.basis, a.valid_from, a.id, a.version_id)
            for a in baselines.replay_latest_assessments(session, as_of, **filters)]  # type: ignore[arg-type]


def bench_mapping(repeat: int) -> list[Row]:
    """Mapping throughput on the real texts (chars/s in the note); there is no slower twin to compare with."""
    from tracker.analysis.mapping import map_document

    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))] if CORPUS.is_dir() else []
    if not texts:
        return [Row("mapping (real texts)", "—", 0.0, None, f"skipped: no corpus at {CORPUS}")]
    map_document(texts[0][:2000], "seoul-2024")  # load the rubric once, as a running tracker has
    chars = sum(len(t) for t in texts)
    ms = median_ms(lambda i: [map_document(t, "seoul-2024") for t in texts], max(1, repeat // 2))
    return [Row("mapping, whole corpus", "—", ms, None,
                f"{len(texts)} texts, {chars:,} chars: {chars / ms * 1000:,.0f} chars/s")]


def bench_refresh(engine: Engine, sources: int = 100, hosts: int = 10) -> Row:
    """refresh() of unchanged sources (all 304) on local servers: concurrent hosts vs one fetch at a time."""
    from scrapers import adapters
    from scrapers.http import FetchContext
    from tests.fakeweb import FakeWeb, Reply
    from tracker.core.rawstore import RawStore
    from tracker.ingest import refresh as refresh_module

    servers = [FakeWeb(f"127.0.0.{2 + h}").start() for h in range(hosts)]
    try:
        with Session(engine) as session:
            session.execute(sa.delete(m.FetchAttempt))
            session.execute(sa.delete(m.RefreshRun))
            if session.get(m.Company, "bench-refresh") is None:
                session.add(m.Company(id="bench-refresh", name="Refresh benchmark", country="US"))
            session.flush()
            for n in range(sources):
                web = servers[n % hosts]
                web.route(f"/doc{n}", Reply(body=f"<p>doc {n}</p>".encode(), etag=f'"v{n}"', delay=0.02))
                source = session.get(m.Source, f"bench-refresh-{n}") or m.Source(
                    id=f"bench-refresh-{n}", company_id="bench-refresh", title=f"doc {n}", kind="policy-page",
                    format="html", url="")
                source.url, source.etag, source.active, source.fetchable = web.url(f"/doc{n}"), f'"v{n}"', True, True
                session.add(source)
                if session.scalar(sa.select(m.DocumentVersion.id).where(m.DocumentVersion.source_id == source.id)) \
                        is None:
                    session.add(m.DocumentVersion(source_id=source.id, url=source.url, text_sha256=f"{n:064d}",
                                                  text=f"doc {n}"))
            session.commit()
        context = FetchContext(user_agent="CommitmentTracker-bench/0.1", connect_timeout=2, read_timeout=5,
                                        retries=1, backoff=0.01, per_host_interval=0.05)
        with tempfile.TemporaryDirectory() as raw:
            store = RawStore(Path(raw))

            def run() -> float:
                started = time.perf_counter()
                summary = refresh_module.refresh(engine, company="bench-refresh", context=context, raw_store=store,
                                                 deliver_alerts=None)
                assert summary.count("not_modified") == sources, summary.counts
                return (time.perf_counter() - started) * 1000

            run()  # warm robots.txt caches
            ours = run()
            sequential = functools.partial(adapters.fetch_many, max_workers=1)
            with mock.patch.object(refresh_module, "fetch_many", sequential):
                base = run()
    finally:
        for web in servers:
            web.stop()
    return Row("refresh, unchanged sources", engine.dialect.name, ours, base,
               f"{sources} sources on {hosts} hosts, 20 ms replies; baseline: one fetch at a time")


def _refresh_engine(backend: str, workdir: Path, postgres_url: str) -> Engine:
    if backend == "sqlite":
        engine = get_engine(f"sqlite:///{workdir / 'ct-bench-refresh.db'}")
    else:
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as connection:
            if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = 'ct_bench_refresh'")).scalar():
                connection.execute(sa.text('CREATE DATABASE "ct_bench_refresh"'))
        admin.dispose()
        engine = get_engine(make_url(postgres_url).set(database="ct_bench_refresh").render_as_string(
            hide_password=False))
    migrate(engine)
    return engine


def print_table(rows: list[Row]) -> None:
    print(f"| {'benchmark':<32} | {'backend':<10} | {'ours (ms)':>10} | {'baseline (ms)':>13} | {'ratio':>7} | note |")
    print(f"|{'-' * 34}|{'-' * 12}|{'-' * 12}|{'-' * 15}|{'-' * 9}|------|")
    for r in rows:
        base = f"{r.baseline_ms:,.1f}" if r.baseline_ms else "—"
        ours = f"{r.ours_ms:,.1f}" if r.ours_ms is not None else "—"
        print(f"| {r.name:<32} | {r.backend:<10} | {ours:>10} | {base:>13} | {r.ratio:>7} | {r.note} |")


def main() -> int:
    import gc

    gc.collect()
    gc.freeze()  # the state app.py leaves a running app in: startup objects frozen (see README)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per benchmark (median is reported)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TRACKER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--fresh", action="store_true", help="rebuild the generated database")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[Row] = []
    for backend in backends:
        engine, how = _database(backend, args.scale, args.workdir, args.postgres_url, args.fresh)
        print(f"{backend}: {args.scale} database {how}", flush=True)
        rows += bench_database(engine, args.scale, args.repeat)
        rows.append(bench_refresh(_refresh_engine(backend, args.workdir, args.postgres_url)))
    rows += bench_mapping(args.repeat)
    companies, commitments, years = SCALES[args.scale]
    print(f"\n{companies:,} companies × {commitments} commitments × {years} years; median of {args.repeat} runs; "
          f"{os.cpu_count()} CPUs\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
