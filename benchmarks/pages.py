"""Pages as a reader feels them: every page of the running app in headless Chromium on the generated database.

    python benchmarks/pages.py [--scale full|small] [--workdir /tmp] [--skip-baselines]

It reuses (or generates) the benchmark database of `benchmarks/run.py` (SQLite), starts the app on it
(`streamlit run app.py`, as `tests/apprunner.py` does), and opens each page twice in Chromium: the first view
(nothing cached on the server) and a warm view (a new tab, so a new session, with the server's caches warm).
For each it records when the script finished (the app's `data-test-script-state` became `notRunning`) and when
the page's main content was visible (its text rendered, its tables and charts drawn), both from the start of
the navigation. Then 20 mixed views (other dates, filters, pages of the grid) and the server's RSS after them.

Beside each page it prints the old code path where one exists, measured in the same run in this process: the
Plotly grid the overview used to build, the Changes feeds that loaded every version, and the stocktake page that
built all four downloads on every view with the quadratic XLSX writer. The last line is the summary:
`pages: worst warm visible N ms, worst first visible N ms, server RSS after 20 views N MB, stocktake page N ms,
stocktake xlsx N ms`. See benchmarks/README.md for the targets and a recorded run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session

from benchmarks import baselines
from benchmarks.generate import company_id, framework_id, source_id
from benchmarks.run import SCALES, _database
from tests.apprunner import PROJECT_ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AS_OF = date(2025, 6, 1)
SINCE = date(2025, 2, 10)
TARGET_WARM_MS, TARGET_FIRST_MS, TARGET_RSS_MB, TARGET_STOCKTAKE_MS, TARGET_XLSX_MS = 1500, 3000, 600, 2000, 30000

# What "main content visible" means per page: texts rendered in the main block (innerText only has what is
# laid out), and how many data grids (canvas) and Plotly charts (svg) must be drawn.
VISIBLE = {
    "overview": {"texts": ["Companies 1–"], "grids": 2, "charts": 1},
    "company": {"texts": ["Level per commitment"], "grids": 0, "charts": 0},
    "commitment": {"texts": ["Who meets it"], "grids": 0, "charts": 0},
    "changes": {"texts": ["Flagged changes (", "New versions ("], "grids": 0, "charts": 0},
    "stocktake": {"texts": ["Per commitment", "Per signatory"], "grids": 2, "charts": 0},
    "documents": {"texts": ["Frontier safety policy 0001"], "grids": 0, "charts": 0},
    "sources": {"texts": ["All sources"], "grids": 0, "charts": 0},
    "methodology": {"texts": ["Levels"], "grids": 0, "charts": 0},
}

# Installed in every tab before the app loads: polls every 50 ms and stamps the first moment each condition
# held, in ms since the navigation started (performance.now()).
PROBE = """
(() => {
  const spec = %s;
  const name = location.pathname.replace(/^\\//, '').split('/')[0] || 'overview';
  const want = spec[name] || {texts: [], grids: 0, charts: 0};
  window.__bench = {visible: null, finished: null, ran: false};
  const tick = () => {
    const b = window.__bench;
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (state === 'running') b.ran = true;
    if (b.finished === null && b.ran && state === 'notRunning'
        && !document.querySelector('[data-testid="stSkeleton"]')) b.finished = performance.now();
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (b.visible === null && main) {
      const text = main.innerText || '';
      const grids = main.querySelectorAll('[data-testid="stDataFrame"] canvas').length;
      const charts = main.querySelectorAll('[data-testid="stPlotlyChart"] .main-svg').length;
      if (want.texts.every(t => text.includes(t)) && grids >= want.grids && charts >= want.charts)
        b.visible = performance.now();
    }
    if (b.visible === null || b.finished === null) setTimeout(tick, 50);
  };
  tick();
})();
"""


@dataclass
class View:
    name: str
    path: str


@dataclass
class Timing:
    finished_ms: float | None
    visible_ms: float | None


def page_views(scale: str) -> list[View]:
    """One view per page, on the generated framework and a date inside its history."""
    fw, co = framework_id(1), company_id(1)
    return [
        View("overview", f"/overview?framework={fw}&date={AS_OF}"),
        View("company", f"/company?company={co}&framework={fw}&commitment={fw}/C001&date={AS_OF}"),
        View("commitment", f"/commitment?commitment={fw}/C001&date={AS_OF}"),
        View("changes", "/changes"),
        View("stocktake", f"/stocktake?framework={fw}&as_of={AS_OF}&since={SINCE}"),
        View("documents", f"/documents?source={source_id(1)}"),
        View("sources", "/sources"),
        View("methodology", "/methodology"),
    ]


def mixed_views(scale: str, count: int = 20) -> list[View]:
    """Other dates, filters and companies: what a reader clicking around asks of the server."""
    companies = SCALES[scale][0]
    fw = framework_id(1)
    days = [date(2021, 9, 1), date(2022, 9, 2), date(2023, 6, 1), date(2024, 3, 1), AS_OF]
    views = []
    for i in range(count):
        kind = i % 5
        if kind == 0:
            views.append(View("overview", f"/overview?framework={fw}&date={days[i // 5 % len(days)]}"))
        elif kind == 1:
            views.append(View("overview", f"/overview?framework={fw}&date={AS_OF}&sort=score_desc&q=Company%200{i}"))
        elif kind == 2:
            views.append(View("changes", f"/changes?company={company_id(1 + i * 37 % companies)}"))
        elif kind == 3:
            views.append(View("company", f"/company?company={company_id(1 + i * 53 % companies)}&framework={fw}"
                                         f"&date={days[i % len(days)]}"))
        else:
            views.append(View("stocktake", f"/stocktake?framework={fw}&as_of={AS_OF}&since={SINCE}"))
    return views


# ----------------------------------------------------------------------------------------------- the app


@contextmanager
def app_server(database_url: str, workdir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on the database, yielding its base URL and process (for its RSS)."""
    port = free_port()
    raw = workdir / "pages-raw"
    raw.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url, "TRACKER_RAW_STORE": str(raw),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = (workdir / f"pages-streamlit-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"streamlit exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"streamlit did not start in 120 s; see {log.name}")
            time.sleep(0.3)
        yield base, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_view(context, base: str, view: View, timeout_ms: int = 60_000) -> Timing:
    """Open the view in a new tab and wait until its script finished and its main content was visible."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(base + view.path, wait_until="commit")
        page.wait_for_function("() => window.__bench && window.__bench.visible !== null"
                               " && window.__bench.finished !== null", timeout=timeout_ms, polling=250)
        stamps = page.evaluate("() => window.__bench")
        if page.locator("[data-testid='stException']").count():
            print(f"  ! {view.name}: the page shows an exception", flush=True)
        return Timing(stamps["finished"], stamps["visible"])
    except Exception as exc:  # a timeout is a measurement to report, not a crash
        print(f"  ! {view.name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}", flush=True)
        return Timing(None, None)
    finally:
        page.close()


# ------------------------------------------------------------------------------------- in-process paths


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def old_paths(database_url: str, scale: str, skip: bool) -> dict[str, tuple[float, str]]:
    """The old code paths and the new ones they are compared with, measured here on the same database."""
    from tracker.core.db import get_engine
    from tracker.publish import exports, stocktake
    from tracker.read import queries

    engine = get_engine(database_url)
    fw = framework_id(1)
    results: dict[str, tuple[float, str]] = _Loud()
    with Session(engine) as session:
        queries.overview(session, fw, AS_OF)  # warm the page cache of the file, as a running app has
        ms, view = timed(lambda: queries.overview(session, fw, AS_OF))
        results["overview read model"] = (ms, f"{len(view.cells):,} cells")
        if not skip:
            ms, figure = timed(lambda: baselines.plotly_overview_figure(view).to_json())
            results["old: overview Plotly grid (build + JSON)"] = (ms, f"{len(figure) / 1e6:.1f} MB of JSON")
            ms, rows = timed(lambda: (baselines.change_feed_in_python(session),
                                      baselines.version_feed_in_python(session)))
            results["old: changes feeds in Python"] = (ms, f"{len(rows[1]):,} versions loaded to show 200")
        ms, rows = timed(lambda: (queries.change_counts(session), queries.change_feed(session, limit=30),
                                  queries.version_count(session), queries.version_feed(session, limit=50)))
        results["changes feeds, one page in SQL"] = (ms, f"{len(rows[3])} versions loaded of {rows[2]:,}")
        ms, figures = timed(lambda: stocktake.stocktake_figures(session, fw, AS_OF, SINCE))
        results["stocktake figures (page data)"] = (ms, f"{len(figures.changes):,} change rows, "
                                                        f"{figures.new_documents:,} new versions counted")
        ms, full = timed(lambda: stocktake.build_stocktake(session, fw, AS_OF, SINCE))
        rows_total = sum(len(rows) for rows in full.tables().values())
        results["stocktake full build (downloads)"] = (ms, f"{rows_total:,} rows in 6 tables")
        ms, data = timed(lambda: exports.stocktake_xlsx(full))
        results["stocktake xlsx (write-only)"] = (ms, f"{len(data) / 1e6:.1f} MB, every row")
        if not skip:
            cap = 2000
            ms, _ = timed(lambda: baselines.stocktake_xlsx_in_memory(full, max_rows=cap))
            results["old: xlsx writer, first 2,000 rows a table"] = (ms, "quadratic: sheet[max_row] per row")
            ms, _ = timed(lambda: exports.stocktake_xlsx(_capped(full, cap)))
            results["xlsx write-only, same 2,000 rows a table"] = (ms, "same rows as the line above")
            ms, _ = timed(lambda: (exports.stocktake_csv_zip(full), exports.stocktake_json(full),
                                   exports.stocktake_html(full)))
            results["old page also built CSV+JSON+HTML"] = (ms, "on every view, before the XLSX")
    engine.dispose()
    return results


class _Loud(dict):
    """A dict that prints each measurement as it lands (a long run shows progress)."""

    def __setitem__(self, key: str, value: tuple[float, str]) -> None:
        print(f"  {key}: {value[0]:,.0f} ms ({value[1]})", flush=True)
        super().__setitem__(key, value)


def _capped(full, cap: int):
    import copy

    capped = copy.copy(full)
    for table in ("commitments", "companies", "levels", "changes", "deadlines", "documents"):
        setattr(capped, table, getattr(full, table)[:cap])
    return capped


# ------------------------------------------------------------------------------------------------ main


def fmt(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--views", type=int, default=20, help="mixed views before the RSS is read")
    parser.add_argument("--skip-baselines", action="store_true", help="do not time the old code paths")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the app's process group on the way out
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: the page benchmark needs headless Chromium")
    started = time.perf_counter()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    engine, how = _database("sqlite", args.scale, args.workdir, "", False)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    companies, commitments, years = SCALES[args.scale]
    print(f"sqlite: {args.scale} database {how} ({companies:,} × {commitments} × {years} years)", flush=True)

    from playwright.sync_api import sync_playwright

    first: dict[str, Timing] = {}
    warm: dict[str, Timing] = {}
    rss: list[float] = []
    with app_server(url, args.workdir) as (base, process), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(PROBE % json.dumps(VISIBLE))
        open_view(context, base, View("methodology", "/methodology"))  # load the app's JS once (browser cache)
        rss.append(rss_mb(process.pid))
        for view in page_views(args.scale):
            first[view.name] = open_view(context, base, view)
            warm[view.name] = open_view(context, base, view)
            print(f"  {view.name:<12} first {fmt(first[view.name].visible_ms):>7} ms visible, "
                  f"warm {fmt(warm[view.name].visible_ms):>7} ms", flush=True)
        mixed = []
        for i, view in enumerate(mixed_views(args.scale, args.views), start=1):
            mixed.append(open_view(context, base, view))
            if i in (args.views // 2, args.views):
                rss.append(rss_mb(process.pid))
        browser.close()
        rss_after = rss_mb(process.pid)

    gc.collect()
    paths = old_paths(url, args.scale, args.skip_baselines)

    print(f"\n{companies:,} companies × {commitments} commitments × {years} years; SQLite; {os.cpu_count()} CPUs; "
          f"Chromium headless at 1280 px; times from the start of navigation; load average at the end "
          f"{os.getloadavg()[0]:.1f} (other processes share the CPUs)\n")
    print(f"| {'page':<12} | {'first: script':>13} | {'first: visible':>14} | {'warm: script':>12} | "
          f"{'warm: visible':>13} |")
    print(f"|{'-' * 14}|{'-' * 15}|{'-' * 16}|{'-' * 14}|{'-' * 15}|")
    for name in first:
        f, w = first[name], warm[name]
        print(f"| {name:<12} | {fmt(f.finished_ms):>13} | {fmt(f.visible_ms):>14} | {fmt(w.finished_ms):>12} | "
              f"{fmt(w.visible_ms):>13} |")
    done = [t.visible_ms for t in mixed if t.visible_ms is not None]
    print(f"\nmixed views: {len(done)} of {len(mixed)} visible, slowest {fmt(max(done) if done else None)} ms; "
          f"server RSS after start {rss[0]:,.0f} MB, after {args.views // 2} views {rss[1]:,.0f} MB, "
          f"after {args.views} views {rss_after:,.0f} MB\n")
    print(f"| {'code path (in this process, same database)':<44} | {'ms':>9} | note |")
    print(f"|{'-' * 46}|{'-' * 11}|------|")
    for name, (ms, note) in paths.items():
        print(f"| {name:<44} | {ms:>9,.0f} | {note} |")
    print(f"\nmixed views (ms visible, in order): {', '.join(fmt(t.visible_ms) for t in mixed)}")
    print(f"\ntargets: warm visible ≤ {TARGET_WARM_MS:,} ms, first visible ≤ {TARGET_FIRST_MS:,} ms, RSS ≤ "
          f"{TARGET_RSS_MB} MB, stocktake page ≤ {TARGET_STOCKTAKE_MS:,} ms, xlsx ≤ {TARGET_XLSX_MS:,} ms; "
          f"this run took {time.perf_counter() - started:,.0f} s\n")

    def worst(timings: dict[str, Timing]) -> float | None:
        values = [t.visible_ms for t in timings.values()]
        return None if any(v is None for v in values) else max(values)  # type: ignore[type-var]

    stocktake_views = [first["stocktake"].visible_ms, warm["stocktake"].visible_ms]
    stocktake_ms = None if None in stocktake_views else max(stocktake_views)  # type: ignore[type-var]
    xlsx_ms = paths["stocktake full build (downloads)"][0] + paths["stocktake xlsx (write-only)"][0]
    print(f"pages: worst warm visible {fmt(worst(warm))} ms, worst first visible {fmt(worst(first))} ms, "
          f"server RSS after 20 views {rss_after:,.0f} MB, stocktake page {fmt(stocktake_ms)} ms, "
          f"stocktake xlsx {fmt(xlsx_ms)} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
