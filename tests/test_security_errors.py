"""No tracebacks for readers: a page that fails unexpectedly shows a plain message with a reference id (and no
server path), the log keeps the traceback under the same id, and Streamlit's stop/rerun still work."""

from __future__ import annotations

import logging
import re

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import _ui
from tracker.core.config import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
SERVER_PATH = "/srv/tracker/app/tracker/read/queries.py"


def _shown(app: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("error", "markdown", "caption", "info", "warning", "text")
                     for e in getattr(app, kind))


def test_a_page_raising_shows_a_reference_and_no_traceback(engine, use_database, monkeypatch, caplog):
    use_database(engine)

    def broken(*args, **kwargs):
        raise RuntimeError(f"unexpected failure in {SERVER_PATH}, line 42")

    monkeypatch.setattr(_ui, "frameworks", broken)  # the overview page's first read
    caplog.set_level(logging.ERROR, logger="tracker.app")
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, "the reader saw a traceback"
    shown = _shown(app)
    assert SERVER_PATH not in shown and "Traceback" not in shown and "RuntimeError" not in shown
    ref = re.search(r"reference ([0-9a-f]{8})", app.error[0].value)
    assert ref, app.error[0].value
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and SERVER_PATH in str(logged[0].exc_info[1])


def test_streamlit_control_flow_passes_through_the_wrapper():
    script = """
import streamlit as st
from app_pages._errors import run_page

def stopping():
    st.write("before stop")
    st.stop()
    st.write("after stop")

run_page(st.navigation([st.Page(stopping, title="Stopping", url_path="stopping")]))
"""
    app = AppTest.from_string(script, default_timeout=30)
    app.run()
    assert not app.exception and not app.error
    assert [m.value for m in app.markdown] == ["before stop"]


@pytest.mark.parametrize("message", ["unknown company 'x'"])
def test_domain_refusals_are_shown_as_written(message):
    script = f"""
import streamlit as st
from app_pages._errors import run_page
from tracker.core.errors import NotFoundError

def refusing():
    raise NotFoundError({message!r})

run_page(st.navigation([st.Page(refusing, title="Refusing", url_path="refusing")]))
"""
    app = AppTest.from_string(script, default_timeout=30)
    app.run()
    assert not app.exception and [e.value for e in app.error] == [message]
