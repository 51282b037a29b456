"""tern.quic: Context pairs through handle_message, and packet protection
against RFC 9001 Appendix A and RFC 9369 Appendix A."""
import os
import ssl
from typing import Any, Dict, List

import pytest

import tern
from pki import Pki
from quicpair import Side, exchange
from tern.quic import VERSION_1, VERSION_2, Context, Direction, Key, Level

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "vectors")
CTP = b"\x01\x04\x80\x00\x75\x30"  # max_idle_timeout 30000
STP = b"\x03\x02\x45\xc0"  # max_udp_payload_size 1472


def server_ctx(pki: Pki, **kw: Any) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.set_alpn_protocols(["h3"])
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def client(pki: Pki, **kw: Any) -> Side:
    kw.setdefault("alpn_protocols", ["h3"])
    kw.setdefault("cafile", pki.ca)
    kw.setdefault("server_name", "localhost")
    kw.setdefault("transport_parameters", CTP)
    return Side(Context(True, **kw))


def server(ctx: tern.TLSContext, **kw: Any) -> Side:
    kw.setdefault("transport_parameters", STP)
    return Side(Context(False, context=ctx, **kw))


def test_full_handshake(pki: Pki) -> None:
    c, s = client(pki), server(server_ctx(pki))
    exchange(c, s)
    for side in (c, s):
        assert side.ctx.handshake_complete
        assert side.ctx.alpn_negotiated == "h3"
        assert side.ctx.cipher_suite == 0x1301
        assert side.ctx.group == 0x11EC  # X25519MLKEM768, the default
        assert not side.ctx.session_resumed and not side.ctx.used_hrr
    assert c.ctx.peer_transport_parameters == STP
    assert s.ctx.peer_transport_parameters == CTP
    assert c.ctx.peer_certificate == ssl.PEM_cert_to_DER_cert(open(pki.server_cert).read())
    assert s.ctx.peer_certificate is None
    assert s.ctx.server_name == "localhost"
    # every secret of one side is the other's for the other direction
    assert set(c.secrets) == {(d, lv) for d in Direction for lv in (Level.HANDSHAKE, Level.APPLICATION)}
    for (d, lv), secret in c.secrets.items():
        assert s.secrets[(Direction(1 - d), lv)] == secret
    # RFC 9001 §5.7: the server's 1-RTT write key comes with its first flight,
    # before the client's Finished (its read key) arrives
    assert s.order.index((Direction.WRITE, Level.APPLICATION)) < s.order.index((Direction.READ, Level.APPLICATION))
    assert c.ctx.export_keying_material("EXPORTER-quic", b"c", 40) == \
        s.ctx.export_keying_material("EXPORTER-quic", b"c", 40)
    assert Level.INITIAL in c.sent and Level.HANDSHAKE in c.sent
    assert Level.APPLICATION in s.sent  # the tickets


@pytest.mark.parametrize("suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256"])
def test_suites_and_keys_interoperate(pki: Pki, suite: str) -> None:
    c, s = client(pki, cipher_suites=[suite]), server(server_ctx(pki))
    exchange(c, s)
    assert c.ctx.cipher_suite == tern.quic.Key(VERSION_1, suite, bytes(48 if "384" in suite else 32)).suite
    # the 1-RTT keys the secrets make protect packets the other side opens
    tx = Key(VERSION_1, suite, c.secrets[(Direction.WRITE, Level.APPLICATION)])
    rx = Key(VERSION_1, suite, s.secrets[(Direction.READ, Level.APPLICATION)])
    hdr = b"\x41" + b"\x11" * 8 + b"\x00\x07"
    pkt = tx.protect(7, hdr, b"\x01" * 30)
    h, payload, pn, n = rx.unprotect(pkt, 8, 5)
    assert (h, payload, pn, n) == (hdr, b"\x01" * 30, 7, len(pkt))
    with pytest.raises(tern.DecryptError):
        rx.unprotect(pkt[:-1] + bytes([pkt[-1] ^ 1]), 8)
    assert tx.next().seal(3, b"h", b"data") == Key(VERSION_1, suite, tern.quic.next_secret(
        VERSION_1, suite, c.secrets[(Direction.WRITE, Level.APPLICATION)])).seal(3, b"h", b"data")


def test_hello_retry_request(pki: Pki) -> None:
    sctx = server_ctx(pki)
    sctx.set_groups(["secp384r1"])
    c, s = client(pki), server(sctx)
    exchange(c, s)
    assert c.ctx.used_hrr and s.ctx.used_hrr and c.ctx.group == 0x18


def tickets_of(pki: Pki, sctx: tern.TLSContext, **kw: Any) -> List[tern.Session]:
    got: List[tern.Session] = []
    c, s = client(pki, session_ticket_handler=got.append, **kw), server(sctx)
    exchange(c, s)
    assert got == c.ctx.sessions and len(got) == 2
    return got


