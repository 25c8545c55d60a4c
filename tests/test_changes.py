"""Change analysis: each reason on a minimal pair, alignment, announcement, report, CLI and the labelled pairs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tracker import cli
from tracker.analysis.changes import (
    DetectedChange,
    align_passages,
    compare_passages,
    detect_changes,
    find_changelog,
    is_announced,
    render_diff_report,
)
from tracker.analysis.passages import split_passages
from tracker.core.errors import ValidationError
from tracker.evaluation.changes_eval import evaluate_pairs, load_pairs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def codes(old: str, new: str) -> set[str]:
    return {r.code for r in compare_passages(old, new).reasons}


@pytest.mark.parametrize(
    ("old", "new", "code", "direction"),
    [
        ("We will pause training if a threshold is crossed.", "We may pause training if a threshold is crossed.",
         "modal_weakened", "weakened"),
        ("We aim to notify the board of incidents.", "We must notify the board of incidents.",
         "modal_strengthened", "strengthened"),
        ("We will apply these safeguards to models trained with more than 10^26 FLOP.",
         "We will apply these safeguards to models trained with more than 10^27 FLOP.",
         "threshold_changed", "weakened"),
        # A review interval is read as a cadence (issue 17: "every 6 -> 12 months is a weakening"), not a threshold.
        ("We will re-run evaluations every 3 months.", "We will re-run evaluations every 6 months.",
         "cadence_longer", "weakened"),
        ("We will complete the security roadmap by December 2025.",
         "We will complete the security roadmap by December 2027.", "date_changed", "weakened"),
        ("We will run dangerous capability evaluations before training each frontier model.",
         "We will run dangerous capability evaluations before deployment of each frontier model.",
         "timing_later", "weakened"),
        ("We will set thresholds in consultation with the UK AISI and publish them.",
         "We will set thresholds internally and publish them.", "third_party_removed", "weakened"),
        ("We will not deploy a model that crosses a critical threshold.",
         "We will not deploy a model that crosses a critical threshold, unless another developer has already "
         "released a comparable model.", "escape_clause_added", "weakened"),
        ("We will evaluate every model for chemical, biological, cyber and autonomy risks.",
         "We will evaluate every model for biological risks.", "scope_narrowed", "weakened"),
        ("We will publish the results of our evaluations.",
         "We will share the results of our evaluations with select partners.", "disclosure_reduced", "weakened"),
        ("If a model reaches the critical level we will halt further training.",
         "If a model reaches the critical level we will review the training plan.",
         "consequence_removed", "weakened"),
        ("We will share evaluation results with the board.", "We will publish evaluation results.",
         "disclosure_increased", "strengthened"),
        ("We will track persuasion risks in this framework.",
         "We will handle persuasion risks outside this framework through our usage policies.",
         "moved_to_non_binding", "removed"),
    ],
)  # fmt: skip
def test_minimal_pair_triggers_reason(old: str, new: str, code: str, direction: str) -> None:
    comparison = compare_passages(old, new)
    assert code in {r.code for r in comparison.reasons}, comparison.reasons
    assert comparison.direction == direction
    assert comparison.material


def test_reason_detail_quotes_the_changed_words() -> None:
    reason = compare_passages("We will pause training.", "We may pause training.").reasons[0]
    assert "will" in reason.detail and "may" in reason.detail and "→" in reason.detail
    threshold = next(r for r in compare_passages("Above 10^26 FLOP we will test.", "Above 10^27 FLOP we will test.")
                     .reasons if r.code == "threshold_changed")  # fmt: skip
    assert "10^26" in threshold.detail and "10^27" in threshold.detail


def test_floor_threshold_raised_is_stricter() -> None:
    comparison = compare_passages("We will require at least 80% refusal on restricted queries.",
                                  "We will require at least 95% refusal on restricted queries.")  # fmt: skip
    assert comparison.direction == "strengthened"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We will publish a capability report before each deployment.",
         "Before each deployment, we will publish a capability report."),
        ("We will share our findings with the UK AI Security Institute.",
         "We will share our findings with the UK AI Security Institute and keep doing so."),
        ("We will notify the board of any incident within 30 days.",
         "We will notify the board of every incident within 30 days."),
        ("The SAG will review each report (1) promptly and (2) thoroughly.",
         "The SAG will review every report promptly and thoroughly."),
    ],
)  # fmt: skip
def test_reworded_pairs_stay_reworded(old: str, new: str) -> None:
    comparison = compare_passages(old, new)
    assert comparison.direction == "reworded", comparison.reasons
    assert not comparison.material


def test_identical_and_empty_sides() -> None:
    assert compare_passages("We will publish.", "We  will publish.").direction == "reworded"
    assert compare_passages("", "We will publish.").direction == "added"
    assert compare_passages("We will publish.", "").direction == "removed"


OLD_DOC = """## Evaluations

