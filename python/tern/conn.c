/*
 * conn.c - what TLSObject and QuicConnection share: entering tern with
 * the GIL released, and tern's callbacks taking it back.
 *
 * A call into tern that may call back runs inside TERNPY_NOGIL, which
 * saves the thread state in the connection; a callback finds its
 * connection through tern_conn_user, restores that thread state to run
 * Python code, and saves it again before returning to tern. One thread
 * drives a connection at a time: `busy` is set (under the GIL) for the
 * whole call, and another thread's call raises RuntimeError instead of
 * racing tern. An exception raised by a Python callback is kept, fails
 * the tern call where tern lets a callback fail it, and is raised when
 * the call returns; the connection is unusable after it.
 */
#include <time.h>

#include "ternpy.h"

int ternpy_conn_enter(ConnObject *self) {
  if (self->conn == NULL) {
    PyErr_SetString(PyExc_ValueError, "the connection is not initialised");
    return -1;
  }
  if (self->busy) {
    PyErr_SetString(PyExc_RuntimeError,
                    self->in_callback ? "a tern callback cannot drive its own connection"
                                      : "the connection is in use by another thread");
    return -1;
  }
  if (self->broken) {
    ternpy_raise_detail(TernErr_TLSError,
                        "a callback raised during an earlier call; the connection is unusable");
    return -1;
  }
  self->busy = 1;
  return 0;
}

int ternpy_conn_leave(ConnObject *self) {
  self->busy = 0;
  if (self->exc_type != NULL) {
    self->broken = 1;
    PyErr_Restore(self->exc_type, self->exc_value, self->exc_tb);
    self->exc_type = self->exc_value = self->exc_tb = NULL;
    return -1;
  }
  return 0;
}

int ternpy_conn_check_idle(ConnObject *self) {
  if (self->busy && !self->in_callback) {
    PyErr_SetString(PyExc_RuntimeError, "the connection is in use by another thread");
    return -1;
  }
  if (self->conn == NULL) {
    PyErr_SetString(PyExc_ValueError, "the connection is not initialised");
    return -1;
  }
  return 0;
}

/* tern.gil_stats(): the switch (changed under the GIL) and the totals. */
int ternpy_gil_stats_on;
uint64_t ternpy_nogil_ns, ternpy_callback_ns;

uint64_t ternpy_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The callback's side: the GIL back for Python code, then released again. */
static __thread int cb_restored;
static __thread uint64_t cb_t0; /* when the callback asked for the GIL (gil_stats) */

ConnObject *ternpy_cb_begin(const tern_conn *c) {
  ConnObject *self = tern_conn_user(c);
  if (self == NULL) return NULL;
  cb_restored = self->tstate != NULL;
  if (cb_restored) {
    cb_t0 = __atomic_load_n(&ternpy_gil_stats_on, __ATOMIC_RELAXED) ? ternpy_mono_ns() : 0;
    PyEval_RestoreThread(self->tstate);
    self->tstate = NULL;
  }
  self->in_callback = 1;
  return self;
}

void ternpy_cb_end(ConnObject *self) {
  self->in_callback = 0;
  if (cb_restored) {
    self->tstate = PyEval_SaveThread();
    if (cb_t0)
      __atomic_add_fetch(&ternpy_callback_ns, ternpy_mono_ns() - cb_t0, __ATOMIC_RELAXED);
  }
}

void ternpy_cb_error(ConnObject *self) {
  if (self->exc_type == NULL)
    PyErr_Fetch(&self->exc_type, &self->exc_value, &self->exc_tb);
  else
    PyErr_Clear(); /* the first one is the one raised */
}

/* ---- the callbacks of every configuration ---- */

static void on_keylog(const tern_conn *c, const char *line, void *user) {
  ConnObject *self;
  ContextObject *ctx;
  PyObject *text, *r;
  (void)user;
  if (c == NULL || (self = tern_conn_user(c)) == NULL ||
      !__atomic_load_n(&self->ctx->keylog_on, __ATOMIC_RELAXED))
    return;
  self = ternpy_cb_begin(c);
  ctx = self->ctx;
  text = PyUnicode_FromString(line);
  if (text == NULL) goto fail;
  if (ctx->keylog_callback != NULL) {
    r = PyObject_CallFunctionObjArgs(ctx->keylog_callback, text, NULL);
    if (r == NULL) goto fail;
    Py_DECREF(r);
  }
  if (ctx->keylog_file != NULL) {
    r = PyObject_CallMethod(ctx->keylog_file, "write", "Os", text, "\n");
    if (r == NULL) {
      /* write takes one argument: two calls */
      PyErr_Clear();
      r = PyObject_CallMethod(ctx->keylog_file, "write", "O", text);
      if (r == NULL) goto fail;
      Py_DECREF(r);
      r = PyObject_CallMethod(ctx->keylog_file, "write", "s", "\n");
    }
    if (r == NULL) goto fail;
    Py_DECREF(r);
    r = PyObject_CallMethod(ctx->keylog_file, "flush", NULL);
    if (r == NULL) goto fail;
    Py_DECREF(r);
  }
  Py_DECREF(text);
  ternpy_cb_end(self);
  return;
fail:
  Py_XDECREF(text);
  ternpy_cb_error(self);
  ternpy_cb_end(self);
}

