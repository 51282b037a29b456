"""tern.TLSObject against itself: what the stdlib cannot peer with (0-RTT,
external PSKs), sessions across processes, threads, and the API's
refusals."""
import pickle
import ssl
import subprocess
import sys
import threading
from typing import Any, List

import pytest

import tern
from helpers import End, handshake, pair, transfer
from pki import Pki


def server(pki: Pki, **kw: Any) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def client(pki: Pki, **kw: Any) -> tern.TLSContext:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def test_zero_rtt_over_tcp(pki: Pki) -> None:
    sctx = server(pki, max_early_data=16384)
    cctx = client(pki, max_early_data=16384)
    c, s = pair(cctx, sctx)
    ticket = c.obj.sessions[0]
    assert ticket.max_early_data == 16384
    c = End(cctx, False, "localhost", ticket)
    s = End(sctx, True)
    assert c.obj.write_early_data(b"GET / early") == 11
    assert c.obj.early_data_status() == tern.EarlyDataStatus.OFFERED
    c.send_to(s)
    assert s.obj.read() == b"GET / early"  # before the handshake completes
    handshake(c, s)
    assert c.obj.early_data_status() == tern.EarlyDataStatus.ACCEPTED
    assert s.obj.early_data_status() == tern.EarlyDataStatus.ACCEPTED
    assert transfer(c, s, b"1-RTT") == b"1-RTT"
    # the same ticket again: resumed no more, and its 0-RTT refused
    c = End(cctx, False, "localhost", ticket)
    s = End(sctx, True)
    c.obj.write_early_data(b"replayed")
    handshake(c, s)
    assert c.obj.early_data_status() == tern.EarlyDataStatus.REJECTED
    with pytest.raises(tern.WantRead):
        s.obj.read()  # the refused early data was skipped
    with pytest.raises(tern.TLSError, match="handshake is complete"):
        c.obj.write_early_data(b"late")


def test_early_data_refusals(pki: Pki) -> None:
    c = End(client(pki), False, "localhost")
    with pytest.raises(tern.TLSError, match="not offered"):
        c.obj.write_early_data(b"no session")


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_external_psk(pki: Pki, hash_name: str) -> None:
    key = bytes(range(32))
    sctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)  # no certificate at all
    sctx.add_psk(b"device-17", key, hash_name)
    cctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.add_psk(b"device-17", key, hash_name)
    c, s = pair(cctx, sctx, hostname=None)
    assert c.obj.psk_identity == s.obj.psk_identity == b"device-17"
    assert c.obj.getpeercert() is None
    assert (c.obj.cipher()[0] == "TLS_AES_256_GCM_SHA384") == (hash_name == "sha384")
    wrong = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    wrong.check_hostname = False
    wrong.add_psk(b"device-17", bytes(32), hash_name)
    c, s = End(wrong, False), End(sctx, True)
    with pytest.raises(tern.DecryptError) as e:
        handshake(c, s)
    assert e.value.alert_name == "decrypt_error"


def test_psk_callbacks_in_the_shape_of_python_313(pki: Pki) -> None:
    keys = {"alice": b"A" * 32, "bob": b"B" * 32}
    sctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    sctx.set_psk_server_callback(lambda ident: keys.get(ident or "", b""), identities=["alice", "bob", "eve"])
    cctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    seen: List[Any] = []

    def cb(hint: Any) -> Any:
        seen.append(hint)
        return "bob", keys["bob"]
    cctx.set_psk_client_callback(cb)
    c, s = pair(cctx, sctx, hostname=None)
    assert seen == [None] and s.obj.psk_identity == b"bob"
    assert transfer(c, s, b"psk data") == b"psk data"


