/*
 * context.c - tern.TLSContext: a tern_config with the shape of
 * ssl.SSLContext (protocol, verify_mode, check_hostname, load_cert_chain,
 * load_verify_locations, set_alpn_protocols, post_handshake_auth,
 * num_tickets, keylog_filename, sni_callback, wrap_bio) plus what TLS 1.3
 * adds (suites, groups and signature schemes by name, 0-RTT, ticket keys,
 * external PSKs, record padding). It is the configuration of both kinds
 * of connection: TLSObject over TCP (wrap_bio) and tern.quic.Context.
 *
 * A configuration is shared by its connections, and connections may run
 * their handshakes on other threads without the GIL; so it is settled
 * before the first connection is made from it, and setting anything
 * afterwards raises ValueError (the callbacks are Python objects and may
 * be replaced at any time).
 */
#include "ternpy.h"

#include <openssl/x509.h>

#define PROTOCOL_TLS_CLIENT 16 /* ssl.PROTOCOL_TLS_CLIENT */
#define PROTOCOL_TLS_SERVER 17 /* ssl.PROTOCOL_TLS_SERVER */

static int settable(ContextObject *ctx) {
  if (ctx->frozen) {
    PyErr_SetString(PyExc_ValueError,
                    "this TLSContext is in use by connections; configure it before making them");
    return -1;
  }
  return 0;
}

void ternpy_context_freeze(ContextObject *ctx) { ctx->frozen = 1; }

static int check(int rc, const char *what) { return rc == TERN_OK ? 0 : ternpy_setter_error(rc, what); }

static PyObject *context_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"protocol", NULL};
  int protocol = PROTOCOL_TLS_CLIENT;
  ContextObject *ctx;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|i:TLSContext", kwlist, &protocol)) return NULL;
  if (protocol != PROTOCOL_TLS_CLIENT && protocol != PROTOCOL_TLS_SERVER) {
    PyErr_SetString(PyExc_ValueError,
                    "protocol is ssl.PROTOCOL_TLS_CLIENT or ssl.PROTOCOL_TLS_SERVER (TLS 1.3 only)");
    return NULL;
  }
  ctx = (ContextObject *)ternpy_alloc_object(type);
  if (ctx == NULL) return NULL;
  ctx->protocol = protocol;
  ctx->role = protocol == PROTOCOL_TLS_CLIENT ? TERN_CLIENT : TERN_SERVER;
  ctx->cfg = tern_config_new(ctx->role);
  if (ctx->cfg == NULL) {
    Py_DECREF(ctx);
    return PyErr_NoMemory();
  }
  ctx->verify_mode = ctx->role == TERN_CLIENT ? 2 : 0;
  ctx->check_hostname = ctx->role == TERN_CLIENT;
  ctx->num_tickets = 2;
  ctx->ticket_lifetime = 7200;
  ctx->early_data_window = 10000;
  if (tern_config_set_clock(ctx->cfg, ternpy_clock, NULL) != TERN_OK ||
      ternpy_config_callbacks(ctx) < 0) {
    Py_DECREF(ctx);
    if (!PyErr_Occurred()) ternpy_raise(TERN_ERR_STATE, NULL);
    return NULL;
  }
  return (PyObject *)ctx;
}

static int context_init(PyObject *self, PyObject *args, PyObject *kw) {
  (void)self, (void)args, (void)kw;
  return 0; /* everything is done in __new__; subclasses may add an __init__ */
}

static int context_traverse(ContextObject *ctx, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE((PyObject *)ctx)); /* a heap type's instances hold it */
  Py_VISIT(ctx->alpn);
  Py_VISIT(ctx->keylog_callback);
  Py_VISIT(ctx->keylog_file);
  Py_VISIT(ctx->keylog_filename);
  Py_VISIT(ctx->sni_callback);
  return 0;
}

static int context_clear(ContextObject *ctx) {
  Py_CLEAR(ctx->alpn);
  Py_CLEAR(ctx->keylog_callback);
  Py_CLEAR(ctx->keylog_file);
  Py_CLEAR(ctx->keylog_filename);
  Py_CLEAR(ctx->sni_callback);
  return 0;
}

static void context_dealloc(ContextObject *ctx) {
  PyObject_GC_UnTrack(ctx);
  if (ctx->weakreflist != NULL) PyObject_ClearWeakRefs((PyObject *)ctx);
  context_clear(ctx);
  tern_config_free(ctx->cfg);
  ternpy_store_free(ctx->store);
  ternpy_free_object((PyObject *)ctx);
}

/* ---- certificates and trust ---- */

/* Reads a whole file named by a str/bytes/PathLike into a new bytes. */
static PyObject *read_file(PyObject *path) {
  PyObject *io = PyImport_ImportModule("io"), *f, *data;
  if (io == NULL) return NULL;
  f = PyObject_CallMethod(io, "open", "Os", path, "rb");
  Py_DECREF(io);
  if (f == NULL) return NULL;
  data = PyObject_CallMethod(f, "read", NULL);
  {
    PyObject *r = PyObject_CallMethod(f, "close", NULL);
    Py_XDECREF(r);
  }
  Py_DECREF(f);
  if (data != NULL && !PyBytes_Check(data)) {
    Py_DECREF(data);
    PyErr_SetString(PyExc_TypeError, "file did not read as bytes");
    return NULL;
  }
  return data;
}

