"""A QUIC client and server over UDP on the loopback, with tinyquic and
tern: a full handshake carrying one stream, then a resumption whose
request rides in 0-RTT.

    python3 quic_udp.py CERT KEY CAFILE

prints what each connection did and exits 0 when both went as they
should. Both ends run in this one process, one socket each, moved by a
loop that hands each datagram to its connection.
"""
import select
import socket
import sys
from typing import Dict, List, Optional

import tern
from tinyquic import Connection, Server, client_connect


def run(cert: str, key: str, cafile: str) -> List[Dict[str, object]]:
    ctx = tern.TLSContext(tern.PROTOCOL_TLS_SERVER)  # one per server: tickets and replay register
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["tiny"])
    ctx.max_early_data = 0xFFFFFFFF  # QUIC's 0-RTT marker; flow control limits it

    ssock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ssock.bind(("127.0.0.1", 0))
    csock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    csock.bind(("127.0.0.1", 0))
    server = Server(ctx, ssock, lambda request: b"echo: " + request)
    current: List[Connection] = []

    def pump() -> None:
        """Delivers every datagram waiting on either socket, in order."""
        ready, _, _ = select.select([ssock, csock], [], [], 0.05)
        for sock in ready:
            data, addr = sock.recvfrom(65536)
            if sock is ssock:
                server.datagram(data, addr)
            else:
                current[-1].datagram(data)

    results: List[Dict[str, object]] = []
    session: Optional[tern.Session] = None
    for i, request in enumerate([b"GET /first", b"GET /second (0-RTT)"]):
        conn, response, tickets = client_connect(
            csock, ssock.getsockname(), request, pump, session, register=current.append,
            alpn_protocols=["tiny"], server_name="localhost", cafile=cafile,
            max_early_data=0xFFFFFFFF)
        results.append({
            "connection": i + 1,
            "response": response,
            "alpn": conn.tls.alpn_negotiated,
            "resumed": conn.tls.session_resumed,
            "early_data": conn.tls.early_data_status.name,
            "request_in_0rtt": conn.stream_sent_in_0rtt and conn.tls.early_data_accepted,
            "tickets": len(tickets),
            "packets": {lv.name: n for lv, n in conn.packets_by_level.items() if n},
        })
        session = tickets[0] if tickets else None
    ssock.close()
    csock.close()
    return results


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    results = run(*sys.argv[1:4])
    for r in results:
        print(r)
    first, second = results
    ok = (first["response"] == b"echo: GET /first" and not first["resumed"] and first["tickets"] == 2
          and second["response"] == b"echo: GET /second (0-RTT)" and second["resumed"]
          and second["request_in_0rtt"])
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
