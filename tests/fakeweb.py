"""A scriptable local web server for fetch tests (127.0.0.x only, never the network).

    with FakeWeb() as web:
        web.route("/doc.pdf", Reply(body=pdf_bytes, content_type="application/pdf", etag='"v1"'))
        web.route("/flaky", Reply(status=500), Reply(body=b"ok"))   # 1st request 500, then 200 forever
        ctx.get(web.url("/doc.pdf"))
        web.hits("/flaky")  # what the server saw, with server-side timestamps

Replies can delay, trickle the body one byte at a time, reset the connection mid-body, omit
Content-Length, redirect, and answer 304 to matching If-None-Match / If-Modified-Since. Unrouted paths
(robots.txt included) are 404. `FakeWeb(host, port)` listens on a given port (0: any free one).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line is sent
    reset_after: int | None = None  # send this many body bytes, then reset the connection (TCP RST)
    no_length: bool = False  # no Content-Length: body ends when the connection closes
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None  # Location header (for 3xx)
    trickle: float = 0.0  # seconds between body bytes: the body arrives one byte at a time


@dataclass
class Hit:
    path: str
    host: str
    headers: dict[str, str]
    arrived: float  # time.monotonic() when the request line was read
    finished: float = 0.0  # when the reply was fully written (or the connection reset)


ReplySource = Reply | Callable[["Hit"], Reply]


class FakeWeb:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: tuple[Path, Path] | None = None) -> None:
        """`tls=(certfile, keyfile)` serves HTTPS; `server_names` then records the SNI of each handshake."""
        self.host = host
        self.routes: dict[str, list[ReplySource]] = {}
        self.counts: dict[str, int] = {}
        self.log: list[Hit] = []
        self.server_names: list[str | None] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def route(self, path: str, *replies: ReplySource) -> None:
        """Successive requests to `path` get successive replies; the last one repeats."""
        self.routes[path] = list(replies)
        self.counts[path] = 0

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.log if hit.path == path]

    def start(self) -> FakeWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, hit: Hit) -> Reply:
        with self._lock:
            self.log.append(hit)
            replies = self.routes.get(hit.path)
            if not replies:
                return Reply(status=404, body=b"not found", content_type="text/plain")
            index = min(self.counts[hit.path], len(replies) - 1)
            self.counts[hit.path] += 1
        reply = replies[index]
        return reply(hit) if callable(reply) else reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                hit = Hit(
                    path=self.path,
                    host=self.headers.get("Host", ""),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    arrived=time.monotonic(),
                )
                reply = web._next_reply(hit)
                try:
                    self._send(reply, hit)
                finally:
                    hit.finished = time.monotonic()

            def _send(self, reply: Reply, hit: Hit) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                not_modified = (reply.etag and hit.headers.get("if-none-match") == reply.etag) or (
                    reply.last_modified and hit.headers.get("if-modified-since") == reply.last_modified
                )
                status = 304 if not_modified else reply.status
                body = b"" if not_modified else reply.body
                self.send_response(status)
                if reply.content_type and not not_modified:
                    self.send_header("Content-Type", reply.content_type)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                if reply.last_modified:
                    self.send_header("Last-Modified", reply.last_modified)
                if reply.location:
                    self.send_header("Location", reply.location)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                elif status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.reset_after is not None:
                    self.wfile.write(body[: reply.reset_after])
                    self.wfile.flush()
                    # SO_LINGER with timeout 0 makes close() send RST: the client sees a reset, not an EOF.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if reply.trickle and body:
                    try:
                        for index in range(len(body)):
                            self.wfile.write(body[index:index + 1])
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    except OSError:  # the client gave up: that is what trickle tests expect
                        self.close_connection = True
                    return
                if body:
                    self.wfile.write(body)

        return Handler


def make_tls_files(directory: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for `names` (DNS names or IP addresses), written as PEM
    files: (ca_file, cert_file, key_file). Lets tests check SNI and certificate verification locally."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakeweb test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file
