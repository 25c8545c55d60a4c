"""Shared pieces of the pages: cached queries, shareable query parameters, levels, quotes and links.

Pages stay thin: they read controls (bound to the URL so every view is a link), call `cached(...)` for their
data and render with the helpers here. Scraped text only ever reaches `st.markdown` through `escape_markdown`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import streamlit as st
from sqlmodel import Session

import pages._boot  # noqa: F401  (must come first: see its docstring)
from tracker import queries
from tracker.assessments import LEVELS
from tracker.config import get_settings
from tracker.db import get_engine
from tracker.errors import TrackerError
from tracker.text import escape_markdown

PAGE_OVERVIEW = "pages/overview.py"
PAGE_COMPANY = "pages/company.py"
PAGE_COMMITMENT = "pages/commitment.py"
PAGE_CHANGES = "pages/changes.py"
PAGE_DOCUMENTS = "pages/documents.py"
PAGE_SOURCES = "pages/sources_health.py"
PAGE_METHODOLOGY = "pages/methodology.py"

# Colour-blind-safe sequential blues; every cell also carries its level as text, so colour is never needed.
LEVEL_COLOURS = {0: "#f1eef6", 1: "#bdc9e1", 2: "#74a9cf", 3: "#0570b0"}
NOT_ASSESSED_COLOUR = "#ffffff"
BASIS_SYMBOL = {"automatic": "·", "reviewed": "✓", "self-reported": "✎"}
BASIS_MEANING = {
    "automatic": "suggested by the software from the company's documents",
    "reviewed": "confirmed or set by a reviewer",
    "self-reported": "claimed by the company and accepted by a reviewer",
}
DIRECTION_ICON = {"weakened": "🔻", "removed": "❌", "strengthened": "🔺", "added": "➕", "reworded": "✏️"}


# ------------------------------------------------------------------------------------------------ data


def _database_key() -> str:
    return get_settings().database_url


@st.cache_data(ttl=get_settings().cache_ttl_seconds, show_spinner=False, max_entries=256)
def _run_cached(name: str, database: str, version: str, args: tuple, kwargs: tuple) -> Any:
    """Keyed on the database and its data version, so any write (or another database) misses the cache."""
    with Session(get_engine(database)) as session:
        return getattr(queries, name)(session, *args, **dict(kwargs))


def cached(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call `tracker.queries.<name>(session, *args, **kwargs)` through the cache."""
    database = _database_key()
    with Session(get_engine(database)) as session:
        version = queries.data_version(session)
    return _run_cached(name, database, version, args, tuple(sorted(kwargs.items())))


@st.cache_data(ttl=get_settings().cache_ttl_seconds, show_spinner=False)
def methodology() -> queries.Methodology:
    """Rubrics, method notes and metrics are files shipped with the code: cached by time only."""
    return queries.methodology()


def fresh(name: str, *args: Any, **kwargs: Any) -> Any:
    """Uncached call, for small reads that must be exact (e.g. one version's text)."""
    with Session(get_engine()) as session:
        return getattr(queries, name)(session, *args, **kwargs)


def stop_on_error(exc: TrackerError) -> None:
    st.error(str(exc))
    st.stop()


# ------------------------------------------------------------------------------------- URL-bound controls


def bind(key: str, default: Any, parse: Callable[[str], Any] = str) -> None:
    """Give the widget `key` its value from the URL on first load, or when a link changed the URL.

    Call before creating the widget (with `key=key` and no `value=`); call `publish` after it.
    """
    raw = st.query_params.get(key)
    if key not in st.session_state or (raw is not None and raw != st.session_state.get(f"_url_{key}")):
        value = default
        if raw is not None:
            try:
                value = parse(raw)
            except (TypeError, ValueError):
                st.warning(f"Ignored the link's {key}={raw!r}: it is not a valid value.")
        st.session_state[key] = value
        st.session_state[f"_url_{key}"] = raw


def publish(key: str, value: Any) -> None:
    """Write a control's value back to the URL so the view can be shared."""
    if value is None or value == [] or value == "":
        st.query_params.pop(key, None)
        st.session_state[f"_url_{key}"] = None
        return
    if isinstance(value, list | tuple):
        text = ",".join(str(v) for v in value)
    elif isinstance(value, date | datetime):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "1" if value else "0"
    else:
        text = str(value)
    st.query_params[key] = text
    st.session_state[f"_url_{key}"] = text


