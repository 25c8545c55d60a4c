"""Commitment: the official text, which companies meet it at which level, their quotes, and the crosswalk."""

from __future__ import annotations

import streamlit as st

from app_pages import _regimes, _ui
from tracker.core.errors import TrackerError
from tracker.read.text import escape_markdown

PAGE = "commitment"
frameworks = _ui.frameworks()
framework_ids = {f.id for f in frameworks}
raw = st.query_params.get("commitment")
link_changed = raw is not None and raw != st.session_state.get(f"_url_{_ui.widget_key(PAGE, 'commitment')}")
if link_changed and raw.split("/")[0] in framework_ids:
    st.query_params["framework"] = raw.split("/")[0]  # a link to a commitment also picks its framework
top = st.columns([2, 2, 1])
with top[0]:
    framework_id = _ui.framework_control(PAGE, frameworks)
commitments = _ui.framework_commitments(framework_id)
labels = {c.id: f"{c.number}. {c.title}" for c in commitments}
with top[1]:
    commitment_id = _ui.select_control(PAGE, "commitment", "Commitment", list(labels),
                                       commitments[0].id if commitments else None, format_func=labels.get)
with top[2]:
    as_of = _ui.as_of_control(PAGE)
_ui.show_notes()
if commitment_id is None:
    _ui.empty_state("This framework has no commitments", "Check the catalog files in data/frameworks.")
    st.stop()

try:
    view = _ui.commitment_view(commitment_id, as_of)
except TrackerError as exc:
    _ui.stop_on_error(exc)
commitment = view.commitment

st.title(f"{commitment.number}. {escape_markdown(commitment.title)}")
st.caption(f"{escape_markdown(view.framework.name)}"
           + ("" if commitment.title_official else " · short title ours, not official"))
if not commitment.text_confirmed:
    st.warning("This text is not yet confirmed against the official source: treat it as a paraphrase until it is.",
               icon=":material/warning:")
st.markdown("> " + escape_markdown(commitment.text))
if commitment.source_url.startswith(("https://", "http://")):
    st.link_button("Official source", commitment.source_url, icon=":material/open_in_new:")
if commitment.detail_text:
    with st.expander("Further detail" + ("" if commitment.detail_text_confirmed else " (unconfirmed)")):
        st.markdown(escape_markdown(commitment.detail_text))
if commitment.note:
    st.caption("Note: " + escape_markdown(commitment.note))
_regimes.measures(commitment)

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
        "Company": company.name, "Level": _ui.level_text(cell.level, cell.basis, cell.score) if cell else "not assessed",
        "Since": cell.valid_from if cell else None,
        "Signed": view.signatures[company.id].signed_on if company.id in view.signatures else None,
        "Quotes": len(view.evidence.get(company.id, [])),
    })
rows.sort(key=lambda r: (r["Level"] == "not assessed", r["Level"]), reverse=False)
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
quote_names = {c.id: c.name for c in with_quotes}
compare_key = _ui.bind(PAGE, "compare", [c.id for c in with_quotes[:2]], _ui.parse_list,
                       valid=lambda v: isinstance(v, list), what="companies to compare")
st.session_state[compare_key] = [c for c in st.session_state[compare_key] if c in quote_names][:3]
chosen = st.multiselect("Companies to compare", list(quote_names), key=compare_key, format_func=quote_names.get,
                        max_selections=3)
_ui.publish(PAGE, "compare", chosen)
if chosen:
    columns = st.columns(len(chosen))
    for column, company_id in zip(columns, chosen, strict=True):
        with column:
            cell = view.cells.get(company_id)
            level = _ui.level_text(cell.level, cell.basis, cell.score) if cell else ""
            st.markdown(f"**{escape_markdown(quote_names[company_id])}** · {escape_markdown(level)}")
            for item in view.evidence[company_id][:3]:
                _ui.quote(item, as_of=as_of, level=level)
            _ui.company_link(company_id, f"{quote_names[company_id]}: full page", commitment=commitment_id,
                             as_of=as_of)

# -------------------------------------------------------------------------------------------- crosswalk
st.subheader("Equivalent commitments in other frameworks")
if not view.links:
    st.caption("The crosswalk links no other commitment to this one.")
for link in view.links:
    relation = {"same": "asks for the same", "overlaps": "overlaps", "part-of": "is part of"}.get(
        link.relation, link.relation)
    _ui.commitment_link(link.commitment.id,
                        f"{link.framework_name} {link.commitment.number}. {link.commitment.title} ({relation})",
                        as_of=as_of)
    if link.note:
        st.caption(escape_markdown(link.note) + ("" if link.reviewed else " (not yet reviewed against both texts)"))

# ------------------------------------------------------------------- one company on every equivalent at once
names = {c.id: c.name for c in _ui.companies()}
default = next((c.id for c in view.companies if view.evidence.get(c.id)), None) or next(
    (c.id for c in view.companies), None) or next(iter(names), None)
_regimes.equivalents_section(PAGE, commitment_id, as_of, names, default)
