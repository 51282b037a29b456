"""tinyquic: a deliberately small QUIC (RFC 9000) in pure Python, with
tern doing the TLS 1.3 handshake (tern.quic.Context) and the packet
protection (tern.quic.Key).

It has what a handshake, one stream and a 0-RTT resumption need over a
loopback, and nothing else: Initial, 0-RTT, Handshake and 1-RTT packets,
CRYPTO, STREAM, PADDING, PING, HANDSHAKE_DONE and CONNECTION_CLOSE frames
(ACK frames are read and skipped), 8-byte connection IDs, QUIC version 1.
There is no loss recovery, flow control, congestion control, migration
or Retry: datagrams on a loopback arrive, in order.

The TLS side is the shim a QUIC stack written for another engine needs:
its levels are RFC 9001's epochs (tern.quic.Level), the secret callback
installs a tern.quic.Key per level and direction, and handle_message turns
the CRYPTO data of a level into the CRYPTO data to send, per level.
"""
import os
import socket
from typing import Callable, Dict, List, Optional, Tuple

import tern
from tern.quic import VERSION_1, Context, Direction, Key, Level, initial_secrets

CID_LEN = 8
MAX_CRYPTO_CHUNK = 1000
MIN_INITIAL_DATAGRAM = 1200  # RFC 9000 §14.1
FRAME_PADDING, FRAME_PING, FRAME_ACK, FRAME_ACK_ECN, FRAME_CRYPTO = 0x00, 0x01, 0x02, 0x03, 0x06
FRAME_CLOSE, FRAME_CLOSE_APP, FRAME_HANDSHAKE_DONE = 0x1C, 0x1D, 0x1E
LONG_TYPE = {Level.INITIAL: 0, Level.ZERO_RTT: 1, Level.HANDSHAKE: 2}
LEVEL_OF_TYPE = {0: Level.INITIAL, 1: Level.ZERO_RTT, 2: Level.HANDSHAKE}


class QuicError(Exception):
    """The peer broke the protocol, or closed the connection."""


def varint(v: int) -> bytes:
    if v < 0x40:
        return bytes([v])
    if v < 0x4000:
        return (v | 0x4000).to_bytes(2, "big")
    if v < 0x40000000:
        return (v | 0x80000000).to_bytes(4, "big")
    return (v | 0xC000000000000000).to_bytes(8, "big")


def read_varint(b: bytes, i: int) -> Tuple[int, int]:
    if i >= len(b):
        raise QuicError("truncated varint")
    n = 1 << (b[i] >> 6)
    if i + n > len(b):
        raise QuicError("truncated varint")
    v = b[i] & 0x3F
    for k in range(1, n):
        v = v << 8 | b[i + k]
    return v, i + n


def limits() -> bytes:
    """The parameters 0-RTT depends on (RFC 9000 §7.4.1): stream and
    connection credit. A server's tickets remember them (the early-data
    context), so 0-RTT is refused when they change."""
    params = [(0x04, varint(1 << 20)), (0x05, varint(1 << 18)), (0x08, varint(4))]
    return b"".join(varint(k) + varint(len(v)) + v for k, v in params)


def transport_parameters(scid: bytes, odcid: Optional[bytes] = None) -> bytes:
    """RFC 9000 §18.2: the limits, our Source Connection ID and (server)
    the client's original Destination Connection ID."""
    out = limits() + varint(0x0F) + varint(len(scid)) + scid
    if odcid is not None:
        out = varint(0x00) + varint(len(odcid)) + odcid + out
    return out


