/*
 * session.c - tern.Session: one ticket a server issued, as tern's opaque
 * session blob, with the 0-RTT allowance the ticket carried.
 *
 * bytes(session) / session.to_bytes() give a form that Session.from_bytes
 * (in this or another process) turns back into the session: one version
 * byte (1), max_early_data (4 bytes, big-endian), tern's blob. Pickling
 * goes through the same form.
 */
#include "ternpy.h"

#define SESSION_FORM 1

PyObject *ternpy_session_new(const uint8_t *blob, size_t len, uint32_t max_early_data) {
  SessionObject *s = PyObject_New(SessionObject, Session_Type);
  if (s == NULL) return NULL;
  s->max_early_data = max_early_data;
  s->blob = PyBytes_FromStringAndSize((const char *)blob, (Py_ssize_t)len);
  if (s->blob == NULL) {
    Py_DECREF(s);
    return NULL;
  }
  return (PyObject *)s;
}

static void session_dealloc(SessionObject *s) {
  Py_XDECREF(s->blob);
  ternpy_free_object((PyObject *)s);
}

static PyObject *session_to_bytes(SessionObject *s, PyObject *unused) {
  Py_ssize_t n = PyBytes_Size(s->blob);
  PyObject *out = PyBytes_FromStringAndSize(NULL, n + 5);
  uint8_t *p;
  (void)unused;
  if (out == NULL) return NULL;
  p = (uint8_t *)PyBytes_AsString(out);
  p[0] = SESSION_FORM;
  p[1] = (uint8_t)(s->max_early_data >> 24);
  p[2] = (uint8_t)(s->max_early_data >> 16);
  p[3] = (uint8_t)(s->max_early_data >> 8);
  p[4] = (uint8_t)s->max_early_data;
  memcpy(p + 5, PyBytes_AsString(s->blob), (size_t)n);
  return out;
}

static PyObject *session_from_bytes(PyObject *cls, PyObject *arg) {
  Py_buffer b;
  PyObject *out = NULL;
  (void)cls;
  if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
  if (b.len < 6 || b.len > TERN_SESSION_MAX_BYTES + 5 || ((uint8_t *)b.buf)[0] != SESSION_FORM) {
    PyErr_SetString(PyExc_ValueError, "not a serialised tern.Session");
  } else {
    const uint8_t *p = b.buf;
    uint32_t med = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    out = ternpy_session_new(p + 5, (size_t)b.len - 5, med);
  }
  PyBuffer_Release(&b);
  return out;
}

static PyObject *session_reduce(SessionObject *s, PyObject *unused) {
  PyObject *from = PyObject_GetAttrString((PyObject *)Py_TYPE((PyObject *)s), "from_bytes");
  PyObject *data = session_to_bytes(s, unused), *out = NULL;
  if (from != NULL && data != NULL) out = Py_BuildValue("O(O)", from, data);
  Py_XDECREF(from);
  Py_XDECREF(data);
  return out;
}

static PyObject *session_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  PyObject *data;
  static char *kwlist[] = {"data", NULL};
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Session", kwlist, &data)) return NULL;
  return session_from_bytes((PyObject *)type, data);
}

static PyObject *session_get_med(SessionObject *s, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(s->max_early_data);
}

static PyObject *session_richcompare(PyObject *a, PyObject *b, int op) {
  if (!PyObject_TypeCheck(b, Session_Type) || (op != Py_EQ && op != Py_NE))
    Py_RETURN_NOTIMPLEMENTED;
  {
    SessionObject *x = (SessionObject *)a, *y = (SessionObject *)b;
    int eq = x->max_early_data == y->max_early_data &&
             PyObject_RichCompareBool(x->blob, y->blob, Py_EQ) == 1;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
  }
}

static Py_hash_t session_hash(SessionObject *s) { return PyObject_Hash(s->blob); }

static PyObject *session_repr(SessionObject *s) {
  return PyUnicode_FromFormat("<tern.Session %zd bytes, max_early_data=%u>",
                              PyBytes_Size(s->blob), s->max_early_data);
}

