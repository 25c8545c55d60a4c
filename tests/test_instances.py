"""Two app instances on one PostgreSQL database: a write is visible in the other instance after its cache TTL."""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.apprunner import running_app
from tests.conftest import IS_POSTGRES
from tracker.store import models as m

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TTL = 2

pytestmark = pytest.mark.browser


def signatories(page, base_url: str) -> int:
    """The overview's "Companies shown" figure (signatories of the default framework, as of today)."""
    page.goto(base_url)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Companies shown").first
    metric.wait_for(timeout=30_000)
    return int(re.search(r"\d+", metric.locator('[data-testid="stMetricValue"]').inner_text()).group(0))


def test_a_write_shows_in_the_other_instance_after_the_cache_ttl(engine, tmp_path):
    if not IS_POSTGRES:
        pytest.skip("several instances share one PostgreSQL database; this run uses SQLite")
    if not CHROMIUM.exists():
        if os.environ.get("TRACKER_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is missing and TRACKER_REQUIRE_BROWSER=1")
        pytest.skip("/usr/bin/chromium is missing")
    from playwright.sync_api import sync_playwright

    url = engine.url.render_as_string(hide_password=False)
    env = {"TRACKER_CACHE_TTL": str(TTL), "TRACKER_RAW_STORE": str(tmp_path / "raw")}
    raw = tmp_path / "raw"
    with running_app(url, raw, env=env) as first, running_app(url, raw, env=env) as second, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page_one, page_two = browser.new_page(), browser.new_page()
            before = signatories(page_one, first)
            assert signatories(page_two, second) == before

            with Session(engine) as session:  # a write that reaches the database through instance one's store
                assert session.exec(select(m.Signature).where(m.Signature.company_id == "apple",
                                                              m.Signature.framework_id == "seoul-2024")).first() is None
                session.add(m.Signature(company_id="apple", framework_id="seoul-2024", signed_on=date(2026, 1, 5),
                                        source_url="https://example.org/apple-signs"))
                session.commit()
            time.sleep(TTL + 0.5)
            assert signatories(page_two, second) == before + 1
            assert signatories(page_one, first) == before + 1
        finally:
            browser.close()
