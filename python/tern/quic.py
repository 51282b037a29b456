"""tern.quic: what a Python QUIC stack needs from TLS 1.3 (RFC 9001).

* Context: one connection's handshake, driven by the stack with the
  CRYPTO frame bytes of each encryption level (handle_message), giving
  back the bytes to send per level and, through secret_callback, each
  traffic secret as it is installed.
* Key, initial_secrets, derive_keys, next_secret, retry_tag,
  retry_verify: packet protection, header protection, key update and
  Retry integrity for QUIC versions 1 and 2 (RFC 9001, RFC 9369).

Levels are numbered as RFC 9001's epochs (Level.INITIAL 0, ZERO_RTT 1,
HANDSHAKE 2, ONE_RTT 3) and directions as READ/DECRYPT 0, WRITE/ENCRYPT
1, so a stack written for another engine with the same numbering uses
these unchanged.
"""
import io
from typing import Any, Callable, Iterable, Optional, Union

from . import CERT_NONE, CERT_REQUIRED, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, Session, TLSContext
from ._tern import (
    VERSION_1,
    VERSION_2,
    Direction,
    Key,
    Level,
    QuicConnection,
    derive_keys,
    initial_secrets,
    next_secret,
    retry_tag,
    retry_verify,
)

__all__ = [
    "VERSION_1", "VERSION_2", "Context", "Direction", "Key", "Level",
    "QuicConnection", "derive_keys", "initial_secrets", "next_secret",
    "retry_tag", "retry_verify",
]

_Names = Union[str, Iterable[Union[str, int]]]


def _keylog_writer(keylog: Any) -> Callable[[str], None]:
    if callable(keylog):
        return keylog  # type: ignore[no-any-return]
    if isinstance(keylog, (io.IOBase, io.TextIOBase)) or hasattr(keylog, "write"):
        def write(line: str) -> None:
            keylog.write(line + "\n")
            keylog.flush()
        return write
    raise TypeError("keylog is a callable(line) or a file opened for writing text")


