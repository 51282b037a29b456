"""Moving bytes between two TLS endpoints over memory BIOs, or over a
socket, for tern.TLSObject and ssl.SSLObject alike."""
import socket
import ssl
from typing import Any, List, Tuple, Union

import tern

Obj = Union[tern.TLSObject, ssl.SSLObject]


class End:
    """One side: the object and its two buffers."""

    def __init__(self, ctx: Any, server: bool, hostname: Any = None, session: Any = None) -> None:
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        kw = {}
        if session is not None:
            kw["session"] = session
        self.obj: Any = ctx.wrap_bio(self.inc, self.out, server_side=server,
                                     server_hostname=hostname, **kw)

    def send_to(self, other: "End") -> int:
        data = self.out.read()
        if data:
            other.inc.write(data)
        return len(data)


def step(e: End) -> bool:
    try:
        e.obj.do_handshake()
        return True
    except ssl.SSLWantReadError:
        return False


def handshake(client: End, server: End, rounds: int = 20) -> None:
    for _ in range(rounds):
        c = step(client)
        client.send_to(server)
        s = step(server)
        server.send_to(client)
        if c and s:
            # the client reads the server's last flight (tickets) too
            try:
                client.obj.read(1)
            except ssl.SSLWantReadError:
                pass
            client.send_to(server)
            return
    raise AssertionError("handshake did not finish")


def transfer(a: End, b: End, data: bytes) -> bytes:
    a.obj.write(data)
    a.send_to(b)
    got = b""
    for _ in range(1000):
        try:
            chunk = b.obj.read(65536)
        except ssl.SSLWantReadError:
            if a.send_to(b) == 0:
                break
            continue
        if not chunk:
            break
        got += chunk
        if len(got) >= len(data):
            break
        b.send_to(a)
    return got


def pair(cctx: Any, sctx: Any, hostname: Any = "localhost", session: Any = None) -> Tuple[End, End]:
    c = End(cctx, False, hostname, session)
    s = End(sctx, True)
    handshake(c, s)
    return c, s


def sock_flush(sock: socket.socket, out: ssl.MemoryBIO) -> None:
    data = out.read()
    if data:
        sock.sendall(data)


def sock_call(obj: Any, sock: socket.socket, inc: ssl.MemoryBIO, out: ssl.MemoryBIO,
              fn: str, *args: Any) -> Any:
    """Calls obj.fn(*args) over a blocking socket, as SSLSocket does."""
    while True:
        try:
            r = getattr(obj, fn)(*args)
            sock_flush(sock, out)
            return r
        except ssl.SSLWantReadError:
            sock_flush(sock, out)
            data = sock.recv(65536)
            if data:
                inc.write(data)
            else:
                inc.write_eof()


def keylog_lines(path: str) -> List[str]:
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]
