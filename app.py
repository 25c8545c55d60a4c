"""Streamlit entry point: `streamlit run app.py`. Creates the database on first start, then navigates."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from app_pages._account import account_pages
from app_pages._errors import run_page
from tracker.core.errors import TrackerError
from tracker.ingest.bootstrap import ensure_initialized

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

    import tracker.read.queries  # noqa: F401  (the read models every page uses)

    gc.collect()
    gc.freeze()


try:
    _initialize()
except TrackerError as exc:
    st.error(f"The tracker could not start: {exc}")
    st.stop()

OVERVIEW = st.Page("app_pages/overview.py", title="Overview", icon=":material/grid_view:", url_path="overview")


def _home() -> None:
    """The root URL opens the overview at its own address, so "/overview?..." links are ordinary deep links.

    (Streamlit 1.67 serves a default page only at "/": opening its url_path directly popped "Page not found".)
    """
    st.switch_page(OVERVIEW, query_params=dict(st.query_params))


# One list of pages; each page file is thin and calls tracker/ for its data.
PAGES = {
    "Tracker": [
        OVERVIEW,
        st.Page("app_pages/company.py", title="Company", icon=":material/business:", url_path="company"),
        st.Page("app_pages/commitment.py", title="Commitment", icon=":material/gavel:", url_path="commitment"),
        st.Page("app_pages/changes.py", title="Changes", icon=":material/difference:", url_path="changes"),
        st.Page("app_pages/stocktake.py", title="Stocktake", icon=":material/summarize:", url_path="stocktake"),
        st.Page("app_pages/documents.py", title="Documents", icon=":material/description:", url_path="documents"),
        st.Page("app_pages/search.py", title="Search", icon=":material/search:", url_path="search"),
    ],
    "About the data": [
        st.Page("app_pages/sources.py", title="Sources health", icon=":material/monitor_heart:", url_path="sources"),
        st.Page("app_pages/methodology.py", title="Methodology", icon=":material/menu_book:", url_path="methodology"),
        st.Page("app_pages/corrections.py", title="Corrections", icon=":material/published_with_changes:",
                url_path="corrections"),
    ],
}

PAGES["Tracker"].append(st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden"))
PAGES["Accounts"] = account_pages()  # only the pages the signed-in role may use
_ui.start_run()  # the data version every cached read of this run is keyed on

run_page(st.navigation(PAGES))  # errors become a message with a reference id, never a traceback
