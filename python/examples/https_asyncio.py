"""An HTTPS client and server on asyncio, with TLS 1.3 from tern.TLSObject.

asyncio's own TLS (create_connection(ssl=...)) takes only an
ssl.SSLContext, so here TLS is a protocol of its own between the socket
and the application, as asyncio's sslproto is: TLSProtocol receives the
socket's bytes, runs a tern.TLSObject over two ssl.MemoryBIOs, and hands
the plaintext to an application protocol (the HTTP client or server
below) through a transport of its own (TLSTransport).

    python3 https_asyncio.py server CERT KEY [PORT]    # serve until Ctrl-C
    python3 https_asyncio.py get URL [CAFILE]          # one GET, then a resumed one

The server answers every GET with a small page of what the connection
negotiated; it speaks HTTP/1.1 (keep-alive unless Connection: close) and
HTTP/1.0. The client keeps the tickets of its first connection and
offers one on the second (a tern.Session is single-use).
"""
import asyncio
import ssl
import sys
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import tern

Handler = Callable[[str, str, Dict[str, str], tern.TLSObject], Tuple[int, bytes]]


class TLSTransport(asyncio.Transport):
    """What the application protocol writes to: plaintext in, records out."""

    def __init__(self, tls: "TLSProtocol") -> None:
        super().__init__()
        self._tls = tls

    def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        self._tls.write_app(bytes(data))

    def close(self) -> None:
        self._tls.close_app()

    def abort(self) -> None:
        self._tls.abort()

    def is_closing(self) -> bool:
        return self._tls.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls.extra_info(name, default)


class TLSProtocol(asyncio.Protocol):
    """TLS 1.3 over one socket connection, with `app` above it.

    The application protocol sees connection_made(TLSTransport) once the
    handshake is done, data_received with plaintext, eof_received at the
    peer's close_notify, and connection_lost(exc) at the end, exc being
    the tern.TLSError that ended the connection if one did.
    """

    def __init__(self, ctx: tern.TLSContext, app: asyncio.Protocol, server_side: bool,
                 server_hostname: Optional[str] = None,
                 session: Optional[tern.Session] = None) -> None:
        self.ctx = ctx
        self.app = app
        self.server_side = server_side
        self.server_hostname = server_hostname
        self.session = session
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls: Optional[tern.TLSObject] = None
        self.transport: Optional[asyncio.Transport] = None
        self.app_transport = TLSTransport(self)
        self.handshake_done = False
        self.closing = False
        self.error: Optional[Exception] = None
        self._lost = False

    # ---- the socket's side ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.tls = self.ctx.wrap_bio(self.incoming, self.outgoing, server_side=self.server_side,
                                     server_hostname=self.server_hostname, session=self.session)
        self._advance()

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        self._advance()

    def eof_received(self) -> Optional[bool]:
        self.incoming.write_eof()
        self._advance()
        return False  # the socket closes

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._lost:
            return
        self._lost = True
        self.closing = True
        if self.error is None and not self.handshake_done:
            # the socket went away before the handshake ended
            self.error = exc or ConnectionResetError("closed during the TLS handshake")
        self.app.connection_lost(self.error or exc)

    # ---- moving records ----

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _advance(self) -> None:
        """Runs the handshake or reads records, whichever is due, and sends
        what tern wrote (handshake flights, tickets, alerts, KeyUpdates)."""
        assert self.tls is not None
        try:
            if not self.handshake_done:
                try:
                    self.tls.do_handshake()
                except ssl.SSLWantReadError:
                    return
                finally:
                    self._flush()
                self.handshake_done = True
                self.app.connection_made(self.app_transport)
            while not self._lost:
                try:
                    data = self.tls.read(65536)
                except ssl.SSLWantReadError:
                    break
                if not data:  # close_notify
                    keep_open = self.app.eof_received()
                    if not keep_open:
                        self.close_app()
                    break
                self.app.data_received(data)
            self._flush()
        except tern.TLSError as e:  # the alert (if any) goes out, then the socket closes
            self._fail(e)

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        self._flush()
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # ---- the application's side (through TLSTransport) ----

    def write_app(self, data: bytes) -> None:
        if self.closing or self.tls is None:
            raise ConnectionError("the TLS connection is closing")
        self.tls.write(data)
        self._flush()

    def close_app(self) -> None:
        """close_notify, then the socket (as HTTP servers do: the peer's
        close_notify is not waited for)."""
        if self.closing:
            return
        self.closing = True
        if self.tls is not None and self.handshake_done:
            try:
                self.tls.unwrap()
            except ssl.SSLWantReadError:
                pass  # ours went out; theirs may follow
            except tern.TLSError as e:
                self.error = e
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self.tls
        if name == "cipher" and self.tls is not None:
            return self.tls.cipher()
        if name == "peercert" and self.tls is not None:
            return self.tls.getpeercert()
        if self.transport is not None:
            return self.transport.get_extra_info(name, default)
        return default


# ---- HTTP over it ----

def describe(method: str, path: str, headers: Dict[str, str], tls: tern.TLSObject) -> Tuple[int, bytes]:
    """The default page: what the connection negotiated."""
    cipher = tls.cipher()
    lines = [
        f"method {method}",
        f"path {path}",
        f"version {tls.version()}",
        f"cipher {cipher[0] if cipher else None}",
        f"group {tls.group()}",
        f"alpn {tls.selected_alpn_protocol()}",
        f"sni {tls.server_hostname}",
        f"resumed {tls.session_reused}",
    ]
    return 200, ("\n".join(lines) + "\n").encode()


