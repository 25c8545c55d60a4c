"""All HTTP I/O of the scrapers goes through one `FetchContext` (like zavod's context), so politeness
(user agent, robots.txt, per-host spacing), limits (timeouts, size cap, redirects) and fault mapping
are decided in one place and every failure comes out as a `FetchError` with a stable reason.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from urllib3.util.retry import Retry

from scrapers.capture import FetchError
from scrapers.netguard import (
    AddressRefused,
    DeadlinePassed,
    GuardedAdapter,
    _current_deadline,
    _DeadlineScope,
    is_public_address,
    validate_url,
)

DEFAULT_USER_AGENT = (
    "CommitmentTracker/0.1 (+https://github.com/commitment-tracker; "
    "checks published AI safety frameworks; respects robots.txt)"
)
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRY_STATUSES = (429, 500, 502, 503, 504)
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five
ROBOTS_MAX_BYTES = 512_000
READ_CHUNK = 65536


@dataclass
class HttpResult:
    """One completed HTTP exchange after redirects. `status` is 200-299 or 304 (everything else raises)."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    duration_ms: int
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class _CappedRetry(Retry):
    """urllib3 Retry that will not sleep longer than `max_retry_after` for a server's Retry-After (a hostile
    or misconfigured server must not park a worker for an hour) and that, before every retry, waits for
    the host's next politeness slot (`on_retry`), so retries are spaced like any other request."""

    max_retry_after: float = 60.0
    on_retry: Any = None  # callable(host) -> None, set by FetchContext
    _retry_host: str | None = None

    def new(self, **kwargs: object) -> _CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after  # urllib3 builds a fresh Retry after every attempt
        retry.on_retry = self.on_retry
        retry._retry_host = self._retry_host
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> _CappedRetry:
        retry = super().increment(*args, **kwargs)
        pool = kwargs.get("_pool")
        retry._retry_host = getattr(pool, "host", None) or self._retry_host
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.max_retry_after)

    def sleep(self, response: Any = None) -> None:
        super().sleep(response)
        if self.on_retry is not None and self._retry_host:
            self.on_retry(self._retry_host)


def host_key(url: str) -> str:
    """The politeness unit: the host name (not the port), lower-cased."""
    return (urlsplit(url).hostname or "").lower()


