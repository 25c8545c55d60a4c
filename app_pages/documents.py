"""Documents: every version of each watched source, and a readable side-by-side diff of any two."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from tracker.read.cite import archived_url
from tracker.read.search import mark
from tracker.read.text import escape_markdown, marked_side, passage_diff

PAGE = "documents"
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
source_id = _ui.select_control(PAGE, "source", "Source", list(by_id),
                               with_versions[0] if with_versions else index[0][0].id,
                               format_func=source_label, what="source")
document = _ui.documents(source_id=source_id)[0]
source = document.source

st.subheader(escape_markdown(source.title))
st.caption(f"{escape_markdown(companies.get(source.company_id, source.company_id))} · {escape_markdown(source.kind)}"
           f" · {escape_markdown(source.format)}" + ("" if source.fetchable else " · not fetchable (imports only)"))
st.link_button("Watched URL", source.url, icon=":material/open_in_new:")

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
    [{"Version": v.label, "Published": v.published_on, "Retrieved": v.fetched_at.date(),
      "Where the copy comes from": _ui.ORIGIN_LABELS.get(v.origin, v.origin),
      "Text stored": "yes" if v.has_text else "no, quotes only", "Characters": v.char_count or None,
      "Pages": v.page_count,
      "Silently re-uploaded": f"yes, first seen {v.first_seen_on}" if v.silent_reupload else "", "Live": v.url,
      "Archived": v.archived_url or archived_url(v.url, v.fetched_at.date()),
      "Publisher's file SHA-256": v.publisher_sha256, "Stored text SHA-256": v.text_sha256}
     for v in versions],
    hide_index=True, width="stretch",
    column_config={"Live": st.column_config.LinkColumn(display_text="open"),
                   "Archived": st.column_config.LinkColumn(display_text="archived copy")},
)
if any(not v.has_text for v in versions):
    st.info("Versions marked “quotes only” came with the tracker's seed data: it ships the quotes the levels rest "
            "on, not the documents. Open the live or archived copy for the full text; once `refresh` or "
            "`import-file` stores a text, its passages and a side-by-side diff appear here.", icon=":material/info:")

labels = {v.id: v.label for v in versions}
ids = list(labels)
picks = st.columns(2)
with picks[1]:
    newer_id = _ui.select_control(PAGE, "version", "Version", ids, ids[0], format_func=labels.get,
                                  parse=_ui.parse_int, what="version of this source")
with picks[0]:
    older_default = ids[ids.index(newer_id) + 1] if ids.index(newer_id) + 1 < len(ids) else None
    options = [i for i in ids if i != newer_id]
    older_id = _ui.select_control(PAGE, "compare", "Compare with", options, older_default, format_func=labels.get,
                                  parse=_ui.parse_int, what="version to compare with",
                                  placeholder="(no other version)" if not options else "Choose a version")
find = (st.query_params.get("find") or "").strip()[:200]
_ui.show_notes()

newer = next(v for v in versions if v.id == newer_id)
older = next((v for v in versions if v.id == older_id), None)
newer_text = _ui.version_text(newer.id) if newer.has_text else None
older_text = _ui.version_text(older.id) if older and older.has_text else None


def show_without_text(version) -> None:
    archive = archived_url(version.url, version.fetched_at.date())
    st.markdown(f"**{escape_markdown(version.label)}**: quotes only · [Live document]({version.url}) · "
                f"[Archived copy]({archive})")
    quotes = _ui.version_quotes(version.id)
    if find:
        words = find.lower().split()
        quotes = sorted(quotes, key=lambda q: not all(w in q.quote.lower() for w in words))
    if not quotes:
        st.caption("No quotes were taken from this version.")
    for item in quotes[:20]:
        _ui.quote(item)


def show_found(version, text: str) -> None:
    """The passages of this version holding every searched word, marked (from a Search page link)."""
    words = [w for w in find.split() if w.strip()]
    found = [p for p in text.split("\n\n") if words and all(w.lower() in p.lower() for w in words)]
    st.markdown(f"**Passages of {escape_markdown(version.label)} with “{escape_markdown(find)}”** ({len(found)})")
    for passage in found[:10]:
        with st.container(border=True):
            st.markdown(_ui.marked_markdown(mark(passage, words, limit=1200)))


if find and newer_text:
    show_found(newer, newer_text)

if older is None:
    st.subheader(escape_markdown(newer.label))
    if newer_text is None:
        show_without_text(newer)
    else:
        st.caption(f"{len(newer_text):,} characters. Only one version: nothing to compare yet.")
        st.text(newer_text[:60_000] + ("\n…" if len(newer_text) > 60_000 else ""))
    st.stop()

st.subheader(escape_markdown(f"{older.label} → {newer.label}"))
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
