"""Production entry point: `streamlit run serve.py` (or `uvicorn serve:app`).

The same app as `streamlit run app.py`, served as an ASGI `st.App` with the two routes that set and clear the
HttpOnly sign-in cookie (app_pages/_cookie.py), so a signed-in user stays signed in across reloads.
"""

import streamlit as st

from app_pages._cookie import routes

app = st.App("app.py", routes=routes())
