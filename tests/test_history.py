"""Complete history (issue 16): every version in order, linked to itself, with the company's own account.

The first part runs everywhere on small texts; the second builds the seed from `../shared/corpus` and checks it
against the corpus manifest (skipped when the corpus is absent; point TRACKER_SHARED_DIR elsewhere if needed).
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session, select

from tests.conftest import CORPUS_DIR, DATA_DIR
from tracker.analysis.announcement import parse_account, version_account
from tracker.core.errors import CatalogError
from tracker.ingest.bootstrap import initialize
from tracker.ingest.catalog import KnownVersion, load_catalog
from tracker.ingest.pipeline import import_file
from tracker.ingest.seedbuild import add_missing_frameworks, build_seed
from tracker.publish.stocktake import build_stocktake
from tracker.read.history import format_history, source_history
from tracker.read.queries import published_frameworks_by
from tracker.store import models as m
from tracker.store.versions import effective_date, lineage_versions, order_key

ISO_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")


def _version(**values):
    base = {"published_on": date(2024, 10, 15), "fetched_at": datetime(2024, 10, 15, tzinfo=UTC),
            "silent_reupload": False, "first_seen_on": None, "id": 1}
    return SimpleNamespace(**(base | values))


def test_a_silent_reupload_speaks_for_the_day_it_was_first_seen():
    original = _version()
    reupload = _version(silent_reupload=True, first_seen_on=date(2024, 11, 1), id=2,
                        fetched_at=datetime(2024, 11, 1, tzinfo=UTC))
    later = _version(published_on=date(2025, 3, 31), id=3, fetched_at=datetime(2025, 3, 31, tzinfo=UTC))
    assert effective_date(original) == date(2024, 10, 15) and effective_date(reupload) == date(2024, 11, 1)
    assert sorted([later, reupload, original], key=order_key) == [original, reupload, later]


def test_the_catalog_refuses_an_undated_reupload_and_versions_out_of_order(tmp_path):
    with pytest.raises(PydanticValidationError, match="first_seen"):
        KnownVersion(label="2.0", published_on=date(2024, 10, 15), silent_reupload=True)
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("seed", "raw", "reviews", "*.db*"))
    path = data / "sources" / "magic.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("first_seen: 2024-07-20", "first_seen: 2024-07-01"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"first_seen is before published_on|oldest first"):
        load_catalog(data)


ACCOUNT = """# Example Co Framework v2: revision account

Predecessor: v1.

## Version-history entry, policy page
Source: https://example.com/policy (fetched 2026-09-02). Text verbatim:

```
## March 1, 2026
We now require external red-teaming by independent experts before every frontier deployment.
```

## Redline
Source: https://example.com/redline.pdf. We removed the annual audit by an accredited third party.
"""


def _passage(text: str):
    from tracker.analysis.passages import Passage
    return Passage(0, 0, len(text), text, "", None)


def test_the_account_announces_a_change_in_the_companys_own_words():
    from tracker.analysis.announcement import judge
    from tracker.analysis.changes import DetectedChange

    account = parse_account(ACCOUNT)
    assert [e.kind for e in account.entries] == ["version history"]  # the redline is not an account
    announced = DetectedChange("strengthened", [], _passage("We will test models internally."),
                               _passage("We will require external red-teaming by independent experts before "
                                        "every frontier deployment."), 0.5)
    judged = judge(announced, account, True)
    assert judged.state == "announced" and judged.kind == "version history"
    assert judged.quote is not None and judged.quote.startswith("We now require external red-teaming")
    quiet = DetectedChange("removed", [], _passage("We will commission an annual audit by an accredited auditor."),
                           None, 0.0)
    assert judge(quiet, account, True).state == "silent"
    assert judge(quiet, parse_account("NONE. Checked the document."), False).state == "no-changelog"


def test_a_cumulative_changelog_announces_only_what_is_new_in_this_version():
    old = "## Changelog\n\n## 2025\n\nWe introduced quarterly capability evaluations for all frontier models.\n"
    new = old + "\n## 2026\n\nWe removed the pause commitment for models below the critical threshold.\n"
    account, has_account = version_account(new, old)
    assert has_account
    assert [e.text for e in account.entries] == [
        "We removed the pause commitment for models below the critical threshold."]


V1 = """## Responsible Scaling Policy
Version 1.0

