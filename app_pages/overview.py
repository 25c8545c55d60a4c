"""Overview: companies × commitments of a framework as of a date, with headline figures."""

from __future__ import annotations

import streamlit as st

from app_pages import _grid, _ui
from tracker.core.errors import TrackerError
from tracker.core.escaping import escape_markdown

st.title("Are AI companies keeping their safety commitments?")

frameworks = _ui.frameworks()
groups = _ui.company_groups()
if not frameworks:
    _ui.empty_state("No frameworks loaded", "Run `python -m tracker init` to load the catalog of commitments.")
    st.stop()

with st.form("overview:search", border=False, enter_to_submit=True):
    search_columns = st.columns([5, 1], vertical_alignment="bottom")
    words = search_columns[0].text_input(
        "Search every document and quote", key="overview:q", placeholder="e.g. third-party evaluation",
        help="Searches every stored version's text and every quote the levels rest on.")
    if search_columns[1].form_submit_button("Search", icon=":material/search:", width="stretch") and words.strip():
        st.switch_page(_ui.PAGE_SEARCH, query_params={"q": words.strip()})

PAGE = "overview"
top = st.columns([3, 2, 2, 3], vertical_alignment="bottom")
with top[0]:
    framework_id = _ui.framework_control(PAGE, frameworks)
with top[1]:
    as_of = _ui.as_of_control(PAGE)
with top[2]:
    signatories_only = _ui.toggle_control(PAGE, "signatories", "Signatories only", True)
with top[3]:
    chosen_groups = _ui.multiselect_control(PAGE, "groups", "Company group", groups, what="company group",
                                            placeholder="All groups")
_ui.show_notes()

try:
    view = _grid.overview_data(framework_id, as_of, signatories_only=signatories_only,
                               groups=chosen_groups or None)
except TrackerError as exc:
    _ui.stop_on_error(exc)

headline = view.headline
cells_total = view.companies * len(view.commitments)
metrics = st.columns(3)
metrics[0].metric("Companies shown", headline["companies"],
                  help="Companies in the grid; with 'Signatories only' these are the signatories as of the date.")
deadline = headline.get("deadline")
if deadline:
    metrics[1].metric(
        f"Published a framework by {escape_markdown(str(deadline['label']))}", f"{deadline['met']} of {deadline['due']}",
        help=f"Signatories (as of {deadline['date']:%d %b %Y}) with a framework document published on or before "
             "that date, according to the versions the tracker holds.",
    )
else:
    metrics[1].metric("Framework deadline", "none passed", help="No deadline of this framework is before the date.")
metrics[2].metric("Cells assessed", f"{headline['assessed_cells']} of {cells_total}",
                  help="Company × commitment pairs with a level as of the date.")

st.subheader(f"{escape_markdown(view.framework_name)}, as of {as_of:%d %b %Y}")
if not view.companies:
    _ui.empty_state("No companies match these filters",
                    "Untick 'Signatories only' or choose another group or date.")
    st.stop()
if not view.cells:
    _ui.empty_state(
        "No evidence yet",
        "No document of these companies has been mapped onto this framework by this date. Once `refresh` or "
        "`import-file` has stored a version, each cell shows the level (0 to 3) found in it, and each company's "
        "page shows the quotes behind it.",
    )

# At a glance first (levels per commitment, by group), then the grid of companies, one page at a time.
st.markdown("#### At a glance")
_grid.summary(view, as_of)
with st.expander("Commitment texts"):
    for commitment in view.commitments:
        _ui.commitment_link(commitment.id, f"{commitment.number}. {commitment.title}", as_of=as_of)

st.markdown("#### Companies × commitments")
_grid.grid(view, framework_id, as_of)