/* bytes from str (PEM text) or a bytes-like object, as a new bytes. */
static PyObject *as_bytes(PyObject *v, const char *what) {
  if (PyUnicode_Check(v)) return PyUnicode_AsEncodedString(v, "ascii", "strict");
  if (PyBytes_Check(v)) return Py_NewRef(v);
  if (PyObject_CheckBuffer(v)) return PyBytes_FromObject(v);
  PyErr_Format(PyExc_TypeError, "%s must be str (PEM) or bytes (PEM or DER)", what);
  return NULL;
}

/* The key's password: None, str, bytes or a callable returning one. */
static PyObject *password_bytes(PyObject *pw) {
  PyObject *v, *out;
  if (pw == NULL || pw == Py_None) return Py_NewRef(Py_None);
  v = PyCallable_Check(pw) ? PyObject_CallNoArgs(pw) : Py_NewRef(pw);
  if (v == NULL) return NULL;
  if (PyUnicode_Check(v))
    out = PyUnicode_AsUTF8String(v);
  else if (PyBytes_Check(v) || PyByteArray_Check(v))
    out = PyBytes_FromObject(v);
  else {
    PyErr_SetString(PyExc_TypeError, "password should be a string or bytes");
    out = NULL;
  }
  Py_DECREF(v);
  return out;
}

/* Our chain and key (from bytes): the first is set, a server adds more. */
static int use_cert(ContextObject *ctx, PyObject *chain_b, PyObject *key_b, PyObject *pw_b) {
  X509 *leaf = NULL;
  STACK_OF(X509) *chain = NULL;
  EVP_PKEY *key = NULL;
  int rc;
  if (ternpy_parse_chain((const uint8_t *)PyBytes_AsString(chain_b),
                         (size_t)PyBytes_Size(chain_b), &leaf, &chain) < 0)
    return -1;
  if (ternpy_parse_key((const uint8_t *)PyBytes_AsString(key_b), (size_t)PyBytes_Size(key_b),
                       pw_b == Py_None ? NULL : PyBytes_AsString(pw_b), &key) < 0) {
    ternpy_x509_free(leaf, chain);
    return -1;
  }
  if (ctx->has_cert && ctx->role == TERN_SERVER)
    rc = tern_config_add_cert(ctx->cfg, leaf, chain, key);
  else
    rc = tern_config_set_cert(ctx->cfg, leaf, chain, key);
  ternpy_x509_free(leaf, chain);
  ternpy_pkey_free(key);
  if (rc != TERN_OK) {
    if (rc == TERN_ERR_CERT || rc == TERN_ERR_INVALID_ARG) {
      ternpy_raise_detail(TernErr_CertificateError,
                          "the private key does not match the certificate, or cannot sign");
      return -1;
    }
    return ternpy_setter_error(rc, "certificate");
  }
  ctx->has_cert = 1;
  return 0;
}

static PyObject *load_chain(ContextObject *ctx, PyObject *chain, PyObject *key, PyObject *password,
                            int from_files) {
  PyObject *chain_b = NULL, *key_b = NULL, *pw_b = NULL;
  int rc = -1;
  if (settable(ctx) < 0) return NULL;
  chain_b = from_files ? read_file(chain) : as_bytes(chain, "certificate chain");
  if (chain_b == NULL) goto out;
  if (key == NULL || key == Py_None)
    key_b = Py_NewRef(chain_b); /* the key is in the chain's file */
  else
    key_b = from_files ? read_file(key) : as_bytes(key, "private key");
  if (key_b == NULL || (pw_b = password_bytes(password)) == NULL) goto out;
  rc = use_cert(ctx, chain_b, key_b, pw_b);
out:
  Py_XDECREF(chain_b);
  Py_XDECREF(key_b);
  Py_XDECREF(pw_b);
  if (rc < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *context_load_cert_chain(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"certfile", "keyfile", "password", NULL};
  PyObject *certfile, *keyfile = NULL, *password = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:load_cert_chain", kwlist, &certfile, &keyfile,
                                   &password))
    return NULL;
  return load_chain(ctx, certfile, keyfile, password, 1);
}

static PyObject *context_load_cert_chain_data(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"certdata", "keydata", "password", NULL};
  PyObject *certdata, *keydata = NULL, *password = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:load_cert_chain_data", kwlist, &certdata,
                                   &keydata, &password))
    return NULL;
  return load_chain(ctx, certdata, keydata, password, 0);
}