static PyMethodDef session_methods[] = {
    {"to_bytes", (PyCFunction)session_to_bytes, METH_NOARGS,
     "to_bytes() -> bytes: the session in a form Session.from_bytes reads back."},
    {"__bytes__", (PyCFunction)session_to_bytes, METH_NOARGS, "Same as to_bytes()."},
    {"from_bytes", session_from_bytes, METH_O | METH_CLASS,
     "from_bytes(data) -> Session: the session to_bytes() wrote (ValueError if not one)."},
    {"__reduce__", (PyCFunction)session_reduce, METH_NOARGS, "Pickles through to_bytes()."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef session_getset[] = {
    {"max_early_data", (getter)session_get_med, NULL,
     "The 0-RTT bytes the ticket allows (0: no 0-RTT; in QUIC 0xffffffff).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot session_slots[] = {
    {Py_tp_dealloc, (void *)session_dealloc},
    {Py_tp_repr, (void *)session_repr},
    {Py_tp_hash, (void *)session_hash},
    {Py_tp_richcompare, (void *)session_richcompare},
    {Py_tp_doc, (void *)("Session(data)\n--\n\n"
                   "A session ticket a server issued, to resume with (wrap_bio(session=...), "
                   "TLSObject.session, tern.quic.Context(session_ticket=...)). Each ticket is "
                   "single-use: tern servers accept a ticket once (a second offer gives a full "
                   "handshake), so use a fresh one per connection; a server sends several per "
                   "connection. Session(data) is Session.from_bytes(data).")},
    {Py_tp_methods, (void *)session_methods},
    {Py_tp_getset, (void *)session_getset},
    {Py_tp_new, (void *)session_new},
    {0, NULL}};

PyType_Spec Session_Spec = {
    .name = "tern.Session",
    .basicsize = sizeof(SessionObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = session_slots,
};
PyTypeObject *Session_Type;

/* ---- tern.IssuedTicket ---- */

PyTypeObject *IssuedTicket_Type;

static PyStructSequence_Field issued_fields[] = {
    {"ticket", "The ticket's identity (bytes): what a client offers to resume."},
    {"lifetime", "Its lifetime in seconds."},
    {"max_early_data", "The 0-RTT bytes it allows (0: none; 0xffffffff in QUIC)."},
    {NULL, NULL}};

static PyStructSequence_Desc issued_desc = {
    "tern.IssuedTicket",
    "A ticket a server issued, as its session_ticket_handler sees it. Keep it by .ticket "
    "and let the session_ticket_fetcher take it out when a client offers it: the "
    "fetcher's answer decides whether the ticket resumes (single use is then the "
    "store's to keep).",
    issued_fields, 3};

int ternpy_issued_ticket_init(PyObject *module) {
  IssuedTicket_Type = PyStructSequence_NewType(&issued_desc);
  if (IssuedTicket_Type == NULL) return -1;
  return PyModule_AddObjectRef(module, "IssuedTicket", (PyObject *)IssuedTicket_Type);
}

PyObject *ternpy_issued_ticket_new(const uint8_t *ticket, size_t len, uint32_t lifetime,
                                   uint32_t max_early_data) {
  PyObject *t = PyStructSequence_New(IssuedTicket_Type), *v;
  if (t == NULL) return NULL;
  if ((v = PyBytes_FromStringAndSize((const char *)ticket, (Py_ssize_t)len)) == NULL) goto fail;
  PyStructSequence_SetItem(t, 0, v);
  if ((v = PyLong_FromUnsignedLong(lifetime)) == NULL) goto fail;
  PyStructSequence_SetItem(t, 1, v);
  if ((v = PyLong_FromUnsignedLong(max_early_data)) == NULL) goto fail;
  PyStructSequence_SetItem(t, 2, v);
  return t;
fail:
  Py_DECREF(t);
  return NULL;
}
