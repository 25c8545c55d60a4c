"""The network guard under every request: which addresses count as public, URL validation as urllib3 parses
it, a whole-fetch deadline that reaches into the sockets, and connections that resolve a name once, check the
address and connect to exactly that address (no DNS rebinding). `FetchContext` and alert webhooks mount
`GuardedAdapter`; nothing here knows about politeness or retries.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from scrapers.capture import FetchError

# ---------------------------------------------------------------------------------------------- address policy


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet. `is_global` (not `is_private`) so that shared
    address space (100.64.0.0/10, where some clouds put their metadata service) is refused too; IPv4
    addresses wrapped in IPv6 (::ffff:a.b.c.d, 6to4, Teredo) are judged by the IPv4 address inside."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            return is_public_address(str(inner))
    return ip.is_global and not ip.is_multicast


def validate_url(url: str) -> str:
    """The host of an absolute http(s) URL, read the way the HTTP library (urllib3) will read it; raises
    FetchError("invalid_url") for anything that two URL parsers could read differently: backslashes,
    control characters, user info (`user:pass@`), or a host on which urlsplit and urllib3 disagree.
    (`http://127.0.0.1:80\\@example.com/` is example.com to urlsplit but 127.0.0.1 to urllib3.)"""
    def refuse(why: str) -> FetchError:
        return FetchError("invalid_url", f"{url!r} is refused: {why}; give a plain absolute http(s) URL.", url=url)

    if not isinstance(url, str) or not url:
        raise refuse("it is empty")
    if "\\" in url:
        raise refuse("it contains a backslash, which URL parsers read differently")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise refuse("it contains control characters")
    try:
        parts = urlsplit(url)
        parsed = urllib3.util.parse_url(url)
        split_port = parts.port
    except (ValueError, urllib3.exceptions.LocationParseError) as exc:
        raise refuse(f"it cannot be parsed ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("invalid_url", f"{url!r} is not an absolute http(s) URL.", url=url)
    if "@" in parts.netloc or parsed.auth or parts.username is not None:
        raise refuse("it contains user info (user:password@), which is never sent")
    library_host = (parsed.host or "").strip("[]").lower()
    split_host = parts.hostname.lower()
    if library_host != split_host and library_host != _idna(split_host):
        raise refuse(f"its host reads as {split_host!r} or {library_host!r} depending on the parser")
    if (parsed.port or None) != (split_port or None):
        raise refuse("its port reads differently depending on the parser")
    return library_host


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


class AddressRefused(Exception):
    """Raised inside a connection when the host resolves to a non-public address: no socket was opened.
    Deliberately not an OSError, so urllib3 neither retries it nor wraps it."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a non-public address")
        self.host = host
        self.address = address


class DeadlinePassed(Exception):
    """Raised inside a connection when the fetch's total deadline has passed (not an OSError: not retried)."""


class _Deadline:
    """The total time budget of one `FetchContext.get`. When it runs out, a timer shuts down every socket
    the fetch uses, which wakes a read blocked on a server that sends one byte per second (a per-read
    timeout never fires then) and a connect or TLS handshake that drips."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def passed(self) -> bool:
        return self.fired or time.monotonic() >= self.at

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets = []


def _shutdown(sock: socket.socket) -> None:
    # The plain-socket method also on SSL sockets: SSLSocket.shutdown would drop its SSL object under
    # a reader in another thread; this only makes that reader see end-of-file.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_ACTIVE = threading.local()  # the _Deadline of the fetch running on this thread


def _current_deadline() -> _Deadline | None:
    return getattr(_ACTIVE, "deadline", None)


class _DeadlineScope:
    """Makes a fresh _Deadline the running fetch's one on this thread (or joins the outer one)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.outer: _Deadline | None = None
        self.deadline: _Deadline | None = None

    def __enter__(self) -> _Deadline:
        self.outer = _current_deadline()
        if self.outer is not None:  # robots.txt inside a get(): one budget for both
            return self.outer
        self.deadline = _Deadline(self.seconds)
        _ACTIVE.deadline = self.deadline
        return self.deadline

    def __exit__(self, *exc: object) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            _ACTIVE.deadline = None


class _GuardedConnectionMixin:
    """Connection behaviour shared by HTTP and HTTPS: every socket joins the running fetch's deadline, and
    with `public_only` the host is resolved once, every address is checked, and the socket is connected
    to a checked address (so DNS cannot answer differently between the check and the connect). Only the
    TCP target is pinned: the Host header, TLS SNI and certificate checks still use the name."""

    public_only = False
    _dns_host: str
    port: int
    host: str

    def _new_conn(self) -> socket.socket:
        deadline = _current_deadline()
        if deadline is not None and deadline.passed():
            raise DeadlinePassed(f"the fetch deadline passed before connecting to {self.host}")
        sock = self._connect_public() if self.public_only else super()._new_conn()  # type: ignore[misc]
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def _connect_public(self) -> socket.socket:
        name = self._dns_host
        try:
            infos = socket.getaddrinfo(name, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:
            if not is_public_address(address):
                raise AddressRefused(self.host, address)
        last: Exception | None = None
        try:
            for address in addresses:
                self._dns_host = address  # connect to exactly the checked address; no second lookup
                try:
                    return super()._new_conn()  # type: ignore[misc]
                except (NewConnectionError, ConnectTimeoutError) as exc:
                    last = exc
        finally:
            self._dns_host = name
        assert last is not None
        raise last

    def getresponse(self) -> Any:
        deadline = _current_deadline()
        if deadline is not None:
            deadline.watch(getattr(self, "sock", None))  # a kept-alive socket from an earlier fetch
        return super().getresponse()  # type: ignore[misc]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _PublicHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    public_only = True


class _PublicHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    public_only = True


def _pool(base: type, connection: type) -> type:
    return type(f"Guarded{base.__name__}", (base,), {"ConnectionCls": connection})


_POOLS = {
    False: {"http": _pool(HTTPConnectionPool, _GuardedHTTPConnection),
            "https": _pool(HTTPSConnectionPool, _GuardedHTTPSConnection)},
    True: {"http": _pool(HTTPConnectionPool, _PublicHTTPConnection),
           "https": _pool(HTTPSConnectionPool, _PublicHTTPSConnection)},
}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections join the fetch deadline and, with `public_only=True`, resolve
    once, refuse non-public addresses (raising `AddressRefused` before any socket is opened) and connect
    to the checked address. Mount it on any session that sends requests to addresses people typed in."""

    def __init__(self, *args: Any, public_only: bool = False, **kwargs: Any) -> None:
        self.public_only = public_only
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS[self.public_only])

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Through an HTTP proxy (only possible with public_only=False: strict contexts ignore the
        environment's proxies) connections still join the deadline; SOCKS keeps its own pool classes."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS[False])
        return manager

    def __setstate__(self, state: dict) -> None:  # requests pickles adapters; keep the pools guarded
        self.public_only = state.get("public_only", False)
        super().__setstate__(state)

    __attrs__: ClassVar[list[str]] = [*HTTPAdapter.__attrs__, "public_only"]