class Connection:
    """One QUIC connection, client or server, over a UDP socket."""

    def __init__(self, tls: Context, sock: socket.socket, peer: Tuple[str, int],
                 dcid: bytes, scid: bytes) -> None:
        self.tls = tls
        self.is_client = tls.is_client
        self.sock = sock
        self.peer = peer
        self.dcid, self.scid = dcid, scid
        self.keys: Dict[Tuple[Level, Direction], Key] = {}
        self.crypto_sent = {lv: 0 for lv in Level}
        self.crypto_recv: Dict[Level, Dict[int, bytes]] = {lv: {} for lv in Level}
        self.crypto_next = {lv: 0 for lv in Level}
        self.pn_next = {0: 0, 1: 0, 2: 0}  # packet number spaces: Initial, Handshake, application
        self.largest = {0: -1, 1: -1, 2: -1}
        self.stream_out = b""
        self.stream_out_fin = False
        self.stream_in: Dict[int, bytes] = {}
        self.stream_fin_at: Optional[int] = None
        self.stream_sent_in_0rtt = False
        self.stream_flushed = False
        self.handshake_done = False
        self.closed: Optional[str] = None
        self.datagrams_sent = 0
        self.packets_by_level: Dict[Level, int] = {lv: 0 for lv in Level}  # sent and received
        self.on_stream: Optional[Callable[["Connection", bytes], None]] = None
        tls.secret_callback = self._install

    # ---- TLS: the shim ----

    def _install(self, direction: Direction, level: Level, suite: int, secret: bytes) -> None:
        self.keys[(level, direction)] = Key(VERSION_1, suite, secret)

    def install_initial_keys(self, client_dcid: bytes) -> None:
        client, server = initial_secrets(VERSION_1, client_dcid)
        mine, theirs = (client, server) if self.is_client else (server, client)
        self.keys[(Level.INITIAL, Direction.WRITE)] = Key(VERSION_1, 0x1301, mine)
        self.keys[(Level.INITIAL, Direction.READ)] = Key(VERSION_1, 0x1301, theirs)

    def start(self) -> None:
        """Client: the ClientHello, then 0-RTT stream data when a ticket allows."""
        self.install_initial_keys(self.dcid)
        self._tls(b"", Level.INITIAL)
        if (Level.ZERO_RTT, Direction.WRITE) in self.keys and self.stream_out:
            self.stream_sent_in_0rtt = True
            self._send_stream(Level.ZERO_RTT)

    def _tls(self, data: bytes, level: Level) -> None:
        try:
            out = self.tls.handle_message(data, level)
        except tern.TLSError as e:
            # RFC 9001 §4.8: CRYPTO_ERROR 0x100 + alert
            self.close(0x100 + (e.alert or 80), str(e))
            raise
        for lv, chunk in sorted(out.items()):
            self._send_crypto(lv, chunk)
        if self.tls.handshake_complete and not self.handshake_done:
            self.handshake_done = True
            if not self.is_client:
                self._send(Level.ONE_RTT, bytes([FRAME_HANDSHAKE_DONE]))
            if self.is_client and self.stream_out and not self.stream_flushed:
                # not sent yet, or sent as 0-RTT the server refused: send it as 1-RTT
                if not self.stream_sent_in_0rtt or not self.tls.early_data_accepted:
                    self._send_stream(Level.ONE_RTT)

    # ---- sending ----

    def _space(self, level: Level) -> int:
        return {Level.INITIAL: 0, Level.HANDSHAKE: 1}.get(level, 2)

    def _send_crypto(self, level: Level, data: bytes) -> None:
        for i in range(0, len(data), MAX_CRYPTO_CHUNK):
            chunk = data[i:i + MAX_CRYPTO_CHUNK]
            frame = bytes([FRAME_CRYPTO]) + varint(self.crypto_sent[level]) + varint(len(chunk)) + chunk
            self.crypto_sent[level] += len(chunk)
            self._send(level, frame)

    def _send_stream(self, level: Level) -> None:
        flags = 0x08 | 0x04 | 0x02 | (0x01 if self.stream_out_fin else 0)  # OFF, LEN, FIN
        frame = bytes([flags]) + varint(0) + varint(0) + varint(len(self.stream_out)) + self.stream_out
        self._send(level, frame)
        self.stream_flushed = level != Level.ZERO_RTT

    def send_stream(self, data: bytes, fin: bool = True) -> None:
        """Queues the one stream's data (stream 0); sent at once when keys allow."""
        self.stream_out, self.stream_out_fin = data, fin
        if (Level.ONE_RTT, Direction.WRITE) in self.keys and (self.handshake_done or not self.is_client):
            self._send_stream(Level.ONE_RTT)

    def _send(self, level: Level, frames: bytes) -> None:
        key = self.keys[(level, Direction.WRITE)]
        space = self._space(level)
        pn = self.pn_next[space]
        self.pn_next[space] += 1
        if len(frames) < 4:  # room for the header-protection sample
            frames += bytes(4 - len(frames))
        if level == Level.INITIAL and self.is_client:
            # a client's Initial datagram carries at least 1200 bytes
            overhead = 1 + 4 + 1 + len(self.dcid) + 1 + len(self.scid) + 1 + 2 + 2 + 16
            frames += bytes(max(0, MIN_INITIAL_DATAGRAM - overhead - len(frames)))
        pn_bytes = (pn & 0xFFFF).to_bytes(2, "big")
        if level == Level.ONE_RTT:
            header = bytes([0x40 | 0x01]) + self.dcid + pn_bytes
        else:
            first = 0xC0 | LONG_TYPE[level] << 4 | 0x01
            header = bytes([first]) + VERSION_1.to_bytes(4, "big")
            header += bytes([len(self.dcid)]) + self.dcid + bytes([len(self.scid)]) + self.scid
            if level == Level.INITIAL:
                header += varint(0)  # no token
            header += (0x4000 | (2 + len(frames) + 16)).to_bytes(2, "big") + pn_bytes
        self.sock.sendto(key.protect(pn, header, frames), self.peer)
        self.datagrams_sent += 1
        self.packets_by_level[level] += 1

    def close(self, code: int, reason: str) -> None:
        if self.closed is not None:
            return
        self.closed = reason
        level = Level.ONE_RTT if (Level.ONE_RTT, Direction.WRITE) in self.keys else Level.INITIAL
        if (level, Direction.WRITE) in self.keys:
            why = reason.encode()[:100]
            self._send(level, bytes([FRAME_CLOSE]) + varint(code) + varint(0) + varint(len(why)) + why)

    # ---- receiving ----

    def datagram(self, data: bytes) -> None:
        """Every packet of a datagram (coalesced ones too), each in turn."""
        while data and self.closed is None:
            used = self._packet(data)
            data = data[used:]

    def _packet(self, data: bytes) -> int:
        first = data[0]
        if first & 0x80:
            level = LEVEL_OF_TYPE.get((first >> 4) & 0x03)
            if level is None:
                raise QuicError("Retry is not handled")
            scid_at = 6 + data[5]
            if self.is_client and level in (Level.INITIAL, Level.HANDSHAKE):
                # the server's chosen Source Connection ID is our DCID from now on
                self.dcid = data[scid_at + 1:scid_at + 1 + data[scid_at]]
        else:
            level = Level.ONE_RTT
        key = self.keys.get((level, Direction.READ))
        if key is None:
            return len(data)  # keys not there yet: a real stack would buffer; drop
        space = self._space(level)
        largest = self.largest[space]
        try:
            _, payload, pn, used = key.unprotect(data, CID_LEN, None if largest < 0 else largest)
        except tern.DecryptError:
            return len(data)  # RFC 9000 §12.2: drop what does not open
        self.largest[space] = max(largest, pn)
        self.packets_by_level[level] += 1
        self._frames(level, payload)
        return used

    def _frames(self, level: Level, p: bytes) -> None:
        i = 0
        while i < len(p):
            t = p[i]
            i += 1
            if t in (FRAME_PADDING, FRAME_PING):
                continue
            if t in (FRAME_ACK, FRAME_ACK_ECN):
                _, i = read_varint(p, i)
                _, i = read_varint(p, i)
                count, i = read_varint(p, i)
                _, i = read_varint(p, i)
                for _ in range(2 * count + (3 if t == FRAME_ACK_ECN else 0)):
                    _, i = read_varint(p, i)
            elif t == FRAME_CRYPTO:
                off, i = read_varint(p, i)
                n, i = read_varint(p, i)
                self._crypto(level, off, p[i:i + n])
                i += n
            elif 0x08 <= t <= 0x0F:
                sid, i = read_varint(p, i)
                off = 0
                if t & 0x04:
                    off, i = read_varint(p, i)
                n = len(p) - i
                if t & 0x02:
                    n, i = read_varint(p, i)
                if sid != 0 or level in (Level.INITIAL, Level.HANDSHAKE):
                    raise QuicError("stream data on stream %d at %s" % (sid, level.name))
                self._stream(off, p[i:i + n], bool(t & 0x01))
                i += n
            elif t == FRAME_HANDSHAKE_DONE:
                if not self.is_client:
                    raise QuicError("HANDSHAKE_DONE from a client")
            elif t in (FRAME_CLOSE, FRAME_CLOSE_APP):
                code, i = read_varint(p, i)
                if t == FRAME_CLOSE:
                    _, i = read_varint(p, i)
                n, i = read_varint(p, i)
                self.closed = "peer closed: 0x%x %s" % (code, p[i:i + n].decode(errors="replace"))
                return
            else:
                raise QuicError("unknown frame type 0x%x" % t)

    def _crypto(self, level: Level, off: int, data: bytes) -> None:
        self.crypto_recv[level][off] = data
        ready = b""
        while self.crypto_next[level] in self.crypto_recv[level]:
            chunk = self.crypto_recv[level].pop(self.crypto_next[level])
            ready += chunk
            self.crypto_next[level] += len(chunk)
        if ready:
            self._tls(ready, level)

    def _stream(self, off: int, data: bytes, fin: bool) -> None:
        self.stream_in[off] = data
        if fin:
            self.stream_fin_at = off + len(data)
        if self.stream_fin_at is not None and self.on_stream is not None:
            got, at = b"", 0
            while at in self.stream_in:
                got += self.stream_in[at]
                at += len(self.stream_in[at])
            if at == self.stream_fin_at:
                handler, self.on_stream = self.on_stream, None
                handler(self, got)