/* Our store of trust anchors, made and given to the configuration once. */
static X509_STORE *trust_store(ContextObject *ctx) {
  int rc;
  if (ctx->store != NULL) return ctx->store;
  ctx->store = ternpy_store_new();
  if (ctx->store == NULL) {
    PyErr_NoMemory();
    return NULL;
  }
  rc = tern_config_set_trust_store(ctx->cfg, ctx->store);
  if (rc != TERN_OK) {
    ternpy_setter_error(rc, "trust store");
    return NULL;
  }
  return ctx->store;
}

static PyObject *context_load_verify_locations(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"cafile", "capath", "cadata", NULL};
  PyObject *cafile = Py_None, *capath = Py_None, *cadata = Py_None;
  PyObject *file_b = NULL, *dir_b = NULL, *data_b = NULL, *result = NULL;
  X509_STORE *store;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOO:load_verify_locations", kwlist, &cafile,
                                   &capath, &cadata))
    return NULL;
  if (cafile == Py_None && capath == Py_None && cadata == Py_None) {
    PyErr_SetString(PyExc_TypeError, "cafile, capath and cadata cannot be all omitted");
    return NULL;
  }
  if (settable(ctx) < 0 || (store = trust_store(ctx)) == NULL) return NULL;
  if (cafile != Py_None && !PyUnicode_FSConverter(cafile, &file_b)) goto out;
  if (capath != Py_None && !PyUnicode_FSConverter(capath, &dir_b)) goto out;
  if (ternpy_store_load(store, file_b ? PyBytes_AsString(file_b) : NULL,
                        dir_b ? PyBytes_AsString(dir_b) : NULL) < 0)
    goto out;
  if (cadata != Py_None) {
    if ((data_b = as_bytes(cadata, "cadata")) == NULL) goto out;
    if (ternpy_store_add(store, (const uint8_t *)PyBytes_AsString(data_b),
                         (size_t)PyBytes_Size(data_b)) < 0)
      goto out;
  }
  result = Py_NewRef(Py_None);
out:
  Py_XDECREF(file_b);
  Py_XDECREF(dir_b);
  Py_XDECREF(data_b);
  return result;
}

static PyObject *context_load_default_certs(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"purpose", NULL};
  PyObject *purpose = NULL;
  X509_STORE *store;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:load_default_certs", kwlist, &purpose)) return NULL;
  if (settable(ctx) < 0 || (store = trust_store(ctx)) == NULL) return NULL;
  if (ternpy_store_default(store) < 0) return NULL;
  Py_RETURN_NONE;
}

/* ---- algorithms ---- */

