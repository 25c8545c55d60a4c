"""Company: signatures, level per commitment with its quotes, a timeline, documents and flagged changes."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app_pages import _ui
from tracker.core.errors import TrackerError
from tracker.read.text import escape_markdown, shorten
from tracker.store.vocabulary import DIRECTION_ICONS, LEVELS

companies = _ui.companies()
frameworks = _ui.frameworks()
names = {c.id: c.name for c in companies}

_ui.bind("company", None)
if st.session_state["company"] not in names:
    if st.session_state["company"] is not None:
        st.warning(f"Unknown company {st.session_state['company']!r}.")
    st.session_state["company"] = None
top = st.columns([2, 2, 1])
with top[0]:
    company_id = st.selectbox("Company", list(names), key="company", format_func=names.get,
                              index=None, placeholder="Choose a company")
    _ui.publish("company", company_id)
if company_id is None:
    st.title("Company")
    _ui.empty_state("Choose a company", "Its signatures, levels with quotes, documents and changes appear here.")
    columns = st.columns(3)
    for i, company in enumerate(companies):
        with columns[i % 3]:
            _ui.company_link(company.id, company.name)
    st.stop()
with top[1]:
    framework_id = _ui.framework_control(frameworks)
with top[2]:
    as_of = _ui.as_of_control()
focus = st.query_params.get("commitment")

try:
    view = _ui.company_view(company_id, as_of, framework_id)
except TrackerError as exc:
    _ui.stop_on_error(exc)
company = view.company

st.title(company.name)
facts = [f"Headquarters: {company.country}", f"group: {company.group}"]
if company.website:
    facts.append(f"[website]({company.website})")
st.caption(" · ".join(facts))

# --------------------------------------------------------------------------------------------- signatures
st.subheader("Signed")
if view.signatures:
    st.dataframe(
        [{"framework": s.framework_name,
          "signed": ("on or before " if s.date_precision == "on-or-before" else "") + s.signed_on.isoformat(),
          "date confidence": s.date_confidence, "source": s.source_url} for s in view.signatures],
        hide_index=True, width="stretch",
        column_config={"source": st.column_config.LinkColumn(display_text="open ↗")},
    )
else:
    st.info(f"{company.name} has not signed any framework the tracker follows.")
signed_here = any(s.framework_id == framework_id for s in view.signatures)
if not signed_here:
    st.warning(f"{company.name} did not sign {view.framework.name}; levels are shown for comparison only.")

# ------------------------------------------------------------------------------------ level per commitment
st.subheader(f"Level per commitment, {view.framework.short_name}, as of {as_of:%d %b %Y}")
st.caption(_ui.legend_markdown())
if not view.cells:
    _ui.empty_state(
        "No evidence yet",
        f"No document of {company.name} has been mapped onto this framework by this date. When one is, each "
        "commitment below shows its level and the quotes behind it.",
    )
ordered = sorted(view.commitments, key=lambda c: (c.id != focus, c.position))
claims = _ui.submission_links(tuple(sorted(c.assessment_id for c in view.cells.values())))
for commitment in ordered:
    cell = view.cells.get(commitment.id)
    title = f"{commitment.number}. {commitment.title} — {_ui.level_text(cell.level, cell.basis) if cell else 'not assessed'}"
    with st.expander(title, expanded=commitment.id == focus):
        if cell is None:
            st.write("No level yet: no mapped document of this company addresses this commitment by this date.")
        else:
            st.markdown(
                f"**{escape_markdown(_ui.level_text(cell.level, cell.basis))}** since {cell.valid_from:%d %b %Y}"
                + (f" · confidence {cell.confidence:.2f}" if cell.confidence is not None else "")
            )
            if cell.assessment_id in claims:
                st.info("Self-reported: this level is the company's own claim, accepted by a reviewer. "
                        f"[Read the submission and the decision]({claims[cell.assessment_id]})", icon=":material/edit_note:")
            if cell.rationale:
                st.caption(escape_markdown(cell.rationale))
            quotes = view.evidence.get(commitment.id, [])
            if quotes:
                for item in quotes:
                    _ui.quote(item)
            elif cell.level:
                st.write("The assessment cites no stored quote.")
            else:
                st.write("No passage of the assessed document addresses this commitment.")
        _ui.commitment_link(commitment.id, "All companies on this commitment")

# ---------------------------------------------------------------------------------------------- timeline
st.subheader("Timeline")
frame = view.timeline_frame()
versions = [v for d in view.documents for v in d.versions if v.effective_date <= as_of]
if frame.empty and not versions:
    _ui.empty_state("Nothing to plot yet", "Levels over time and the dates of new document versions appear here.")
else:
    figure = go.Figure()
    for commitment in view.commitments:
        rows = frame[frame["commitment_id"] == commitment.id]
        if rows.empty:
            continue
        xs = [*rows["valid_from"], as_of]
        ys = [(-0.2 if v is None or v != v else v) for v in rows["level"]]
        ys.append(ys[-1])
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line_shape="hv",
                                    name=f"{commitment.number}. {shorten(commitment.title, 28)}"))
    if versions:
        figure.add_trace(go.Scatter(
            x=[v.effective_date for v in versions], y=[-0.5] * len(versions), mode="markers", name="new version",
            marker={"symbol": "triangle-up", "size": 11, "color": "#444"},
            hovertext=[f"{v.source_id} {v.label}" for v in versions], hoverinfo="text",
        ))
    figure.update_layout(
        height=360, margin={"l": 8, "r": 8, "t": 10, "b": 8},
        yaxis={"tickvals": [-0.5, *LEVELS], "ticktext": ["version", *(f"{k} {v.lower()}" for k, v in LEVELS.items())],
               "range": [-0.8, 3.3], "fixedrange": True},
        legend={"orientation": "h", "y": -0.2}, hovermode="closest",
    )
    st.plotly_chart(figure, config={"displayModeBar": False})

# --------------------------------------------------------------------------------------------- documents
st.subheader("Documents")
if not view.documents:
    _ui.empty_state("No sources watched", f"The catalog lists no documents of {company.name} yet.")
for document in view.documents:
    source = document.source
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(source.title)}** · {escape_markdown(source.kind)}")
        st.caption(escape_markdown(source.url))
        if document.versions:
            st.dataframe(
                [{"version": v.label, "published": v.published_on, "retrieved": v.fetched_at.date(),
                  "silent re-upload": f"yes, first seen {v.first_seen_on}" if v.silent_reupload else "",
                  "origin": v.origin, "characters": v.char_count or None, "document": v.url,
                  "archived": v.archived_url} for v in document.versions],
                hide_index=True, width="stretch",
                column_config={"document": st.column_config.LinkColumn(display_text="↗"),
                               "archived": st.column_config.LinkColumn(display_text="↗")},
            )
            st.page_link(_ui.PAGE_DOCUMENTS, label="Compare versions", icon="📄",
                         query_params={"source": source.id})
        else:
            st.caption("No version stored yet: the first successful fetch or import will appear here.")

# ----------------------------------------------------------------------------------------------- changes
st.subheader("Flagged changes")
if not view.changes:
    _ui.empty_state("No changes detected", "When a new version of a document changes a commitment passage, the "
                    "change appears here, weakened ones first.")
for change in view.changes[:15]:
    icon = DIRECTION_ICONS.get(change.direction, "")
    pair = (f"{change.old_version.label} → " if change.old_version else "") + change.new_version.label
    reasons = "; ".join(r.get("detail") or r.get("code", "") for r in change.reasons)
    st.markdown(f"{icon} **{change.direction}** · {escape_markdown(change.source_title)} {escape_markdown(pair)}"
                + (f"  \n{escape_markdown(reasons)}" if reasons else ""))
if view.changes:
    st.page_link(_ui.PAGE_CHANGES, label=f"All {len(view.changes)} changes with their diffs", icon="🔀",
                 query_params={"company": company.id})
