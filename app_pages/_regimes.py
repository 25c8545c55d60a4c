"""The regimes on the pages: deadline tables, the crosswalked union's explanations, a company's obligations,
a commitment's equivalents with one company's evidence, and the flags on published updates.

Why a module: the overview, company, commitment and changes pages each show a piece of the same read models
(`tracker.read.obligations`, `tracker.read.union`); keeping the drawing here keeps those pages thin scripts and
the grid untouched. Every catalog or document text goes through `escape_markdown`; tables take plain values.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import streamlit as st

from app_pages import _ui
from tracker.read import obligations, union
from tracker.read.text import escape_markdown
from tracker.store.vocabulary import (
    DATE_CONFIDENCE_LABELS,
    DEADLINE_STATUS_MEANINGS,
    DEADLINE_STATUSES,
    REGIME_KINDS,
    SIGNATURE_STATUS_LABELS,
)

UNION = "crosswalked"  # the overview's framework choice for the union (`?framework=crosswalked`)
UNION_TARGET = union.TARGET
UNION_LABEL = "All regimes, crosswalked to Seoul"
ROWS_PER_PAGE = 100

deadline_summary = _ui.cached(obligations.deadline_summary)
company_obligations = _ui.cached(obligations.company_obligations)
version_flags = _ui.cached(obligations.version_flags)
union_routes = _ui.cached(union.union_routes)
union_sources = _ui.cached(union.union_sources)
equivalent_evidence = _ui.cached(union.equivalent_evidence)

KIND_WORDS = {"publish-by": "publish by a date", "review-every": "recurring review",
              "change-within": "material change published in time", "update-record": "every update recorded"}
CONFIDENCE_WORDS = {**DATE_CONFIDENCE_LABELS, "ours": "our own judgement, not a sourced fact (provisional)"}


def is_regime(frameworks: list, framework_id: str) -> bool:
    """True for a code of practice or a law (they set clocks and bind), not a voluntary pledge."""
    return any(f.id == framework_id and f.kind in REGIME_KINDS for f in frameworks)


def version_url(source_id: str | None, version_id: int | None) -> str | None:
    """A link to the stored version on the documents page (relative, as the app's other in-page links)."""
    if source_id is None or version_id is None:
        return None
    return "documents?" + urlencode({"source": source_id, "version": str(version_id)})


def status_text(status: str) -> str:
    """A clock status as the tables show it: the word alone (emoji render as empty boxes without an emoji
    font, and the data grid cannot draw the app's own icon font)."""
    return status


def _status_help() -> str:
    return "; ".join(f"{s}: {DEADLINE_STATUS_MEANINGS[s]}" for s in DEADLINE_STATUSES)


# ------------------------------------------------------------------------------------------------ overview


def deadline_table(framework_id: str, as_of: date, company_ids: list[str]) -> None:
    """A regime's clocks on the overview: one row of counts per clock, then every company's row, paged."""
    summary = deadline_summary(framework_id, as_of)
    st.markdown("#### Deadlines")
    if summary.upcoming and summary.applies_from:
        st.info(f"Its duties apply from {summary.applies_from:%d %b %Y}: every clock starts then.",
                icon=":material/schedule:")
    if not summary.deadlines:
        st.caption("This framework sets no dated duty.")
        return
    shown = set(company_ids)
    rows = [row for row in summary.rows if row.company_id in shown]
    counts: dict[str, dict[str, int]] = {d.id: {} for d in summary.deadlines}
    for row in rows:
        counts[row.deadline_id][row.status] = counts[row.deadline_id].get(row.status, 0) + 1
    used = [s for s in DEADLINE_STATUSES if any(c.get(s) for c in counts.values())] or ["met", "missed"]
    st.dataframe(
        [{"Clock": d.label, "What it checks": KIND_WORDS.get(d.kind, d.kind), "From": d.date,
          **{status_text(s): counts[d.id].get(s, 0) for s in used}} for d in summary.deadlines],
        hide_index=True, width="stretch",
        column_config={status_text(s): st.column_config.NumberColumn(status_text(s), width="small",
                                                                     help=DEADLINE_STATUS_MEANINGS[s])
                       for s in used})
    companies = len({row.company_id for row in rows})
    st.caption(f"{companies} compan{'y' if companies == 1 else 'ies'} bound as of {as_of:%d %b %Y} (of those "
               "shown). A status rests on the published versions of each company's framework documents; what goes "
               "to a regulator only is not seen.")
    if summary.declined:
        st.caption("Declined to sign, so not counted: " + ", ".join(
            f"{escape_markdown(name)} ({day:%d %b %Y})" for _, name, day in summary.declined) + ".")
    if not rows:
        return
    with st.expander(f"Every company's clocks ({len(rows)} rows)"):
        wanted = st.multiselect("Status", list(DEADLINE_STATUSES), key="overview:deadline_status",
                                placeholder="any status", format_func=status_text)
        listed = [row for row in rows if not wanted or row.status in wanted]
        pages = max(1, -(-len(listed) // ROWS_PER_PAGE))
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1,
                               key="overview:deadline_page") if pages > 1 else 1
        part = listed[(page - 1) * ROWS_PER_PAGE: page * ROWS_PER_PAGE]
        st.dataframe(_deadline_rows(part, summary.version_sources, with_company=True), hide_index=True,
                     width="stretch", column_config=_deadline_columns())


def _deadline_rows(rows: list, sources: dict[int, str], *, with_company: bool) -> list[dict]:
    return [{**({"Company": row.company} if with_company else {}),
             "Clock": row.label, "Status": status_text(row.status), "Due": row.due,
             "Rests on": row.version_label or "no version", "Version": version_url(sources.get(row.version_id),
                                                                                  row.version_id),
             "Detail": row.detail, "Flags": "; ".join(f.code for f in row.flags)} for row in rows]


def _deadline_columns() -> dict:
    return {"Status": st.column_config.TextColumn("Status", help=_status_help()),
            "Version": st.column_config.LinkColumn("Version", display_text="open",
                                                   help="The stored version the status rests on"),
            "Rests on": st.column_config.TextColumn("Rests on", help="The version the status rests on")}


def union_explainer(target: str, as_of: date) -> None:
    """What feeds each column of the crosswalked grid, and how a link counts."""
    routes = union_routes(target)
    labels = _ui.commitment_labels()
    with st.expander("How the crosswalked levels are built"):
        st.markdown(
            "Each cell is the **best level** the company reaches on the Seoul commitment itself or on any "
            "commitment of the EU Code of Practice, California SB 53 or New York RAISE that the crosswalk links "
            "to it. A link that *asks for the same* or *overlaps* counts as it is; a regime commitment that asks "
            f"for only **a part** of the Seoul commitment counts at most as level {union.PART_CAP} (partial). "
            "Links are followed through 'same' links (RAISE → SB 53 → Seoul). On a tie the Seoul level is shown. "
            "A cell whose level comes from a regime names it after the level (e.g. **2 ✓ EU 4**); the table "
            "under the grid lists them all.")
        for commitment_id, found in routes.items():
            words = ", ".join(
                f"{escape_markdown(labels.get(r.commitment_id, r.commitment_id))} ({r.words}"
                + (f", via {escape_markdown(' → '.join(r.path[:-1]))}" if len(r.path) > 1 else "")
                + ("" if r.reviewed else ", link not yet reviewed") + ")" for r in found)
            st.markdown(f"- **{escape_markdown(labels.get(commitment_id, commitment_id))}** ← "
                        + (words or "no regime commitment"))
        st.page_link(_ui.PAGE_METHODOLOGY, label="Method notes", icon=":material/menu_book:")


def union_sources_table(target: str, as_of: date, *, signatories_only: bool, groups: list[str] | None) -> None:
    """Under the crosswalked grid: every cell whose level a regime gave, with the Seoul level beside it."""
    rows = union_sources(as_of, target=target, signatories_only=signatories_only, groups=groups)
    st.markdown("#### Where the crosswalked levels come from")
    if not rows:
        st.caption("Every level shown is the company's own level on the Seoul commitment.")
        return
    labels = _ui.commitment_labels()
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1,
                           key="overview:union_page") if pages > 1 else 1
    part = rows[(page - 1) * ROWS_PER_PAGE: page * ROWS_PER_PAGE]
    st.dataframe([{
        "Company": r.company, "Seoul": r.number, "Level shown": r.level,
        "Seoul's own level": r.own_level if r.own_assessed else None,
        "From": labels.get(r.source_commitment_id, r.source_commitment_id),
        "Its level": r.source_level, "Link": union.RELATION_WORDS.get(r.coverage, r.coverage),
        "Basis": r.basis} for r in part], hide_index=True, width="stretch",
        column_config={"Seoul's own level": st.column_config.NumberColumn(help="Empty: not assessed or n/a"),
                       "Its level": st.column_config.NumberColumn(help="Before the cap for a part")})
    st.caption(f"{len(rows)} of the cells take their level from a regime commitment.")


# -------------------------------------------------------------------------------------------- company page


def _since_text(obligation: obligations.RegimeObligation) -> str:
    day = f"{obligation.since:%d %b %Y}"
    if obligation.date_precision == "on-or-before":
        day = f"on or before {day}"
    elif obligation.date_precision == "intent":
        day = f"{day} (the day it announced it would sign)"
    return day


def obligations_section(company_id: str, company_name: str, as_of: date) -> None:
    """ "Legal and regime obligations": each regime that binds the company or that it declined, its scope and
    dates, every clock with status, due date and the version it rests on, and the flags on its updates."""
    st.subheader("Legal and regime obligations")
    view = company_obligations(company_id, as_of)
    if not view.regimes:
        st.caption(f"No code of practice or law the tracker follows records {escape_markdown(company_name)} as a "
                   f"signatory, as bound, or as having declined, as of {as_of:%d %b %Y}.")
        return
    for regime in view.regimes:
        with st.container(border=True):
            kind = "code of practice" if regime.kind == "code-of-practice" else "law"
            status = SIGNATURE_STATUS_LABELS.get(regime.status, regime.status)
            if regime.declined:
                line = f":red[**Declined to sign**] on {_since_text(regime)}"
            elif regime.status == "bound":
                verb = "Bound by law from" if regime.in_force else "Will be bound by law from"
                line = f"**{verb}** {_since_text(regime)}"
            else:
                line = f"**Signed** {_since_text(regime)}"
            if regime.scope_title:
                line += f" · scope: **{escape_markdown(regime.scope_title)}**"
            st.markdown(f"**{escape_markdown(regime.short_name)}** ({kind}) — {line}")
            how_sure = [f"date: {CONFIDENCE_WORDS.get(regime.date_confidence, regime.date_confidence)}"]
            if regime.status_confidence:
                how_sure.append(f"that it is {status}: "
                                f"{CONFIDENCE_WORDS.get(regime.status_confidence, regime.status_confidence)}")
            st.caption("How sure: " + "; ".join(escape_markdown(h) for h in how_sure))
            if regime.scope_note:
                st.caption(escape_markdown(regime.scope_note))
            if regime.note:
                st.caption(escape_markdown(regime.note))
            if regime.source_url.startswith(("https://", "http://")):
                st.link_button("Source of this record", regime.source_url, icon=":material/open_in_new:")
            if regime.declined:
                st.caption("A declined code binds nothing, so no clock runs for it.")
                continue
            if not regime.in_force:
                st.caption(f"Its duties start on {regime.since:%d %b %Y}; the clocks are shown from then.")
                continue
            st.dataframe(_deadline_rows(regime.deadlines, view.version_sources, with_company=False),
                         hide_index=True, width="stretch", column_config=_deadline_columns())
            if regime.flags:
                st.markdown(f"**Flags on its published updates** ({len(regime.flags)})")
                for flag in regime.flags[:10]:
                    link = version_url(flag.source_id, flag.version_id)
                    st.markdown(f"- :material/warning: {escape_markdown(flag.version_label)}: {escape_markdown(flag.meaning)} — "
                                f"{escape_markdown(flag.detail)}" + (f" ([version]({link}))" if link else ""))
                    if flag.quote:
                        st.caption(f"“{escape_markdown(flag.quote)}”")
                if len(regime.flags) > 10:
                    st.page_link(_ui.PAGE_CHANGES, label=f"All {len(regime.flags)} flags with the new versions",
                                 icon=":material/difference:", query_params={"company": company_id})
            else:
                st.caption("No update of its documents since the rules began to bind it lacks what they ask.")


# ----------------------------------------------------------------------------------------- commitment page


def measures(commitment: object) -> None:
    """The official sub-items of a commitment (the EU Code's Measures) and the provision it sits in."""
    parts = getattr(commitment, "parts", None) or []
    legal_basis = getattr(commitment, "legal_basis", None)
    if not parts and not legal_basis:
        return
    st.subheader("Measures" if parts else "Legal basis")
    for part in parts:
        st.markdown(f"- **{escape_markdown(str(part.get('number', '')))}** "
                    f"{escape_markdown(str(part.get('title', '')))}")
    if legal_basis:
        st.caption("Legal basis: " + escape_markdown(legal_basis))


def equivalents_section(page: str, commitment_id: str, as_of: date, company_names: dict[str, str],
                        default: str | None) -> None:
    """One company's level and quotes on this commitment and on every crosswalk equivalent, side by side."""
    st.subheader("One company on every equivalent commitment")
    if not company_names:
        st.caption("No company to show yet.")
        return
    company_id = _ui.select_control(page, "company", "Company", list(company_names), default,
                                    format_func=company_names.get, what="company")
    if company_id is None:
        return
    found = equivalent_evidence(commitment_id, company_id, as_of)
    if len(found) <= 1:
        st.caption("The crosswalk links no commitment of another framework to this one.")
    st.caption("This commitment first, then each equivalent in other frameworks (through the crosswalk), with the "
               "level in force and the best quotes it rests on.")
    for item in found:
        cell = item.cell
        level = _ui.level_text(cell.level, cell.basis, cell.score) if cell else "not assessed"
        relation = "this commitment" if item.route is None else item.route.words + (
            "" if item.route.reviewed else " (link not yet reviewed)")
        bound = SIGNATURE_STATUS_LABELS.get(item.signature, item.signature) if item.signature else "not a signatory"
        with st.expander(f"{escape_markdown(item.framework_name)} {escape_markdown(item.commitment.number)}. "
                         f"{escape_markdown(item.commitment.title)} — {escape_markdown(level)}",
                         expanded=item.route is None or bool(item.evidence)):
            st.caption(f"{escape_markdown(relation)} · {escape_markdown(company_names[company_id])}: "
                       f"{escape_markdown(bound)}")
            for quote in item.evidence[:2]:
                _ui.quote(quote, as_of=as_of, level=level)
            if not item.evidence:
                st.caption("No quote: " + ("not assessed by this date." if cell is None else
                                           "the assessed document has no passage on it."))
            _ui.commitment_link(item.commitment.id, "Open this commitment", as_of=as_of)


# -------------------------------------------------------------------------------------------- change feed


def flag_lines(flags: list[obligations.VersionFlag]) -> None:
    """The regime rules a new version does not meet, one caption each."""
    for flag in flags:
        st.caption(f":material/warning: {escape_markdown(flag.framework_name)}: {escape_markdown(flag.meaning)} — "
                   f"{escape_markdown(flag.detail)}")


def flag_summary(flags: list[obligations.VersionFlag]) -> None:
    """One caption for a change card: what the regimes flag on the update the change belongs to."""
    if flags:
        st.caption(":material/warning: This update: " + "; ".join(
            f"{escape_markdown(f.framework_name)}: {escape_markdown(f.meaning)}" for f in flags))
