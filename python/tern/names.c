/*
 * names.c - cipher suites, groups and signature schemes by name or by
 * IANA number, as tern names them (tern_suite_name, tern_group_name,
 * tern_signature_scheme_name), plus the usual OpenSSL spellings of the
 * groups ("P-256", "prime256v1", "X25519").
 */
#include <strings.h>
#include <time.h>

#include "ternpy.h"

static const uint16_t suites[] = {TERN_TLS_AES_128_GCM_SHA256, TERN_TLS_AES_256_GCM_SHA384,
                                  TERN_TLS_CHACHA20_POLY1305_SHA256};
static const uint16_t groups[] = {TERN_GROUP_X25519, TERN_GROUP_SECP256R1, TERN_GROUP_X448,
                                  TERN_GROUP_SECP384R1, TERN_GROUP_SECP521R1};
static const uint16_t sigalgs[] = {
    TERN_SIG_ECDSA_SECP256R1_SHA256, TERN_SIG_ECDSA_SECP384R1_SHA384,
    TERN_SIG_ECDSA_SECP521R1_SHA512, TERN_SIG_RSA_PSS_RSAE_SHA256,
    TERN_SIG_RSA_PSS_RSAE_SHA384,    TERN_SIG_RSA_PSS_RSAE_SHA512,
    TERN_SIG_ED25519,                TERN_SIG_ED448,
    TERN_SIG_RSA_PSS_PSS_SHA256,     TERN_SIG_RSA_PSS_PSS_SHA384,
    TERN_SIG_RSA_PSS_PSS_SHA512};

static const struct {
  const char *name;
  uint16_t code;
} group_aliases[] = {
    {"P-256", TERN_GROUP_SECP256R1}, {"prime256v1", TERN_GROUP_SECP256R1},
    {"P-384", TERN_GROUP_SECP384R1}, {"P-521", TERN_GROUP_SECP521R1},
};

uint64_t ternpy_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ternpy_clock(void *user) {
  (void)user;
  return ternpy_now_ms();
}

/* One item: an int that is one of codes, or a name that one of them has. */
static int lookup(PyObject *item, const uint16_t *codes, size_t n,
                  const char *(*name_of)(uint16_t), const char *what, uint16_t *out) {
  if (PyLong_Check(item)) {
    long v = PyLong_AsLong(item);
    if (v == -1 && PyErr_Occurred()) return -1;
    for (size_t i = 0; i < n; i++)
      if (codes[i] == v) {
        *out = codes[i];
        return 0;
      }
    PyErr_Format(PyExc_ValueError, "unsupported %s 0x%04lx", what, v);
    return -1;
  }
  if (PyUnicode_Check(item)) {
    const char *s = PyUnicode_AsUTF8AndSize(item, NULL);
    if (s == NULL) return -1;
    for (size_t i = 0; i < n; i++)
      if (strcasecmp(s, name_of(codes[i])) == 0) {
        *out = codes[i];
        return 0;
      }
    if (name_of == tern_group_name)
      for (size_t i = 0; i < sizeof group_aliases / sizeof group_aliases[0]; i++)
        if (strcasecmp(s, group_aliases[i].name) == 0) {
          *out = group_aliases[i].code;
          return 0;
        }
    PyErr_Format(PyExc_ValueError, "unsupported %s %R", what, item);
    return -1;
  }
  PyErr_Format(PyExc_TypeError, "a %s is a name (str) or an IANA number (int), not %R", what,
               (PyObject *)Py_TYPE(item));
  return -1;
}

int ternpy_suite_code(PyObject *item, uint16_t *out) {
  return lookup(item, suites, 3, tern_suite_name, "cipher suite", out);
}
int ternpy_group_code(PyObject *item, uint16_t *out) {
  return lookup(item, groups, 5, tern_group_name, "group", out);
}
int ternpy_sigalg_code(PyObject *item, uint16_t *out) {
  return lookup(item, sigalgs, sizeof sigalgs / sizeof sigalgs[0], tern_signature_scheme_name,
                "signature scheme", out);
}

