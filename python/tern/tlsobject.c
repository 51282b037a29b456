/*
 * tlsobject.c - tern.TLSObject: TLS 1.3 over two memory buffers, with
 * the shape of ssl.SSLObject (do_handshake, read, write, pending, unwrap,
 * version, cipher, selected_alpn_protocol, getpeercert, server_hostname,
 * session, session_reused) and what TLS 1.3 adds: several tickets per
 * connection (sessions), 0-RTT (write_early_data, early_data_status),
 * post-handshake authentication, key update, exporters.
 *
 * Bytes move the way ssl's do: each call takes everything waiting in the
 * incoming buffer (incoming.read()), hands it to tern_tls_feed, and
 * writes what tern queued to the outgoing buffer (outgoing.write()).
 * A call that needs more from the peer raises tern.WantRead (an
 * ssl.SSLWantReadError); read() returns b'' once the peer's close_notify
 * has arrived and everything before it was read.
 */
#include "ternpy.h"

typedef struct {
  ConnObject base;
  PyObject *incoming, *outgoing;
  PyObject *server_hostname; /* str or NULL */
  int server_side;
  int started;               /* a client sent its ClientHello */
  uint8_t *in;               /* received bytes tern has not taken yet */
  size_t in_len, in_cap;
} TLSObjectObject;

#define CONN(self) ((self)->base.conn)
#define BASE(self) (&(self)->base)

/* ---- moving bytes ---- */

/* Writes everything tern queued to the outgoing buffer. */
static int flush_out(TLSObjectObject *self) {
  const uint8_t *p;
  size_t n;
  while ((p = tern_tls_output(CONN(self), &n)) != NULL && n > 0) {
    PyObject *b = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)n), *r;
    if (b == NULL) return -1;
    r = PyObject_CallMethod(self->outgoing, "write", "O", b);
    Py_DECREF(b);
    if (r == NULL) return -1;
    Py_DECREF(r);
    tern_tls_output_done(CONN(self), n);
  }
  return 0;
}

/* Takes everything waiting in the incoming buffer. */
static int take_in(TLSObjectObject *self) {
  PyObject *data = PyObject_CallMethod(self->incoming, "read", NULL);
  Py_buffer b;
  if (data == NULL) return -1;
  if (PyObject_GetBuffer(data, &b, PyBUF_SIMPLE) < 0) {
    Py_DECREF(data);
    return -1;
  }
  if (b.len > 0) {
    size_t need = self->in_len + (size_t)b.len;
    if (need > self->in_cap) {
      size_t cap = self->in_cap ? self->in_cap : 4096;
      uint8_t *nb;
      while (cap < need) cap *= 2;
      nb = PyMem_Realloc(self->in, cap);
      if (nb == NULL) {
        PyBuffer_Release(&b);
        Py_DECREF(data);
        PyErr_NoMemory();
        return -1;
      }
      self->in = nb;
      self->in_cap = cap;
    }
    memcpy(self->in + self->in_len, b.buf, (size_t)b.len);
    self->in_len = need;
  }
  PyBuffer_Release(&b);
  Py_DECREF(data);
  return 0;
}

static int incoming_eof(TLSObjectObject *self) {
  PyObject *v = PyObject_GetAttrString(self->incoming, "eof");
  int eof;
  if (v == NULL) {
    PyErr_Clear(); /* a buffer without eof never ends */
    return 0;
  }
  eof = PyObject_IsTrue(v);
  Py_DECREF(v);
  if (eof < 0) PyErr_Clear();
  return eof > 0;
}

/* One step: start a client, feed what arrived, send what tern queued.
   Returns tern's result (< 0: failed, the exception is not set yet), or
   -1000 with a Python exception set. */
