"""A reader's journeys in one browser session: a seeded random walk over every link and sidebar entry, and every
page opened with bad parameters. Fails on any exception box or "Page not found" dialog.

`TRACKER_WALK_SEED` and `TRACKER_WALK_CLICKS` choose another walk (CI runs the default; anyone can try others).
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import Session

from tests.apprunner import running_app
from tests.conftest import _fresh_engine
from tests.test_browser import SCREENSHOTS, chromium  # noqa: F401  (the shared browser fixture)
from tests.test_pages import AS_OF, build_dashboard_data

pytestmark = pytest.mark.browser

SEED = int(os.environ.get("TRACKER_WALK_SEED", "19"))
CLICKS = int(os.environ.get("TRACKER_WALK_CLICKS", "110"))
PUBLIC_PAGES = ["overview", "company", "commitment", "changes", "stocktake", "documents", "search", "sources",
                "methodology"]

BAD = ["date=1999-01-01", "date=2999-12-31", "date=not-a-date", "date=2025-13-45", "framework=nope",
       "company=nobody", "company=%3Cscript%3E", "commitment=seoul-2024%2FXCIX", "commitment=%5Bx%5D(javascript:1)",
       "source=nope", "version=abc", "version=99999999999999999999999", "version=-1", "compare=zzz",
       "compare=anthropic,openai", "since=1900-01-01", "until=2999-01-01", "since=x", "groups=nope",
       "direction=sideways", "signatories=maybe", "change=abc", "change=999999", "q=%3Cscript%3Ealert(1)",
       "q=%24x%24+%3Ared%5Bx%5D", "find=**bold**", "changes_commitment=nope", "q="]
# Which page reads which parameter: each bad value alone is opened on those pages.
READS = {"overview": {"date", "framework", "signatories", "groups"},
         "company": {"company", "framework", "date", "commitment", "changes_commitment"},
         "commitment": {"commitment", "framework", "date", "compare"},
         "changes": {"company", "commitment", "since", "until", "direction", "change"},
         "documents": {"source", "version", "compare", "find"},
         "search": {"q", "company", "framework", "source", "since", "until"}}

def _first_reader(parameter: str, index: int) -> str:
    readers = [page for page in PUBLIC_PAGES if parameter in READS.get(page, ())]
    return readers[index % len(readers)] if readers else PUBLIC_PAGES[index % len(PUBLIC_PAGES)]


_SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && document.querySelector('[data-testid="stMainBlockContainer"]')"""

_MARK_LINKS = """(base) => {
    document.querySelectorAll('[data-walk]').forEach(a => a.removeAttribute('data-walk'));
    const links = [...document.querySelectorAll('a[href]')].filter(a => {
        const r = a.getBoundingClientRect();
        const raw = a.getAttribute('href') || '';
        const closed = a.closest('details:not([open])');  // inside a collapsed expander
        if (closed) return false;
        return a.href.startsWith(base) && !raw.startsWith('#') && a.target !== '_blank' && r.width > 0 && r.height > 0
            && getComputedStyle(a).visibility !== 'hidden';
    });
    links.forEach((a, i) => a.setAttribute('data-walk', String(i)));
    return links.map(a => [a.href, !!a.closest('[data-testid="stSidebar"]')]);
}"""


def _settle(page, timeout: float = 60_000) -> None:
    page.wait_for_timeout(250)
    page.wait_for_function(_SETTLED, timeout=timeout)
    page.wait_for_timeout(250)
    page.wait_for_function(_SETTLED, timeout=timeout)


