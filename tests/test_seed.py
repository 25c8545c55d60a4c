"""The seed: built by the pipeline from a corpus folder plus reviews, loaded idempotently by init."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.conftest import DATA_DIR
from tracker.core.errors import CatalogError
from tracker.ingest.bootstrap import initialize, row_counts
from tracker.ingest.seed import load_seed
from tracker.ingest.seedbuild import build_seed, short_quote
from tracker.read.asof import latest_assessments
from tracker.store import models as m

V1 = """## Safety framework
Version 1.0
Effective February 3, 2025

## Thresholds
We will define capability thresholds for CBRN and cyber risks at which risks would be intolerable, and we will
evaluate every frontier model against these thresholds before deployment.

## External testing
We will give the UK AI Security Institute pre-deployment access to test our frontier models.
"""
V2 = V1.replace("Version 1.0", "Version 2.0").replace("February 3, 2025", "April 7, 2026").replace(
    "We will give the UK AI Security Institute pre-deployment access to test our frontier models.",
    "We may consult external parties where we consider it appropriate.")


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """The real catalog with a review folder of our own, and a two-file corpus for Meta."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data, ignore=shutil.ignore_patterns("seed", "raw", "reviews", "*.db*"))
    (data / "seed").mkdir()
    (data / "reviews").mkdir()
    (data / "reviews" / "meta.yaml").write_text(
        "company: meta\nreviewer: test reviewer\nreviewed_on: 2026-11-01\nreviews:\n"
        "  - commitment: seoul-2024/VIII\n    level: 1\n    valid_from: 2026-04-07\n"
        "    source: meta-advanced-ai-scaling-framework\n"
        "    rationale: External parties are only mentioned as an option, with no process.\n"
        "    quote: We may consult external parties where we consider it appropriate.\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "meta_frontier-ai-framework_v1.1_2025-02-03.txt").write_text(V1, encoding="utf-8")
    (corpus / "meta_advanced-ai-scaling-framework_v2_2026-04-07.txt").write_text(V2, encoding="utf-8")
    return data


def test_build_seed_from_corpus_and_reviews(tiny_data, tmp_path, schema_engine):
    corpus, out = tmp_path / "corpus", tmp_path / "seed"
    manifest = build_seed(corpus, out, data_dir=tiny_data, as_of=date(2026, 11, 28))
    assert manifest["corpus_files"] == 2 and manifest["reviews"] == 1 and manifest["versions"] == 2
    versions = [json.loads(line) for line in (out / "versions.jsonl").read_text().splitlines()]
    assert all("text" not in v for v in versions)  # never the documents themselves
    for line in (out / "evidence.jsonl").read_text().splitlines():
        assert len(json.loads(line)["quote"]) <= 330
    assessments = [json.loads(line) for line in (out / "assessments.jsonl").read_text().splitlines()]
    reviewed = [a for a in assessments if a["basis"] == "reviewed"]
    assert reviewed[0]["company_id"] == "meta" and reviewed[0]["level"] == 1
    assert "Quote:" in reviewed[0]["rationale"]
    no_framework = [a for a in assessments if a["company_id"] == "ibm"]
    assert len(no_framework) == 8 and all(a["level"] == 0 for a in no_framework)
    assert no_framework[0]["rationale"] == "No safety framework published."  # the view adds its own date

    # the built seed loads into a fresh database, twice without change, and replays history
    (tiny_data / "seed").rmdir()
    shutil.copytree(out, tiny_data / "seed")
    initialize(schema_engine, tiny_data)
    counts = row_counts(schema_engine)
    initialize(schema_engine, tiny_data)
    assert row_counts(schema_engine) == counts
    with Session(schema_engine) as session:
        at_paris = {a.commitment_id: a for a in latest_assessments(session, date(2025, 2, 10),
                                                                    company_ids=["meta"])}
        today = {a.commitment_id: a for a in latest_assessments(session, date(2026, 11, 28), company_ids=["meta"])}
        assert today["seoul-2024/VIII"].basis == "reviewed" and today["seoul-2024/VIII"].level == 1
        assert at_paris["seoul-2024/VIII"].basis == "automatic"
        changes = session.exec(select(m.ChangeEvent)).all()
        assert any(c.direction in ("weakened", "removed") for c in changes)


def test_review_with_a_quote_not_in_the_document_is_refused(tiny_data, tmp_path):
    review = tiny_data / "reviews" / "meta.yaml"
    review.write_text(review.read_text().replace("We may consult external parties", "We always consult"))
    with pytest.raises(CatalogError, match="quote is not in"):
        build_seed(tmp_path / "corpus", tmp_path / "seed", data_dir=tiny_data)


def test_broken_seed_line_names_file_and_line(engine, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "versions.jsonl").write_text('{"source_id": "anthropic-rsp", "text_sha256": "ab", "url": "https://x"}\n'
                                         "{not json\n")
    with Session(engine) as session, pytest.raises(CatalogError, match=r"versions.jsonl:2: invalid JSON"):
        load_seed(session, seed)


def test_shipped_seed_covers_every_seoul_signatory(seeded_engine):
    with Session(seeded_engine) as session:
        if not session.exec(select(sa.func.count()).select_from(m.DocumentVersion)).one():
            pytest.skip("no seed shipped yet")
        signatories = session.exec(select(m.Signature.company_id).where(m.Signature.framework_id == "seoul-2024")).all()
        current = latest_assessments(session, date.today(), framework_id="seoul-2024", company_ids=signatories)
        covered = {(a.company_id, a.commitment_id) for a in current}
        commitments = session.exec(select(m.Commitment.id).where(m.Commitment.framework_id == "seoul-2024")).all()
        missing = [(c, k) for c in signatories for k in commitments if (c, k) not in covered]
        assert not missing, missing[:10]
        for assessment in current:  # a level always comes with evidence or a reason
            assert assessment.rationale or assessment.version_id


def test_short_quote_keeps_whole_sentences():
    text = "First sentence is here. Second one follows. " + "word " * 200
    assert short_quote(text, 60) == "First sentence is here. Second one follows."
    assert short_quote("short") == "short"
