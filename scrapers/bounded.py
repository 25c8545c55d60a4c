"""Text extraction with a time and a memory limit, for bytes that came from outside (fetched pages, uploads).

A 9 KB PDF can inflate to megabytes of content stream and cost many CPU seconds; megabytes of tiny HTML
elements cost a minute and a gigabyte. So `extract_bounded` runs `scrapers.extract.extract` in a worker
process with resource limits (RLIMIT_CPU, RLIMIT_AS) and a wall-clock timeout. A document that breaks a
limit is refused with a stable reason (`extraction_timeout`, `extraction_memory`, `extraction_failed`);
the caller's process never hangs, swells or shows a traceback.

Workers are started once (a fresh `python -m scrapers.bounded`: safe in a process with threads, and
independent of the parent's `__main__`, unlike multiprocessing's spawn) and reused, so a normal document
pays only for sending its bytes to the worker and its text back; a worker that broke a limit is replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from scrapers.capture import FetchError
from scrapers.extract import MAX_HTML_ELEMENTS, Extracted

MiB = 1024 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """Settings for bounded extraction. `memory_bytes` caps the worker's whole address space (Python and
    the parsers take ~150 MB of it before reading anything); `cpu_seconds` is CPU time for one document,
    `wall_seconds` real time for it (covers a worker that sleeps or is starved)."""

    cpu_seconds: float = 30.0
    wall_seconds: float = 60.0
    memory_bytes: int = 1024 * MiB
    max_html_elements: int | None = MAX_HTML_ELEMENTS
    workers: int = 2  # worker processes of the shared pool (only the first call's value counts)
    start_timeout: float = 60.0  # for a new worker to import the parsers


DEFAULT_LIMITS = ExtractLimits()


def extract_bounded(
    body: bytes, content_type: str, url: str, limits: ExtractLimits | None = None
) -> Extracted:
    """`extract` in a worker process with CPU, memory and wall-clock limits. Raises FetchError with the
    reasons of `extract`, or `extraction_timeout`, `extraction_memory` or `extraction_failed`."""
    limits = limits or DEFAULT_LIMITS
    return _pool(limits.workers).run(body, content_type, url, limits)


def shutdown_pool() -> None:
    """Stop the idle worker processes. (Workers also end by themselves when this process ends: their
    command pipe closes.)"""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.close()


# ---------------------------------------------------------------------------------------------- worker side


def _worker_main(conn: _Channel) -> None:
    """Loop: receive (body, content_type, url, limits), extract under limits, send back the outcome.
    Without the `resource` module (not Unix) only the parent's wall-clock limit applies."""
    from scrapers.extract import extract

    try:
        import resource
    except ImportError:
        resource = None
    if resource is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU must not write a core file
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        body, content_type, url, limits = job
        if resource is not None:
            _set_limits(resource, limits)
        try:
            outcome: tuple[str, Any] = ("ok", extract(body, content_type, url, limits.max_html_elements))
        except FetchError as exc:
            outcome = ("error", exc.as_dict())
        except MemoryError:
            outcome = ("memory", None)
        except RecursionError:
            outcome = ("error", FetchError("too_complex", f"{url}: the document is nested too deeply to be "
                                           "read; it is refused.", url=url).as_dict())
        except Exception as exc:  # a parser bug on one document is that document's failure
            outcome = ("error", FetchError("internal_error", f"{url}: unexpected {type(exc).__name__} while "
                                           f"extracting text: {str(exc)[:300]}", url=url).as_dict())
        body = b""
        if resource is not None:
            _clear_limits(resource)
        conn.send(outcome)
        if outcome[0] == "memory":
            return  # the heap may be fragmented or half-built: start afresh


def _set_limits(resource: Any, limits: ExtractLimits) -> None:
    if limits.cpu_seconds:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(usage.ru_utime + usage.ru_stime + limits.cpu_seconds) + 1  # RLIMIT_CPU is cumulative
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    if limits.memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = max(limits.memory_bytes, _address_space() + 64 * MiB)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _clear_limits(resource: Any) -> None:
    for kind in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        _, hard = resource.getrlimit(kind)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (hard, hard))


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# ---------------------------------------------------------------------------------------------- parent side


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: _Channel


