"""Every export opens with its standard reader (csv, json, openpyxl, sqlite3, a browser) and keeps its citations."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.stocktake_scenario import AS_OF, FRAMEWORK, HOSTILE_QUOTE, SINCE, build
from tracker.cli import main
from tracker.publish.exports import (
    WITHHELD_TABLES,
    data_dictionary,
    export_all,
    stocktake_csv_zip,
    stocktake_html,
    stocktake_json,
    stocktake_xlsx,
    write_stocktake,
)
from tracker.publish.stocktake import TABLES, build_stocktake, column_docs
from tracker.store import models as m

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def world(schema_engine):
    with Session(schema_engine, expire_on_commit=False) as session:
        scenario = build(session)
        session.commit()
        yield session, scenario


@pytest.fixture
def stocktake(world):
    return build_stocktake(world[0], FRAMEWORK, AS_OF, SINCE)


def _csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_csv_zip_has_one_table_per_file_and_a_readme(stocktake):
    with zipfile.ZipFile(io.BytesIO(stocktake_csv_zip(stocktake))) as archive:
        assert sorted(archive.namelist()) == sorted(["README.txt", *(f"{t}.csv" for t in TABLES)])
        levels = _csv_rows(archive.read("levels.csv"))
        commitments = _csv_rows(archive.read("commitments.csv"))
        readme = archive.read("README.txt").decode()
    assert list(levels[0]) == list(column_docs("levels"))
    alpha_two = next(r for r in levels if r["company_id"] == "alpha" and r["commitment"] == "II")
    assert alpha_two["evidence_quote"] == HOSTILE_QUOTE  # the data as published, not altered
    assert alpha_two["level"] == "1" and alpha_two["level_since"] == "2" and alpha_two["moved"] == "down"
    assert alpha_two["retrieved_at"] == "2025-06-02T09:00:00+00:00" and len(alpha_two["text_sha256"]) == 64
    assert {r["commitment"]: r["level_3"] for r in commitments} == {"I": "1", "II": "0", "III": "0"}
    gamma_one = next(r for r in levels if r["company_id"] == "gamma" and r["commitment"] == "I")
    assert gamma_one["level"] == "" and gamma_one["basis"] == "not assessed"
    assert "As of: 2025-12-31" in readme and "CC BY 4.0" in readme and "evidence_quote:" in readme


def test_csv_to_a_folder_and_other_formats_to_files(stocktake, tmp_path):
    written = write_stocktake(stocktake, "csv", tmp_path / "csv")
    assert {p.name for p in written} == {"README.txt", *(f"{t}.csv" for t in TABLES)}
    assert write_stocktake(stocktake, "csv", tmp_path / "s.zip") == [tmp_path / "s.zip"]
    assert zipfile.is_zipfile(tmp_path / "s.zip")
    from tracker.core.errors import ValidationError

    with pytest.raises(ValidationError, match="is a folder"):
        write_stocktake(stocktake, "json", tmp_path / "csv")
    with pytest.raises(ValidationError, match="unknown format"):
        write_stocktake(stocktake, "pdf", tmp_path / "x.pdf")


def test_json_loads_with_meta_licences_and_tables(stocktake):
    document = json.loads(stocktake_json(stocktake))
    assert document["meta"]["as_of"] == "2025-12-31" and document["meta"]["signatories"] == 3
    assert document["framework_licence"]["licence"] == "Open Government Licence v3.0"
    assert any(p["licence"] == "CC BY 4.0" for p in document["licences"])
    assert set(TABLES) <= set(document)
    one = next(r for r in document["commitments"] if r["commitment"] == "I")
    assert (one["level_1"], one["level_3"], one["not_assessed"], one["average_level"]) == (1, 1, 1, 2.0)
    weakened = next(r for r in document["changes"] if r["kind"] == "weakened")
    assert weakened["new_quote"] == HOSTILE_QUOTE and weakened["date"] == "2025-06-01"
    assert document["columns"]["levels"]["text_sha256"]


def test_xlsx_opens_with_a_readme_sheet_and_quotes_stay_text(stocktake):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(stocktake_xlsx(stocktake)))
    assert book.sheetnames == ["README", *TABLES]
    readme = [row[0] for row in book["README"].iter_rows(values_only=True)]
    assert readme[0] == "Stocktake: Test Frontier Commitments" and any("OGL" in (r or "") or "Open Government" in
                                                                         (r or "") for r in readme)
    sheet = book["levels"]
    header = [c.value for c in sheet[1]]
    assert header == list(column_docs("levels"))
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 9
    alpha_two = next(r for r in rows if r["company_id"] == "alpha" and r["commitment"] == "II")
    assert alpha_two["evidence_quote"] == HOSTILE_QUOTE and alpha_two["level"] == 1
    # A quote that starts with "=" must stay a string, never a formula.
    changes = book["changes"]
    cells = [c for row in changes.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert cells and all(c.data_type == "s" for c in cells if c.value.startswith("="))


def test_xlsx_keeps_a_formula_like_quote_as_text(world):
    session, scenario = world
    from tests.factories import add_change

    add_change(session, scenario.versions["a1"], scenario.versions["a2"], "removed",
               old_quote='=HYPERLINK("http://evil","click")', commitments=[f"{FRAMEWORK}/II"])
    session.commit()
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(stocktake_xlsx(build_stocktake(session, FRAMEWORK, AS_OF, SINCE))))
    header = [c.value for c in book["changes"][1]]
    column = header.index("old_quote")
    cell = next(row[column] for row in book["changes"].iter_rows(min_row=2)
                if row[column].value and str(row[column].value).startswith("=HYPER"))
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil","click")'


def test_html_report_is_self_contained_and_escapes_scraped_text(stocktake):
    page = stocktake_html(stocktake)
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*\bhref=", page)
    assert "plotly.js v" in page or len(page) > 1_000_000  # plotly.js is inline, so the file works offline
    assert page.count('class="plotly-graph-div"') == 2
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "Gamma &lt;Corp&gt;" in page and "Gamma <Corp>" not in page.split("<body>", 1)[1].split("<div")[0]
    assert "Levels and their citations" in page and stocktake.levels[0].text_sha256 in page


def test_export_all_opens_everywhere_and_withholds_private_data(world, tmp_path):
    session, scenario = world
    session.add(m.User(username="rev", role="reviewer", email="rev@example.org", password_hash="secret-hash"))
    session.commit()
    engine = session.get_bind()
    counts = export_all(engine, tmp_path / "open")
    out = tmp_path / "open"
    names = {p.name for p in (out / "csv").iterdir()}
    assert "user.csv" not in names and "loginsession.csv" not in names and "documentversion.csv" in names
    assert names == {f"{t}.csv" for t in counts}
    versions = _csv_rows((out / "csv" / "documentversion.csv").read_bytes())
    assert len(versions) == 5 and all(v["text"] == "" for v in versions)
    assert {v["text_sha256"] for v in versions} == {v.text_sha256 for v in scenario.versions.values()}
    assessments = _csv_rows((out / "csv" / "assessment.csv").read_bytes())
    assert len(assessments) == counts["assessment"] == 9
    document = json.loads((out / "tracker.json").read_text())
    assert len(document["tables"]["evidence"]) == 6 and "user" in document["withheld"]["tables"]
    everything = (out / "tracker.json").read_text() + "".join(p.read_text() for p in (out / "csv").iterdir())
    assert "secret-hash" not in everything and "rev@example.org" not in everything
    assert "We will assess risks. We will set thresholds." not in everything  # full texts stay out
    with sqlite3.connect(out / "tracker.sqlite") as db:
        assert db.execute("select count(*) from assessment").fetchone()[0] == 9
        assert db.execute("select count(*) from user").fetchone()[0] == 0
        assert db.execute("select count(*) from documentversion where text is not null").fetchone()[0] == 0
        assert db.execute("select version_num from alembic_version").fetchone()[0]
    dictionary = json.loads((out / "data_dictionary.json").read_text())
    assert {t["name"] for t in dictionary["tables"]} == {t.name for t in m.SQLModel.metadata.sorted_tables}
    markdown = (out / "DATA_DICTIONARY.md").read_text()
    assert "## assessment" in markdown and "**Withheld from open data**" in markdown
    assert "Open Government Licence" in (out / "LICENCES.md").read_text()
    sums = dict(line.split("  ", 1)[::-1] for line in (out / "SHA256SUMS").read_text().splitlines())
    assert "tracker.sqlite" in sums and "csv/assessment.csv" in sums


def test_data_dictionary_describes_every_column():
    missing = [f"{t['name']}.{c['name']}" for t in data_dictionary()["tables"] if not t["withheld"]
               for c in t["columns"] if not c["description"]]
    assert not missing, f"add descriptions to tracker.publish.exports.COLUMN_DOCS for: {', '.join(missing)}"
    assert all(t["description"] for t in data_dictionary()["tables"])
    assert set(WITHHELD_TABLES) <= {t.name for t in m.SQLModel.metadata.sorted_tables}


def test_export_commands(world, use_database, tmp_path, capsys):
    session, _ = world
    use_database(session.get_bind())
    for fmt, name in [("csv", "s.zip"), ("json", "s.json"), ("xlsx", "s.xlsx"), ("html", "s.html")]:
        code = main(["export", "--framework", FRAMEWORK, "--as-of", "2025-12-31", "--since", "2025-02-10",
                     "--format", fmt, "--out", str(tmp_path / name)])
        assert code == 0 and (tmp_path / name).stat().st_size > 0
    assert "3 signatories" in capsys.readouterr().out
    assert json.loads((tmp_path / "s.json").read_text())["meta"]["since"] == "2025-02-10"
    assert main(["export-all", "--out", str(tmp_path / "open")]) == 0
    assert (tmp_path / "open" / "tracker.sqlite").exists()
    capsys.readouterr()
    assert main(["export", "--framework", "nope", "--as-of", "2025-12-31", "--since", "2025-02-10",
                 "--format", "json", "--out", str(tmp_path / "x.json")]) == 2
    assert "unknown framework 'nope'" in capsys.readouterr().err
    assert main(["export", "--framework", FRAMEWORK, "--as-of", "2025-01-01", "--since", "2025-02-10",
                 "--format", "json", "--out", str(tmp_path / "x.json")]) == 2
    assert "must not be after" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_html_report_renders_offline_in_chromium(stocktake, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("TRACKER_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is missing and TRACKER_REQUIRE_BROWSER=1")
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    report = tmp_path / "stocktake.html"
    report.write_text(stocktake_html(stocktake), encoding="utf-8")
    screenshots = ARTIFACTS / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(report.as_uri())
            page.wait_for_selector("#chart-levels .main-svg", timeout=20_000)
            page.wait_for_selector("#chart-grid .main-svg", timeout=20_000)
            assert page.locator(".js-plotly-plot").count() == 2
            assert page.locator("h1").inner_text() == "Stocktake: Test Frontier Commitments"
            assert HOSTILE_QUOTE in page.locator("#levels + p + .wide table").inner_text()
            assert "Gamma <Corp>" in page.locator("#companies + p + .wide table").inner_text()
            page.screenshot(path=str(screenshots / "stocktake_report.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(screenshots / "stocktake_report_print.png"))
            assert page.pdf(format="A4", landscape=True)[:4] == b"%PDF"
        finally:
            browser.close()
    assert not dialogs  # the script in the quote never ran
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests), requests
