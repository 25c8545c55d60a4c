"""Corrections: every published judgement a reviewer changed, with the date, what it was, what it is and why.

Public, like the rest of "About the data"; the same log is an Atom feed (`python -m tracker feed --corrections`).
"""

from __future__ import annotations

import streamlit as st

from app_pages import _ui

st.title("Corrections")
st.markdown(
    "The tracker's levels and change calls start as automatic suggestions. When a reviewer corrects one (a level, "
    "the direction of a change, whether the company announced it, or that it was not a change at all), the "
    "correction is listed here with its reason. A weakening is corrected only when two reviewers agree. The same "
    "log is published as an Atom feed."
)
companies = {c.id: c.name for c in _ui.companies()}
company_key = _ui.bind("corrections", "company", "", valid=lambda v: v == "" or v in companies, what="company")
company = st.selectbox("Company", ["", *sorted(companies, key=companies.get)], key=company_key,
                       format_func=lambda c: companies.get(c, "All companies"))
_ui.publish("corrections", "company", company)
items = _ui.corrections(company_id=company or None)
if not items:
    _ui.empty_state("No corrections yet", "Each time a reviewer changes a published judgement it appears here.")
    st.stop()
st.caption(f"{len(items)} correction(s), newest first.")
st.dataframe(
    [{"date": c.on, "company": c.company_name, "what": "level" if c.kind == "level" else "change",
      "commitment or passage": c.subject, "before": c.before, "after": c.after, "reason": c.reason,
      "reviewed by": ", ".join(c.reviewers)} for c in items],
    hide_index=True, width="stretch",
    column_config={"reason": st.column_config.TextColumn(width="large")},
)
