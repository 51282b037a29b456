/*
 * quic_key.c - QUIC packet protection for a Python QUIC stack's hot path
 * (RFC 9001 §5, RFC 9369 §3.3): tern.quic.Key over tern_quic_key, and
 * the functions initial_secrets, derive_keys, next_secret, retry_tag,
 * retry_verify. The AEAD and header-protection work runs without the GIL.
 */
#include "ternpy.h"

typedef struct {
  PyObject_HEAD
  tern_quic_key *key;
  uint32_t version;
  uint16_t suite;
  uint8_t secret[TERN_MAX_SECRET_LEN]; /* for next(); wiped on dealloc */
  size_t secret_len;
  int busy; /* in use by a thread without the GIL */
} KeyObject;

static int parse_version(PyObject *o, uint32_t *v) {
  unsigned long x = PyLong_AsUnsignedLong(o);
  if (x == (unsigned long)-1 && PyErr_Occurred()) return -1;
  if (x != TERN_QUIC_V1 && x != TERN_QUIC_V2) {
    PyErr_Format(PyExc_ValueError, "unsupported QUIC version 0x%08lx (1 or 0x6b3343cf)", x);
    return -1;
  }
  *v = (uint32_t)x;
  return 0;
}

static int key_enter(KeyObject *k) {
  if (k->key == NULL) {
    PyErr_SetString(PyExc_ValueError, "the Key is not initialised");
    return -1;
  }
  if (k->busy) {
    PyErr_SetString(PyExc_RuntimeError, "the Key is in use by another thread");
    return -1;
  }
  k->busy = 1;
  return 0;
}

static int key_init(KeyObject *k, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"version", "suite", "secret", NULL};
  PyObject *ver_o, *suite_o;
  Py_buffer secret;
  uint32_t version;
  uint16_t suite;
  tern_quic_key *key;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OOy*:Key", kwlist, &ver_o, &suite_o, &secret))
    return -1;
  if (parse_version(ver_o, &version) < 0 || ternpy_suite_code(suite_o, &suite) < 0) goto fail;
  if (secret.len != (suite == TERN_TLS_AES_256_GCM_SHA384 ? 48 : 32)) {
    PyErr_SetString(PyExc_ValueError, "the secret is the suite's hash length (32 or 48 bytes)");
    goto fail;
  }
  if (k->busy) {
    PyErr_SetString(PyExc_RuntimeError, "the Key is in use by another thread");
    goto fail;
  }
  key = tern_quic_key_new(version, suite, secret.buf, (size_t)secret.len);
  if (key == NULL) {
    PyErr_NoMemory();
    goto fail;
  }
  tern_quic_key_free(k->key);
  k->key = key;
  k->version = version;
  k->suite = suite;
  memcpy(k->secret, secret.buf, (size_t)secret.len);
  k->secret_len = (size_t)secret.len;
  PyBuffer_Release(&secret);
  return 0;
fail:
  PyBuffer_Release(&secret);
  return -1;
}

static void key_dealloc(KeyObject *k) {
  tern_quic_key_free(k->key);
  memset(k->secret, 0, sizeof k->secret); /* the object's memory is freed next */
  __asm__ __volatile__("" : : "r"(k->secret) : "memory");
  ternpy_free_object((PyObject *)k);
}

static PyObject *key_seal(KeyObject *k, PyObject *args) {
  unsigned long long pn;
  Py_buffer hdr, payload;
  PyObject *out = NULL;
  int rc;
  if (!PyArg_ParseTuple(args, "Ky*y*:seal", &pn, &hdr, &payload)) return NULL;
  if ((out = PyBytes_FromStringAndSize(NULL, payload.len + TERN_QUIC_TAG_LEN)) == NULL) goto done;
  if (key_enter(k) < 0) {
    Py_CLEAR(out);
    goto done;
  }
  Py_BEGIN_ALLOW_THREADS
  rc = tern_quic_seal(k->key, pn, hdr.buf, (size_t)hdr.len, payload.buf, (size_t)payload.len,
                      (uint8_t *)PyBytes_AsString(out));
  Py_END_ALLOW_THREADS
  k->busy = 0;
  if (rc != TERN_OK) {
    Py_CLEAR(out);
    ternpy_raise(rc, NULL);
  }
done:
  PyBuffer_Release(&hdr);
  PyBuffer_Release(&payload);
  return out;
}