static PyObject *set_codes(ContextObject *ctx, PyObject *arg,
                           int (*parse)(PyObject *, uint16_t *),
                           int (*set)(tern_config *, const uint16_t *, size_t), const char *what) {
  uint16_t codes[32];
  Py_ssize_t n;
  if (settable(ctx) < 0) return NULL;
  n = ternpy_code_list(arg, parse, codes, 32, what);
  if (n < 0) return NULL;
  if (check(set(ctx->cfg, codes, (size_t)n), what) < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *context_set_cipher_suites(ContextObject *ctx, PyObject *arg) {
  return set_codes(ctx, arg, ternpy_suite_code, tern_config_set_cipher_suites, "cipher suites");
}
static PyObject *context_set_groups(ContextObject *ctx, PyObject *arg) {
  return set_codes(ctx, arg, ternpy_group_code, tern_config_set_groups, "groups");
}
static PyObject *context_set_key_share_groups(ContextObject *ctx, PyObject *arg) {
  return set_codes(ctx, arg, ternpy_group_code, tern_config_set_key_share_groups, "groups");
}
static PyObject *context_set_signature_algorithms(ContextObject *ctx, PyObject *arg) {
  return set_codes(ctx, arg, ternpy_sigalg_code, tern_config_set_signature_schemes,
                   "signature schemes");
}

static PyObject *context_set_alpn_protocols(ContextObject *ctx, PyObject *arg) {
  PyObject *fast, *tuple = NULL;
  const char *names[64];
  Py_ssize_t n;
  int rc;
  if (settable(ctx) < 0) return NULL;
  if (PyUnicode_Check(arg) || PyBytes_Check(arg)) {
    PyErr_SetString(PyExc_TypeError, "alpn_protocols is a list of str");
    return NULL;
  }
  fast = ternpy_tuple_of(arg, "alpn_protocols is a list of str");
  if (fast == NULL) return NULL;
  n = PyTuple_Size(fast);
  if (n > 64) {
    PyErr_SetString(PyExc_ValueError, "at most 64 ALPN protocols");
    goto out;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PyTuple_GetItem(fast, i);
    Py_ssize_t len;
    if (!PyUnicode_Check(item)) {
      PyErr_SetString(PyExc_TypeError, "alpn_protocols is a list of str");
      goto out;
    }
    names[i] = PyUnicode_AsUTF8AndSize(item, &len);
    if (names[i] == NULL) goto out;
    if (len == 0 || len > 255 || (Py_ssize_t)strlen(names[i]) != len) {
      PyErr_SetString(PyExc_ValueError, "an ALPN protocol name is 1..255 bytes, without NUL");
      goto out;
    }
  }
  rc = tern_config_set_alpn(ctx->cfg, n ? names : NULL, (size_t)n);
  if (check(rc, "ALPN protocols") < 0) goto out;
  tuple = Py_NewRef(fast);
  TERNPY_SETREF(ctx->alpn, tuple);
out:
  Py_DECREF(fast);
  if (tuple == NULL) return NULL;
  Py_RETURN_NONE;
}

/* ---- tickets, 0-RTT, PSKs ---- */

static PyObject *context_set_ticket_key(ContextObject *ctx, PyObject *args) {
  Py_buffer name, key;
  PyObject *out = NULL;
  if (!PyArg_ParseTuple(args, "y*y*:set_ticket_key", &name, &key)) return NULL;
  if (name.len != 16 || key.len != 32)
    PyErr_SetString(PyExc_ValueError, "a ticket key is a 16-byte name and a 32-byte key");
  else if (ctx->role != TERN_SERVER)
    PyErr_SetString(PyExc_ValueError, "ticket keys are for servers");
  else if (settable(ctx) == 0 &&
           check(tern_config_set_ticket_key(ctx->cfg, name.buf, key.buf), "ticket key") == 0)
    out = Py_NewRef(Py_None);
  PyBuffer_Release(&name);
  PyBuffer_Release(&key);
  return out;
}

static PyObject *context_add_psk(ContextObject *ctx, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"identity", "key", "hash", "early_data_suite", "early_data_alpn",
                           "max_early_data", NULL};
  Py_buffer id, key;
  const char *hash = "sha256", *alpn = NULL;
  PyObject *suite_o = Py_None, *out = NULL;
  unsigned long med = 0;
  tern_psk_hash h;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "y*y*|s$Ozk:add_psk", kwlist, &id, &key, &hash,
                                   &suite_o, &alpn, &med))
    return NULL;
  if (settable(ctx) < 0) goto out;
  if (strcmp(hash, "sha256") == 0 || strcmp(hash, "SHA256") == 0 || strcmp(hash, "SHA-256") == 0)
    h = TERN_PSK_SHA256;
  else if (strcmp(hash, "sha384") == 0 || strcmp(hash, "SHA384") == 0 ||
           strcmp(hash, "SHA-384") == 0)
    h = TERN_PSK_SHA384;
  else {
    PyErr_SetString(PyExc_ValueError, "hash is 'sha256' or 'sha384'");
    goto out;
  }
  if (id.len < 1 || id.len > TERN_PSK_MAX_IDENTITY || key.len < TERN_PSK_MIN_KEY ||
      key.len > TERN_PSK_MAX_KEY) {
    PyErr_Format(PyExc_ValueError, "a PSK identity is 1..%d bytes and its key %d..%d bytes",
                 TERN_PSK_MAX_IDENTITY, TERN_PSK_MIN_KEY, TERN_PSK_MAX_KEY);
    goto out;
  }
  if (check(tern_config_add_psk(ctx->cfg, id.buf, (size_t)id.len, key.buf, (size_t)key.len, h),
            "external PSK") < 0)
    goto out;
  if (med > 0xffffffffUL) {
    PyErr_SetString(PyExc_ValueError, "max_early_data is at most 2**32 - 1");
    goto out;
  }
  if (med > 0) {
    uint16_t suite = h == TERN_PSK_SHA256 ? TERN_TLS_AES_128_GCM_SHA256 : TERN_TLS_AES_256_GCM_SHA384;
    if (suite_o != Py_None && ternpy_suite_code(suite_o, &suite) < 0) goto out;
    if (check(tern_config_set_psk_early_data(ctx->cfg, id.buf, (size_t)id.len, suite, alpn,
                                             (uint32_t)med),
              "PSK early data") < 0)
      goto out;
  }
  out = Py_NewRef(Py_None);
out:
  PyBuffer_Release(&id);
  PyBuffer_Release(&key);
  return out;
}

/* ---- properties ---- */

static PyObject *get_protocol(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromLong(ctx->protocol);
}

static PyObject *get_verify_mode(ContextObject *ctx, void *c) {
  PyObject *ssl = PyImport_ImportModule("ssl"), *cls, *out;
  (void)c;
  if (ssl == NULL) return NULL;
  cls = PyObject_GetAttrString(ssl, "VerifyMode");
  Py_DECREF(ssl);
  if (cls == NULL) return NULL;
  out = PyObject_CallFunction(cls, "i", ctx->verify_mode);
  Py_DECREF(cls);
  return out;
}

/* Client: verify the server or not. Server, as ssl: CERT_OPTIONAL /
   CERT_REQUIRED ask for a client certificate in the handshake; with
   post_handshake_auth set they ask for none there, and the certificates
   of verify_client_post_handshake() are verified instead (what OpenSSL's
   SSL_VERIFY_POST_HANDSHAKE does for CPython). */
