"""Open every page of the running app in headless Chromium at 1280 and 390 px; check content; save screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.apprunner import running_app
from tests.test_pages import AS_OF, build_dashboard_data
from tracker.core.config import PROJECT_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}

# (name, path with query, text that must be visible)
VIEWS = [
    ("overview", f"/overview?date={AS_OF.isoformat()}", "Published a framework by"),
    ("company", f"/company?company=anthropic&commitment=seoul-2024/II&date={AS_OF.isoformat()}", "3 comprehensive"),
    ("commitment", f"/commitment?commitment=seoul-2024/II&date={AS_OF.isoformat()}", "Who meets it"),
    ("changes", "/changes", "WEAKENED"),
    ("documents", "/documents?source=anthropic-rsp", "passages changed"),
    ("sources", "/sources", "Recent refresh runs"),
    ("methodology", "/methodology", "Every level links to its quotes"),
    ("search", "/search?q=pause+training", "Passage in its version"),
]


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("TRACKER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and TRACKER_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _wait_for_app(page) -> None:
    """Streamlit renders over a websocket: wait until the run is over and every Plotly chart is drawn."""
    page.wait_for_selector("[data-testid='stMainBlockContainer']", timeout=120_000)
    page.wait_for_timeout(500)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
              && !document.querySelector('[data-testid="stSkeleton"]')
              && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(chart => chart.querySelector('.main-svg'))""",
        timeout=120_000,
    )
    page.wait_for_timeout(800)


def _screenshot(page, width: int, path: Path) -> None:
    """Streamlit scrolls inside its main container, so grow the viewport to the content before the shot."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 900")
    page.set_viewport_size({"width": width, "height": max(900, min(int(height) + 40, 12_000))})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)


def test_every_page_in_the_browser(chromium, engine, tmp_path):
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
    url = engine.url.render_as_string(hide_password=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(url, tmp_path / "raw") as base_url:
        for device, width in WIDTHS.items():
            context = chromium.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            for name, path, expected in VIEWS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(base_url + path)
                page.get_by_text(expected).first.wait_for(timeout=120_000)
                _wait_for_app(page)
                assert page.locator("[data-testid='stException']").count() == 0, f"{name}: exception shown"
                _screenshot(page, width, SCREENSHOTS / f"{name}-{device}.png")
            assert not errors, errors
            context.close()


def test_company_link_and_grid_cell_open_the_company_page(chromium, engine, tmp_path):
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
    url = engine.url.render_as_string(hide_password=False)
    with running_app(url, tmp_path / "raw") as base_url:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base_url + f"/overview?date={AS_OF.isoformat()}")
        _wait_for_app(page)
        page.get_by_role("link", name="Anthropic").first.click()
        page.wait_for_url("**/company?*company=anthropic*", timeout=120_000)
        _wait_for_app(page)
        page.get_by_role("heading", name="Anthropic").wait_for(timeout=120_000)
        # Now the grid itself (a data grid on a canvas): the first cell is the first company at commitment I.
        # Its columns: Company (pinned, "medium" = 200 px), then each commitment ("small" = 75 px); rows 32 px.
        page.goto(base_url + f"/overview?date={AS_OF.isoformat()}")
        _wait_for_app(page)
        grid = page.locator("[data-testid='stDataFrame']").nth(1)
        grid.scroll_into_view_if_needed()
        grid.locator("canvas").first.wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(500)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 200 + 37, box["y"] + 32 + 16)
        page.wait_for_url("**/company?*commitment=seoul-2024*", timeout=120_000)
        _wait_for_app(page)
        page.close()


def test_overview_cell_quote_citation_in_three_clicks(chromium, engine, tmp_path):
    """A journalist's path: a cell of the grid, its quote, the citation with live and archived links."""
    with Session(engine, expire_on_commit=False) as session:
        build_dashboard_data(session)
    url = engine.url.render_as_string(hide_password=False)
    with running_app(url, tmp_path / "raw") as base_url:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base_url + f"/overview?date={AS_OF.isoformat()}&find=Anthropic")  # the grid's company search
        _wait_for_app(page)
        # The grid is a data grid on a canvas: Company (pinned, 200 px), then one 75 px column per commitment,
        # rows of 32 px under a 32 px header. Found by name, Anthropic is the first row; at II it has reviewed level 3.
        grid = page.locator("[data-testid='stDataFrame']").nth(1)
        grid.scroll_into_view_if_needed()
        grid.locator("canvas").first.wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(500)
        frame = grid.bounding_box()
        box = {"x": frame["x"] + 200 + 75, "y": frame["y"] + 32, "width": 75, "height": 32}
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # click 1: the cell
        page.wait_for_url("**/company?*commitment=seoul-2024%2FII*", timeout=120_000)
        _wait_for_app(page)
        page.get_by_text("We **will** [pause]", exact=False).first.wait_for(timeout=120_000)  # the v2 quote, as text
        page.get_by_role("button", name="Cite this").first.click()  # click 2: cite this
        archived = page.get_by_role("link", name="Archived copy").first
        archived.wait_for(timeout=10_000)
        assert archived.get_attribute("href").startswith("https://web.archive.org/web/")
        live = page.get_by_role("link", name="Live document").first
        assert live.get_attribute("href").startswith("https://")
        assert page.get_by_role("link", name="Permalink in the tracker").first.get_attribute("href").count("date=")
        assert page.locator("[data-testid='stException']").count() == 0
        page.close()