def test_sessions_serialise_and_resume_in_another_process(pki: Pki, tmp_path: Any) -> None:
    sctx = server(pki, num_tickets=4)
    cctx = client(pki)
    c, s = pair(cctx, sctx)
    assert len(c.obj.sessions) == 4 and len(set(c.obj.sessions)) == 4
    sess = c.obj.sessions[1]
    assert tern.Session.from_bytes(sess.to_bytes()) == sess == tern.Session(bytes(sess))
    assert pickle.loads(pickle.dumps(sess)) == sess
    with pytest.raises(ValueError):
        tern.Session(b"\x01junk")
    # another process resumes with the bytes
    blob = tmp_path / "session"
    blob.write_bytes(sess.to_bytes())
    # the other process needs the server's ticket key: share it
    name, key = bytes(range(16)), bytes(range(32))
    sctx2 = server(pki)
    sctx2.set_ticket_key(name, key)
    c, s = pair(cctx, sctx2)
    blob.write_bytes(c.obj.sessions[0].to_bytes())
    code = f"""
import ssl, sys
sys.path.insert(0, {repr(sys.path[0])})
import tern
from helpers import pair
s = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
s.load_cert_chain({pki.server_cert!r}, {pki.server_key!r})
s.set_ticket_key({name!r}, {key!r})
c = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
c.load_verify_locations({pki.ca!r})
a, b = pair(c, s, session=tern.Session.from_bytes(open({str(blob)!r}, 'rb').read()))
print(a.obj.session_reused, b.obj.session_reused)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_context_is_settled_once_in_use(pki: Pki) -> None:
    sctx = server(pki)
    End(sctx, True)
    with pytest.raises(ValueError, match="in use"):
        sctx.set_alpn_protocols(["h2"])
    with pytest.raises(ValueError, match="in use"):
        sctx.num_tickets = 1
    sctx.keylog_callback = print  # callbacks may change
    sctx.keylog_callback = None


def test_wrap_bio_refusals(pki: Pki) -> None:
    cctx = client(pki)
    with pytest.raises(ValueError, match="server_hostname"):
        cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    with pytest.raises(ValueError):
        cctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    with pytest.raises(ValueError):
        tern.TLSContext(3)
    with pytest.raises(TypeError):
        tern.TLSObject()
    with pytest.raises(ValueError, match="CERT_NONE"):
        cctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError):
        client(pki).set_groups(["ffdhe2048"])
    with pytest.raises(tern.CertificateError):
        server(pki).load_cert_chain(pki.server_cert, pki.rsa_key)  # not its key
    with pytest.raises(FileNotFoundError):
        server(pki).load_cert_chain("/nonexistent")


def test_sni_callback_switches_certificate(pki: Pki) -> None:
    rsa = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    rsa.load_cert_chain(pki.rsa_cert, pki.rsa_key)
    sctx = server(pki)
    sctx.sni_callback = lambda obj, name, ctx: setattr(obj, "context", rsa) if name == "localhost" else None
    c, s = pair(client(pki), sctx)
    assert c.obj.getpeercert()["subject"] == ((("commonName", "rsa"),),)
    assert s.obj.context is rsa
    sctx2 = server(pki)
    sctx2.sni_callback = lambda obj, name, ctx: 112
    with pytest.raises(tern.HandshakeFailure) as e:
        pair(client(pki), sctx2)
    assert e.value.alert_name == "unrecognized_name"


def test_handshakes_in_threads(pki: Pki) -> None:
    sctx = server(pki)
    cctx = client(pki)
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                c, s = pair(cctx, sctx)
                assert transfer(c, s, b"t") == b"t"
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_one_connection_from_two_threads_is_refused(pki: Pki) -> None:
    sctx = server(pki)
    got: List[Any] = []
    c = End(client(pki), False, "localhost")
    s = End(sctx, True)

    def keylog(line: str) -> None:  # runs while tern holds the connection
        try:
            c.obj.do_handshake()
        except RuntimeError as e:
            got.append(e)
    ctx = client(pki)
    ctx.keylog_callback = keylog
    c = End(ctx, False, "localhost")
    handshake(c, s)
    assert got and "callback" in str(got[0])


def test_gil_stats_counts_time_without_the_gil(pki: Pki) -> None:
    """tern.gil_stats: off by default (nothing counted), on it counts time
    with the GIL released and the part callbacks took back; each switch
    resets the totals."""
    tern.gil_stats(False)
    pair(client(pki), server(pki))
    assert tern.gil_stats() == (0, 0)
    assert tern.gil_stats(True) == (0, 0)
    lines: List[str] = []

    def slow_keylog(line: str) -> None:
        lines.append(line)
        sum(range(20000))  # some Python time inside the callback
    pair(client(pki, keylog_callback=slow_keylog), server(pki))
    released, callbacks = tern.gil_stats()
    assert lines and 0 < callbacks < released
    total = tern.gil_stats(False)
    assert total[0] >= released and tern.gil_stats() == (0, 0)
    pair(client(pki), server(pki))
    assert tern.gil_stats() == (0, 0)
