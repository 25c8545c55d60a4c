"""Representatives: tell the tracker what your company has done on a commitment, and follow your submissions."""

import pandas as pd
import streamlit as st

from app_pages._account import require_user
from tracker.accounts import selfreports as sr
from tracker.core.config import get_settings
from tracker.core.errors import TrackerError
from tracker.core.work import perform, read_only
from tracker.read.queries import all_commitments
from tracker.store.vocabulary import LEVELS

user = require_user("representative")
st.title("Submit a self-report")
st.caption(f"For {user.company_id}. Readers see approved submissions labelled as company-reported, next to what "
           "the tracker found itself. Your statement is kept exactly as written; your document stays between "
           "you and the reviewers unless the submission is approved.")

commitments = read_only(all_commitments)

with st.form("self_report", clear_on_submit=True):
    commitment_id = st.selectbox("Commitment", [c.id for c in commitments],
                                 format_func=lambda cid: f"{cid}: {next(c.title for c in commitments if c.id == cid)}")
    level = st.selectbox("Level you claim", list(LEVELS), format_func=lambda lv: f"{lv} {LEVELS[lv]}")
    statement = st.text_area("Statement: what has the company done?", max_chars=sr.MAX_STATEMENT_CHARS, height=200)
    urls = st.text_area("Evidence links (one per line)", help=f"At most {sr.MAX_EVIDENCE_URLS} public http(s) links")
    upload = st.file_uploader(f"Optional document (PDF or HTML, at most {get_settings().max_upload_bytes:,} bytes)",
                              type=["pdf", "html", "htm"])
    sent = st.form_submit_button("Submit for review")

if sent:
    try:
        report = perform(sr.submit, user, commitment_id, level, statement,
                         evidence_urls=[line for line in urls.splitlines() if line.strip()],
                         upload=sr.Upload(upload.name, upload.getvalue()) if upload is not None else None)
    except TrackerError as exc:
        st.error(str(exc))
    else:
        if report.upload_status or report.evidence_urls:
            sr.schedule_reading([report.id])  # extraction and link fetching run in the background
            st.success(f"Received as submission #{report.id}. Your document and links are being read; the "
                       "table below shows when they have been read (or why not). A reviewer will then look at it.")
        else:
            st.success(f"Received as submission #{report.id}; a reviewer will look at it.")

# Uploads left waiting by a restart are picked up again (ids already queued are skipped).
sr.schedule_reading(read_only(sr.pending_readings))

st.subheader("Your company's submissions")
reports = read_only(sr.list_submissions, user)
if not reports:
    st.write("None yet.")
else:
    if any(r.upload_status in ("received", "reading") for r in reports):
        st.button("Refresh", key="refresh_status", help="See whether your document has been read")
    st.dataframe(pd.DataFrame([{
        "id": r.id, "commitment": r.commitment_id, "claimed level": r.claimed_level,
        "submitted": r.submitted_at.strftime("%Y-%m-%d %H:%M"), "status": r.status.replace("_", " "),
        "document": (f"{r.upload_filename}: {sr.upload_state(r)}" if r.upload_filename else ""),
        "decision reason": r.decision_reason or "",
    } for r in reports]), hide_index=True, width="stretch")
    undecided = [r.id for r in reports if r.status in ("submitted", "changes_requested")]
    if undecided:
        chosen = st.selectbox("Withdraw an undecided submission", undecided, index=None, placeholder="submission id")
        if chosen is not None and st.button("Withdraw", key="withdraw"):
            try:
                perform(sr.withdraw, user, chosen)
                st.rerun()
            except TrackerError as exc:
                st.error(str(exc))
