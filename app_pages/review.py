"""Review workbench: every automatic judgement awaiting a person, ranked, each decided in place with a reason.

One form per item, so a reviewer clears the queue without leaving the page; after each decision the page
confirms it and the item leaves the queue (a weakening stays public as automatic until a second reviewer
agrees). Self-reports keep their own form (approve, reject, request changes). Every check of who may do what
is in `tracker.accounts.reviews` / `selfreports`; this page only renders and passes the signed-in user.
"""

from __future__ import annotations

from urllib.parse import quote as urlquote

import streamlit as st

from app_pages._account import require_user
from tracker.accounts import reviews as rv
from tracker.accounts import selfreports as sr
from tracker.core.errors import TrackerError
from tracker.core.work import perform, read_only
from tracker.read.text import escape_markdown
from tracker.store.vocabulary import (
    ANNOUNCEMENT_LABELS,
    ANNOUNCEMENT_STATES,
    DIRECTION_LABELS,
    DIRECTIONS,
    DISMISS_REASONS,
    level_label,
)

PAGE_SIZE = 10
CONFIRMATION_KEY = "review_confirmation"
KIND_TITLES = {"change": "Weakening to check", "level": "Level suggestion", "announcement": "Announced or silent?",
               "self-report": "Self-report"}
STATUS_NOTES = {"awaiting-second": "One reviewer decided; a second, different reviewer must agree.",
                "adjudication": "The reviewers disagree: as admin, your decision settles it."}

user = require_user("reviewer", "admin")
st.title("Review workbench")
confirmation = st.session_state.pop(CONFIRMATION_KEY, None)
if confirmation:
    st.success(confirmation)

items = read_only(rv.queue, user)
if not items:
    st.write("Nothing is waiting for review.")
    st.stop()
counts = {kind: sum(i.kind == kind for i in items) for kind in KIND_TITLES}
st.caption(f"{len(items)} item(s) await your decision: " + ", ".join(
    f"{n} {KIND_TITLES[k].lower()}" for k, n in counts.items() if n) + f". Showing the first {min(PAGE_SIZE, len(items))}.")


def _link(label: str, url: str | None) -> str:
    """A Markdown link to a document; only http(s) and the app's own relative links, percent-encoded."""
    if not url:
        return ""
    if not (url.startswith(("https://", "http://")) or url.startswith("documents?")):
        return ""
    return f"[{label}](<{urlquote(url, safe=':/?&=#%.,~+-_@')}>)"


def _done(message: str) -> None:
    st.session_state[CONFIRMATION_KEY] = message
    st.rerun()


def _self_report(item: rv.QueueItem) -> None:
    report_id = int(item.id.split("-", 1)[1])
    context = read_only(sr.review_context, user, report_id)
    report = context.report
    claim, checked = st.columns(2)
    with claim:
        st.markdown("**What the company says**")
        st.caption(f"{escape_markdown(context.company.name)} on {escape_markdown(context.commitment.id)} "
                   f"({escape_markdown(context.commitment.title)}); submitted {report.submitted_at:%Y-%m-%d %H:%M} UTC")
        st.metric("Claimed level", f"{report.claimed_level} {level_label(report.claimed_level)}")
        st.text(report.statement)
        for url in report.evidence_urls:
            outcome = next((o for o in report.evidence_fetches if o["url"] == url), None)
            status = "not fetched yet" if outcome is None else (
                f"fetched as version {outcome['version_id']}" if outcome["outcome"] != "failed"
                else f"fetch failed ({outcome['reason']}): {outcome['message']}")
            st.text(f"Link: {url}\n{status}")
        if context.upload_version is not None:
            version = context.upload_version
            st.text(f"Uploaded {report.upload_filename} ({version.format}, {version.char_count:,} characters, "
                    f"version {version.id})")
            with st.expander("Text of the uploaded document"):
                st.text((version.text or "")[:20_000])
    with checked:
        st.markdown("**What the tracker found**")
        if context.current is None:
            st.write("No level recorded yet.")
        else:
            current = context.current
            st.metric(f"Current level ({current.basis})", f"{current.level} {level_label(current.level)}"
                      if current.level is not None else level_label(None))
            st.text(current.rationale)
        if not context.evidence:
            st.write("No evidence passages in the company's watched documents.")
        for evidence in context.evidence:
            st.caption(f"{escape_markdown(evidence.source_title)} · "
                       f"{escape_markdown(str(evidence.version_label or evidence.published_on or 'undated'))} · "
                       f"{escape_markdown(evidence.section or 'no section')} · score {evidence.score:.2f}")
            st.text(evidence.quote)
    with st.form(f"decision-{item.id}"):
        decision = st.radio("Decision", list(sr.DECISIONS), horizontal=True, key=f"sr-decision-{item.id}",
                            format_func=lambda d: {"approve": "Approve", "reject": "Reject",
                                                   "request_changes": "Request changes"}[d])
        verified = st.checkbox("I verified the claim against independent evidence (the level becomes 'reviewed')",
                               key=f"sr-verified-{item.id}")
        reason = st.text_area("Reason (shown with the submission)", key=f"sr-reason-{item.id}")
        decided = st.form_submit_button("Record decision")
    if decided:
        try:
            perform(sr.decide, user, report.id, decision, reason, verified=verified)
        except TrackerError as exc:
            st.error(str(exc))
        else:
            _done(f"Submission #{report.id}: {sr.DECISIONS[decision].replace('_', ' ')}.")


