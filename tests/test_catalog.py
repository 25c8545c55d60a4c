"""Catalog loading: counts, dates, citations, idempotent init, clear errors for broken files, both backends."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.conftest import DATA_DIR
from tracker.cli import main
from tracker.core.errors import CatalogError
from tracker.ingest.bootstrap import initialize, row_counts
from tracker.ingest.catalog import load_catalog
from tracker.store import models as m


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DATA_DIR)


def test_frameworks_and_commitment_counts(catalog):
    counts = {f.id: len(f.commitments) for f in catalog.frameworks}
    assert counts == {"seoul-2024": 8, "white-house-2023": 8, "bletchley-2023": 3, "hiroshima-2023": 11}
    seoul = next(f for f in catalog.frameworks if f.id == "seoul-2024")
    assert [c.number for c in seoul.commitments] == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
    assert seoul.announced == date(2024, 5, 21)
    assert "Open Government Licence" in (seoul.licence or "")
    assert any(d.date == date(2025, 2, 10) for d in seoul.deadlines)


def test_every_commitment_cites_its_source_and_flags_unconfirmed_text(catalog):
    for framework in catalog.frameworks:
        assert framework.source_url.startswith("https://")
        for commitment in framework.commitments:
            assert commitment.source_url.startswith("https://"), (framework.id, commitment.number)
            assert commitment.text.strip()
    hiroshima = next(f for f in catalog.frameworks if f.id == "hiroshima-2023")
    assert all(not c.text_confirmed for c in hiroshima.commitments)  # [M] in the reference
    seoul = next(f for f in catalog.frameworks if f.id == "seoul-2024")
    assert all(c.text_confirmed for c in seoul.commitments)  # verbatim GOV.UK text
    assert seoul.commitments[1].text.startswith("Set out thresholds at which severe risks")


def test_companies_and_signatures(catalog):
    companies = {c.id: c for c in catalog.companies}
    assert len(companies) == 26
    seoul = [c for c in companies.values() if any(s.framework == "seoul-2024" for s in c.signatures)]
    white_house = [c for c in companies.values() if any(s.framework == "white-house-2023" for s in c.signatures)]
    assert len(seoul) == 20
    assert len(white_house) == 16
    sig = {s.framework: s for s in companies["anthropic"].signatures}
    assert sig["seoul-2024"].date == date(2024, 5, 21)
    assert sig["white-house-2023"].date == date(2023, 7, 21)
    later = {s.framework: s for s in companies["magic"].signatures}["seoul-2024"]
    assert later.date == date(2025, 2, 7) and later.date_precision == "on-or-before"
    assert {s.framework: s for s in companies["apple"].signatures}["white-house-2023"].date == date(2024, 7, 26)
    assert "xai" not in {c.id for c in white_house}
    for company in companies.values():
        for signature in company.signatures:
            assert signature.source_url.startswith("https://")


def test_crosswalk_links_weight_security(catalog):
    pairs = {(link.from_, link.to) for link in catalog.links} | {(link.to, link.from_) for link in catalog.links}
    assert ("seoul-2024/III", "white-house-2023/3") in pairs


def test_init_twice_leaves_identical_row_counts(schema_engine):
    first = initialize(schema_engine, DATA_DIR)
    counts = row_counts(schema_engine)
    second = initialize(schema_engine, DATA_DIR)
    assert row_counts(schema_engine) == counts
    assert first["commitments"] == 30 and first["companies"] == 26
    assert all(value == 0 for value in second.values()), second
    with Session(schema_engine) as session:
        assert session.exec(select(sa.func.count()).select_from(m.Signature)).one() >= 36


def test_init_cli_is_idempotent(schema_engine, use_database, capsys):
    use_database(schema_engine)
    assert main(["init"]) == 0
    counts = row_counts(schema_engine)
    assert main(["init"]) == 0
    assert row_counts(schema_engine) == counts
    assert "commitment" in capsys.readouterr().out


def _broken_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target, ignore=shutil.ignore_patterns("raw", "*.db*"))
    return target


def test_bad_yaml_names_file_line_and_field_and_changes_nothing(engine, tmp_path):
    data = _broken_copy(tmp_path)
    companies = data / "companies.yaml"
    lines = companies.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("country:"))
    lines[number] = lines[number].split("country:")[0] + "country: United States"
    companies.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = row_counts(engine)
    with pytest.raises(CatalogError) as caught:
        initialize(engine, data)
    message = str(caught.value)
    assert f"companies.yaml:{number + 1}:" in message
    assert "country" in message
    assert row_counts(engine) == before


def test_yaml_syntax_error_and_unknown_reference(tmp_path):
    data = _broken_copy(tmp_path)
    (data / "crosswalk.yaml").write_text("links:\n  - from: seoul-2024/III\n    to: white-house-2023/99\n"
                                         "    relation: same\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"crosswalk.yaml:3: links\[0\].to: unknown commitment"):
        load_catalog(data)
    (data / "crosswalk.yaml").write_text("links: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"crosswalk.yaml:\d+: invalid YAML"):
        load_catalog(data)


def test_init_cli_reports_broken_file(schema_engine, use_database, monkeypatch, tmp_path, capsys):
    data = _broken_copy(tmp_path)
    framework = data / "frameworks" / "seoul-2024.yaml"
    framework.write_text(framework.read_text(encoding="utf-8").replace("announced: 2024-05-21",
                                                                       "announced: 2024-02-31"), encoding="utf-8")
    use_database(schema_engine)
    monkeypatch.setenv("TRACKER_CATALOG_DIR", str(data))
    from tracker.core.config import get_settings

    get_settings.cache_clear()
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert "seoul-2024.yaml:" in err and "announced" in err


def test_datetimes_are_utc_aware_on_both_backends(engine):
    moment = datetime(2025, 2, 10, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with Session(engine) as session:
        session.add(m.AuditLog(at=moment, action="test", entity_type="test", entity_id="1"))
        session.commit()
    with Session(engine) as session:
        row = session.exec(select(m.AuditLog)).one()
        assert row.at.tzinfo is not None
        assert row.at == moment
        assert row.at.astimezone(UTC).hour == 10
    with Session(engine) as session, pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.add(m.AuditLog(at=datetime(2025, 1, 1), action="x", entity_type="x", entity_id="1"))
        session.commit()


def test_migrations_match_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tracker.store.search import include_object

    with engine.connect() as connection:  # leaves out the hand-written full-text search objects of migration 0002
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, m.SQLModel.metadata) == []