def test_resumption(pki: Pki) -> None:
    sctx = server_ctx(pki)
    tickets = tickets_of(pki, sctx)
    assert tickets[0].max_early_data == 0
    c, s = client(pki, session_ticket=tickets[0]), server(sctx)
    exchange(c, s)
    assert c.ctx.session_resumed and s.ctx.session_resumed
    assert c.ctx.peer_certificate is None
    assert c.ctx.early_data_status == tern.EarlyDataStatus.NONE
    # single use: the same ticket again gives a full handshake
    c, s = client(pki, session_ticket=tickets[0]), server(sctx)
    exchange(c, s)
    assert not s.ctx.session_resumed


def test_server_ticket_store(pki: Pki) -> None:
    """session_ticket_handler / session_ticket_fetcher on a server: the
    application keeps the tickets it issued and decides each resumption."""
    sctx = server_ctx(pki, max_early_data=0xFFFFFFFF)
    issued: Dict[bytes, tern.IssuedTicket] = {}
    offered: List[bytes] = []

    def keep(t: tern.IssuedTicket) -> None:
        assert isinstance(t, tern.IssuedTicket) and isinstance(t.ticket, bytes)
        issued[t.ticket] = t

    def fetch(ticket: bytes) -> object:
        offered.append(ticket)
        return issued.pop(ticket, None)  # single use: taken out

    def with_store(**kw: Any) -> Side:
        return server(sctx, session_ticket_handler=keep, session_ticket_fetcher=fetch, **kw)

    got: List[tern.Session] = []

    def cl(**kw: Any) -> Side:  # every ticket a client receives goes to got
        return client(pki, session_ticket_handler=got.append, **kw)

    c, s = cl(max_early_data=1), with_store()
    exchange(c, s)
    assert len(got) == 2 and len(issued) == 2
    first = next(iter(issued.values()))
    assert first.lifetime == 7200 and first.max_early_data == 0xFFFFFFFF
    assert tuple(first) == (first.ticket, first.lifetime, first.max_early_data)
    # held: resumes, with 0-RTT; the fetcher saw the ticket it issued
    c, s = cl(session_ticket=got[0], max_early_data=1), with_store()
    exchange(c, s)
    assert s.ctx.session_resumed and c.ctx.early_data_accepted
    assert offered[-1] not in issued and len(offered) == 1
    # the second use: not held any more, a full handshake
    c, s = cl(session_ticket=got[0]), with_store()
    exchange(c, s)
    assert not s.ctx.session_resumed and c.ctx.handshake_complete and len(offered) == 2
    # revoked by the application: refused though still valid
    issued.clear()
    c, s = client(pki, session_ticket=got[1]), with_store()
    exchange(c, s)
    assert not s.ctx.session_resumed
    # a connection without a fetcher: tern's own register decides
    c, s = client(pki, session_ticket=got[2]), server(sctx)
    exchange(c, s)
    assert s.ctx.session_resumed and len(offered) == 3
    # a fetcher that raises breaks the handshake with the exception
    def broken(ticket: bytes) -> object:
        raise KeyError("store down")
    c, s = client(pki, session_ticket=got[3]), \
        server(sctx, session_ticket_fetcher=broken)
    with pytest.raises(KeyError):
        exchange(c, s)
    # servers only
    with pytest.raises(ValueError):
        client(pki, session_ticket_fetcher=fetch)


def test_zero_rtt_accepted(pki: Pki) -> None:
    sctx = server_ctx(pki, max_early_data=0xFFFFFFFF)
    tickets = tickets_of(pki, sctx, max_early_data=0xFFFFFFFF)
    assert tickets[0].max_early_data == 0xFFFFFFFF
    c, s = client(pki, session_ticket=tickets[0], max_early_data=0xFFFFFFFF), server(sctx)
    exchange(c, s)
    assert c.ctx.early_data_accepted and s.ctx.early_data_accepted
    assert c.ctx.early_data_status == tern.EarlyDataStatus.ACCEPTED
    assert c.secrets[(Direction.WRITE, Level.EARLY)] == s.secrets[(Direction.READ, Level.EARLY)]
    # the 0-RTT write secret comes before any Handshake secret
    assert c.order[0] == (Direction.WRITE, Level.EARLY)
    assert c.ctx.export_early_keying_material("EXPORTER-e") == s.ctx.export_early_keying_material("EXPORTER-e")


