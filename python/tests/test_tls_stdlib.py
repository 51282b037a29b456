"""tern.TLSObject against CPython's own ssl module as the peer, both
directions, over memory BIOs and over real sockets."""
import hashlib
import hmac
import os
import socket
import ssl
import threading
from typing import Any, List

import pytest

import tern
from helpers import End, handshake, keylog_lines, pair, sock_call, transfer
from pki import Pki

SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
# the groups the stdlib's OpenSSL offers and tern has (ffdhe is not in tern)
GROUPS = [("x25519", "X25519"), ("secp256r1", "prime256v1"), ("x448", "X448"),
          ("secp384r1", "secp384r1"), ("secp521r1", "secp521r1")]


def std_server(pki: Pki, cert: str = "server") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(getattr(pki, cert + "_cert" if cert != "rsa" else "rsa_cert"),
                        getattr(pki, cert + "_key" if cert != "rsa" else "rsa_key"))
    return ctx


def std_client(pki: Pki) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(pki.ca)
    return ctx


def tern_client(pki: Pki) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca)
    return ctx


def tern_server(pki: Pki) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    return ctx


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("tern_is", ["client", "server"])
def test_suite(pki: Pki, suite: str, tern_is: str) -> None:
    if tern_is == "client":
        t = tern_client(pki)
        t.set_cipher_suites([suite])
        c, s = pair(t, std_server(pki))
    else:
        t = tern_server(pki)
        t.set_cipher_suites([suite])
        c, s = pair(std_client(pki), t)
    for e in (c, s):
        assert e.obj.version() == "TLSv1.3"
        assert e.obj.cipher()[0] == suite
    assert transfer(c, s, b"ping" * 1000) == b"ping" * 1000
    assert transfer(s, c, b"pong" * 30000) == b"pong" * 30000


@pytest.mark.parametrize("group,std_name", GROUPS)
@pytest.mark.parametrize("tern_is", ["client", "server"])
def test_group(pki: Pki, group: str, std_name: str, tern_is: str) -> None:
    if tern_is == "client":
        t = tern_client(pki)
        t.set_groups([group])
        std = std_server(pki)
        c, s = pair(t, std)
        assert c.obj.group() == group
    else:
        t = tern_server(pki)
        t.set_groups([group])
        std = std_client(pki)
        c, s = pair(std, t)
        assert s.obj.group() == group
        # the stdlib client shares x25519 first: any other group is a HelloRetryRequest
        assert s.obj.used_hrr == (group != "x25519")
    assert transfer(c, s, b"x") == b"x"


def test_hrr_forced_by_stdlib_server(pki: Pki) -> None:
    std = std_server(pki)
    std.set_ecdh_curve("secp384r1")
    c, s = pair(tern_client(pki), std)
    assert c.obj.used_hrr and c.obj.group() == "secp384r1"


@pytest.mark.parametrize("cert", ["server", "rsa", "ed"])
def test_server_certificate_types(pki: Pki, cert: str) -> None:
    t = tern_server(pki) if cert == "server" else tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    if cert == "rsa":
        t.load_cert_chain(pki.rsa_cert, pki.rsa_key)
    elif cert == "ed":
        t.load_cert_chain(pki.ed_cert, pki.ed_key)
    c, s = pair(std_client(pki), t)
    assert c.obj.getpeercert()["subject"] == ((("commonName", cert),),)
    c2, s2 = pair(tern_client(pki), std_server(pki, cert))
    assert c2.obj.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(
        open(getattr(pki, "rsa_cert" if cert == "rsa" else cert + "_cert")).read())


@pytest.mark.parametrize("tern_is", ["client", "server"])
def test_alpn_and_sni(pki: Pki, tern_is: str) -> None:
    seen: List[Any] = []
    if tern_is == "client":
        t = tern_client(pki)
        t.set_alpn_protocols(["h2", "http/1.1"])
        std = std_server(pki)
        std.set_alpn_protocols(["http/1.1"])
        std.sni_callback = lambda obj, name, ctx: seen.append(name)
        c, s = pair(t, std)
    else:
        t = tern_server(pki)
        t.set_alpn_protocols(["http/1.1", "h2"])
        t.sni_callback = lambda obj, name, ctx: seen.append(name)
        std = std_client(pki)
        std.set_alpn_protocols(["h2", "http/1.1"])
        c, s = pair(std, t)
        assert s.obj.server_hostname == "localhost"
    assert seen == ["localhost"]
    want = "http/1.1"
    assert c.obj.selected_alpn_protocol() == want
    assert s.obj.selected_alpn_protocol() == want


