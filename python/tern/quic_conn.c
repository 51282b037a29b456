/*
 * quic_conn.c - the C half of tern.quic.Context: one QUIC-mode
 * connection (tern_conn_new_quic) driven the way a Python QUIC stack
 * drives its TLS engine. handle_message(data, level) takes CRYPTO frame
 * bytes received at a level and returns the handshake bytes to send, per
 * level; the secret callback gets (direction, level, cipher_suite,
 * secret) at the moment tern installs each secret, in RFC 9001's order
 * (a level's write secret before its read secret where §5.7 needs it).
 * tern.quic.Context (quic.py) adds the keyword arguments that build a
 * private TLSContext.
 */
#include "ternpy.h"

extern PyObject *TernEnum_EarlyDataStatus;
PyObject *ternpy_level(int lv);
PyObject *ternpy_direction(int dir);

typedef struct {
  ConnObject base;
  int is_client;
  int started;
  uint8_t *out[4];
  size_t out_len[4], out_cap[4];
  PyObject *secret_callback;
  PyObject *transport_parameters; /* bytes we send */
} QuicObject;

#define CONN(self) ((self)->base.conn)
#define BASE(self) (&(self)->base)

static int on_secret(tern_conn *c, tern_level level, tern_direction dir, uint16_t suite,
                     const uint8_t *secret, size_t len) {
  QuicObject *self = tern_conn_user(c);
  PyObject *r;
  int rc = 0;
  if (self == NULL || self->secret_callback == NULL) return 0;
  ternpy_cb_begin(c);
  r = PyObject_CallFunction(self->secret_callback, "NNiy#",
                            ternpy_direction((int)dir), ternpy_level((int)level), (int)suite,
                            secret, (Py_ssize_t)len);
  if (r == NULL) {
    ternpy_cb_error(BASE(self));
    rc = -1;
  }
  Py_XDECREF(r);
  ternpy_cb_end(BASE(self));
  return rc;
}

/* Handshake bytes to send: kept per level until handle_message returns
   (no Python here, so no GIL). */
static int on_send(tern_conn *c, tern_level level, const uint8_t *data, size_t len) {
  QuicObject *self = tern_conn_user(c);
  size_t need;
  if (self == NULL || (unsigned)level > 3) return -1;
  need = self->out_len[level] + len;
  if (need > self->out_cap[level]) {
    size_t cap = self->out_cap[level] ? self->out_cap[level] : 2048;
    uint8_t *nb;
    while (cap < need) cap *= 2;
    nb = realloc(self->out[level], cap);
    if (nb == NULL) return -1;
    self->out[level] = nb;
    self->out_cap[level] = cap;
  }
  memcpy(self->out[level] + self->out_len[level], data, len);
  self->out_len[level] = need;
  return 0;
}

static const tern_quic_callbacks quic_callbacks = {on_secret, on_send};

/* {Level: bytes} of everything queued, emptying the queues. */
static PyObject *take_output(QuicObject *self) {
  PyObject *d = PyDict_New();
  if (d == NULL) return NULL;
  for (int lv = 0; lv < 4; lv++) {
    PyObject *k, *v;
    int rc;
    if (self->out_len[lv] == 0) continue;
    k = ternpy_level(lv);
    v = PyBytes_FromStringAndSize((const char *)self->out[lv], (Py_ssize_t)self->out_len[lv]);
    rc = k && v ? PyDict_SetItem(d, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (rc < 0) {
      Py_DECREF(d);
      return NULL;
    }
    self->out_len[lv] = 0;
  }
  return d;
}

static int parse_level(PyObject *o, tern_level *lv) {
  long v = PyLong_AsLong(o);
  if (v == -1 && PyErr_Occurred()) return -1;
  if (v < 0 || v > 3) {
    PyErr_SetString(PyExc_ValueError, "a level is 0..3 (tern.quic.Level)");
    return -1;
  }
  *lv = (tern_level)v;
  return 0;
}

static PyObject *quic_handle_message(QuicObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"data", "level", NULL};
  Py_buffer data;
  PyObject *level_o = NULL;
  tern_level level = TERN_LEVEL_INITIAL;
  int rc = TERN_OK, leave;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O:handle_message", kwlist, &data, &level_o))
    return NULL;
  if ((level_o != NULL && parse_level(level_o, &level) < 0) || ternpy_conn_enter(BASE(self)) < 0) {
    PyBuffer_Release(&data);
    return NULL;
  }
  TERNPY_NOGIL(BASE(self), {
    if (data.len > 0) rc = tern_quic_provide_data(CONN(self), level, data.buf, (size_t)data.len);
    if (rc == TERN_OK && (data.len > 0 || !self->started) &&
        (self->is_client || data.len > 0)) {
      self->started = 1;
      rc = tern_handshake(CONN(self));
    }
  });
  PyBuffer_Release(&data);
  leave = ternpy_conn_leave(BASE(self));
  if (leave < 0) return NULL;
  if (rc < 0) {
    /* nothing queued goes out after a failure: the stack closes with
       CRYPTO_ERROR 0x100 + alert instead */
    for (int lv = 0; lv < 4; lv++) self->out_len[lv] = 0;
    return ternpy_raise(rc, CONN(self));
  }
  return take_output(self);
}

