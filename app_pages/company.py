"""Company: signatures, level per commitment with its quotes, a timeline, documents and flagged changes."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app_pages import _regimes, _ui
from tracker.core.errors import TrackerError
from tracker.read.text import escape_markdown, shorten
from tracker.store.vocabulary import (
    BINDING_STATUSES,
    DATE_CONFIDENCE_LABELS,
    DIRECTION_ICONS,
    DIRECTION_LABELS,
    LEVELS,
    SIGNATURE_STATUS_LABELS,
    reason_text,
)

PAGE = "company"
companies = _ui.companies()
frameworks = _ui.frameworks()
names = {c.id: c.name for c in companies}

top = st.columns([2, 2, 1])
with top[0]:
    company_id = _ui.select_control(PAGE, "company", "Company", list(names), None, format_func=names.get,
                                    index=None, placeholder="Choose a company")
if company_id is None:
    _ui.show_notes()
    st.title("Company")
    _ui.empty_state("Choose a company", "Its signatures, levels with quotes, documents and changes appear here.")
    columns = st.columns(3)
    for i, company in enumerate(companies):
        with columns[i % 3]:
            _ui.company_link(company.id, company.name)
    st.stop()
with top[1]:
    framework_id = _ui.framework_control(PAGE, frameworks)
with top[2]:
    as_of = _ui.as_of_control(PAGE)
commitment_ids = {c.id for c in _ui.framework_commitments(framework_id)}
focus = _ui.url_param("commitment", lambda c: c in commitment_ids, "commitment of this framework")
_ui.show_notes()

try:
    view = _ui.company_view(company_id, as_of, framework_id)
except TrackerError as exc:
    _ui.stop_on_error(exc)
company = view.company

st.title(escape_markdown(company.name))
facts = [f"Headquarters: {escape_markdown(company.country)}", f"group: {escape_markdown(company.group)}"]
st.caption(" · ".join(facts))
if company.website and company.website.startswith(("https://", "http://")):
    st.link_button("Company website", company.website, icon=":material/open_in_new:")

# --------------------------------------------------------------------------------------------- signatures
st.subheader("Signed")
if view.signatures:
    st.dataframe(
        [{"Framework": s.framework_name, "Status": SIGNATURE_STATUS_LABELS.get(s.status, s.status)
          + (f" ({s.scope})" if s.scope and s.scope != "all" else ""),
          "Signed": ("on or before " if s.date_precision == "on-or-before" else "") + s.signed_on.isoformat(),
          "How sure the date is": DATE_CONFIDENCE_LABELS.get(s.date_confidence, s.date_confidence),
          "Source": s.source_url} for s in view.signatures],
        hide_index=True, width="stretch",
        column_config={"Source": st.column_config.LinkColumn(display_text="open")},
    )
else:
    st.info(f"{escape_markdown(company.name)} has not signed any framework the tracker follows.")
signed_here = any(s.framework_id == framework_id and s.status in BINDING_STATUSES for s in view.signatures)
if not signed_here:
    declined = any(s.framework_id == framework_id and s.status == "declined" for s in view.signatures)
    st.warning(f"{escape_markdown(company.name)} {'declined to sign' if declined else 'did not sign'} "
               f"{escape_markdown(view.framework.name)}; levels are shown for comparison only.")

# ------------------------------------------------------------------------------ legal and regime obligations
_regimes.obligations_section(company.id, company.name, as_of)

# ------------------------------------------------------------------------------------ level per commitment
st.subheader(f"Level per commitment, {escape_markdown(view.framework.short_name)}, as of {as_of:%d %b %Y}")
st.caption(_ui.legend_markdown())
if not view.cells:
    _ui.empty_state(
        "No evidence yet",
        f"No document of {escape_markdown(company.name)} has been mapped onto this framework by this date. When one "
        "is, each commitment below shows its level and the quotes behind it.",
    )
ordered = sorted(view.commitments, key=lambda c: (c.id != focus, c.position))
claims = _ui.submission_links(tuple(sorted(c.assessment_id for c in view.cells.values())))
independent = view.independent_cells()
version_index = {v.id: (v, d.source.title) for d in view.documents for v in d.versions}
for commitment in ordered:
    cell = view.cells.get(commitment.id)
    own = independent.get(commitment.id)
    if cell is not None and cell.basis == "self-reported":
        summary = (f"tracker: {_ui.level_text(own.level, own.basis, own.score) if own else 'not assessed'} · "
                   f"company's claim: {_ui.level_text(cell.level, cell.basis, cell.score)}")
    else:
        summary = _ui.level_text(cell.level, cell.basis, cell.score) if cell else "not assessed"
    with st.expander(f"{commitment.number}. {escape_markdown(commitment.title)} — {summary}",
                     expanded=commitment.id == focus):
        if cell is None:
            st.write("No level yet: no mapped document of this company addresses this commitment by this date.")
        else:
            shown = own if cell.basis == "self-reported" else cell
            if shown is not None:
                st.markdown(
                    f"**Tracker's level: {escape_markdown(_ui.level_text(shown.level, shown.basis, shown.score))}** since "
                    f"{shown.valid_from:%d %b %Y}"
                    + (f" · mapping confidence {shown.confidence:.0%}" if shown.confidence is not None else ""),
                    help="Mapping confidence: how sure the software is that the quotes address this commitment "
                         "(0–100%); a reviewed level (✓) is a person's judgement.")
                if shown.rationale:
                    st.caption(escape_markdown(shown.rationale))
                based_on = version_index.get(shown.version_id)
                if based_on is not None:
                    version, title = based_on
                    _ui.cite_popover(_ui.citation_for(
                        version, company=company.name, source_title=title, page="company",
                        params={"company": company.id, "commitment": commitment.id, "framework": framework_id,
                                "date": as_of},
                        claim=f"{commitment.id} at level {_ui.level_text(shown.level, shown.basis, shown.score)}", as_of=as_of),
                        label="Cite this level")
            else:
                st.markdown("**Tracker's level: not assessed** from the company's documents yet.")
            if cell.basis == "self-reported":
                link = claims.get(cell.assessment_id)
                st.info(f"**Company's own claim: {escape_markdown(_ui.level_text(cell.level, cell.basis, cell.score))}** since "
                        f"{cell.valid_from:%d %b %Y}, accepted by a reviewer; shown beside the tracker's level, "
                        "not instead of it." + (f" [Read the submission and the decision]({link})" if link else ""),
                        icon=":material/edit_note:")
            quotes = view.evidence.get(commitment.id, [])
            level_words = _ui.level_text(cell.level, cell.basis, cell.score)
            if quotes:
                # All quotes for the commitment in focus; two for the others (each quote is a dozen elements).
                shown_quotes = quotes if commitment.id == focus else quotes[:2]
                for item in shown_quotes:
                    _ui.quote(item, as_of=as_of, level=level_words)
                if len(shown_quotes) < len(quotes):
                    st.page_link(_ui.PAGE_COMPANY, label=f"All {len(quotes)} quotes for this commitment",
                                 icon=":material/format_quote:",
                                 query_params={"company": company.id, "commitment": commitment.id,
                                               "framework": framework_id, "date": as_of.isoformat()})
            elif cell.level:
                st.write("The assessment cites no stored quote.")
            else:
                st.write("No passage of the assessed document addresses this commitment.")
        links = st.columns(2)
        with links[0]:
            _ui.commitment_link(commitment.id, "All companies on this commitment", as_of=as_of)
        with links[1]:
            st.page_link(_ui.PAGE_CHANGES, label="Changes to this commitment", icon=":material/difference:",
                         query_params={"company": company.id, "commitment": commitment.id})

# ---------------------------------------------------------------------------------------------- timeline
st.subheader("Timeline")
frame = view.timeline_frame()
versions = [v for d in view.documents for v in d.versions if v.effective_date <= as_of]
plotted = [c for c in view.commitments if not frame[frame["commitment_id"] == c.id].empty]
if not plotted and not versions:
    _ui.empty_state("Nothing to plot yet", "Levels over time and the dates of new document versions appear here.")
elif not plotted:
    st.caption("No level recorded yet; new document versions: "
               + ", ".join(escape_markdown(v.label) for v in versions[:20]))
else:
    # Small multiples: one row per commitment, so step lines never lie on top of each other.
    figure = make_subplots(rows=len(plotted), cols=1, shared_xaxes=True, vertical_spacing=0.02,
                           subplot_titles=[shorten(f"{c.number}. {c.title}", 70) for c in plotted])
    for row, commitment in enumerate(plotted, start=1):
        rows = frame[frame["commitment_id"] == commitment.id]
        xs = [*rows["valid_from"], as_of]
        ys = [(-0.3 if v is None or v != v else v) for v in rows["level"]]
        ys.append(ys[-1])
        hover = [f"{html.escape(commitment.number)}: level {'n/a' if y < 0 else int(y)} ({b})"
                 for y, b in zip(ys, [*rows["basis"], rows["basis"].iloc[-1]], strict=True)]
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line_shape="hv", showlegend=False,
                                    line={"color": "#0570b0"}, hovertext=hover, hoverinfo="text+x"),
                         row=row, col=1)
        figure.update_yaxes(range=[-0.5, 3.4], tickvals=list(LEVELS), fixedrange=True, row=row, col=1)
    figure.update_annotations(font={"size": 11}, xanchor="left", x=0)
    # New versions as dotted lines across every row: one list of shapes (add_vline per row costs seconds).
    figure.update_layout(shapes=[
        {"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
         "line": {"color": "#bbb", "width": 1, "dash": "dot"}, "layer": "below"}
        for day in sorted({v.effective_date.isoformat() for v in versions})])
    figure.update_layout(height=70 + 95 * len(plotted), margin={"l": 8, "r": 8, "t": 24, "b": 8},
                         hovermode="closest", showlegend=False)
    _ui.chart_caption(figure, f"Source: Commitment Tracker · {html.escape(company.name)}, "
                              f"{html.escape(view.framework.short_name)} · levels 0–3 as of {as_of.isoformat()} · "
                              "dotted lines: new document versions")
    st.plotly_chart(figure, key="company:timeline",
                    config=_ui.chart_config(f"commitment-tracker-{company.id}-{as_of.isoformat()}"))

# --------------------------------------------------------------------------------------------- documents
st.subheader("Documents")
if not view.documents:
    _ui.empty_state("No sources watched", f"The catalog lists no documents of {escape_markdown(company.name)} yet.")
for document in view.documents:
    source = document.source
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(source.title)}** · {escape_markdown(source.kind)}")
        st.caption(escape_markdown(source.url))
        if document.versions:
            st.dataframe(
                [{"Version": v.label, "Published": v.published_on, "Retrieved": v.fetched_at.date(),
                  "Silent re-upload": f"yes, first seen {v.first_seen_on}" if v.silent_reupload else "",
                  "Where the copy comes from": _ui.ORIGIN_LABELS.get(v.origin, v.origin),
                  "Characters": v.char_count or None, "Document": v.url,
                  "Archived copy": v.archived_url} for v in document.versions],
                hide_index=True, width="stretch",
                column_config={"document": st.column_config.LinkColumn(display_text="↗"),
                               "archived": st.column_config.LinkColumn(display_text="↗")},
            )
            st.page_link(_ui.PAGE_DOCUMENTS, label="Compare versions", icon=":material/description:",
                         query_params={"source": source.id})
        else:
            st.caption("No version stored yet: the first successful fetch or import will appear here.")

# ----------------------------------------------------------------------------------------------- changes
st.subheader("Flagged changes")
commitment_names = {c.id: f"{c.number}. {c.title}" for c in view.commitments}
changes = view.changes
change_filter = _ui.select_control(
    PAGE, "changes_commitment", "Show changes to", list(commitment_names), None, format_func=commitment_names.get,
    index=None, placeholder="All commitments", what="commitment")
if change_filter:
    changes = [c for c in changes if change_filter in c.commitments]
st.caption(f"{len(changes)} changes to {escape_markdown(company.name)}'s documents up to {as_of:%d %b %Y}"
           + (f" touching {escape_markdown(commitment_names[change_filter])}" if change_filter else "")
           + ", weakened ones first.")
if not changes:
    _ui.empty_state("No changes detected", "When a new version of a document changes a commitment passage, the "
                    "change appears here, weakened ones first.")
for change in changes[:15]:
    icon = DIRECTION_ICONS.get(change.direction, "")
    pair = (f"{change.old_version.label} → " if change.old_version else "") + change.new_version.label
    reasons = "; ".join(reason_text(r) for r in change.reasons)
    st.markdown(f"{icon} **{DIRECTION_LABELS.get(change.direction, change.direction)}** · "
                f"{escape_markdown(change.source_title)} {escape_markdown(pair)}"
                + (f"  \n{escape_markdown(reasons)}" if reasons else ""))
if changes:
    params = {"company": company.id, "until": as_of.isoformat()}
    if change_filter:
        params["commitment"] = change_filter
    st.page_link(_ui.PAGE_CHANGES, label=f"All {len(changes)} changes with their diffs",
                 icon=":material/difference:", query_params=params)
