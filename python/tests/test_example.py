"""The example QUIC client and server (python/examples) over UDP on the
loopback: a handshake with one stream, then 0-RTT resumption."""
import os
import subprocess
import sys

from pki import Pki

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def test_quic_udp_example(pki: Pki) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([EXAMPLES, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "quic_udp.py"), pki.server_cert,
                          pki.server_key, pki.ca], capture_output=True, text=True, timeout=60, env=env)
    print(out.stdout, out.stderr)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[-1] == "OK"
    assert "'early_data': 'ACCEPTED'" in lines[1] and "'EARLY': 1" in lines[1]
    assert "'resumed': False" in lines[0] and "'resumed': True" in lines[1]


def test_quic_udp_in_process(pki: Pki) -> None:
    sys.path.insert(0, EXAMPLES)
    try:
        import quic_udp
        first, second = quic_udp.run(pki.server_cert, pki.server_key, pki.ca)
    finally:
        sys.path.remove(EXAMPLES)
    assert first["response"] == b"echo: GET /first" and first["tickets"] == 2
    assert second["resumed"] and second["request_in_0rtt"]