static PyObject *quic_send_tickets(QuicObject *self, PyObject *args) {
  unsigned int n = 1;
  int rc, leave;
  if (!PyArg_ParseTuple(args, "|I:send_tickets", &n)) return NULL;
  if (ternpy_conn_enter(BASE(self)) < 0) return NULL;
  TERNPY_NOGIL(BASE(self), rc = tern_conn_send_tickets(CONN(self), n));
  leave = ternpy_conn_leave(BASE(self));
  if (leave < 0) return NULL;
  if (rc == TERN_ERR_STATE && tern_conn_alert(CONN(self)) == 0)
    return ternpy_raise_detail(TernErr_TLSError,
                               "tickets are sent by a server after its handshake");
  if (rc < 0) return ternpy_raise(rc, CONN(self));
  return take_output(self);
}

static PyObject *quic_export(QuicObject *self, PyObject *args, PyObject *kw) {
  return ternpy_conn_export(BASE(self), args, kw, 0);
}
static PyObject *quic_export_early(QuicObject *self, PyObject *args, PyObject *kw) {
  return ternpy_conn_export(BASE(self), args, kw, 1);
}

/* ---- construction ---- */

static int set_tp(QuicObject *self, PyObject *v) {
  Py_buffer b;
  int rc;
  if (PyObject_GetBuffer(v, &b, PyBUF_SIMPLE) < 0) return -1;
  rc = tern_quic_set_transport_params(CONN(self), b.buf, (size_t)b.len);
  PyBuffer_Release(&b);
  if (rc == TERN_ERR_STATE) {
    PyErr_SetString(PyExc_ValueError, "transport parameters are set before the handshake");
    return -1;
  }
  if (rc != TERN_OK) return ternpy_setter_error(rc, "transport parameters");
  {
    PyObject *old = self->transport_parameters;
    self->transport_parameters = PyBytes_FromObject(v);
    Py_XDECREF(old);
  }
  return self->transport_parameters ? 0 : -1;
}

static int set_ticket(QuicObject *self, PyObject *v) {
  SessionObject *s;
  int rc;
  if (!PyObject_TypeCheck(v, Session_Type)) {
    PyErr_SetString(PyExc_TypeError, "session_ticket is a tern.Session");
    return -1;
  }
  if (!self->is_client || self->started) {
    PyErr_SetString(PyExc_ValueError, "a client sets its session ticket before the handshake");
    return -1;
  }
  s = (SessionObject *)v;
  rc = tern_conn_set_session(CONN(self), (const uint8_t *)PyBytes_AsString(s->blob),
                             (size_t)PyBytes_Size(s->blob), ternpy_now_ms());
  if (rc == TERN_ERR_MALFORMED || rc == TERN_ERR_INVALID_ARG) {
    PyErr_SetString(PyExc_ValueError, "the session is corrupted");
    return -1;
  }
  return 0; /* expired, another name or suite: a full handshake */
}

