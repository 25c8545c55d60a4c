"""The overview's summary and grid, drawn cheaply enough for a thousand companies.

Why a module: the overview page stays a thin script (controls, headline, these two calls), and the grid is a
styled `st.dataframe` of one page of companies (sticky headers, sortable columns, a cell click opens the
company) instead of a Plotly figure with a text point per cell, which at 1,000 × 10 cells meant megabytes of
JSON and tens of thousands of DOM nodes. The summary is a figure of pre-aggregated counts (a few dozen bars).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_pages import _ui
from tracker.core.config import get_settings
from tracker.core.work import read_only
from tracker.read import queries, union
from tracker.read.queries import Overview
from tracker.store.vocabulary import (
    BASIS_SYMBOLS,
    LEVEL_COLOURS,
    LEVEL_SCORE_BANDS,
    LEVELS,
    NOT_ASSESSED_COLOUR,
)

PAGE_SIZE = 50
NOT_ASSESSED = "not assessed"
NOT_APPLICABLE = "n/a"
# Summary categories, lowest first, with their bar colours (the grid's colours, so both read alike).
CATEGORIES = {NOT_ASSESSED: "#d9d9d9", NOT_APPLICABLE: "#a6a6a6",
              **{str(level): LEVEL_COLOURS[level] for level in sorted(LEVELS)}}
SORTS = {"name": "Name (A–Z)", "score_desc": "Average level (highest first)",
         "score_asc": "Average level (lowest first)", "points_desc": "Score (highest first)",
         "points_asc": "Score (lowest first)", "assessed": "Most commitments assessed"}
LEVEL_FILTERS = {**{str(level): f"{level} {name.lower()}" for level, name in LEVELS.items()},
                 NOT_APPLICABLE: "not applicable", NOT_ASSESSED: "not assessed"}


PAGE = "overview"  # widget keys and URL parameters are scoped to the overview page


def _category(view: Overview, company_id: str, commitment_id: str) -> str:
    cell = view.cells.get((company_id, commitment_id))
    if cell is None:
        return NOT_ASSESSED
    return NOT_APPLICABLE if cell.level is None else str(cell.level)


@dataclass(frozen=True)
class CommitmentRef:
    id: str
    number: str
    title: str


@dataclass
class OverviewData:
    """What the overview draws, pre-aggregated: small to cache and to copy out of the cache on every view.

    The read model's 10,000 cell objects are reduced once per (framework, date, filters, data version) to one
    row per company and a few dozen counts; a warm view then unpickles a compact frame, not the cells.
    """

    framework_name: str
    headline: dict
    commitments: list[CommitmentRef]
    companies: int
    cells: int
    table: pd.DataFrame  # one row per company: _id, Company, Group, one text column per commitment, Average, Assessed
    by_group: dict[tuple[str, str], dict[str, int]]  # (group, commitment number) -> category -> companies
    spread: dict[str, dict[str, int]]  # commitment number -> category -> companies


def overview_data(
    framework_id: str, as_of: date, *, signatories_only: bool = True, groups: list[str] | None = None,
    crosswalked: bool = False,
) -> OverviewData:
    """The overview's data for this run (cached by database, data version, framework, date and filters).

    `crosswalked`: the framework's grid at the best level over it and the regimes crosswalked to it
    (`tracker.read.union`), drawn by the same grid."""
    return _overview_data(get_settings().database_url, _ui.data_version(), framework_id, as_of, signatories_only,
                          tuple(groups or ()), crosswalked)


@st.cache_data(ttl=get_settings().cache_ttl_seconds, show_spinner=False, max_entries=64)
def _overview_data(database: str, version: str, framework_id: str, as_of: date, signatories_only: bool,
                   groups: tuple[str, ...], crosswalked: bool = False) -> OverviewData:
    if crosswalked:
        view = read_only(union.crosswalked_overview, as_of, target=framework_id, signatories_only=signatories_only,
                         groups=list(groups) or None)
    else:
        view = read_only(queries.overview, framework_id, as_of, signatories_only=signatories_only,
                         groups=list(groups) or None)
    by_group: dict[tuple[str, str], Counter] = defaultdict(Counter)
    spread: dict[str, Counter] = defaultdict(Counter)
    for company in view.companies:
        for commitment in view.commitments:
            category = _category(view, company.id, commitment.id)
            by_group[company.group, commitment.number][category] += 1
            spread[commitment.number][category] += 1
    return OverviewData(
        framework_name=view.framework.name, headline=view.headline,
        commitments=[CommitmentRef(c.id, c.number, c.title) for c in view.commitments],
        companies=len(view.companies), cells=len(view.cells), table=_company_table(view),
        by_group={k: dict(v) for k, v in by_group.items()}, spread={k: dict(v) for k, v in spread.items()},
    )


# ------------------------------------------------------------------------------------------------ summary


def summary(data: OverviewData, as_of: date) -> None:
    """At a glance: how the shown companies spread over the levels, per commitment and company group."""
    groups = sorted({group for group, _ in data.by_group})
    x = [[g for g in groups for _ in data.commitments], [c.number for _ in groups for c in data.commitments]]
    figure = go.Figure()
    for category, colour in CATEGORIES.items():
        y = [data.by_group.get((g, c.number), {}).get(category, 0) for g in groups for c in data.commitments]
        if not any(y):
            continue
        name = f"level {category}" if category.isdigit() else category
        figure.add_trace(go.Bar(x=x, y=y, name=name, marker_color=colour,
                                hovertemplate=f"%{{x}}<br>{name}: %{{y}} companies<extra></extra>"))
    figure.update_layout(
        barmode="stack", height=300, margin={"l": 8, "r": 8, "t": 8, "b": 8}, legend={"orientation": "h"},
        yaxis={"title": "companies", "fixedrange": True}, xaxis={"fixedrange": True}, dragmode=False,
    )
    _ui.chart_caption(figure, f"Source: Commitment Tracker · levels as of {as_of.isoformat()}")
    st.plotly_chart(figure, key="overview:summary", config=_ui.chart_config("commitment-tracker-overview-summary"))
    st.caption("Companies at each level per commitment, by company group (bars stack to the companies shown).")

    averages = data.headline.get("average_level", {})
    rows = []
    for commitment in data.commitments:
        average = averages.get(commitment.id) if isinstance(averages, dict) else None
        spread = data.spread.get(commitment.number, {})
        rows.append({
            "No.": commitment.number, "Commitment": commitment.title,
            "Average level": None if average is None or average != average else round(average, 2),
            "Companies at levels 0–3": [spread.get(str(level), 0) for level in sorted(LEVELS)],
            "Companies assessed": data.companies - spread.get(NOT_ASSESSED, 0),
            "At level 3": spread.get("3", 0),
        })
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "Average level": st.column_config.ProgressColumn(min_value=0, max_value=3, format="%.2f"),
        "Companies at levels 0–3": st.column_config.BarChartColumn(help="Companies at level 0, 1, 2 and 3", y_min=0),
    })


# --------------------------------------------------------------------------------------------------- grid


def _company_table(view: Overview) -> pd.DataFrame:
    """One row per company: name, group, average level and score, assessed count, then the cell text per commitment.

    A cell reads "level basis (score)", e.g. "3 ✓ (82)"; where the company's own accepted claim is the level in
    force, the tracker's independent level comes first and the claim beside it: "2 · (61) · claims 3 ✎".
    """
    records = []
    for company in view.companies:
        levels, scores, assessed = [], [], 0
        record: dict[str, object] = {"_id": company.id, "Company": company.name, "Group": company.group}
        for commitment in view.commitments:
            cell = view.cells.get((company.id, commitment.id))
            claim = ""
            if cell is not None and cell.basis == "self-reported":
                claim = f" · claims {'n/a' if cell.level is None else cell.level} {BASIS_SYMBOLS['self-reported']}"
                cell = view.independent.get((company.id, commitment.id))
            if cell is None:
                record[commitment.number] = "–" + claim
                continue
            assessed += 1
            if cell.level is not None:
                levels.append(cell.level)
            if cell.score is not None:
                scores.append(cell.score)
            via = getattr(cell, "via_label", "")
            record[commitment.number] = (
                (NOT_APPLICABLE if cell.level is None else str(cell.level)) + " " + BASIS_SYMBOLS.get(cell.basis, "")
                + (f" {via}" if via else "") + (f" ({cell.score:.0f})" if cell.score is not None else "") + claim)
        record["Average"] = round(sum(levels) / len(levels), 2) if levels else None
        record["Score"] = round(sum(scores) / len(scores), 1) if scores else None
        record["Assessed"] = assessed
        records.append(record)
    return pd.DataFrame.from_records(records)


_SCORE_IN_CELL = re.compile(r" \((\d+(?:\.\d+)?)\)")


def _blend(low: str, high: str, share: float) -> str:
    a, b = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (low, high))
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def _cell_style(text: object) -> str:
    """The level's colour, shaded by the cell's score inside the level's band toward the next level's colour.

    Why: 47% of reviewed cells are level 3, so the level alone paints most of the grid one colour; the score
    (0-100, kept inside the level's band) tells the firmer and more specific documents apart.
    """
    head = str(text).split(" ")[0]
    if head.isdigit() and int(head) in LEVEL_COLOURS:
        level = int(head)
        colour = LEVEL_COLOURS[level]
        score = _SCORE_IN_CELL.search(str(text))
        if score:
            low, high = LEVEL_SCORE_BANDS[level]
            share = min(max((float(score.group(1)) - low) / (high - low), 0.0), 1.0)
            darker = LEVEL_COLOURS.get(level + 1, "#023858")
            colour = _blend(colour, darker, 0.6 * share)
        return f"background-color: {colour}; color: {'white' if level >= 2 else '#222'}"
    return f"background-color: {NOT_ASSESSED_COLOUR}; color: #555"


def grid(data: OverviewData, framework_id: str, as_of: date) -> None:
    """Companies × commitments, 50 companies a page, filtered and sorted here; a cell click opens the company."""
    numbers = [c.number for c in data.commitments]
    by_number = {c.number: c for c in data.commitments}
    controls = st.columns([3, 2, 2, 2, 2], vertical_alignment="bottom")
    with controls[0]:
        q_key = _ui.bind(PAGE, "find", "", lambda raw: raw.strip()[:100], valid=lambda v: isinstance(v, str))
        search = st.text_input("Find a company", key=q_key, placeholder="Name or part of it")
        _ui.publish(PAGE, "find", search.strip())
    with controls[1]:
        sort_key = _ui.bind(PAGE, "sort", "name", valid=lambda v: v in SORTS, what="sort order")
        sort = st.selectbox("Sort by", list(SORTS), key=sort_key, format_func=SORTS.get)
        _ui.publish(PAGE, "sort", "" if sort == "name" else sort)
    with controls[2]:
        score = st.slider("Average level", 0.0, 3.0, (0.0, 3.0), step=0.25, key="overview:score",
                          help="Companies whose average level over the assessed commitments is in this range.")
    with controls[3]:
        level_commitment = st.selectbox("Level on commitment", ["any", *numbers], key="overview:level_commitment",
                                        format_func=lambda n: "any commitment" if n == "any" else
                                        f"{n}. {by_number[n].title}")
    with controls[4]:
        wanted_levels = st.multiselect("is", list(LEVEL_FILTERS), key="overview:level_filter",
                                       format_func=LEVEL_FILTERS.get, placeholder="any level")

    table = data.table
    keep = pd.Series(True, index=table.index)
    if search.strip():
        keep &= table["Company"].str.contains(search.strip(), case=False, regex=False)
    if score != (0.0, 3.0):
        keep &= table["Average"].between(*score)
    if wanted_levels:
        columns = numbers if level_commitment == "any" else [level_commitment]
        heads = table[columns].apply(lambda column: column.str.split(" ").str[0].replace("–", NOT_ASSESSED))
        keep &= heads.isin(wanted_levels).any(axis=1)
    table = table[keep]
    if sort == "score_desc":
        table = table.sort_values(["Average", "Company"], ascending=[False, True], na_position="last")
    elif sort == "score_asc":
        table = table.sort_values(["Average", "Company"], ascending=[True, True], na_position="last")
    elif sort == "points_desc":
        table = table.sort_values(["Score", "Company"], ascending=[False, True], na_position="last")
    elif sort == "points_asc":
        table = table.sort_values(["Score", "Company"], ascending=[True, True], na_position="last")
    elif sort == "assessed":
        table = table.sort_values(["Assessed", "Company"], ascending=[False, True])

    if table.empty:
        _ui.empty_state("No company matches", "Clear the search or widen the level filters.")
        return
    pages = max(1, -(-len(table) // PAGE_SIZE))
    if pages > 1:
        page = st.number_input(f"Page (of {pages}; {PAGE_SIZE} companies a page)", min_value=1, max_value=pages,
                               value=1, step=1, key="grid_page")
    else:
        page = 1
    shown = table.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE].reset_index(drop=True)
    company_ids = list(shown.pop("_id"))
    shown = shown[["Company", *numbers, "Average", "Score", "Group", "Assessed"]]
    st.caption(f"Companies {(page - 1) * PAGE_SIZE + 1}–{(page - 1) * PAGE_SIZE + len(shown)} of {len(table)}"
               + (f" (of {data.companies} shown above)" if len(table) != data.companies else "")
               + ". Click a cell to open the company at that commitment; click a column header to sort this page.")
    column_config: dict[str, object] = {
        "Company": st.column_config.TextColumn("Company", width="medium", pinned=True),
        "Average": st.column_config.NumberColumn("Average", format="%.2f", width="small",
                                                 help="Mean level over the assessed commitments"),
        "Score": st.column_config.NumberColumn(
            "Score", format="%.0f", width="small",
            help="Mean cell score (0-100) over the assessed commitments: how many indicators are met, how firmly "
                 "and how specifically; each level has its band (0: 0-24, 1: 25-49, 2: 50-69, 3: 70-100)"),
        "Group": st.column_config.TextColumn("Group", width="small"),
        "Assessed": st.column_config.NumberColumn("Assessed", width="small"),
    }
    for commitment in data.commitments:
        column_config[commitment.number] = st.column_config.TextColumn(
            commitment.number, width="small", help=f"{commitment.number}. {commitment.title}")
    event = st.dataframe(
        shown.style.map(_cell_style, subset=numbers), hide_index=True, key="grid", on_select="rerun",
        selection_mode="single-cell", column_config=column_config, row_height=32,
        height=min(32 * (len(shown) + 1) + 3, 32 * 16 + 3), width="stretch",
    )
    st.caption(_ui.legend_markdown())
    cells = event.selection.cells if event is not None else []
    if cells:
        row, column = cells[0]
        if 0 <= row < len(company_ids):
            params = {"company": company_ids[row], "framework": framework_id, "date": as_of.isoformat()}
            if column in by_number:
                params["commitment"] = by_number[column].id
            st.switch_page(_ui.PAGE_COMPANY, query_params=params)

    st.markdown("**Companies on this page**")
    link_columns = st.columns(3)
    for i, (company_id, name) in enumerate(zip(company_ids, shown["Company"], strict=True)):
        with link_columns[i % 3]:
            _ui.company_link(company_id, str(name))
