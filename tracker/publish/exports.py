"""Writers: the stocktake as CSV, JSON, XLSX and a printable HTML report; the whole database as open data.

Everything a reader loads here must open with a standard reader (csv, json, openpyxl, a browser) and carry
enough to be checked: each level comes with its quote, source URL, retrieval date and content hash, and every
file says under which licence each part may be reused.

CSV choice: the stocktake has several tables, so `--format csv` writes a ZIP (one CSV per table plus
README.txt) when the output path ends in `.zip`, and otherwise a folder with the same files.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from tracker.core.errors import ValidationError
from tracker.publish.stocktake import TABLE_DESCRIPTIONS, TABLES, Stocktake, column_docs
from tracker.store import models as m
from tracker.store.versions import (
    private_version_ids,
    public_change,
    public_source,
    public_version,
    watched_source,
)

FORMATS = ("csv", "json", "xlsx", "html")
PROJECT = "Commitment Tracker"


# ----------------------------------------------------------------------------------------------- licences


@dataclass(frozen=True)
class LicencePart:
    part: str
    licence: str
    url: str
    note: str


LICENCES: tuple[LicencePart, ...] = (
    LicencePart(
        "The tracker's own data: levels, rationales, change analysis, catalog (ids, titles, dates, links)",
        "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
        f"Attribute to '{PROJECT}' and link to the export or the app.",
    ),
    LicencePart(
        "Commitment texts of the Frontier AI Safety Commitments (Seoul 2024) and other UK government texts",
        "Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        "Contains public sector information licensed under the Open Government Licence v3.0. Other frameworks "
        "carry their own licence in the framework table (licence, attribution).",
    ),
    LicencePart(
        "Quotes from companies' documents (evidence quotes, change quotes)",
        "Publisher's copyright", "",
        "The documents belong to their publishers. Only short quotes are included, so that each level can be "
        "checked against the source; full texts are not redistributed (follow source_url).",
    ),
    LicencePart(
        "Document dates and SHA-256 hashes taken from the Frontier Safety Framework Corpus (FSFC)",
        "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
        "Attribute to L. Y. Zhu (2026), Frontier Safety Framework Corpus.",
    ),
    LicencePart("The tracker's source code", "MIT", "https://opensource.org/license/mit", ""),
)


def licence_text() -> str:
    lines = ["Licences", ""]
    for part in LICENCES:
        lines.append(f"- {part.part}: {part.licence}" + (f" <{part.url}>" if part.url else ""))
        if part.note:
            lines.append(f"  {part.note}")
    return "\n".join(lines)


def _licences_json() -> list[dict[str, str]]:
    return [{"part": p.part, "licence": p.licence, "url": p.url, "note": p.note} for p in LICENCES]


# ------------------------------------------------------------------------------------------ plain values


def _plain(value: object) -> object:
    """JSON-ready value: dates and datetimes as ISO 8601 (UTC), everything else unchanged."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _cell_text(value: object) -> str:
    """CSV cell: empty for missing, JSON for lists/dicts, ISO for dates."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _csv_bytes(columns: list[str], rows: Iterable[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_text(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------- stocktake


def stocktake_readme(stocktake: Stocktake) -> str:
    meta = stocktake.meta()
    lines = [
        str(meta["title"]), "",
        f"As of: {meta['as_of']}    Since: {meta['since']}    Generated: {meta['generated_at']}",
        f"Window of changes: {meta['window']}.",
        f"Signatories: {meta['signatories']}    Commitments: {meta['commitments']}",
        "Levels: " + ", ".join(f"{k} {v}" for k, v in stocktake.meta()["levels"].items()),  # type: ignore[union-attr]
        "Every level row cites the quote, source URL, retrieval date and SHA-256 of the version it rests on.",
        "Ids: catalog ids (company, commitment, source, framework) are stable; numeric ids (version, assessment, "
        "change) are stable within the tracker's database; source_id + text_sha256 identifies a version anywhere.",
        "",
    ]
    if stocktake.framework_licence:
        lines += [f"Framework text: {stocktake.framework_licence}. {stocktake.framework_attribution}".strip(), ""]
    lines += [licence_text(), "", "Tables", ""]
    for table in TABLES:
        lines.append(f"{table}: {TABLE_DESCRIPTIONS[table]}")
        lines += [f"  {name}: {doc}" for name, doc in column_docs(table).items()]
        lines.append("")
    return "\n".join(lines)


def stocktake_csv_files(stocktake: Stocktake) -> dict[str, bytes]:
    """File name -> content: one CSV per table plus README.txt."""
    files = {"README.txt": stocktake_readme(stocktake).encode("utf-8")}
    for table, rows in stocktake.tables().items():
        files[f"{table}.csv"] = _csv_bytes(list(column_docs(table)), rows)
    return files


def stocktake_csv_zip(stocktake: Stocktake) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in stocktake_csv_files(stocktake).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def stocktake_json(stocktake: Stocktake) -> bytes:
    document = {
        "meta": stocktake.meta(),
        "framework_licence": {"licence": stocktake.framework_licence,
                              "attribution": stocktake.framework_attribution},
        "licences": _licences_json(),
        "columns": {table: column_docs(table) for table in TABLES},
        **{table: [{k: _plain(v) for k, v in row.items()} for row in rows]
           for table, rows in stocktake.tables().items()},
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _xlsx_value(value: object) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones; columns say UTC
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


WIDE_COLUMNS = frozenset({"rationale", "evidence_quote", "old_quote", "new_quote", "detail", "documents"})


def stocktake_xlsx(stocktake: Stocktake) -> bytes:
    """The stocktake as a workbook: README sheet, then one sheet per table with a frozen, filterable header.

    Written with openpyxl's write-only workbook, row by row, so time and memory grow linearly with the rows (the
    normal workbook re-read the sheet's extent for every row: 8,000 rows took 39 s). Text that starts with '='
    is written as a string cell, never a formula: scraped quotes must not execute in a spreadsheet.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold, title, wrap = Font(bold=True), Font(bold=True, size=14), Alignment(wrap_text=True, vertical="top")
    styled: dict[tuple[int, int], object] = {}  # (font, alignment) -> a style array to copy: no hashing per cell

    def cell(sheet, value: object, *, font: Font | None = None, alignment: Alignment | None = None) -> object:
        value = _xlsx_value(value)
        formula_like = isinstance(value, str) and value.startswith("=")
        if not (formula_like or ((font or alignment) and value not in (None, ""))):
            return value
        written = WriteOnlyCell(sheet, value=value)
        if formula_like:
            written.data_type = "s"
        if font is not None or alignment is not None:
            key = (id(font), id(alignment))
            if key not in styled:
                if font is not None:
                    written.font = font
                if alignment is not None:
                    written.alignment = alignment
                styled[key] = copy(written._style)
            else:
                written._style = copy(styled[key])
        return written

    readme = book.create_sheet("README")
    readme.column_dimensions["A"].width = 140
    for number, line in enumerate(stocktake_readme(stocktake).splitlines()):
        readme.append([cell(readme, line, font=title if number == 0 else None)])
    for table, rows in stocktake.tables().items():
        sheet = book.create_sheet(table)
        columns = list(column_docs(table))
        wide = [column in WIDE_COLUMNS for column in columns]
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = 60 if wide[index - 1] else max(
                10, len(column) + 2)
        sheet.freeze_panes = "A2"
        if rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
        sheet.append([cell(sheet, column, font=bold) for column in columns])
        for row in rows:
            sheet.append([cell(sheet, row[column], alignment=wrap if is_wide else None)
                          for column, is_wide in zip(columns, wide, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- HTML report

_LEVEL_COLOURS = {0: "#d7301f", 1: "#fc8d59", 2: "#91bfdb", 3: "#4575b4"}
_REPORT_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.4; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #333; }
.meta { color: #444; } .figures { display: flex; gap: 1.5rem; flex-wrap: wrap; margin: 1rem 0; }
.figure { border: 1px solid #ccc; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.figure b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-size: .82rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #bbb; padding: .25rem .4rem; vertical-align: top; text-align: left; }
th { background: #eee; } td.num { text-align: right; } .quote { font-style: italic; max-width: 32rem; }
.hash { font-family: monospace; font-size: .7rem; word-break: break-all; }
.chart { page-break-inside: avoid; break-inside: avoid; }
.licence { font-size: .8rem; color: #333; } .wide { overflow-x: auto; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-before: page; page-break-before: always; }
  h2.first { break-before: auto; page-break-before: auto; }
  tr, .figure { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; } .wide { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  .modebar-container { display: none !important; }
}
"""


def _e(value: object) -> str:
    """Escape anything for HTML text or attribute content (scraped quotes included)."""
    return html.escape("" if value is None else str(_plain(value)), quote=True)


def _table_html(rows: list[dict], columns: dict[str, str], *, numeric: Iterable[str] = ()) -> str:
    if not rows:
        return "<p><em>None in this period.</em></p>"
    numeric = set(numeric)
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    body = []
    for row in rows:
        cells = []
        for key in columns:
            value = row.get(key)
            css = ' class="num"' if key in numeric else ' class="quote"' if "quote" in key else ""
            if key.endswith("url") and value:
                safe = str(value) if str(value).startswith(("http://", "https://")) else ""
                cells.append(f'<td><a href="{_e(safe)}">{_e(value)}</a></td>' if safe else f"<td>{_e(value)}</td>")
            elif key.endswith("sha256"):
                cells.append(f'<td class="hash">{_e(value)}</td>')
            else:
                cells.append(f"<td{css}>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            "</div>")


def _charts_html(stocktake: Stocktake) -> list[str]:
    """Plotly figures with plotly.js inline in the first one, so the file works offline."""
    import plotly.graph_objects as go

    commitments = stocktake.commitments
    labels = [f"{c.commitment} {c.title}" for c in commitments]
    bars = go.Figure()
    for level in (0, 1, 2, 3):
        bars.add_bar(name=f"{level} {['none', 'mentioned', 'partial', 'comprehensive'][level]}",
                     x=[getattr(c, f"level_{level}") for c in commitments], y=labels, orientation="h",
                     marker_color=_LEVEL_COLOURS[level], text=[getattr(c, f"level_{level}") or "" for c in commitments])
    bars.add_bar(name="not assessed", x=[c.not_assessed for c in commitments], y=labels, orientation="h",
                 marker_color="#cccccc")
    bars.update_layout(barmode="stack", title=f"Signatories at each level, as of {stocktake.as_of}",
                       xaxis={"title": "signatories", "dtick": 1}, yaxis={"autorange": "reversed", "automargin": True},
                       height=180 + 45 * len(labels), margin={"l": 10, "r": 10, "t": 50, "b": 10},
                       legend={"orientation": "h", "y": -0.25, "yanchor": "top", "traceorder": "normal"})

    companies = [c.company for c in stocktake.companies]
    numbers = [c.commitment for c in commitments]
    grid = {(r.company, r.commitment): r for r in stocktake.levels}
    z = [[grid[(company, number)].level for number in numbers] for company in companies]
    text = [["–" if grid[(company, number)].basis == "not assessed" else
             "n/a" if grid[(company, number)].level is None else str(grid[(company, number)].level)
             for number in numbers] for company in companies]
    steps = []
    for level in range(4):  # discrete colours: one band per level
        steps += [[level / 4, _LEVEL_COLOURS[level]], [(level + 1) / 4, _LEVEL_COLOURS[level]]]
    heat = go.Figure(go.Heatmap(
        z=z, x=numbers, y=companies, text=text, texttemplate="%{text}", zmin=-0.5, zmax=3.5, hoverongaps=False,
        colorscale=steps, colorbar={"title": "level", "tickvals": [0, 1, 2, 3],
                                    "ticktext": ["0 none", "1 mentioned", "2 partial", "3 comprehensive"]},
    ))
    heat.update_layout(title=f"Level per signatory and commitment, as of {stocktake.as_of} "
                             "(– not assessed, n/a not applicable)",
                       height=160 + 28 * max(1, len(companies)),
                       yaxis={"autorange": "reversed", "automargin": True}, xaxis={"type": "category"},
                       margin={"l": 10, "r": 10, "t": 50, "b": 40})
    config = {"displayModeBar": False, "responsive": True}
    first = bars.to_html(full_html=False, include_plotlyjs=True, config=config, div_id="chart-levels")
    second = heat.to_html(full_html=False, include_plotlyjs=False, config=config, div_id="chart-grid")
    return [first, second]  # plotly escapes "</" inside its JSON, so no name can end the script early


def stocktake_html(stocktake: Stocktake) -> str:
    """A self-contained printable report: inline CSS and plotly.js, every text escaped."""
    meta = stocktake.meta()
    tables = stocktake.tables()
    deadline_counts: dict[str, dict[str, int]] = {}
    for row in stocktake.deadlines:
        deadline_counts.setdefault(row.label, {}).setdefault(row.status, 0)
        deadline_counts[row.label][row.status] += 1
    kinds: dict[str, int] = {}
    for row in stocktake.changes:
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    figures = [("signatories", meta["signatories"]), ("commitments", meta["commitments"]),
               ("weakened passages", kinds.get("weakened", 0)), ("strengthened", kinds.get("strengthened", 0)),
               ("levels up or new", kinds.get("level_up", 0) + kinds.get("level_new", 0)),
               ("levels down", kinds.get("level_down", 0)),
               ("new frameworks", kinds.get("new_framework", 0))]
    charts = _charts_html(stocktake) if stocktake.commitments and stocktake.companies else []
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(meta['title'])} as of {_e(meta['as_of'])}</title>", f"<style>{_REPORT_CSS}</style>",
        "</head><body>",
        f"<h1>{_e(meta['title'])}</h1>",
        f'<p class="meta">As of <b>{_e(meta["as_of"])}</b>; changes since <b>{_e(meta["since"])}</b> '
        f"({_e(meta['window'])}). Generated {_e(meta['generated_at'])} by {PROJECT}.</p>",
        '<div class="figures">' + "".join(f'<div class="figure"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in figures)
        + "</div>",
    ]
    for label, statuses in deadline_counts.items():
        summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        parts.append(f"<p><b>Deadline:</b> {_e(label)}: {_e(summary)}.</p>")
    parts += [f'<div class="chart">{chart}</div>' for chart in charts]
    sections = [
        ("commitments", "Per commitment", ["commitment", "title", "signatories", "level_0", "level_1", "level_2",
                                           "level_3", "not_applicable", "not_assessed", "average_level",
                                           "average_level_since", "moved_up", "moved_down"]),
        ("companies", "Per signatory", ["company", "signed_on", "assessed", "level_0", "level_1", "level_2",
                                        "level_3", "average_level", "average_level_since", "moved_up",
                                        "moved_down", "weakened", "strengthened", "first_framework_published_on",
                                        "deadlines", "documents"]),
        ("changes", f"What changed since {meta['since']}", ["date", "kind", "company", "commitments", "detail",
                                                            "old_quote", "new_quote", "source_url", "archived_url"]),
        ("deadlines", "Deadlines", ["label", "due", "company", "signed_on", "first_published_on", "status"]),
        ("levels", "Levels and their citations", ["company", "commitment", "level_label", "basis", "valid_from",
                                                  "moved", "evidence_quote", "quote_from", "evidence_section", "source_url",
                                                  "archived_url", "retrieved_at", "text_sha256", "publisher_sha256"]),
    ]
    numeric = {"signatories", "level_0", "level_1", "level_2", "level_3", "not_applicable", "not_assessed",
               "average_level", "average_level_since", "moved_up", "moved_down", "assessed", "weakened",
               "strengthened"}
    for index, (table, title, columns) in enumerate(sections):
        css = ' class="first"' if index == 0 else ""
        parts.append(f'<h2 id="{table}"{css}>{_e(title)}</h2><p>{_e(TABLE_DESCRIPTIONS[table])}</p>')
        parts.append(_table_html(tables[table], {c: c.replace("_", " ") for c in columns}, numeric=numeric))
    parts.append('<h2 id="licences">Licences and sources</h2><div class="licence">')
    if stocktake.framework_licence:
        parts.append(f"<p>Framework text: {_e(stocktake.framework_licence)}. {_e(stocktake.framework_attribution)}</p>")
    parts.append("<ul>" + "".join(
        f"<li><b>{_e(p.part)}</b>: {_e(p.licence)}" + (f' (<a href="{_e(p.url)}">{_e(p.url)}</a>)' if p.url else "")
        + (f". {_e(p.note)}" if p.note else "") + "</li>" for p in LICENCES) + "</ul>")
    parts.append("<p>Levels: " + _e(", ".join(f"{k} {v}" for k, v in meta["levels"].items()))  # type: ignore[union-attr]
                 + ". Quotes are the publishers' words, shown as text.</p></div></body></html>")
    return "\n".join(parts)


def write_stocktake(stocktake: Stocktake, fmt: str, out: Path) -> list[Path]:
    """Write one format to `out`; returns the files written."""
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    if fmt == "csv" and out.suffix.lower() != ".zip":
        if out.exists() and not out.is_dir():
            raise ValidationError(f"{out} is a file; CSV output goes to a folder, or to a path ending in .zip")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in stocktake_csv_files(stocktake).items():
            (out / name).write_bytes(content)
            written.append(out / name)
        return written
    if out.is_dir():
        raise ValidationError(f"{out} is a folder; give a file path (e.g. {out / ('stocktake.' + fmt)})")
    out.parent.mkdir(parents=True, exist_ok=True)
    content: bytes
    if fmt == "csv":
        content = stocktake_csv_zip(stocktake)
    elif fmt == "json":
        content = stocktake_json(stocktake)
    elif fmt == "xlsx":
        content = stocktake_xlsx(stocktake)
    else:
        content = stocktake_html(stocktake).encode("utf-8")
    out.write_bytes(content)
    return [out]


# ------------------------------------------------------------------------------------------- open data
# The whole database as open data. Accounts, sessions, the audit log and alert subscriptions hold personal
# data and are withheld; so are the full texts of documents (they belong to their publishers) and company
# submissions that a reviewer has not approved. The SQLite file is always rebuilt from the exported rows
# (never copied) so that it holds exactly what the CSV and JSON hold, on SQLite and PostgreSQL deployments.

WITHHELD_TABLES = {
    "user": "accounts: names, e-mail addresses and password hashes",
    "loginsession": "sign-in sessions (token hashes)",
    "auditlog": "who did what: names persons and may hold personal data",
    "alertsubscription": "subscribers' e-mail addresses and webhook URLs",
    "alertdelivery": "deliveries to subscribers",
}
WITHHELD_COLUMNS = {
    "documentversion": {"text": "full document text: belongs to the publisher; follow url and check text_sha256"},
}
# Only approved self-reports are public; the others are still under review or were rejected. A company's uploads
# and linked evidence (its `<company>-self-reports` source) stay private until approved: the rule is
# tracker.store.versions' `public_version`, applied here to every table that points at a version.
PUBLIC_ROWS = {
    "selfreport": lambda table: table.c.status == "approved",
    "source": public_source,
    "documentversion": public_version,
    "evidence": lambda table: table.c.version_id.not_in(private_version_ids()),
    "changeevent": public_change,
    # Fetches of a submission's evidence links say which links a company gave: never public.
    "fetchattempt": lambda table: watched_source(table.c.source_id),
}
NATURAL_KEYS = {
    "framework": ["id"], "commitment": ["id"], "company": ["id"], "source": ["id"],
    "signature": ["company_id", "framework_id"], "commitmentlink": ["from_commitment_id", "to_commitment_id"],
    "documentversion": ["source_id", "text_sha256"], "catalogstate": ["key"],
}

TABLE_DOCS = {
    "framework": "A set of voluntary commitments (Seoul 2024, White House 2023, Bletchley 2023, Hiroshima 2023).",
    "commitment": "One numbered item of a framework, with its official text and source.",
    "commitmentlink": "Crosswalk: two commitments of different frameworks that ask for the same thing or overlap.",
    "company": "A company the tracker follows.",
    "signature": "A company signed a framework on a date (with the source that says so).",
    "source": "A URL the tracker watches for a company (framework document, policy page, hub, ...).",
    "refreshrun": "One run of the refresh job: when, how it went, counts.",
    "documentversion": "One distinct normalised text of a source; a new row only when the text hash changes.",
    "fetchattempt": "One try at fetching a source: when, HTTP status, bytes, outcome.",
    "evidence": "A passage of a version that supports an indicator of a commitment.",
    "changeevent": "What changed in one commitment passage between two versions of a source.",
    "changereview": "A reviewer's decision on one change event, beside the automatic call it judged (a weakening "
                    "is published as reviewed when two reviewers agree).",
    "assessment": "Level of a company on a commitment from a date on; newer rows supersede older ones.",
    "assessmentspan": "Derived from assessment: the dates between which each assessment is the one in force "
                      "(the level as of D is the row with valid_from <= D < valid_until).",
    "selfreport": "A company's claim (approved ones only), verbatim, beside the reviewer's decision.",
    "catalogstate": "Key/value facts about loaded data (e.g. the hash of the seed that was loaded).",
    "user": "Accounts (withheld).", "loginsession": "Sign-in sessions (withheld).",
    "auditlog": "Audit log (withheld).", "alertsubscription": "Alert subscriptions (withheld).",
    "alertdelivery": "Alert deliveries (withheld).",
}
_COMMON_DOCS = {
    "id": "Numeric row id (stable within this database) or, for catalog tables, the stable catalog id",
    "company_id": "Company id (company.id)", "commitment_id": "Commitment id '<framework>/<number>' (commitment.id)",
    "framework_id": "Framework id (framework.id)", "source_id": "Source id (source.id)",
    "version_id": "Document version id (documentversion.id)", "source_url": "Where this is stated (URL)",
    "note": "Editorial note", "method": "Name and version of the method that produced the row",
    "url": "URL", "title": "Title", "name": "Name", "label": "Label",
}
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "framework": {
        "short_name": "Short display name", "announced": "Date announced", "publisher": "Who published it",
        "edition": "Edition of the official page we used", "licence": "Licence of the framework text",
        "licence_url": "URL of that licence", "attribution": "Attribution the licence asks for",
        "description": "What the framework is (ours)",
        "deadlines": "JSON list of clocks {id, kind (publish-by, review-every, change-within, update-record), date, "
                     "label, every_months, within_days, requires, text, text_confirmed, confidence, source_url, note}",
        "preamble": "JSON list of preamble text blocks", "groups": "JSON list of commitment groups (outcomes)",
        "kind": "voluntary, code-of-practice or law", "applies_from": "Date its duties start to bind (upcoming before)",
        "applies_to": "Who it covers", "scopes": "JSON list of parts signed separately {id, title, note}",
    },
    "commitment": {
        "number": "Number within the framework (I, II, 1, ...)", "position": "Order within the framework",
        "group_id": "Group (outcome) the commitment belongs to", "title_official": "True if the title is official",
        "text": "Official text", "text_confirmed": "False if the text is not yet confirmed against the source",
        "detail_text": "Further official detail, if any", "detail_text_confirmed": "Detail text confirmed",
        "detail_source_url": "Source of the detail text",
        "legal_basis": "Provision it sits in or implements", "parts": "JSON list of official sub-items {number, title}",
    },
    "commitmentlink": {
        "from_commitment_id": "One commitment", "to_commitment_id": "The other commitment",
        "relation": "same, overlaps or part-of", "reviewed": "True once a reviewer checked the link",
    },
    "company": {
        "aliases": "JSON list of other names", "country": "ISO 3166 two-letter country code",
        "group": "frontier-lab, big-tech or enterprise-ai", "website": "Company website",
        "haip": "JSON: participation in the G7 Hiroshima AI Process reporting framework",
    },
    "signature": {
        "signed_on": "Date signed, declined, or (laws) from which it binds",
        "date_precision": "exact, on-or-before or intent (date it announced it would sign)",
        "date_confidence": "V verbatim, C corroborated, S single source, M unconfirmed",
        "label": "Name the company signed under", "status": "signed, declined or bound (by a law)",
        "status_confidence": "How sure the status is: V, C, S, M or ours (our judgment)",
        "scope": "Part of the framework signed (e.g. safety-and-security), if it has parts",
    },
    "source": {
        "kind": "framework, companion, version-history, policy-page, transparency-hub, system-cards or "
                "haip-report", "format": "pdf or html", "adapter": "document (one file) or index (a list page)",
        "link_pattern": "For index sources: pattern of the links followed", "link_text_pattern": "Same, link text",
        "frameworks": "JSON list of framework ids the source is mapped onto", "licence": "Licence, if stated",
        "corpus_prefix": "File-name prefix of archived copies", "notes": "Editorial notes",
        "known_versions": "JSON list of versions known from the catalog", "active": "Still watched",
        "fetchable": "False when behind a form or login (versions come from imports)",
        "supersedes": "Id of the source this one renamed or replaced (versions are compared across)",
        "etag": "HTTP ETag of the last successful fetch", "last_modified": "HTTP Last-Modified of that fetch",
    },
    "refreshrun": {
        "started_at": "Start (UTC)", "finished_at": "End (UTC)",
        "status": "running, finished, failed or interrupted", "trigger": "What started it", "host": "Host name",
        "counts": "JSON counts per outcome", "errors": "JSON list of errors",
    },
    "documentversion": {
        "fetched_at": "When first retrieved (UTC)", "origin": "fetched, imported, submitted or seed",
        "url": "The version's own document (the publisher's file or page, never a landing page)",
        "archived_url": "Archived copy (Wayback Machine) of that document, when one is known",
        "raw_sha256": "SHA-256 of the file the tracker stored: the download for a fetched version; for an imported "
                      "corpus copy its plain-text file (not the publisher's file)",
        "publisher_sha256": "SHA-256 of the publisher's own file: the download, or the corpus manifest's hash",
        "text_sha256": "SHA-256 of the normalised text the tracker stores",
        "first_seen_on": "For a silent re-upload: the day the changed file was first seen (its date in the history)",
        "content_type": "HTTP content type", "format": "pdf, html or text", "byte_size": "Size of the file",
        "char_count": "Characters of normalised text", "page_count": "Pages (PDF)",
        "text": "Withheld in open data (publisher's text)", "sections": "JSON list of section headings and offsets",
        "version_label": "Version label the document states", "published_on": "Publication date it states",
        "published_on_evidence": "Where that date comes from",
        "silent_reupload": "True when the file changed without a new version label or date",
        "previous_version_id": "The version before this one", "mapped_method": "Mapping method version used",
        "mapped_levels": "JSON {commitment_id: {level, score, confidence}} suggested by the mapping",
        "changes_method": "Change-analysis method version used",
        "update_record": "JSON: what the version states about its own update {changelog, version, changed_on, "
                         "changed_on_evidence, justification}; {} if not read",
        "etag": "HTTP ETag", "last_modified": "HTTP Last-Modified",
    },
    "fetchattempt": {
        "run_id": "Refresh run (refreshrun.id)", "started_at": "When (UTC)", "duration_ms": "Duration",
        "final_url": "URL after redirects", "http_status": "HTTP status", "bytes_received": "Bytes received",
        "content_type": "HTTP content type", "outcome": "new_version, unchanged, not_modified or failed",
        "reason": "Stable failure code (http_404, timeout, ...)", "error": "Error message",
    },
    "evidence": {
        "indicator_id": "Rubric indicator the passage meets", "start": "Start offset in the version text",
        "end": "End offset", "section": "Section heading", "page": "Page (PDF)",
        "quote": "The passage (short quote of the publisher's text)", "score": "Similarity score",
        "commits": "True when the passage is phrased as a commitment",
    },
    "changeevent": {
        "old_version_id": "Version before", "new_version_id": "Version after",
        "direction": "added, removed, weakened, strengthened or reworded",
        "reasons": "JSON list of {code, detail}: why (modal weakened, threshold removed, ...)",
        "commitments": "JSON list of commitment ids the passage maps to", "old_quote": "Passage before",
        "new_quote": "Passage after", "old_section": "Section before", "new_section": "Section after",
        "old_start": "Offset before", "new_start": "Offset after", "similarity": "Similarity of the two passages",
        "probability": "How sure the analysis is of the direction, 0-1 (ranks the review queue)",
        "weakened_probability": "How likely the change weakened or removed a commitment, 0-1",
        "announced": "announced, partly, silent or no-changelog: judged against the company's own account of "
                     "the new version (its changelog, version history, announcement post)",
        "announcement_quote": "The sentence of that account that announces the change (empty when silent)",
        "announcement_source": "Where that sentence appeared: in-document changelog, version history, "
                               "announcement post",
        "published_on": "Date of the new version (a re-upload: when first seen)", "detected_at": "When detected (UTC)",
    },
    "assessment": {
        "level": "0 no public evidence, 1 mentioned, 2 partial, 3 comprehensive; empty = not applicable",
        "basis": "automatic, reviewed or self-reported", "valid_from": "Date from which the level holds",
        "recorded_at": "When recorded (UTC)", "assessor": "Who (tracker for automatic levels)",
        "rationale": "Why", "confidence": "Confidence of an automatic level, 0-1",
        "score": "Cell score 0-100 within the level's band (0: 0-24.9, 1: 25-49.9, 2: 50-69.9, 3: 70-100): "
                 "indicators met, how firmly and how specifically; ranks cells of one level",
        "self_report_id": "Self-report it rests on", "origin": "pipeline, seed, review or self-report",
        "review_source_id": "Reviewed levels: the source the reviewer judged (kept when its version is not stored)",
    },
    "changereview": {
        "change_id": "The change event judged (changeevent.id; kept if the change is later re-analysed)",
        "reviewer_id": "Reviewer account id (accounts are withheld)", "reviewer": "Reviewer's user name",
        "decided_at": "When decided (UTC)", "decision": "confirm, correct, dismiss or adjudicate",
        "direction": "Direction the reviewer stands behind (empty when dismissed)",
        "announced": "Announcement call the reviewer stands behind", "dismissed": "True: not a change",
        "reason": "The reviewer's reason", "automatic_direction": "The tracker's direction when decided",
        "automatic_announced": "The tracker's announcement call when decided",
    },
    "assessmentspan": {
        "assessment_id": "The assessment (assessment.id)", "valid_from": "First day it is in force",
        "valid_until": "First day it no longer is (9999-12-31 while in force; equal to valid_from when a "
                       "higher-ranked assessment on the same day outranks it)",
        "level": "Copied from the assessment", "basis": "Copied from the assessment",
        "score": "Copied from the assessment",
    },
    "selfreport": {
        "submitted_by": "Submitting account (ids only; accounts are withheld)", "submitted_at": "When (UTC)",
        "claimed_level": "Level the company claims", "statement": "The company's statement, verbatim",
        "evidence_urls": "JSON list of URLs the company gave",
        "evidence_fetches": "JSON list: outcome of fetching each evidence URL (status, reason, version id)", "upload_filename": "Uploaded file name",
        "upload_sha256": "SHA-256 of the upload", "upload_content_type": "Content type of the upload",
        "upload_version_id": "The upload stored as a document version",
        "upload_status": "Reading of the upload: received, reading, read or refused",
        "upload_error": "Why the upload could not be read (when refused)",
        "upload_claimed_at": "When a background reader took the upload (UTC)", "status": "Review status",
        "decided_by": "Reviewer account id", "decided_at": "When decided (UTC)",
        "decision_reason": "Reviewer's reason", "verified": "True when the reviewer verified the evidence",
        "assessment_id": "Assessment created from it",
    },
    "catalogstate": {"key": "Name of the fact", "value": "Value", "updated_at": "When set (UTC)"},
}


def column_description(table: str, column: str) -> str:
    return COLUMN_DOCS.get(table, {}).get(column) or _COMMON_DOCS.get(column, "")


def _public_tables() -> list[sa.Table]:
    return [t for t in m.SQLModel.metadata.sorted_tables if t.name not in WITHHELD_TABLES]


def data_dictionary(row_counts: dict[str, int] | None = None) -> dict:
    """Every table and column, generated from the models plus the descriptions above."""
    tables = []
    for table in m.SQLModel.metadata.sorted_tables:
        withheld = WITHHELD_TABLES.get(table.name)
        columns = []
        for column in table.columns:
            foreign = next(iter(column.foreign_keys), None)
            columns.append({
                "name": column.name, "type": str(column.type.compile(dialect=sqlite.dialect())),
                "nullable": bool(column.nullable), "primary_key": bool(column.primary_key),
                "references": foreign.target_fullname if foreign else None,
                "description": column_description(table.name, column.name),
                "withheld": WITHHELD_COLUMNS.get(table.name, {}).get(column.name),
            })
        entry = {"name": table.name, "description": TABLE_DOCS.get(table.name, ""), "withheld": withheld,
                 "primary_key": [c.name for c in table.primary_key.columns],
                 "natural_key": NATURAL_KEYS.get(table.name, [c.name for c in table.primary_key.columns]),
                 "columns": columns}
        if table.name == "selfreport":
            entry["rows_included"] = "approved submissions only"
        elif table.name in PUBLIC_ROWS:
            entry["rows_included"] = "all but companies' self-report material not approved by a reviewer"
        if row_counts is not None and not withheld:
            entry["rows"] = row_counts.get(table.name, 0)
        tables.append(entry)
    return {"title": f"{PROJECT}: data dictionary", "tables": tables, "licences": _licences_json()}


def data_dictionary_markdown(dictionary: dict) -> str:
    lines = [f"# {dictionary['title']}", "",
             "Files: `csv/<table>.csv` (one per table, UTF-8, header row; JSON columns as JSON text; times ISO 8601 "
             "UTC), `tracker.json` (all tables), `tracker.sqlite` (same rows, same schema as the app), "
             "`data_dictionary.json` (this document), `LICENCES.md`, `SHA256SUMS`.", "",
             "Identifiers: catalog ids (framework, commitment, company, source) are stable strings. Numeric ids "
             "are stable within the tracker's database; natural keys (listed per table) identify rows anywhere, "
             "e.g. a document version by source_id + text_sha256.", ""]
    for table in dictionary["tables"]:
        lines.append(f"## {table['name']}")
        lines.append("")
        lines.append(table["description"])
        if table["withheld"]:
            lines += ["", f"**Withheld from open data**: {table['withheld']}.", ""]
            continue
        lines += ["", f"Rows: {table.get('rows', '?')}. Natural key: {', '.join(table['natural_key'])}."]
        if "rows_included" in table:
            lines.append(f"Rows included: {table['rows_included']}.")
        lines += ["", "| column | type | null | description |", "|---|---|---|---|"]
        for column in table["columns"]:
            description = column["description"].replace("|", "\\|")
            if column["references"]:
                description += f" → `{column['references']}`"
            if column["withheld"]:
                description = f"**withheld (empty)**: {column['withheld']}"
            lines.append(f"| `{column['name']}` | {column['type']} | {'yes' if column['nullable'] else 'no'} | "
                         f"{description} |")
        lines.append("")
    return "\n".join(lines)


def licences_markdown() -> str:
    lines = [f"# Licences of this {PROJECT} export", ""]
    for part in LICENCES:
        lines.append(f"- **{part.part}**: {part.licence}" + (f" ({part.url})" if part.url else ""))
        if part.note:
            lines.append(f"  {part.note}")
    lines += ["", "Each framework's own licence and required attribution are in `framework.licence` and "
              "`framework.attribution`."]
    return "\n".join(lines) + "\n"


def _public_rows(connection: sa.Connection, table: sa.Table) -> Iterator[dict]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    if table.name in PUBLIC_ROWS:
        query = query.where(PUBLIC_ROWS[table.name](table))
    withheld = WITHHELD_COLUMNS.get(table.name, {})
    for row in connection.execute(query).mappings():
        values = dict(row)
        for column in withheld:
            values[column] = None
        yield values


def _build_sqlite(path: Path, tables: dict[str, list[dict]]) -> None:
    from tracker.core.db import migrate

    path.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        migrate(engine)  # same schema and alembic revision as the app's database
        with engine.begin() as connection:
            for table in _public_tables():
                rows = tables[table.name]
                for start in range(0, len(rows), 500):
                    connection.execute(table.insert(), rows[start:start + 500])
    finally:
        engine.dispose()


def export_all(engine: Engine, out: Path) -> dict[str, int]:
    """Write the open-data export to folder `out`; returns rows per exported table."""
    if out.exists() and not out.is_dir():
        raise ValidationError(f"{out} is a file; export-all writes a folder")
    out.mkdir(parents=True, exist_ok=True)
    csv_dir = out / "csv"
    if csv_dir.exists():
        shutil.rmtree(csv_dir)
    csv_dir.mkdir()
    tables: dict[str, list[dict]] = {}
    with engine.connect() as connection:
        for table in _public_tables():
            tables[table.name] = list(_public_rows(connection, table))
            (csv_dir / f"{table.name}.csv").write_bytes(_csv_bytes([c.name for c in table.columns],
                                                                   tables[table.name]))
    counts = {name: len(rows) for name, rows in tables.items()}
    dictionary = data_dictionary(counts)
    document = {
        "title": f"{PROJECT}: open data", "generated_at": _plain(datetime.now(UTC)), "licences": _licences_json(),
        "withheld": {"tables": WITHHELD_TABLES, "columns": WITHHELD_COLUMNS},
        "tables": {name: [{k: _plain(v) for k, v in row.items()} for row in rows] for name, rows in tables.items()},
    }
    (out / "tracker.json").write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "data_dictionary.json").write_text(json.dumps(dictionary, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
    (out / "DATA_DICTIONARY.md").write_text(data_dictionary_markdown(dictionary), encoding="utf-8")
    (out / "LICENCES.md").write_text(licences_markdown(), encoding="utf-8")
    _build_sqlite(out / "tracker.sqlite", tables)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}" for p in files]
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    return counts
