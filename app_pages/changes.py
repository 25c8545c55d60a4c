"""Changes: new versions and flagged changes (weakened first), filterable, with a word-level diff of the quotes."""

from __future__ import annotations

from datetime import date

import streamlit as st

from app_pages import _ui
from tracker.read.text import changed_words, diff_markdown, escape_markdown
from tracker.store.vocabulary import ANNOUNCEMENT_LABELS, DIRECTION_ICONS, DIRECTION_LABELS, DIRECTION_ORDER

PAGE_SIZE = 30
VERSION_PAGE_SIZE = 50
st.title("What changed")
companies = _ui.companies()
names = {c.id: c.name for c in companies}

filters = st.columns([3, 1, 1, 2])
with filters[0]:
    _ui.bind("company", [], _ui.parse_list)
    st.session_state["company"] = [c for c in st.session_state["company"] if c in names]
    company_ids = st.multiselect("Companies", list(names), key="company", format_func=names.get,
                                 placeholder="All companies")
    _ui.publish("company", company_ids)
with filters[1]:
    _ui.bind("since", None, date.fromisoformat)
    since = st.date_input("From", key="since", min_value=_ui.first_date("since"), max_value=date(2100, 1, 1))
    _ui.publish("since", since)
with filters[2]:
    _ui.bind("until", None, date.fromisoformat)
    until = st.date_input("To", key="until", min_value=_ui.first_date("until"), max_value=date(2100, 1, 1))
    _ui.publish("until", until)
with filters[3]:
    _ui.bind("direction", [], _ui.parse_list)
    st.session_state["direction"] = [d for d in st.session_state["direction"] if d in DIRECTION_ORDER]
    directions = st.multiselect("Kinds of change", list(DIRECTION_ORDER), key="direction",
                                format_func=lambda d: DIRECTION_LABELS.get(d, d), placeholder="All kinds")
    _ui.publish("direction", directions)

filters_kw = {"company_ids": company_ids or None, "since": since, "until": until}
counts_by_direction = _ui.change_counts(**filters_kw, directions=directions or None)
changes_total = sum(counts_by_direction.values())
versions_total = _ui.version_count(**filters_kw)

counts = {d: counts_by_direction.get(d, 0) for d in DIRECTION_ORDER}
summary = st.columns(len(counts))
for column, (direction, n) in zip(summary, counts.items(), strict=True):
    column.metric(f"{DIRECTION_ICONS[direction]} {direction}", n)

flagged_tab, versions_tab = st.tabs([f"Flagged changes ({changes_total})", f"New versions ({versions_total})"])

with flagged_tab:
    st.caption("Weakened and removed commitment passages come first, then the rest, newest first within each kind. "
               "Red struck-through words were removed, green words were added.")
    if not changes_total:
        _ui.empty_state(
            "No flagged changes for these filters",
            "When a source gets a new version, each commitment passage that was added, removed, weakened, "
            "strengthened or reworded appears here with both quotes and a word-level diff.",
        )
    pages = max(1, -(-changes_total // PAGE_SIZE))
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1) if pages > 1 else 1
    # One page of rows from the database: the filters, the order and the page are all in the query.
    changes = _ui.change_feed(**filters_kw, directions=directions or None, limit=PAGE_SIZE,
                              offset=(page - 1) * PAGE_SIZE)
    for change in changes:
        with st.container(border=True):
            pair = (f"{change.old_version.label} → " if change.old_version else "") + change.new_version.label
            st.markdown(
                f"{DIRECTION_ICONS.get(change.direction, '')} **{change.direction.upper()}** · "
                f"**{escape_markdown(change.company_name)}** · {escape_markdown(change.source_title)} "
                f"{escape_markdown(pair)}"
            )
            details = [ANNOUNCEMENT_LABELS.get(change.announced, change.announced)]
            if change.commitments:
                details.append("commitments " + ", ".join(escape_markdown(c) for c in change.commitments))
            if change.similarity is not None:
                details.append(f"similarity {change.similarity:.2f}")
            st.caption(" · ".join(details))
            if change.announcement_quote:
                st.markdown(f"> {escape_markdown(change.announcement_quote)}  \n"
                            f"— {escape_markdown(change.company_name)}, {escape_markdown(change.announcement_source or '')}")
            for reason in change.reasons:
                st.markdown("- " + escape_markdown(
                    f"{reason.get('code', '')}: {reason.get('detail', '')}".strip(": ")))
            old, new = change.old_quote or "", change.new_quote or ""
            if old and new:
                st.markdown(diff_markdown(old, new))
                with st.expander("Both quotes as plain text"):
                    left, right = st.columns(2)
                    left.caption("Before" + (f" · § {change.old_section}" if change.old_section else ""))
                    left.text(old)
                    right.caption("After" + (f" · § {change.new_section}" if change.new_section else ""))
                    right.text(new)
                    removed, added = changed_words(old, new)
                    st.caption("Removed: " + (" | ".join(removed) or "nothing"))
                    st.caption("Added: " + (" | ".join(added) or "nothing"))
            elif old:
                st.caption("Removed passage" + (f" · § {change.old_section}" if change.old_section else ""))
                st.text(old)
            elif new:
                st.caption("Added passage" + (f" · § {change.new_section}" if change.new_section else ""))
                st.text(new)
            links = st.columns(2)
            with links[0]:
                _ui.company_link(change.company_id, change.company_name)
            with links[1]:
                params = {"source": change.source_id, "version": str(change.new_version.id)}
                if change.old_version:
                    params["compare"] = str(change.old_version.id)
                st.page_link(_ui.PAGE_DOCUMENTS, label="Both versions side by side", icon="📄", query_params=params)

with versions_tab:
    if not versions_total:
        _ui.empty_state("No new versions for these filters",
                        "Every distinct text of a watched document is kept; new ones appear here, newest first.")
    version_pages = max(1, -(-versions_total // VERSION_PAGE_SIZE))
    version_page = st.number_input("Page of versions", min_value=1, max_value=version_pages, value=1, step=1,
                                   key="version_page") if version_pages > 1 else 1
    if version_pages > 1:
        st.caption(f"{VERSION_PAGE_SIZE} versions a page, newest first; {versions_total:,} in all.")
    for item in _ui.version_feed(**filters_kw, limit=VERSION_PAGE_SIZE,
                                 offset=(version_page - 1) * VERSION_PAGE_SIZE):
        counts_text = ", ".join(f"{n} {d}" for d, n in sorted(item.change_counts.items(),
                                                               key=lambda x: DIRECTION_ORDER.get(x[0], 9)))
        st.markdown(
            f"**{escape_markdown(item.company_name)}** · {escape_markdown(item.source_title)} "
            f"{escape_markdown(item.version.label)}"
            + (" · silent re-upload" if item.version.silent_reupload else "")
            + f"  \n{escape_markdown(counts_text or 'first version or no changed commitment passage')}"
        )
        st.page_link(_ui.PAGE_DOCUMENTS, label="Open version", icon="📄",
                     query_params={"source": item.version.source_id, "version": str(item.version.id)})
