"""Mapping documents onto commitments: rubric loading, scoring, levels, evidence offsets, CLI, agreement."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR
from tracker import cli
from tracker.analysis.mapping import (
    METHOD_VERSION,
    classify_passages,
    load_rubric,
    map_document,
)
from tracker.core.errors import CatalogError, NotFoundError, ValidationError
from tracker.evaluation.mapping_eval import (
    DEVELOPMENT,
    HELD_OUT,
    evaluate_classification,
    evaluate_levels,
    read_labelled,
    split_of,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OWN_CASES = Path(__file__).resolve().parent / "data" / "mapping_cases.jsonl"
SEOUL = "seoul-2024"
FRAMEWORKS = ["seoul-2024", "white-house-2023", "bletchley-2023", "hiroshima-2023"]


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


# A synthetic framework written for this test: one paragraph per Seoul commitment I-VII (none for VIII,
# the involvement of external actors), plus marketing fluff that must map to nothing.
PARAGRAPHS = {
    "I": "Before we deploy any frontier model, and at regular intervals during training, we will run dangerous "
    "capability evaluations for biological, chemical, cyber and autonomy risks, taking into account the deployment "
    "context and how effective our safeguards are against foreseeable misuse.",
    "II": "We set capability thresholds at which a model would pose an intolerable risk, for example by giving a "
    "novice uplift towards mass-casualty biological weapons. Early warning evaluations with alert thresholds tell "
    "us when a model is approaching a threshold, leaving a safety buffer.",
    "III": "To keep risk below the thresholds we will implement deployment safeguards such as refusal training and "
    "misuse classifiers, and security controls that protect unreleased model weights against exfiltration and "
    "insider threats.",
    "IV": "If a model reaches a threshold and the required safeguards are not in place, we will not deploy it and "
    "will pause further training; deployment proceeds only if residual risk is below the threshold.",
    "V": "We continually invest in research to improve the science of evaluations and mitigations, and we "
    "contribute to emerging best practice and international standards.",
    "VI": "The Responsible Scaling Officer is accountable for this policy and reports to the board of directors. We "
    "will review this policy annually, and staff can report noncompliance anonymously.",
    "VII": "We will publish a system card for every major model with the results of our evaluations, redacting "
    "only information whose disclosure would increase risk, and share the full report with governments.",
}
FLUFF = "Our assistant delights millions of customers every day. Try it free and discover what it can do for you."


def synthetic_framework() -> tuple[str, dict[str, tuple[int, int]]]:
    parts, spans, pos = [], {}, 0
    for numeral, paragraph in [("intro", FLUFF), *PARAGRAPHS.items()]:
        heading = f"## Section {numeral}\n\n"
        parts.append(heading)
        pos += len(heading)
        spans[numeral] = (pos, pos + len(paragraph))
        parts.append(paragraph + "\n\n")
        pos += len(paragraph) + 2
    return "".join(parts), spans


# --------------------------------------------------------------------------------------------- rubrics


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_rubrics_load_with_full_indicator_ids(framework: str) -> None:
    rubric = load_rubric(framework)
    assert rubric.framework == framework
    assert rubric.commitments
    for commitment in rubric.commitments:
        assert commitment.id.startswith(framework + "/")
        assert any(i.required for i in commitment.indicators), commitment.id
        for indicator in commitment.indicators:
            assert indicator.id == f"{commitment.id}#{indicator.key}"
            assert indicator.cues and indicator.description
    assert load_rubric(framework) is rubric  # cached


def test_seoul_rubric_breaks_commitment_ii_into_the_elements_of_the_text() -> None:
    keys = {i.key for i in load_rubric(SEOUL).commitment("seoul-2024/II").indicators}
    assert {"thresholds", "breach_monitoring", "trusted_input", "rationale", "examples"} <= keys
    assert [c.id.split("/")[1] for c in load_rubric(SEOUL).commitments] == \
        ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]


GOOD_INDICATOR = "      - id: a\n        description: d\n        cues: [x y]\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("framework: other\ncommitments: []\n", "framework"),
        ("framework: demo\ncommitments: []\n", "commitments"),
        ("framework: demo\ncommitments:\n  - id: wrong/I\n    indicators:\n" + GOOD_INDICATOR, "commitments[0].id"),
        ("framework: demo\ncommitments:\n  - id: demo/I\n    indicators:\n      - id: a\n        description: d\n",
         "commitments[0].indicators[0].cues"),
        ("framework: demo\ncommitments:\n  - id: demo/I\n    indicators:\n" + GOOD_INDICATOR + GOOD_INDICATOR,
         "commitments[0].indicators[1].id"),
        ("framework: demo\ncommitments:\n  - id: demo/I\n    indicators:\n" + GOOD_INDICATOR
         + "        required: maybe\n", "commitments[0].indicators[0].required"),
        ("framework: demo\ncommitments: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_rubric_names_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    (tmp_path / "demo.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError) as excinfo:
        load_rubric("demo", tmp_path)
    assert "demo.yaml" in str(excinfo.value)
    assert field in str(excinfo.value)


def test_unknown_framework_lists_the_available_ones(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text("framework: demo\ncommitments: []\n", encoding="utf-8")
    with pytest.raises(NotFoundError, match="available: demo"):
        load_rubric("nope", tmp_path)


# --------------------------------------------------------------------------------------------- scoring


def test_each_paragraph_classifies_to_its_commitment_and_fluff_to_nothing() -> None:
    numerals = list(PARAGRAPHS)
    results = classify_passages(SEOUL, [PARAGRAPHS[n] for n in numerals] + [FLUFF])
    for numeral, ranked in zip(numerals, results, strict=False):
        assert ranked, numeral
        assert ranked[0][0] == f"seoul-2024/{numeral}", (numeral, ranked[:3])
        assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
        assert all(0 < s <= 1 for _, s in ranked)
    assert results[-1] == []
    assert classify_passages(SEOUL, []) == []


def test_commitment_language_raises_scores() -> None:
    committed = "We will pause training and will not deploy the model if it crosses a critical capability threshold."
    described = "Some developers pause training or delay deployment when a model crosses a critical capability threshold."
    (committed_ranked, described_ranked) = classify_passages(SEOUL, [committed, described])
    committed_scores, described_scores = dict(committed_ranked), dict(described_ranked)
    assert committed_scores["seoul-2024/IV"] > described_scores["seoul-2024/IV"]


def test_synthetic_framework_maps_each_paragraph_and_levels_absent_commitment_zero() -> None:
    text, spans = synthetic_framework()
    mapping = map_document(text, SEOUL)
    assert mapping.method_version == METHOD_VERSION
    assert [c.commitment_id for c in mapping.commitments] == [c.id for c in load_rubric(SEOUL).commitments]
    for numeral, (start, end) in spans.items():
        if numeral == "intro":
            continue
        result = mapping.commitment(f"seoul-2024/{numeral}")
        assert result.level >= 1, numeral
        assert result.indicators_met, numeral
        best = result.evidence[0]
        assert start <= best.start and best.end <= end, (numeral, best)
        assert best.section == f"Section {numeral}"
        assert best.indicator_id.startswith(f"seoul-2024/{numeral}#")
        assert 0 <= result.confidence <= 1 and 0 <= result.score <= 1
    absent = mapping.commitment("seoul-2024/VIII")
    assert absent.level == 0
    assert absent.indicators_met == []
    intro_start, intro_end = spans["intro"]
    for result in mapping.commitments:
        for item in result.evidence:
            assert not (intro_start <= item.start < intro_end), "marketing text must not be evidence"
            assert fold(item.quote) in fold(text[item.start : item.end])


def test_fuller_text_gets_a_higher_level() -> None:
    thin = "## Thresholds\n\nWe have thresholds.\n"
    full = "## Thresholds\n\n" + PARAGRAPHS["II"] + "\n\nThe thresholds were chosen by threat modelling with " \
        "domain experts and with input from government partners, and align with international agreements " \
        "such as the Biological Weapons Convention.\n"
    thin_level = map_document(thin, SEOUL).commitment("seoul-2024/II").level
    full_level = map_document(full, SEOUL).commitment("seoul-2024/II").level
    assert full_level > thin_level
    assert full_level >= 2


def test_long_passage_is_quoted_by_its_best_sentences() -> None:
    filler = "This section gives background on the history of the company and its products. " * 6
    text = "## Security\n\n" + filler + "We protect unreleased model weights with security controls against " \
        "exfiltration and insider threats. " + filler
    item = next(e for e in map_document(text, SEOUL).commitment("seoul-2024/III").evidence
                if e.indicator_id.endswith("#weight_security"))
    assert "model weights" in item.quote
    assert len(item.quote) < 420
    assert fold(item.quote) == fold(text[item.start : item.end])


def test_empty_document_maps_to_level_zero_everywhere() -> None:
    mapping = map_document("", SEOUL)
    assert all(c.level == 0 and not c.evidence for c in mapping.commitments)


def test_white_house_framework_maps_its_own_commitments() -> None:
    text = ("## Security\n\nWe invest in cybersecurity and insider threat safeguards to protect unreleased model "
            "weights.\n\n## Provenance\n\nAll generated images carry a watermark and C2PA content credentials.\n")
    mapping = map_document(text, "white-house-2023")
    assert mapping.commitment("white-house-2023/3").level >= 2
    assert mapping.commitment("white-house-2023/5").level >= 2
    assert mapping.commitment("white-house-2023/8").level == 0


# --------------------------------------------------------------------------------------------- CLI


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str],
            stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_classify_writes_ranked_jsonl(monkeypatch, capsys) -> None:
    stdin = json.dumps({"id": "a", "text": PARAGRAPHS["IV"]}) + "\n\n" + json.dumps({"id": 7, "text": FLUFF}) + "\n"
    code, out, _ = run_cli(monkeypatch, capsys, ["classify", "--framework", SEOUL], stdin)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert lines[0]["commitments"][0]["id"] == "seoul-2024/IV"
    assert set(lines[0]["commitments"][0]) == {"id", "score"}
    assert lines[1]["commitments"] == []


def test_cli_classify_bad_line_names_the_line(monkeypatch, capsys) -> None:
    stdin = json.dumps({"id": "a", "text": "ok"}) + "\n{not json\n"
    code, out, err = run_cli(monkeypatch, capsys, ["classify", "--framework", SEOUL], stdin)
    assert code == 2
    assert "line 2" in err
    assert out == ""
    code, _, err = run_cli(monkeypatch, capsys, ["classify", "--framework", SEOUL], '{"id": 1}\n')
    assert code == 2 and "line 1" in err and "text" in err


def test_cli_classify_unknown_framework(monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["classify", "--framework", "nope-2099"], '{"id":1,"text":"x"}\n')
    assert code == 2 and "nope-2099" in err and "seoul-2024" in err


def test_cli_score_document_text_file(tmp_path: Path, monkeypatch, capsys) -> None:
    text, spans = synthetic_framework()
    path = tmp_path / "framework.txt"
    path.write_text(text, encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, ["score-document", str(path), "--framework", SEOUL])
    assert code == 0
    result = json.loads(out)
    by_id = {c["id"]: c for c in result["commitments"]}
    assert len(by_id) == 8
    assert by_id["seoul-2024/VIII"]["level"] == 0
    ev = by_id["seoul-2024/IV"]["evidence"][0]
    assert {"quote", "start", "end", "indicator"} <= set(ev)
    assert fold(ev["quote"]) in fold(text[ev["start"] : ev["end"]])
    assert spans["IV"][0] <= ev["start"] < spans["IV"][1]


def test_cli_score_document_missing_file(monkeypatch, capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["score-document", str(tmp_path / "nope.txt"), "--framework", SEOUL])
    assert code == 2 and "not found" in err


def test_cli_score_document_html(tmp_path: Path, monkeypatch, capsys) -> None:
    pytest.importorskip("scrapers.extract", reason="scrapers.extract is not in this checkout yet")
    html = "<html><body><h2>Weights</h2><p>" + PARAGRAPHS["III"] + "</p></body></html>"
    path = tmp_path / "framework.html"
    path.write_text(html, encoding="utf-8")
    code, out, _ = run_cli(monkeypatch, capsys, ["score-document", str(path), "--framework", SEOUL])
    assert code == 0
    levels = {c["id"]: c["level"] for c in json.loads(out)["commitments"]}
    assert levels["seoul-2024/III"] >= 2


def test_cli_eval_mapping_on_own_cases(tmp_path: Path, monkeypatch, capsys) -> None:
    save = tmp_path / "metrics" / "mapping.json"
    code, out, _ = run_cli(monkeypatch, capsys, ["eval", "mapping", "--file", str(OWN_CASES), "--json",
                                                 "--save", str(save)])
    assert code == 0
    report = json.loads(out)
    assert json.loads(save.read_text(encoding="utf-8")) == report
    assert report["framework"] == SEOUL and report["method"] == METHOD_VERSION
    assert {row["label"] for row in report["per_commitment"]} >= {"seoul-2024/I", "none"}
    code, out, _ = run_cli(monkeypatch, capsys, ["eval", "mapping", "--file", str(OWN_CASES)])
    assert code == 0 and "top-1 accuracy" in out and "seoul-2024/VIII" in out


def test_cli_eval_mapping_missing_file(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["eval", "mapping", "--file", str(tmp_path / "x.jsonl")])
    assert code == 2 and "not found" in err


def test_read_labelled_names_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "commitment": "none"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"rows\.jsonl:2"):
        read_labelled(path)


# --------------------------------------------------------------------------------------------- agreement


def test_own_cases_agree_including_non_seoul_and_negatives() -> None:
    rows = read_labelled(OWN_CASES)
    assert len(rows) >= 30
    seoul = evaluate_classification(rows, SEOUL)
    white_house = evaluate_classification(rows, "white-house-2023")
    # Written by us to cover every commitment; a floor, not a target (they are easy, unlike real text).
    assert seoul["top1_accuracy"] >= 0.85
    assert white_house["top1_accuracy"] >= 0.8
    none_row = next(r for r in seoul["per_commitment"] if r["label"] == "none")
    assert none_row["support"] >= 5 and none_row["recall"] >= 0.8


def test_expert_passages_top1_accuracy_above_floor() -> None:
    path = SHARED / "eval" / "passages.jsonl"
    if not path.is_file():
        pytest.skip("../shared/eval/passages.jsonl is not available")
    report = evaluate_classification(read_labelled(path), SEOUL)
    # Seven commitments occur; the largest class is 21% of rows. Measured: 0.455 top-1, 0.66 top-2.
    # The floor leaves room for rubric edits aimed at other providers without letting the method collapse.
    assert report["top1_accuracy"] >= 0.40
    assert report["top2_accuracy"] >= 0.58
    assert report["n"] == 615


@pytest.mark.corpus
def test_real_frameworks_map_with_valid_evidence(corpus_dir) -> None:
    from tracker.ingest.catalog import load_catalog
    from tracker.ingest.pipeline import corpus_files

    # Companions (compliance framework, roadmap, noncompliance policy) cover a few commitments by design.
    companions = {v.corpus_file for _, source in load_catalog(DATA_DIR).sources if source.kind == "companion"
                  for v in source.versions}
    # The documents (not the corpus licence); the Korean editions are not imported, the mapping reads English.
    for path in [p for p in corpus_files(corpus_dir) if "-ko" not in p.name]:
        text = path.read_text(encoding="utf-8")
        mapping = map_document(text, SEOUL)
        levels = [c.level for c in mapping.commitments]
        assert all(0 <= level <= 3 for level in levels)
        assert path.name in companions or sum(level >= 1 for level in levels) >= 5, (path.name, levels)
        for result in mapping.commitments:
            for item in result.evidence:
                # Quotes repair words the extraction broke (issue 17), so compare letters only.
                assert letters(item.quote) in letters(text[item.start : item.end]), (path.name, item)


# --------------------------------------------------------------------------------------------- wordings fixed in v2


@pytest.mark.parametrize(
    ("text", "indicator"),
    [
        ("If a model reaches the critical threshold and risks cannot be mitigated, development must be paused "
         "until the safeguards are ready.", "seoul-2024/IV#halt"),
        ("Until we have specified safeguards that would meet a Critical standard, we will halt further development.",
         "seoul-2024/IV#halt"),
        ("If a model is assessed to have reached the critical risk threshold, we will stop development.",
         "seoul-2024/IV#halt"),
        ("We will routinely test models to determine whether their capabilities fall sufficiently far below the "
         "capability thresholds.", "seoul-2024/II#breach_monitoring"),
        ("Indicative thresholds on our scalable evaluations tell us when a model is approaching a capability "
         "threshold.", "seoul-2024/II#breach_monitoring"),
        ("Release decisions are made by the Executive Officers on the recommendation of the Chief Scientist.",
         "seoul-2024/VI#roles"),
        ("Evaluations and mitigations will be audited by qualified, independent third parties.",
         "seoul-2024/VIII#adherence_verification"),
        ("We will publish a Risk Report every six months describing our evaluations and mitigations.",
         "seoul-2024/VII#public_reporting"),
    ],
)
def test_reviewers_wordings_meet_their_indicator(text: str, indicator: str) -> None:
    commitment = indicator.split("#")[0]
    assert indicator in map_document(f"## Policy\n\n{text}\n", SEOUL).commitment(commitment).indicators_met


def test_mitigations_without_thresholds_stay_below_comprehensive() -> None:
    mitigations = ("We will implement deployment safeguards such as refusal training, misuse classifiers and account "
                   "bans, and security controls that protect unreleased model weights against exfiltration and "
                   "insider threats, to keep risks at an acceptable level.")
    without = map_document(f"## Mitigations\n\n{mitigations}\n", SEOUL)
    with_thresholds = map_document(f"## Thresholds\n\n{PARAGRAPHS['II']}\n\n## Mitigations\n\n{mitigations}\n",
                                   SEOUL)
    assert "seoul-2024/II#thresholds" not in {i for c in without.commitments for i in c.indicators_met}
    assert without.commitment("seoul-2024/III").level == 2
    assert with_thresholds.commitment("seoul-2024/III").level == 3


def test_level3_requires_must_name_an_indicator_of_another_commitment(tmp_path: Path) -> None:
    body = ("framework: demo\ncommitments:\n  - id: demo/I\n    level3_requires: [demo/II#nope]\n    indicators:\n"
            + GOOD_INDICATOR)
    (tmp_path / "demo.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"level3_requires\[0\]"):
        load_rubric("demo", tmp_path)


# --------------------------------------------------------------------------------------------- eval levels

NOTHING = "## About us\n\nOur cafeteria serves lunch at noon and the car park opens at seven.\n"


def _sources(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "amazon.yaml").write_text(
        "company: amazon\nsources:\n"
        "  - {id: amz-old, title: Old, kind: framework, format: pdf, url: 'https://example.org/old.pdf',\n"
        "     frameworks: [seoul-2024], corpus_prefix: amz_old_}\n"
        "  - {id: amz-companion, title: Companion, kind: companion, format: pdf, url: 'https://example.org/c.pdf',\n"
        "     frameworks: [seoul-2024], corpus_prefix: amz_companion_}\n"
        "  - {id: amz-new, title: New, kind: framework, format: pdf, url: 'https://example.org/new.pdf',\n"
        "     frameworks: [seoul-2024], corpus_prefix: amz_new_, supersedes: amz-old}\n", encoding="utf-8")
    (folder / "acme.yaml").write_text(
        "company: acme\nsources:\n"
        "  - {id: acme-fw, title: Framework, kind: framework, format: pdf, url: 'https://example.org/a.pdf',\n"
        "     frameworks: [seoul-2024], corpus_prefix: acme_fw_}\n", encoding="utf-8")
    return folder


def _review_file(folder: Path, company: str, rows: list[tuple[str, int, str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    lines = [f"company: {company}", "reviewer: test", "reviewed_on: 2026-01-01", "reviews:"]
    for commitment, level, valid_from, source in rows:
        lines += [f"  - commitment: seoul-2024/{commitment}", f"    level: {level}", f"    valid_from: {valid_from}",
                  f"    source: {source}", "    rationale: synthetic review for the test"]
    (folder / f"{company}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_development_and_held_out_halves_are_fixed_by_company() -> None:
    assert split_of("amazon") == DEVELOPMENT and split_of("openai") == DEVELOPMENT
    assert split_of("anthropic") == HELD_OUT and split_of("a-company-added-later") == HELD_OUT


def test_eval_levels_compares_the_best_level_of_documents_in_force(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    framework, _ = synthetic_framework()
    (corpus / "amz_old_v1_2025-01-01.txt").write_text(NOTHING, encoding="utf-8")
    (corpus / "amz_companion_v1_2025-06-01.txt").write_text(framework, encoding="utf-8")
    (corpus / "amz_new_v1_2025-09-01.txt").write_text(NOTHING, encoding="utf-8")
    (corpus / "acme_fw_v1_2025-03-01.txt").write_text(NOTHING, encoding="utf-8")
    (corpus / "unrelated_2025-03-01.txt").write_text(framework, encoding="utf-8")
    reviews = tmp_path / "reviews"
    ii_level = map_document(framework, SEOUL).commitment("seoul-2024/II").level
    assert ii_level >= 2
    _review_file(reviews, "amazon", [
        ("II", 0, "2025-01-01", "amz-old"),       # only the empty old document: mapped 0, exact
        ("II", ii_level, "2025-06-01", "amz-old"),  # old + companion in force: the companion's level counts
        ("II", 0, "2025-09-01", "amz-new"),       # old replaced by new; companion still in force
        ("II", 1, "2024-01-01", "amz-old"),       # nothing in the corpus yet: skipped
    ])
    _review_file(reviews, "acme", [("I", 0, "2025-03-01", "acme-fw"), ("II", 1, "2025-03-01", "acme-fw"),
                                   ("III", 3, "2025-03-01", "acme-fw")])
    report = evaluate_levels(corpus, reviews, _sources(tmp_path))
    rows = {(r["company"], r["valid_from"], r["commitment"]): r for r in report["rows"]}
    assert rows[("amazon", "2025-01-01", "seoul-2024/II")]["documents"] == ["amz_old_v1_2025-01-01.txt"]
    assert rows[("amazon", "2025-06-01", "seoul-2024/II")]["mapped"] == ii_level
    assert rows[("amazon", "2025-09-01", "seoul-2024/II")]["documents"] == [
        "amz_companion_v1_2025-06-01.txt", "amz_new_v1_2025-09-01.txt"]
    assert rows[("amazon", "2025-09-01", "seoul-2024/II")]["mapped"] == ii_level
    assert [(s["company"], s["valid_from"]) for s in report["skipped"]] == [("amazon", "2024-01-01")]
    development, held_out = report["development"], report["held_out"]
    assert development["n"] == 3 and development["exact"] == pytest.approx(2 / 3, abs=1e-3)
    assert development["mae"] == pytest.approx(ii_level / 3, abs=1e-3)
    # acme (held out) has one empty document: mapped 0 against reviewed 0, 1 and 3.
    assert held_out == {**held_out, "n": 3, "exact": pytest.approx(1 / 3, abs=1e-3),
                        "within_one": pytest.approx(2 / 3, abs=1e-3), "mae": pytest.approx(4 / 3, abs=1e-3),
                        "bias": pytest.approx(-4 / 3, abs=1e-3)}
    assert held_out["confusion"]["3"]["0"] == 1 and held_out["confusion"]["1"]["0"] == 1
    assert held_out["per_commitment"]["seoul-2024/III"] == {"n": 1, "exact": 0.0, "mae": 3.0, "bias": -3.0}
    assert report["all"]["n"] == 6


def test_cli_eval_levels_saves_json_and_prints_both_halves(tmp_path: Path, monkeypatch, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "anthropic_rsp_v9_2025-01-01.txt").write_text(NOTHING, encoding="utf-8")
    (corpus / "amazon_frontier-model-safety-framework_v9_2025-01-01.txt").write_text(NOTHING, encoding="utf-8")
    reviews = tmp_path / "reviews"
    _review_file(reviews, "anthropic", [("I", 0, "2025-01-01", "anthropic-rsp")])
    _review_file(reviews, "amazon", [("I", 1, "2025-01-01", "amazon-frontier-model-safety-framework")])
    save = tmp_path / "metrics" / "levels.json"
    code, out, _ = run_cli(monkeypatch, capsys, ["eval", "levels", "--corpus", str(corpus), "--reviews", str(reviews),
                                                 "--json", "--save", str(save)])
    assert code == 0
    report = json.loads(out)
    assert json.loads(save.read_text(encoding="utf-8")) == report
    assert report["method"] == METHOD_VERSION
    assert report["held_out"]["exact"] == 1.0 and report["development"]["exact"] == 0.0
    code, out, _ = run_cli(monkeypatch, capsys, ["eval", "levels", "--corpus", str(corpus), "--reviews", str(reviews)])
    assert code == 0 and "held_out" in out and "within_one" in out


def test_cli_eval_levels_without_corpus_says_what_to_pass(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["eval", "levels", "--corpus", str(tmp_path / "missing")])
    assert code == 2 and "--corpus" in err


def test_reviewed_levels_agreement_on_real_frameworks() -> None:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus is not available")
    report = evaluate_levels(corpus)
    assert report["all"]["n"] >= 150
    assert report["held_out"]["exact"] >= 0.6 and report["held_out"]["within_one"] >= 0.95
