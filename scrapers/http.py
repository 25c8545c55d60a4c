"""All HTTP I/O of the scrapers goes through one `FetchContext` (like zavod's context), so politeness
(user agent, robots.txt, per-host spacing), limits (timeouts, size cap, redirects) and fault mapping
are decided in one place and every failure comes out as a `FetchError` with a stable reason.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from scrapers.capture import FetchError

DEFAULT_USER_AGENT = (
    "CommitmentTracker/0.1 (+https://github.com/commitment-tracker; "
    "checks published AI safety frameworks; respects robots.txt)"
)
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
RETRY_STATUSES = (429, 500, 502, 503, 504)


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
    """urllib3 Retry that will not sleep longer than `max_retry_after` for a server's Retry-After:
    a hostile or misconfigured server must not park a worker for an hour."""

    max_retry_after: float = 60.0

    def new(self, **kwargs: object) -> _CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after  # urllib3 builds a fresh Retry after every attempt
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.max_retry_after)


def host_key(url: str) -> str:
    """The politeness unit: the host name (not the port), lower-cased."""
    return (urlsplit(url).hostname or "").lower()


class FetchContext:
    """The single place for HTTP I/O. Thread-safe: one context may serve many worker threads."""

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
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": user_agent, "Accept": "*/*"})
        adapter = HTTPAdapter(max_retries=retry, pool_connections=32, pool_maxsize=32)
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

    def robots_allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch `url` (fetches and caches robots.txt)."""
        try:
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

    def _wait_for_host(self, url: str) -> None:
        """Reserve the next free slot for this host and sleep until it: concurrent callers for one host
        get slots `per_host_interval` apart, callers for other hosts do not wait at all."""
        key = host_key(url)
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + self.per_host_interval
        if slot > now:
            time.sleep(slot - now)

    def _check_url(self, url: str, started: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("invalid_url", f"{url!r} is not an absolute http(s) URL.", url=url)
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
        Returns None for allow-all, a parser, or the error to raise for every URL of the origin."""
        robots_url = origin + "/robots.txt"
        started = time.monotonic()
        try:
            self._wait_for_host(robots_url)
            response = self._session.get(
                robots_url, timeout=(self.connect_timeout, self.read_timeout), allow_redirects=True, stream=True
            )
            body = response.raw.read(512_000, decode_content=True) or b""
            response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            return FetchError(
                "robots_unavailable",
                f"Could not read {robots_url} ({type(exc).__name__}); per RFC 9309 nothing is fetched from "
                "this site until it can be read.",
                url=robots_url, duration_ms=_ms(started),
            )
        if 400 <= response.status_code < 500:
            return None
        if response.status_code >= 500:
            return FetchError(
                "robots_unavailable",
                f"{robots_url} answered {response.status_code}; per RFC 9309 nothing is fetched from this "
                "site until robots.txt can be read.",
                url=robots_url, status=response.status_code, duration_ms=_ms(started),
            )
        parser = urllib.robotparser.RobotFileParser(robots_url)
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser

    def _request(self, url: str, headers: dict[str, str], started: float) -> requests.Response:
        self._wait_for_host(url)
        try:
            return self._session.get(
                url,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            if isinstance(exc, requests.exceptions.Timeout) or _is_timeout(exc):
                raise FetchError(
                    "timeout",
                    f"{url} did not answer within {self.connect_timeout:g}s (connect) / {self.read_timeout:g}s "
                    "(read), retries included; try again later or raise the timeouts.",
                    url=url, duration_ms=_ms(started),
                ) from exc
            raise _request_error(url, exc, started) from exc

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
        chunks: list[bytes] = []
        received = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                received += len(chunk)
                if received > self.max_bytes:
                    raise FetchError(
                        "too_large",
                        f"{final_url} sent more than the cap of {self.max_bytes:,} bytes; raise max_bytes if "
                        "this document is legitimately that large.",
                        url=final_url, status=status, bytes_received=received, duration_ms=_ms(started),
                    )
                if time.monotonic() - started > self.max_duration:
                    raise FetchError(
                        "timeout",
                        f"{final_url} was still sending after {self.max_duration:g}s; giving up.",
                        url=final_url, status=status, bytes_received=received, duration_ms=_ms(started),
                    )
                chunks.append(chunk)
        except requests.exceptions.ConnectionError as exc:
            reason = "timeout" if _is_timeout(exc) else "connection_reset"
            what = "reading the body timed out" if reason == "timeout" else "the connection broke mid-body"
            raise FetchError(
                reason,
                f"{final_url}: {what} after {received:,} bytes ({_root_cause(exc)}); try again later.",
                url=final_url, status=status, bytes_received=received, duration_ms=_ms(started),
            ) from exc
        except requests.RequestException as exc:
            raise FetchError(
                "connection_reset",
                f"{final_url}: the body could not be read after {received:,} bytes ({_root_cause(exc)}).",
                url=final_url, status=status, bytes_received=received, duration_ms=_ms(started),
            ) from exc
        finally:
            response.close()
        body = b"".join(chunks)
        if not body and status != 204:
            raise FetchError(
                "empty_body",
                f"{final_url} answered {status} with an empty body; the document may be temporarily missing.",
                url=final_url, status=status, duration_ms=_ms(started),
            )
        return HttpResult(url, final_url, status, headers, body, _ms(started), redirects)


def ensure_public_host(url: str, started: float | None = None) -> None:
    """Raise FetchError("private_address") when the URL's host resolves to a non-public address.

    Shared by the fetcher and by anything else that sends requests to addresses people typed in (alert
    webhooks), so a deployment cannot be used to reach its own internal network.
    """
    started = time.monotonic() if started is None else started
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise FetchError(
            "connection_error", f"Cannot resolve {parts.hostname}: {exc}.", url=url, duration_ms=_ms(started)
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private or address.is_loopback or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified
        ):
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
