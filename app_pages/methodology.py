"""Methodology: levels, rubrics, how mapping and change detection work, how well they agree with experts."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from tracker.core.escaping import escape_markdown
from tracker.store.vocabulary import LEVELS

st.title("Methodology")
material = _ui.methodology()
frameworks = {f.id: f.name for f in _ui.frameworks()}

st.markdown(
    "The tracker reads each version of a company's published safety documents, finds the passages that address "
    "each commitment the company signed, and suggests a level. Every level links to its quotes and to the stored "
    "version it came from, so any reader can check it. Reviewers can confirm or overrule a level; the basis is "
    "always shown."
)
st.subheader("Levels")
st.dataframe([{"Level": k, "Meaning": v} for k, v in LEVELS.items()], hide_index=True, width="stretch")
st.caption(_ui.legend_markdown())

tabs = st.tabs(["Rubrics", "Mapping", "Change detection", "Agreement with experts", "Limits"])
with tabs[0]:
    if not material.rubrics:
        _ui.empty_state("No rubrics found", "Rubrics live in data/rubrics/<framework>.yaml.")
    for framework_id, frame in material.rubrics.items():
        with st.expander(f"{escape_markdown(frameworks.get(framework_id, framework_id))} ({len(frame)} indicators)",
                         expanded=framework_id == "seoul-2024"):
            if material.rubric_notes.get(framework_id):
                st.caption(escape_markdown(material.rubric_notes[framework_id]))
            st.dataframe(frame, hide_index=True, width="stretch")
with tabs[1]:
    st.markdown(material.texts.get("mapping") or "The mapping method note (data/methodology/mapping.md) is missing.")
    if material.texts.get("crosswalk"):  # regimes, update flags and how the crosswalked union counts a link
        st.markdown(material.texts["crosswalk"])
with tabs[2]:
    st.markdown(material.texts.get("changes") or "The change method note (data/methodology/changes.md) is missing.")
with tabs[3]:
    mapping = material.metrics.get("mapping")
    if mapping:
        st.markdown(f"**Passage → commitment** ({mapping.get('framework', '')}, {mapping.get('n', '?')} passages "
                    "labelled by people)")
        cols = st.columns(3)
        cols[0].metric("Top-1 agreement", f"{mapping.get('top1_accuracy', 0):.0%}")
        cols[1].metric("Top-2 agreement", f"{mapping.get('top2_accuracy', 0):.0%}")
        cols[2].metric("Macro F1", f"{mapping.get('macro_f1', 0):.2f}")
        per = [r for r in mapping.get("per_commitment", []) if r.get("support")]
        if per:
            st.dataframe(per, hide_index=True, width="stretch")
    else:
        st.info("No mapping agreement report yet (data/metrics/mapping.json).")
    changes = material.metrics.get("changes")
    if changes:
        directions = changes.get("directions", {})
        flagged = changes.get("weakened_or_removed", {})
        st.markdown(f"**Change direction** ({changes.get('n', '?')} passage pairs labelled by people)")
        cols = st.columns(4)
        cols[0].metric("Direction accuracy", f"{directions.get('accuracy', 0):.0%}")
        cols[1].metric("Weakened/removed precision", f"{flagged.get('precision', 0):.0%}")
        cols[2].metric("Weakened/removed recall", f"{flagged.get('recall', 0):.0%}")
        cols[3].metric("Weakened/removed F1", f"{flagged.get('f1', 0):.2f}")
        if directions.get("per_class"):
            st.dataframe(directions["per_class"], hide_index=True, width="stretch")
    else:
        st.info("No change-detection agreement report yet (data/metrics/changes.json).")
    readings = material.metrics.get("reviewers")
    if readings:
        st.markdown(f"**Two readings of the reviewed levels** ({readings['n']} cells read twice, the second reader "
                    "blind to the first; before adjudication)")
        cols = st.columns(4)
        low, high = readings["exact_ci95"]
        cols[0].metric("Exact agreement", f"{readings['exact']:.0%}", help=f"95% bootstrap interval {low:.0%}–{high:.0%}")
        cols[1].metric("Within one level", f"{readings['within_one']:.0%}")
        cols[2].metric("Cohen's kappa", f"{readings['kappa']:.2f}", help="linear weights: "
                       f"{readings['kappa_linear']:.2f}")
        cols[3].metric("Disagreements adjudicated", len(readings["disagreements"]))
    agreement = _ui.reviewer_agreement()
    st.markdown("**Between reviewers** (changes decided by two different reviewers; a weakening is published as "
                "reviewed only when a second reviewer agrees)")
    if agreement.rate is None:
        st.info("No change has been decided by two reviewers yet.")
    else:
        cols = st.columns(3)
        cols[0].metric("Agreement rate", f"{agreement.rate:.0%}")
        cols[1].metric("Changes decided by two", agreement.changes)
        cols[2].metric("Adjudicated by an admin", agreement.adjudicated)
with tabs[4]:
    st.markdown(
        "- A level is about **public documents**: 0 means the tracker found nothing in what the company "
        "published, not that the company does nothing.\n"
        "- Automatic levels are a first reading by software (see the agreement figures); reviewed levels "
        "(✓) are a person's judgement with a written reason.\n"
        "- Self-reported levels (✎) rest on the company's own claim, accepted by a reviewer.\n"
        "- Documents behind forms or logins are only tracked when a copy is imported.\n"
        "- Dates of signatures marked 'on or before' are the first date the signature is documented."
    )
