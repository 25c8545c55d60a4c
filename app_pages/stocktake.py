"""Stocktake: where every signatory stands as of a date, what moved since another, and the same as downloads.

The page shows figures (`stocktake_figures`, cached per framework, dates and data version); the downloads
carry every citation and every new version, so each is built only when its button is clicked, from one full
stocktake cached by the same key.
"""

from datetime import date

import streamlit as st

from app_pages import _ui
from tracker.core.config import get_settings
from tracker.core.errors import TrackerError
from tracker.core.work import read_only
from tracker.publish.exports import stocktake_csv_zip, stocktake_html, stocktake_json, stocktake_xlsx
from tracker.publish.stocktake import PARIS_SUMMIT, Stocktake, build_stocktake, stocktake_figures

PREVIEW_ROWS = 500
FORMATS = {
    "csv": ("CSV (zip)", "zip", "application/zip", stocktake_csv_zip),
    "json": ("JSON", "json", "application/json", stocktake_json),
    "xlsx": ("Excel", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", stocktake_xlsx),
    "html": ("Printable report (HTML)", "html", "text/html", lambda s: stocktake_html(s).encode("utf-8")),
}
figures_for = _ui.cached(stocktake_figures)


@st.cache_resource(max_entries=2, show_spinner=False, ttl=get_settings().cache_ttl_seconds)
def _full_stocktake(database: str, version: str, framework_id: str, as_of: date, since: date) -> Stocktake:
    """One full stocktake per (framework, as-of, since, data version), shared by the four downloads."""
    return read_only(build_stocktake, framework_id, as_of, since)


@st.cache_data(max_entries=8, show_spinner=False, ttl=get_settings().cache_ttl_seconds)
def _download(fmt: str, database: str, version: str, framework_id: str, as_of: date, since: date) -> bytes:
    """A download's bytes, built on the first click and cached by the same key."""
    return FORMATS[fmt][3](_full_stocktake(database, version, framework_id, as_of, since))


st.title("Stocktake")
st.caption("Where every signatory stands on every commitment as of a date, and what changed since another "
           "date. Every level in the downloads cites its quote, source URL, retrieval date and content hash.")

framework_options = {f.id: f.name for f in _ui.frameworks()}
if not framework_options:
    st.info("No frameworks are loaded yet. Run `python -m tracker init` to load the catalog.")
    st.stop()

params = st.query_params


def _date_param(name: str, default: date) -> date:
    try:
        return date.fromisoformat(params.get(name, ""))
    except ValueError:
        return default


ids = list(framework_options)
default_framework = params.get("framework", "seoul-2024")
columns = st.columns([2, 1, 1])
framework_id = columns[0].selectbox(
    "Framework", ids, index=ids.index(default_framework) if default_framework in ids else 0,
    format_func=framework_options.get,
)
as_of = columns[1].date_input("As of", _date_param("as_of", date.today()), format="YYYY-MM-DD",
                              min_value=_ui.first_date("as_of"), max_value=date(2100, 1, 1))
since = columns[2].date_input("Changes since", _date_param("since", PARIS_SUMMIT), format="YYYY-MM-DD",
                              min_value=_ui.first_date("since"), max_value=date(2100, 1, 1),
                              help="Default: the AI Action Summit in Paris, 10 February 2025")
st.query_params.update({"framework": framework_id, "as_of": as_of.isoformat(), "since": since.isoformat()})

try:
    figures = figures_for(framework_id, as_of, since)
except TrackerError as exc:
    st.error(str(exc))
    st.stop()

kinds = figures.change_kinds()
metrics = st.columns(5)
metrics[0].metric("Signatories", len(figures.companies))
metrics[1].metric("Weakened passages", kinds.get("weakened", 0))
metrics[2].metric("Strengthened passages", kinds.get("strengthened", 0))
metrics[3].metric("Levels up or new", kinds.get("level_up", 0) + kinds.get("level_new", 0))
metrics[4].metric("Levels down", kinds.get("level_down", 0))
for label in dict.fromkeys(d.label for d in figures.deadlines):
    rows = [d for d in figures.deadlines if d.label == label]
    st.write(f"Deadline: {label} — met by {sum(d.status == 'met' for d in rows)} of "
             f"{sum(d.status != 'signed after' for d in rows)} signatories held to it; "
             f"{sum(d.status == 'late' for d in rows)} late, {sum(d.status == 'missed' for d in rows)} missed.")

stem = f"stocktake-{framework_id}-{as_of.isoformat()}-since-{since.isoformat()}"
key = (get_settings().database_url, _ui.data_version(), framework_id, as_of, since)
st.caption("Each download is built when you click it (a large framework takes a while the first time) and "
           "kept for these dates until the data changes.")
downloads = st.columns(len(FORMATS))
for column, (fmt, (label, suffix, mime, _)) in zip(downloads, FORMATS.items(), strict=True):
    column.download_button(label, lambda fmt=fmt: _download(fmt, *key), f"{stem}.{suffix}", mime,
                           on_click="ignore", key=f"download_{fmt}")

# Tables are rendered by st.dataframe, which shows scraped quotes as inert text.
st.subheader("Per commitment")
st.dataframe(figures.frame("commitments").drop(columns=["commitment_id"]), hide_index=True, width="stretch")
st.subheader("Per signatory")
st.dataframe(figures.frame("companies").drop(columns=["company_id", "documents"]), hide_index=True,
             width="stretch")
st.subheader(f"What changed since {since.isoformat()}")
if figures.new_documents:
    st.write(f"{figures.new_documents:,} new document versions in the window (listed in the downloads).")
if figures.changes:
    changes = figures.frame("changes").sort_values("date", ascending=False, kind="stable")
    if len(changes) > PREVIEW_ROWS:
        st.caption(f"The newest {PREVIEW_ROWS} of {len(changes):,} rows; every row is in the downloads.")
    st.dataframe(changes.head(PREVIEW_ROWS)[["date", "kind", "company", "commitments", "detail", "old_quote",
                                             "new_quote", "source_url"]],
                 hide_index=True, width="stretch",
                 column_config={"source_url": st.column_config.LinkColumn("source")})
elif not figures.new_documents:
    st.info("Nothing changed in this period: no new documents, flagged passages, level moves or deadlines.")
with st.expander("Levels and their moves (citations are in the downloads)"):
    levels = figures.frame("levels")[["company", "commitment", "level", "level_label", "basis", "valid_from",
                                      "level_since", "moved"]]
    st.dataframe(levels, hide_index=True, width="stretch")
