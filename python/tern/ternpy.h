/*
 * ternpy.h - what the files of the extension module tern._tern share.
 *
 * The module is a thin layer over include/tern.h: TLSContext holds a
 * tern_config, TLSObject and QuicConnection each hold one tern_conn,
 * Key holds a tern_quic_key. tern's own work (handshake steps, record
 * and packet protection) runs with the GIL released; tern's callbacks
 * (secrets, keylog, tickets, server name) take it back for the Python
 * code they call (see conn.c).
 */
#ifndef TERNPY_H
#define TERNPY_H

/* With Py_LIMITED_API (the python_limited_api option, on by default) the
   module keeps to CPython 3.11's limited API and is built once for every
   CPython from 3.11 on (abi3); the code is the same without it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdlib.h>
#include <string.h>
#include <tern.h>

/* Py_XSETREF, which the limited API lacks: the slot takes the new
   reference, then drops the old one (if any). */
#define TERNPY_SETREF(slot, value)      \
  do {                                  \
    PyObject *old_ = (PyObject *)(slot); \
    (slot) = (value);                   \
    Py_XDECREF(old_);                   \
  } while (0)

/* Instances of the module's heap types (module.c): allocated and freed
   through the type's slots; freeing drops the instance's reference to its
   type. */
PyObject *ternpy_alloc_object(PyTypeObject *type);
void ternpy_free_object(PyObject *self);

/* Exceptions (errors.c). */
extern PyObject *TernErr_TLSError, *TernErr_ProtocolError, *TernErr_CertificateError,
    *TernErr_HandshakeFailure, *TernErr_DecryptError, *TernErr_WantRead,
    *TernErr_UnexpectedEOF, *TernErr_InternalError;
int ternpy_errors_init(PyObject *module);
/* Raises the exception for tern result code rc, with the connection's
   alert and detail when c is given; always returns NULL. */
PyObject *ternpy_raise(int rc, const tern_conn *c);
/* Raises TLSError (or cls) with a detail and no alert; returns NULL. */
PyObject *ternpy_raise_detail(PyObject *cls, const char *detail);
/* Raises for a failed setter: ValueError for bad arguments, else as
   ternpy_raise. Returns -1. */
int ternpy_setter_error(int rc, const char *what);

/* Names (names.c): suites, groups, signature schemes by name or number. */
int ternpy_suite_code(PyObject *item, uint16_t *out);
int ternpy_group_code(PyObject *item, uint16_t *out);
int ternpy_sigalg_code(PyObject *item, uint16_t *out);
/* Reads a list of names/numbers (or a ':'-separated string) into out[cap]
   with parse; returns the count or -1. */
Py_ssize_t ternpy_code_list(PyObject *seq, int (*parse)(PyObject *, uint16_t *),
                            uint16_t *out, Py_ssize_t cap, const char *what);
PyObject *ternpy_name_or_none(const char *name);
/* The items of an iterable as a new tuple, or TypeError(message). */
PyObject *ternpy_tuple_of(PyObject *seq, const char *message);
int ternpy_names_init(PyObject *module);

/* Time in milliseconds since the Unix epoch (session blobs are kept
   across processes, so the epoch must be a shared one). */
uint64_t ternpy_now_ms(void);
uint64_t ternpy_clock(void *user);

/* Sessions (session.c). */
typedef struct {
  PyObject_HEAD
  PyObject *blob;          /* bytes: tern's session blob */
  uint32_t max_early_data; /* what the ticket allows; 0: no 0-RTT */
} SessionObject;
extern PyTypeObject *Session_Type; /* made from Session_Spec by the module */
extern PyType_Spec Session_Spec;
PyObject *ternpy_session_new(const uint8_t *blob, size_t len, uint32_t max_early_data);
/* tern.IssuedTicket (a struct sequence: ticket, lifetime, max_early_data),
   what a server's session_ticket_handler receives. */
extern PyTypeObject *IssuedTicket_Type;
int ternpy_issued_ticket_init(PyObject *module);
PyObject *ternpy_issued_ticket_new(const uint8_t *ticket, size_t len, uint32_t lifetime,
                                   uint32_t max_early_data);

/* Certificates and keys from memory or files (certs.c, libcrypto). */
struct x509_st;
struct stack_st_X509;
struct evp_pkey_st;
struct x509_store_st;
/* Parses PEM (one or more certificates) or DER (one or more, concatenated)
   into leaf + rest of chain; sets a Python exception and returns -1 on
   failure. */
int ternpy_parse_chain(const uint8_t *data, size_t len, struct x509_st **leaf,
                       struct stack_st_X509 **chain);
/* Parses a PEM or DER private key, decrypting with password (may be NULL). */
int ternpy_parse_key(const uint8_t *data, size_t len, const char *password,
                     struct evp_pkey_st **key);
/* Adds PEM or DER certificates to store as trust anchors. */
int ternpy_store_add(struct x509_store_st *store, const uint8_t *data, size_t len);
int ternpy_store_load(struct x509_store_st *store, const char *file, const char *dir);
int ternpy_store_default(struct x509_store_st *store);
/* ssl-shaped dict of a DER certificate (subject, issuer, dates, SAN). */
PyObject *ternpy_decode_cert(const uint8_t *der, size_t len);
void ternpy_x509_free(struct x509_st *leaf, struct stack_st_X509 *chain);
void ternpy_pkey_free(struct evp_pkey_st *key);
struct x509_store_st *ternpy_store_new(void);
void ternpy_store_free(struct x509_store_st *store);