def test_zero_rtt_rejected_on_other_transport_context(pki: Pki) -> None:
    sctx = server_ctx(pki, max_early_data=0xFFFFFFFF)
    got: List[tern.Session] = []
    c, s = client(pki, session_ticket_handler=got.append, max_early_data=1), \
        server(sctx, early_data_context=b"params-A")
    exchange(c, s)
    c, s = client(pki, session_ticket=got[0], max_early_data=1), \
        server(sctx, early_data_context=b"params-B")
    exchange(c, s)
    assert c.ctx.session_resumed  # the ticket is good; its 0-RTT is not
    assert c.ctx.early_data_status == tern.EarlyDataStatus.REJECTED
    assert s.ctx.early_data_status == tern.EarlyDataStatus.REJECTED
    assert (Direction.READ, Level.EARLY) not in s.secrets


def test_client_authentication(pki: Pki) -> None:
    sctx = server_ctx(pki)
    sctx.load_verify_locations(pki.ca)
    sctx.verify_mode = ssl.CERT_REQUIRED
    c = client(pki, certificate_chain=open(pki.client_cert).read(), private_key=pki.read("client_key"))
    s = server(sctx)
    exchange(c, s)
    assert s.ctx.peer_certificate == ssl.PEM_cert_to_DER_cert(open(pki.client_cert).read())
    # DER works as well as PEM
    der_chain = ssl.PEM_cert_to_DER_cert(open(pki.client_cert).read())
    c = client(pki, certificate_chain=der_chain, private_key=pki.read("client_key"))
    exchange(c, server(sctx))
    assert c.ctx.handshake_complete
    # no certificate: certificate_required
    c, s = client(pki), server(sctx)
    with pytest.raises(tern.CertificateError) as e:
        exchange(c, s)
    assert e.value.alert == 116 and e.value.alert_name == "certificate_required"
    assert s.ctx.alert == 116


def fail(c: Side, s: Side) -> Any:
    with pytest.raises(tern.TLSError) as e:
        exchange(c, s)
    return e.value


def test_alert_paths(pki: Pki) -> None:
    e = fail(client(pki, cafile=pki.other_ca), server(server_ctx(pki)))
    assert type(e) is tern.CertificateError and e.alert == 48 and "verify" in (e.detail or "")
    e = fail(client(pki, server_name="example.org"), server(server_ctx(pki)))
    assert type(e) is tern.CertificateError and e.alert in (42, 46)
    e = fail(client(pki, alpn_protocols=["h2"]), server(server_ctx(pki)))
    assert type(e) is tern.HandshakeFailure and e.alert == 120
    sctx = server_ctx(pki)
    sctx.set_cipher_suites(["TLS_AES_256_GCM_SHA384"])
    e = fail(client(pki, cipher_suites=["TLS_AES_128_GCM_SHA256"]), server(sctx))
    assert type(e) is tern.HandshakeFailure and e.alert == 40
    # bytes that are no ClientHello: decode_error; CRYPTO data at the 0-RTT level
    # (never allowed, RFC 9001 §4.1.4): unexpected_message; both ProtocolError, sticky
    s = server(server_ctx(pki))
    with pytest.raises(tern.ProtocolError) as pe:
        s.ctx.handle_message(b"\x01\x00\x00\x05\x03\x03\x00\x00\x00", Level.INITIAL)
    assert pe.value.alert_name == "decode_error"
    with pytest.raises(tern.ProtocolError):
        s.ctx.handle_message(b"\x00", Level.INITIAL)
    c = client(pki)
    hello = c.ctx.handle_message(b"", Level.INITIAL)[Level.INITIAL]
    s = server(server_ctx(pki))
    with pytest.raises(tern.ProtocolError) as pe:
        s.ctx.handle_message(hello, Level.ZERO_RTT)
    assert pe.value.alert_name == "unexpected_message"
    with pytest.raises(ValueError):
        s.ctx.handle_message(hello, 7)


def test_callback_exception_propagates(pki: Pki) -> None:
    c, s = client(pki), server(server_ctx(pki))

    def boom(*args: Any) -> None:
        raise KeyError("from the secret callback")

    c.ctx.secret_callback = boom
    with pytest.raises(KeyError, match="from the secret callback"):
        exchange(c, s)
    with pytest.raises(tern.TLSError, match="callback raised"):
        c.ctx.handle_message(b"", Level.INITIAL)


def test_keylog_and_settings_errors(pki: Pki) -> None:
    lines: List[str] = []
    c, s = client(pki, keylog=lines.append), server(server_ctx(pki))
    exchange(c, s)
    assert len(lines) == 5 and all(line.split()[1] == lines[0].split()[1] for line in lines)
    with pytest.raises(TypeError):
        Context(True, context=server_ctx(pki), alpn_protocols=["h3"])
    with pytest.raises(ValueError):
        Context(False, context=tern.TLSContext(tern.PROTOCOL_TLS_CLIENT))
    with pytest.raises(ValueError):
        Context(True, cipher_suites=["TLS_NULL"], server_name="x")
    with pytest.raises(tern.CertificateError):
        Context(False, certificate_chain=b"garbage", private_key=b"garbage")
    with pytest.raises(ValueError):  # a verifying client needs a name
        Context(True, cafile=pki.ca)