static int apply_verify(ContextObject *ctx, int mode, int pha) {
  int rc;
  if (ctx->role == TERN_CLIENT) {
    rc = tern_config_set_verify_peer(ctx->cfg, mode != 0);
  } else if (pha) {
    rc = tern_config_set_client_auth(ctx->cfg, TERN_CLIENT_AUTH_NONE, 0);
    if (rc == TERN_OK) rc = tern_config_set_verify_peer(ctx->cfg, mode != 0);
  } else {
    rc = tern_config_set_client_auth(ctx->cfg,
                                     mode == 0   ? TERN_CLIENT_AUTH_NONE
                                     : mode == 1 ? TERN_CLIENT_AUTH_OPTIONAL
                                                 : TERN_CLIENT_AUTH_REQUIRED,
                                     0);
    if (rc == TERN_OK && mode == 0) rc = tern_config_set_verify_peer(ctx->cfg, 0);
  }
  if (check(rc, "verify_mode") < 0) return -1;
  ctx->verify_mode = mode;
  return 0;
}

static int apply_verify_mode(ContextObject *ctx, int mode) {
  return apply_verify(ctx, mode, ctx->post_handshake_auth);
}

static int set_verify_mode(ContextObject *ctx, PyObject *v, void *c) {
  long mode;
  (void)c;
  if (v == NULL) {
    PyErr_SetString(PyExc_AttributeError, "cannot delete verify_mode");
    return -1;
  }
  mode = PyLong_AsLong(v);
  if (mode == -1 && PyErr_Occurred()) return -1;
  if (mode < 0 || mode > 2) {
    PyErr_SetString(PyExc_ValueError, "invalid value for verify_mode");
    return -1;
  }
  if (settable(ctx) < 0) return -1;
  if (mode == 0 && ctx->check_hostname) {
    PyErr_SetString(PyExc_ValueError,
                    "Cannot set verify_mode to CERT_NONE when check_hostname is enabled.");
    return -1;
  }
  return apply_verify_mode(ctx, (int)mode);
}

static PyObject *get_check_hostname(ContextObject *ctx, void *c) {
  (void)c;
  return PyBool_FromLong(ctx->check_hostname);
}

static int set_check_hostname(ContextObject *ctx, PyObject *v, void *c) {
  int on;
  (void)c;
  if (v == NULL || (on = PyObject_IsTrue(v)) < 0) {
    if (v == NULL) PyErr_SetString(PyExc_AttributeError, "cannot delete check_hostname");
    return -1;
  }
  if (settable(ctx) < 0) return -1;
  if (on && ctx->verify_mode == 0 && apply_verify_mode(ctx, 2) < 0) return -1;
  /* off with verification on: the chain is checked, the name is not */
  if (ctx->role == TERN_CLIENT &&
      check(tern_config_set_verify_name(ctx->cfg, on), "check_hostname") < 0)
    return -1;
  ctx->check_hostname = on;
  return 0;
}

static PyObject *get_pha(ContextObject *ctx, void *c) {
  (void)c;
  return PyBool_FromLong(ctx->post_handshake_auth);
}

static int set_pha(ContextObject *ctx, PyObject *v, void *c) {
  int on;
  (void)c;
  if (v == NULL || (on = PyObject_IsTrue(v)) < 0) {
    if (v == NULL) PyErr_SetString(PyExc_AttributeError, "cannot delete post_handshake_auth");
    return -1;
  }
  if (settable(ctx) < 0) return -1;
  if (ctx->role == TERN_CLIENT &&
      check(tern_config_set_post_handshake_auth(ctx->cfg, on), "post_handshake_auth") < 0)
    return -1;
  if (ctx->role == TERN_SERVER && apply_verify(ctx, ctx->verify_mode, on) < 0) return -1;
  ctx->post_handshake_auth = on;
  return 0;
}

/* An unsigned property whose value goes into the configuration. */
static int uint_value(PyObject *v, unsigned long max, unsigned long *out, const char *what) {
  if (v == NULL) {
    PyErr_Format(PyExc_AttributeError, "cannot delete %s", what);
    return -1;
  }
  *out = PyLong_AsUnsignedLong(v);
  if (*out == (unsigned long)-1 && PyErr_Occurred()) return -1;
  if (*out > max) {
    PyErr_Format(PyExc_ValueError, "%s is at most %lu", what, max);
    return -1;
  }
  return 0;
}

static PyObject *get_num_tickets(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(ctx->num_tickets);
}

static int set_num_tickets(ContextObject *ctx, PyObject *v, void *c) {
  unsigned long n;
  (void)c;
  if (uint_value(v, 16, &n, "num_tickets") < 0 || settable(ctx) < 0) return -1;
  if (ctx->role != TERN_SERVER) {
    PyErr_SetString(PyExc_ValueError, "SSLContext is not a server context.");
    return -1;
  }
  if (check(tern_config_set_tickets(ctx->cfg, (unsigned)n, ctx->ticket_lifetime), "num_tickets") < 0)
    return -1;
  ctx->num_tickets = (unsigned)n;
  return 0;
}

