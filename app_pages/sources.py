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
        [{"company": s.company_name, "source": s.title, "since": when(s.last_attempt_at),
          "reason": s.last_reason, "HTTP": s.last_http_status, "error": s.last_error,
          "last success": when(s.last_success_at), "failures": s.failures, "url": s.url} for s in failing],
        hide_index=True, width="stretch",
        column_config={"url": st.column_config.LinkColumn(display_text="↗")},
    )

st.subheader("All sources")
st.dataframe(
    [{"status": s.status, "company": s.company_name, "source": s.title, "kind": s.kind,
      "last attempt": when(s.last_attempt_at), "outcome": (s.last_outcome or "").replace("_", " ") or None,
      "last unchanged": when(s.last_unchanged_at), "last success": when(s.last_success_at),
      "versions": s.versions, "newest version": when(s.latest_version_at), "failures": s.failures, "url": s.url}
     for s in view.sources],
    hide_index=True, width="stretch", column_config={"url": st.column_config.LinkColumn(display_text="↗")},
)
st.caption("Status: ok = the last attempt fetched the page (new version, unchanged or not modified); failing = "
           "the last attempt failed; import only = behind a form or login, versions come from imported copies.")

st.subheader("Recent refresh runs")
if not view.runs:
    _ui.empty_state("No refresh has run yet",
                    "Each `python -m tracker refresh` is recorded here with its counts and errors.")
else:
    st.dataframe(
        [{"started": when(r.started_at), "finished": when(r.finished_at), "status": r.status, "trigger": r.trigger,
          **{k: v for k, v in (r.counts or {}).items() if isinstance(v, int | float | str)},
          "errors": len(r.errors or [])} for r in view.runs],
        hide_index=True, width="stretch",
    )