## Evaluations
We will evaluate every frontier model for CBRN and cyber capabilities before deployment and publish the results.

## Pausing
We commit to pause training if our safeguards fall behind the capability thresholds.
"""
V2 = V1.replace("Version 1.0", "Version 2.0").replace(
    "and publish the results.", "and share a summary with selected partners.")
V3 = V2.replace("Version 2.0", "Version 2.1").replace(
    "We commit to pause training", "We may consider pausing training")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_each_imported_version_links_to_its_own_document_and_archived_copy(session, tmp_path):
    store = tmp_path / "raw"
    from tracker.core.rawstore import RawStore

    import_file(session, _write(tmp_path, "anthropic_rsp_v2.0_2024-10-15.txt", V1), "anthropic-rsp",
                raw_store=RawStore(store))
    reupload = import_file(session, _write(tmp_path, "anthropic_rsp_v2.0-reupload-20241101_2024-10-15.txt", V2),
                           "anthropic-rsp", raw_store=RawStore(store)).version
    source = session.get(m.Source, "anthropic-rsp")
    assert source is not None and reupload.url != source.url  # never the landing page
    assert reupload.url == ("https://assets.anthropic.com/m/24a47b00f10301cd/original/"
                            "Anthropic-Responsible-Scaling-Policy-2024-10-15.pdf")
    assert reupload.archived_url == f"https://web.archive.org/web/20241101012028id_/{reupload.url}"
    assert reupload.publisher_sha256 == "22b37ecf913ea432e4c48a050a1b7fade32e155c96d7b6a9f85c2977501902f3"
    assert reupload.raw_sha256 != reupload.publisher_sha256  # the stored file is our text copy, not theirs
    assert reupload.silent_reupload and effective_date(reupload) == date(2024, 11, 1)
    assert reupload.version_label == "2.0"
    changes = session.exec(select(m.ChangeEvent).where(m.ChangeEvent.new_version_id == reupload.id)).all()
    assert changes and all(c.published_on == date(2024, 11, 1) for c in changes)


def test_a_backfilled_version_leaves_no_change_between_non_adjacent_versions(session, tmp_path):
    from tracker.core.rawstore import RawStore

    raw = RawStore(tmp_path / "raw")
    first = import_file(session, _write(tmp_path, "anthropic_rsp_v1.0_2023-09-19.txt", V1), "anthropic-rsp",
                        raw_store=raw).version
    last = import_file(session, _write(tmp_path, "anthropic_rsp_v2.1_2025-03-31.txt", V3), "anthropic-rsp",
                       raw_store=raw).version
    middle = import_file(session, _write(tmp_path, "anthropic_rsp_v2.0_2024-10-15.txt", V2), "anthropic-rsp",
                         raw_store=raw).version
    pairs = {(c.old_version_id, c.new_version_id) for c in session.exec(select(m.ChangeEvent))}
    assert pairs == {(first.id, middle.id), (middle.id, last.id)}
    assert (last.previous_version_id, middle.previous_version_id) == (middle.id, first.id)
    text = format_history(source_history(session, "anthropic-rsp"))
    assert text.index("v1.0 (2023-09-19)") < text.index("v2.0 (2024-10-15)") < text.index("v2.1 (2025-03-31)")
    assert "never retrieved" not in text and "v3.4 (2026-07-08)" in text  # known versions listed in place


META_V1 = V1.replace("Responsible Scaling Policy", "Frontier AI Framework")
META_V2 = META_V1.replace("Frontier AI Framework", "Advanced AI Scaling Framework").replace(
    "We commit to pause training", "We may pause training")


def test_a_superseded_document_stops_counting_and_level_zero_rows_say_the_view_date(session, tmp_path):
    from tracker.core.rawstore import RawStore

    raw = RawStore(tmp_path / "raw")
    import_file(session, _write(tmp_path, "meta_frontier-ai-framework_v1.1_2025-02-03.txt", META_V1),
                "meta-frontier-ai-framework", raw_store=raw)
    import_file(session, _write(tmp_path, "meta_advanced-ai-scaling-framework_v2_2026-04-07.txt", META_V2),
                "meta-advanced-ai-scaling-framework", raw_store=raw)
    add_missing_frameworks(session, "seoul-2024", date(2026, 12, 3))
    session.flush()
    before = build_stocktake(session, "seoul-2024", date(2025, 9, 1), date(2025, 2, 10))
    after = build_stocktake(session, "seoul-2024", date(2026, 9, 1), date(2026, 2, 19))
    in_force = lambda st: {d.source_id for d in st.documents if "in force" in d.why}  # noqa: E731
    assert "meta-frontier-ai-framework" in in_force(before)
    assert "meta-frontier-ai-framework" not in in_force(after) and "meta-advanced-ai-scaling-framework" in in_force(after)
    paris = build_stocktake(session, "seoul-2024", date(2025, 2, 10), date(2024, 5, 21))
    ibm = [r for r in paris.levels if r.company_id == "ibm"]
    assert ibm and all(r.rationale == "No safety framework published as of 2025-02-10." for r in ibm)


# --------------------------------------------------------------------------------------------------------
# Against the corpus manifest: the seed built from the whole corpus.


def _manifest() -> list[dict]:
    with (CORPUS_DIR / "manifest.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


WAYBACK = re.compile(r"^https://web\.archive\.org/web/\d{14}id_/(?P<url>.+)$")


@pytest.fixture(scope="module")
def corpus_seed(tmp_path_factory):
    """The seed built from the shared corpus, and a SQLite database initialised with it (built once)."""
    if not (CORPUS_DIR / "manifest.csv").is_file():
        pytest.skip("../shared/corpus is not present")
    root = tmp_path_factory.mktemp("corpus-seed")
    data = root / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("seed", "raw", "*.db*"))
    manifest = build_seed(CORPUS_DIR, data / "seed", data_dir=data, as_of=date(2026, 12, 3))
    engine = sa.create_engine(f"sqlite:///{root / 'tracker.db'}")
    initialize(engine, data)
    yield manifest, engine
    engine.dispose()


@pytest.mark.corpus
def test_every_corpus_document_is_in_the_seed_or_a_stated_skip(corpus_seed):
    manifest, engine = corpus_seed
    skipped = {s["file"]: s["reason"] for s in manifest["skipped"]}
    assert all(len(reason) > 20 for reason in skipped.values())
    with Session(engine) as session:
        catalog = {k["corpus_file"]: (s.id, k) for s in session.exec(select(m.Source)) for k in s.known_versions
                   if k.get("corpus_file")}
        stored = {(v.source_id, v.version_label, v.first_seen_on) for v in session.exec(select(m.DocumentVersion))}
    for row in _manifest():
        name = row["txt_filename"].removeprefix("documents/")
        if not name:
            continue
        if name in skipped:
            assert "-ko" in name  # only Naver's Korean editions are skipped
            continue
        source_id, known = catalog[name]
        first_seen = date.fromisoformat(known["first_seen"]) if known.get("first_seen") else None
        assert (source_id, known["label"], first_seen) in stored, name


@pytest.mark.corpus
def test_every_reupload_is_flagged_and_dated_when_first_seen(corpus_seed):
    _, engine = corpus_seed
    expected = {}
    for row in _manifest():
        found = re.search(r"-reupload-(\d{4})(\d{2})(\d{2})$", row["version"])
        if found:
            expected[row["sha256"]] = date(*map(int, found.groups()))
    assert len(expected) == 9
    with Session(engine) as session:
        flagged = {v.publisher_sha256: effective_date(v) for v in session.exec(
            select(m.DocumentVersion).where(m.DocumentVersion.silent_reupload == True))}  # noqa: E712
    assert flagged == expected


@pytest.mark.corpus
def test_no_change_event_between_non_adjacent_versions(corpus_seed):
    _, engine = corpus_seed
    with Session(engine) as session:
        previous: dict[int, int | None] = {}
        for source in session.exec(select(m.Source)):
            ordered = lineage_versions(session, source)
            previous.update({after.id: before.id for before, after in itertools.pairwise(ordered)})
        events = session.exec(select(m.ChangeEvent)).all()
        assert events
        for event in events:
            assert event.old_version_id == previous.get(event.new_version_id), event.id
        steps = [(v.version_label, effective_date(v)) for v in lineage_versions(session, session.get(m.Source, "anthropic-rsp"))
                 if v.id in {e.new_version_id for e in events}]
    labels = [label for label, _ in steps]
    assert [lab for lab in labels if lab in ("2.0", "2.1", "2.2", "3.0", "3.1", "3.2", "3.3", "3.4")][:1] == ["2.0"]
    assert {"2.2", "3.0", "3.1", "3.2", "3.3", "3.4"} <= set(labels)
    assert len({when for _, when in steps}) == len(steps)  # each step has its own date


@pytest.mark.corpus
def test_every_version_links_to_its_own_document(corpus_seed):
    _, engine = corpus_seed
    expected = {}
    for row in _manifest():
        wayback = WAYBACK.match(row["retrieval_url"])
        expected[row["sha256"]] = (wayback["url"] if wayback else row["retrieval_url"],
                                   row["retrieval_url"] if wayback else None)
    with Session(engine) as session:
        versions = session.exec(select(m.DocumentVersion)).all()
        assert len(versions) == 46
        for version in versions:
            assert (version.url, version.archived_url) == expected[version.publisher_sha256], version.source_id
        evidence_links = session.execute(sa.select(m.DocumentVersion.url, m.DocumentVersion.publisher_sha256).join(
            m.Evidence, m.Evidence.version_id == m.DocumentVersion.id).distinct()).all()
        assert all(url == expected[sha][0] for url, sha in evidence_links)


@pytest.mark.corpus
def test_first_publication_dates_come_from_the_earliest_framework_version(corpus_seed):
    _, engine = corpus_seed
    providers = {"Anthropic": "anthropic", "OpenAI": "openai", "Google DeepMind": "google", "xAI": "xai",
                 "Meta": "meta", "Amazon": "amazon", "Microsoft": "microsoft", "NVIDIA": "nvidia", "Cohere": "cohere",
                 "G42": "g42", "Naver": "naver", "Magic": "magic"}
    first: dict[str, date] = {}
    for row in _manifest():
        if row["is_companion"] == "no":
            company, when = providers[row["provider"]], date.fromisoformat(row["publication_date"])
            first[company] = min(first.get(company, when), when)
    assert first["anthropic"] == date(2023, 9, 19) and first["google"] == date(2024, 5, 17)
    with Session(engine) as session:
        assert published_frameworks_by(session, list(first), date(2026, 12, 3)) == first


@pytest.mark.corpus
@pytest.mark.parametrize("as_of", [date(2025, 2, 10), date(2025, 9, 1), date(2026, 2, 19)])
def test_no_historic_stocktake_row_explains_itself_with_a_later_date(corpus_seed, as_of):
    _, engine = corpus_seed
    with Session(engine) as session:
        stocktake = build_stocktake(session, "seoul-2024", as_of, date(2024, 5, 21))
    later = [(r.company_id, r.commitment_id, d) for r in stocktake.levels for d in ISO_DATE.findall(r.rationale)
             if date.fromisoformat(d) > as_of]
    assert not later, later[:5]


@pytest.mark.corpus
def test_no_superseded_document_is_counted_in_force(corpus_seed):
    _, engine = corpus_seed
    with Session(engine) as session:
        stocktake = build_stocktake(session, "seoul-2024", date(2026, 9, 1), date(2026, 2, 19))
    in_force = {d.source_id for d in stocktake.documents if "in force" in d.why}
    assert not in_force & {"meta-frontier-ai-framework", "naver-ai-safety-framework", "xai-risk-management-framework"}
    assert {"meta-advanced-ai-scaling-framework", "naver-ai-safety-framework-2", "xai-frontier-ai-framework"} <= in_force
    xai = [d for d in stocktake.documents if d.source_id == "xai-frontier-ai-framework"]
    assert [d.version_label for d in xai] == ["2026-06-30"]



def test_rebuilding_the_seed_from_the_same_corpus_gives_the_same_bytes(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("seed", "raw", "reviews", "*.db*"))
    (data / "reviews").mkdir()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "meta_frontier-ai-framework_v1.1_2025-02-03.txt", META_V1)
    _write(corpus, "meta_frontier-ai-framework_v1.1-reupload-20250328_2025-02-03.txt", META_V1 + "\nVersion 1.1\n")
    _write(corpus, "meta_advanced-ai-scaling-framework_v2_2026-04-07.txt", META_V2)
    first = build_seed(corpus, tmp_path / "one", data_dir=data, as_of=date(2026, 12, 3))
    second = build_seed(corpus, tmp_path / "two", data_dir=data, as_of=date(2026, 12, 3))
    assert first == second and first["corpus_files"] == 3
    for name in ("versions.jsonl", "evidence.jsonl", "assessments.jsonl", "changes.jsonl", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