static PyObject *get_ticket_lifetime(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(ctx->ticket_lifetime);
}

static int set_ticket_lifetime(ContextObject *ctx, PyObject *v, void *c) {
  unsigned long n;
  (void)c;
  if (uint_value(v, 604800, &n, "ticket_lifetime") < 0 || settable(ctx) < 0) return -1;
  if (check(tern_config_set_tickets(ctx->cfg, ctx->num_tickets, (uint32_t)n), "ticket_lifetime") < 0)
    return -1;
  ctx->ticket_lifetime = (uint32_t)n;
  return 0;
}

static PyObject *get_max_early_data(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(ctx->max_early_data);
}

static int set_max_early_data(ContextObject *ctx, PyObject *v, void *c) {
  unsigned long n;
  (void)c;
  if (uint_value(v, 0xffffffffUL, &n, "max_early_data") < 0 || settable(ctx) < 0) return -1;
  if (check(tern_config_set_early_data(ctx->cfg, (uint32_t)n, ctx->early_data_window),
            "max_early_data") < 0)
    return -1;
  ctx->max_early_data = (uint32_t)n;
  return 0;
}

static PyObject *get_early_window(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromUnsignedLong(ctx->early_data_window);
}

static int set_early_window(ContextObject *ctx, PyObject *v, void *c) {
  unsigned long n;
  (void)c;
  if (uint_value(v, 0xffffffffUL, &n, "early_data_window") < 0 || settable(ctx) < 0) return -1;
  if (check(tern_config_set_early_data(ctx->cfg, ctx->max_early_data, (uint32_t)n),
            "early_data_window") < 0)
    return -1;
  ctx->early_data_window = (uint32_t)n;
  return 0;
}

static PyObject *get_psk_ke(ContextObject *ctx, void *c) {
  (void)c;
  return PyBool_FromLong(ctx->psk_ke);
}

static int set_psk_ke(ContextObject *ctx, PyObject *v, void *c) {
  int on;
  (void)c;
  if (v == NULL || (on = PyObject_IsTrue(v)) < 0) {
    if (v == NULL) PyErr_SetString(PyExc_AttributeError, "cannot delete psk_ke");
    return -1;
  }
  if (settable(ctx) < 0 || check(tern_config_set_psk_ke(ctx->cfg, on), "psk_ke") < 0) return -1;
  ctx->psk_ke = on;
  return 0;
}

static PyObject *get_padding(ContextObject *ctx, void *c) {
  (void)c;
  return PyLong_FromSize_t(ctx->record_padding);
}

static int set_padding(ContextObject *ctx, PyObject *v, void *c) {
  unsigned long n;
  (void)c;
  if (uint_value(v, 16384, &n, "record_padding") < 0 || settable(ctx) < 0) return -1;
  if (check(tern_config_set_record_padding(ctx->cfg, n), "record_padding") < 0) return -1;
  ctx->record_padding = n;
  return 0;
}

static PyObject *get_alpn(ContextObject *ctx, void *c) {
  (void)c;
  if (ctx->alpn == NULL) return PyList_New(0);
  return PySequence_List(ctx->alpn);
}

static PyObject *get_keylog_filename(ContextObject *ctx, void *c) {
  (void)c;
  return Py_NewRef(ctx->keylog_filename ? ctx->keylog_filename : Py_None);
}

static int set_keylog_filename(ContextObject *ctx, PyObject *v, void *c) {
  PyObject *io, *f;
  (void)c;
  if (v == NULL || v == Py_None) {
    Py_CLEAR(ctx->keylog_filename);
    Py_CLEAR(ctx->keylog_file);
    __atomic_store_n(&ctx->keylog_on, ctx->keylog_callback != NULL, __ATOMIC_RELAXED);
    return 0;
  }
  /* appended to, as ssl does; lines are written and flushed one by one */
  if ((io = PyImport_ImportModule("io")) == NULL) return -1;
  f = PyObject_CallMethod(io, "open", "Os", v, "a");
  Py_DECREF(io);
  if (f == NULL) return -1;
  TERNPY_SETREF(ctx->keylog_file, f);
  TERNPY_SETREF(ctx->keylog_filename, Py_NewRef(v));
  __atomic_store_n(&ctx->keylog_on, 1, __ATOMIC_RELAXED);
  return 0;
}

static PyObject *get_keylog_callback(ContextObject *ctx, void *c) {
  (void)c;
  return Py_NewRef(ctx->keylog_callback ? ctx->keylog_callback : Py_None);
}

