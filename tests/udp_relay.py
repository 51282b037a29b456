#!/usr/bin/env python3
"""
udp_relay.py - a small lossy UDP relay for the HTTP/3 tests: it listens on
127.0.0.1, forwards each client's datagrams to the server (one upstream
socket per client address) and the answers back, and on the way drops,
duplicates and reorders a share of them, from a fixed seed:

  - the first datagram of each direction is dropped (the client's first
    Initial, the server's first flight), so the handshake itself must
    recover;
  - then each datagram is dropped with probability --drop, sent twice
    with --dup, or held back and sent after the next one (or 20 ms
    later) with --reorder.

Usage: udp_relay.py --server PORT [--drop P] [--dup P] [--reorder P]
                    [--seed N] [--stats FILE] [--max-seconds S]
Prints "relay listening on 127.0.0.1:PORT" once ready; on SIGTERM (or
after --max-seconds) writes one line of counts per direction to --stats:
  c2s forwarded N dropped N duplicated N reordered N
  s2c ...
"""
import argparse
import random
import select
import signal
import socket
import sys
import time


class Direction:
    def __init__(self, name):
        self.name = name
        self.forwarded = self.dropped = self.duplicated = self.reordered = 0
        self.first = True
        self.held = None  # (deadline, sock, data, addr)

    def line(self):
        return "%s forwarded %d dropped %d duplicated %d reordered %d" % (
            self.name, self.forwarded, self.dropped, self.duplicated, self.reordered)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", type=int, required=True)
    ap.add_argument("--drop", type=float, default=0.05)
    ap.add_argument("--dup", type=float, default=0.03)
    ap.add_argument("--reorder", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--stats")
    ap.add_argument("--max-seconds", type=float, default=120)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    server = ("127.0.0.1", a.server)

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    for s in (front,):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    upstream = {}   # client address -> socket towards the server
    client_of = {}  # upstream socket fd -> client address
    dirs = {"c2s": Direction("c2s"), "s2c": Direction("s2c")}
    stop = [False]

    def on_term(*_):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def emit(d, sock, data, addr):
        try:
            sock.sendto(data, addr)
        except OSError:
            pass
        d.forwarded += 1

    def flush_held(d, now, force=False):
        if d.held and (force or d.held[0] <= now):
            _, sock, data, addr = d.held
            d.held = None
            emit(d, sock, data, addr)

    def relay(d, sock, data, addr):
        now = time.monotonic()
        if d.first:
            d.first = False
            d.dropped += 1
            return
        r = rng.random()
        if r < a.drop:
            d.dropped += 1
            return
        if r < a.drop + a.reorder and d.held is None:
            d.reordered += 1
            d.held = (now + 0.02, sock, data, addr)
            return
        emit(d, sock, data, addr)
        flush_held(d, now, force=True)  # the held one now comes after this one
        if r < a.drop + a.reorder + a.dup:
            d.duplicated += 1
            emit(d, sock, data, addr)

    print("relay listening on 127.0.0.1:%d" % front.getsockname()[1], flush=True)
    end = time.monotonic() + a.max_seconds
    while not stop[0] and time.monotonic() < end:
        socks = [front] + list(upstream.values())
        try:
            ready, _, _ = select.select(socks, [], [], 0.005)
        except InterruptedError:
            continue
        for s in ready:
            try:
                data, addr = s.recvfrom(65536)
            except OSError:
                continue
            if s is front:
                up = upstream.get(addr)
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                    up.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    upstream[addr] = up
                    client_of[up.fileno()] = addr
                relay(dirs["c2s"], up, data, server)
            else:
                relay(dirs["s2c"], front, data, client_of[s.fileno()])
        now = time.monotonic()
        for d in dirs.values():
            flush_held(d, now)
    for d in dirs.values():
        flush_held(d, time.monotonic(), force=True)
    if a.stats:
        with open(a.stats, "w") as f:
            for d in dirs.values():
                f.write(d.line() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