def _problems(page, where: str) -> list[str]:
    found = []
    if page.locator("[data-testid='stException']").count():
        found.append(f"{where}: exception box: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
    if page.get_by_text("Page not found").count():
        found.append(f"{where}: 'Page not found'")
    return found


@pytest.fixture(scope="module")
def app_url(db_server, db_templates, tmp_path_factory):
    """One running app for both tests (starting Streamlit costs seconds)."""
    for engine in _fresh_engine(db_server, db_templates, "catalog"):
        with Session(engine, expire_on_commit=False) as session:
            build_dashboard_data(session)
        url = engine.url.render_as_string(hide_password=False)
        folder = tmp_path_factory.mktemp("walk")
        with running_app(url, folder / "raw") as base_url:
            yield base_url
            for log in folder.glob("streamlit-*.log"):  # kept next to the failing test's report
                (SCREENSHOTS / "walk-server.log").write_bytes(log.read_bytes())


def test_every_page_with_bad_parameters(chromium, app_url):  # noqa: F811
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    problems: list[str] = []
    page.goto(f"{app_url}/overview")
    _settle(page, timeout=180_000)  # the first run of a fresh server prepares the database
    for name in PUBLIC_PAGES:
        # One link with every bad parameter at once, then each alone for the pages that read it.
        page.goto(f"{app_url}/{name}?{'&'.join(BAD)}")
        _settle(page)
        problems += _problems(page, f"/{name} with all bad parameters")
        # Each bad value alone: on the first page that reads its parameter, else on a page in turn.
        for parameter in [p for i, p in enumerate(BAD) if _first_reader(p.split("=")[0], i) == name]:
            page.goto(f"{app_url}/{name}?{parameter}")
            _settle(page)
            problems += _problems(page, f"/{name}?{parameter}")
    page.goto(f"{app_url}/overview?date=1999-01-01")
    _settle(page)
    assert page.get_by_text("is shown as").count(), "an out-of-range date is clamped with a visible note"
    page.close()
    assert not problems, "\n".join(problems)
    assert not errors, errors


def test_random_walk_over_links_and_sidebar(chromium, app_url):  # noqa: F811
    rng = random.Random(SEED)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{app_url}/overview?date={AS_OF.isoformat()}")
    _settle(page, timeout=180_000)  # the first run of a fresh server prepares the database
    visited: set[str] = set()
    trail: list[str] = []
    problems: list[str] = []
    unclickable: list[str] = []
    for step in range(CLICKS):
        links = page.evaluate(_MARK_LINKS, app_url)
        sidebar = [i for i, (_, side) in enumerate(links) if side]
        body = [i for i, (_, side) in enumerate(links) if not side]
        unseen = [i for i in sidebar if urlsplit(links[i][0]).path.strip("/") not in visited]
        if unseen and rng.random() < 0.25:  # make sure every page gets its turn
            choice = rng.choice(unseen)
        elif body and rng.random() < 0.7:
            choice = rng.choice(body)
        elif sidebar:
            choice = rng.choice(sidebar)
        else:
            page.goto(f"{app_url}/overview")
            _settle(page)
            continue
        href = links[choice][0]
        trail.append(href.removeprefix(app_url))
        try:
            page.locator(f"[data-walk='{choice}']").first.click(timeout=5_000)
        except PlaywrightTimeout:  # covered by another element or scrolled away mid-run: not the app's fault
            unclickable.append(href)
            continue
        try:
            _settle(page)
        except PlaywrightTimeout:
            problems.append(f"step {step} ({' → '.join(trail[-4:])}): the page's run did not finish in 60 s")
            page.screenshot(path=str(SCREENSHOTS / f"walk-stuck-{SEED}-{step}.png"))
            page.goto(f"{app_url}/overview")
            _settle(page)
            continue
        visited.add(urlsplit(page.url).path.strip("/"))
        found = _problems(page, f"step {step} ({' → '.join(trail[-4:])})")
        if found:
            problems += found
            page.goto(f"{app_url}/overview")
            _settle(page)
    page.close()
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems)
    assert not errors, errors
    assert len(unclickable) < CLICKS // 5, f"too many links could not be clicked: {unclickable}"
    assert set(PUBLIC_PAGES) <= visited, f"pages never reached: {set(PUBLIC_PAGES) - visited}"
