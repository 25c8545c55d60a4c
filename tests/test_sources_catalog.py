"""data/sources/*.yaml: schema, unique ids, usable patterns, and every corpus copy owned by one source."""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import pytest
import yaml

from scrapers.adapters import ADAPTERS
from tests.conftest import CORPUS_DIR
from tracker.ingest.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = ROOT / "data" / "sources"
CORPUS = CORPUS_DIR

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
            if version.publisher_sha256:
                assert re.fullmatch(r"[0-9a-f]{64}", version.publisher_sha256), f"{source.id}: {version.label}"
            if version.silent_reupload:
                assert version.first_seen and version.first_seen > version.published_on, f"{source.id}: {version}"
            if version.archived_url:
                assert version.archived_url.startswith("https://web.archive.org/web/"), version.archived_url
                assert version.archived_url.endswith(version.url or ""), f"{source.id} {version.label}: the "\
                    "archived copy must be of the version's own document"


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
    files = sorted(p for p in CORPUS.glob("*.txt") if CORPUS_NAME.match(p.name)) if CORPUS.is_dir() else []
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


WAYBACK = re.compile(r"^https://web\.archive\.org/web/(?P<stamp>\d{14})id_/(?P<url>.+)$")


def manifest_rows() -> list[dict]:
    path = CORPUS / "manifest.csv"
    if not path.is_file():
        pytest.skip("shared corpus manifest not present")

    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def known_by_corpus_version() -> dict[tuple[str, str], tuple[str, dict, dict | None]]:
    """(company, manifest version id) -> (source id, version entry, edition entry or None)."""
    found = {}
    for company, source in all_sources():
        for version in source.get("versions", []):
            found[(company, version.get("corpus_version"))] = (source["id"], version, None)
            for edition in version.get("editions", []):
                found[(company, edition["corpus_version"])] = (source["id"], version, edition)
    return found


PROVIDERS = {"Anthropic": "anthropic", "OpenAI": "openai", "Google DeepMind": "google", "xAI": "xai", "Meta": "meta",
             "Amazon": "amazon", "Microsoft": "microsoft", "NVIDIA": "nvidia", "Cohere": "cohere", "G42": "g42",
             "Naver": "naver", "Magic": "magic"}


@pytest.mark.corpus
def test_every_manifest_version_is_in_the_catalog_with_its_own_links_and_hashes():
    """Each manifest row is a version (or a Korean edition) with the manifest's date, links, hash and flags."""
    known = known_by_corpus_version()
    for row in manifest_rows():
        key = (PROVIDERS[row["provider"]], row["version"])
        assert key in known, f"manifest row {key} is not a version in data/sources"
        source_id, version, edition = known[key]
        entry = edition or version
        where = f"{source_id} {row['version']}"
        assert entry["published_on"].isoformat() == row["publication_date"], where
        wayback = WAYBACK.match(row["retrieval_url"])
        if wayback:
            assert entry["url"] == wayback["url"] and entry["archived_url"] == row["retrieval_url"], where
            assert wayback["stamp"] == row["wayback_capture_timestamp"], where
        elif row["retrieval_url"]:
            assert entry["url"] == row["retrieval_url"] and "archived_url" not in entry, where
        assert entry.get("publisher_sha256") == (row["sha256"] or None), where
        assert entry.get("corpus_file") == (row["txt_filename"].removeprefix("documents/") or None), where
        assert entry.get("revision_account") == (row["revision_account_filename"].removeprefix("changelogs/") or None)
        reupload = re.search(r"-reupload-(\d{4})(\d{2})(\d{2})$", row["version"])
        if edition is None:
            assert bool(version.get("silent_reupload")) == bool(reupload), where
            if reupload:
                assert version["first_seen"].isoformat() == "-".join(reupload.groups()), where


@pytest.mark.corpus
def test_versions_are_listed_in_history_order_and_reuploads_keep_their_label():
    for _, source in all_sources():
        versions = source.get("versions", [])
        order = [v.get("first_seen") or v["published_on"] for v in versions]
        assert order == sorted(order), source["id"]
        for before, after in itertools.pairwise(versions):
            if after.get("silent_reupload"):
                assert after["label"] == before["label"], f"{source['id']}: re-upload {after['corpus_version']}"


def test_every_seoul_signatory_has_a_watched_source():
    """So `refresh` notices a first publication: its framework, or its safety / responsible-AI page."""
    catalog = load_catalog(ROOT / "data")
    signatories = {c.id for c in catalog.companies if any(s.framework == "seoul-2024" for s in c.signatures)}
    watched = {company for company, source in catalog.sources
               if source.active and source.fetchable and source.kind in ("framework", "policy-page")}
    assert signatories - watched == set()