static PyObject *key_open(KeyObject *k, PyObject *args) {
  unsigned long long pn;
  Py_buffer hdr, ct;
  PyObject *out = NULL;
  int rc;
  if (!PyArg_ParseTuple(args, "Ky*y*:open", &pn, &hdr, &ct)) return NULL;
  if (ct.len < TERN_QUIC_TAG_LEN) {
    ternpy_raise_detail(TernErr_DecryptError, "shorter than the AEAD tag");
    goto done;
  }
  if ((out = PyBytes_FromStringAndSize(NULL, ct.len - TERN_QUIC_TAG_LEN)) == NULL) goto done;
  if (key_enter(k) < 0) {
    Py_CLEAR(out);
    goto done;
  }
  Py_BEGIN_ALLOW_THREADS
  rc = tern_quic_open(k->key, pn, hdr.buf, (size_t)hdr.len, ct.buf, (size_t)ct.len,
                      (uint8_t *)PyBytes_AsString(out));
  Py_END_ALLOW_THREADS
  k->busy = 0;
  if (rc != TERN_OK) {
    Py_CLEAR(out);
    if (rc == TERN_ERR_DECRYPT)
      ternpy_raise_detail(TernErr_DecryptError, "the packet does not authenticate");
    else
      ternpy_raise(rc, NULL);
  }
done:
  PyBuffer_Release(&hdr);
  PyBuffer_Release(&ct);
  return out;
}

static PyObject *key_hp_mask(KeyObject *k, PyObject *arg) {
  Py_buffer sample;
  uint8_t mask[5];
  int rc;
  if (PyObject_GetBuffer(arg, &sample, PyBUF_SIMPLE) < 0) return NULL;
  if (sample.len != TERN_QUIC_SAMPLE_LEN) {
    PyBuffer_Release(&sample);
    PyErr_SetString(PyExc_ValueError, "the sample is 16 bytes");
    return NULL;
  }
  if (key_enter(k) < 0) {
    PyBuffer_Release(&sample);
    return NULL;
  }
  rc = tern_quic_hp_mask(k->key, sample.buf, mask); /* too short to pay for a GIL switch */
  k->busy = 0;
  PyBuffer_Release(&sample);
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  return PyBytes_FromStringAndSize((const char *)mask, 5);
}

static PyObject *key_next(KeyObject *k, PyObject *unused) {
  KeyObject *n;
  uint8_t next[TERN_MAX_SECRET_LEN];
  int rc;
  (void)unused;
  if (key_enter(k) < 0) return NULL;
  rc = tern_quic_next_secret(k->version, k->suite, k->secret, k->secret_len, next);
  k->busy = 0;
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  n = PyObject_New(KeyObject, Py_TYPE((PyObject *)k));
  if (n == NULL) return NULL;
  n->key = tern_quic_key_update(k->key, next, k->secret_len);
  n->version = k->version;
  n->suite = k->suite;
  n->busy = 0;
  memcpy(n->secret, next, k->secret_len);
  n->secret_len = k->secret_len;
  memset(next, 0, sizeof next);
  if (n->key == NULL) {
    Py_DECREF(n);
    return PyErr_NoMemory();
  }
  return (PyObject *)n;
}

static PyObject *key_protect(KeyObject *k, PyObject *args) {
  unsigned long long pn;
  Py_buffer hdr, payload;
  PyObject *out = NULL;
  size_t len = 0;
  int rc;
  if (!PyArg_ParseTuple(args, "Ky*y*:protect", &pn, &hdr, &payload)) return NULL;
  out = PyBytes_FromStringAndSize(NULL, hdr.len + payload.len + TERN_QUIC_TAG_LEN);
  if (out == NULL) goto done;
  memcpy(PyBytes_AsString(out), hdr.buf, (size_t)hdr.len);
  memcpy(PyBytes_AsString(out) + hdr.len, payload.buf, (size_t)payload.len);
  if (key_enter(k) < 0) {
    Py_CLEAR(out);
    goto done;
  }
  Py_BEGIN_ALLOW_THREADS
  rc = tern_quic_protect(k->key, pn, (uint8_t *)PyBytes_AsString(out), (size_t)hdr.len,
                         (size_t)payload.len, (size_t)PyBytes_Size(out), &len);
  Py_END_ALLOW_THREADS
  k->busy = 0;
  if (rc != TERN_OK) {
    Py_CLEAR(out);
    if (rc == TERN_ERR_MALFORMED)
      PyErr_SetString(PyExc_ValueError,
                      "the packet is too short to sample (pn offset + 4 + 16 > length)");
    else
      ternpy_raise(rc, NULL);
  }
done:
  PyBuffer_Release(&hdr);
  PyBuffer_Release(&payload);
  return out;
}

