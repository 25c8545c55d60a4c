"""Versioning, mapping and change detection when documents enter the store (import-file and refresh)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scrapers.http import FetchContext
from tests.fakeweb import FakeWeb, Reply
from tracker.cli import main
from tracker.core.errors import NotFoundError, ValidationError
from tracker.core.locks import LockBusy, refresh_lock
from tracker.core.rawstore import RawStore
from tracker.ingest.pipeline import corpus_entry, corpus_files, corpus_source, import_file
from tracker.ingest.refresh import refresh
from tracker.store import models as m

POLICY_V1 = """## Frontier Safety Policy
Version 1.0
Effective January 10, 2025

## Risk thresholds
We will define capability thresholds for CBRN and cyber risks at which risks would be intolerable, and we
will evaluate every frontier model against these thresholds before deployment.

## Governance
The board of directors must approve every change to this policy, and we will publish each update.

## External testing
We will give the UK AI Security Institute pre-deployment access to test our frontier models.
"""

POLICY_V2 = POLICY_V1.replace("Version 1.0", "Version 2.0").replace("January 10, 2025", "June 2, 2025").replace(
    "We will give the UK AI Security Institute pre-deployment access to test our frontier models.",
    "We may share selected results with external parties where appropriate.",
)


def ctx() -> FetchContext:
    return FetchContext(user_agent="tracker-tests", per_host_interval=0, retries=1, backoff=0,
                        connect_timeout=1, read_timeout=2)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def versions_of(session: Session, source_id: str) -> list[m.DocumentVersion]:
    return list(session.exec(select(m.DocumentVersion).where(m.DocumentVersion.source_id == source_id)
                             .order_by(m.DocumentVersion.id)))


def test_import_file_creates_a_mapped_version_with_levels(session, tmp_path):
    store = RawStore(tmp_path / "raw")
    result = import_file(session, write(tmp_path, "v1.txt", POLICY_V1), "anthropic-rsp", raw_store=store)
    assert result.outcome == "new_version"
    version = result.version
    assert version.published_on == date(2025, 1, 10)
    assert version.version_label == "1.0"
    assert store.has(version.raw_sha256)
    assert version.mapped_levels["seoul-2024/II"]["level"] >= 1
    evidence = session.exec(select(m.Evidence).where(m.Evidence.version_id == version.id)).all()
    assert any(e.commitment_id == "seoul-2024/II" and "thresholds" in e.quote for e in evidence)
    for e in evidence:  # every quote can be found at its offsets
        assert " ".join(e.quote.split()) in " ".join(version.text[e.start:e.end].split())
    levels = session.exec(select(m.Assessment).where(m.Assessment.company_id == "anthropic")).all()
    assert {a.commitment_id for a in levels} >= {"seoul-2024/II", "seoul-2024/VI"}
    assert all(a.basis == "automatic" and a.valid_from == date(2025, 1, 10) for a in levels)


def test_same_text_twice_is_unchanged_and_adds_nothing(session, tmp_path):
    path = write(tmp_path, "v1.txt", POLICY_V1)
    import_file(session, path, "anthropic-rsp", raw_store=RawStore(tmp_path / "raw"))
    counts = {t: len(session.exec(select(t)).all()) for t in (m.DocumentVersion, m.Evidence, m.Assessment)}
    again = import_file(session, path, "anthropic-rsp", raw_store=RawStore(tmp_path / "raw"))
    assert again.outcome == "unchanged"
    assert {t: len(session.exec(select(t)).all()) for t in counts} == counts


def test_new_version_is_compared_and_weakening_flagged(session, tmp_path):
    store = RawStore(tmp_path / "raw")
    import_file(session, write(tmp_path, "v1.txt", POLICY_V1), "anthropic-rsp", raw_store=store)
    result = import_file(session, write(tmp_path, "v2.txt", POLICY_V2), "anthropic-rsp", raw_store=store)
    assert result.outcome == "new_version" and result.changes >= 1
    changes = session.exec(select(m.ChangeEvent).where(m.ChangeEvent.new_version_id == result.version.id)).all()
    flagged = [c for c in changes if c.direction in ("weakened", "removed")]
    assert flagged, [c.direction for c in changes]
    assert any("AI Security Institute" in (c.old_quote or "") for c in flagged)
    assert result.version.previous_version_id is not None
    assert not result.version.silent_reupload


def test_silent_reupload_when_text_changes_but_label_does_not(session, tmp_path):
    store = RawStore(tmp_path / "raw")
    import_file(session, write(tmp_path, "a.txt", POLICY_V1), "anthropic-rsp", raw_store=store)
    edited = POLICY_V1.replace("before deployment", "before external deployment")
    result = import_file(session, write(tmp_path, "b.txt", edited), "anthropic-rsp", raw_store=store,
                         published_on=date(2025, 3, 1))
    assert result.version.version_label == "1.0"
    assert result.version.silent_reupload


def test_backfilled_older_version_slots_in_between(session, tmp_path):
    store = RawStore(tmp_path / "raw")
    v2 = import_file(session, write(tmp_path, "v2.txt", POLICY_V2), "anthropic-rsp", raw_store=store).version
    v1 = import_file(session, write(tmp_path, "v1.txt", POLICY_V1), "anthropic-rsp", raw_store=store).version
    session.refresh(v2)
    assert v1.previous_version_id is None
    assert v2.previous_version_id == v1.id
    changes = session.exec(select(m.ChangeEvent)).all()
    assert changes and all(c.old_version_id == v1.id and c.new_version_id == v2.id for c in changes)


def test_import_errors_are_clear(session, tmp_path):
    with pytest.raises(NotFoundError, match="unknown source"):
        import_file(session, write(tmp_path, "x.txt", POLICY_V1), "no-such-source")
    with pytest.raises(ValidationError, match="no such file"):
        import_file(session, tmp_path / "missing.pdf", "anthropic-rsp")
    bad = tmp_path / "fake.pdf"
    bad.write_bytes(b"%PDF-1.7 this is not really a pdf")
    with pytest.raises(ValidationError, match=str(bad.name)):
        import_file(session, bad, "anthropic-rsp", raw_store=RawStore(tmp_path / "raw"))
    assert session.exec(select(m.DocumentVersion)).all() == []


def test_import_file_cli(engine, use_database, tmp_path, capsys):
    use_database(engine)
    path = write(tmp_path, "v1.txt", POLICY_V1)
    assert main(["import-file", str(path), "--source", "anthropic-rsp"]) == 0
    assert "new version" in capsys.readouterr().out
    assert main(["import-file", str(path), "--source", "anthropic-rsp"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert main(["import-file", str(path), "--source", "nope"]) == 2
    assert "unknown source" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ refresh


def point(session: Session, urls: dict[str, str]) -> None:
    """Aim some sources at the fake web and switch every other source off."""
    for source in session.exec(select(m.Source)):
        source.active = source.id in urls
        if source.id in urls:
            source.url, source.adapter, source.format = urls[source.id], "document", "html"
    session.commit()


def page(body: str) -> bytes:
    return f"<html><body><main>{body}</main></body></html>".encode()


def test_refresh_versions_new_unchanged_and_failed_sources(engine, tmp_path):
    v1_html = page("<h2>Thresholds</h2><p>We will define capability thresholds for CBRN risks and will "
                   "evaluate models against them before deployment.</p>")
    with FakeWeb() as web, Session(engine) as session:
        web.route("/good", Reply(body=v1_html, etag='"a"'))
        web.route("/gone", Reply(status=404))
        web.route("/flaky", Reply(status=500), Reply(body=page("<p>We will publish our safety framework.</p>")))
        point(session, {"anthropic-rsp": web.url("/good"), "openai-preparedness-framework": web.url("/gone"),
                        "google-frontier-safety-framework": web.url("/flaky")})
        store = RawStore(tmp_path / "raw")
        first = refresh(engine, context=ctx(), raw_store=store)
        by_source = {o.source_id: o for o in first.outcomes}
        assert by_source["anthropic-rsp"].outcome == "new_version"
        assert by_source["openai-preparedness-framework"].outcome == "failed"
        assert by_source["openai-preparedness-framework"].reason == "http_404"
        assert by_source["google-frontier-safety-framework"].outcome == "new_version"  # 500 then success: retried

        second = refresh(engine, context=ctx(), raw_store=store)
        by_source = {o.source_id: o for o in second.outcomes}
        assert by_source["anthropic-rsp"].outcome == "not_modified"  # ETag sent, 304 received
        assert web.hits("/good")[-1].headers.get("if-none-match") == '"a"'
        assert by_source["google-frontier-safety-framework"].outcome == "unchanged"

        attempts = session.exec(select(m.FetchAttempt)).all()
        assert len(attempts) == 6
        assert {a.outcome for a in attempts} == {"new_version", "failed", "not_modified", "unchanged"}
        failed = [a for a in attempts if a.outcome == "failed"]
        assert all(a.reason == "http_404" and a.error for a in failed)
        runs = session.exec(select(m.RefreshRun).order_by(m.RefreshRun.id)).all()
        assert [r.status for r in runs] == ["finished", "finished"]
        assert runs[0].counts == {"new_version": 2, "unchanged": 0, "not_modified": 0, "failed": 1}
        assert len(session.exec(select(m.DocumentVersion)).all()) == 2


def test_refresh_after_a_crash_leaves_no_duplicates(engine, tmp_path, monkeypatch):
    with FakeWeb() as web, Session(engine) as session:
        web.route("/a", Reply(body=page("<p>We will test every model before deployment.</p>")))
        web.route("/b", Reply(body=page("<p>We must protect model weights with strong security.</p>")))
        point(session, {"anthropic-rsp": web.url("/a"), "openai-preparedness-framework": web.url("/b")})
        import tracker.ingest.refresh as refresh_module

        real = refresh_module.ingest_capture
        calls = {"n": 0}

        def dies_on_second(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt  # the process is killed while storing the second source
            return real(*args, **kwargs)

        monkeypatch.setattr(refresh_module, "ingest_capture", dies_on_second)
        with pytest.raises(KeyboardInterrupt):
            refresh(engine, context=ctx(), raw_store=RawStore(tmp_path / "raw"))
        assert len(session.exec(select(m.DocumentVersion)).all()) == 1
        assert session.exec(select(m.RefreshRun)).one().status == "interrupted"

        monkeypatch.setattr(refresh_module, "ingest_capture", real)
        summary = refresh(engine, context=ctx(), raw_store=RawStore(tmp_path / "raw"))
        assert sorted(o.outcome for o in summary.outcomes) == ["new_version", "unchanged"]
        versions = session.exec(select(m.DocumentVersion)).all()
        assert len(versions) == 2
        assert len({(v.source_id, v.text_sha256) for v in versions}) == 2


def test_refresh_lock_blocks_a_second_run_and_waits_when_asked(engine):
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with refresh_lock(engine):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    with pytest.raises(LockBusy, match="another refresh is running"):
        refresh(engine, context=ctx())
    threading.Timer(0.3, release.set).start()
    with refresh_lock(engine, wait=True, timeout=10):  # waits for the holder, then gets the lock
        assert release.is_set()
    holder.join(10)


def test_refresh_selection_errors(engine):
    with pytest.raises(NotFoundError, match="unknown company"):
        refresh(engine, company="nobody", context=ctx())
    with pytest.raises(NotFoundError, match="unknown source"):
        refresh(engine, source="nothing", context=ctx())


def test_refresh_cli_reports_failures_and_exits_zero(engine, use_database, capsys):
    use_database(engine)
    with FakeWeb() as web, Session(engine) as session:
        web.route("/gone", Reply(status=410))
        point(session, {"anthropic-rsp": web.url("/gone")})
        import tracker.ingest.refresh as refresh_module

        original = refresh_module.default_context
        refresh_module.default_context = ctx
        try:
            assert main(["refresh", "--company", "anthropic"]) == 0
        finally:
            refresh_module.default_context = original
    out = capsys.readouterr().out
    assert "http_410" in out and "1 failed" in out
    assert main(["refresh", "--company", "nobody"]) == 2


def test_corpus_files_import_into_the_right_sources(engine, corpus_dir, tmp_path):
    with Session(engine) as session:
        files = corpus_files(corpus_dir)  # the documents, not the corpus licence or readme
        editions = [p for p in files if corpus_entry(session, p).skip_reason]
        assert sorted(p.name for p in editions) == sorted(p.name for p in files if "-ko" in p.name)  # stated skips
        for path in files:
            if path in editions:
                continue
            source = corpus_source(session, path)
            assert source is not None, path.name
            provider = path.name.split("_")[0].replace("google-deepmind", "google")
            assert source.company_id == provider, (path.name, source.id)
            result = import_file(session, path, source.id, raw_store=RawStore(tmp_path / "raw"))
            assert result.outcome == "new_version"
            assert result.version.published_on.isoformat() in path.name
        session.commit()
        versions = session.exec(select(m.DocumentVersion)).all()
        assert len(versions) == len({(v.source_id, v.text_sha256) for v in versions})
        assert len(versions) == len(files) - len(editions)
        changes = session.exec(select(m.ChangeEvent)).all()
        assert any(c.direction in ("weakened", "removed") for c in changes)


def test_renamed_framework_replaces_the_old_one_and_is_compared_with_it(session, tmp_path):
    store = RawStore(tmp_path / "raw")
    old = import_file(session, write(tmp_path, "old_2025-02-03.txt", POLICY_V1), "meta-frontier-ai-framework",
                      raw_store=store).version
    thin = "## Scaling framework\nEffective April 7, 2026\n\nWe may consult external parties where appropriate.\n"
    new = import_file(session, write(tmp_path, "new_2026-04-07.txt", thin), "meta-advanced-ai-scaling-framework",
                      raw_store=store).version
    assert new.previous_version_id == old.id  # compared across the rename
    assert session.exec(select(m.ChangeEvent).where(m.ChangeEvent.new_version_id == new.id)).all()
    from tracker.read.asof import latest_assessments

    current = {a.commitment_id: a for a in latest_assessments(session, date(2026, 5, 1), company_ids=["meta"])}
    before = {a.commitment_id: a for a in latest_assessments(session, date(2026, 1, 1), company_ids=["meta"])}
    assert before["seoul-2024/II"].level >= 1 and before["seoul-2024/II"].version_id == old.id
    # the old framework's levels no longer count once the new one is in force
    assert all(a.version_id == new.id for a in current.values() if a.valid_from >= date(2026, 4, 7))
    assert current["seoul-2024/II"].level < before["seoul-2024/II"].level
