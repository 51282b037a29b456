/*
 * module.c - the extension module tern._tern: its types, functions,
 * exceptions and enums, re-exported by tern/__init__.py and
 * tern/quic.py (the public names; see the .pyi stubs).
 */
#include "ternpy.h"

PyObject *TernEnum_Level, *TernEnum_Direction, *TernEnum_EarlyDataStatus;
static PyObject *level_member[4], *direction_member[2];

PyObject *ternpy_level(int lv) { return Py_NewRef(level_member[lv & 3]); }
PyObject *ternpy_direction(int dir) { return Py_NewRef(direction_member[dir & 1]); }

/* enum.IntEnum(name, members, module=module), members a list of
   (name, value); the first name of a value is its canonical one. */
static PyObject *make_enum(PyObject *module, const char *name, const char *owner, const char *doc,
                           const char *const *names, const int *values, int n) {
  PyObject *enum_mod = PyImport_ImportModule("enum"), *intenum = NULL, *list = NULL,
           *args = NULL, *kw = NULL, *cls = NULL;
  if (enum_mod == NULL) return NULL;
  if ((intenum = PyObject_GetAttrString(enum_mod, "IntEnum")) == NULL) goto out;
  if ((list = PyList_New(0)) == NULL) goto out;
  for (int i = 0; i < n; i++) {
    PyObject *t = Py_BuildValue("(si)", names[i], values[i]);
    if (t == NULL || PyList_Append(list, t) < 0) {
      Py_XDECREF(t);
      goto out;
    }
    Py_DECREF(t);
  }
  if ((args = Py_BuildValue("(sO)", name, list)) == NULL) goto out;
  if ((kw = Py_BuildValue("{ss}", "module", owner)) == NULL) goto out;
  cls = PyObject_Call(intenum, args, kw);
  if (cls != NULL) {
    PyObject *d = PyUnicode_FromString(doc);
    if (d == NULL || PyObject_SetAttrString(cls, "__doc__", d) < 0 ||
        PyModule_AddObjectRef(module, name, cls) < 0)
      Py_CLEAR(cls);
    Py_XDECREF(d);
  }
out:
  Py_DECREF(enum_mod);
  Py_XDECREF(intenum);
  Py_XDECREF(list);
  Py_XDECREF(args);
  Py_XDECREF(kw);
  return cls;
}

static int enums_init(PyObject *m) {
  static const char *const early_names[] = {"NONE", "OFFERED", "ACCEPTED", "REJECTED"};
  static const int early_values[] = {0, 1, 2, 3};
  static const char *const level_names[] = {"INITIAL", "EARLY", "HANDSHAKE", "APPLICATION",
                                            "ZERO_RTT", "ONE_RTT"};
  static const int level_values[] = {0, 1, 2, 3, 1, 3};
  static const char *const dir_names[] = {"READ", "WRITE", "DECRYPT", "ENCRYPT"};
  static const int dir_values[] = {0, 1, 0, 1};
  TernEnum_EarlyDataStatus = make_enum(
      m, "EarlyDataStatus", "tern",
      "What became of 0-RTT on a connection: NONE (not offered), OFFERED (the client sent it, "
      "no answer yet), ACCEPTED, REJECTED (the client sends the data again after the handshake).",
      early_names, early_values, 4);
  TernEnum_Level = make_enum(
      m, "Level", "tern.quic",
      "QUIC encryption levels, numbered as RFC 9001's epochs: INITIAL 0, EARLY (ZERO_RTT) 1, "
      "HANDSHAKE 2, APPLICATION (ONE_RTT) 3.",
      level_names, level_values, 6);
  TernEnum_Direction = make_enum(
      m, "Direction", "tern.quic",
      "Which way a secret protects: READ (DECRYPT) 0, the peer's packets; WRITE (ENCRYPT) 1, ours.",
      dir_names, dir_values, 4);
  if (TernEnum_EarlyDataStatus == NULL || TernEnum_Level == NULL || TernEnum_Direction == NULL)
    return -1;
  for (int i = 0; i < 4; i++)
    if ((level_member[i] = PyObject_CallFunction(TernEnum_Level, "i", i)) == NULL) return -1;
  for (int i = 0; i < 2; i++)
    if ((direction_member[i] = PyObject_CallFunction(TernEnum_Direction, "i", i)) == NULL)
      return -1;
  return 0;
}

PyObject *ternpy_alloc_object(PyTypeObject *type) {
  allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
  return alloc(type, 0);
}

