"""Changes: new versions and flagged changes (weakened first), filterable, with a word-level diff of the quotes."""

from __future__ import annotations

import streamlit as st

from app_pages import _regimes, _ui
from tracker.read.text import changed_words, diff_markdown, escape_markdown
from tracker.store.vocabulary import (
    ANNOUNCEMENT_LABELS,
    DIRECTION_ICONS,
    DIRECTION_LABELS,
    DIRECTION_ORDER,
    reason_text,
)

PAGE = "changes"
PAGE_SIZE = 30
VERSION_PAGE_SIZE = 50
st.title("What changed")
companies = _ui.companies()
names = {c.id: c.name for c in companies}
all_commitments = _ui.commitment_labels()

filters = st.columns([3, 3, 1.4, 1.4, 2])
with filters[0]:
    company_ids = _ui.multiselect_control(PAGE, "company", "Companies", list(names), format_func=names.get,
                                          what="company", placeholder="All companies")
with filters[1]:
    commitment_ids = _ui.multiselect_control(PAGE, "commitment", "Commitments", list(all_commitments),
                                             format_func=all_commitments.get, what="commitment",
                                             placeholder="All commitments")
with filters[2]:
    since = _ui.date_control(PAGE, "since", "From")
with filters[3]:
    until = _ui.date_control(PAGE, "until", "To")
with filters[4]:
    directions = _ui.multiselect_control(PAGE, "direction", "Kinds of change", list(DIRECTION_ORDER),
                                         format_func=lambda d: DIRECTION_LABELS.get(d, d), what="kind of change",
                                         placeholder="All kinds")
change_id = _ui.url_param("change", lambda raw: raw.isdigit() and len(raw) < 15, "change")
_ui.show_notes()

filters_kw = {"company_ids": company_ids or None, "since": since, "until": until,
              "directions": directions or None, "commitment_ids": commitment_ids or None,
              "change_id": int(change_id) if change_id else None}
counts_by_direction = _ui.change_counts(**filters_kw)
changes_total = sum(counts_by_direction.values())
version_filters = {"company_ids": company_ids or None, "since": since, "until": until}
versions_total = _ui.version_count(**version_filters)
if change_id:
    if changes_total:
        st.info("Showing the one change this link points to.", icon=":material/link:")
        st.page_link(_ui.PAGE_CHANGES, label="Show all changes", icon=":material/list:")
    else:
        st.warning("The change this link points to is not in the tracker (any more).", icon=":material/link_off:")

counts = {d: counts_by_direction.get(d, 0) for d in DIRECTION_ORDER}
summary = st.columns(len(counts))
for column, (direction, n) in zip(summary, counts.items(), strict=True):
    column.metric(f"{DIRECTION_ICONS[direction]} {DIRECTION_LABELS[direction]}", n)

flagged_tab, versions_tab = st.tabs([f"Flagged changes ({changes_total})", f"New versions ({versions_total})"])

