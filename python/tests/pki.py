"""A small PKI for the tests, made with the openssl command: one CA, and
server (localhost, 127.0.0.1) and client certificates under it, in
ECDSA P-256, RSA and Ed25519."""
import os
import subprocess
from dataclasses import dataclass


@dataclass
class Pki:
    dir: str
    ca: str
    server_cert: str
    server_key: str
    rsa_cert: str
    rsa_key: str
    ed_cert: str
    ed_key: str
    client_cert: str
    client_key: str
    other_ca: str
    stranger_cert: str
    stranger_key: str

    def read(self, name: str) -> bytes:
        with open(getattr(self, name), "rb") as f:
            return f.read()


def _run(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _key(kind: str, path: str, cwd: str) -> None:
    if kind == "ec":
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path, cwd=cwd)
    elif kind == "rsa":
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path, cwd=cwd)
    else:
        _run("genpkey", "-algorithm", "ED25519", "-out", path, cwd=cwd)


def _ca(name: str, cwd: str) -> None:
    _key("ec", name + ".key", cwd)
    _run("req", "-x509", "-new", "-key", name + ".key", "-subj", "/CN=" + name, "-days", "30",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
         "-out", name + ".pem", cwd=cwd)


def _leaf(name: str, kind: str, ext: str, cwd: str, ca: str = "ca") -> None:
    _key(kind, name + ".key", cwd)
    _run("req", "-new", "-key", name + ".key", "-subj", "/CN=" + name, "-out", name + ".csr", cwd=cwd)
    with open(os.path.join(cwd, name + ".ext"), "w") as f:
        f.write(ext)
    _run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
         "-CAcreateserial", "-days", "30", "-extfile", name + ".ext", "-out", name + ".pem", cwd=cwd)


def make_pki(d: str) -> Pki:
    _ca("ca", d)
    _ca("other", d)
    server_ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    _leaf("server", "ec", server_ext, d)
    _leaf("rsa", "rsa", server_ext, d)
    _leaf("ed", "ed25519", server_ext, d)
    _leaf("client", "ec", "extendedKeyUsage=clientAuth\n", d)
    _leaf("stranger", "ec", "extendedKeyUsage=clientAuth\n", d, ca="other")

    def p(n: str) -> str:
        return os.path.join(d, n)
    return Pki(d, p("ca.pem"), p("server.pem"), p("server.key"), p("rsa.pem"), p("rsa.key"),
               p("ed.pem"), p("ed.key"), p("client.pem"), p("client.key"), p("other.pem"), p("stranger.pem"), p("stranger.key"))