void ternpy_free_object(PyObject *self) {
  PyTypeObject *type = Py_TYPE(self);
  freefunc free_fn = (freefunc)PyType_GetSlot(type, Py_tp_free);
  free_fn(self);
  Py_DECREF(type);
}

/* A heap type from its spec, kept in *t and added to the module. */
static int add_type(PyObject *m, PyTypeObject **t, PyType_Spec *spec, const char *name) {
  *t = (PyTypeObject *)PyType_FromSpec(spec);
  if (*t == NULL) return -1;
  return PyModule_AddObjectRef(m, name, (PyObject *)*t);
}

static int add_int(PyObject *m, const char *name, long v) {
  return PyModule_AddIntConstant(m, name, v);
}

/* tern.gil_stats([enable]): see the docstring. */
static PyObject *gil_stats(PyObject *m, PyObject *args) {
  PyObject *enable = Py_None, *r;
  (void)m;
  if (!PyArg_ParseTuple(args, "|O:gil_stats", &enable)) return NULL;
  r = Py_BuildValue("(KK)", (unsigned long long)__atomic_load_n(&ternpy_nogil_ns, __ATOMIC_RELAXED),
                    (unsigned long long)__atomic_load_n(&ternpy_callback_ns, __ATOMIC_RELAXED));
  if (r == NULL || enable == Py_None) return r;
  switch (PyObject_IsTrue(enable)) {
    case -1: Py_DECREF(r); return NULL;
    case 0: __atomic_store_n(&ternpy_gil_stats_on, 0, __ATOMIC_RELAXED); break;
    default: __atomic_store_n(&ternpy_gil_stats_on, 1, __ATOMIC_RELAXED); break;
  }
  __atomic_store_n(&ternpy_nogil_ns, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&ternpy_callback_ns, 0, __ATOMIC_RELAXED);
  return r;
}

static PyMethodDef module_functions[] = {
    {"gil_stats", gil_stats, METH_VARARGS,
     "gil_stats($module, enable=None, /)\n--\n\n"
     "Returns (released_ns, callback_ns). "
     "A measuring aid. While on, tern counts the monotonic nanoseconds its calls (TLSObject "
     "handshake steps, reads and writes; quic.Context.handle_message) spend with the GIL "
     "released, and of those the time tern's callbacks into Python held it again; the time "
     "other threads could run Python is released_ns - callback_ns. Returns the totals since "
     "it was last turned on or off; gil_stats(True) or gil_stats(False) also resets them. Off "
     "(the default) it costs nothing measurable."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ternmodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tern._tern",
    .m_doc = "The C half of the tern package: TLS 1.3 for QUIC and TCP over include/tern.h. "
             "Use it through tern and tern.quic.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__tern(void) {
  PyObject *m = PyModule_Create(&ternmodule);
  if (m == NULL) return NULL;
  if (ternpy_errors_init(m) < 0 || ternpy_names_init(m) < 0 || enums_init(m) < 0) goto fail;
  if (add_type(m, &Session_Type, &Session_Spec, "Session") < 0 ||
      add_type(m, &Context_Type, &Context_Spec, "TLSContext") < 0 ||
      add_type(m, &TLSObject_Type, &TLSObject_Spec, "TLSObject") < 0 ||
      add_type(m, &QuicConnection_Type, &QuicConnection_Spec, "QuicConnection") < 0 ||
      add_type(m, &Key_Type, &Key_Spec, "Key") < 0 || ternpy_issued_ticket_init(m) < 0)
    goto fail;
  if (PyModule_AddFunctions(m, ternpy_quic_functions) < 0 ||
      PyModule_AddFunctions(m, module_functions) < 0)
    goto fail;
  if (add_int(m, "VERSION_1", TERN_QUIC_V1) < 0 || add_int(m, "VERSION_2", TERN_QUIC_V2) < 0 ||
      add_int(m, "TLS_AES_128_GCM_SHA256", TERN_TLS_AES_128_GCM_SHA256) < 0 ||
      add_int(m, "TLS_AES_256_GCM_SHA384", TERN_TLS_AES_256_GCM_SHA384) < 0 ||
      add_int(m, "TLS_CHACHA20_POLY1305_SHA256", TERN_TLS_CHACHA20_POLY1305_SHA256) < 0 ||
      add_int(m, "SESSION_MAX_BYTES", TERN_SESSION_MAX_BYTES) < 0)
    goto fail;
  if (PyModule_AddStringConstant(m, "TERN_VERSION", TERN_VERSION_STRING) < 0) goto fail;
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
