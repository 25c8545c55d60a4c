"""Naive formulations the benchmarks compare against: same answers, the obvious (slow) way.

They are kept here, not in `tracker/`, because nothing in the tracker should call them; tests check that they
agree with the real queries, so a ratio in the benchmark table compares like with like.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date

import plotly.graph_objects as go
import sqlalchemy as sa
from sqlmodel import Session

from tracker.publish import exports
from tracker.publish.stocktake import Stocktake
from tracker.read import queries
from tracker.read.asof import latest_assessments
from tracker.read.text import shorten
from tracker.store import models as m
from tracker.store.search import query_words
from tracker.store.vocabulary import (
    BASIS_RANK,
    BASIS_SYMBOLS,
    DIRECTION_ORDER,
    LEVEL_COLOURS,
    LEVELS,
    NOT_ASSESSED_COLOUR,
)


def _order_key(a: m.Assessment) -> tuple:
    return (a.valid_from, BASIS_RANK.get(a.basis, 0), a.recorded_at, a.id)


def replay_latest_assessments(
    session: Session, as_of: date, *, framework_id: str | None = None, company_ids: list[str] | None = None,
    commitment_ids: list[str] | None = None,
) -> list[m.Assessment]:
    """As-of by replay: load every row up to the date and keep the newest per pair in Python."""
    query = sa.select(m.Assessment).where(m.Assessment.valid_from <= as_of)
    if framework_id is not None:
        query = query.where(m.Assessment.commitment_id.like(f"{framework_id}/%"))
    if company_ids is not None:
        query = query.where(m.Assessment.company_id.in_(list(company_ids)))
    if commitment_ids is not None:
        query = query.where(m.Assessment.commitment_id.in_(list(commitment_ids)))
    latest: dict[tuple[str, str], m.Assessment] = {}
    for row in session.scalars(query):
        key = (row.company_id, row.commitment_id)
        if key not in latest or _order_key(row) > _order_key(latest[key]):
            latest[key] = row
    return list(latest.values())


def company_page_n_plus_one(session: Session, company_id: str, framework_id: str, as_of: date) -> int:
    """The company page the naive way: per commitment, one as-of query and one evidence query."""
    rows = 0
    commitments = session.scalars(sa.select(m.Commitment.id).where(m.Commitment.framework_id == framework_id)).all()
    for commitment_id in commitments:
        for a in latest_assessments(session, as_of, company_ids=[company_id], commitment_ids=[commitment_id]):
            rows += len(session.scalars(sa.select(m.Evidence).where(
                m.Evidence.version_id == a.version_id, m.Evidence.commitment_id == commitment_id)).all())
    return rows


def commitment_page_n_plus_one(session: Session, commitment_id: str, as_of: date) -> int:
    """The commitment page the naive way: per signatory, one as-of query and one evidence query."""
    rows = 0
    framework_id = commitment_id.split("/")[0]
    companies = session.scalars(sa.select(m.Signature.company_id).where(
        m.Signature.framework_id == framework_id, m.Signature.signed_on <= as_of)).all()
    for company_id in companies:
        for a in latest_assessments(session, as_of, company_ids=[company_id], commitment_ids=[commitment_id]):
            rows += len(session.scalars(sa.select(m.Evidence).where(
                m.Evidence.version_id == a.version_id, m.Evidence.commitment_id == commitment_id)).all())
    return rows


def like_search(session: Session, query: str, limit: int = 20) -> list[int]:
    """Full-text search by scanning: every word as a case-insensitive substring of the whole text."""
    conditions = [sa.func.lower(m.DocumentVersion.text).like(f"%{word.lower()}%") for word in query_words(query)]
    return list(session.scalars(
        sa.select(m.DocumentVersion.id).where(*conditions).order_by(m.DocumentVersion.id.desc()).limit(limit)))


# ------------------------------------------------------------------ the Changes page before paging in SQL


def change_feed_in_python(
    session: Session, *, company_ids: list[str] | None = None, since: date | None = None,
    until: date | None = None, directions: list[str] | None = None, weakened_first: bool = True,
) -> list[queries.ChangeItem]:
    """The previous `queries.change_feed`: every matching change loaded, dates filtered and sorted in Python."""
    conditions = []
    if company_ids:
        conditions.append(m.ChangeEvent.company_id.in_(company_ids))
    if directions:
        conditions.append(m.ChangeEvent.direction.in_(directions))
    items = [c for c in queries._changes(session, *conditions)
             if (since is None or c.effective_date >= since) and (until is None or c.effective_date <= until)]
    items.sort(key=lambda c: (-c.effective_date.toordinal(), c.source_id, c.id))
    if weakened_first:
        items.sort(key=lambda c: DIRECTION_ORDER.get(c.direction, 9))
    return items


def version_feed_in_python(
    session: Session, *, company_ids: list[str] | None = None, since: date | None = None, until: date | None = None
) -> list[queries.NewVersionItem]:
    """The previous `queries.version_feed`: every version loaded to show the newest 200."""
    query = (sa.select(*queries.VERSION_META, m.Source.company_id, m.Company.name.label("company_name"),
                       m.Source.title.label("source_title"))
             .join(m.Source, m.Source.id == m.DocumentVersion.source_id)
             .join(m.Company, m.Company.id == m.Source.company_id))
    if company_ids:
        query = query.where(m.Source.company_id.in_(company_ids))
    rows = session.execute(query).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for version_id, direction, n in session.execute(
        sa.select(m.ChangeEvent.new_version_id, m.ChangeEvent.direction, sa.func.count())
        .group_by(m.ChangeEvent.new_version_id, m.ChangeEvent.direction)
    ):
        counts[version_id][direction] = n
    items = []
    for row in rows:
        version = queries.version_info(row)
        if (since and version.effective_date < since) or (until and version.effective_date > until):
            continue
        items.append(queries.NewVersionItem(row.company_id, row.company_name, row.source_title, version,
                                            counts.get(version.id, {})))
    items.sort(key=lambda i: (i.version.effective_date, i.version.id), reverse=True)
    return items


# ---------------------------------------------------------------------- the overview grid before paging


def _level_text(level: int | None, basis: str | None) -> str:
    if basis is None:
        return "not assessed"
    word = "n/a" if level is None else f"{level} {LEVELS[level].lower()}" if level in LEVELS else str(level)
    return f"{word} {BASIS_SYMBOLS.get(basis, '')}".strip()


def plotly_overview_figure(view: queries.Overview) -> go.Figure:
    """The previous overview grid: a heatmap plus one invisible text marker per cell (10,000 at full scale)."""
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
    hover = []
    for company, commitment, cell, _ in points:
        detail = (f"{_level_text(cell.level, cell.basis)} since {cell.valid_from:%d %b %Y}" if cell
                  else "not assessed")
        hover.append(f"<b>{company.name}</b><br>{commitment.number}. {shorten(commitment.title, 48)}<br>{detail}"
                     "<br><i>click to open</i>")
    colours = ["white" if cell and cell.level is not None and cell.level >= 2 else "#222" for _, _, cell, _ in points]
    figure.add_trace(go.Scatter(
        x=[commitment.number for _, commitment, _, _ in points], y=[y_labels[c.id] for c, _, _, _ in points],
        mode="markers+text", text=[label for _, _, _, label in points], textfont={"color": colours, "size": 13},
        marker={"symbol": "square", "size": 26, "opacity": 0}, hovertext=hover, hoverinfo="text",
        selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}}, showlegend=False,
    ))
    figure.update_layout(
        height=max(260, 70 + 30 * len(companies)), margin={"l": 8, "r": 8, "t": 36, "b": 8},
        xaxis={"side": "top", "type": "category", "fixedrange": True, "title": None},
        yaxis={"autorange": "reversed", "type": "category", "fixedrange": True, "automargin": True},
        dragmode=False, clickmode="event+select", plot_bgcolor="#e5e5e5",
    )
    return figure


# ------------------------------------------------------------------------------ the XLSX writer before


def _append_row(sheet, values: list[object]) -> None:
    sheet.append([exports._xlsx_value(v) for v in values])
    for cell in sheet[sheet.max_row]:  # reads the sheet's extent for every row: quadratic
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"


def stocktake_xlsx_in_memory(stocktake: Stocktake, max_rows: int | None = None) -> bytes:
    """The previous `stocktake_xlsx` (a normal workbook, `sheet[sheet.max_row]` per row); `max_rows` caps each
    table so the benchmark can time it on a slice where the full table would take many minutes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    readme = book.active
    readme.title = "README"
    for line in exports.stocktake_readme(stocktake).splitlines():
        _append_row(readme, [line])
    readme["A1"].font = Font(bold=True, size=14)
    readme.column_dimensions["A"].width = 140
    for table, rows in stocktake.tables().items():
        rows = rows[:max_rows] if max_rows is not None else rows
        sheet = book.create_sheet(table)
        columns = list(exports.column_docs(table))
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            _append_row(sheet, [row[c] for c in columns])
        sheet.freeze_panes = "A2"
        if rows:
            sheet.auto_filter.ref = sheet.dimensions
        for index, column in enumerate(columns, start=1):
            wide = column in ("rationale", "evidence_quote", "old_quote", "new_quote", "detail", "documents")
            sheet.column_dimensions[get_column_letter(index)].width = 60 if wide else max(10, len(column) + 2)
            if wide:
                for cell in sheet[get_column_letter(index)][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