#define PYERR -1000
static int step(TLSObjectObject *self) {
  int rc = TERN_OK, leave;
  size_t used = 0;
  if (ternpy_conn_enter(BASE(self)) < 0) return PYERR;
  if (take_in(self) < 0) {
    ternpy_conn_leave(BASE(self));
    return PYERR;
  }
  TERNPY_NOGIL(BASE(self), {
    if (!self->server_side && !self->started) {
      rc = tern_handshake(CONN(self));
      self->started = 1;
      if (rc == TERN_WANT_READ) rc = TERN_OK;
    }
    if (rc >= 0 && self->in_len > 0) rc = tern_tls_feed(CONN(self), self->in, self->in_len, &used);
  });
  if (used > 0) {
    memmove(self->in, self->in + used, self->in_len - used);
    self->in_len -= used;
  }
  leave = ternpy_conn_leave(BASE(self));
  if (flush_out(self) < 0 || leave < 0) return PYERR; /* the alert record goes out too */
  return rc;
}

static PyObject *raise_step(TLSObjectObject *self, int rc) {
  if (rc == PYERR) return NULL;
  return ternpy_raise(rc, CONN(self));
}

static PyObject *want_more(TLSObjectObject *self, const char *doing) {
  if (incoming_eof(self)) return ternpy_raise_detail(TernErr_UnexpectedEOF, doing);
  return ternpy_raise_detail(TernErr_WantRead, "more bytes from the peer are needed");
}

/* ---- the ssl.SSLObject methods ---- */

static PyObject *tls_do_handshake(TLSObjectObject *self, PyObject *unused) {
  int rc;
  (void)unused;
  if (tern_conn_handshake_done(CONN(self))) Py_RETURN_NONE;
  rc = step(self);
  if (rc < 0) return raise_step(self, rc);
  if (tern_conn_handshake_done(CONN(self))) Py_RETURN_NONE;
  return want_more(self, "EOF occurred in violation of protocol (during the handshake)");
}

static PyObject *tls_read(TLSObjectObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"len", "buffer", NULL};
  Py_ssize_t len = 1024;
  PyObject *buffer = Py_None, *out = NULL;
  Py_buffer dst = {0};
  uint8_t *p;
  size_t got = 0;
  int rc;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|nO:read", kwlist, &len, &buffer)) return NULL;
  if (len < 0) {
    PyErr_SetString(PyExc_ValueError, "size should not be negative");
    return NULL;
  }
  if (buffer != Py_None) {
    if (PyObject_GetBuffer(buffer, &dst, PyBUF_WRITABLE) < 0) return NULL;
    if (len == 0 || len > dst.len) len = dst.len;
    p = dst.buf;
  } else {
    if ((out = PyBytes_FromStringAndSize(NULL, len)) == NULL) return NULL;
    p = (uint8_t *)PyBytes_AsString(out);
  }
  if (len == 0) goto done;
  if (ternpy_conn_check_idle(BASE(self)) < 0) goto fail;
  rc = tern_tls_read(CONN(self), p, (size_t)len, &got);
  if (rc == TERN_WANT_READ) {
    rc = step(self);
    if (rc < 0) {
      raise_step(self, rc);
      goto fail;
    }
    rc = tern_tls_read(CONN(self), p, (size_t)len, &got);
  }
  if (rc == TERN_ERR_CLOSED) {
    got = 0; /* close_notify: b'' as ssl gives */
  } else if (rc == TERN_WANT_READ) {
    want_more(self, "EOF occurred in violation of protocol (no close_notify)");
    goto fail;
  } else if (rc < 0) {
    ternpy_raise(rc, CONN(self));
    goto fail;
  }
done:
  if (buffer != Py_None) {
    PyBuffer_Release(&dst);
    return PyLong_FromSize_t(got);
  }
  if ((Py_ssize_t)got != len) { /* the limited API cannot shrink a bytes object */
    PyObject *whole = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)got);
    Py_DECREF(out);
    return whole;
  }
  return out;
fail:
  if (buffer != Py_None) PyBuffer_Release(&dst);
  Py_XDECREF(out);
  return NULL;
}

