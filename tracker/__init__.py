"""Commitment Tracker domain: catalog, store, mapping, change analysis, assessments, exports, CLI.

This package never imports Streamlit; the pages in ``app_pages/`` call into it.
"""

__version__ = "0.1.0"
