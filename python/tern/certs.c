/*
 * certs.c - certificates, keys and trust anchors from Python's bytes or
 * files, PEM or DER, as the libcrypto objects tern.h takes
 * (tern_config_set_cert, tern_config_add_cert, tern_config_set_trust_store);
 * and the ssl-shaped dict of a peer certificate.
 */
#include "ternpy.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int is_pem(const uint8_t *data, size_t len) {
  /* PEM may start with text before the first "-----BEGIN" */
  for (size_t i = 0; i + 10 <= len && i < 4096; i++)
    if (memcmp(data + i, "-----BEGIN", 10) == 0) return 1;
  return 0;
}

/* Raises CertificateError with libcrypto's last reason. */
static int cert_error(const char *what) {
  unsigned long e = ERR_peek_last_error();
  char buf[256];
  char msg[400];
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    PyOS_snprintf(msg, sizeof msg, "%s: %s", what, buf);
  } else {
    PyOS_snprintf(msg, sizeof msg, "%s", what);
  }
  ERR_clear_error();
  ternpy_raise_detail(TernErr_CertificateError, msg);
  return -1;
}

int ternpy_parse_chain(const uint8_t *data, size_t len, X509 **leaf, STACK_OF(X509) **chain) {
  STACK_OF(X509) *all = sk_X509_new_null();
  X509 *x;
  *leaf = NULL;
  *chain = NULL;
  if (all == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  if (len > INT_MAX) goto bad;
  if (is_pem(data, len)) {
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL) goto bad;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
      if (!sk_X509_push(all, x)) {
        X509_free(x);
        break;
      }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the PEM data */
  } else {
    const uint8_t *p = data, *end = data + len;
    while (p < end) {
      x = d2i_X509(NULL, &p, (long)(end - p));
      if (x == NULL) {
        sk_X509_pop_free(all, X509_free);
        return cert_error("not a PEM or DER certificate");
      }
      if (!sk_X509_push(all, x)) {
        X509_free(x);
        goto bad;
      }
    }
  }
  if (sk_X509_num(all) == 0) {
    sk_X509_free(all);
    return cert_error("no certificate found");
  }
  *leaf = sk_X509_shift(all);
  *chain = all;
  return 0;
bad:
  sk_X509_pop_free(all, X509_free);
  return cert_error("cannot read the certificates");
}

int ternpy_parse_key(const uint8_t *data, size_t len, const char *password, EVP_PKEY **key) {
  *key = NULL;
  if (len > INT_MAX) return cert_error("key too long");
  if (is_pem(data, len)) {
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL) return cert_error("out of memory");
    *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(password ? password : ""));
    BIO_free(bio);
  } else {
    const uint8_t *p = data;
    *key = d2i_AutoPrivateKey(NULL, &p, (long)len);
  }
  if (*key == NULL) return cert_error("cannot read the private key");
  ERR_clear_error();
  return 0;
}

int ternpy_store_add(X509_STORE *store, const uint8_t *data, size_t len) {
  X509 *leaf;
  STACK_OF(X509) *rest;
  int ok = 1;
  if (ternpy_parse_chain(data, len, &leaf, &rest) < 0) return -1;
  if (!X509_STORE_add_cert(store, leaf)) ok = 0;
  for (int i = 0; ok && i < sk_X509_num(rest); i++)
    if (!X509_STORE_add_cert(store, sk_X509_value(rest, i))) ok = 0;
  X509_free(leaf);
  sk_X509_pop_free(rest, X509_free);
  return ok ? 0 : cert_error("cannot add the trust anchors");
}

int ternpy_store_load(X509_STORE *store, const char *file, const char *dir) {
  if (file != NULL && !X509_STORE_load_file(store, file))
    return cert_error("cannot load the trust anchors file");
  if (dir != NULL && !X509_STORE_load_path(store, dir))
    return cert_error("cannot use the trust anchors directory");
  return 0;
}

int ternpy_store_default(X509_STORE *store) {
  if (!X509_STORE_set_default_paths(store)) return cert_error("cannot load the default anchors");
  ERR_clear_error();
  return 0;
}

X509_STORE *ternpy_store_new(void) { return X509_STORE_new(); }
void ternpy_store_free(X509_STORE *store) { X509_STORE_free(store); }
void ternpy_x509_free(X509 *leaf, STACK_OF(X509) *chain) {
  X509_free(leaf);
  sk_X509_pop_free(chain, X509_free);
}
void ternpy_pkey_free(EVP_PKEY *key) { EVP_PKEY_free(key); }