/* tern_tls_write without the GIL (it encrypts), then the records out. */
static int write_records(TLSObjectObject *self, Py_buffer *b) {
  int rc, leave;
  if (ternpy_conn_enter(BASE(self)) < 0) return PYERR;
  TERNPY_NOGIL(BASE(self), rc = tern_tls_write(CONN(self), b->buf, (size_t)b->len));
  leave = ternpy_conn_leave(BASE(self));
  if (flush_out(self) < 0 || leave < 0) return PYERR;
  return rc;
}

static PyObject *tls_write(TLSObjectObject *self, PyObject *arg) {
  Py_buffer b;
  int rc;
  if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
  if (!tern_conn_handshake_done(CONN(self))) {
    PyObject *r = tls_do_handshake(self, NULL);
    if (r == NULL) {
      PyBuffer_Release(&b);
      return NULL;
    }
    Py_DECREF(r);
  }
  rc = write_records(self, &b);
  PyBuffer_Release(&b);
  if (rc < 0) {
    if (rc == TERN_ERR_STATE && tern_conn_alert(CONN(self)) == 0)
      return ternpy_raise_detail(TernErr_TLSError, "cannot write after unwrap() (close_notify sent)");
    return raise_step(self, rc);
  }
  return PyLong_FromSsize_t(b.len);
}

static PyObject *tls_write_early_data(TLSObjectObject *self, PyObject *arg) {
  Py_buffer b;
  int rc;
  tern_early_data_status st;
  if (self->server_side)
    return ternpy_raise_detail(TernErr_TLSError, "only a client writes early data");
  if (tern_conn_handshake_done(CONN(self)))
    return ternpy_raise_detail(TernErr_TLSError, "the handshake is complete: use write()");
  if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
  if (!self->started) { /* the ClientHello first: it offers the 0-RTT */
    rc = step(self);
    if (rc < 0) {
      PyBuffer_Release(&b);
      return raise_step(self, rc);
    }
  }
  st = tern_conn_early_data_status(CONN(self));
  if (st != TERN_EARLY_DATA_OFFERED && st != TERN_EARLY_DATA_ACCEPTED) {
    PyBuffer_Release(&b);
    return ternpy_raise_detail(TernErr_TLSError,
                               st == TERN_EARLY_DATA_REJECTED
                                   ? "the server refused 0-RTT: write the data again with write()"
                                   : "0-RTT is not offered: it needs a session that allows it "
                                     "and max_early_data set on the context");
  }
  rc = write_records(self, &b);
  PyBuffer_Release(&b);
  if (rc == TERN_ERR_LIMIT)
    return ternpy_raise_detail(TernErr_TLSError, "more early data than the ticket allows");
  if (rc == TERN_ERR_STATE)
    return ternpy_raise_detail(TernErr_TLSError, "early data can no longer be sent");
  if (rc < 0) return raise_step(self, rc);
  return PyLong_FromSsize_t(b.len);
}

static PyObject *tls_pending(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return PyLong_FromSize_t(tern_tls_pending(CONN(self)));
}

static PyObject *tls_unwrap(TLSObjectObject *self, PyObject *unused) {
  int rc;
  (void)unused;
  if (ternpy_conn_enter(BASE(self)) < 0) return NULL;
  rc = tern_tls_close(CONN(self));
  if (ternpy_conn_leave(BASE(self)) < 0) return NULL;
  if (rc < 0) return ternpy_raise(rc, CONN(self));
  if (flush_out(self) < 0) return NULL;
  if (!tern_tls_peer_closed(CONN(self))) {
    rc = step(self);
    if (rc < 0 && rc != TERN_ERR_CLOSED) return raise_step(self, rc);
  }
  if (tern_tls_peer_closed(CONN(self))) Py_RETURN_NONE;
  return want_more(self, "EOF occurred in violation of protocol (no close_notify)");
}

static PyObject *tls_version(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (!tern_conn_handshake_done(CONN(self))) Py_RETURN_NONE;
  return PyUnicode_FromString("TLSv1.3");
}

