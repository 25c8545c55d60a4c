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
    assert counts == {"seoul-2024": 8, "white-house-2023": 8, "bletchley-2023": 3, "hiroshima-2023": 11,
                      "eu-cop-ss-2025": 10, "ca-sb53-2025": 13, "ny-raise-2025": 13, "new-delhi-2026": 2}
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
    assert first["commitments"] == 68 and first["companies"] == 26
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


# ------------------------------------------------------------------ new regimes: EU Code, SB 53, RAISE, New Delhi


def _framework(catalog, framework_id):
    return next(f for f in catalog.frameworks if f.id == framework_id)


def _signatures(catalog, framework_id):
    return {c.id: s for c in catalog.companies for s in c.signatures if s.framework == framework_id}


def test_eu_code_commitments_measures_and_dates(catalog):
    eu = _framework(catalog, "eu-cop-ss-2025")
    assert eu.kind == "code-of-practice" and eu.announced == date(2025, 7, 10)
    assert eu.applies_from == date(2025, 8, 2)
    assert [c.number for c in eu.commitments] == [str(n) for n in range(1, 11)]
    assert sum(len(c.parts) for c in eu.commitments) == 32  # "10 Commitments / 32 Measures"
    assert all(c.text_confirmed and c.title_official for c in eu.commitments)  # [V, EUSS]
    one = eu.commitments[0]
    assert one.text.startswith("Signatories commit to adopting a state-of-the-art Safety and Security Framework")
    assert [(p.number, p.title) for p in one.parts][2] == ("1.3", "Updating the Framework")
    assert eu.commitments[8].title == "Serious incident reporting"
    assert eu.commitments[5].detail_text.startswith("A model is exempt from this Commitment")
    assert {s.id for s in eu.scopes} == {"all", "safety-and-security"}


def test_eu_code_signatories_scopes_and_meta_declined(catalog):
    signatures = _signatures(catalog, "eu-cop-ss-2025")
    signed = {cid for cid, s in signatures.items() if s.status == "signed"}
    assert signed == {"amazon", "anthropic", "cohere", "google", "ibm", "microsoft", "mistral", "openai", "xai"}
    for cid in signed - {"xai"}:
        assert signatures[cid].scope == "all"
        assert (signatures[cid].date, signatures[cid].date_precision) == (date(2025, 8, 1), "on-or-before")
    xai = signatures["xai"]
    assert xai.scope == "safety-and-security" and xai.date_precision == "intent" and xai.date_confidence == "S"
    assert signatures["anthropic"].label == "Anthropic Ireland, Limited" and signatures["anthropic"].status_confidence == "V"
    meta = signatures["meta"]
    assert meta.status == "declined" and meta.scope is None and meta.date == date(2025, 7, 18)
    assert "won’t be signing" in meta.note


def test_sb53_elements_coverage_and_upcoming_raise(catalog):
    sb53 = _framework(catalog, "ca-sb53-2025")
    assert sb53.kind == "law" and sb53.applies_from == date(2026, 1, 1)
    assert [c.number for c in sb53.commitments] == [f"fw-{n}" for n in range(1, 11)] + ["tr", "csi", "wb"]
    assert all(c.text_confirmed for c in sb53.commitments)  # chaptered text [V]
    assert sb53.commitments[1].text.startswith("Defining and assessing thresholds")
    assert "$500,000,000" in sb53.applies_to and "10^26" in sb53.applies_to
    bound = _signatures(catalog, "ca-sb53-2025")
    assert set(bound) == {"anthropic", "openai", "xai", "microsoft", "google", "meta"}
    assert all(s.status == "bound" and s.date == date(2026, 1, 1) for s in bound.values())
    assert {cid for cid, s in bound.items() if s.status_confidence == "V"} == {"anthropic", "openai", "xai"}
    assert bound["google"].status_confidence == "ours" and bound["meta"].status_confidence == "ours"

    raise_act = _framework(catalog, "ny-raise-2025")
    assert raise_act.kind == "law" and raise_act.applies_from == date(2027, 1, 1)
    assert not any(c.text_confirmed for c in raise_act.commitments)  # bill print, chaptered text not seen
    assert all(s.date == date(2027, 1, 1) for s in _signatures(catalog, "ny-raise-2025").values())


def test_new_delhi_only_what_is_confirmed(catalog):
    delhi = _framework(catalog, "new-delhi-2026")
    assert delhi.announced == date(2026, 2, 19) and delhi.deadlines == []
    assert len(delhi.commitments) == 2
    assert not any(c.text_confirmed or c.detail_text_confirmed for c in delhi.commitments)
    assert set(_signatures(catalog, "new-delhi-2026")) == {"anthropic"}


def test_regime_deadlines_extend_the_paris_representation(catalog):
    clocks = {d.id: d for f in catalog.frameworks for d in f.deadlines}
    assert clocks["paris-2025"].kind == "publish-by"  # the default keeps the Seoul deadline as it was
    assert (clocks["sb53-framework-by-2026"].kind, clocks["sb53-framework-by-2026"].date) == ("publish-by",
                                                                                            date(2026, 1, 1))
    assert (clocks["sb53-annual-review"].kind, clocks["sb53-annual-review"].every_months) == ("review-every", 12)
    change = clocks["sb53-material-change-30d"]
    assert (change.kind, change.within_days, change.requires) == ("change-within", 30, ["justification"])
    assert clocks["eu-framework-before-market"].date == date(2025, 8, 2)
    assert clocks["eu-framework-assessment"].every_months == 12
    assert clocks["eu-update-changelog"].requires == ["changelog", "version", "date"]
    assert clocks["raise-framework-by-2027"].date == date(2027, 1, 1)
    assert not clocks["raise-annual-review"].text_confirmed and clocks["sb53-annual-review"].text_confirmed


