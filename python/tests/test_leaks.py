"""Reference counts and memory stay flat over many handshakes through the
bindings: QUIC pairs (full and resumed, with every callback the bindings
call: secrets, tickets, keylog) and TLSObject pairs (with data, tickets,
exporter, close), failed handshakes too. TERN_LEAK_HANDSHAKES sets how
many (default 20000 QUIC pairs and a quarter as many TLSObject pairs;
the report's figure is from a run with 100000)."""
import gc
import os
import sys
import time
from typing import Any, Callable, List, Optional

import pytest

import tern
from helpers import End, handshake, transfer
from pki import Pki
from tern.quic import Context, Level

N = int(os.environ.get("TERN_LEAK_HANDSHAKES", "20000"))


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Tickets:
    ticket: Optional[tern.Session] = None


def quic_pair(cctx: tern.TLSContext, sctx: tern.TLSContext, state: Tickets) -> None:
    """One pair; every other one resumes the ticket the one before got."""
    resume, state.ticket = state.ticket, None
    got: List[tern.Session] = []
    cl = Context(True, context=cctx, server_name="localhost", transport_parameters=b"\x01\x02\x40\x64",
                 session_ticket=resume, session_ticket_handler=got.append,
                 secret_callback=lambda *a: None)
    sv = Context(False, context=sctx, transport_parameters=b"\x03\x02\x45\xc0")
    queue = [(sv, lv, d) for lv, d in cl.handle_message(b"", Level.INITIAL).items()]
    while queue:
        to, lv, d = queue.pop(0)
        other = cl if to is sv else sv
        queue.extend((other, l2, d2) for l2, d2 in to.handle_message(d, lv).items())
    assert cl.handshake_complete and sv.peer_transport_parameters
    assert cl.session_resumed == (resume is not None)
    if resume is None:
        state.ticket = got[0]


def measure(fn: Callable[[], None], n: int) -> Any:
    for _ in range(min(2000, n // 5)):  # warm up: allocator pools, caches
        fn()
    gc.collect()
    objs, rss, refs = len(gc.get_objects()), rss_kib(), sys.getrefcount(None)
    t = time.monotonic()
    for _ in range(n):
        fn()
    elapsed = time.monotonic() - t
    gc.collect()
    return len(gc.get_objects()) - objs, rss_kib() - rss, sys.getrefcount(None) - refs, elapsed


def report(what: str, n: int, r: Any) -> None:
    print("\n%s: %d handshakes in %.1f s (%.0f/s): objects %+d, RSS %+d KiB, refs to None %+d"
          % (what, n, r[3], n / r[3], r[0], r[1], r[2]))


def test_quic_pairs_flat(pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    sctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(pki.server_cert, pki.server_key)
    sctx.num_tickets = 1
    # the strike register keeps each used ticket until it expires, and gives
    # full handshakes once 16384 live ones fill it: short-lived tickets here
    sctx.ticket_lifetime = 2
    sctx.keylog_callback = lambda line: None
    cctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(pki.ca)
    state = Tickets()
    r = measure(lambda: quic_pair(cctx, sctx, state), N)
    with capsys.disabled():
        report("QUIC pairs (half resumed)", N, r)
    assert abs(r[0]) < 100 and r[1] < 4096 and abs(r[2]) < 100


def test_tls_pairs_and_failures_flat(pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    sctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(pki.server_cert, pki.server_key)
    cctx = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(pki.ca)
    bad = tern.TLSContext(tern.PROTOCOL_TLS_CLIENT)
    bad.load_verify_locations(pki.other_ca)

    def one() -> None:
        c, s = End(cctx, False, "localhost"), End(sctx, True)
        handshake(c, s)
        assert transfer(c, s, b"x" * 100) == b"x" * 100
        c.obj.export_keying_material("EXPORTER-leak", b"", 32)
        c2, s2 = End(bad, False, "localhost"), End(sctx, True)
        try:
            handshake(c2, s2)
        except tern.CertificateError:
            pass
    n = max(1, N // 4)
    r = measure(one, n)
    with capsys.disabled():
        report("TLSObject pairs + failed handshakes", n, r)
    assert abs(r[0]) < 100 and r[1] < 4096 and abs(r[2]) < 100
