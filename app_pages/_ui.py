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
from tracker.read import search as search_model
from tracker.read.cite import Citation, cite
from tracker.read.text import escape_markdown
from tracker.store.vocabulary import BASIS_MEANINGS, BASIS_SYMBOLS, LEVELS

PAGE_COMPANY = "app_pages/company.py"
PAGE_COMMITMENT = "app_pages/commitment.py"
PAGE_CHANGES = "app_pages/changes.py"
PAGE_DOCUMENTS = "app_pages/documents.py"
PAGE_SOURCES = "app_pages/sources.py"
PAGE_METHODOLOGY = "app_pages/methodology.py"
PAGE_SEARCH = "app_pages/search.py"

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
search = cached(search_model.search)


def version_text(version_id: int) -> str | None:
    """Uncached: one version's text must be exact."""
    return read_only(queries.version_text, version_id)


def version_quotes(version_id: int) -> list[queries.EvidenceItem]:
    """Uncached: the quotes shipped for one version."""
    return read_only(queries.version_quotes, version_id)


def stop_on_error(exc: TrackerError) -> None:
    st.error(str(exc))
    st.stop()


# ------------------------------------------------------------------------------------------- URL state
#
# Every page keeps its controls in the URL (so every view is a link) through the helpers below. Widget keys are
# scoped by page ("changes:company"), because pages give the same parameter different types (a list of companies
# on Changes, one company on the Company page): a shared key carried one page's value into the other's widget.
# Every value read from a link is validated; an invalid one falls back to the default with a visible note.

NOTES_KEY = "_url_notes"


def widget_key(page: str, param: str) -> str:
    """The session-state key of one page's control for one URL parameter."""
    return f"{page}:{param}"


def note(text: str) -> None:
    """Queue a note about the link (an unknown id, a clamped date) for `show_notes`."""
    notes = st.session_state.setdefault(NOTES_KEY, [])
    if text not in notes:
        notes.append(text)


def show_notes() -> None:
    """Show (once) what was changed in the link's parameters, so a reader knows what they are looking at."""
    for text in st.session_state.pop(NOTES_KEY, []):
        st.info(text, icon=":material/info:")


def bind(page: str, param: str, default: Any, parse: Callable[[str], Any] = str, *,
         valid: Callable[[Any], bool] | None = None, what: str | None = None) -> str:
    """Give the page's control for `param` its value from the URL on first load, or when a link changed the URL.

    Returns the widget key: create the widget with `key=` that key and no `value=`, then call `publish`.
    A value that does not parse or is not `valid` (an unknown id) falls back to `default` with a note.
    """
    key = widget_key(page, param)
    seen = f"_url_{key}"
    raw = st.query_params.get(param)
    fresh = key not in st.session_state or (raw is not None and raw != st.session_state.get(seen))
    if fresh:
        value = default
        if raw is not None:
            try:
                value = parse(raw)
            except (TypeError, ValueError, OverflowError):
                note(f"The link's {what or param} {shorten_raw(raw)} is not valid: showing the default instead.")
        st.session_state[key] = value
        st.session_state[seen] = raw
    if valid is not None and not valid(st.session_state[key]):
        if fresh and raw is not None:
            note(f"Unknown {what or param} {shorten_raw(raw)}: showing the default instead.")
        st.session_state[key] = default
    return key


def shorten_raw(raw: str) -> str:
    """A link's raw value, quoted and cut, for a note (it is shown as text, never as Markdown)."""
    return "“" + escape_markdown(raw[:60] + ("…" if len(raw) > 60 else "")) + "”"


def publish(page: str, param: str, value: Any) -> None:
    """Write a control's value back to the URL so the view can be shared."""
    seen = f"_url_{widget_key(page, param)}"
    if value is None or value == [] or value == "":
        st.query_params.pop(param, None)
        st.session_state[seen] = None
        return
    if isinstance(value, list | tuple):
        text = ",".join(str(v) for v in value)
    elif isinstance(value, date | datetime):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "1" if value else "0"
    else:
        text = str(value)
    st.query_params[param] = text
    st.session_state[seen] = text