static PyObject *tls_cipher(TLSObjectObject *self, PyObject *unused) {
  uint16_t s;
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  if (!tern_conn_handshake_done(CONN(self)) || (s = tern_conn_cipher_suite(CONN(self))) == 0)
    Py_RETURN_NONE;
  return Py_BuildValue("(ssi)", tern_suite_name(s), "TLSv1.3",
                       s == TERN_TLS_AES_128_GCM_SHA256 ? 128 : 256);
}

static PyObject *tls_compression(TLSObjectObject *self, PyObject *unused) {
  (void)self, (void)unused;
  Py_RETURN_NONE; /* TLS 1.3 has none */
}

static PyObject *tls_alpn(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return ternpy_name_or_none(tern_conn_alpn(CONN(self)));
}

static PyObject *tls_group(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return ternpy_name_or_none(tern_group_name(tern_conn_group(CONN(self))));
}

static PyObject *tls_sigalg(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return ternpy_name_or_none(tern_signature_scheme_name(tern_conn_signature_scheme(CONN(self))));
}

static PyObject *tls_getpeercert(TLSObjectObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"binary_form", NULL};
  int binary = 0;
  PyObject *der, *out;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:getpeercert", kwlist, &binary)) return NULL;
  if (!tern_conn_handshake_done(CONN(self))) {
    PyErr_SetString(PyExc_ValueError, "handshake not done yet");
    return NULL;
  }
  der = ternpy_conn_peer_cert(BASE(self));
  if (der == NULL || binary || der == Py_None) return der;
  if (BASE(self)->ctx->verify_mode == 0) { /* as ssl: nothing verified, nothing said */
    Py_DECREF(der);
    return PyDict_New();
  }
  out = ternpy_decode_cert((const uint8_t *)PyBytes_AsString(der), (size_t)PyBytes_Size(der));
  Py_DECREF(der);
  return out;
}

static PyObject *tls_early_status(TLSObjectObject *self, PyObject *unused);
extern PyObject *TernEnum_EarlyDataStatus;

static PyObject *tls_early_status(TLSObjectObject *self, PyObject *unused) {
  (void)unused;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return PyObject_CallFunction(TernEnum_EarlyDataStatus, "i",
                               (int)tern_conn_early_data_status(CONN(self)));
}

static PyObject *tls_pha(TLSObjectObject *self, PyObject *unused) {
  int rc, leave;
  (void)unused;
  if (!self->server_side) {
    PyErr_SetString(PyExc_ValueError, "only a server asks for post-handshake authentication");
    return NULL;
  }
  if (ternpy_conn_enter(BASE(self)) < 0) return NULL;
  TERNPY_NOGIL(BASE(self), rc = tern_tls_request_client_auth(CONN(self)));
  leave = ternpy_conn_leave(BASE(self));
  if (flush_out(self) < 0 || leave < 0) return NULL;
  if (rc == TERN_ERR_STATE && tern_conn_alert(CONN(self)) == 0)
    return ternpy_raise_detail(TernErr_TLSError,
                               "post-handshake authentication needs a complete handshake with a "
                               "client that offered it, and none under way");
  if (rc < 0) return ternpy_raise(rc, CONN(self));
  Py_RETURN_NONE;
}

static PyObject *tls_key_update(TLSObjectObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"request_peer", NULL};
  int request = 1, rc, leave;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:key_update", kwlist, &request)) return NULL;
  if (ternpy_conn_enter(BASE(self)) < 0) return NULL;
  TERNPY_NOGIL(BASE(self), rc = tern_tls_key_update(CONN(self), request));
  leave = ternpy_conn_leave(BASE(self));
  if (flush_out(self) < 0 || leave < 0) return NULL;
  if (rc == TERN_ERR_STATE && tern_conn_alert(CONN(self)) == 0)
    return ternpy_raise_detail(TernErr_TLSError, "key update needs a complete, open connection");
  if (rc < 0) return ternpy_raise(rc, CONN(self));
  Py_RETURN_NONE;
}