static void on_new_session(tern_conn *c, const uint8_t *blob, size_t len, uint32_t max_early_data,
                           void *user) {
  ConnObject *self = ternpy_cb_begin(c);
  PyObject *s;
  (void)user;
  if (self == NULL) return;
  s = ternpy_session_new(blob, len, max_early_data);
  if (s == NULL || PyList_Append(self->sessions, s) < 0) goto fail;
  if (self->session_handler != NULL) {
    PyObject *r = PyObject_CallFunctionObjArgs(self->session_handler, s, NULL);
    if (r == NULL) goto fail;
    Py_DECREF(r);
  }
  Py_DECREF(s);
  ternpy_cb_end(self);
  return;
fail:
  Py_XDECREF(s);
  ternpy_cb_error(self);
  ternpy_cb_end(self);
}

/* Server: each ticket issued, to the connection's session_ticket_handler.
   The handler is only read here, set while the connection is idle (the
   GIL is taken only when there is one). */
static void on_ticket_issued(tern_conn *c, const uint8_t *t, size_t len, uint32_t lifetime,
                             uint32_t max_early_data, void *user) {
  ConnObject *self = tern_conn_user(c);
  PyObject *o, *r;
  (void)user;
  if (self == NULL || self->session_handler == NULL) return;
  self = ternpy_cb_begin(c);
  if (self->session_handler == NULL) goto out;
  o = ternpy_issued_ticket_new(t, len, lifetime, max_early_data);
  r = o ? PyObject_CallFunctionObjArgs(self->session_handler, o, NULL) : NULL;
  Py_XDECREF(o);
  if (r == NULL) ternpy_cb_error(self);
  Py_XDECREF(r);
out:
  ternpy_cb_end(self);
}

/* Server: a ticket offered, to the connection's session_ticket_fetcher;
   without one, tern's strike register decides. The fetcher's answer:
   anything true resumes (the fetcher forgets the ticket: single use),
   None or false gives a full handshake; an exception breaks the
   connection (raised by the call that ran the handshake). */
static int on_ticket_fetch(tern_conn *c, const uint8_t *t, size_t len, void *user) {
  ConnObject *self = tern_conn_user(c);
  PyObject *id, *r;
  int answer = 0;
  (void)user;
  if (self == NULL || self->ticket_fetcher == NULL) return TERN_TICKET_DEFAULT;
  self = ternpy_cb_begin(c);
  if (self->ticket_fetcher == NULL) {
    ternpy_cb_end(self);
    return TERN_TICKET_DEFAULT;
  }
  id = PyBytes_FromStringAndSize((const char *)t, (Py_ssize_t)len);
  r = id ? PyObject_CallFunctionObjArgs(self->ticket_fetcher, id, NULL) : NULL;
  Py_XDECREF(id);
  if (r != NULL) {
    answer = PyObject_IsTrue(r);
    Py_DECREF(r);
  }
  if (r == NULL || answer < 0) {
    ternpy_cb_error(self);
    answer = 0;
  }
  ternpy_cb_end(self);
  return answer;
}

static int on_server_name(tern_conn *c, const char *name, void *user) {
  ConnObject *self = tern_conn_user(c);
  ContextObject *ctx;
  PyObject *r, *n;
  int alert = 0;
  (void)user;
  if (self == NULL || !__atomic_load_n(&self->ctx->sni_on, __ATOMIC_RELAXED)) return 0;
  self = ternpy_cb_begin(c);
  ctx = self->ctx;
  if (ctx->sni_callback == NULL) goto out;
  n = name ? PyUnicode_DecodeASCII(name, (Py_ssize_t)strlen(name), "strict") : Py_NewRef(Py_None);
  if (n == NULL) {
    ternpy_cb_error(self);
    alert = TERN_ALERT_INTERNAL_ERROR;
    goto out;
  }
  Py_INCREF((PyObject *)ctx);
  r = PyObject_CallFunctionObjArgs(ctx->sni_callback, (PyObject *)self, n, (PyObject *)ctx, NULL);
  Py_DECREF(ctx);
  Py_DECREF(n);
  if (r == NULL) {
    ternpy_cb_error(self);
    alert = TERN_ALERT_INTERNAL_ERROR;
  } else if (r != Py_None) {
    long v = PyLong_AsLong(r);
    if ((v == -1 && PyErr_Occurred()) || v <= 0 || v > 255) {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "sni_callback returns None or an alert number 1..255");
      ternpy_cb_error(self);
      alert = TERN_ALERT_INTERNAL_ERROR;
    } else {
      alert = (int)v;
    }
  }
  Py_XDECREF(r);
