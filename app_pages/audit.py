"""Admins: every change to assessments, submissions and accounts (who, when, before, after), with downloads."""

import pandas as pd
import streamlit as st

from app_pages._account import require_user
from tracker.accounts.audit import audit_entries, entry_dict, export_audit
from tracker.core.work import read_only

user = require_user("admin")
st.title("Audit log")
entity = st.selectbox("Entries about", ["all", "assessment", "selfreport", "user"])
filters = {} if entity == "all" else {"entity_type": entity}
entries = read_only(audit_entries, user, **filters)
csv_text = read_only(export_audit, user, "csv", **filters)
json_text = read_only(export_audit, user, "json", **filters)
st.caption(f"{len(entries)} entries, newest first.")
if entries:
    frame = pd.DataFrame([entry_dict(entry) for entry in entries])
    for column in ("before", "after"):
        frame[column] = frame[column].map(lambda value: "" if value is None else str(value))
    st.dataframe(frame, hide_index=True, width="stretch")
left, right = st.columns(2)
left.download_button("Download CSV", csv_text, file_name="audit-log.csv", mime="text/csv")
right.download_button("Download JSON", json_text, file_name="audit-log.json", mime="application/json")