static PyObject *tls_export(TLSObjectObject *self, PyObject *args, PyObject *kw) {
  return ternpy_conn_export(BASE(self), args, kw, 0);
}
static PyObject *tls_export_early(TLSObjectObject *self, PyObject *args, PyObject *kw) {
  return ternpy_conn_export(BASE(self), args, kw, 1);
}

/* ---- attributes ---- */

static PyObject *get_server_side(TLSObjectObject *self, void *c) {
  (void)c;
  return PyBool_FromLong(self->server_side);
}

static PyObject *get_server_hostname(TLSObjectObject *self, void *c) {
  (void)c;
  if (self->server_side) {
    if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
    return ternpy_name_or_none(tern_conn_server_name(CONN(self)));
  }
  return Py_NewRef(self->server_hostname ? self->server_hostname : Py_None);
}

static PyObject *get_context(TLSObjectObject *self, void *c) {
  (void)c;
  return Py_NewRef((PyObject *)BASE(self)->ctx);
}

static int set_context(TLSObjectObject *self, PyObject *v, void *c) {
  ContextObject *ctx;
  int rc;
  (void)c;
  if (v == NULL || !PyObject_TypeCheck(v, Context_Type)) {
    PyErr_SetString(PyExc_TypeError, "context is a tern.TLSContext");
    return -1;
  }
  ctx = (ContextObject *)v;
  if (ctx->role != BASE(self)->ctx->role) {
    PyErr_SetString(PyExc_ValueError, "the new context is of the other role");
    return -1;
  }
  if (BASE(self)->busy && !BASE(self)->in_callback) {
    PyErr_SetString(PyExc_RuntimeError, "the connection is in use by another thread");
    return -1;
  }
  rc = tern_conn_set_config(CONN(self), ctx->cfg);
  if (rc != TERN_OK) {
    PyErr_SetString(PyExc_ValueError,
                    "the context can change only before the handshake or in sni_callback");
    return -1;
  }
  ternpy_context_freeze(ctx);
  TERNPY_SETREF(BASE(self)->ctx, (ContextObject *)Py_NewRef(v));
  return 0;
}

static PyObject *get_session(TLSObjectObject *self, void *c) {
  Py_ssize_t n = PyList_Size(BASE(self)->sessions);
  (void)c;
  if (n == 0) Py_RETURN_NONE;
  return Py_NewRef(PyList_GetItem(BASE(self)->sessions, n - 1));
}

static int offer_session(TLSObjectObject *self, PyObject *v) {
  SessionObject *s;
  int rc;
  if (!PyObject_TypeCheck(v, Session_Type)) {
    PyErr_SetString(PyExc_TypeError, "session is a tern.Session");
    return -1;
  }
  if (self->server_side) {
    PyErr_SetString(PyExc_ValueError, "a server does not offer sessions");
    return -1;
  }
  if (self->started) {
    PyErr_SetString(PyExc_ValueError, "the session is set before the handshake");
    return -1;
  }
  s = (SessionObject *)v;
  rc = tern_conn_set_session(CONN(self), (const uint8_t *)PyBytes_AsString(s->blob),
                             (size_t)PyBytes_Size(s->blob), ternpy_now_ms());
  /* an expired session, or one for another name or suite, is not offered:
     the handshake is a full one, as with ssl */
  if (rc == TERN_ERR_MALFORMED || rc == TERN_ERR_INVALID_ARG) {
    PyErr_SetString(PyExc_ValueError, "the session is corrupted");
    return -1;
  }
  return 0;
}

static int set_session(TLSObjectObject *self, PyObject *v, void *c) {
  (void)c;
  if (v == NULL || v == Py_None) {
    PyErr_SetString(PyExc_ValueError, "a session cannot be removed once set");
    return -1;
  }
  if (ternpy_conn_check_idle(BASE(self)) < 0) return -1;
  return offer_session(self, v);
}

