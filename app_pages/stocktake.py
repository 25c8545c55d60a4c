"""Stocktake: where every signatory stands as of a date, what moved since another, and the same as downloads."""

from datetime import date

import streamlit as st

from tracker.core.errors import TrackerError
from tracker.core.work import read_only
from tracker.publish.exports import stocktake_csv_zip, stocktake_html, stocktake_json, stocktake_xlsx
from tracker.publish.stocktake import PARIS_SUMMIT, build_stocktake
from tracker.read.queries import frameworks

st.title("Stocktake")
st.caption("Where every signatory stands on every commitment as of a date, and what changed since another "
           "date. Every level in the downloads cites its quote, source URL, retrieval date and content hash.")

framework_options = {f.id: f.name for f in read_only(frameworks)}
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
as_of = columns[1].date_input("As of", _date_param("as_of", date.today()), format="YYYY-MM-DD")
since = columns[2].date_input("Changes since", _date_param("since", PARIS_SUMMIT), format="YYYY-MM-DD",
                              help="Default: the AI Action Summit in Paris, 10 February 2025")
st.query_params.update({"framework": framework_id, "as_of": as_of.isoformat(), "since": since.isoformat()})

try:
    stocktake = read_only(build_stocktake, framework_id, as_of, since)
except TrackerError as exc:
    st.error(str(exc))
    st.stop()

kinds: dict[str, int] = {}
for row in stocktake.changes:
    kinds[row.kind] = kinds.get(row.kind, 0) + 1
figures = st.columns(5)
figures[0].metric("Signatories", len(stocktake.companies))
figures[1].metric("Weakened passages", kinds.get("weakened", 0))
figures[2].metric("Strengthened passages", kinds.get("strengthened", 0))
figures[3].metric("Levels up or new", kinds.get("level_up", 0) + kinds.get("level_new", 0))
figures[4].metric("Levels down", kinds.get("level_down", 0))
for label in dict.fromkeys(d.label for d in stocktake.deadlines):
    rows = [d for d in stocktake.deadlines if d.label == label]
    st.write(f"Deadline: {label} — met by {sum(d.status == 'met' for d in rows)} of "
             f"{sum(d.status != 'signed after' for d in rows)} signatories held to it; "
             f"{sum(d.status == 'late' for d in rows)} late, {sum(d.status == 'missed' for d in rows)} missed.")

stem = f"stocktake-{framework_id}-{as_of.isoformat()}-since-{since.isoformat()}"
downloads = st.columns(4)
downloads[0].download_button("CSV (zip)", stocktake_csv_zip(stocktake), f"{stem}.zip", "application/zip")
downloads[1].download_button("JSON", stocktake_json(stocktake), f"{stem}.json", "application/json")
downloads[2].download_button(
    "Excel", stocktake_xlsx(stocktake), f"{stem}.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
downloads[3].download_button("Printable report (HTML)", stocktake_html(stocktake).encode("utf-8"), f"{stem}.html",
                             "text/html")

# Tables are rendered by st.dataframe, which shows scraped quotes as inert text.
st.subheader("Per commitment")
st.dataframe(stocktake.frame("commitments").drop(columns=["commitment_id"]), hide_index=True,
             use_container_width=True)
st.subheader("Per signatory")
st.dataframe(stocktake.frame("companies").drop(columns=["company_id"]), hide_index=True, use_container_width=True)
st.subheader(f"What changed since {since.isoformat()}")
if stocktake.changes:
    st.dataframe(stocktake.frame("changes")[["date", "kind", "company", "commitments", "detail", "old_quote",
                                             "new_quote", "source_url"]],
                 hide_index=True, use_container_width=True,
                 column_config={"source_url": st.column_config.LinkColumn("source")})
else:
    st.info("Nothing changed in this period: no new documents, flagged passages, level moves or deadlines.")
with st.expander("Levels and their citations"):
    st.dataframe(stocktake.frame("levels").drop(columns=["company_id", "commitment_id"]), hide_index=True,
                 use_container_width=True, column_config={"source_url": st.column_config.LinkColumn("source")})