def test_alpn_mismatch_is_handshake_failure(pki: Pki) -> None:
    t = tern_server(pki)
    t.set_alpn_protocols(["h3"])
    std = std_client(pki)
    std.set_alpn_protocols(["http/1.1"])
    c, s = End(std, False, "localhost"), End(t, True)
    with pytest.raises(tern.HandshakeFailure) as e:
        handshake(c, s)
    assert e.value.alert == 120 and e.value.alert_name == "no_application_protocol"
    s.send_to(c)
    with pytest.raises(ssl.SSLError, match="no application protocol"):
        c.obj.do_handshake()


def test_wrong_name_and_unknown_ca(pki: Pki) -> None:
    c, s = End(tern_client(pki), False, "example.org"), End(std_server(pki), True)
    with pytest.raises(tern.CertificateError) as e:
        handshake(c, s)
    assert e.value.alert_name in ("bad_certificate", "certificate_unknown")
    other = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    other.load_verify_locations(pki.other_ca)
    c, s = End(other, False, "localhost"), End(std_server(pki), True)
    with pytest.raises(tern.CertificateError) as e:
        handshake(c, s)
    assert e.value.alert == 48 and e.value.alert_name == "unknown_ca"
    s.send_to(c)  # nothing more goes back: tern's alert went to the server
    c.send_to(s)
    with pytest.raises(ssl.SSLError, match="(?i)unknown.ca"):
        s.obj.do_handshake()


def test_check_hostname_false_verifies_the_chain_only(pki: Pki) -> None:
    """check_hostname=False with CERT_REQUIRED, as ssl: a wrong name is
    accepted (and still sent as SNI), an unknown CA is not; tern's client
    decides as the stdlib's does with the same settings."""
    def loose(ctx: Any) -> Any:
        ctx.check_hostname = False
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        return ctx

    seen: List[Any] = []
    sctx = std_server(pki)
    sctx.sni_callback = lambda obj, name, ctx: seen.append(name)
    for make in (tern_client, std_client):
        c, s = pair(loose(make(pki)), sctx, hostname="wrong.example")
        assert c.obj.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(open(pki.server_cert).read())
        assert transfer(c, s, b"no name check") == b"no name check"
    assert seen == ["wrong.example", "wrong.example"]
    # the chain still counts
    other = loose(tern.TLSContext(tern.PROTOCOL_TLS_CLIENT))
    other.load_verify_locations(pki.other_ca)
    c, s = End(other, False, "localhost"), End(std_server(pki), True)
    with pytest.raises(tern.CertificateError) as e:
        handshake(c, s)
    assert e.value.alert_name == "unknown_ca"
    # and the default still checks the name
    c, s = End(tern_client(pki), False, "wrong.example"), End(std_server(pki), True)
    with pytest.raises(tern.CertificateError):
        handshake(c, s)
    # turning it back on checks it again; CERT_NONE needs it off, as in ssl
    ctx = loose(tern_client(pki))
    ctx.check_hostname = True
    c, s = End(ctx, False, "wrong.example"), End(std_server(pki), True)
    with pytest.raises(tern.CertificateError):
        handshake(c, s)
    with pytest.raises(ValueError):
        ctx.verify_mode = ssl.CERT_NONE


@pytest.mark.parametrize("tern_is", ["client", "server"])
def test_client_certificates(pki: Pki, tern_is: str) -> None:
    if tern_is == "client":
        t = tern_client(pki)
        t.load_cert_chain(pki.client_cert, pki.client_key)
        std = std_server(pki)
        std.verify_mode = ssl.CERT_REQUIRED
        std.load_verify_locations(pki.ca)
        c, s = pair(t, std)
        assert s.obj.getpeercert()["subject"] == ((("commonName", "client"),),)
    else:
        t = tern_server(pki)
        t.verify_mode = ssl.CERT_REQUIRED
        t.load_verify_locations(pki.ca)
        std = std_client(pki)
        std.load_cert_chain(pki.client_cert, pki.client_key)
        c, s = pair(std, t)
        assert s.obj.getpeercert()["subject"] == ((("commonName", "client"),),)
        # without one: certificate_required
        c2, s2 = End(std_client(pki), False, "localhost"), End(t, True)
        with pytest.raises(tern.CertificateError) as e:
            handshake(c2, s2)
        assert e.value.alert_name == "certificate_required"


