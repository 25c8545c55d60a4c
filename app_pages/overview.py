"""Overview: companies × commitments of a framework as of a date, with headline figures."""

from __future__ import annotations

import streamlit as st

from app_pages import _grid, _regimes, _ui
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
framework_names = {f.id: f.name for f in frameworks}
with top[0]:
    choice = _ui.select_control(
        PAGE, "framework", "Framework", [*framework_names, _regimes.UNION],
        "seoul-2024" if "seoul-2024" in framework_names else next(iter(framework_names)),
        format_func=lambda i: _regimes.UNION_LABEL if i == _regimes.UNION else framework_names.get(i, i),
        what="framework", help="One framework, or the Seoul commitments at the best level a company reaches on "
                               "them or on any regime commitment the crosswalk links to them.")
crosswalked = choice == _regimes.UNION
framework_id = _regimes.UNION_TARGET if crosswalked else choice
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
                               groups=chosen_groups or None, crosswalked=crosswalked)
except TrackerError as exc:
    _ui.stop_on_error(exc)

headline = view.headline
cells_total = view.companies * len(view.commitments)
metrics = st.columns(3)
metrics[0].metric("Companies shown", headline["companies"],
                  help="Companies in the grid; with 'Signatories only' these are the signatories as of the date.")
deadline = headline.get("deadline")
if crosswalked:
    metrics[1].metric("Levels that come from a regime", f"{headline.get('cells_from_regimes', 0)} of "
                      f"{headline['assessed_cells']}",
                      help="Cells where a crosswalked commitment of the EU Code, SB 53 or RAISE gives a higher "
                           "level than the company's Seoul level; the cell names it (e.g. 'EU 4').")
elif deadline:
    metrics[1].metric(
        f"Published a framework by {deadline['date']:%d %b %Y}", f"{deadline['met']} of {deadline['due']}",
        help=f"The deadline: {escape_markdown(str(deadline['label']))}. Signatories (as of "
             f"{deadline['date']:%d %b %Y}) with a framework document published on or before that date, according "
             "to the versions the tracker holds.",
    )
else:
    metrics[1].metric("Framework deadline", "none passed", help="No deadline of this framework is before the date.")
metrics[2].metric("Cells assessed", f"{headline['assessed_cells']} of {cells_total}",
                  help="Company × commitment pairs with a level as of the date.")

st.subheader(f"{escape_markdown(view.framework_name)}"
             + (", crosswalked with every regime" if crosswalked else "") + f", as of {as_of:%d %b %Y}")
if crosswalked:
    _regimes.union_explainer(framework_id, as_of)
elif _regimes.is_regime(frameworks, framework_id):
    _regimes.deadline_table(framework_id, as_of, list(view.table["_id"]) if "_id" in view.table else [])
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
if crosswalked:
    _regimes.union_sources_table(framework_id, as_of, signatories_only=signatories_only,
                                 groups=chosen_groups or None)
