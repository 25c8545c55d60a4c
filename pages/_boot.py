"""Imported first by every page: make sure a page never runs without app.py around it.

Streamlit (1.67) runs files in a `pages/` folder directly, the old multipage way, until the entry script has
called `st.navigation` once in the process. A shared link opened as the very first request after a start would
then run the page without app.py: no database set-up, the wrong sidebar. Switching the flag off and re-running
sends that request through app.py, which resolves the same page by its URL path.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
