"""No tracebacks for readers: an unexpected error on a page becomes a plain message and a log line.

`.streamlit/config.toml` sets `client.showErrorDetails = "none"`, and every page runs through `run_page`, so a
bug or an unforeseen input shows a short reference id instead of server paths; the log line with the full
traceback carries the same id. Streamlit's own stop and rerun signals (`st.stop`, `st.rerun`, `st.switch_page`)
derive from BaseException, not Exception, so they pass through untouched.
"""

from __future__ import annotations

import logging
import secrets

import streamlit as st

from tracker.core.errors import TrackerError

log = logging.getLogger("tracker.app")
FAILED_MESSAGE = ("Something went wrong while showing this page. It has been logged under reference {ref}; "
                  "try again, or report the reference to the tracker's maintainers.")


def run_page(page) -> None:
    """Run the page `st.navigation` chose; an error is logged with a reference and shown without details."""
    try:
        page.run()
    except TrackerError as exc:  # the domain's own refusals are written for readers
        st.error(str(exc))
    except Exception:  # anything else is a bug: log it, show no traceback
        ref = secrets.token_hex(4)
        log.exception("page %r failed (reference %s)", getattr(page, "url_path", None) or getattr(page, "title", ""),
                      ref)
        st.error(FAILED_MESSAGE.format(ref=ref))
