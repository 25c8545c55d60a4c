"""Agreement between two readings of reviewed levels: matching cells, kappa, interval, disagreements."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.cli import main
from tracker.core.errors import ValidationError
from tracker.evaluation.agreement import reader_agreement

ROW = '  - {{commitment: "seoul-2024/{c}", level: {lv}, valid_from: 2025-02-01, source: acme-fw, rationale: "{why}"}}\n'


def _write(folder: Path, levels: dict[str, int], note: str = "a reading of the text") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = "company: acme\nreviewer: someone\nreviewed_on: 2026-12-01\nreviews:\n"
    body += "".join(ROW.format(c=c, lv=lv, why=note) for c, lv in levels.items())
    (folder / "acme.yaml").write_text(body, encoding="utf-8")


def test_agreement_on_shared_cells(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "first" / "second-reading"
    _write(first, {"I": 3, "II": 2, "III": 2, "IV": 1})
    _write(second, {"I": 3, "II": 3, "III": 2, "IV": 1})
    report = reader_agreement(first, second)
    assert report["n"] == 4
    assert report["exact"] == 0.75 and report["within_one"] == 1.0
    assert 0 < report["kappa"] < 1 and report["kappa_linear"] >= report["kappa"]
    low, high = report["exact_ci95"]
    assert 0 <= low <= 0.75 <= high <= 1
    assert [(d["commitment"], d["first"], d["second"]) for d in report["disagreements"]] == [("seoul-2024/II", 2, 3)]
    assert report["confusion"][2] == [0, 0, 1, 1]


def test_identical_readings_agree_fully(tmp_path: Path) -> None:
    _write(tmp_path / "a", {"I": 1, "II": 2, "III": 3})
    _write(tmp_path / "b", {"I": 1, "II": 2, "III": 3})
    report = reader_agreement(tmp_path / "a", tmp_path / "b")
    assert report["exact"] == 1.0 and report["kappa"] == 1.0 and not report["disagreements"]


def test_no_shared_cells_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write(tmp_path / "a", {"I": 1})
    (tmp_path / "b").mkdir()
    with pytest.raises(ValidationError, match="no second-reading files"):
        reader_agreement(tmp_path / "a", tmp_path / "b")
    assert main(["eval", "reviewers", "--first", str(tmp_path / "a"), "--second", str(tmp_path / "b")]) == 2
    assert "no second-reading files" in capsys.readouterr().err


def test_shipped_second_reading_is_independent_and_covers_forty_cells() -> None:
    root = Path(__file__).resolve().parents[1] / "data" / "reviews"
    report = reader_agreement(root, root / "second-reading")
    assert report["n"] >= 40 and not report["not_in_first_reading"]
    assert report["within_one"] >= 0.9
    # every remaining disagreement was adjudicated and says so in the first reading's rationale
    assert all(d["adjudicated"] for d in report["disagreements"])
