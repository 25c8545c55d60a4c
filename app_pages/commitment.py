"""Commitment: the official text, which companies meet it at which level, their quotes, and the crosswalk."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from tracker.core.errors import TrackerError
from tracker.read.text import escape_markdown

frameworks = _ui.frameworks()
raw = st.query_params.get("commitment")
link_changed = raw is not None and raw != st.session_state.get("_url_commitment")
if link_changed and raw.split("/")[0] in {f.id for f in frameworks}:
    st.query_params["framework"] = raw.split("/")[0]  # a link to a commitment also picks its framework
top = st.columns([2, 2, 1])
with top[0]:
    framework_id = _ui.framework_control(frameworks)
commitments = _ui.framework_commitments(framework_id)
labels = {c.id: f"{c.number}. {c.title}" for c in commitments}
_ui.bind("commitment", commitments[0].id if commitments else None)
if st.session_state["commitment"] not in labels:
    if link_changed:
        st.warning(f"Unknown commitment {raw!r}; showing the first one of this framework.")
    st.session_state["commitment"] = commitments[0].id if commitments else None
with top[1]:
    commitment_id = st.selectbox("Commitment", list(labels), key="commitment", format_func=labels.get)
    _ui.publish("commitment", commitment_id)
with top[2]:
    as_of = _ui.as_of_control()
if commitment_id is None:
    _ui.empty_state("This framework has no commitments", "Check the catalog files in data/frameworks.")
    st.stop()

try:
    view = _ui.commitment_view(commitment_id, as_of)
except TrackerError as exc:
    _ui.stop_on_error(exc)
commitment = view.commitment

st.title(f"{commitment.number}. {commitment.title}")
st.caption(f"{escape_markdown(view.framework.name)}"
           + ("" if commitment.title_official else " · short title ours, not official"))
if not commitment.text_confirmed:
    st.warning("This text is not yet confirmed against the official source: treat it as a paraphrase until it is.",
               icon="⚠️")
st.markdown("> " + escape_markdown(commitment.text))
st.link_button("Official source ↗", commitment.source_url)
if commitment.detail_text:
    with st.expander("Further detail" + ("" if commitment.detail_text_confirmed else " (unconfirmed)")):
        st.markdown(escape_markdown(commitment.detail_text))
if commitment.note:
    st.caption("Note: " + escape_markdown(commitment.note))

# ----------------------------------------------------------------------------------------------- levels
st.subheader(f"Who meets it, as of {as_of:%d %b %Y}")
counts = view.level_counts()
metric_columns = st.columns(5)
for column, (key, label) in zip(metric_columns, [("3", "3 comprehensive"), ("2", "2 partial"), ("1", "1 mentioned"),
                                                 ("0", "0 no evidence"), ("not assessed", "not assessed")], strict=True):
    column.metric(label, counts.get(key, 0))
st.caption(_ui.legend_markdown())
if not view.companies:
    _ui.empty_state("No signatories by this date", "Pick a later date to see the companies that signed.")
rows = []
for company in view.companies:
    cell = view.cells.get(company.id)
    rows.append({
        "company": company.name, "level": _ui.level_text(cell.level, cell.basis) if cell else "not assessed",
        "since": cell.valid_from if cell else None,
        "signed": view.signatures[company.id].signed_on if company.id in view.signatures else None,
        "quotes": len(view.evidence.get(company.id, [])),
    })
rows.sort(key=lambda r: (r["level"] == "not assessed", r["level"]), reverse=False)
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
if view.companies and not view.cells:
    _ui.empty_state("No evidence yet", "No mapped document addresses this commitment by this date; levels and "
                    "quotes appear here once documents are imported or fetched.")

# ------------------------------------------------------------------------------------- side-by-side evidence
st.subheader("Evidence side by side")
with_quotes = [c for c in view.companies if view.evidence.get(c.id)]
if not with_quotes:
    st.caption("No quotes to compare yet.")
_ui.bind("compare", [c.id for c in with_quotes[:2]], _ui.parse_list)
st.session_state["compare"] = [c for c in st.session_state["compare"] if c in {x.id for x in with_quotes}]
chosen = st.multiselect("Companies to compare", [c.id for c in with_quotes], key="compare",
                        format_func=lambda i: next(c.name for c in with_quotes if c.id == i), max_selections=3)
_ui.publish("compare", chosen)
if chosen:
    columns = st.columns(len(chosen))
    for column, company_id in zip(columns, chosen, strict=True):
        with column:
            company = next(c for c in with_quotes if c.id == company_id)
            cell = view.cells.get(company_id)
            st.markdown(f"**{escape_markdown(company.name)}** · {_ui.level_text(cell.level, cell.basis) if cell else ''}")
            for item in view.evidence[company_id][:3]:
                _ui.quote(item)
            _ui.company_link(company_id, f"{company.name}: full page", commitment=commitment_id)

# -------------------------------------------------------------------------------------------- crosswalk
st.subheader("Equivalent commitments in other frameworks")
if not view.links:
    st.caption("The crosswalk links no other commitment to this one.")
for link in view.links:
    relation = {"same": "asks for the same", "overlaps": "overlaps", "part-of": "is part of"}.get(
        link.relation, link.relation)
    _ui.commitment_link(link.commitment.id,
                        f"{link.framework_name} {link.commitment.number}. {link.commitment.title} ({relation})")
    if link.note:
        st.caption(escape_markdown(link.note))
