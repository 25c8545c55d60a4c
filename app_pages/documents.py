"""Documents: every version of each watched source, and a readable side-by-side diff of any two."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from tracker.read.text import escape_markdown, marked_side, passage_diff

st.title("Documents and their versions")
index = _ui.source_index()  # sources and version counts; the versions of the chosen source only, below
if not index:
    _ui.empty_state("No sources in the catalog", "Sources are listed in data/sources/*.yaml and loaded by `init`.")
    st.stop()
by_id = {source.id: (source, count) for source, count in index}
companies = {c.id: c.name for c in _ui.companies()}


def source_label(source_id: str) -> str:
    source, count = by_id[source_id]
    return (f"{companies.get(source.company_id, source.company_id)}: {source.title} "
            f"({count} version{'s' if count != 1 else ''})")


with_versions = [source.id for source, count in index if count]
_ui.bind("source", with_versions[0] if with_versions else index[0][0].id)
if st.session_state["source"] not in by_id:
    st.warning(f"Unknown source {st.session_state['source']!r}.")
    st.session_state["source"] = with_versions[0] if with_versions else index[0][0].id
source_id = st.selectbox("Source", list(by_id), key="source", format_func=source_label)
_ui.publish("source", source_id)
document = _ui.documents(source_id=source_id)[0]
source = document.source

st.subheader(source.title)
st.caption(f"{escape_markdown(companies.get(source.company_id, source.company_id))} · {escape_markdown(source.kind)}"
           f" · {escape_markdown(source.format)}" + ("" if source.fetchable else " · not fetchable (imports only)"))
st.link_button("Watched URL ↗", source.url)
if source.notes:
    st.caption(escape_markdown(source.notes))

versions = document.versions  # newest first
if not versions:
    _ui.empty_state("No version stored yet",
                    "The first successful fetch (`refresh`) or import (`import-file`) of this source appears here; "
                    "later versions are kept beside it and can be compared.")
    if source.known_versions:
        st.caption("Versions the catalog knows about (not stored yet):")
        st.dataframe([{k: known.get(k) for k in ("label", "published_on", "silent_reupload", "first_seen", "url",
                                                 "archived_url", "publisher_sha256")}
                      for known in source.known_versions],
                     hide_index=True, width="stretch")
    st.stop()

st.dataframe(
    [{"id": v.id, "version": v.label, "published": v.published_on, "retrieved": v.fetched_at.date(),
      "origin": v.origin, "text stored": "yes" if v.has_text else "no", "characters": v.char_count or None,
      "pages": v.page_count, "silent re-upload": f"yes, first seen {v.first_seen_on}" if v.silent_reupload else "",
      "url": v.url, "archived": v.archived_url, "publisher's file SHA-256": v.publisher_sha256,
      "stored text SHA-256": v.text_sha256}
     for v in versions],
    hide_index=True, width="stretch", column_config={"url": st.column_config.LinkColumn(display_text="↗"),
                                                     "archived": st.column_config.LinkColumn(display_text="↗")},
)

labels = {v.id: v.label for v in versions}
ids = list(labels)
picks = st.columns(2)
with picks[1]:
    _ui.bind("version", ids[0], int)
    if st.session_state["version"] not in labels:
        st.session_state["version"] = ids[0]
    newer_id = st.selectbox("Version", ids, key="version", format_func=labels.get)
    _ui.publish("version", newer_id)
with picks[0]:
    older_default = ids[ids.index(newer_id) + 1] if ids.index(newer_id) + 1 < len(ids) else None
    _ui.bind("compare", older_default, int)
    if st.session_state["compare"] not in labels or st.session_state["compare"] == newer_id:
        st.session_state["compare"] = older_default
    options = [i for i in ids if i != newer_id]
    older_id = st.selectbox("Compare with", options, key="compare", format_func=labels.get,
                            placeholder="(no other version)" if not options else "Choose a version")
    _ui.publish("compare", older_id)

newer = next(v for v in versions if v.id == newer_id)
older = next((v for v in versions if v.id == older_id), None)
newer_text = _ui.version_text(newer.id) if newer.has_text else None
older_text = _ui.version_text(older.id) if older and older.has_text else None


def show_without_text(version) -> None:
    st.info(f"{version.label}: the tracker holds this version's metadata and quotes, not its text (versions "
            "shipped with the tracker's seed data carry no documents). Its quotes:", icon="ℹ️")
    quotes = _ui.version_quotes(version.id)
    if not quotes:
        st.caption("No quotes were taken from this version.")
    for item in quotes[:20]:
        _ui.quote(item)


if older is None:
    st.subheader(newer.label)
    if newer_text is None:
        show_without_text(newer)
    else:
        st.caption(f"{len(newer_text):,} characters. Only one version: nothing to compare yet.")
        st.text(newer_text[:60_000] + ("\n…" if len(newer_text) > 60_000 else ""))
    st.stop()

st.subheader(f"{older.label} → {newer.label}")
if older_text is None or newer_text is None:
    for version, text in ((older, older_text), (newer, newer_text)):
        if text is None:
            show_without_text(version)
    st.stop()

rows = passage_diff(older_text, newer_text)
changed = [r for r in rows if r.kind != "equal"]
st.caption(f"{sum(1 for r in rows if r.kind == 'changed')} passages changed, "
           f"{sum(1 for r in rows if r.kind == 'removed')} removed, {sum(1 for r in rows if r.kind == 'added')} "
           f"added; {sum(r.unchanged for r in rows)} unchanged. Removed words are red and struck through, added "
           "words green.")
if not changed:
    st.success("The two versions have the same passages (they differ only in layout or whitespace).")
header = st.columns(2)
header[0].markdown(f"**{escape_markdown(older.label)}**")
header[1].markdown(f"**{escape_markdown(newer.label)}**")
for row in rows:
    if row.kind == "equal":
        st.caption(f"… {row.unchanged} unchanged passage{'s' if row.unchanged != 1 else ''} …")
        continue
    with st.container(border=True):
        if row.section:
            st.caption("§ " + escape_markdown(row.section))
        left, right = st.columns(2)
        if row.kind == "changed":
            left.markdown(marked_side(row.old, row.new, "old"))
            right.markdown(marked_side(row.old, row.new, "new"))
        elif row.kind == "removed":
            left.markdown(":red-background[~~" + escape_markdown(row.old) + "~~]")
            right.caption("(removed)")
        else:
            left.caption("(not present)")
            right.markdown(":green-background[" + escape_markdown(row.new) + "]")
