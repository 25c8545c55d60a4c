"""Reviewers: each pending claim beside the tracker's own evidence and current level; decide with a reason."""

import streamlit as st

from app_pages._account import require_user
from tracker.accounts import selfreports as sr
from tracker.core.errors import TrackerError
from tracker.core.work import perform, read_only
from tracker.store.vocabulary import level_label

user = require_user("reviewer", "admin")
st.title("Review queue")

pending = read_only(sr.list_submissions, user, status="submitted")
if not pending:
    st.write("Nothing is waiting for review.")
    st.stop()

choice = st.selectbox("Submission", [r.id for r in pending],
                      format_func=lambda rid: next(f"#{r.id} {r.company_id} · {r.commitment_id} · claims "
                                                   f"{r.claimed_level}" for r in pending if r.id == rid))
context = read_only(sr.review_context, user, choice)
report = context.report

claim, checked = st.columns(2)
with claim:
    st.subheader("What the company says")
    st.caption(f"{context.company.name} on {context.commitment.id} ({context.commitment.title}); submitted "
               f"{report.submitted_at:%Y-%m-%d %H:%M} UTC")
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
    st.subheader("What the tracker found")
    if context.current is None:
        st.write("No level recorded yet.")
    else:
        current = context.current
        st.metric(f"Current level ({current.basis})", f"{current.level} {level_label(current.level)}"
                  if current.level is not None else level_label(None))
        st.text(current.rationale)
    if not context.evidence:
        st.write("No evidence passages in the company's watched documents.")
    for item in context.evidence:
        st.caption(f"{item.source_title} · {item.version_label or item.published_on or 'undated'} · "
                   f"{item.section or 'no section'} · score {item.score:.2f}")
        st.text(item.quote)

st.subheader("Decision")
with st.form("decision"):
    decision = st.radio("Decision", list(sr.DECISIONS), horizontal=True,
                        format_func=lambda d: {"approve": "Approve", "reject": "Reject",
                                               "request_changes": "Request changes"}[d])
    verified = st.checkbox("I verified the claim against independent evidence (the level becomes 'reviewed')")
    reason = st.text_area("Reason (shown with the submission)")
    decided = st.form_submit_button("Record decision")
if decided:
    try:
        perform(sr.decide, user, report.id, decision, reason, verified=verified)
        st.success(f"Submission #{report.id}: {sr.DECISIONS[decision].replace('_', ' ')}.")
        st.rerun()
    except TrackerError as exc:
        st.error(str(exc))