class FetchContext:
    """The single place for HTTP I/O. Thread-safe: one context may serve many worker threads.

    With `allow_private_addresses=False` (production) no request, redirect hop or robots.txt request
    reaches a private, loopback, link-local or otherwise non-public address, checked on the address the
    socket really connects to. `max_duration` bounds a whole `get` (robots.txt, redirects and retries
    included), also while a body is being read.
    """

    def __init__(
        self,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_bytes: int = 50_000_000,
        retries: int = 3,
        backoff: float = 0.5,
        per_host_interval: float = 1.0,
        respect_robots: bool = True,
        allow_private_addresses: bool = True,
        max_redirects: int = 10,
        max_retry_after: float = 60.0,
        max_duration: float = 300.0,
        ca_bundle: str | None = None,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("user_agent must name the project so site owners can identify us")
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self.per_host_interval = per_host_interval
        self.respect_robots = respect_robots
        self.allow_private_addresses = allow_private_addresses
        self.max_redirects = max_redirects
        self.max_duration = max_duration
        retry = _CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=False,  # redirects are followed by hand so every hop is checked
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = max_retry_after
        retry.on_retry = self._wait_for_key
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": user_agent, "Accept": "*/*"})
        if ca_bundle:  # a private CA (corporate network, tests) instead of certifi's bundle
            self._session.verify = ca_bundle
        if not allow_private_addresses:
            # No proxies or .netrc from the environment: a proxy would do its own DNS lookup and connect
            # where we cannot check, and .netrc would attach credentials to hosts we did not choose.
            self._session.trust_env = False
        adapter = GuardedAdapter(
            max_retries=retry, pool_connections=32, pool_maxsize=32, public_only=not allow_private_addresses
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | FetchError | None] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    # ------------------------------------------------------------------ public

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> HttpResult:
        """GET `url` following redirects (each hop checked against robots.txt and the address policy).
        Conditional headers make a 304 come back as `status=304` with an empty body."""
        started = time.monotonic()
        with self._deadline():
            return self._get(url, etag, last_modified, started)

    def robots_allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch `url` (fetches and caches robots.txt)."""
        try:
            with self._deadline():
                self._check_url(url, time.monotonic())
                self._check_robots(url, time.monotonic())
        except FetchError:
            return False
        return True

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FetchContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _get(self, url: str, etag: str | None, last_modified: str | None, started: float) -> HttpResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen: list[str] = []
        while True:
            self._check_url(current, started)
            seen.append(current)
            self._check_robots(current, started)
            response = self._request(current, headers, started)
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                response.close()
                if not location:
                    raise FetchError(
                        "http_other",
                        f"{current} answered {response.status_code} without a Location header.",
                        url=current, status=response.status_code, duration_ms=_ms(started),
                    )
                target = urljoin(current, location)
                if target in seen or len(seen) > self.max_redirects:
                    kind = "loop back to" if target in seen else f"more than {self.max_redirects} redirects, last"
                    raise FetchError(
                        "redirect_loop",
                        f"Redirects from {url} {kind} {target}; fix the source URL to point at the final page.",
                        url=url, status=response.status_code, duration_ms=_ms(started),
                    )
                current = target
                continue
            return self._finish(url, current, response, seen[:-1], started)

    def _deadline(self) -> _DeadlineScope:
        return _DeadlineScope(self.max_duration)

    def _wait_for_host(self, url: str) -> None:
        self._wait_for_key(host_key(url))

    def _wait_for_key(self, key: str) -> None:
        """Reserve the next free slot for this host and sleep until it: concurrent callers for one host
        get slots `per_host_interval` apart, callers for other hosts do not wait at all. Every request
        takes a slot: first tries, retries, redirect hops and robots.txt."""
        key = key.lower()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + self.per_host_interval
        deadline = _current_deadline()
        if deadline is not None and slot >= deadline.at:
            raise DeadlinePassed(f"the next free slot for {key} is after the fetch deadline")
        if slot > now:
            time.sleep(slot - now)

    def _check_url(self, url: str, started: float) -> None:
        validate_url(url)
        if self.allow_private_addresses:
            return
        ensure_public_host(url, started)

    def _check_robots(self, url: str, started: float) -> None:
        if not self.respect_robots:
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._robots:
                self._robots[origin] = self._load_robots(origin)
        rules = self._robots[origin]
        if isinstance(rules, FetchError):
            raise FetchError(rules.reason, rules.message, url=url, status=rules.status, duration_ms=_ms(started))
        if rules is not None and not rules.can_fetch(self.user_agent, url):
            raise FetchError(
                "robots_disallowed",
                f"{origin}/robots.txt disallows {parts.path or '/'} for our user agent; ask the site owner or "
                "use `import-file` with an archived copy.",
                url=url, duration_ms=_ms(started),
            )

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | FetchError | None:
        """RFC 9309: 4xx means no rules (allow all); 5xx or unreachable means assume full disallow.
        Returns None for allow-all, a parser, or the error to raise for every URL of the origin. Redirects
        are followed by hand (up to five) and every hop goes through the same URL and address checks and
        host spacing as any other request; a hop to a non-public address is `private_address`."""
        robots_url = origin + "/robots.txt"
        started = time.monotonic()
        current = robots_url

        def unavailable(why: str, status: int | None = None) -> FetchError:
            return FetchError(
                "robots_unavailable",
                f"{robots_url} {why}; per RFC 9309 nothing is fetched from this site until it can be read.",
                url=robots_url, status=status, duration_ms=_ms(started),
            )

        for _hop in range(ROBOTS_MAX_REDIRECTS + 1):
            try:
                self._check_url(current, started)
                response = self._request(current, {}, started)
            except FetchError as exc:
                if exc.reason in ("private_address", "invalid_url"):
                    return FetchError(
                        exc.reason, f"robots.txt of {origin} leads to {current}: {exc.message}",
                        url=current, duration_ms=_ms(started),
                    )
                return unavailable(f"could not be read ({exc.reason}: {exc.message})", exc.status)
            status = response.status_code
            location = response.headers.get("Location")
            if status in REDIRECT_STATUSES and location:
                response.close()
                current = urljoin(current, location)
                continue
            break
        else:
            return unavailable(f"redirects more than {ROBOTS_MAX_REDIRECTS} times")
        if 400 <= status < 500:
            response.close()
            return None
        if status >= 500 or not 200 <= status < 300:
            response.close()
            return unavailable(f"answered {status}", status)
        try:
            body, _ = self._read_body(response, ROBOTS_MAX_BYTES, truncate=True)
        except (urllib3.exceptions.HTTPError, OSError, DeadlinePassed) as exc:
            return unavailable(f"could not be read ({type(exc).__name__})", status)
        finally:
            response.close()
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser

    def _request(self, url: str, headers: dict[str, str], started: float) -> requests.Response:
        try:
            self._wait_for_host(url)
            return self._session.get(
                url,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except AddressRefused as exc:
            raise FetchError(
                "private_address",
                f"{exc.host} resolves to {exc.address}, a non-public address; only public URLs are fetched "
                "(no connection was made).",
                url=url, duration_ms=_ms(started),
            ) from None
        except DeadlinePassed as exc:
            raise self._deadline_error(url, None, 0, started) from exc
        except requests.RequestException as exc:
            deadline = _current_deadline()
            if deadline is not None and deadline.passed():
                raise self._deadline_error(url, None, 0, started) from exc
            if isinstance(exc, requests.exceptions.Timeout) or _is_timeout(exc):
                raise FetchError(
                    "timeout",
                    f"{url} did not answer within {self.connect_timeout:g}s (connect) / {self.read_timeout:g}s "
                    "(read), retries included; try again later or raise the timeouts.",
                    url=url, duration_ms=_ms(started),
                ) from exc
            raise _request_error(url, exc, started) from exc

    def _deadline_error(self, url: str, status: int | None, received: int, started: float) -> FetchError:
        return FetchError(
            "timeout",
            f"{url} was still not done after {self.max_duration:g}s (the total limit for one fetch, robots.txt, "
            f"redirects and retries included) with {received:,} body bytes received; giving up.",
            url=url, status=status, bytes_received=received, duration_ms=_ms(started),
        )

    def _read_body(self, response: requests.Response, limit: int, truncate: bool = False) -> tuple[bytes, int]:
        """Read the (decoded) body in pieces as they arrive (read1, not fixed 64 KB reads), so the byte
        count is exact when the connection breaks and the deadline is checked after every piece.
        Returns (body, bytes received); over `limit` raises _TooLarge unless `truncate`."""
        raw = response.raw
        chunks: list[bytes] = []
        received = 0
        deadline = _current_deadline()
        try:
            while True:
                if deadline is not None and deadline.passed():
                    raise _BodyDeadline(received)
                chunk = raw.read1(READ_CHUNK, decode_content=True)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (received - limit)])
                        return b"".join(chunks), received
                    raise _TooLarge(received)
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline is not None and deadline.passed():
                raise _BodyDeadline(received) from exc
            raise _BodyBroken(received, exc) from exc
        if deadline is not None and deadline.fired:  # the watchdog's shutdown looks like a clean end-of-body
            raise _BodyDeadline(received)
        return b"".join(chunks), received

    def _finish(
        self, url: str, final_url: str, response: requests.Response, redirects: list[str], started: float
    ) -> HttpResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status == 304:
            response.close()
            return HttpResult(url, final_url, status, headers, b"", _ms(started), redirects)
        if not 200 <= status < 300:
            response.close()
            raise _status_error(final_url, status, _ms(started))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes and "content-encoding" not in headers:
            response.close()
            raise FetchError(
                "too_large",
                f"{final_url} declares {int(declared):,} bytes, over the cap of {self.max_bytes:,}; raise "
                "max_bytes if this document is legitimately that large.",
                url=final_url, status=status, duration_ms=_ms(started),
            )
        try:
            body, _ = self._read_body(response, self.max_bytes)
        except _TooLarge as exc:
            raise FetchError(
                "too_large",
                f"{final_url} sent more than the cap of {self.max_bytes:,} bytes; raise max_bytes if "
                "this document is legitimately that large.",
                url=final_url, status=status, bytes_received=exc.received, duration_ms=_ms(started),
            ) from None
        except _BodyDeadline as exc:
            raise self._deadline_error(final_url, status, exc.received, started) from None
        except _BodyBroken as exc:
            timed_out = _is_timeout(exc.cause)
            reason = "timeout" if timed_out else "connection_reset"
            what = "reading the body timed out" if timed_out else "the connection broke mid-body"
            raise FetchError(
                reason,
                f"{final_url}: {what} after {exc.received:,} bytes ({_root_cause(exc.cause)}); try again later.",
                url=final_url, status=status, bytes_received=exc.received, duration_ms=_ms(started),
            ) from None
        finally:
            response.close()
        if not body and status != 204:
            raise FetchError(
                "empty_body",
                f"{final_url} answered {status} with an empty body; the document may be temporarily missing.",
                url=final_url, status=status, duration_ms=_ms(started),
            )
        return HttpResult(url, final_url, status, headers, body, _ms(started), redirects)


class _TooLarge(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


class _BodyDeadline(Exception):
    def __init__(self, received: int) -> None:
        self.received = received


class _BodyBroken(Exception):
    def __init__(self, received: int, cause: BaseException) -> None:
        self.received = received
        self.cause = cause


def ensure_public_host(url: str, started: float | None = None) -> None:
    """Raise FetchError("private_address") when the URL's host resolves to a non-public address, and
    FetchError("invalid_url") for a URL that parsers read differently (see validate_url).

    Shared by the fetcher and by anything else that sends requests to addresses people typed in (alert
    webhooks), so a deployment cannot be used to reach its own internal network. This is a check before
    the request; it only holds against DNS rebinding when the request itself goes through a
    `GuardedAdapter(public_only=True)`, which checks the address it really connects to.
    """
    started = time.monotonic() if started is None else started
    host = validate_url(url)
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise FetchError(
            "connection_error", f"Cannot resolve {parts.hostname}: {exc}.", url=url, duration_ms=_ms(started)
        ) from exc
    for info in infos:
        address = info[4][0]
        if not is_public_address(address):
            raise FetchError(
                "private_address",
                f"{parts.hostname} resolves to {address}, a non-public address; only public URLs are fetched.",
                url=url, duration_ms=_ms(started),
            )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _root_cause(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (args, `reason`, cause, context): requests nests urllib3
    errors several levels deep, and the innermost one says what really happened."""
    found: list[BaseException] = []
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or any(current is f for f in found):
            continue
        found.append(current)
        stack.extend(current.args)
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
    return found


def _is_timeout(exc: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for historical reasons: it is a refusal.
    return any(
        isinstance(e, (TimeoutError, urllib3.exceptions.TimeoutError))
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in _causes(exc)
    )


def _request_error(url: str, exc: requests.RequestException, started: float) -> FetchError:
    if isinstance(exc, requests.exceptions.RetryError):
        return FetchError("http_5xx", f"{url} kept failing after retries: {exc}.", url=url, duration_ms=_ms(started))
    text = str(exc).lower()
    if any(word in text for word in ("reset", "aborted", "remotedisconnected", "connection broken")):
        reason, what = "connection_reset", "the server dropped the connection (retries included)"
    else:
        reason, what = "connection_error", "could not connect; check the host name, or whether the site is down"
    return FetchError(reason, f"{url}: {what} ({_root_cause(exc)}).", url=url, duration_ms=_ms(started))


def _status_error(url: str, status: int, duration_ms: int) -> FetchError:
    if status in (401, 403, 404, 410, 429):
        reason = f"http_{status}"
    elif 400 <= status < 500:
        reason = "http_4xx"
    elif status >= 500:
        reason = "http_5xx"
    else:
        reason = "http_other"
    advice = {
        "http_404": "the document moved or was deleted; find its new URL (or use an index source).",
        "http_410": "the publisher says it was removed for good; keep the archived versions and retire the source.",
        "http_429": "the site is rate-limiting us; raise per_host_interval.",
        "http_401": "the document is behind a login; use `import-file` with a copy instead.",
        "http_403": "access is refused (often bot protection); use `import-file` with a copy instead.",
        "http_5xx": "the site kept failing after retries; try again later.",
    }.get(reason, "check the URL.")
    return FetchError(
        reason, f"{url} answered HTTP {status}: {advice}", url=url, status=status, duration_ms=duration_ms
    )
