"""Start the real app (`streamlit run app.py`) against a test database, for browser tests.

Usage: `with running_app(database_url, raw_store) as base_url: page.goto(base_url + "/overview")`. The server
runs headless on a free port of 127.0.0.1 and is stopped (its whole process group) when the block exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(database_url: str, raw_store: Path, *, timeout: float = 60.0, env: dict | None = None,
                script: str = "app.py") -> Iterator[str]:
    """Yield the base URL of a running app; raise RuntimeError with the server's output if it never starts.

    `script="serve.py"` runs the production entry point (st.App with the sign-in cookie routes)."""
    port = free_port()
    environment = {
        **os.environ, "DATABASE_URL": database_url, "TRACKER_RAW_STORE": str(raw_store), "TRACKER_ENV": "test",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {}),
    }
    log = raw_store.parent / f"streamlit-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start within {timeout}s:\n{log.read_text(errors='replace')}")
            time.sleep(0.3)
        yield base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