static PyObject *key_unprotect(KeyObject *k, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"packet", "short_dcid_len", "largest_pn", NULL};
  Py_buffer pkt;
  Py_ssize_t dcid_len = 0;
  PyObject *largest_o = Py_None, *out = NULL, *hdr, *payload;
  uint64_t largest = UINT64_MAX;
  tern_quic_packet_info info;
  uint8_t *buf;
  int rc;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|nO:unprotect", kwlist, &pkt, &dcid_len, &largest_o))
    return NULL;
  if (dcid_len < 0 || dcid_len > TERN_QUIC_MAX_CID_LEN) {
    PyErr_SetString(PyExc_ValueError, "short_dcid_len is 0..20");
    goto done;
  }
  if (largest_o != Py_None) {
    largest = PyLong_AsUnsignedLongLong(largest_o);
    if (PyErr_Occurred()) goto done;
  }
  buf = PyMem_Malloc(pkt.len ? (size_t)pkt.len : 1);
  if (buf == NULL) {
    PyErr_NoMemory();
    goto done;
  }
  if (key_enter(k) < 0) {
    PyMem_Free(buf);
    goto done;
  }
  Py_BEGIN_ALLOW_THREADS
  rc = tern_quic_unprotect(k->key, pkt.buf, (size_t)pkt.len, (size_t)dcid_len, largest, buf, &info);
  Py_END_ALLOW_THREADS
  k->busy = 0;
  if (rc != TERN_OK) {
    PyMem_Free(buf);
    if (rc == TERN_ERR_DECRYPT)
      ternpy_raise_detail(TernErr_DecryptError, "the packet does not authenticate");
    else if (rc == TERN_ERR_MALFORMED)
      ternpy_raise_detail(TernErr_ProtocolError, "not a protected QUIC packet this key can open");
    else
      ternpy_raise(rc, NULL);
    goto done;
  }
  hdr = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)info.hdr_len);
  payload = PyBytes_FromStringAndSize((const char *)buf + info.hdr_len, (Py_ssize_t)info.payload_len);
  PyMem_Free(buf);
  if (hdr != NULL && payload != NULL)
    out = Py_BuildValue("(OOKn)", hdr, payload, (unsigned long long)info.pn,
                        (Py_ssize_t)info.packet_len);
  Py_XDECREF(hdr);
  Py_XDECREF(payload);
done:
  PyBuffer_Release(&pkt);
  return out;
}

static PyObject *key_peek_key_phase(KeyObject *k, PyObject *args) {
  Py_buffer pkt;
  Py_ssize_t dcid_len;
  int rc;
  if (!PyArg_ParseTuple(args, "y*n:peek_key_phase", &pkt, &dcid_len)) return NULL;
  if (dcid_len < 0 || dcid_len > TERN_QUIC_MAX_CID_LEN || key_enter(k) < 0) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "short_dcid_len is 0..20");
    PyBuffer_Release(&pkt);
    return NULL;
  }
  rc = tern_quic_peek_key_phase(k->key, pkt.buf, (size_t)pkt.len, (size_t)dcid_len);
  k->busy = 0;
  PyBuffer_Release(&pkt);
  if (rc == TERN_ERR_MALFORMED)
    return ternpy_raise_detail(TernErr_ProtocolError, "not a short-header packet long enough to sample");
  if (rc < 0) return ternpy_raise(rc, NULL);
  return PyLong_FromLong(rc);
}

static PyObject *key_get_version(KeyObject *k, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(k->version);
}
static PyObject *key_get_suite(KeyObject *k, void *c) {
  (void)c;
  return PyLong_FromLong(k->suite);
}