class Context(QuicConnection):
    """One QUIC connection's TLS 1.3 handshake.

    Context(is_client, ...) takes either context= (a TLSContext shared by
    many connections: what a server should do, so that all of them seal
    and open the same tickets and one register keeps each ticket
    single-use) or the settings of a private one:

    alpn_protocols, cafile/capath/cadata and verify_mode (ssl.CERT_*;
    a client verifies by default, against the system's anchors when none
    are given; a server with CERT_OPTIONAL/CERT_REQUIRED asks for a client
    certificate), certificate_chain and private_key (PEM str/bytes or DER
    bytes; password for an encrypted PEM key), cipher_suites, groups,
    key_share_groups and signature_algorithms (names or IANA numbers),
    max_early_data (0-RTT: a server's tickets allow it; a client offers it
    when its ticket allows), keylog (callable(line) or a text file).

    Per connection: server_name (client: SNI and the name checked),
    transport_parameters (our RFC 9000 §18 extension body), session_ticket
    (a Session to resume), session_ticket_handler (client:
    callable(Session) per ticket received; server: callable(IssuedTicket)
    per ticket sent), session_ticket_fetcher (server: callable(ticket
    bytes), see below), secret_callback (callable(direction, level,
    cipher_suite, secret)), early_data_context (server: the transport
    parameters 0-RTT depends on, RFC 9000 §7.4.1).

    A server needs no ticket store: tern's tickets are sealed (AES-256-GCM
    under the context's ticket key) and stateless, and tern's own register
    makes each single-use. A server that wants to keep them anyway (to
    revoke them, or to share single use with other processes) keeps each
    IssuedTicket its session_ticket_handler receives, by .ticket, and
    gives a session_ticket_fetcher that takes it out again: it is called
    with the ticket a client offers (once the ticket opened and is within
    its lifetime) and a true result resumes it, None or false refuses it
    (a full handshake). store.pop(ticket, None) is such a fetcher.
    """

    def __init__(
        self,
        is_client: bool,
        *,
        context: Optional[TLSContext] = None,
        alpn_protocols: Optional[Iterable[str]] = None,
        server_name: Optional[str] = None,
        cafile: Optional[str] = None,
        capath: Optional[str] = None,
        cadata: Optional[Union[str, bytes]] = None,
        verify_mode: Optional[int] = None,
        certificate_chain: Optional[Union[str, bytes]] = None,
        private_key: Optional[Union[str, bytes]] = None,
        password: Optional[Union[str, bytes]] = None,
        cipher_suites: Optional[_Names] = None,
        groups: Optional[_Names] = None,
        key_share_groups: Optional[_Names] = None,
        signature_algorithms: Optional[_Names] = None,
        max_early_data: Optional[int] = None,
        keylog: Any = None,
        session_ticket: Optional[Session] = None,
        session_ticket_handler: Optional[Callable[[Any], object]] = None,
        session_ticket_fetcher: Optional[Callable[[bytes], object]] = None,
        secret_callback: Optional[Callable[[Direction, Level, int, bytes], None]] = None,
        transport_parameters: bytes = b"",
        early_data_context: Optional[bytes] = None,
    ) -> None:
        if context is None or not (
                alpn_protocols is None and cafile is None and capath is None and cadata is None
                and verify_mode is None and certificate_chain is None and private_key is None
                and password is None and cipher_suites is None and groups is None
                and key_share_groups is None and signature_algorithms is None
                and max_early_data is None and keylog is None):
            # (the test above keeps a connection on a shared context, a
            # server's every connection, free of building this dict)
            settings = dict(
                alpn_protocols=alpn_protocols, cafile=cafile, capath=capath, cadata=cadata,
                verify_mode=verify_mode, certificate_chain=certificate_chain,
                private_key=private_key, password=password, cipher_suites=cipher_suites,
                groups=groups, key_share_groups=key_share_groups,
                signature_algorithms=signature_algorithms, max_early_data=max_early_data,
                keylog=keylog)
            if context is not None:
                given = sorted(k for k, v in settings.items() if v is not None)
                raise TypeError("settings of the TLSContext go to the context, not with context=: "
                                + ", ".join(given))
            context = _make_context(is_client, **settings)
        super().__init__(
            context, is_client, server_name=server_name,
            transport_parameters=transport_parameters, session_ticket=session_ticket,
            secret_callback=secret_callback, session_ticket_handler=session_ticket_handler,
            early_data_context=early_data_context, session_ticket_fetcher=session_ticket_fetcher)


def _make_context(is_client: bool, *, alpn_protocols: Optional[Iterable[str]], cafile: Optional[str],
                  capath: Optional[str], cadata: Optional[Union[str, bytes]],
                  verify_mode: Optional[int], certificate_chain: Optional[Union[str, bytes]],
                  private_key: Optional[Union[str, bytes]], password: Optional[Union[str, bytes]],
                  cipher_suites: Optional[_Names], groups: Optional[_Names],
                  key_share_groups: Optional[_Names], signature_algorithms: Optional[_Names],
                  max_early_data: Optional[int], keylog: Any) -> TLSContext:
    ctx = TLSContext(PROTOCOL_TLS_CLIENT if is_client else PROTOCOL_TLS_SERVER)
    if verify_mode is not None:
        if verify_mode == CERT_NONE:
            ctx.check_hostname = False
        ctx.verify_mode = verify_mode  # type: ignore[assignment]
    if cafile is not None or capath is not None or cadata is not None:
        ctx.load_verify_locations(cafile, capath, cadata)
    elif is_client and ctx.verify_mode == CERT_REQUIRED:
        ctx.load_default_certs()
    if certificate_chain is not None:
        ctx.load_cert_chain_data(certificate_chain, private_key, password)
    elif private_key is not None:
        raise ValueError("private_key without certificate_chain")
    if alpn_protocols is not None:
        ctx.set_alpn_protocols(list(alpn_protocols))
    if cipher_suites is not None:
        ctx.set_cipher_suites(cipher_suites)
    if groups is not None:
        ctx.set_groups(groups)
    if key_share_groups is not None:
        ctx.set_key_share_groups(key_share_groups)
    if signature_algorithms is not None:
        ctx.set_signature_algorithms(signature_algorithms)
    if max_early_data is not None:
        ctx.max_early_data = max_early_data
    if keylog is not None:
        ctx.keylog_callback = _keylog_writer(keylog)
    return ctx
