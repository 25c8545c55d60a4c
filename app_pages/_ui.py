"""Shared pieces of the pages: cached queries, shareable query parameters, levels, quotes and links.

Pages stay thin: they read controls (bound to the URL so every view is a link), call `cached(...)` for their
data and render with the helpers here. Scraped text only ever reaches `st.markdown` through `escape_markdown`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import streamlit as st

from tracker.core.config import get_settings
from tracker.core.work import read_only

if TYPE_CHECKING:
    from sqlmodel import Session
from tracker.core.errors import TrackerError
from tracker.read import queries, reviews
from tracker.read.text import escape_markdown
from tracker.store.vocabulary import BASIS_MEANINGS, BASIS_SYMBOLS, LEVELS

PAGE_COMPANY = "app_pages/company.py"
PAGE_COMMITMENT = "app_pages/commitment.py"
PAGE_CHANGES = "app_pages/changes.py"
PAGE_DOCUMENTS = "app_pages/documents.py"

# ------------------------------------------------------------------------------------------------ data


P = ParamSpec("P")
T = TypeVar("T")
DATA_VERSION_KEY = "_data_version"


def start_run() -> None:
    """Once per script run (app.py): the data version that keys every cached read of this run."""
    st.session_state[DATA_VERSION_KEY] = read_only(queries.data_version)


def data_version() -> str:
    """The data version this run's cached reads are keyed on (for caches a page keeps itself)."""
    return _data_version()


def _data_version() -> str:
    # Set by `start_run`; a page run on its own (tests) asks the database each time instead.
    return st.session_state.get(DATA_VERSION_KEY) or read_only(queries.data_version)


@st.cache_data(ttl=get_settings().cache_ttl_seconds, show_spinner=False, max_entries=256)
def _cached_call(_fn: Callable[..., Any], name: str, database: str, version: str, args: tuple, kwargs: tuple) -> Any:
    """Keyed on the read's name, the database and its data version: any write (or another database) misses."""
    return read_only(_fn, *args, **dict(kwargs))


def cached(fn: Callable[Concatenate[Session, P], T]) -> Callable[P, T]:
    """A read model as a typed, cached call without the session: `overview = cached(queries.overview)`."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return _cached_call(fn, name, get_settings().database_url, _data_version(), args,
                            tuple(sorted(kwargs.items())))

    call.__name__ = call.__qualname__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call


frameworks = cached(queries.frameworks)
framework_commitments = cached(queries.framework_commitments)
companies = cached(queries.companies)
company_groups = cached(queries.company_groups)
overview = cached(queries.overview)
company_view = cached(queries.company_view)
commitment_view = cached(queries.commitment_view)
change_feed = cached(queries.change_feed)
change_counts = cached(queries.change_counts)
version_feed = cached(queries.version_feed)
version_count = cached(queries.version_count)
documents = cached(queries.documents)
source_index = cached(queries.source_index)
sources_health = cached(queries.sources_health)
submission_links = cached(queries.submission_links)
corrections = cached(reviews.corrections)
reviewer_agreement = cached(reviews.reviewer_agreement)


@st.cache_data(ttl=get_settings().cache_ttl_seconds, show_spinner=False)
def methodology() -> queries.Methodology:
    """Rubrics, method notes and metrics are files shipped with the code: cached by time only."""
    return queries.methodology()


def first_date(key: str = "date") -> date:
    """The first date a date picker offers: the catalog's first commitment, and never after a linked date."""
    first = _first_day()
    linked = st.query_params.get(key)
    try:
        return min(first, date.fromisoformat(linked)) if linked else first
    except ValueError:
        return first


_first_day = cached(queries.first_day)


def version_text(version_id: int) -> str | None:
    """Uncached: one version's text must be exact."""
    return read_only(queries.version_text, version_id)


def version_quotes(version_id: int) -> list[queries.EvidenceItem]:
    """Uncached: the quotes shipped for one version."""
    return read_only(queries.version_quotes, version_id)


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
    value = st.date_input(label, key="date", min_value=first_date(), max_value=date(2100, 1, 1),
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
    return f"{word} {BASIS_SYMBOLS.get(basis, '')}".strip()


def legend_markdown() -> str:
    levels = " · ".join(f"**{level}** {name.lower()}" for level, name in LEVELS.items())
    bases = "; ".join(f"{BASIS_SYMBOLS[b]} {b}: {BASIS_MEANINGS[b]}" for b in BASIS_SYMBOLS)
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
        cols = st.columns(3 if item.version.archived_url else 2)
        cols[0].link_button("Source document ↗", item.version.url, width="stretch")
        if item.version.archived_url:
            cols[1].link_button("Archived copy ↗", item.version.archived_url, width="stretch")
        with cols[-1]:
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