out:
  ternpy_cb_end(self);
  return alert;
}

int ternpy_config_callbacks(ContextObject *ctx) {
  if (tern_config_set_keylog(ctx->cfg, on_keylog, NULL) != TERN_OK) return -1;
  if (ctx->role == TERN_CLIENT)
    return tern_config_set_new_session_callback(ctx->cfg, on_new_session, NULL) == TERN_OK ? 0 : -1;
  if (tern_config_set_ticket_store(ctx->cfg, on_ticket_issued, on_ticket_fetch, NULL) != TERN_OK)
    return -1;
  return tern_config_set_server_name_callback(ctx->cfg, on_server_name, NULL) == TERN_OK ? 0 : -1;
}

/* ---- shared methods ---- */

void ternpy_conn_clear(ConnObject *self) {
  Py_CLEAR(self->sessions);
  Py_CLEAR(self->session_handler);
  Py_CLEAR(self->ticket_fetcher);
  Py_CLEAR(self->exc_type);
  Py_CLEAR(self->exc_value);
  Py_CLEAR(self->exc_tb);
}

int ternpy_conn_traverse(ConnObject *self, visitproc visit, void *arg) {
  Py_VISIT(self->ctx);
  Py_VISIT(self->sessions);
  Py_VISIT(self->session_handler);
  Py_VISIT(self->ticket_fetcher);
  Py_VISIT(self->exc_type);
  Py_VISIT(self->exc_value);
  Py_VISIT(self->exc_tb);
  return 0;
}

PyObject *ternpy_conn_export(ConnObject *self, PyObject *args, PyObject *kw, int early) {
  static char *kwlist[] = {"label", "context", "length", NULL};
  PyObject *label_o, *context_o = Py_None, *out = NULL, *label_b = NULL;
  Py_buffer ctxbuf = {0};
  Py_ssize_t length = 32;
  int rc;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|On:export_keying_material", kwlist, &label_o,
                                   &context_o, &length))
    return NULL;
  if (ternpy_conn_check_idle(self) < 0) return NULL;
  if (PyUnicode_Check(label_o))
    label_b = PyUnicode_AsUTF8String(label_o);
  else if (PyBytes_Check(label_o))
    label_b = Py_NewRef(label_o);
  else
    PyErr_SetString(PyExc_TypeError, "label is str or bytes");
  if (label_b == NULL) return NULL;
  if ((Py_ssize_t)strlen(PyBytes_AsString(label_b)) != PyBytes_Size(label_b)) {
    PyErr_SetString(PyExc_ValueError, "label contains a NUL byte");
    goto out;
  }
  if (length < 1 || length > 255 * 48) {
    PyErr_SetString(PyExc_ValueError, "length is 1..255 * the hash length");
    goto out;
  }
  if (context_o != Py_None && PyObject_GetBuffer(context_o, &ctxbuf, PyBUF_SIMPLE) < 0) goto out;
  out = PyBytes_FromStringAndSize(NULL, length);
  if (out == NULL) goto out;
  rc = (early ? tern_export_early_keying_material : tern_export_keying_material)(
      self->conn, PyBytes_AsString(label_b), context_o != Py_None ? ctxbuf.buf : NULL,
      context_o != Py_None ? (size_t)ctxbuf.len : 0, (uint8_t *)PyBytes_AsString(out),
      (size_t)length);
  if (rc != TERN_OK) {
    Py_CLEAR(out);
    if (rc == TERN_ERR_STATE)
      ternpy_raise_detail(TernErr_TLSError, early ? "no early exporter secret (0-RTT not offered "
                                                    "or not accepted)"
                                                  : "the handshake is not complete");
    else
      ternpy_raise(rc, NULL);
  }
out:
  if (context_o != Py_None && ctxbuf.obj != NULL) PyBuffer_Release(&ctxbuf);
  Py_DECREF(label_b);
  return out;
}

PyObject *ternpy_conn_peer_cert(ConnObject *self) {
  const uint8_t *der;
  size_t len;
  if (ternpy_conn_check_idle(self) < 0) return NULL;
  if (tern_conn_peer_certificate(self->conn, &der, &len) != TERN_OK) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize((const char *)der, (Py_ssize_t)len);
}