def new_cid() -> bytes:
    return os.urandom(CID_LEN)


class Server:
    """Accepts connections on one socket; answers each stream with handler."""

    def __init__(self, context: tern.TLSContext, sock: socket.socket,
                 handler: Callable[[bytes], bytes]) -> None:
        self.context = context
        self.sock = sock
        self.handler = handler
        self.by_cid: Dict[bytes, Connection] = {}
        self.connections: List[Connection] = []

    def datagram(self, data: bytes, addr: Tuple[str, int]) -> None:
        if not data:
            return
        dcid = data[6:6 + data[5]] if data[0] & 0x80 else data[1:1 + CID_LEN]
        conn = self.by_cid.get(dcid)
        if conn is None:
            if not data[0] & 0x80 or (data[0] >> 4) & 0x03 != 0 or len(data) < MIN_INITIAL_DATAGRAM:
                return  # only an Initial of full size starts a connection
            scid_at = 6 + data[5]
            client_scid = data[scid_at + 1:scid_at + 1 + data[scid_at]]
            scid = new_cid()
            tp = transport_parameters(scid, odcid=dcid)
            tls = Context(False, context=self.context, transport_parameters=tp,
                          early_data_context=limits())
            conn = Connection(tls, self.sock, addr, client_scid, scid)
            conn.install_initial_keys(dcid)
            conn.on_stream = lambda c, request: c.send_stream(self.handler(request))
            self.by_cid[dcid] = self.by_cid[scid] = conn
            self.connections.append(conn)
        conn.datagram(data)


