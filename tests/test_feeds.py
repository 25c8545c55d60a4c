"""Atom feeds parse with ElementTree, keep stable ids across regenerations, and carry scraped text as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlmodel import Session

from tests.stocktake_scenario import HOSTILE_QUOTE, build
from tracker.cli import main
from tracker.core.errors import NotFoundError, ValidationError
from tracker.publish.feeds import app_url, company_feed, feed_entries, write_feeds

A = "{http://www.w3.org/2005/Atom}"
BASE = "https://tracker.example.org"


@pytest.fixture
def world(schema_engine):
    with Session(schema_engine, expire_on_commit=False) as session:
        scenario = build(session)
        session.commit()
        yield session, scenario


def _parse(content: bytes) -> ET.Element:
    root = ET.fromstring(content)
    assert root.tag == f"{A}feed"
    return root


def test_all_feed_lists_versions_and_flagged_changes_newest_first(world):
    session, scenario = world
    root = _parse(company_feed(session, None, base_url=BASE))
    entries = root.findall(f"{A}entry")
    categories = [e.find(f"{A}category").get("term") for e in entries]
    # five versions, two weakened and one strengthened change; "reworded" is not flagged
    assert sorted(categories) == sorted(["new_version"] * 5 + ["weakened", "weakened", "strengthened"])
    updated = [e.findtext(f"{A}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert root.findtext(f"{A}updated") == updated[0] == "2026-03-02T10:00:00Z"
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("tag:tracker.example.org,2024:") for i in ids)
    a2 = scenario.versions["a2"]
    assert f"tag:tracker.example.org,2024:version/alpha-fw/{a2.text_sha256}" in ids
    version_entry = next(e for e in entries if e.findtext(f"{A}id").endswith(a2.text_sha256))
    assert version_entry.findtext(f"{A}published") == "2025-06-01T00:00:00Z"
    assert version_entry.findtext(f"{A}updated") == "2025-06-02T09:00:00Z"
    links = {link.get("rel"): link.get("href") for link in version_entry.findall(f"{A}link")}
    assert links == {"alternate": f"{BASE}/company?company=alpha", "related": a2.url}
    assert version_entry.find(f"{A}author").findtext(f"{A}name") == "Alpha AI"


def test_scraped_text_is_escaped_content(world):
    session, scenario = world
    content = company_feed(session, "alpha", base_url=BASE)
    assert b"<script>" not in content  # escaped by the XML writer
    root = _parse(content)
    weakened = next(e for e in root.findall(f"{A}entry")
                    if e.findtext(f"{A}id").endswith(f"/{scenario.changes['weakened'].id}"))
    body = weakened.find(f"{A}content")
    assert body.get("type") == "text" and f"After: {HOSTILE_QUOTE}" in body.text
    assert "modal_weakened: 'will' → 'may'" in body.text
    assert weakened.findtext(f"{A}title") == "Alpha AI: commitment weakened in alpha framework"


def test_ids_are_stable_and_company_feeds_are_filtered(world):
    session, _ = world
    first = [e.findtext(f"{A}id") for e in _parse(company_feed(session, None, base_url=BASE)).iter(f"{A}entry")]
    again = [e.findtext(f"{A}id") for e in _parse(company_feed(session, None, base_url=BASE)).iter(f"{A}entry")]
    assert first == again
    beta = _parse(company_feed(session, "beta", base_url=BASE))
    assert beta.findtext(f"{A}id") == "tag:tracker.example.org,2024:feed/company/beta"
    assert beta.findtext(f"{A}title") == "Commitment Tracker: Beta Labs"
    assert [e.find(f"{A}author").findtext(f"{A}name") for e in beta.iter(f"{A}entry")] == ["Beta Labs"]
    delta = _parse(company_feed(session, "delta", base_url=BASE))  # no sources: a valid, empty feed
    assert delta.findall(f"{A}entry") == [] and delta.findtext(f"{A}updated")
    assert len(feed_entries(session, limit=2, base_url=BASE)) == 2
    with pytest.raises(NotFoundError, match="unknown company 'nobody'"):
        feed_entries(session, company_id="nobody")


def test_write_feeds_per_company(world, tmp_path):
    session, _ = world
    written = write_feeds(session, out=tmp_path / "feed.xml", per_company=tmp_path / "feeds")
    assert {p.name for p in written} == {"feed.xml", "all.xml", "alpha.xml", "beta.xml", "gamma.xml", "delta.xml"}
    for path in written:
        _parse(path.read_bytes())
    with pytest.raises(ValidationError, match="give --out"):
        write_feeds(session)


def test_feed_command_uses_the_public_url(world, use_database, monkeypatch, tmp_path, capsys):
    session, _ = world
    monkeypatch.setenv("TRACKER_PUBLIC_URL", "https://stocktake.example.net/")
    use_database(session.get_bind())
    assert main(["feed", "--out", str(tmp_path / "alpha.xml"), "--company", "alpha"]) == 0
    root = _parse((tmp_path / "alpha.xml").read_bytes())
    alternate = next(link for link in root.findall(f"{A}link") if link.get("rel") == "alternate")
    assert alternate.get("href") == "https://stocktake.example.net/company?company=alpha"
    assert main(["feed", "--per-company", str(tmp_path / "all")]) == 0
    assert (tmp_path / "all" / "gamma.xml").exists()
    capsys.readouterr()
    assert main(["feed", "--out", str(tmp_path / "x.xml"), "--company", "nobody"]) == 2
    assert "unknown company 'nobody'" in capsys.readouterr().err


def test_app_url_encodes_parameters():
    assert app_url("company", "http://h:8501/", company="a b&c") == "http://h:8501/company?company=a+b%26c"
    assert app_url("overview", "http://h") == "http://h/overview"