static PyObject *get_sessions(TLSObjectObject *self, void *c) {
  (void)c;
  return PyList_GetSlice(BASE(self)->sessions, 0, PY_SSIZE_T_MAX);
}

static PyObject *get_reused(TLSObjectObject *self, void *c) {
  (void)c;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return PyBool_FromLong(tern_conn_resumed(CONN(self)));
}

static PyObject *get_used_hrr(TLSObjectObject *self, void *c) {
  (void)c;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return PyBool_FromLong(tern_conn_used_hrr(CONN(self)));
}

static PyObject *get_psk_identity(TLSObjectObject *self, void *c) {
  const uint8_t *id;
  size_t len;
  (void)c;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  if (tern_conn_psk_identity(CONN(self), &id, &len) != TERN_OK) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize((const char *)id, (Py_ssize_t)len);
}

static PyObject *get_pha_count(TLSObjectObject *self, void *c) {
  (void)c;
  if (ternpy_conn_check_idle(BASE(self)) < 0) return NULL;
  return PyLong_FromUnsignedLong(tern_tls_client_auths_completed(CONN(self)));
}

static PyObject *get_closed(TLSObjectObject *self, void *c) {
  (void)c;
  return PyBool_FromLong(tern_tls_peer_closed(CONN(self)));
}

/* ---- making one ---- */

PyObject *ternpy_wrap_bio(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"incoming", "outgoing", "server_side", "server_hostname", "session", NULL};
  PyObject *incoming, *outgoing, *hostname = Py_None, *session = Py_None;
  int server_side = 0;
  TLSObjectObject *self;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|pOO:wrap_bio", kwlist, &incoming, &outgoing,
                                   &server_side, &hostname, &session))
    return NULL;
  if (server_side != (ctx->role == TERN_SERVER)) {
    PyErr_SetString(PyExc_ValueError, server_side
                                          ? "Cannot create a server socket with a PROTOCOL_TLS_CLIENT context"
                                          : "Cannot create a client socket with a PROTOCOL_TLS_SERVER context");
    return NULL;
  }
  if (hostname != Py_None && !PyUnicode_Check(hostname)) {
    PyErr_SetString(PyExc_TypeError, "server_hostname is a str or None");
    return NULL;
  }
  if (server_side && hostname != Py_None) {
    PyErr_SetString(PyExc_ValueError, "server_hostname can only be specified in client mode");
    return NULL;
  }
  if (!server_side && ctx->check_hostname && hostname == Py_None) {
    PyErr_SetString(PyExc_ValueError, "check_hostname requires server_hostname");
    return NULL;
  }
  self = PyObject_GC_New(TLSObjectObject, TLSObject_Type);
  if (self == NULL) return NULL;
  memset((char *)self + sizeof(PyObject), 0, sizeof *self - sizeof(PyObject));
  BASE(self)->ctx = (ContextObject *)Py_NewRef((PyObject *)ctx);
  self->incoming = Py_NewRef(incoming);
  self->outgoing = Py_NewRef(outgoing);
  self->server_side = server_side;
  BASE(self)->sessions = PyList_New(0);
  PyObject_GC_Track(self);
  if (BASE(self)->sessions == NULL) goto fail;
  CONN(self) = tern_conn_new_tls(ctx->cfg, self);
  if (CONN(self) == NULL) {
    PyErr_NoMemory();
    goto fail;
  }
  ternpy_context_freeze(ctx);
  if (hostname != Py_None) {
    const char *name = PyUnicode_AsUTF8AndSize(hostname, NULL);
    int rc;
    if (name == NULL) goto fail;
    rc = tern_conn_set_server_name(CONN(self), name);
    if (rc != TERN_OK) {
      PyErr_SetString(PyExc_ValueError, "server_hostname is not a usable name");
      goto fail;
    }
    self->server_hostname = Py_NewRef(hostname);
  }
  if (session != Py_None && offer_session(self, session) < 0) goto fail;
  return (PyObject *)self;