/* TLSContext (context.c): a tern_config and the Python callbacks it
   calls, shared by many connections. */
typedef struct {
  PyObject_HEAD
  tern_config *cfg;
  tern_role role;
  int protocol;          /* the ssl.PROTOCOL_TLS_* number it was made with */
  int verify_mode;       /* ssl.CERT_NONE 0, CERT_OPTIONAL 1, CERT_REQUIRED 2 */
  int check_hostname;
  int post_handshake_auth;
  int frozen;            /* 1 once a connection was made from it */
  int has_cert;          /* a chain was set (servers add later ones) */
  unsigned num_tickets;
  uint32_t ticket_lifetime;
  uint32_t max_early_data;
  uint32_t early_data_window;
  int psk_ke;
  size_t record_padding;
  struct x509_store_st *store; /* our trust anchors (NULL until some are loaded) */
  PyObject *alpn;        /* tuple of str, or NULL */
  PyObject *keylog_callback; /* callable(line: str) or NULL */
  PyObject *keylog_file;     /* file object opened for keylog_filename, or NULL */
  PyObject *keylog_filename;
  PyObject *sni_callback;
  PyObject *weakreflist;
  /* read by tern's callbacks without the GIL (__atomic): whether a keylog
     or an SNI callback is set, so handshakes without one never take it */
  int keylog_on, sni_on;
} ContextObject;
extern PyTypeObject *Context_Type; /* made from Context_Spec by the module */
extern PyType_Spec Context_Spec;
/* Marks ctx as in use by a connection (its configuration then stays). */
void ternpy_context_freeze(ContextObject *ctx);

/* The part of a connection both kinds share (conn.c). */
typedef struct {
  PyObject_HEAD
  tern_conn *conn;
  ContextObject *ctx;
  PyThreadState *tstate; /* saved while tern runs without the GIL */
  int busy;              /* tern is running (another thread must wait) */
  int in_callback;       /* a tern callback is running Python code */
  int broken;            /* a callback raised: the connection is unusable */
  PyObject *exc_type, *exc_value, *exc_tb; /* the first callback's exception */
  PyObject *sessions;    /* list of Session received (clients) */
  PyObject *session_handler; /* client: callable(Session); server:
                                callable(IssuedTicket); or NULL */
  PyObject *ticket_fetcher;  /* server: callable(bytes) -> object, or NULL */
  PyObject *weakreflist;
} ConnObject;

/* Starts a call into tern on self: fails (exception set, -1) when another
   thread or a callback is already inside one. */
int ternpy_conn_enter(ConnObject *self);
/* Ends it: returns -1 with the first callback exception set, if any. */
int ternpy_conn_leave(ConnObject *self);
/* What tern.gil_stats() measures (conn.c): while ternpy_gil_stats_on,
   the monotonic nanoseconds spent with the GIL released in TERNPY_NOGIL,
   and of those the time callbacks held it again. Off, it costs a branch. */
extern int ternpy_gil_stats_on;
extern uint64_t ternpy_nogil_ns, ternpy_callback_ns;
uint64_t ternpy_mono_ns(void);
/* Releases the GIL around one tern call that may call back (the callback
   trampolines take it back through self->tstate). */
#define TERNPY_NOGIL(self, stmt)                                                 \
  do {                                                                           \
    int stats_ = ternpy_gil_stats_on;                                            \
    uint64_t t0_ = 0;                                                            \
    (self)->tstate = PyEval_SaveThread();                                        \
    if (stats_) t0_ = ternpy_mono_ns();                                          \
    stmt;                                                                        \
    if (stats_)                                                                  \
      __atomic_add_fetch(&ternpy_nogil_ns, ternpy_mono_ns() - t0_, __ATOMIC_RELAXED); \
    PyEval_RestoreThread((self)->tstate);                                        \
    (self)->tstate = NULL;                                                       \
  } while (0)
/* In a callback: takes the GIL (when released) and returns the connection;
   ternpy_cb_end gives the GIL back. */
ConnObject *ternpy_cb_begin(const tern_conn *c);
void ternpy_cb_end(ConnObject *self);
/* Records the Python exception raised in a callback. */
void ternpy_cb_error(ConnObject *self);
/* For methods that only read: fails while tern runs on another thread. */
int ternpy_conn_check_idle(ConnObject *self);
/* Installs the callbacks every connection's configuration gets. */
int ternpy_config_callbacks(ContextObject *ctx);
void ternpy_conn_clear(ConnObject *self);
int ternpy_conn_traverse(ConnObject *self, visitproc visit, void *arg);
/* Methods both kinds of connection share. */
PyObject *ternpy_conn_export(ConnObject *self, PyObject *args, PyObject *kw, int early);
PyObject *ternpy_conn_peer_cert(ConnObject *self);

extern PyTypeObject *TLSObject_Type; /* made from TLSObject_Spec by the module */
extern PyType_Spec TLSObject_Spec;
extern PyTypeObject *QuicConnection_Type; /* made from QuicConnection_Spec by the module */
extern PyType_Spec QuicConnection_Spec;
extern PyTypeObject *Key_Type; /* made from Key_Spec by the module */
extern PyType_Spec Key_Spec;
int ternpy_quic_functions_init(PyObject *module);
extern PyMethodDef ternpy_quic_functions[];

#endif