We will evaluate every frontier model for chemical, biological, cyber and autonomy risks before training it.

We will publish a summary of each evaluation in a system card.

## Governance

The board will review this framework every year and we will notify the UK AI Security Institute of changes.

Our offices are located in several cities around the world and employ many researchers.

## Security

We will store model weights in access-controlled environments with logging of every access.
"""

NEW_DOC = """## Security

We will store model weights in access-controlled environments with logging of every access.

## Evaluations

We will evaluate every frontier model for biological risks before deployment.

We will share a summary of each evaluation with select partners.

## Governance

The board will review this framework every year and we will notify the UK AI Security Institute of changes.

We will establish an incident response team that reports directly to the chief executive.

## Changelog

Version 2: chemical, cyber and autonomy risks are no longer evaluated, to focus our effort. Added an
incident response team.
"""


def test_alignment_follows_moved_and_reworded_passages() -> None:
    old, new = split_passages(OLD_DOC), split_passages(NEW_DOC)
    pairs = align_passages(old, new)
    def counterpart(prefix: str):
        return next((n, s) for o, n, s in pairs if o is not None and o.text.startswith(prefix))

    moved, similarity = counterpart("We will store model weights")
    assert moved is not None and moved.section == "Security" and similarity == 1.0
    reworded, similarity = counterpart("We will evaluate every frontier")
    assert reworded is not None and reworded.text.startswith("We will evaluate every frontier model for biolog")
    assert 0.2 <= similarity < 1.0
    unmatched_old = [o.text for o, n, _ in pairs if n is None]
    assert any(text.startswith("Our offices") for text in unmatched_old)
    assert all(o is not None or n is not None for o, n, _ in pairs)
    assert len([o for o, _, _ in pairs if o is not None]) == len(old)
    assert len([n for _, n, _ in pairs if n is not None]) == len(new)


def test_detect_changes_reports_commitments_with_reasons_and_announcement() -> None:
    changes = detect_changes(OLD_DOC, NEW_DOC, classify=lambda text: ["seoul-2024/I"] if "evaluat" in text else [])
    by_start = {(c.new or c.old).text[:30]: c for c in changes}  # type: ignore[union-attr]
    assert len(by_start) == 3
    scope = by_start["We will evaluate every frontie"]
    assert scope.direction == "weakened"
    assert {"scope_narrowed", "timing_later"} <= {r.code for r in scope.reasons}
    assert scope.announced == "announced"
    assert scope.commitments == ["seoul-2024/I"]
    disclosure = by_start["We will share a summary of eac"]
    assert disclosure.direction == "weakened"
    assert disclosure.announced == "silent"
    added = by_start["We will establish an incident "]
    assert added.direction == "added"
    assert added.announced == "announced"
    # Unchanged, moved and non-commitment passages are not changes; the changelog is not a change either.
    assert not any(key.startswith(("We will store", "The board", "Our offices", "Version 2")) for key in by_start)


def test_find_changelog_and_no_changelog() -> None:
    changelog = find_changelog(NEW_DOC)
    assert changelog is not None and "no longer evaluated" in changelog
    assert find_changelog(OLD_DOC) is None
    changes = detect_changes(OLD_DOC, OLD_DOC.replace("We will publish", "We may publish"))
    assert [c.announced for c in changes] == ["no-changelog"]


def test_changelog_with_version_headings_and_toc_entry() -> None:
    text = ("## Contents\n\n## Change log\n\n## 1 Scope\n\nWe will do things for the scope of this document here.\n\n"
            "## Change log\n\n## Version 3.0 (May 2026)\n\nRemoved the cyber threshold and added a misuse policy.\n\n"
            "## Version 2.0 (June 2025)\n\nInitial public version of the policy.\n\n## Glossary\n\nTerms.\n")  # fmt: skip
    changelog = find_changelog(text)
    assert changelog is not None
    assert "Removed the cyber threshold" in changelog and "Initial public version" in changelog
    assert "Glossary" not in changelog and "scope of this document" not in changelog


def test_is_announced_partly_and_silent() -> None:
    old, new = split_passages(OLD_DOC), split_passages(NEW_DOC)
    disclosure_old = next(p for p in old if p.text.startswith("We will publish"))
    disclosure_new = next(p for p in new if p.text.startswith("We will share"))
    change = DetectedChange("weakened", [], disclosure_old, disclosure_new, 0.5)
    assert is_announced(change, None) == "no-changelog"
    assert is_announced(change, "## Changelog\n\nNew evaluation partners receive summaries.\n") == "partly"
    assert is_announced(change, "## Changelog\n\nWe share evaluation summaries with select partners now.\n") == (
        "announced"
    )
    assert is_announced(change, "## Changelog\n\nFixed typos in the glossary.\n") == "silent"


def test_render_diff_report_lists_weakened_first_with_quotes() -> None:
    changes = detect_changes(OLD_DOC, NEW_DOC)
    report = render_diff_report(OLD_DOC, NEW_DOC, changes, old_label="v1", new_label="v2")
    assert report.startswith("Changes from v1 to v2")
    first_entry = report.index("[1]")
    assert report[first_entry:].startswith("[1] WEAKENED")
    assert report.index("WEAKENED") < report.index("ADDED")
    assert "- v1: “We will publish a summary" in report
    assert "+ v2: “We will share a summary" in report
    assert "because disclosure_reduced" in report and "(silent)" in report
    assert "changelog in v2: yes" in report
    assert "No commitment passage changed." in render_diff_report(OLD_DOC, OLD_DOC, [], old_label="a", new_label="b")


def run_cli(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_compare_passages(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    stdin = "\n".join(json.dumps(row) for row in [
        {"id": "a", "old": "We will pause training.", "new": "We may pause training."},
        {"id": "b", "old": "", "new": "We will publish reports."},
        {"id": "c", "old": "We will publish reports.", "new": ""},
    ]) + "\n"  # fmt: skip
    code, out, _ = run_cli(["compare-passages"], stdin, monkeypatch, capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["direction"]) for r in rows] == [("a", "weakened"), ("b", "added"), ("c", "removed")]
    assert rows[0]["reasons"][0]["code"] == "modal_weakened"


def test_cli_compare_passages_bad_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["compare-passages"], '{"id": 1, "old": "", "new": ""}\nnot json\n', monkeypatch, capsys)
    assert code == 2
    assert "line 2" in err and "not valid JSON" in err


def test_cli_eval_changes_on_small_file(tmp_path: Path, monkeypatch, capsys) -> None:
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"id": "1", "provider": "P", "old": "We will pause training.", "new": "We may pause training.",
         "direction": "weakened"},
        {"id": "2", "provider": "P", "old": "We will publish.", "new": "", "direction": "removed"},
        {"id": "3", "provider": "Q", "old": "We will test.", "new": "We will test.", "direction": "reworded"},
    ]  # fmt: skip
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    save = tmp_path / "out" / "changes.json"
    code, out, _ = run_cli(["eval", "changes", "--file", str(pairs), "--json", "--save", str(save)], "",
                           monkeypatch, capsys)  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["weakened_or_removed"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2, "flagged": 2}
    assert result["baseline_always_reworded"]["recall"] == 0.0
    assert result["baseline_empty_side"]["recall"] == 0.5
    assert json.loads(save.read_text())["n"] == 3
    code, out, _ = run_cli(["eval", "changes", "--file", str(pairs)], "", monkeypatch, capsys)
    assert code == 0 and "weakened or removed" in out


def test_cli_eval_changes_missing_or_bad_file(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _, err = run_cli(["eval", "changes", "--file", str(tmp_path / "nope.jsonl")], "", monkeypatch, capsys)
    assert code == 2 and "not found" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"old": "", "new": "x", "direction": "added"}\n{"old": "x"}\n')
    with pytest.raises(ValidationError, match=r"bad.jsonl:2: missing field\(s\) new, direction"):
        load_pairs(bad)


@pytest.mark.corpus
def test_labelled_pairs_beat_baseline() -> None:
    path = SHARED / "eval" / "pairs.jsonl"
    if not path.is_file():
        pytest.skip("../shared/eval/pairs.jsonl not present")
    result = evaluate_pairs(load_pairs(path))
    ours, baseline = result["weakened_or_removed"], result["baseline_empty_side"]
    assert ours["f1"] > baseline["f1"] + 0.2
    assert ours["precision"] >= 0.7
    assert result["baseline_always_reworded"]["f1"] == 0.0
    for provider, scores in result["per_provider"].items():
        assert scores["weakened_or_removed"]["f1"] >= scores["baseline_empty_side"]["f1"], provider


@pytest.mark.corpus
def test_real_version_pair_aligns_and_finds_changelog() -> None:
    corpus = SHARED / "corpus"
    old_path = corpus / "openai_preparedness-framework_beta_2023-12-18.txt"
    new_path = corpus / "openai_preparedness-framework_v2_2025-04-15.txt"
    if not (old_path.is_file() and new_path.is_file()):
        pytest.skip("../shared/corpus not present")
    old_text, new_text = old_path.read_text(encoding="utf-8"), new_path.read_text(encoding="utf-8")
    assert find_changelog(new_text) is not None
    changes = detect_changes(old_text, new_text)
    directions = {c.direction for c in changes}
    assert {"added", "removed", "weakened"} <= directions
    assert all(c.announced in ("announced", "partly", "silent") for c in changes)
    # Persuasion left the tracked categories: some weakened change must say a risk domain is no longer covered.
    assert any(r.code == "scope_narrowed" for c in changes for r in c.reasons)
