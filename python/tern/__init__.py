"""tern: TLS 1.3 for Python, over tern's handshake engine in C.

Two APIs over one configuration type, TLSContext:

* TLSContext.wrap_bio() gives a TLSObject, TLS 1.3 over memory buffers
  with the shape of ssl.SSLObject, plus what TLS 1.3 adds (tickets as
  Session objects, 0-RTT, post-handshake authentication, key update,
  exporters, external PSKs).
* tern.quic gives what a QUIC stack needs: a Context driven with
  handshake bytes per encryption level and a callback per secret, and
  QUIC packet protection.

Every failure is a TLSError (with .alert, .alert_name, .detail) or one
of its subclasses.
"""
import ssl as _ssl
from typing import Callable, Iterable, Optional, Tuple, Union

from ._tern import (
    CIPHER_SUITES,
    GROUPS,
    SIGNATURE_SCHEMES,
    TERN_VERSION,
    CertificateError,
    DecryptError,
    EarlyDataStatus,
    HandshakeFailure,
    InternalError,
    IssuedTicket,
    ProtocolError,
    Session,
    TLSError,
    TLSObject,
    UnexpectedEOF,
    WantRead,
    alert_name,
    gil_stats,
    group_name,
    signature_scheme_name,
    suite_name,
)
from ._tern import TLSContext as _TLSContext

__all__ = [
    "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED", "CIPHER_SUITES", "GROUPS",
    "PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER", "SIGNATURE_SCHEMES",
    "TERN_VERSION", "CertificateError", "DecryptError", "EarlyDataStatus",
    "HandshakeFailure", "InternalError", "IssuedTicket", "ProtocolError", "Session",
    "TLSContext", "TLSError", "TLSObject", "UnexpectedEOF", "WantRead",
    "alert_name", "create_default_context", "gil_stats", "group_name",
    "signature_scheme_name", "suite_name",
]

PROTOCOL_TLS_CLIENT = _ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = _ssl.PROTOCOL_TLS_SERVER
CERT_NONE = _ssl.CERT_NONE
CERT_OPTIONAL = _ssl.CERT_OPTIONAL
CERT_REQUIRED = _ssl.CERT_REQUIRED


class TLSContext(_TLSContext):
    """The settings of many TLS 1.3 connections of one role, as ssl.SSLContext.

    TLSContext(protocol=PROTOCOL_TLS_CLIENT or PROTOCOL_TLS_SERVER). Make
    TCP connections with wrap_bio() and QUIC ones with
    tern.quic.Context(is_client, context=ctx). A server shares one context
    among its connections: it holds the ticket key and the register that
    keeps each ticket single-use. Configure it before the first connection:
    a context in use raises ValueError when changed.
    """

    def set_psk_client_callback(
        self, callback: Optional[Callable[[Optional[str]], Tuple[Optional[str], bytes]]]
    ) -> None:
        """An external PSK for a client, in the shape of Python 3.13's.

        callback(hint) returns (identity, psk). TLS 1.3 has no identity
        hint, and tern holds its PSKs in the configuration, so the callback
        runs once, now, with None, and the PSK it returns is offered in
        every ClientHello of this context (SHA-256, as OpenSSL's PSK
        callbacks use in TLS 1.3). None removes nothing: PSKs stay.
        """
        if callback is None:
            return
        identity, psk = callback(None)
        if identity is None:
            raise ValueError("the PSK client callback must give an identity")
        self.add_psk(identity.encode("utf-8"), bytes(psk))

    def set_psk_server_callback(
        self,
        callback: Optional[Callable[[Optional[str]], bytes]],
        identity_hint: Optional[str] = None,
        *,
        identities: Iterable[Union[str, bytes]] = (),
    ) -> None:
        """External PSKs for a server, in the shape of Python 3.13's.

        callback(identity) returns the PSK of an identity (b'' for none).
        tern looks a client's identity up among the PSKs of the
        configuration, so the identities the server knows are given here
        (identities=) and the callback runs once for each, now; those it
        returns a key for are accepted (SHA-256). identity_hint is TLS
        1.2's and is ignored.
        """
        del identity_hint  # TLS 1.2 only
        if callback is None:
            return
        for ident in identities:
            name = ident if isinstance(ident, str) else ident.decode("utf-8")
            psk = callback(name)
            if psk:
                self.add_psk(name.encode("utf-8"), bytes(psk))


def create_default_context(
    purpose: _ssl.Purpose = _ssl.Purpose.SERVER_AUTH,
    *,
    cafile: Optional[str] = None,
    capath: Optional[str] = None,
    cadata: Optional[Union[str, bytes]] = None,
) -> TLSContext:
    """A context as ssl.create_default_context makes one.

    For Purpose.SERVER_AUTH (the default) a client context that verifies
    the server against the given anchors, or the system's when none are
    given; for Purpose.CLIENT_AUTH a server context.
    """
    if purpose == _ssl.Purpose.SERVER_AUTH:
        ctx = TLSContext(PROTOCOL_TLS_CLIENT)
    else:
        ctx = TLSContext(PROTOCOL_TLS_SERVER)
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    elif purpose == _ssl.Purpose.SERVER_AUTH:
        ctx.load_default_certs()
    return ctx
