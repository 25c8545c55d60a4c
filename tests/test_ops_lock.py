"""Scheduled refresh: two `python -m tracker refresh` processes never run at once; dead runs are marked.

These start real processes against the same database (SQLite file or PostgreSQL test database). The fake web
server holds its answer to the first run until the test lets it go, so the runs overlap the way two cron
firings would, however slowly the machine starts processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

from sqlmodel import Session, select

from tests.fakeweb import FakeWeb, Reply
from tracker.core.config import PROJECT_ROOT
from tracker.core.locks import refresh_lock
from tracker.ingest.refresh import reconcile_runs
from tracker.store import models as m


def page(body: str) -> bytes:
    return f"<html><body><main>{body}</main></body></html>".encode()


def held_until(release: threading.Event, reply: Reply):
    """A reply the fake server sends only once `release` is set (the run that asked stays mid-fetch)."""

    def answer(_hit) -> Reply:
        release.wait(60)
        return reply

    return answer


def watch_only(engine, url: str) -> None:
    """One active source (anthropic-rsp) pointed at the fake web; every other source switched off."""
    with Session(engine) as session:
        for source in session.exec(select(m.Source)):
            source.active = source.id == "anthropic-rsp"
            if source.active:
                source.url, source.adapter, source.format = url, "document", "html"
        session.commit()


def start_refresh(url: str, tmp_path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "TRACKER_RAW_STORE": str(tmp_path / "raw"),
           "TRACKER_ENV": "test", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "tracker", "refresh", *extra], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_hit(web: FakeWeb, path: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(web.hits(path)) < count:
        assert time.monotonic() < deadline, f"no request for {path} within {timeout}s"
        time.sleep(0.05)


def runs(engine) -> list[m.RefreshRun]:
    with Session(engine) as session:
        return list(session.exec(select(m.RefreshRun).order_by(m.RefreshRun.id)))


def test_two_concurrent_refresh_processes_one_runs_the_other_exits_3_or_waits(engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    release = threading.Event()
    document = Reply(body=page("<h2>Thresholds</h2><p>We will evaluate every frontier model against "
                               "capability thresholds before deployment.</p>"))
    with FakeWeb() as web:
        web.route("/policy", held_until(release, document), document)
        watch_only(engine, web.url("/policy"))
        first = start_refresh(url, tmp_path)
        wait_for_hit(web, "/policy")  # the first run holds the lock and is mid-fetch

        second = start_refresh(url, tmp_path)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 3, (out, err)
        assert "refresh skipped: another refresh is running" in err
        assert "--wait" in err
        assert first.poll() is None  # the second gave up while the first was still running

        waiting = start_refresh(url, tmp_path, "--wait")
        time.sleep(1.0)
        assert waiting.poll() is None and len(web.hits("/policy")) == 1  # waiting for the lock, not fetching
        release.set()
        out, err = first.communicate(timeout=60)
        assert first.returncode == 0, (out, err)
        assert "1 new" in out
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, (out, err)
        assert "0 new, 1 unchanged" in out

    assert len(web.hits("/policy")) == 2  # the first run and the waiting run; the skipped one fetched nothing
    done = runs(engine)
    assert [r.status for r in done] == ["finished", "finished"]
    assert done[1].started_at >= done[0].finished_at  # the waiting run started after the first finished
    with Session(engine) as session:
        assert len(session.exec(select(m.DocumentVersion)).all()) == 1


def test_a_killed_refresh_releases_the_lock_and_is_marked_interrupted(engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    release = threading.Event()
    document = Reply(body=page("<p>We will publish our safety framework.</p>"))
    with FakeWeb() as web:
        web.route("/policy", held_until(release, document), document)
        watch_only(engine, web.url("/policy"))
        victim = start_refresh(url, tmp_path)
        wait_for_hit(web, "/policy")
        os.kill(victim.pid, signal.SIGKILL)  # no finally block runs: the run row stays 'running'
        victim.communicate(timeout=30)
        release.set()
        assert [r.status for r in runs(engine)] == ["running"]

        after = start_refresh(url, tmp_path)  # the lock died with the process: this run is not blocked
        out, err = after.communicate(timeout=60)
        assert after.returncode == 0, (out, err)
        assert "marked interrupted" in err
    killed, finished = runs(engine)
    assert (killed.status, finished.status) == ("interrupted", "finished")
    assert killed.finished_at is not None and killed.errors[-1]["reason"] == "interrupted"


def test_reconcile_leaves_a_live_run_alone_and_marks_a_dead_one(engine):
    with Session(engine) as session:
        session.add(m.RefreshRun(started_at=datetime(2026, 1, 1, tzinfo=UTC), host="gone:1"))
        session.commit()
    holding, release = threading.Event(), threading.Event()

    def live_run() -> None:
        with refresh_lock(engine):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=live_run)
    holder.start()
    try:
        assert holding.wait(10)
        assert reconcile_runs(engine) == []  # someone holds the lock: a 'running' row may be alive
        assert [r.status for r in runs(engine)] == ["running"]
    finally:
        release.set()
        holder.join(10)
    marked = reconcile_runs(engine)
    assert marked == [runs(engine)[0].id]
    assert runs(engine)[0].status == "interrupted"
    assert runs(engine)[0].finished_at == datetime(2026, 1, 1, tzinfo=UTC)  # no fetch: last sign of life