Py_ssize_t ternpy_code_list(PyObject *seq, int (*parse)(PyObject *, uint16_t *), uint16_t *out,
                            Py_ssize_t cap, const char *what) {
  PyObject *fast, *owned = NULL;
  Py_ssize_t n;
  if (PyUnicode_Check(seq)) { /* "A:B:C", as OpenSSL writes lists */
    PyObject *sep = PyUnicode_FromString(":");
    if (sep == NULL) return -1;
    owned = PyUnicode_Split(seq, sep, -1);
    Py_DECREF(sep);
    if (owned == NULL) return -1;
    seq = owned;
  }
  fast = ternpy_tuple_of(seq, "expected a sequence of names or numbers");
  Py_XDECREF(owned);
  if (fast == NULL) return -1;
  n = PyTuple_Size(fast);
  if (n == 0 || n > cap) {
    PyErr_Format(PyExc_ValueError, "between 1 and %zd %s", cap, what);
    Py_DECREF(fast);
    return -1;
  }
  for (Py_ssize_t i = 0; i < n; i++)
    if (parse(PyTuple_GetItem(fast, i), &out[i]) < 0) {
      Py_DECREF(fast);
      return -1;
    }
  Py_DECREF(fast);
  return n;
}

PyObject *ternpy_tuple_of(PyObject *seq, const char *message) {
  PyObject *t = PySequence_Tuple(seq);
  if (t == NULL && PyErr_ExceptionMatches(PyExc_TypeError)) {
    PyErr_Clear();
    PyErr_SetString(PyExc_TypeError, message);
  }
  return t;
}

PyObject *ternpy_name_or_none(const char *name) {
  if (name == NULL) Py_RETURN_NONE;
  return PyUnicode_FromString(name);
}

/* tern.suite_name(code) etc.: the name, or None when tern lacks it. */
static PyObject *name_fn(PyObject *arg, const char *(*name_of)(uint16_t)) {
  long v = PyLong_AsLong(arg);
  if (v == -1 && PyErr_Occurred()) return NULL;
  if (v < 0 || v > 0xffff) Py_RETURN_NONE;
  return ternpy_name_or_none(name_of((uint16_t)v));
}
static PyObject *py_suite_name(PyObject *m, PyObject *arg) {
  (void)m;
  return name_fn(arg, tern_suite_name);
}
static PyObject *py_group_name(PyObject *m, PyObject *arg) {
  (void)m;
  return name_fn(arg, tern_group_name);
}
static PyObject *py_sigalg_name(PyObject *m, PyObject *arg) {
  (void)m;
  return name_fn(arg, tern_signature_scheme_name);
}
static PyObject *py_alert_name(PyObject *m, PyObject *arg) {
  long v = PyLong_AsLong(arg);
  (void)m;
  if (v == -1 && PyErr_Occurred()) return NULL;
  if (v < 0 || v > 255) {
    PyErr_SetString(PyExc_ValueError, "an alert is 0..255");
    return NULL;
  }
  return PyUnicode_FromString(tern_alert_name((uint8_t)v));
}

static PyObject *codes_tuple(const uint16_t *codes, size_t n) {
  PyObject *t = PyTuple_New((Py_ssize_t)n);
  if (t == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    PyObject *v = PyLong_FromLong(codes[i]);
    if (v == NULL) {
      Py_DECREF(t);
      return NULL;
    }
    PyTuple_SetItem(t, (Py_ssize_t)i, v);
  }
  return t;
}

static PyMethodDef name_methods[] = {
    {"suite_name", py_suite_name, METH_O,
     "suite_name(code) -> str | None: the RFC 8446 name of a TLS 1.3 cipher suite."},
    {"group_name", py_group_name, METH_O,
     "group_name(code) -> str | None: the RFC 8446 name of a named group."},
    {"signature_scheme_name", py_sigalg_name, METH_O,
     "signature_scheme_name(code) -> str | None: the RFC 8446 name of a signature scheme."},
    {"alert_name", py_alert_name, METH_O,
     "alert_name(alert) -> str: the RFC 8446 name of an alert, or 'unknown_alert'."},
    {NULL, NULL, 0, NULL}};

int ternpy_names_init(PyObject *module) {
  PyObject *t;
  if (PyModule_AddFunctions(module, name_methods) < 0) return -1;
  if ((t = codes_tuple(suites, 3)) == NULL || PyModule_AddObject(module, "CIPHER_SUITES", t) < 0)
    return -1;
  if ((t = codes_tuple(groups, 5)) == NULL || PyModule_AddObject(module, "GROUPS", t) < 0)
    return -1;
  if ((t = codes_tuple(sigalgs, sizeof sigalgs / sizeof sigalgs[0])) == NULL ||
      PyModule_AddObject(module, "SIGNATURE_SCHEMES", t) < 0)
    return -1;
  return 0;
}