static int set_handler(PyObject **slot, PyObject *v, const char *what) {
  if (v == NULL || v == Py_None) {
    Py_CLEAR(*slot);
    return 0;
  }
  if (!PyCallable_Check(v)) {
    PyErr_Format(PyExc_TypeError, "%s must be callable or None", what);
    return -1;
  }
  TERNPY_SETREF(*slot, Py_NewRef(v));
  return 0;
}

static int quic_init(QuicObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"context", "is_client", "server_name", "transport_parameters",
                           "session_ticket", "secret_callback", "session_ticket_handler",
                           "early_data_context", "session_ticket_fetcher", NULL};
  PyObject *ctx_o, *name = Py_None, *tp = NULL, *ticket = Py_None, *secret_cb = Py_None,
                   *handler = Py_None, *edc = Py_None, *fetcher = Py_None;
  int is_client;
  ContextObject *ctx;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O!p|$OOOOOOO:QuicConnection", kwlist, Context_Type,
                                   &ctx_o, &is_client, &name, &tp, &ticket, &secret_cb, &handler,
                                   &edc, &fetcher))
    return -1;
  if (CONN(self) != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "the connection is already initialised");
    return -1;
  }
  ctx = (ContextObject *)ctx_o;
  if (is_client != (ctx->role == TERN_CLIENT)) {
    PyErr_SetString(PyExc_ValueError, "is_client does not match the context's protocol");
    return -1;
  }
  if (name != Py_None && !PyUnicode_Check(name)) {
    PyErr_SetString(PyExc_TypeError, "server_name is a str or None");
    return -1;
  }
  if (is_client && ctx->check_hostname && ctx->verify_mode != 0 && name == Py_None) {
    PyErr_SetString(PyExc_ValueError, "a verifying client needs server_name");
    return -1;
  }
  self->is_client = is_client;
  BASE(self)->ctx = (ContextObject *)Py_NewRef(ctx_o);
  if ((BASE(self)->sessions = PyList_New(0)) == NULL) return -1;
  CONN(self) = tern_conn_new_quic(ctx->cfg, &quic_callbacks, self);
  if (CONN(self) == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  ternpy_context_freeze(ctx);
  if (name != Py_None) {
    const char *s = PyUnicode_AsUTF8AndSize(name, NULL);
    if (s == NULL) return -1;
    if (!is_client) {
      PyErr_SetString(PyExc_ValueError, "server_name is for clients");
      return -1;
    }
    if (tern_conn_set_server_name(CONN(self), s) != TERN_OK) {
      PyErr_SetString(PyExc_ValueError, "server_name is not a usable name");
      return -1;
    }
  }
  {
    PyObject *empty = tp ? Py_NewRef(tp) : PyBytes_FromStringAndSize(NULL, 0);
    int rc = empty ? set_tp(self, empty) : -1;
    Py_XDECREF(empty);
    if (rc < 0) return -1;
  }
  if (ticket != Py_None && set_ticket(self, ticket) < 0) return -1;
  if (set_handler(&self->secret_callback, secret_cb, "secret_callback") < 0 ||
      set_handler(&BASE(self)->session_handler, handler, "session_ticket_handler") < 0)
    return -1;
  if (fetcher != Py_None) {
    if (is_client) {
      PyErr_SetString(PyExc_ValueError, "session_ticket_fetcher is for servers");
      return -1;
    }
    if (set_handler(&BASE(self)->ticket_fetcher, fetcher, "session_ticket_fetcher") < 0)
      return -1;
  }
  if (edc != Py_None) {
    Py_buffer b;
    int rc;
    if (is_client) {
      PyErr_SetString(PyExc_ValueError, "early_data_context is for servers");
      return -1;
    }
    if (PyObject_GetBuffer(edc, &b, PyBUF_SIMPLE) < 0) return -1;
    rc = tern_conn_set_early_data_context(CONN(self), b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    if (rc != TERN_OK) return ternpy_setter_error(rc, "early_data_context");
  }
  return 0;
}

/* ---- attributes ---- */

#define IDLE_OR_NULL(self) \
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL

static PyObject *get_is_client(QuicObject *self, void *c) {
  (void)c;
  return PyBool_FromLong(self->is_client);
}
static PyObject *get_done(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return PyBool_FromLong(tern_conn_handshake_done(CONN(self)));
}
static PyObject *get_alpn(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return ternpy_name_or_none(tern_conn_alpn(CONN(self)));
}
static PyObject *get_peer_tp(QuicObject *self, void *c) {
  const uint8_t *p;
  size_t n;
  (void)c;
  IDLE_OR_NULL(self);
  if (tern_quic_peer_transport_params(CONN(self), &p, &n) != TERN_OK) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)n);
}
static PyObject *get_resumed(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return PyBool_FromLong(tern_conn_resumed(CONN(self)));
}
static PyObject *get_early_status(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return PyObject_CallFunction(TernEnum_EarlyDataStatus, "i",
                               (int)tern_conn_early_data_status(CONN(self)));
}
static PyObject *get_early_accepted(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return PyBool_FromLong(tern_conn_early_data_status(CONN(self)) == TERN_EARLY_DATA_ACCEPTED);
}
static PyObject *get_peer_cert(QuicObject *self, void *c) {
  (void)c;
  return ternpy_conn_peer_cert(BASE(self));
}
static PyObject *code_or_none(QuicObject *self, uint16_t (*f)(const tern_conn *)) {
  uint16_t v;
  IDLE_OR_NULL(self);
  v = f(CONN(self));
  if (v == 0) Py_RETURN_NONE;
  return PyLong_FromLong(v);
}
static PyObject *get_suite(QuicObject *self, void *c) {
  (void)c;
  return code_or_none(self, tern_conn_cipher_suite);
}
static PyObject *get_group(QuicObject *self, void *c) {
  (void)c;
  return code_or_none(self, tern_conn_group);
}
static PyObject *get_sigalg(QuicObject *self, void *c) {
  (void)c;
  return code_or_none(self, tern_conn_signature_scheme);
}
static PyObject *get_hrr(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return PyBool_FromLong(tern_conn_used_hrr(CONN(self)));
}
static PyObject *get_server_name(QuicObject *self, void *c) {
  (void)c;
  IDLE_OR_NULL(self);
  return ternpy_name_or_none(tern_conn_server_name(CONN(self)));
}
static PyObject *get_alert(QuicObject *self, void *c) {
  uint8_t a;
  (void)c;
  IDLE_OR_NULL(self);
  a = tern_conn_alert(CONN(self));
  if (a == 0) Py_RETURN_NONE;
  return PyLong_FromLong(a);
}
static PyObject *get_psk_identity(QuicObject *self, void *c) {
  const uint8_t *id;
  size_t len;
  (void)c;
  IDLE_OR_NULL(self);
  if (tern_conn_psk_identity(CONN(self), &id, &len) != TERN_OK) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize((const char *)id, (Py_ssize_t)len);
}
static PyObject *get_sessions(QuicObject *self, void *c) {
  (void)c;
  if (BASE(self)->sessions == NULL) return PyList_New(0);
  return PyList_GetSlice(BASE(self)->sessions, 0, PY_SSIZE_T_MAX);
}
static PyObject *get_context(QuicObject *self, void *c) {
  (void)c;
  return Py_NewRef(BASE(self)->ctx ? (PyObject *)BASE(self)->ctx : Py_None);
}
static PyObject *get_tp(QuicObject *self, void *c) {
  (void)c;
  return Py_NewRef(self->transport_parameters ? self->transport_parameters : Py_None);
}
static int put_tp(QuicObject *self, PyObject *v, void *c) {
  (void)c;
  if (v == NULL) {
    PyErr_SetString(PyExc_AttributeError, "cannot delete transport_parameters");
    return -1;
  }
  if (ternpy_conn_check_idle(BASE(self)) < 0) return -1;
  return set_tp(self, v);
}
static PyObject *get_secret_cb(QuicObject *self, void *c) {
  (void)c;
  return Py_NewRef(self->secret_callback ? self->secret_callback : Py_None);
}
static int put_secret_cb(QuicObject *self, PyObject *v, void *c) {
  (void)c;
  return set_handler(&self->secret_callback, v, "secret_callback");
}
static PyObject *get_handler(QuicObject *self, void *c) {
  (void)c;
  return Py_NewRef(BASE(self)->session_handler ? BASE(self)->session_handler : Py_None);
}
static int put_handler(QuicObject *self, PyObject *v, void *c) {
  (void)c;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return -1;
  return set_handler(&BASE(self)->session_handler, v, "session_ticket_handler");
}
static PyObject *get_fetcher(QuicObject *self, void *c) {
  (void)c;
  return Py_NewRef(BASE(self)->ticket_fetcher ? BASE(self)->ticket_fetcher : Py_None);
}
static int put_fetcher(QuicObject *self, PyObject *v, void *c) {
  (void)c;
  if (self->is_client && v != NULL && v != Py_None) {
    PyErr_SetString(PyExc_ValueError, "session_ticket_fetcher is for servers");
    return -1;
  }
  if (ternpy_conn_check_idle(BASE(self)) < 0) return -1;
  return set_handler(&BASE(self)->ticket_fetcher, v, "session_ticket_fetcher");
}
static int put_ticket(QuicObject *self, PyObject *v, void *c) {
  (void)c;
  if (v == NULL || v == Py_None) {
    PyErr_SetString(PyExc_ValueError, "a session ticket cannot be removed once set");
    return -1;
  }
  if (ternpy_conn_check_idle(BASE(self)) < 0) return -1;
  return set_ticket(self, v);
}
static PyObject *get_ticket(QuicObject *self, void *c) {
  Py_ssize_t n;
  (void)c;
  if (BASE(self)->sessions == NULL || (n = PyList_Size(BASE(self)->sessions)) == 0)
    Py_RETURN_NONE;
  return Py_NewRef(PyList_GetItem(BASE(self)->sessions, n - 1));
}

