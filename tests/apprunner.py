"""Start the Streamlit app on a free local port against a given database, for browser tests.

    with run_app(database_url) as base_url:
        page.goto(base_url)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tracker.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def run_app(database_url: str, env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """`streamlit run app.py` on 127.0.0.1:<free port>; yields its base URL once /_stcore/health answers."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "TRACKER_ENV": "test", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the app exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                if requests.get(f"{base_url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not answer on {base_url} within {timeout}s")
            time.sleep(0.3)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