def _judgement(item: rv.QueueItem) -> None:
    if item.status in STATUS_NOTES:
        st.info(STATUS_NOTES[item.status] + (f" Decided so far by {', '.join(item.reviewers)}: "
                                             if item.reviewers else ""), icon="ℹ️")
        if item.rationale:
            st.text(item.rationale)
    links = " · ".join(filter(None, [_link("Live document ↗", item.live_url),
                                     _link("This version's address ↗", item.version_url),
                                     _link("Web archive ↗", item.web_archive), _link("Stored copy", item.archived),
                                     _link("Previous stored copy", item.old_archived)]))
    if links:
        st.markdown(links)
    if item.kind == "level":
        before = (f"{item.level_in_force} {level_label(item.level_in_force)}" if item.level_in_force is not None
                  else "no level before")
        confidence = "" if item.confidence is None else f" (confidence {item.confidence:.2f})"
        st.markdown(f"Suggested **{escape_markdown(str(item.level))} {escape_markdown(level_label(item.level))}**"
                    f"{confidence} from {item.on}; in force before: {escape_markdown(before)}.")
        if item.rationale:
            st.text(item.rationale)
        for text in item.evidence:
            st.text("“" + text + "”")
    else:
        suggestion = f"{DIRECTION_LABELS.get(item.direction or '', item.direction)}; " \
                     f"{ANNOUNCEMENT_LABELS.get(item.announced or '', item.announced)}"
        probability = "" if item.probability is None else f" (probability {item.probability:.0%})"
        st.markdown(f"Call on the table: **{escape_markdown(suggestion)}**{probability}")
        before, after = st.columns(2)
        before.caption("Before")
        before.text(item.old_quote or "(not in the previous version)")
        after.caption("After")
        after.text(item.new_quote or "(not in the new version)")
        if item.reasons:
            st.text("Reasons: " + "; ".join(item.reasons))
    with st.form(f"decision-{item.id}"):
        if item.kind == "level":
            options = ["confirm", "level"]
            labels = {"confirm": "Confirm the suggested level", "level": "Correct the level"}
        else:
            options = ["confirm", "direction", "announced", "dismiss"]
            labels = {"confirm": "Confirm", "direction": "Correct the direction", "announced": "Correct the "
                      "announcement", "dismiss": "Not a change (dismiss)"}
        action = st.radio("Decision", options, horizontal=True, format_func=labels.get, key=f"action-{item.id}")
        cols = st.columns(3)
        level = quote = direction = announced = dismiss_reason = None
        if item.kind == "level":
            level = cols[0].selectbox("Level", [0, 1, 2, 3], index=item.level if item.level in (0, 1, 2, 3) else 0,
                                      format_func=lambda n: f"{n} {level_label(n)}", key=f"level-{item.id}")
            quote = cols[1].selectbox("Quote from the document", ["(none)", *item.evidence], key=f"quote-{item.id}")
        else:
            direction = cols[0].selectbox("Direction", DIRECTIONS, format_func=DIRECTION_LABELS.get,
                                          index=DIRECTIONS.index(item.direction) if item.direction in DIRECTIONS
                                          else 0, key=f"direction-{item.id}")
            announced = cols[1].selectbox("Announcement", ANNOUNCEMENT_STATES,
                                          index=ANNOUNCEMENT_STATES.index(item.announced)
                                          if item.announced in ANNOUNCEMENT_STATES else 0, key=f"announced-{item.id}")
            dismiss_reason = cols[2].selectbox("Why not a change", DISMISS_REASONS, key=f"dismiss-{item.id}")
        reason = st.text_area("Reason (public, in the corrections log when it changes the call)", key=f"reason-{item.id}")
        decided = st.form_submit_button("Record decision")
    if decided:
        reason = reason.strip() or (dismiss_reason if action == "dismiss" else "")
        kwargs: dict = {"reason": reason}
        if action == "confirm":
            kwargs["confirm"] = True
        elif action == "level":
            kwargs |= {"level": level, "quote": None if quote in (None, "(none)") else quote}
        elif action == "direction":
            kwargs["direction"] = direction
        elif action == "announced":
            kwargs["announced"] = announced
        else:
            kwargs["dismiss"] = True
        try:
            result = perform(rv.decide, user, item.id, **kwargs)
        except TrackerError as exc:
            st.error(str(exc))
        else:
            _done(result.message)


for item in items[:PAGE_SIZE]:
    with st.container(border=True):
        commitments = ", ".join(item.commitments) or "no commitment mapped"
        st.markdown(f"**{KIND_TITLES[item.kind]}** · {escape_markdown(item.company_name)} · "
                    f"{escape_markdown(commitments)} · `{item.id}`")
        if item.kind == "self-report":
            _self_report(item)
        else:
            _judgement(item)
