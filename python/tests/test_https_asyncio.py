"""The asyncio HTTPS example (python/examples/https_asyncio.py) over real
sockets on the loopback: its client against its own server, against a
server of CPython's ssl module (asyncio's own TLS) and against `tern
server --www` (the C program); its server against CPython's ssl client
and against curl."""
import asyncio
import os
import re
import shutil
import ssl
import subprocess
import sys
from typing import Any, Awaitable, Dict, List, Optional, Tuple, TypeVar

import pytest

import tern
from pki import Pki

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
sys.path.insert(0, EXAMPLES)
import https_asyncio as ex  # noqa: E402

T = TypeVar("T")
TIMEOUT = 60.0  # a bound on every test's run, for a slow shared machine


def run(coro: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, TIMEOUT)
    return asyncio.run(bounded())


def tern_server_ctx(pki: Pki) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tern_client_ctx(pki: Pki, cafile: Optional[str] = None) -> tern.TLSContext:
    ctx = tern.create_default_context(cafile=cafile or pki.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def page(body: bytes) -> Dict[str, str]:
    return dict(line.split(" ", 1) for line in body.decode().splitlines())


def test_example_client_and_server(pki: Pki) -> None:
    """Three connections: full, resumed with a ticket of the first, and
    resumed again with a ticket of the second (each single-use)."""
    async def main() -> Tuple[List[ex.Response], List[str]]:
        served: List[str] = []
        server = await ex.start_server(tern_server_ctx(pki), served=served)
        port = server.sockets[0].getsockname()[1]
        cctx = tern_client_ctx(pki)
        out: List[ex.Response] = []
        session = None
        async with server:
            for i in range(3):
                r = await ex.get(cctx, "127.0.0.1", port, f"/n{i}", server_hostname="localhost",
                                 session=session)
                out.append(r)
                session = r.sessions[0]
        return out, served

    responses, served = run(main())
    assert served == ["/n0", "/n1", "/n2"]
    for i, r in enumerate(responses):
        assert r.status == 200 and r.version == "TLSv1.3" and r.alpn == "http/1.1"
        assert r.resumed == (i > 0)
        assert len(r.sessions) == 2  # the server's default, also after a resumption
        p = page(r.body)
        assert p["path"] == f"/n{i}" and p["sni"] == "localhost" and p["resumed"] == str(i > 0)
        assert r.headers["connection"] == "close"
    assert responses[0].peer_certificate == ssl.PEM_cert_to_DER_cert(open(pki.server_cert).read())


def test_example_client_against_stdlib_server(pki: Pki) -> None:
    """CPython's asyncio TLS (ssl.SSLContext) as the server; its tickets
    resumed by the tern client."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1]
        tls: Any = writer.get_extra_info("ssl_object")
        body = b"stdlib " + path + b" " + str(tls.session_reused).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    async def main() -> List[ex.Response]:
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.minimum_version = ssl.TLSVersion.TLSv1_3
        sctx.load_cert_chain(pki.server_cert, pki.server_key)
        sctx.set_alpn_protocols(["http/1.1"])
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        cctx = tern_client_ctx(pki)
        out = []
        async with server:
            first = await ex.get(cctx, "localhost", port, "/a")
            out.append(first)
            out.append(await ex.get(cctx, "localhost", port, "/b", session=first.sessions[-1]))
        return out

    first, second = run(main())
    assert first.status == 200 and first.body == b"stdlib /a False"
    assert first.alpn == "http/1.1" and first.version == "TLSv1.3" and first.sessions
    assert second.resumed and second.body == b"stdlib /b True"


def test_stdlib_client_against_example_server(pki: Pki) -> None:
    """CPython's asyncio TLS as the client: two requests kept alive on one
    connection, then Connection: close ending in a clean close_notify."""
    async def main() -> Tuple[List[bytes], bytes, str]:
        server = await ex.start_server(tern_server_ctx(pki))
        port = server.sockets[0].getsockname()[1]
        cctx = ssl.create_default_context(cafile=pki.ca)
        cctx.set_alpn_protocols(["http/1.1"])
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx,
                                                           server_hostname="localhost")
            alpn = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            heads = []
            for path in ("/one", "/two"):
                writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
                heads.append(head + await reader.readexactly(length))
            writer.write(b"GET /last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            rest = await reader.read()  # to the close_notify; a bare EOF would raise
            writer.close()
        return heads, rest, alpn

    heads, rest, alpn = run(main())
    assert alpn == "http/1.1"
    assert b"Connection: keep-alive" in heads[0] and b"path /one" in heads[0]
    assert b"path /two" in heads[1] and b"version TLSv1.3" in heads[1]
    assert rest.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in rest and b"path /last" in rest


def test_example_client_against_tern_server_program(pki: Pki) -> None:
    """`tern server --www` (tools/, the C program) as the server."""
    tern_bin = os.environ.get("TERN_BIN")
    if not tern_bin or not os.path.exists(tern_bin):
        pytest.skip("TERN_BIN (the tern program) not given: run through meson test")
    proc = subprocess.Popen([tern_bin, "server", "--cert", pki.server_cert, "--key", pki.server_key,
                             "--www", "--port", "0", "--workers", "1", "--alpn", "http/1.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        port = 0
        for line in proc.stdout:  # the listening line comes first; no race on the port
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port

        async def main() -> Tuple[ex.Response, ex.Response]:
            cctx = tern_client_ctx(pki)
            first = await ex.get(cctx, "localhost", port, "/from-asyncio")
            second = await ex.get(cctx, "localhost", port, "/again", session=first.sessions[0])
            return first, second

        first, second = run(main())
    finally:
        proc.terminate()
        proc.wait(30)
    assert first.status == 200 and first.alpn == "http/1.1"
    assert b"/from-asyncio" in first.body and b"TLS_AES_128_GCM_SHA256" in first.body
    assert not first.resumed and second.resumed and b"/again" in second.body


def test_curl_against_example_server(pki: Pki) -> None:
    found = shutil.which("curl")
    if found is None:
        pytest.skip("no curl")
    curl: str = found

    async def main() -> Tuple[bytes, int]:
        server = await ex.start_server(tern_server_ctx(pki))
        port = server.sockets[0].getsockname()[1]
        async with server:
            p = await asyncio.create_subprocess_exec(
                curl, "-sS", "--cacert", pki.ca, "--tlsv1.3", f"https://localhost:{port}/curl",
                f"https://localhost:{port}/curl2", stdout=asyncio.subprocess.PIPE)
            out, _ = await p.communicate()
            return out, p.returncode or 0

    out, rc = run(main())
    assert rc == 0
    assert out.count(b"version TLSv1.3") == 2 and b"path /curl2" in out
    assert b"alpn http/1.1" in out


def test_bad_certificate_fails_the_client_only(pki: Pki) -> None:
    """A client that does not trust the server's CA gets a
    CertificateError; the server goes on serving the next client."""
    async def main() -> Tuple[BaseException, ex.Response, List[str]]:
        served: List[str] = []
        server = await ex.start_server(tern_server_ctx(pki), served=served)
        port = server.sockets[0].getsockname()[1]
        async with server:
            try:
                await ex.get(tern_client_ctx(pki, pki.other_ca), "localhost", port, "/nope")
                raise AssertionError("an untrusted server was accepted")
            except tern.CertificateError as e:
                err: BaseException = e
            ok = await ex.get(tern_client_ctx(pki), "localhost", port, "/yes")
        return err, ok, served

    err, ok, served = run(main())
    assert isinstance(err, tern.CertificateError) and err.alert_name == "unknown_ca"
    assert ok.status == 200 and served == ["/yes"]


def test_example_command_line(pki: Pki) -> None:
    """The example as a program: the server in one process, the client
    (two GETs, the second resumed) in another."""
    env = dict(os.environ)
    srv = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "https_asyncio.py"), "server",
                            pki.server_cert, pki.server_key, "0"],
                           stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert srv.stdout is not None
        m = re.search(r":(\d+)$", srv.stdout.readline().strip())
        assert m
        out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "https_asyncio.py"), "get",
                              f"https://localhost:{m.group(1)}/cli", pki.ca],
                             capture_output=True, text=True, timeout=TIMEOUT, env=env)
    finally:
        srv.terminate()
        srv.wait(30)
    assert out.returncode == 0, out.stderr
    assert "resumed=False" in out.stderr and "resumed=True" in out.stderr
    assert out.stdout.count("path /cli") == 2