def pha_server(pki: Pki) -> tern.TLSContext:
    t = tern_server(pki)
    t.load_verify_locations(pki.ca)
    t.verify_mode = ssl.CERT_REQUIRED
    t.post_handshake_auth = True  # as ssl: no certificate asked for in the handshake
    return t


def pha_client(pki: Pki, who: str = "client") -> ssl.SSLContext:
    std = std_client(pki)
    std.post_handshake_auth = True
    std.load_cert_chain(getattr(pki, who + "_cert"), getattr(pki, who + "_key"))
    return std


def test_post_handshake_auth_with_stdlib_client(pki: Pki) -> None:
    t = pha_server(pki)
    c, s = pair(pha_client(pki), t)
    assert s.obj.getpeercert() is None
    for round_ in range(1, 3):
        s.obj.verify_client_post_handshake()
        assert transfer(s, c, b"please") == b"please"  # the client answers as it reads
        assert transfer(c, s, b"here") == b"here"
        assert s.obj.client_auths_completed == round_
        assert s.obj.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(open(pki.client_cert).read())
        assert s.obj.getpeercert()["subject"] == ((("commonName", "client"),),)


def test_post_handshake_auth_refuses_unknown_ca(pki: Pki) -> None:
    c, s = pair(pha_client(pki, "stranger"), pha_server(pki))
    s.obj.verify_client_post_handshake()
    assert transfer(s, c, b"please") == b"please"
    c.obj.write(b"here")
    c.send_to(s)
    with pytest.raises(tern.CertificateError) as e:
        s.obj.read()
    assert e.value.alert_name == "unknown_ca"


def test_stdlib_client_without_pha_is_refused_pha(pki: Pki) -> None:
    c, s = pair(std_client(pki), tern_server(pki))
    with pytest.raises(tern.TLSError, match="post-handshake"):
        s.obj.verify_client_post_handshake()


@pytest.mark.parametrize("tern_is", ["client", "server"])
def test_exporter_and_keylog_equal(pki: Pki, tmp_path: Any, tern_is: str) -> None:
    lines: List[str] = []
    path = str(tmp_path / "keylog")
    if tern_is == "client":
        t = tern_client(pki)
        t.keylog_callback = lines.append
        std = std_server(pki)
        std.keylog_filename = path
        c, s = pair(t, std)
        tobj, sobj = c.obj, s.obj
    else:
        t = tern_server(pki)
        t.keylog_callback = lines.append
        std = std_client(pki)
        std.keylog_filename = path
        c, s = pair(std, t)
        tobj, sobj = s.obj, c.obj
    # the stdlib (before 3.13) has no exporter: derive OpenSSL's values from
    # the exporter secret it logged (RFC 8446 §7.5)
    secret = bytes.fromhex([ln for ln in keylog_lines(path) if ln.startswith("EXPORTER_SECRET")][0].split()[2])
    hash_name = "sha384" if tobj.cipher()[0] == "TLS_AES_256_GCM_SHA384" else "sha256"
    for label, context, n in [("EXPORTER-test", b"", 32), ("EXPORTER-test", b"ctx", 64),
                              ("EXPORTER-other", None, 16)]:
        mine = tobj.export_keying_material(label, context, n)
        assert mine == tls13_exporter(hash_name, secret, label, context or b"", n)
    assert tobj.export_keying_material("EXPORTER-test", b"", 32) != tobj.export_keying_material(
        "EXPORTER-test", b"x", 32)
    assert sorted(lines) == sorted(keylog_lines(path))
    assert len(lines) == 5  # handshake and traffic secrets both ways, exporter


