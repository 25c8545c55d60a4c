"""Imported first by every page: a page must work even when Streamlit runs it without app.py.

Streamlit (1.67) runs files in a `pages/` folder directly, the old multipage way, until the entry script has
called `st.navigation` once in the process. A shared link opened as the very first request after a start then
runs the page alone (with Streamlit's file-name sidebar for that one view), so the database is prepared here
too. Known limit: switching that mode off from here broke widget callbacks in later sessions, so we do not.
Importing this module outside a running app (tests collecting page helpers) does nothing.
"""

from streamlit.runtime.scriptrunner import get_script_run_ctx

from tracker.bootstrap import ensure_initialized

if get_script_run_ctx(suppress_warning=True) is not None:
    ensure_initialized()