with flagged_tab:
    st.caption("Weakened and removed commitment passages come first, then the rest, newest first within each kind. "
               "Red struck-through words were removed, green words were added. Counts cover the filters above; "
               "a company page counts the same changes up to its as-of date.")
    if not changes_total:
        _ui.empty_state(
            "No flagged changes for these filters",
            "When a source gets a new version, each commitment passage that was added, removed, weakened, "
            "strengthened or reworded appears here with both quotes and a word-level diff.",
        )
    pages = max(1, -(-changes_total // PAGE_SIZE))
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1,
                           key="changes:page") if pages > 1 else 1
    # One page of rows from the database: the filters, the order and the page are all in the query.
    page_changes = _ui.change_feed(**filters_kw, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    change_flags = _regimes.version_flags(tuple(sorted({c.new_version.id for c in page_changes})))
    for change in page_changes:
        with st.container(border=True):
            pair = (f"{change.old_version.label} → " if change.old_version else "") + change.new_version.label
            st.markdown(
                f"{DIRECTION_ICONS.get(change.direction, '')} "
                f"**{DIRECTION_LABELS.get(change.direction, change.direction).upper()}** · "
                f"**{escape_markdown(change.company_name)}** · {escape_markdown(change.source_title)} "
                f"{escape_markdown(pair)}"
            )
            details = [ANNOUNCEMENT_LABELS.get(change.announced, change.announced)]
            if change.commitments:
                details.append("commitments " + ", ".join(
                    escape_markdown(all_commitments.get(c, c)) for c in change.commitments))
            if change.similarity is not None:
                details.append(f"wording {change.similarity:.0%} the same")
            st.caption(" · ".join(details))
            for reason in change.reasons:
                st.markdown("- " + escape_markdown(reason_text(reason)))
            _regimes.flag_summary(change_flags.get(change.new_version.id, []))
            old, new = change.old_quote or "", change.new_quote or ""
            if old and new:
                st.markdown(diff_markdown(old, new))
                with st.expander("Both quotes as plain text"):
                    left, right = st.columns(2)
                    left.caption("Before" + (f" · § {escape_markdown(change.old_section)}" if change.old_section
                                             else ""))
                    left.text(old)
                    right.caption("After" + (f" · § {escape_markdown(change.new_section)}" if change.new_section
                                             else ""))
                    right.text(new)
                    removed, added = changed_words(old, new)
                    st.caption("Removed: " + (" | ".join(escape_markdown(w) for w in removed) or "nothing"))
                    st.caption("Added: " + (" | ".join(escape_markdown(w) for w in added) or "nothing"))
            elif old:
                st.caption("Removed passage" + (f" · § {escape_markdown(change.old_section)}" if change.old_section
                                                else ""))
                st.text(old)
            elif new:
                st.caption("Added passage" + (f" · § {escape_markdown(change.new_section)}" if change.new_section
                                              else ""))
                st.text(new)
            citation = _ui.citation_for(
                change.new_version, company=change.company_name, source_title=change.source_title, page="changes",
                params={"change": change.id}, quote_text=new or old,
                claim=f"{DIRECTION_LABELS.get(change.direction, change.direction).lower()} passage, {pair}")
            links = st.columns(3)
            with links[0]:
                _ui.company_link(change.company_id, change.company_name,
                                 commitment=change.commitments[0] if change.commitments else None)
            with links[1]:
                params = {"source": change.source_id, "version": str(change.new_version.id)}
                if change.old_version:
                    params["compare"] = str(change.old_version.id)
                st.page_link(_ui.PAGE_DOCUMENTS, label="Both versions side by side", icon=":material/description:",
                             query_params=params)
            with links[2]:
                _ui.cite_popover(citation)

with versions_tab:
    if not versions_total:
        _ui.empty_state("No new versions for these filters",
                        "Every distinct text of a watched document is kept; new ones appear here, newest first.")
    version_pages = max(1, -(-versions_total // VERSION_PAGE_SIZE))
    version_page = st.number_input("Page of versions", min_value=1, max_value=version_pages, value=1, step=1,
                                   key="changes:version_page") if version_pages > 1 else 1
    if version_pages > 1:
        st.caption(f"{VERSION_PAGE_SIZE} versions a page, newest first; {versions_total:,} in all.")
    page_versions = _ui.version_feed(**version_filters, limit=VERSION_PAGE_SIZE,
                                     offset=(version_page - 1) * VERSION_PAGE_SIZE)
    flags_by_version = _regimes.version_flags(tuple(sorted(item.version.id for item in page_versions)))
    for item in page_versions:
        counts_text = ", ".join(f"{n} {DIRECTION_LABELS.get(d, d).lower()}" for d, n in sorted(
            item.change_counts.items(), key=lambda x: DIRECTION_ORDER.get(x[0], 9)))
        st.markdown(
            f"**{escape_markdown(item.company_name)}** · {escape_markdown(item.source_title)} "
            f"{escape_markdown(item.version.label)}"
            + (" · silent re-upload" if item.version.silent_reupload else "")
            + f"  \n{escape_markdown(counts_text or 'first version or no changed commitment passage')}"
        )
        _regimes.flag_lines(flags_by_version.get(item.version.id, []))
        st.page_link(_ui.PAGE_DOCUMENTS, label="Open version", icon=":material/description:",
                     query_params={"source": item.version.source_id, "version": str(item.version.id)})