def parse_bool(raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes"}:
        return True
    if raw.lower() in {"0", "false", "no"}:
        return False
    raise ValueError(raw)


def parse_list(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


def parse_int(raw: str) -> int:
    value = int(raw)
    if not -(2**62) < value < 2**62:  # the database's integers; larger ones overflow the driver
        raise ValueError(raw)
    return value


def parse_date(raw: str) -> date:
    return date.fromisoformat(raw.strip()[:10])


def date_bounds() -> tuple[date, date]:
    """The dates a reader can open: from the first commitment in the catalog (its framework's date) to today."""
    announced = [f.announced for f in frameworks() if f.announced]
    return (min(announced) if announced else date(2023, 1, 1)), date.today()


def _clamped(key: str) -> None:
    """Keep a date in `date_bounds`: Streamlit raises on a value outside the picker's range."""
    value = st.session_state.get(key)
    if value is None:
        return
    if isinstance(value, datetime):
        value = value.date()
    low, high = date_bounds()
    if not low <= value <= high:
        fixed = min(max(value, low), high)
        note(f"The tracker covers {low:%d %b %Y} to today; the link's date {value.isoformat()} is shown as "
             f"{fixed:%d %b %Y}.")
        value = fixed
    st.session_state[key] = value


def date_control(page: str, param: str, label: str, default: date | None = None, *, help: str | None = None,
                 ) -> date | None:
    """A date bound to `?param=YYYY-MM-DD`, clamped to `date_bounds` (a date outside them never raises)."""
    key = bind(page, param, default, parse_date, what="date")
    _clamped(key)
    low, high = date_bounds()
    value = st.date_input(label, key=key, min_value=low, max_value=high, help=help, format="YYYY-MM-DD")
    if isinstance(value, tuple):  # never a range here; be safe against a stale state
        value = value[0] if value else None
    publish(page, param, value)
    return value


def as_of_control(page: str, label: str = "As of") -> date:
    """The date every level is replayed at; defaults to today, shareable as `?date=YYYY-MM-DD`."""
    value = date_control(page, "date", label, date.today(), help="Levels and documents as they stood on this date.")
    return value or date.today()


def select_control(page: str, param: str, label: str, options: list, default: Any, *,
                   format_func: Callable[[Any], str] = str, parse: Callable[[str], Any] = str,
                   what: str | None = None, **kwargs: Any) -> Any:
    """A selectbox bound to `?param=`; an unknown value in the link falls back to `default` with a note."""
    allowed = set(options)
    key = bind(page, param, default, parse, valid=lambda v: v in allowed or (v is None and default is None),
               what=what or label.lower())
    value = st.selectbox(label, options, key=key, format_func=format_func, **kwargs)
    publish(page, param, value)
    return value


def multiselect_control(page: str, param: str, label: str, options: list, *,
                        format_func: Callable[[Any], str] = str, what: str | None = None, **kwargs: Any) -> list:
    """A multiselect bound to `?param=a,b`; unknown values in the link are dropped with a note."""
    allowed = set(options)
    key = bind(page, param, [], parse_list, valid=lambda v: isinstance(v, list), what=what or label.lower())
    chosen = st.session_state[key]
    known = [v for v in chosen if v in allowed]
    if len(known) != len(chosen):
        unknown = ", ".join(str(v) for v in chosen if v not in allowed)
        note(f"Unknown {what or label.lower()} in the link left out: {shorten_raw(unknown)}.")
        st.session_state[key] = known
    value = st.multiselect(label, options, key=key, format_func=format_func, **kwargs)
    publish(page, param, value)
    return value


def toggle_control(page: str, param: str, label: str, default: bool, **kwargs: Any) -> bool:
    key = bind(page, param, default, parse_bool, valid=lambda v: isinstance(v, bool), what=label.lower())
    value = st.toggle(label, key=key, **kwargs)
    publish(page, param, value)
    return value


def framework_control(page: str, frameworks: list, default: str = "seoul-2024", label: str = "Framework") -> str:
    ids = [f.id for f in frameworks]
    names = {f.id: f.name for f in frameworks}
    fallback = default if default in ids else (ids[0] if ids else default)
    return select_control(page, "framework", label, ids, fallback, format_func=lambda i: names.get(i, i),
                          what="framework")


def url_param(param: str, valid: Callable[[str], bool], what: str) -> str | None:
    """A link parameter that is not a widget (e.g. the commitment to open on a company page), validated."""
    raw = st.query_params.get(param)
    if raw is None or raw == "":
        return None
    if valid(raw):
        return raw
    note(f"Unknown {what} {shorten_raw(raw)}: ignored.")
    return None


# ---------------------------------------------------------------------------------------------- display


def level_text(level: int | None, basis: str | None = None, score: float | None = None) -> str:
    """'2 partial ✓ · score 61': number, word, basis symbol and the cell score, readable without colour."""
    if basis is None:
        return "not assessed"
    word = "n/a" if level is None else f"{level} {LEVELS[level].lower()}" if level in LEVELS else str(level)
    text = f"{word} {BASIS_SYMBOLS.get(basis, '')}".strip()
    return text if score is None else f"{text} · score {score:.0f}"


def legend_markdown() -> str:
    levels = " · ".join(f"**{level}** {name.lower()}" for level, name in LEVELS.items())
    bases = "; ".join(f"{BASIS_SYMBOLS[b]} {b}: {BASIS_MEANINGS[b]}" for b in BASIS_SYMBOLS)
    return (f"Levels: {levels}; **–** not assessed yet.  \nBasis: {bases}.  \nScore: the number in brackets (0-100) "
            "ranks cells of one level: indicators met, how firmly (binding or hedged) and how specifically (thresholds, "
            "numbers, named bodies, cadences); a darker shade is a higher score within the level.")


ORIGIN_LABELS = {"seed": "quotes shipped with the tracker", "imported": "imported copy",
                 "fetched": "fetched from the web", "submitted": "submitted by the company"}


def version_caption(version: queries.VersionInfo, source_title: str) -> str:
    """Source title, version label and retrieval date, as escaped Markdown."""
    retrieved = version.fetched_at.date().isoformat() if hasattr(version.fetched_at, "date") else ""
    origin = ORIGIN_LABELS.get(version.origin, version.origin)
    return (f"{escape_markdown(source_title)}, {escape_markdown(version.label)} · retrieved {retrieved} "
            f"({escape_markdown(origin)})")


def company_name(company_id: str) -> str:
    """A company's name for display (its id only if the catalog lost it)."""
    return {c.id: c.name for c in companies()}.get(company_id, company_id)


def citation_for(version: queries.VersionInfo, *, company: str, source_title: str, page: str,
                 params: dict[str, object], quote_text: str | None = None, claim: str | None = None,
                 as_of: date | None = None) -> Citation:
    """A citation of one level, quote or change (see tracker.read.cite)."""
    retrieved = version.fetched_at.date() if hasattr(version.fetched_at, "date") else None
    return cite(public_url=get_settings().public_url, page=page, params=params, company_name=company,
                source_title=source_title, version_label=version.label, url=version.url,
                document_format=version.format, retrieved=retrieved, quote=quote_text, claim=claim, as_of=as_of,
                archived=version.archived_url)


def cite_popover(citation: Citation, label: str = "Cite this") -> None:
    """'Cite this': permalink, live document (at the quote where the browser can), archived copy, ready line."""
    with st.popover(label, icon=":material/format_quote:"):
        st.markdown(f"[Permalink in the tracker]({citation.permalink})  \n"
                    f"[Live document]({citation.document_url}) · [Archived copy]({citation.archived_url})")
        st.caption("Retrieved " + (citation.retrieved.isoformat() if citation.retrieved else "on an unknown date")
                   + ". The archived copy is the Internet Archive's snapshot nearest to that date.")
        st.code(citation.line, language=None, wrap_lines=True)


def quote(item: queries.EvidenceItem, *, as_of: date | None = None, level: str | None = None) -> None:
    """One evidence quote as text, then where it comes from: section, source link, stored version, citation."""
    with st.container(border=True):
        st.markdown("> " + escape_markdown(item.quote))
        where = []
        if item.section:
            where.append("§ " + escape_markdown(item.section))
        if item.page:
            where.append(f"page {item.page}")
        where.append(f"match score {item.score:.2f}" + (" · worded as a commitment" if item.commits else ""))
        st.caption(" · ".join(where) + "  \n" + version_caption(item.version, item.source_title))
        name = company_name(item.company_id)
        citation = citation_for(
            item.version, company=name, source_title=item.source_title, page="company",
            params={"company": item.company_id, "commitment": item.commitment_id,
                    "framework": item.commitment_id.split("/")[0], "date": as_of},
            quote_text=item.quote, claim=(f"{name}, commitment {item.commitment_id}: level {level}" if level
                                          else None), as_of=as_of)
        cols = st.columns(3)
        cols[0].link_button("Source document", citation.document_url, icon=":material/open_in_new:",
                            width="stretch")
        with cols[1]:
            st.page_link(PAGE_DOCUMENTS, label="Stored version", icon=":material/description:",
                         query_params={"source": item.version.source_id, "version": str(item.version.id)})
        with cols[2]:
            cite_popover(citation)


PLOT_CONFIG_BASE = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def chart_config(filename: str) -> dict[str, Any]:
    """Plotly's toolbar with its camera button: a 2x PNG named after the view, ready for an article.

    (Plotly's config is JSON here, so a second, SVG button would need a JavaScript callback Streamlit cannot
    pass; the image carries its own source and as-of line, see `chart_caption`.)
    """
    return {**PLOT_CONFIG_BASE, "displayModeBar": True,
            "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2}}


def chart_caption(figure: Any, text: str, *, below_axis: bool = True) -> None:
    """Draw the source and as-of line into the figure itself, so a downloaded image keeps its attribution.

    `below_axis`: the chart has x tick labels at the bottom, so the line goes under them.
    """
    shift = -34 if below_axis else -8
    figure.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, yshift=shift, xanchor="left",
                          yanchor="top", showarrow=False, font={"size": 10, "color": "#555"})
    margin = figure.layout.margin
    figure.update_layout(margin={"l": margin.l, "r": margin.r, "t": margin.t,
                                 "b": (margin.b or 0) + (50 if below_axis else 24)})


def company_link(company_id: str, name: str, *, commitment: str | None = None, framework: str | None = None,
                 as_of: date | None = None) -> None:
    """A link to a company page that carries the view's framework, commitment and date along."""
    params = {"company": company_id}
    if commitment:
        params["commitment"] = commitment
        framework = framework or commitment.split("/")[0]
    if framework:
        params["framework"] = framework
    if as_of and as_of != date.today():
        params["date"] = as_of.isoformat()
    st.page_link(PAGE_COMPANY, label=escape_markdown(name), query_params=params)


def commitment_link(commitment_id: str, label: str, *, as_of: date | None = None) -> None:
    params = {"commitment": commitment_id}
    if as_of and as_of != date.today():
        params["date"] = as_of.isoformat()
    st.page_link(PAGE_COMMITMENT, label=escape_markdown(label), query_params=params)


def commitment_labels() -> dict[str, str]:
    """Every commitment id -> "Seoul 2024 II. Intolerable-risk thresholds", for lists that span frameworks."""
    return {c.id: f"{f.short_name} {c.number}. {c.title}" for f in frameworks() for c in framework_commitments(f.id)}


def marked_markdown(runs: tuple[tuple[bool, str], ...]) -> str:
    """A search snippet as Markdown: every run escaped, the matched ones bold on a highlight background."""
    parts = []
    for matched, text in runs:
        body = escape_markdown(text)
        if matched:
            body = f":orange-background[**{body}**]"
        # escape_markdown trims: keep the spaces between a match and its neighbours
        parts.append((" " if text[:1].isspace() else "") + body + (" " if text[-1:].isspace() else ""))
    return "".join(parts)


def empty_state(what: str, will_appear: str) -> None:
    """Never a blank page: say what is missing and what will show here once data exists."""
    st.info(f"**{what}.** {will_appear}", icon="ℹ️")
