"""Public: approved company self-reports, labelled as claims, with the reviewers' decision (`?id=N` for one)."""

import pandas as pd
import streamlit as st

from tracker.accounts import selfreports as sr
from tracker.core.work import read_only
from tracker.store.vocabulary import level_label

BASIS_LABELS = {
    "self-reported": "Company-reported: accepted by a reviewer, not independently verified",
    "reviewed": "Company-reported and verified by a reviewer against independent evidence",
}

raw_id = st.query_params.get("id")
if raw_id is None:
    st.title("Company submissions")
    st.caption("What companies told the tracker about their own commitments, after review. These are claims; "
               "the tracker's own findings are on the other pages.")
    items = read_only(sr.public_submissions)
    if not items:
        st.write("No approved submissions yet.")
    else:
        st.dataframe(pd.DataFrame([{
            "link": sr.submission_path(p.id), "company": p.company_name, "commitment": p.commitment_id,
            "claimed level": p.claimed_level, "basis": p.basis, "decided": p.decided_on,
        } for p in items]), hide_index=True, width="stretch",
            column_config={"link": st.column_config.LinkColumn("submission", display_text=r"id=(\d+)")})
    st.stop()
item = read_only(sr.public_submission, int(raw_id)) if raw_id.isdigit() else None

if item is None:
    st.title("Company submission")
    st.warning("There is no approved submission with this id.")
    st.stop()

st.title(f"{item.company_name} on {item.commitment_id}")
st.caption(item.commitment_title)
st.info(BASIS_LABELS.get(item.basis, item.basis), icon="🏷️")
st.metric("Level claimed by the company", f"{item.claimed_level} {level_label(item.claimed_level)}")
st.subheader("The company's statement (verbatim)")
st.text(item.statement)
if item.evidence_urls:
    st.subheader("Links the company gave")
    st.text("\n".join(item.evidence_urls))
if item.upload_filename:
    st.text(f"Attached document: {item.upload_filename}")
st.subheader("Decision")
st.text(f"Submitted {item.submitted_on}, approved {item.decided_on}"
        + (f", counts from {item.valid_from}" if item.valid_from else ""))
st.text(item.decision_reason)