fail:
  Py_DECREF(self);
  return NULL;
}

static int tls_traverse(TLSObjectObject *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE((PyObject *)self));
  Py_VISIT(self->incoming);
  Py_VISIT(self->outgoing);
  return ternpy_conn_traverse(BASE(self), visit, arg);
}

static int tls_clear(TLSObjectObject *self) {
  Py_CLEAR(self->incoming);
  Py_CLEAR(self->outgoing);
  ternpy_conn_clear(BASE(self));
  return 0;
}

static void tls_dealloc(TLSObjectObject *self) {
  PyObject_GC_UnTrack(self);
  if (BASE(self)->weakreflist != NULL) PyObject_ClearWeakRefs((PyObject *)self);
  tls_clear(self);
  tern_conn_free(CONN(self));
  Py_CLEAR(BASE(self)->ctx);
  Py_CLEAR(self->server_hostname);
  PyMem_Free(self->in);
  ternpy_free_object((PyObject *)self);
}

static PyObject *tls_new(PyTypeObject *t, PyObject *a, PyObject *k) {
  (void)t, (void)a, (void)k;
  PyErr_SetString(PyExc_TypeError, "TLSObject is made by TLSContext.wrap_bio()");
  return NULL;
}

#define KW (PyCFunction)(void (*)(void))
static PyMethodDef tls_methods[] = {
    {"do_handshake", (PyCFunction)tls_do_handshake, METH_NOARGS,
     "do_handshake()\n\nRuns the handshake as far as the bytes that arrived allow; returns "
     "when it is complete, raises WantRead when more must arrive, or the TLSError that ended "
     "it (the alert for the peer is then in the outgoing buffer)."},
    {"read", KW tls_read, METH_VARARGS | METH_KEYWORDS,
     "read(len=1024, buffer=None) -> bytes | int\n\nUp to len bytes of application data (into "
     "buffer when given: then the count); b'' once the peer's close_notify arrived. Runs the "
     "handshake first when needed; a server reads accepted 0-RTT data here before the "
     "handshake completes. WantRead when nothing is there yet."},
    {"write", (PyCFunction)tls_write, METH_O,
     "write(data) -> int\n\nProtects data into records for the outgoing buffer; runs the "
     "handshake first when needed."},
    {"write_early_data", (PyCFunction)tls_write_early_data, METH_O,
     "write_early_data(data) -> int\n\nClient: sends data as 0-RTT, before the handshake "
     "completes, when the session set allows it and the context's max_early_data is nonzero. "
     "Check early_data_status() after the handshake: REJECTED means write it again."},
    {"early_data_status", (PyCFunction)tls_early_status, METH_NOARGS,
     "early_data_status() -> EarlyDataStatus\n\nNONE, OFFERED (client, no answer yet), "
     "ACCEPTED or REJECTED."},
    {"pending", (PyCFunction)tls_pending, METH_NOARGS,
     "pending() -> int\n\nApplication bytes received and not read yet."},
    {"unwrap", (PyCFunction)tls_unwrap, METH_NOARGS,
     "unwrap()\n\nSends close_notify (once) and returns when the peer's has arrived; WantRead "
     "until then."},
    {"version", (PyCFunction)tls_version, METH_NOARGS,
     "version() -> str | None\n\n'TLSv1.3' once the handshake is complete."},
    {"cipher", (PyCFunction)tls_cipher, METH_NOARGS,
     "cipher() -> tuple[str, str, int] | None\n\n(suite name, 'TLSv1.3', secret bits)."},
    {"compression", (PyCFunction)tls_compression, METH_NOARGS, "compression() -> None"},
    {"selected_alpn_protocol", (PyCFunction)tls_alpn, METH_NOARGS,
     "selected_alpn_protocol() -> str | None"},
    {"group", (PyCFunction)tls_group, METH_NOARGS,
     "group() -> str | None\n\nThe key-exchange group ('x25519', ...); None for psk_ke."},
    {"signature_scheme", (PyCFunction)tls_sigalg, METH_NOARGS,
     "signature_scheme() -> str | None\n\nThe scheme of the server's CertificateVerify."},
    {"getpeercert", KW tls_getpeercert, METH_VARARGS | METH_KEYWORDS,
     "getpeercert(binary_form=False)\n\nThe peer's certificate: DER bytes with binary_form, "
     "else a dict as ssl's (subject, issuer, notBefore, notAfter, serialNumber, "
     "subjectAltName; {} when nothing was verified). None when the peer sent none (a resumed "
     "or PSK handshake too)."},
    {"verify_client_post_handshake", (PyCFunction)tls_pha, METH_NOARGS,
     "verify_client_post_handshake()\n\nServer: asks the client for its certificate now (RFC "
     "8446 §4.6.2); the client answers when it next reads, and getpeercert() gives the "
     "certificate once the server has read the answer."},
    {"key_update", KW tls_key_update, METH_VARARGS | METH_KEYWORDS,
     "key_update(request_peer=True)\n\nSends KeyUpdate and moves to the next write key; with "
     "request_peer the peer updates its key too."},
    {"export_keying_material", KW tls_export, METH_VARARGS | METH_KEYWORDS,
     "export_keying_material(label, context=None, length=32) -> bytes\n\nThe TLS 1.3 exporter "
     "(RFC 8446 §7.5; RFC 5705's shape), once the handshake is complete."},
    {"export_early_keying_material", KW tls_export_early, METH_VARARGS | METH_KEYWORDS,
     "export_early_keying_material(label, context=None, length=32) -> bytes\n\nThe early "
     "exporter, once 0-RTT was offered (client) or accepted (server)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef tls_getset[] = {
    {"server_side", (getter)get_server_side, NULL, "True for a server.", NULL},
    {"server_hostname", (getter)get_server_hostname, NULL,
     "Client: the name given to wrap_bio. Server: the SNI the client sent (or None).", NULL},
    {"context", (getter)get_context, (setter)set_context,
     "The TLSContext; a server's sni_callback may switch it (another certificate).", NULL},
    {"session", (getter)get_session, (setter)set_session,
     "The last ticket received (a Session), or None; set before the handshake to resume.", NULL},
    {"sessions", (getter)get_sessions, NULL,
     "Every ticket received on this connection, oldest first (each single-use).", NULL},
    {"session_reused", (getter)get_reused, NULL, "True when the handshake resumed a session.",
     NULL},
    {"used_hrr", (getter)get_used_hrr, NULL,
     "True when the handshake went through a HelloRetryRequest.", NULL},
    {"psk_identity", (getter)get_psk_identity, NULL,
     "The identity of the external PSK the handshake used, or None.", NULL},
    {"client_auths_completed", (getter)get_pha_count, NULL,
     "Server: how many post-handshake authentications have completed.", NULL},
    {"peer_closed", (getter)get_closed, NULL, "True once the peer's close_notify arrived.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef tls_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(TLSObjectObject, base.weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot tls_slots[] = {
    {Py_tp_members, tls_members},
    {Py_tp_dealloc, (void *)tls_dealloc},
    {Py_tp_doc, (void *)("A TLS 1.3 connection over memory buffers, as ssl.SSLObject; made by "
                   "TLSContext.wrap_bio().")},
    {Py_tp_traverse, (void *)tls_traverse},
    {Py_tp_clear, (void *)tls_clear},
    {Py_tp_methods, (void *)tls_methods},
    {Py_tp_getset, (void *)tls_getset},
    {Py_tp_new, (void *)tls_new},
    {0, NULL}};

PyType_Spec TLSObject_Spec = {
    .name = "tern.TLSObject",
    .basicsize = sizeof(TLSObjectObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = tls_slots,
};
PyTypeObject *TLSObject_Type;