static int set_callable(PyObject **slot, PyObject *v, const char *what) {
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

static int set_keylog_callback(ContextObject *ctx, PyObject *v, void *c) {
  (void)c;
  if (set_callable(&ctx->keylog_callback, v, "keylog_callback") < 0) return -1;
  __atomic_store_n(&ctx->keylog_on, ctx->keylog_callback != NULL || ctx->keylog_file != NULL,
                   __ATOMIC_RELAXED);
  return 0;
}

static PyObject *get_sni_callback(ContextObject *ctx, void *c) {
  (void)c;
  return Py_NewRef(ctx->sni_callback ? ctx->sni_callback : Py_None);
}

static int set_sni_callback(ContextObject *ctx, PyObject *v, void *c) {
  (void)c;
  if (ctx->role != TERN_SERVER && v != Py_None && v != NULL) {
    PyErr_SetString(PyExc_ValueError, "sni_callback cannot be set on TLS_CLIENT context");
    return -1;
  }
  if (set_callable(&ctx->sni_callback, v, "sni_callback") < 0) return -1;
  __atomic_store_n(&ctx->sni_on, ctx->sni_callback != NULL, __ATOMIC_RELAXED);
  return 0;
}

PyObject *ternpy_wrap_bio(ContextObject *ctx, PyObject *args, PyObject *kw);

static PyMethodDef context_methods[] = {
    {"wrap_bio", (PyCFunction)(void (*)(void))ternpy_wrap_bio, METH_VARARGS | METH_KEYWORDS,
     "wrap_bio(incoming, outgoing, server_side=False, server_hostname=None, session=None) -> "
     "TLSObject\n\nA TLS 1.3 connection over two buffers (ssl.MemoryBIO or anything with "
     "read(), write() and eof), as ssl.SSLContext.wrap_bio. server_side must match the "
     "context's protocol."},
    {"load_cert_chain", (PyCFunction)(void (*)(void))context_load_cert_chain,
     METH_VARARGS | METH_KEYWORDS,
     "load_cert_chain(certfile, keyfile=None, password=None)\n\nOur certificate chain (leaf "
     "first) and private key from files, PEM or DER; the key may be in certfile. password "
     "(str, bytes or a callable returning one) decrypts a PEM key. A server may call it up "
     "to 4 times to hold chains of several key types (e.g. ECDSA and RSA)."},
    {"load_cert_chain_data", (PyCFunction)(void (*)(void))context_load_cert_chain_data,
     METH_VARARGS | METH_KEYWORDS,
     "load_cert_chain_data(certdata, keydata=None, password=None)\n\nAs load_cert_chain, from "
     "memory: str (PEM) or bytes (PEM or DER)."},
    {"load_verify_locations", (PyCFunction)(void (*)(void))context_load_verify_locations,
     METH_VARARGS | METH_KEYWORDS,
     "load_verify_locations(cafile=None, capath=None, cadata=None)\n\nTrust anchors from a PEM "
     "file, a hashed directory, or cadata (str PEM, or bytes DER), as ssl."},
    {"load_default_certs", (PyCFunction)(void (*)(void))context_load_default_certs,
     METH_VARARGS | METH_KEYWORDS,
     "load_default_certs(purpose=None)\n\nThe system's trust anchors (libcrypto's default "
     "paths)."},
    {"set_cipher_suites", (PyCFunction)context_set_cipher_suites, METH_O,
     "set_cipher_suites(suites)\n\nThe TLS 1.3 cipher suites in preference order: names "
     "('TLS_AES_128_GCM_SHA256', ...) or numbers, a list or an OpenSSL-style 'A:B' string."},
    {"set_ciphers", (PyCFunction)context_set_cipher_suites, METH_O,
     "set_ciphers(suites)\n\nThe same as set_cipher_suites (tern has TLS 1.3 suites only)."},
    {"set_groups", (PyCFunction)context_set_groups, METH_O,
     "set_groups(groups)\n\nThe key-exchange groups in preference order: 'x25519', "
     "'secp256r1' (or 'P-256'), 'x448', 'secp384r1', 'secp521r1', or numbers."},
    {"set_key_share_groups", (PyCFunction)context_set_key_share_groups, METH_O,
     "set_key_share_groups(groups)\n\nClient: the groups the first ClientHello carries key "
     "shares for (the server may ask for another with HelloRetryRequest)."},
    {"set_signature_algorithms", (PyCFunction)context_set_signature_algorithms, METH_O,
     "set_signature_algorithms(schemes)\n\nThe signature schemes accepted from the peer and "
     "used with our key, in preference order ('ecdsa_secp256r1_sha256', 'ed25519', ...)."},
    {"set_alpn_protocols", (PyCFunction)context_set_alpn_protocols, METH_O,
     "set_alpn_protocols(protocols)\n\nThe application protocols: offered (client) or accepted "
     "in preference order (server); a server with a list refuses a client whose offer shares "
     "none (no_application_protocol)."},
    {"set_ticket_key", (PyCFunction)context_set_ticket_key, METH_VARARGS,
     "set_ticket_key(name, key)\n\nServer: the 16-byte name and 32-byte key that seal new "
     "tickets (the previous key still opens tickets). Servers of a fleet share tickets by "
     "setting the same key; a server starts with a random one of its own."},
    {"add_psk", (PyCFunction)(void (*)(void))context_add_psk, METH_VARARGS | METH_KEYWORDS,
     "add_psk(identity, key, hash='sha256', *, early_data_suite=None, early_data_alpn=None, "
     "max_early_data=0)\n\nAn external pre-shared key (RFC 8446 §4.2.11), at most 4 per "
     "context: identity 1..128 bytes, key 16..64 bytes, hash 'sha256' or 'sha384'. A client "
     "offers it in every ClientHello; a server accepts it. max_early_data > 0 lets it carry "
     "0-RTT under the given suite and ALPN protocol (see tern.h on replay protection)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef context_getset[] = {
    {"protocol", (getter)get_protocol, NULL,
     "ssl.PROTOCOL_TLS_CLIENT or ssl.PROTOCOL_TLS_SERVER.", NULL},
    {"verify_mode", (getter)get_verify_mode, (setter)set_verify_mode,
     "ssl.CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED. Client: whether the server's chain is "
     "verified (default CERT_REQUIRED). Server: whether a client certificate is asked for "
     "(CERT_OPTIONAL) or required (CERT_REQUIRED); default CERT_NONE.",
     NULL},
    {"check_hostname", (getter)get_check_hostname, (setter)set_check_hostname,
     "Client: check server_hostname against the server's certificate (default True). False "
     "with verify_mode CERT_REQUIRED, as ssl: the chain is verified against the trust "
     "anchors but the name is not; server_hostname still goes out as SNI. Setting it True "
     "sets verify_mode CERT_REQUIRED when it was CERT_NONE.",
     NULL},
    {"post_handshake_auth", (getter)get_pha, (setter)set_pha,
     "Client: advertise post-handshake authentication (RFC 8446 §4.6.2), so a server may "
     "ask for our certificate later (TLSObject.verify_client_post_handshake). Server, as "
     "ssl: with verify_mode CERT_OPTIONAL/REQUIRED, ask for no certificate in the handshake "
     "and verify the ones post-handshake authentication brings.",
     NULL},
    {"num_tickets", (getter)get_num_tickets, (setter)set_num_tickets,
     "Server: tickets sent after each handshake (default 2, 0 for none). Each is single-use.",
     NULL},
    {"ticket_lifetime", (getter)get_ticket_lifetime, (setter)set_ticket_lifetime,
     "Server: ticket lifetime in seconds (default 7200, at most 604800).", NULL},
    {"max_early_data", (getter)get_max_early_data, (setter)set_max_early_data,
     "0-RTT: server, the early data its tickets allow (0 turns 0-RTT off, the default); "
     "client, any nonzero value lets it offer 0-RTT when a session allows it.",
     NULL},
    {"early_data_window", (getter)get_early_window, (setter)set_early_window,
     "Server: how far (ms) a client's ticket age may be from the server's for 0-RTT to be "
     "accepted (default 10000).",
     NULL},
    {"psk_ke", (getter)get_psk_ke, (setter)set_psk_ke,
     "Allow PSK handshakes without a fresh (EC)DHE (psk_ke: no forward secrecy). Off by "
     "default.",
     NULL},
    {"record_padding", (getter)get_padding, (setter)set_padding,
     "TCP: pad protected records to a multiple of this many bytes (0: none, the default).",
     NULL},
    {"alpn_protocols", (getter)get_alpn, NULL, "The list set_alpn_protocols set.", NULL},
    {"keylog_filename", (getter)get_keylog_filename, (setter)set_keylog_filename,
     "A file the NSS key log lines of every connection are appended to (as ssl), or None.",
     NULL},
    {"keylog_callback", (getter)get_keylog_callback, (setter)set_keylog_callback,
     "A callable given each NSS key log line (str, no newline) of every connection, or None.",
     NULL},
    {"sni_callback", (getter)get_sni_callback, (setter)set_sni_callback,
     "Server: callable(tls_object, server_name, context) run when a ClientHello arrives "
     "(server_name None without SNI). It may switch tls_object.context to another server "
     "context (another certificate); it returns None to go on, or an alert number to "
     "refuse the handshake.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef context_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ContextObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot context_slots[] = {
    {Py_tp_members, context_members},
    {Py_tp_dealloc, (void *)context_dealloc},
    {Py_tp_doc, (void *)("TLSContext(protocol=ssl.PROTOCOL_TLS_CLIENT)\n--\n\n"
                   "The settings of many TLS 1.3 connections of one role, as ssl.SSLContext: "
                   "make connections over memory buffers with wrap_bio, or QUIC connections with "
                   "tern.quic.Context(context=...). Configure it before making connections: "
                   "a context in use raises ValueError when changed.")},
    {Py_tp_traverse, (void *)context_traverse},
    {Py_tp_clear, (void *)context_clear},
    {Py_tp_methods, (void *)context_methods},
    {Py_tp_getset, (void *)context_getset},
    {Py_tp_init, (void *)context_init},
    {Py_tp_new, (void *)context_new},
    {0, NULL}};

PyType_Spec Context_Spec = {
    .name = "tern.TLSContext",
    .basicsize = sizeof(ContextObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = context_slots,
};
PyTypeObject *Context_Type;
