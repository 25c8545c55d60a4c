"""Sources health: the last attempt per source, failures with reasons, last seen unchanged, recent runs."""

from __future__ import annotations

import streamlit as st

from app_pages import _ui

st.title("Sources health")
st.caption("Every watched URL, how the last fetch went and when it was last seen unchanged. A failing source "
           "keeps its stored versions; its levels simply stop being updated until it is fetched again.")
view = _ui.sources_health()
if not view.sources:
    _ui.empty_state("No sources in the catalog", "Sources are listed in data/sources/*.yaml and loaded by `init`.")
    st.stop()

statuses = [s.status for s in view.sources]
metrics = st.columns(4)
metrics[0].metric("Sources", len(view.sources))
metrics[1].metric("OK", statuses.count("ok"))
metrics[2].metric("Failing", statuses.count("failing"))
metrics[3].metric("Never fetched", statuses.count("never fetched"))


def when(value) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


failing = view.failing()
st.subheader("Failing now")
if not failing:
    st.success("No source failed on its last attempt." if "ok" in statuses else
               "No fetch has been attempted yet: run `python -m tracker refresh` to check every source.")
else:
    st.dataframe(
        [{"Company": s.company_name, "Document": s.title, "Failing since": when(s.last_attempt_at),
          "Reason": s.last_reason, "HTTP status": s.last_http_status, "Error": s.last_error,
          "Last success": when(s.last_success_at), "Failures": s.failures, "Address": s.url} for s in failing],
        hide_index=True, width="stretch",
        column_config={"Address": st.column_config.LinkColumn(display_text="open")},
    )

st.subheader("All sources")
st.dataframe(
    [{"Status": s.status, "Company": s.company_name, "Document": s.title, "Kind": s.kind.replace("-", " "),
      "Last attempt": when(s.last_attempt_at), "Outcome": (s.last_outcome or "").replace("_", " ") or None,
      "Last seen unchanged": when(s.last_unchanged_at), "Last success": when(s.last_success_at),
      "Versions stored": s.versions, "Newest version": when(s.latest_version_at), "Failures": s.failures,
      "Address": s.url}
     for s in view.sources],
    hide_index=True, width="stretch", column_config={"Address": st.column_config.LinkColumn(display_text="open")},
)
st.caption("Status: ok = the last attempt fetched the page (new version, unchanged or not modified); failing = "
           "the last attempt failed; import only = behind a form or login, versions come from imported copies.")

st.subheader("Recent refresh runs")
if not view.runs:
    _ui.empty_state("No refresh has run yet",
                    "Each `python -m tracker refresh` is recorded here with its counts and errors.")
else:
    st.dataframe(
        [{"Started": when(r.started_at), "Finished": when(r.finished_at), "Status": r.status,
          "Started by": r.trigger,
          **{k.replace("_", " ").capitalize(): v for k, v in (r.counts or {}).items()
             if isinstance(v, int | float | str)},
          "Errors": len(r.errors or [])} for r in view.runs],
        hide_index=True, width="stretch",
    )