class HTTPServer(asyncio.Protocol):
    """One connection's HTTP/1.x server: requests in, one response each."""

    def __init__(self, handler: Handler, served: List[str]) -> None:
        self.handler = handler
        self.served = served
        self.buf = b""
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf and self.transport is not None and not self.transport.is_closing():
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self._answer(head.decode("latin-1"))
        if len(self.buf) > 16384 and self.transport is not None:
            self.transport.close()  # no request head is that long

    def _answer(self, head: str) -> None:
        assert self.transport is not None
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, version, keep = "GET", "HTTP/1.1", False
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            status, body = 400, b"bad request\n"
        else:
            method, path, version = parts
            conn = headers.get("connection", "").lower()
            keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            if method not in ("GET", "HEAD"):
                status, body = 405, b"GET or HEAD\n"
            else:
                status, body = self.handler(method, path, headers,
                                            self.transport.get_extra_info("ssl_object"))
                self.served.append(path)
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "")
        out = (f"{version} {status} {reason}\r\nContent-Type: text/plain\r\n"
               f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n")
        self.transport.write(out.encode() + (body if method != "HEAD" else b""))
        if not keep:
            self.transport.close()

    def eof_received(self) -> Optional[bool]:
        return False

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.transport = None


@dataclass
class Response:
    """One GET's answer, with what its connection negotiated and the
    tickets it brought (each good for one resumption)."""
    status: int = 0
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    version: Optional[str] = None
    cipher: Optional[str] = None
    alpn: Optional[str] = None
    resumed: bool = False
    peer_certificate: Optional[bytes] = None
    sessions: List[tern.Session] = field(default_factory=list)


class HTTPClient(asyncio.Protocol):
    """One GET with Connection: close; the response (or the error) in `done`."""

    def __init__(self, host: str, path: str) -> None:
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                        f"User-Agent: tern-asyncio-example\r\n\r\n").encode()
        self.buf = b""
        self.done: "asyncio.Future[Response]" = asyncio.get_running_loop().create_future()
        self.transport: Optional[asyncio.Transport] = None
        self.response = Response()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        tls: tern.TLSObject = transport.get_extra_info("ssl_object")
        cipher = tls.cipher()
        r = self.response
        r.version, r.cipher, r.alpn = tls.version(), cipher[0] if cipher else None, tls.selected_alpn_protocol()
        r.resumed, r.peer_certificate = tls.session_reused, tls.getpeercert(binary_form=True)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self._parse() and self.transport is not None:
            self.transport.close()  # the whole body: close_notify and go

    def _parse(self) -> bool:
        """Whether the whole response is in (by Content-Length)."""
        if b"\r\n\r\n" not in self.buf:
            return False
        head, body = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        r = self.response
        r.status = int(lines[0].split(" ")[1])
        r.headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        r.body = body
        length = r.headers.get("content-length")
        return length is not None and len(body) >= int(length)

    def eof_received(self) -> Optional[bool]:
        return False

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.done.done():
            return
        if self.transport is not None:
            tls: tern.TLSObject = self.transport.get_extra_info("ssl_object")
            self.response.sessions = tls.sessions
        if self._parse() or (exc is None and self.response.status):
            self.done.set_result(self.response)
        else:
            self.done.set_exception(exc or ConnectionError("no whole response"))


async def start_server(ctx: tern.TLSContext, host: str = "127.0.0.1", port: int = 0,
                       handler: Handler = describe,
                       served: Optional[List[str]] = None) -> asyncio.Server:
    """Serves HTTPS on host:port with ctx (a server TLSContext); the path
    of every answered request is appended to `served`."""
    log = served if served is not None else []
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: TLSProtocol(ctx, HTTPServer(handler, log), server_side=True), host, port)


async def get(ctx: tern.TLSContext, host: str, port: int, path: str = "/", *,
              server_hostname: Optional[str] = None, session: Optional[tern.Session] = None,
              timeout: float = 30.0) -> Response:
    """GETs https://host:port/path with ctx (a client TLSContext)."""
    loop = asyncio.get_running_loop()
    name = server_hostname if server_hostname is not None else host
    app = HTTPClient(name, path)
    transport, proto = await asyncio.wait_for(loop.create_connection(
        lambda: TLSProtocol(ctx, app, server_side=False, server_hostname=name, session=session),
        host, port), timeout)
    try:
        return await asyncio.wait_for(asyncio.shield(app.done), timeout)
    finally:
        transport.close()


async def client_main(url: str, cafile: Optional[str]) -> int:
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname or "localhost", u.port or 443
    ctx = tern.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    session = None
    for i in range(2):
        r = await get(ctx, host, port, u.path or "/", session=session)
        print(f"connection {i + 1}: {r.status} {r.version} {r.cipher} alpn={r.alpn} "
              f"resumed={r.resumed} tickets={len(r.sessions)}", file=sys.stderr)
        sys.stdout.write(r.body.decode("utf-8", "replace"))
        session = r.sessions[0] if r.sessions else None
    return 0


async def server_main(cert: str, key: str, port: int) -> int:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    server = await start_server(ctx, "127.0.0.1", port)
    print(f"https_asyncio: listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()
    return 0


def main(argv: List[str]) -> int:
    if len(argv) >= 3 and argv[0] == "server":
        return asyncio.run(server_main(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 4433))
    if len(argv) >= 2 and argv[0] == "get":
        return asyncio.run(client_main(argv[1], argv[2] if len(argv) > 2 else None))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)
