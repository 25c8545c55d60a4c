"""Search: every evidence quote and every stored version's text, with marked snippets, filters and citations."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui
from tracker.core.errors import TrackerError
from tracker.read.text import escape_markdown

PAGE = "search"
st.title("Search the documents")
companies = _ui.companies()
names = {c.id: c.name for c in companies}
frameworks = {f.id: f.name for f in _ui.frameworks()}
documents = _ui.documents()
commitment_names = _ui.commitment_labels()
sources = {d.source.id: f"{names.get(d.source.company_id, d.source.company_id)}: {d.source.title}"
           for d in documents}

query_key = _ui.bind(PAGE, "q", "", lambda raw: raw.strip()[:200], valid=lambda v: isinstance(v, str))
words = st.text_input("Words to find", key=query_key, placeholder="e.g. third-party evaluation",
                      help="Every word must occur (word beginnings count: 'evaluat' finds 'evaluation'). "
                           "Searches the quotes behind every level and every stored document text.")
_ui.publish(PAGE, "q", words.strip())
filters = st.columns([3, 2, 3, 1.4, 1.4])
with filters[0]:
    company_ids = _ui.multiselect_control(PAGE, "company", "Companies", list(names), format_func=names.get,
                                          what="company", placeholder="All companies")
with filters[1]:
    framework_id = _ui.select_control(PAGE, "framework", "Framework", list(frameworks), None,
                                      format_func=frameworks.get, index=None, placeholder="All frameworks",
                                      what="framework")
with filters[2]:
    source_id = _ui.select_control(PAGE, "source", "Document", list(sources), None, format_func=sources.get,
                                   index=None, placeholder="All documents", what="document")
with filters[3]:
    since = _ui.date_control(PAGE, "since", "From")
with filters[4]:
    until = _ui.date_control(PAGE, "until", "To")
_ui.show_notes()

if not words.strip():
    _ui.empty_state("Type a few words", "Hits show each matching quote or passage with the words marked, the "
                    "document and version it is from, and links to the passage, the live and the archived copy.")
    st.stop()
try:
    result = _ui.search(words, company_ids=company_ids or None, framework_id=framework_id, source_id=source_id,
                        since=since, until=until)
except TrackerError as exc:
    _ui.stop_on_error(exc)

companies_hit = sorted({h.company_name for h in result.hits})
st.caption(f"{len(result.hits)}{'+' if result.truncated else ''} hits from {len(companies_hit)} "
           f"compan{'y' if len(companies_hit) == 1 else 'ies'}: quotes the levels rest on first, then passages of "
           "stored texts. Seed versions ship quotes only; full texts appear once `refresh` or `import-file` has "
           "stored them.")
if not result.hits:
    _ui.empty_state("Nothing found", "Try fewer words, another spelling, or clear the filters.")
for hit in result.hits:
    with st.container(border=True):
        kind = "Quote behind a level" if hit.kind == "quote" else "Passage of the stored text"
        where = [f"**{escape_markdown(hit.company_name)}**", escape_markdown(hit.source_title),
                 escape_markdown(hit.version.label), kind]
        if hit.commitment_id:
            where.append(escape_markdown(commitment_names.get(hit.commitment_id, hit.commitment_id)))
        if hit.section:
            where.append("§ " + escape_markdown(hit.section))
        st.markdown(" · ".join(where))
        st.markdown(_ui.marked_markdown(hit.snippet))
        citation = _ui.citation_for(
            hit.version, company=hit.company_name, source_title=hit.source_title, page="documents",
            params={"source": hit.source_id, "version": hit.version.id, "find": words.strip()},
            quote_text=hit.passage)
        links = st.columns(4)
        with links[0]:
            st.page_link(_ui.PAGE_DOCUMENTS, label="Passage in its version", icon=":material/description:",
                         query_params={"source": hit.source_id, "version": str(hit.version.id),
                                       "find": words.strip()})
        links[1].link_button("Live document", citation.document_url, icon=":material/open_in_new:",
                             width="stretch")
        links[2].link_button("Archived copy", citation.archived_url, icon=":material/inventory_2:",
                             width="stretch")
        with links[3]:
            _ui.cite_popover(citation)