/* ((('commonName', 'localhost'),), ...) as ssl writes a name. */
static PyObject *name_tuple(const X509_NAME *name) {
  int n = X509_NAME_entry_count(name);
  PyObject *out = PyTuple_New(n);
  if (out == NULL) return NULL;
  for (int i = 0; i < n; i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : "unknown";
    unsigned char *utf8 = NULL;
    int ulen = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    PyObject *v = ulen >= 0 ? Py_BuildValue("((ss#))", ln, utf8, (Py_ssize_t)ulen) : NULL;
    OPENSSL_free(utf8);
    if (v == NULL) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "undecodable certificate name");
      Py_DECREF(out);
      return NULL;
    }
    PyTuple_SetItem(out, i, v);
  }
  return out;
}

static PyObject *asn1_time(const ASN1_TIME *t) {
  char buf[64];
  BIO *bio = BIO_new(BIO_s_mem());
  int n;
  if (bio == NULL) return PyErr_NoMemory();
  ASN1_TIME_print(bio, t); /* "Jan  1 00:00:00 2030 GMT", as ssl gives it */
  n = BIO_read(bio, buf, sizeof buf - 1);
  BIO_free(bio);
  if (n < 0) n = 0;
  return PyUnicode_FromStringAndSize(buf, n);
}

static PyObject *san_tuple(X509 *x) {
  GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  PyObject *list = PyList_New(0), *out;
  if (list == NULL) goto fail;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
    PyObject *v = NULL;
    if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
      const char *kind = g->type == GEN_DNS ? "DNS" : g->type == GEN_EMAIL ? "email" : "URI";
      ASN1_IA5STRING *s = g->d.ia5;
      v = Py_BuildValue("(ss#)", kind, ASN1_STRING_get0_data(s), (Py_ssize_t)ASN1_STRING_length(s));
    } else if (g->type == GEN_IPADD) {
      const unsigned char *a = ASN1_STRING_get0_data(g->d.ip);
      int len = ASN1_STRING_length(g->d.ip);
      char buf[64];
      if (len == 4)
        PyOS_snprintf(buf, sizeof buf, "%d.%d.%d.%d", a[0], a[1], a[2], a[3]);
      else if (len == 16)
        PyOS_snprintf(buf, sizeof buf, "%X:%X:%X:%X:%X:%X:%X:%X", a[0] << 8 | a[1],
                      a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9],
                      a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15]);
      else
        PyOS_snprintf(buf, sizeof buf, "<invalid>");
      v = Py_BuildValue("(ss)", "IP Address", buf);
    } else {
      continue;
    }
    if (v == NULL || PyList_Append(list, v) < 0) {
      Py_XDECREF(v);
      goto fail;
    }
    Py_DECREF(v);
  }
  GENERAL_NAMES_free(names);
  out = PyList_AsTuple(list);
  Py_DECREF(list);
  return out;
fail:
  GENERAL_NAMES_free(names);
  Py_XDECREF(list);
  return NULL;
}

PyObject *ternpy_decode_cert(const uint8_t *der, size_t len) {
  const uint8_t *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  PyObject *d = NULL, *v = NULL;
  char *serial = NULL;
  BIGNUM *bn = NULL;
  if (x == NULL) {
    ERR_clear_error();
    PyErr_SetString(PyExc_ValueError, "undecodable certificate");
    return NULL;
  }
  if ((d = PyDict_New()) == NULL) goto fail;
#define PUT(key, expr)                                                        \
  if ((v = (expr)) == NULL || PyDict_SetItemString(d, key, v) < 0) goto fail; \
  Py_DECREF(v);
  PUT("subject", name_tuple(X509_get_subject_name(x)))
  PUT("issuer", name_tuple(X509_get_issuer_name(x)))
  PUT("version", PyLong_FromLong(X509_get_version(x) + 1))
  bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  serial = bn ? BN_bn2hex(bn) : NULL;
  PUT("serialNumber", PyUnicode_FromString(serial ? serial : ""))
  PUT("notBefore", asn1_time(X509_get0_notBefore(x)))
  PUT("notAfter", asn1_time(X509_get0_notAfter(x)))
  v = san_tuple(x);
  if (v == NULL) goto fail;
  if (PyTuple_Size(v) > 0 && PyDict_SetItemString(d, "subjectAltName", v) < 0) goto fail;
  Py_DECREF(v);
#undef PUT
  OPENSSL_free(serial);
  BN_free(bn);
  X509_free(x);
  return d;
fail:
  Py_XDECREF(v);
  OPENSSL_free(serial);
  BN_free(bn);
  X509_free(x);
  Py_XDECREF(d);
  return NULL;
}