def parse_bool(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes"}:
        return True
    if raw.lower() in {"0", "false", "no"}:
        return False
    raise ValueError(raw)


def parse_list(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


def as_of_control(label: str = "As of") -> date:
    """The date every level is replayed at; defaults to today, shareable as `?date=YYYY-MM-DD`."""
    bind("date", date.today(), date.fromisoformat)
    value = st.date_input(label, key="date", min_value=date(2023, 1, 1), max_value=date(2100, 1, 1),
                          help="Levels and documents as they stood on this date.")
    publish("date", value)
    return value


def framework_control(frameworks: list, default: str = "seoul-2024", label: str = "Framework") -> str:
    ids = [f.id for f in frameworks]
    names = {f.id: f.name for f in frameworks}
    bind("framework", default if default in ids else (ids[0] if ids else default))
    if st.session_state["framework"] not in ids:
        st.warning(f"Unknown framework {st.session_state['framework']!r}; showing {names.get(default, default)}.")
        st.session_state["framework"] = default if default in ids else ids[0]
    value = st.selectbox(label, ids, key="framework", format_func=lambda i: names.get(i, i))
    publish("framework", value)
    return value


# ---------------------------------------------------------------------------------------------- display


def level_text(level: int | None, basis: str | None = None) -> str:
    """'2 partial ✓': number, word and basis symbol, readable without colour."""
    if basis is None:
        return "not assessed"
    word = "n/a" if level is None else f"{level} {LEVELS[level].lower()}" if level in LEVELS else str(level)
    return f"{word} {BASIS_SYMBOL.get(basis, '')}".strip()


def legend_markdown() -> str:
    levels = " · ".join(f"**{level}** {name.lower()}" for level, name in LEVELS.items())
    bases = "; ".join(f"{BASIS_SYMBOL[b]} {b}: {BASIS_MEANING[b]}" for b in BASIS_SYMBOL)
    return f"Levels: {levels}; **–** not assessed yet.  \nBasis: {bases}."


def version_caption(version: queries.VersionInfo, source_title: str) -> str:
    """Source title, version label and retrieval date, as escaped Markdown."""
    retrieved = version.fetched_at.date().isoformat() if hasattr(version.fetched_at, "date") else ""
    origin = {"seed": "metadata shipped with the tracker", "imported": "imported copy",
              "fetched": "fetched", "submitted": "submitted by the company"}.get(version.origin, version.origin)
    return (f"{escape_markdown(source_title)}, {escape_markdown(version.label)} · retrieved {retrieved} "
            f"({escape_markdown(origin)})")


def quote(item: queries.EvidenceItem) -> None:
    """One evidence quote as text, then where it comes from: section, source link, stored version link."""
    with st.container(border=True):
        st.markdown("> " + escape_markdown(item.quote))
        where = []
        if item.section:
            where.append("§ " + escape_markdown(item.section))
        if item.page:
            where.append(f"page {item.page}")
        if item.indicator_id:
            where.append("indicator " + escape_markdown(item.indicator_id))
        where.append(f"score {item.score:.2f}" + (" · worded as a commitment" if item.commits else ""))
        st.caption(" · ".join(where) + "  \n" + version_caption(item.version, item.source_title))
        cols = st.columns(2)
        cols[0].link_button("Source document ↗", item.version.url, width="stretch")
        with cols[1]:
            st.page_link(PAGE_DOCUMENTS, label="Stored version", icon="📄",
                         query_params={"source": item.version.source_id, "version": str(item.version.id)})


def company_link(company_id: str, name: str, *, commitment: str | None = None) -> None:
    params = {"company": company_id}
    if commitment:
        params["commitment"] = commitment
    st.page_link(PAGE_COMPANY, label=name, query_params=params)


def commitment_link(commitment_id: str, label: str) -> None:
    st.page_link(PAGE_COMMITMENT, label=label, query_params={"commitment": commitment_id})


def empty_state(what: str, will_appear: str) -> None:
    """Never a blank page: say what is missing and what will show here once data exists."""
    st.info(f"**{what}.** {will_appear}", icon="ℹ️")
