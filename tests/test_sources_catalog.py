"""data/sources/*.yaml: schema, unique ids, usable patterns, and every corpus copy owned by one source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scrapers.adapters import ADAPTERS
from tracker.ingest.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = ROOT / "data" / "sources"
CORPUS = ROOT.parent / "shared" / "corpus"

CORPUS_NAME = re.compile(r"^(?P<stem>.+)_(?P<date>\d{4}-\d{2}-\d{2})\.txt$")


def load_files() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SOURCES_DIR.glob("*.yaml"))}


def all_sources() -> list[tuple[str, dict]]:
    return [(data["company"], source) for data in load_files().values() for source in data["sources"]]


def test_every_file_names_its_company():
    files = load_files()
    assert files, "no data/sources/*.yaml"
    for name, data in files.items():
        assert name == f"{data['company']}.yaml"
        assert isinstance(data["sources"], list) and data["sources"], name


def test_sources_pass_the_catalog_schema_and_our_conventions():
    """The schema itself is tracker.ingest.catalog's (one place); these are the conventions on top of it."""
    catalog = load_catalog(ROOT / "data")
    assert catalog.sources
    for company, source in catalog.sources:
        assert source.id.startswith(company + "-"), source.id
        assert source.frameworks and source.licence, source.id
        assert source.adapter in ADAPTERS, source.id
        if source.adapter == "document":
            assert not source.link_pattern and not source.link_text_pattern, source.id
        for version in source.versions:
            assert version.label and version.published_on, f"{source.id}: {version}"
            if version.sha256:
                assert re.fullmatch(r"[0-9a-f]{64}", version.sha256), f"{source.id}: {version.label}"


def test_ids_are_unique():
    ids = [source["id"] for _, source in all_sources()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_companies_with_frameworks_have_a_framework_source():
    # REFERENCE 5.1: the twelve companies METR lists as having published a framework.
    with_frameworks = {company for company, source in all_sources() if source["kind"] == "framework"}
    assert with_frameworks == {
        "anthropic", "openai", "google", "magic", "naver", "meta", "g42", "cohere", "microsoft", "amazon", "xai", "nvidia",
    }


@pytest.mark.corpus
def test_every_corpus_file_belongs_to_exactly_one_source_and_version():
    files = sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
    if not files:
        pytest.skip("shared corpus not present")
    sources = [source for _, source in all_sources() if source.get("corpus_prefix")]
    for path in files:
        owners = [source for source in sources if path.name.startswith(source["corpus_prefix"])]
        assert len(owners) == 1, f"{path.name}: matched by {[s['id'] for s in owners]}"
        match = CORPUS_NAME.match(path.name)
        assert match, f"{path.name}: no date in the file name"
        dates = {version["published_on"].isoformat() for version in owners[0].get("versions", [])}
        assert match["date"] in dates, f"{path.name}: {match['date']} not in {owners[0]['id']} versions {sorted(dates)}"