def test_crosswalk_maps_every_eu_commitment_and_sb53_element_to_seoul(catalog):
    to_seoul = {}
    for link in catalog.links:
        if link.to.startswith("seoul-2024/"):
            to_seoul.setdefault(link.from_, set()).add((link.to.split("/")[1], link.relation))
    for framework_id in ("eu-cop-ss-2025", "ca-sb53-2025"):
        framework = _framework(catalog, framework_id)
        unmapped = {f"{framework_id}/{c.number}" for c in framework.commitments} - set(to_seoul)
        assert unmapped <= {"ca-sb53-2025/csi"}, unmapped  # no Seoul incident duty; linked to EU 9 instead
    assert ("IV", "same") in to_seoul["eu-cop-ss-2025/4"] and ("II", "overlaps") in to_seoul["eu-cop-ss-2025/4"]
    assert to_seoul["eu-cop-ss-2025/8"] == {("VI", "same")}
    assert to_seoul["ca-sb53-2025/fw-2"] == {("II", "same")}
    assert to_seoul["ca-sb53-2025/fw-7"] == {("III", "part-of")}
    raise_links = {(x.from_, x.to): x.relation for x in catalog.links if x.from_.startswith("ny-raise-2025/fw-")}
    assert len(raise_links) == 10 and set(raise_links.values()) == {"same"}
    assert ("ca-sb53-2025/csi", "eu-cop-ss-2025/9") in {(x.from_, x.to) for x in catalog.links}
    assert not any(x.reviewed for x in catalog.links if x.from_.startswith(("eu-", "ca-", "ny-")))


def test_rubrics_of_the_new_regimes_cover_their_commitments(catalog):
    from tracker.analysis.mapping import load_rubric

    for framework_id in ("eu-cop-ss-2025", "ca-sb53-2025", "ny-raise-2025", "new-delhi-2026"):
        rubric = load_rubric(framework_id)
        expected = [f"{framework_id}/{c.number}" for c in _framework(catalog, framework_id).commitments]
        assert [c.id for c in rubric.commitments] == expected
        assert all(any(i.required for i in c.indicators) for c in rubric.commitments)
    assert load_rubric("eu-cop-ss-2025").commitment("eu-cop-ss-2025/5").level3_requires == (
        "eu-cop-ss-2025/4#risk_tiers",)


def test_regime_fields_reach_the_database(schema_engine):
    initialize(schema_engine, DATA_DIR)
    with Session(schema_engine) as session:
        eu = session.get(m.Framework, "eu-cop-ss-2025")
        assert eu.kind == "code-of-practice" and eu.applies_from == date(2025, 8, 2)
        assert [s["id"] for s in eu.scopes] == ["all", "safety-and-security"]
        assert {d["kind"] for d in eu.deadlines} == {"publish-by", "review-every", "update-record"}
        assert len(session.get(m.Commitment, "eu-cop-ss-2025/3").parts) == 5
        assert session.get(m.Commitment, "ca-sb53-2025/fw-7").legal_basis == "Cal. Bus. & Prof. Code §22757.12(a)(7)"
        rows = {(s.company_id, s.framework_id): s for s in session.exec(select(m.Signature))}
        assert (rows["meta", "eu-cop-ss-2025"].status, rows["meta", "eu-cop-ss-2025"].scope) == ("declined", None)
        assert rows["xai", "eu-cop-ss-2025"].scope == "safety-and-security"
        assert rows["openai", "ca-sb53-2025"].status == "bound"
        assert rows["anthropic", "seoul-2024"].status == "signed"  # existing rows keep their meaning
        assert session.get(m.Framework, "seoul-2024").kind == "voluntary"


@pytest.mark.parametrize(("old", "new", "where"), [
    ("        status: declined\n", "        status: declined\n        scope: all\n",
     "scope: a declined signature has no scope"),
    ("        scope: safety-and-security\n", "        scope: chapter-9\n", "scope: unknown scope 'chapter-9'"),
    ("        scope: safety-and-security\n", "", "scope: 'eu-cop-ss-2025' is signed in parts"),
])
def test_bad_signature_status_or_scope_names_the_line(tmp_path, old, new, where):
    data = _broken_copy(tmp_path)
    companies = data / "companies.yaml"
    text = companies.read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    companies.write_text(changed, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"companies.yaml:\d+: companies\[\d+\]\.signatures\[\d+\]\." + where):
        load_catalog(data)


def test_law_rows_must_be_bound_and_clocks_need_their_fields(tmp_path):
    data = _broken_copy(tmp_path)
    companies = data / "companies.yaml"
    companies.write_text(companies.read_text(encoding="utf-8").replace(
        "      - framework: ca-sb53-2025\n        date: 2026-01-01\n        date_precision: exact\n"
        "        date_confidence: C\n        status: bound\n",
        "      - framework: ca-sb53-2025\n        date: 2026-01-01\n        date_precision: exact\n"
        "        date_confidence: C\n        status: signed\n", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"status: 'ca-sb53-2025' is a law: companies are 'bound'"):
        load_catalog(data)

    data = _broken_copy(tmp_path / "second")
    path = data / "frameworks" / "ca-sb53-2025.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip() == "kind: review-every") + 1
    path.write_text(text.replace("    every_months: 12\n", "", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match=rf"ca-sb53-2025.yaml:{number}: deadlines\[1\]\.kind: a 'review-every' "
                                           r"deadline needs 'every_months'"):
        load_catalog(data)