static PyMethodDef key_methods[] = {
    {"seal", (PyCFunction)key_seal, METH_VARARGS,
     "seal(pn, header, payload) -> bytes\n\nThe payload encrypted with the header as associated "
     "data (RFC 9001 §5.3): ciphertext then the 16-byte tag."},
    {"open", (PyCFunction)key_open, METH_VARARGS,
     "open(pn, header, ciphertext) -> bytes\n\nThe payload, authenticated; DecryptError when "
     "it does not authenticate."},
    {"hp_mask", (PyCFunction)key_hp_mask, METH_O,
     "hp_mask(sample) -> bytes\n\nThe 5-byte header-protection mask of a 16-byte sample (RFC "
     "9001 §5.4)."},
    {"next", (PyCFunction)key_next, METH_NOARGS,
     "next() -> Key\n\nThe key of the next key phase (RFC 9001 §6): packet protection from "
     "the next secret ('quic ku'), header protection unchanged."},
    {"protect", (PyCFunction)key_protect, METH_VARARGS,
     "protect(pn, header, payload) -> bytes\n\nA whole protected packet: header (unprotected, "
     "ending with the packet number, whose length the first byte's low bits give) and payload "
     "encrypted, tag appended, header protection applied."},
    {"unprotect", (PyCFunction)(void (*)(void))key_unprotect, METH_VARARGS | METH_KEYWORDS,
     "unprotect(packet, short_dcid_len=0, largest_pn=None) -> (header, payload, pn, "
     "packet_len)\n\nRemoves header and packet protection from the first packet of the "
     "datagram; packet_len says where a coalesced next packet starts. largest_pn is the "
     "largest packet number received in the space so far (None: none). DecryptError when it "
     "does not authenticate, ProtocolError when it is not a packet this key can open."},
    {"peek_key_phase", (PyCFunction)key_peek_key_phase, METH_VARARGS,
     "peek_key_phase(packet, short_dcid_len) -> int\n\nThe Key Phase bit of a short-header "
     "packet, read under header protection, to pick the key generation before unprotect."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef key_getset[] = {
    {"version", (getter)key_get_version, NULL, "The QUIC version.", NULL},
    {"suite", (getter)key_get_suite, NULL, "The cipher suite (IANA number).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot key_slots[] = {
    {Py_tp_dealloc, (void *)key_dealloc},
    {Py_tp_doc, (void *)("Key(version, suite, secret)\n--\n\n"
                   "Packet protection for one direction at one level (RFC 9001 §5): the AEAD key "
                   "and IV and the header-protection key derived from a traffic secret, with "
                   "libcrypto's contexts prepared once. version is tern.quic.VERSION_1 or VERSION_2, "
                   "suite a name or IANA number.")},
    {Py_tp_methods, (void *)key_methods},
    {Py_tp_getset, (void *)key_getset},
    {Py_tp_init, (void *)key_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {0, NULL}};

PyType_Spec Key_Spec = {
    .name = "tern.quic.Key",
    .basicsize = sizeof(KeyObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = key_slots,
};
PyTypeObject *Key_Type;

/* ---- functions ---- */

static PyObject *f_initial_secrets(PyObject *m, PyObject *args) {
  PyObject *ver_o;
  Py_buffer dcid;
  uint32_t version;
  uint8_t cs[32], ss[32];
  int rc;
  (void)m;
  if (!PyArg_ParseTuple(args, "Oy*:initial_secrets", &ver_o, &dcid)) return NULL;
  if (parse_version(ver_o, &version) < 0) {
    PyBuffer_Release(&dcid);
    return NULL;
  }
  rc = tern_quic_initial_secrets(version, dcid.buf, (size_t)dcid.len, cs, ss);
  PyBuffer_Release(&dcid);
  if (rc == TERN_ERR_INVALID_ARG) {
    PyErr_SetString(PyExc_ValueError, "a connection ID is at most 20 bytes");
    return NULL;
  }
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  return Py_BuildValue("(y#y#)", cs, (Py_ssize_t)32, ss, (Py_ssize_t)32);
}

static PyObject *f_derive_keys(PyObject *m, PyObject *args) {
  PyObject *ver_o, *suite_o;
  Py_buffer secret;
  uint32_t version;
  uint16_t suite;
  uint8_t key[32], iv[12], hp[32];
  size_t key_len = 0, hp_len = 0;
  int rc;
  (void)m;
  if (!PyArg_ParseTuple(args, "OOy*:derive_keys", &ver_o, &suite_o, &secret)) return NULL;
  if (parse_version(ver_o, &version) < 0 || ternpy_suite_code(suite_o, &suite) < 0) {
    PyBuffer_Release(&secret);
    return NULL;
  }
  rc = tern_quic_derive_keys(version, suite, secret.buf, (size_t)secret.len, key, &key_len, iv, hp,
                             &hp_len);
  PyBuffer_Release(&secret);
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  return Py_BuildValue("(y#y#y#)", key, (Py_ssize_t)key_len, iv, (Py_ssize_t)12, hp,
                       (Py_ssize_t)hp_len);
}

static PyObject *f_next_secret(PyObject *m, PyObject *args) {
  PyObject *ver_o, *suite_o;
  Py_buffer secret;
  uint32_t version;
  uint16_t suite;
  uint8_t next[TERN_MAX_SECRET_LEN];
  int rc;
  (void)m;
  if (!PyArg_ParseTuple(args, "OOy*:next_secret", &ver_o, &suite_o, &secret)) return NULL;
  if (parse_version(ver_o, &version) < 0 || ternpy_suite_code(suite_o, &suite) < 0) {
    PyBuffer_Release(&secret);
    return NULL;
  }
  if (secret.len > TERN_MAX_SECRET_LEN) {
    PyBuffer_Release(&secret);
    PyErr_SetString(PyExc_ValueError, "secret too long");
    return NULL;
  }
  rc = tern_quic_next_secret(version, suite, secret.buf, (size_t)secret.len, next);
  PyBuffer_Release(&secret);
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  return PyBytes_FromStringAndSize((const char *)next, secret.len);
}

static PyObject *f_retry_tag(PyObject *m, PyObject *args) {
  PyObject *ver_o;
  Py_buffer odcid, retry;
  uint32_t version;
  uint8_t tag[TERN_QUIC_RETRY_TAG_LEN];
  int rc = TERN_ERR_INVALID_ARG;
  (void)m;
  if (!PyArg_ParseTuple(args, "Oy*y*:retry_tag", &ver_o, &odcid, &retry)) return NULL;
  if (parse_version(ver_o, &version) == 0)
    rc = tern_quic_retry_tag(version, odcid.buf, (size_t)odcid.len, retry.buf, (size_t)retry.len, tag);
  PyBuffer_Release(&odcid);
  PyBuffer_Release(&retry);
  if (PyErr_Occurred()) return NULL;
  if (rc != TERN_OK) return ternpy_raise(rc, NULL);
  return PyBytes_FromStringAndSize((const char *)tag, sizeof tag);
}

static PyObject *f_retry_verify(PyObject *m, PyObject *args) {
  PyObject *ver_o;
  Py_buffer odcid, pkt;
  uint32_t version;
  int rc = TERN_ERR_INVALID_ARG;
  (void)m;
  if (!PyArg_ParseTuple(args, "Oy*y*:retry_verify", &ver_o, &odcid, &pkt)) return NULL;
  if (parse_version(ver_o, &version) == 0)
    rc = tern_quic_retry_verify(version, odcid.buf, (size_t)odcid.len, pkt.buf, (size_t)pkt.len);
  PyBuffer_Release(&odcid);
  PyBuffer_Release(&pkt);
  if (PyErr_Occurred()) return NULL;
  if (rc == TERN_OK) Py_RETURN_TRUE;
  if (rc == TERN_ERR_DECRYPT || rc == TERN_ERR_MALFORMED) Py_RETURN_FALSE;
  return ternpy_raise(rc, NULL);
}

PyMethodDef ternpy_quic_functions[] = {
    {"initial_secrets", f_initial_secrets, METH_VARARGS,
     "initial_secrets(version, dcid) -> (client_secret, server_secret)\n\nThe Initial secrets "
     "(32 bytes each) from the client's first Destination Connection ID (RFC 9001 §5.2, RFC "
     "9369 §3.3.1); the Initial level uses TLS_AES_128_GCM_SHA256."},
    {"derive_keys", f_derive_keys, METH_VARARGS,
     "derive_keys(version, suite, secret) -> (key, iv, hp)\n\nThe packet protection key, IV "
     "and header-protection key of a traffic secret (RFC 9001 §5.1), for a stack with its own "
     "AEAD."},
    {"next_secret", f_next_secret, METH_VARARGS,
     "next_secret(version, suite, secret) -> bytes\n\nThe next-generation traffic secret of a "
     "key update (RFC 9001 §6.1)."},
    {"retry_tag", f_retry_tag, METH_VARARGS,
     "retry_tag(version, odcid, retry) -> bytes\n\nThe Retry Integrity Tag (RFC 9001 §5.8) of a "
     "Retry packet without its tag, for the original Destination Connection ID."},
    {"retry_verify", f_retry_verify, METH_VARARGS,
     "retry_verify(version, odcid, packet) -> bool\n\nWhether a whole Retry packet's tag is "
     "right (compared in constant time)."},
    {NULL, NULL, 0, NULL}};
