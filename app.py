"""Streamlit entry point: `streamlit run app.py`. Creates the database on first start, then navigates."""

from __future__ import annotations

import streamlit as st

from pages._account import account_pages
from tracker.bootstrap import ensure_initialized
from tracker.errors import TrackerError

st.set_page_config(page_title="Commitment Tracker", page_icon="📋", layout="wide")


@st.cache_resource(show_spinner="Preparing the database (first start only)…")
def _initialize() -> bool:
    ensure_initialized()
    _freeze_startup_objects()
    return True


def _freeze_startup_objects() -> None:
    """Once per process: move what the imports created out of the garbage collector's way.

    A full collection walks every tracked object, ~200,000 after Streamlit, pandas, plotly and SQLAlchemy are
    imported (~150 ms here); a grid of 10,000 cells allocates enough to trigger one every few page views.
    Frozen objects are never collected, so this runs once, after startup (benchmarks/README.md).
    """
    import gc

    import plotly.graph_objects  # noqa: F401  (imported by the pages; load it before freezing)

    import tracker.queries  # noqa: F401

    gc.collect()
    gc.freeze()


try:
    _initialize()
except TrackerError as exc:
    st.error(f"The tracker could not start: {exc}")
    st.stop()

# One list of pages; each page file is thin and calls tracker/ for its data.
PAGES = {
    "Tracker": [
        st.Page("pages/overview.py", title="Overview", icon=":material/grid_view:", default=True, url_path="overview"),
        st.Page("pages/company.py", title="Company", icon=":material/business:", url_path="company"),
        st.Page("pages/commitment.py", title="Commitment", icon=":material/gavel:", url_path="commitment"),
        st.Page("pages/changes.py", title="Changes", icon=":material/difference:", url_path="changes"),
        st.Page("pages/stocktake.py", title="Stocktake", icon=":material/summarize:", url_path="stocktake"),
        st.Page("pages/documents.py", title="Documents", icon=":material/description:", url_path="documents"),
    ],
    "About the data": [
        st.Page("pages/sources_health.py", title="Sources health", icon=":material/monitor_heart:", url_path="sources"),
        st.Page("pages/methodology.py", title="Methodology", icon=":material/menu_book:", url_path="methodology"),
    ],
}

PAGES["Accounts"] = account_pages()  # only the pages the signed-in role may use

st.navigation(PAGES).run()