def hkdf_expand_label(h: str, secret: bytes, label: str, context: bytes, n: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = n.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, i = b"", b"", 1
    while len(out) < n:
        block = hmac.new(secret, block + info + bytes([i]), h).digest()
        out += block
        i += 1
    return out[:n]


def tls13_exporter(h: str, exporter_secret: bytes, label: str, context: bytes, n: int) -> bytes:
    size = hashlib.new(h).digest_size
    derived = hkdf_expand_label(h, exporter_secret, label, hashlib.new(h, b"").digest(), size)
    return hkdf_expand_label(h, derived, "exporter", hashlib.new(h, context).digest(), n)


def test_key_update_against_stdlib(pki: Pki) -> None:
    c, s = pair(tern_client(pki), std_server(pki))
    for i in range(3):
        c.obj.key_update(request_peer=bool(i % 2 == 0))
        assert transfer(c, s, b"after update %d" % i) == b"after update %d" % i
        assert transfer(s, c, b"answer %d" % i) == b"answer %d" % i


def test_stdlib_tickets_resumed_by_tern(pki: Pki) -> None:
    std = std_server(pki)
    t = tern_client(pki)
    c, s = pair(t, std)
    assert len(c.obj.sessions) == 2  # OpenSSL sends two
    c2, s2 = pair(t, std, session=c.obj.sessions[0])
    assert c2.obj.session_reused and s2.obj.session_reused


def test_tern_tickets_resumed_by_tern_and_stdlib_client(pki: Pki) -> None:
    srv = tern_server(pki)
    srv.num_tickets = 3
    c, s = pair(std_client(pki), srv)
    assert c.obj.session is not None
    cl = tern_client(pki)
    c1, s1 = pair(cl, srv)
    assert len(c1.obj.sessions) == 3
    resumed = [pair(cl, srv, session=sess) for sess in c1.obj.sessions]
    assert all(a.obj.session_reused and b.obj.session_reused for a, b in resumed)
    again, s_again = pair(cl, srv, session=c1.obj.sessions[0])  # single-use
    assert not again.obj.session_reused


def test_close_notify_both_ways(pki: Pki) -> None:
    c, s = pair(tern_client(pki), std_server(pki))
    with pytest.raises(ssl.SSLWantReadError):
        c.obj.unwrap()
    c.send_to(s)
    s.obj.unwrap()
    s.send_to(c)
    assert c.obj.unwrap() is None
    assert c.obj.read() == b""
    with pytest.raises(tern.TLSError):
        c.obj.write(b"late")


def test_eof_is_unexpected_eof(pki: Pki) -> None:
    c = End(tern_client(pki), False, "localhost")
    with pytest.raises(tern.WantRead):
        c.obj.do_handshake()
    c.inc.write_eof()
    with pytest.raises(ssl.SSLEOFError):
        c.obj.do_handshake()


# ---- over real sockets ----

def serve_std(ctx: ssl.SSLContext, listener: socket.socket, errors: List[BaseException]) -> None:
    try:
        conn, _ = listener.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                tls.sendall(data.upper())
    except BaseException as e:  # reported by the test
        errors.append(e)


@pytest.mark.parametrize("suite", SUITES)
def test_socket_tern_client_stdlib_server(pki: Pki, suite: str) -> None:
    std = std_server(pki)
    listener = socket.create_server(("127.0.0.1", 0))
    errors: List[BaseException] = []
    th = threading.Thread(target=serve_std, args=(std, listener, errors))
    th.start()
    t = tern_client(pki)
    t.set_cipher_suites(suite)
    sock = socket.create_connection(listener.getsockname(), timeout=10)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = t.wrap_bio(inc, out, server_hostname="localhost")
    sock_call(obj, sock, inc, out, "do_handshake")
    cipher = obj.cipher()
    assert cipher is not None and cipher[0] == suite
    payload = os.urandom(100000).hex().encode()
    sock_call(obj, sock, inc, out, "write", payload)
    got = b""
    while len(got) < len(payload):
        got += sock_call(obj, sock, inc, out, "read", 65536)
    assert got == payload.upper()
    try:
        sock_call(obj, sock, inc, out, "unwrap")
    except (tern.UnexpectedEOF, ConnectionResetError):
        pass  # the stdlib server may close the socket before its close_notify
    sock.close()
    th.join(10)
    listener.close()
    assert not errors, errors


def test_socket_stdlib_client_tern_server(pki: Pki) -> None:
    t = tern_server(pki)
    t.set_alpn_protocols(["echo"])
    listener = socket.create_server(("127.0.0.1", 0))
    result: List[Any] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = t.wrap_bio(inc, out, server_side=True)
            sock_call(obj, conn, inc, out, "do_handshake")
            while True:
                data = sock_call(obj, conn, inc, out, "read", 65536)
                if not data:
                    break
                sock_call(obj, conn, inc, out, "write", data[::-1])
            sock_call(obj, conn, inc, out, "unwrap")
            result.append(obj.selected_alpn_protocol())
            conn.close()
        except BaseException as e:
            result.append(e)

    th = threading.Thread(target=serve)
    th.start()
    std = std_client(pki)
    std.set_alpn_protocols(["echo"])
    with socket.create_connection(listener.getsockname(), timeout=10) as raw:
        with std.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            for n in (1, 1000, 70000):
                msg = os.urandom(n)
                tls.sendall(msg)
                got = b""
                while len(got) < n:
                    got += tls.recv(65536)
                assert got == msg[::-1] or n > 16384  # records may split the reversal
            tls.unwrap()
    th.join(10)
    listener.close()
    assert result == ["echo"], result
