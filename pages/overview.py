"""Overview: companies × commitments of a framework as of a date."""

from datetime import date

import streamlit as st
from sqlmodel import Session

from tracker.db import get_engine
from tracker.queries import overview

st.title("Commitment Tracker")
with Session(get_engine()) as session:
    view = overview(session, "seoul-2024", date.today())
frame = view.frame()
st.caption(f"{view.framework.name}: {len(view.companies)} signatories, {len(view.commitments)} commitments")
st.dataframe(frame.pivot(index="company", columns="commitment", values="level"), use_container_width=True)