class _Pool:
    """A few reusable worker processes; a caller takes an idle one (or starts one, up to `size`) and waits
    when all are busy. The wall-clock limit counts from when the worker has the document."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.pid = os.getpid()
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()

    def run(self, body: bytes, content_type: str, url: str, limits: ExtractLimits) -> Extracted:
        worker = self._acquire(limits, url)
        reusable = False
        try:
            started = time.monotonic()
            try:
                worker.conn.send((body, content_type, url, limits))
                ready = worker.conn.poll(limits.wall_seconds)
            except (OSError, EOFError):
                ready = True  # the worker is gone: recv below says how
            if not ready:
                raise FetchError(
                    "extraction_timeout",
                    f"{url}: extracting the text took more than {limits.wall_seconds:g}s and was stopped; the "
                    "document is refused (a decompression bomb or a pathologically complex document).",
                    url=url, bytes_received=len(body), duration_ms=_ms(started),
                )
            try:
                kind, payload = worker.conn.recv()
            except (EOFError, OSError):
                raise self._death(worker, url, body, limits, started) from None
            if kind == "ok":
                reusable = True
                return payload
            if kind == "memory":
                raise _memory_error(url, body, limits, started)
            reusable = True
            error = FetchError(payload["reason"], payload["message"], url=payload["url"] or url,
                               bytes_received=payload["bytes_received"] or len(body))
            raise error
        finally:
            self._release(worker, reusable)

    def _death(self, worker: _Worker, url: str, body: bytes, limits: ExtractLimits, started: float) -> FetchError:
        try:
            code = worker.process.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and -code in (signal.SIGXCPU, signal.SIGKILL):
            return FetchError(
                "extraction_timeout",
                f"{url}: extracting the text used more than {limits.cpu_seconds:g} CPU seconds and was stopped; "
                "the document is refused (a decompression bomb or a pathologically complex document).",
                url=url, bytes_received=len(body), duration_ms=_ms(started),
            )
        if code is not None and -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
            # Parsers written in C abort or crash when an allocation fails under the memory limit.
            return _memory_error(url, body, limits, started, crashed=f" (the worker ended with signal {-code})")
        return FetchError(
            "extraction_failed",
            f"{url}: the extraction worker ended unexpectedly (exit code {code}); the document is refused.",
            url=url, bytes_received=len(body), duration_ms=_ms(started),
        )

    def _acquire(self, limits: ExtractLimits, url: str) -> _Worker:
        with self._cond:
            while not self._idle and self._count >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return self._start(limits)
        except BaseException as exc:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            if isinstance(exc, FetchError):
                exc.url = url
                raise
            raise FetchError("extraction_failed", f"{url}: could not start an extraction worker ({exc}).",
                             url=url) from None

    def _start(self, limits: ExtractLimits) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "scrapers.bounded", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=env, close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        parent = _Channel(from_child_r, to_child_w)
        worker = _Worker(process, parent)
        if not parent.poll(limits.start_timeout):
            self._kill(worker)
            raise FetchError("extraction_failed", f"an extraction worker did not start within "
                                                  f"{limits.start_timeout:g}s")
        try:
            parent.recv()
        except (EOFError, OSError):
            self._kill(worker)
            raise FetchError("extraction_failed", "an extraction worker ended while starting") from None
        return worker

    def _release(self, worker: _Worker, reusable: bool) -> None:
        if not reusable:
            self._kill(worker)
        with self._cond:
            if reusable:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()

    @staticmethod
    def _kill(worker: _Worker) -> None:
        if worker.process.poll() is None:
            worker.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(5)
        worker.conn.close()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(2)
            self._kill(worker)


def _memory_error(url: str, body: bytes, limits: ExtractLimits, started: float, crashed: str = "") -> FetchError:
    return FetchError(
        "extraction_memory",
        f"{url}: extracting the text needed more than the memory limit of {limits.memory_bytes // MiB:,} MiB"
        f"{crashed}; the document is refused.",
        url=url, bytes_received=len(body), duration_ms=_ms(started),
    )


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()
atexit.register(shutdown_pool)


def _pool(size: int) -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():  # a forked child must not share its parent's workers
            _POOL = _Pool(size)
        return _POOL


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class _Channel:
    """Pickled messages over two pipes (multiprocessing's framing), with poll() for the wall-clock limit."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: object) -> None:
        self._writer.send(obj)

    def recv(self) -> Any:
        return self._reader.recv()

    def poll(self, timeout: float) -> bool:
        return self._reader.poll(timeout)

    def close(self) -> None:
        for conn in (self._reader, self._writer):
            with contextlib.suppress(OSError):
                conn.close()


if __name__ == "__main__":  # the worker process: python -m scrapers.bounded READ_FD WRITE_FD
    _worker_main(_Channel(int(sys.argv[1]), int(sys.argv[2])))  # type: ignore[arg-type]