# ---- packet protection against the RFCs' vectors ----

def vectors(name: str) -> Dict[str, bytes]:
    out = {}
    with open(os.path.join(VECTORS, name)) as f:
        for line in f:
            if line.startswith("#") or ": " not in line:
                continue
            k, v = line.rstrip("\n").split(": ", 1)
            try:
                out[k] = bytes.fromhex(v)
            except ValueError:
                pass
    return out


@pytest.mark.parametrize("version,name", [(VERSION_1, "rfc9001_initial.txt"), (VERSION_2, "rfc9369_initial.txt")])
def test_rfc_vectors(version: int, name: str) -> None:
    v = vectors(name)
    dcid = v["client dcid (initial destination connection id)"]
    cs, ss = tern.quic.initial_secrets(version, dcid)
    assert cs == v["client_initial_secret"] and ss == v["server_initial_secret"]
    assert tern.quic.derive_keys(version, 0x1301, cs) == (
        v["client initial key"], v["client initial iv"], v["client initial hp"])
    # the client's Initial: protect, then open as the server does
    ck = Key(version, "TLS_AES_128_GCM_SHA256", cs)
    hdr = v["client initial unprotected header"]
    payload = v["client initial unprotected payload (CRYPTO frame, before PADDING to 1162 bytes)"]
    payload += bytes(1162 - len(payload))
    pkt = ck.protect(2, hdr, payload)
    assert pkt == v["client initial protected packet"]
    assert ck.hp_mask(v["client initial sample"]) == v["client initial mask"]
    assert Key(version, 0x1301, cs).unprotect(pkt) == (hdr, payload, 2, len(pkt))
    # the server's Initial
    sk = Key(version, 0x1301, ss)
    spkt = sk.protect(1, v["server initial unprotected header"], v["server initial unprotected payload (ACK + CRYPTO frames)"])
    assert spkt == v["server initial protected packet"]
    assert sk.hp_mask(v["server initial sample"]) == v["server initial mask"]
    # Retry
    retry = v["retry packet (ODCID 8394c8f03e515708 used for the integrity tag, not sent)"]
    assert tern.quic.retry_tag(version, dcid, retry[:-16]) == retry[-16:]
    assert tern.quic.retry_verify(version, dcid, retry)
    assert not tern.quic.retry_verify(version, dcid, retry[:-1] + bytes([retry[-1] ^ 0x80]))
    # ChaCha20 short header, and the key update of its secret
    secret = v["chacha20 short header secret"]
    chk = Key(version, "TLS_CHACHA20_POLY1305_SHA256", secret)
    pn = 654360564
    packet = chk.protect(pn, v["chacha20 short header unprotected header"], v["chacha20 short header payload plaintext"])
    assert packet == v["chacha20 short header packet"]
    assert chk.hp_mask(v["chacha20 short header sample"]) == v["chacha20 short header mask"]
    assert chk.unprotect(packet, 0, pn - 1)[2] == pn
    assert chk.seal(pn, v["chacha20 short header unprotected header"], v["chacha20 short header payload plaintext"]) == \
        v["chacha20 short header payload ciphertext"]
    assert chk.open(pn, v["chacha20 short header unprotected header"], v["chacha20 short header payload ciphertext"]) == \
        v["chacha20 short header payload plaintext"]
    assert tern.quic.next_secret(version, 0x1303, secret) == v["chacha20 short header ku"]
    nxt = chk.next()
    assert nxt.hp_mask(v["chacha20 short header sample"]) == v["chacha20 short header mask"]  # hp stays
    assert nxt.seal(1, b"h", b"x") == Key(version, 0x1303, v["chacha20 short header ku"]).seal(1, b"h", b"x")
    assert nxt.peek_key_phase(packet, 0) == 0


def test_key_argument_errors() -> None:
    with pytest.raises(ValueError):
        Key(3, 0x1301, bytes(32))
    with pytest.raises(ValueError):
        Key(VERSION_1, 0x1302, bytes(32))  # SHA-384 needs 48 bytes
    k = Key(VERSION_1, 0x1301, bytes(32))
    with pytest.raises(tern.DecryptError):
        k.open(0, b"", b"short")
    with pytest.raises(ValueError):
        k.hp_mask(b"x")
    with pytest.raises(ValueError):
        k.protect(0, b"\x40\x00", b"")  # too short to sample
    with pytest.raises(ValueError):
        tern.quic.initial_secrets(VERSION_1, bytes(21))