def client_connect(sock: socket.socket, server: Tuple[str, int], request: bytes,
                   pump: Callable[[], None], session: Optional[tern.Session] = None,
                   register: Optional[Callable[[Connection], None]] = None,
                   **tls_settings: object) -> Tuple[Connection, bytes, List[tern.Session]]:
    """Connects, sends request on stream 0 (as 0-RTT when session allows),
    and returns the connection, the response and the tickets received.
    register(conn) runs before the first packet leaves (so whoever reads
    the socket knows the connection); pump() moves pending datagrams once."""
    tickets: List[tern.Session] = []
    dcid, scid = new_cid(), new_cid()
    tls = Context(True, transport_parameters=transport_parameters(scid), session_ticket=session,
                  session_ticket_handler=tickets.append, **tls_settings)  # type: ignore[arg-type]
    conn = Connection(tls, sock, server, dcid, scid)
    response: List[bytes] = []
    conn.on_stream = lambda c, data: response.append(data)
    conn.stream_out, conn.stream_out_fin = request, True
    if register is not None:
        register(conn)
    conn.start()
    for _ in range(200):
        if (response and tickets) or conn.closed is not None:
            break
        pump()
    if conn.closed is not None:
        raise QuicError(conn.closed)
    if not response:
        raise QuicError("no response")
    return conn, response[0], tickets
