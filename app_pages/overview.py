"""Overview: companies × commitments of a framework as of a date, with headline figures."""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go
import streamlit as st

from app_pages import _ui
from tracker.core.errors import TrackerError
from tracker.core.escaping import escape_markdown
from tracker.read.text import shorten
from tracker.store.vocabulary import BASIS_SYMBOLS, LEVEL_COLOURS, LEVELS, NOT_ASSESSED_COLOUR

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
    view = _ui.overview(framework_id, as_of, signatories_only=signatories_only, groups=chosen_groups or None)
except TrackerError as exc:
    _ui.stop_on_error(exc)

headline = view.headline
cells_total = len(view.companies) * len(view.commitments)
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

st.subheader(f"{escape_markdown(view.framework.name)}, as of {as_of:%d %b %Y}")
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

# ------------------------------------------------------------------------------------------------ heatmap
companies, commitments = view.companies, view.commitments
y_labels = {c.id: shorten(c.name, 22) for c in companies}
z, points = [], []
for company in companies:
    z_row = []
    for commitment in commitments:
        cell = view.cells.get((company.id, commitment.id))
        level = cell.level if cell else None
        z_row.append(-1 if level is None else level)
        label = "–" if cell is None else (
            ("n/a" if level is None else str(level)) + " " + BASIS_SYMBOLS.get(cell.basis, ""))
        points.append((company, commitment, cell, label))
    z.append(z_row)

stops = [NOT_ASSESSED_COLOUR] + [LEVEL_COLOURS[level] for level in sorted(LEVELS)]
colorscale = []
for i, colour in enumerate(stops):
    colorscale += [[i / len(stops), colour], [(i + 1) / len(stops), colour]]
figure = go.Figure()
figure.add_trace(go.Heatmap(
    z=z, x=[c.number for c in commitments], y=[y_labels[c.id] for c in companies], zmin=-1.5, zmax=3.5,
    colorscale=colorscale, showscale=False, xgap=2, ygap=2, hoverinfo="skip",
))
# An invisible marker over each cell: it carries the hover text and makes cells clickable (heatmaps cannot be
# selected in Plotly), and it draws the label so the level is readable without colour.
hover = []
for company, commitment, cell, _ in points:
    detail = (f"{_ui.level_text(cell.level, cell.basis)} since {cell.valid_from:%d %b %Y}" if cell
              else "not assessed")
    hover.append(f"<b>{html.escape(company.name)}</b><br>{commitment.number}. {html.escape(commitment.title)}"
                 f"<br>{detail}"
                 "<br><i>click to open</i>")
xs = [commitment.number for _, commitment, _, _ in points]
ys = [y_labels[company.id] for company, _, _, _ in points]
labels = [label for _, _, _, label in points]
colours = ["white" if cell and cell.level is not None and cell.level >= 2 else "#222" for _, _, cell, _ in points]
figure.add_trace(go.Scatter(
    x=xs, y=ys, mode="markers+text", text=labels, textfont={"color": colours, "size": 13},
    marker={"symbol": "square", "size": 26, "opacity": 0}, hovertext=hover, hoverinfo="text",
    selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}}, showlegend=False,
))
figure.update_layout(
    height=max(260, 70 + 30 * len(companies)), margin={"l": 8, "r": 8, "t": 36, "b": 8},
    xaxis={"side": "top", "type": "category", "fixedrange": True, "title": None},
    yaxis={"autorange": "reversed", "type": "category", "fixedrange": True, "automargin": True},
    dragmode=False, clickmode="event+select", plot_bgcolor="#e5e5e5",
)
_ui.chart_caption(figure, f"Source: Commitment Tracker · {html.escape(view.framework.name)} · levels as of "
                         f"{as_of.isoformat()}", below_axis=False)
event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key="overview:heatmap",
                        config=_ui.chart_config(f"commitment-tracker-{framework_id}-{as_of.isoformat()}"))
st.caption(_ui.legend_markdown() + "  \nClick a cell to open the company at that commitment.")
selected = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else (
    event.selection.points if event else [])
if selected:
    index = selected[0].get("point_index", selected[0].get("point_number"))
    if isinstance(index, int) and 0 <= index < len(points) and selected[0].get("curve_number", 1) == 1:
        company, commitment, _, _ = points[index]
        st.switch_page(_ui.PAGE_COMPANY, query_params={
            "company": company.id, "commitment": commitment.id, "framework": framework_id,
            "date": as_of.isoformat()})

# ------------------------------------------------------------------------------------- average per commitment
st.subheader("Average level per commitment")
averages = headline["average_level"]
rows = []
for commitment in commitments:
    average = averages.get(commitment.id)
    levels = [view.cells[(c.id, commitment.id)].level for c in companies if (c.id, commitment.id) in view.cells]
    rows.append({
        "No.": commitment.number, "Commitment": commitment.title,
        "Average level": None if average is None or math.isnan(average) else round(average, 2),
        "Companies assessed": len(levels), "At level 3": sum(1 for level in levels if level == 3),
    })
st.dataframe(rows, hide_index=True, width="stretch", column_config={
    "Average level": st.column_config.ProgressColumn(min_value=0, max_value=3, format="%.2f"),
})
with st.expander("Commitment texts"):
    for commitment in commitments:
        _ui.commitment_link(commitment.id, f"{commitment.number}. {commitment.title}", as_of=as_of)

st.subheader("Companies")
columns = st.columns(3)
for i, company in enumerate(companies):
    with columns[i % 3]:
        _ui.company_link(company.id, company.name, framework=framework_id, as_of=as_of)
