"""Commitment language: the modal markers that change analysis quotes."""

from tracker.analysis.language import modal_markers, modal_profile


def test_modal_markers_quote_words_in_reading_order() -> None:
    markers = modal_markers("We may review the results, and we will publish them. Staff must not leak them.")
    assert [m.words for m in markers] == ["may", "we will", "must", "must not"]
    assert [m.name for m in markers] == ["may", "will", "must", "will not"]
    assert max(m.strength for m in markers) == modal_profile("Staff must not leak them.").strongest


def test_modal_markers_empty_for_description() -> None:
    assert modal_markers("The model was trained on public data.") == []
