"""data/sources/*.yaml: schema, unique ids, usable patterns, and every corpus copy owned by one source."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from scrapers.adapters import ADAPTERS, SourceSpec

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = ROOT / "data" / "sources"
CORPUS = ROOT.parent / "shared" / "corpus"

# Company ids of REFERENCE section 6.
COMPANIES = {
    "amazon", "anthropic", "cohere", "google", "g42", "ibm", "inflection", "meta", "microsoft", "mistral", "naver",
    "openai", "samsung", "tii", "xai", "zhipu", "magic", "minimax", "01ai", "nvidia", "adobe", "palantir",
    "salesforce", "scaleai", "stability", "apple",
}
KINDS = {"framework", "companion", "version-history", "policy-page", "transparency-hub", "system-cards", "haip-report"}
FORMATS = {"pdf", "html"}
FRAMEWORKS = {"seoul-2024", "white-house-2023", "bletchley-2023", "hiroshima-2023"}
REQUIRED = ("id", "title", "kind", "format", "adapter", "url", "frameworks", "licence")
OPTIONAL = {"link_pattern", "link_text_pattern", "corpus_prefix", "notes", "versions", "fetchable", "supersedes", "active"}
CORPUS_NAME = re.compile(r"^(?P<stem>.+)_(?P<date>\d{4}-\d{2}-\d{2})\.txt$")


def load_files() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SOURCES_DIR.glob("*.yaml"))}


def all_sources() -> list[tuple[str, dict]]:
    return [(data["company"], source) for data in load_files().values() for source in data["sources"]]


def test_every_file_names_a_known_company_once():
    files = load_files()
    assert files, "no data/sources/*.yaml"
    for name, data in files.items():
        assert set(data) == {"company", "sources"}, name
        assert data["company"] in COMPANIES, name
        assert name == f"{data['company']}.yaml"
        assert isinstance(data["sources"], list) and data["sources"], name


def test_sources_follow_the_schema():
    for company, source in all_sources():
        where = source.get("id", "?")
        missing = [key for key in REQUIRED if not source.get(key)]
        assert not missing, f"{where}: missing {missing}"
        assert not set(source) - set(REQUIRED) - OPTIONAL, f"{where}: unknown keys {set(source) - set(REQUIRED) - OPTIONAL}"
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", source["id"]), where
        assert source["id"].startswith(company + "-"), where
        assert source["kind"] in KINDS, where
        assert source["format"] in FORMATS, where
        assert source["adapter"] in ADAPTERS, where
        assert source["url"].startswith(("https://", "http://")), where
        assert set(source["frameworks"]) <= FRAMEWORKS and source["frameworks"], where
        for key in ("link_pattern", "link_text_pattern"):
            if source.get(key):
                re.compile(source[key])
        if source["adapter"] == "index":
            assert source.get("link_pattern") or source.get("link_text_pattern"), f"{where}: index needs a pattern"
        else:
            assert not source.get("link_pattern") and not source.get("link_text_pattern"), where
        for version in source.get("versions", []):
            assert version.get("label") and isinstance(version.get("published_on"), date), f"{where}: {version}"
            if "sha256" in version:
                assert re.fullmatch(r"[0-9a-f]{64}", version["sha256"]), f"{where}: {version['label']}"
        spec = SourceSpec(
            id=source["id"], url=source["url"], format=source["format"], adapter=source["adapter"],
            link_pattern=source.get("link_pattern"), link_text_pattern=source.get("link_text_pattern"),
        )
        assert spec.id == source["id"]


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