static int quic_traverse(QuicObject *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE((PyObject *)self));
  Py_VISIT(self->secret_callback);
  return ternpy_conn_traverse(BASE(self), visit, arg);
}

static int quic_clear(QuicObject *self) {
  Py_CLEAR(self->secret_callback);
  ternpy_conn_clear(BASE(self));
  return 0;
}

static void quic_dealloc(QuicObject *self) {
  PyObject_GC_UnTrack(self);
  if (BASE(self)->weakreflist != NULL) PyObject_ClearWeakRefs((PyObject *)self);
  quic_clear(self);
  tern_conn_free(CONN(self));
  Py_CLEAR(BASE(self)->ctx);
  Py_CLEAR(self->transport_parameters);
  for (int lv = 0; lv < 4; lv++) free(self->out[lv]);
  ternpy_free_object((PyObject *)self);
}

#define KW (PyCFunction)(void (*)(void))
static PyMethodDef quic_methods[] = {
    {"handle_message", KW quic_handle_message, METH_VARARGS | METH_KEYWORDS,
     "handle_message(data, level=Level.INITIAL) -> dict[Level, bytes]\n\nTakes CRYPTO frame "
     "bytes received at a level (in order; cut anywhere) and returns the handshake bytes to "
     "send in CRYPTO frames, per level. A client's first call, with b'', makes the ClientHello. "
     "After the handshake, keep passing 1-RTT CRYPTO data (tickets). Raises the TLSError that "
     "ended the handshake: close with CRYPTO_ERROR 0x100 + exc.alert."},
    {"send_tickets", (PyCFunction)quic_send_tickets, METH_VARARGS,
     "send_tickets(n=1) -> dict[Level, bytes]\n\nServer, after the handshake: issues n more "
     "tickets now; returns the bytes to send."},
    {"export_keying_material", KW quic_export, METH_VARARGS | METH_KEYWORDS,
     "export_keying_material(label, context=None, length=32) -> bytes\n\nThe TLS exporter "
     "(RFC 8446 §7.5), once the handshake is complete."},
    {"export_early_keying_material", KW quic_export_early, METH_VARARGS | METH_KEYWORDS,
     "export_early_keying_material(label, context=None, length=32) -> bytes\n\nThe early "
     "exporter, once 0-RTT was offered (client) or accepted (server)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef quic_getset[] = {
    {"is_client", (getter)get_is_client, NULL, "True for a client.", NULL},
    {"handshake_complete", (getter)get_done, NULL, "True once the handshake is complete.", NULL},
    {"alpn_negotiated", (getter)get_alpn, NULL, "The ALPN protocol both chose, or None.", NULL},
    {"peer_transport_parameters", (getter)get_peer_tp, NULL,
     "The peer's quic_transport_parameters extension body (RFC 9000 §18), or None before it "
     "arrived.",
     NULL},
    {"session_resumed", (getter)get_resumed, NULL,
     "True when the handshake resumed a session ticket.", NULL},
    {"early_data_status", (getter)get_early_status, NULL,
     "EarlyDataStatus: NONE, OFFERED, ACCEPTED or REJECTED.", NULL},
    {"early_data_accepted", (getter)get_early_accepted, NULL, "True when 0-RTT was accepted.",
     NULL},
    {"peer_certificate", (getter)get_peer_cert, NULL,
     "The peer's leaf certificate (DER), or None (none sent, resumed, PSK).", NULL},
    {"cipher_suite", (getter)get_suite, NULL, "The negotiated suite (IANA number), or None.",
     NULL},
    {"group", (getter)get_group, NULL, "The key-exchange group (IANA number), or None.", NULL},
    {"signature_scheme", (getter)get_sigalg, NULL,
     "The server's CertificateVerify scheme (IANA number), or None.", NULL},
    {"used_hrr", (getter)get_hrr, NULL, "True after a HelloRetryRequest.", NULL},
    {"server_name", (getter)get_server_name, NULL,
     "Client: the name set. Server: the SNI the client sent, or None.", NULL},
    {"alert", (getter)get_alert, NULL, "The alert that ended the connection, or None.", NULL},
    {"psk_identity", (getter)get_psk_identity, NULL,
     "The identity of the external PSK the handshake used, or None.", NULL},
    {"sessions", (getter)get_sessions, NULL, "Every ticket received (client), oldest first.",
     NULL},
    {"session_ticket", (getter)get_ticket, (setter)put_ticket,
     "Set (client, before the handshake) the Session to resume; reads the last ticket "
     "received.",
     NULL},
    {"context", (getter)get_context, NULL, "The TLSContext this connection uses.", NULL},
    {"transport_parameters", (getter)get_tp, (setter)put_tp,
     "Our quic_transport_parameters body (bytes), settable before the handshake.", NULL},
    {"secret_callback", (getter)get_secret_cb, (setter)put_secret_cb,
     "callable(direction, level, cipher_suite, secret) run as each secret is installed.", NULL},
    {"update_traffic_key_cb", (getter)get_secret_cb, (setter)put_secret_cb,
     "The same as secret_callback (the name Python QUIC stacks use).", NULL},
    {"session_ticket_handler", (getter)get_handler, (setter)put_handler,
     "Client: callable(Session) run for each ticket the server sends. Server: "
     "callable(IssuedTicket) run for each ticket this connection issues.", NULL},
    {"session_ticket_fetcher", (getter)get_fetcher, (setter)put_fetcher,
     "Server: callable(ticket: bytes) run when a client offers a ticket that opened under "
     "the context's ticket key and is still valid; a true result resumes it (the fetcher "
     "forgets it: single use), None or false gives a full handshake. None: tern's own "
     "single-use register decides.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef quic_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(QuicObject, base.weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot quic_slots[] = {
    {Py_tp_members, quic_members},
    {Py_tp_dealloc, (void *)quic_dealloc},
    {Py_tp_doc, (void *)("QuicConnection(context, is_client, *, server_name=None, transport_parameters=b'', "
                   "session_ticket=None, secret_callback=None, session_ticket_handler=None, "
                   "early_data_context=None, session_ticket_fetcher=None)\n--\n\n"
                   "One QUIC-mode TLS 1.3 connection on a TLSContext; tern.quic.Context is the "
                   "same with the context built from keyword arguments.")},
    {Py_tp_traverse, (void *)quic_traverse},
    {Py_tp_clear, (void *)quic_clear},
    {Py_tp_methods, (void *)quic_methods},
    {Py_tp_getset, (void *)quic_getset},
    {Py_tp_init, (void *)quic_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {0, NULL}};

PyType_Spec QuicConnection_Spec = {
    .name = "tern.quic.QuicConnection",
    .basicsize = sizeof(QuicObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = quic_slots,
};
PyTypeObject *QuicConnection_Type;
