/*
 * errors.c - tern's failures as Python exceptions.
 *
 * Every failure is a TLSError carrying the alert that ended the
 * connection (.alert, .alert_name: sent or received, None when none),
 * tern's sentence on why (.detail) and tern's result code (.code); the
 * class says what kind of failure it was. WantRead and UnexpectedEOF are
 * also ssl.SSLWantReadError and ssl.SSLEOFError, so code written for
 * ssl.SSLObject catches them unchanged.
 */
#include "ternpy.h"

PyObject *TernErr_TLSError, *TernErr_ProtocolError, *TernErr_CertificateError,
    *TernErr_HandshakeFailure, *TernErr_DecryptError, *TernErr_WantRead,
    *TernErr_UnexpectedEOF, *TernErr_InternalError;

/* The class for an alert: the peer's or ours, the kind is the same. */
static PyObject *class_for_alert(int alert) {
  switch (alert) {
  case TERN_ALERT_UNEXPECTED_MESSAGE:
  case TERN_ALERT_DECODE_ERROR:
  case TERN_ALERT_ILLEGAL_PARAMETER:
  case TERN_ALERT_RECORD_OVERFLOW:
  case TERN_ALERT_MISSING_EXTENSION:
  case TERN_ALERT_UNSUPPORTED_EXTENSION:
  case TERN_ALERT_PROTOCOL_VERSION:
  case TERN_ALERT_INAPPROPRIATE_FALLBACK:
    return TernErr_ProtocolError;
  case TERN_ALERT_BAD_CERTIFICATE:
  case TERN_ALERT_UNSUPPORTED_CERTIFICATE:
  case TERN_ALERT_CERTIFICATE_REVOKED:
  case TERN_ALERT_CERTIFICATE_EXPIRED:
  case TERN_ALERT_CERTIFICATE_UNKNOWN:
  case TERN_ALERT_UNKNOWN_CA:
  case TERN_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE:
  case TERN_ALERT_CERTIFICATE_REQUIRED:
    return TernErr_CertificateError;
  case TERN_ALERT_HANDSHAKE_FAILURE:
  case TERN_ALERT_INSUFFICIENT_SECURITY:
  case TERN_ALERT_ACCESS_DENIED:
  case TERN_ALERT_UNRECOGNIZED_NAME:
  case TERN_ALERT_UNKNOWN_PSK_IDENTITY:
  case TERN_ALERT_NO_APPLICATION_PROTOCOL:
    return TernErr_HandshakeFailure;
  case TERN_ALERT_BAD_RECORD_MAC:
  case TERN_ALERT_DECRYPT_ERROR:
    return TernErr_DecryptError;
  case TERN_ALERT_INTERNAL_ERROR:
    return TernErr_InternalError;
  default:
    return TernErr_TLSError;
  }
}

static PyObject *class_for_code(int rc) {
  switch (rc) {
  case TERN_ERR_DECRYPT:
    return TernErr_DecryptError;
  case TERN_ERR_CERT:
    return TernErr_CertificateError;
  default:
    return TernErr_TLSError;
  }
}

/* Makes and raises cls(message) with the attributes set. */
static PyObject *raise_with(PyObject *cls, int alert, const char *detail, int code) {
  PyObject *exc, *msg, *v;
  const char *name = alert ? tern_alert_name((uint8_t)alert) : NULL;
  if (alert)
    msg = PyUnicode_FromFormat("%s (alert %d): %s", name ? name : "unknown_alert", alert, detail);
  else
    msg = PyUnicode_FromString(detail);
  if (msg == NULL) return NULL;
  exc = PyObject_CallFunctionObjArgs(cls, msg, NULL);
  Py_DECREF(msg);
  if (exc == NULL) return NULL;
  v = alert ? PyLong_FromLong(alert) : Py_NewRef(Py_None);
  if (v == NULL || PyObject_SetAttrString(exc, "alert", v) < 0) goto fail;
  Py_DECREF(v);
  v = name ? PyUnicode_FromString(name) : Py_NewRef(Py_None);
  if (v == NULL || PyObject_SetAttrString(exc, "alert_name", v) < 0) goto fail;
  Py_DECREF(v);
  v = PyUnicode_FromString(detail);
  if (v == NULL || PyObject_SetAttrString(exc, "detail", v) < 0) goto fail;
  Py_DECREF(v);
  v = PyLong_FromLong(code);
  if (v == NULL || PyObject_SetAttrString(exc, "code", v) < 0) goto fail;
  Py_DECREF(v);
  PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
  Py_DECREF(exc);
  return NULL;
fail:
  Py_XDECREF(v);
  Py_DECREF(exc);
  return NULL;
}

PyObject *ternpy_raise(int rc, const tern_conn *c) {
  int alert = c ? tern_conn_alert(c) : 0;
  const char *detail = c ? tern_conn_error_detail(c) : "";
  if (rc == TERN_ERR_NOMEM) return PyErr_NoMemory();
  if (detail == NULL || detail[0] == '\0') detail = tern_strerror(rc);
  if (alert == 0 && rc == TERN_ERR_INVALID_ARG) {
    PyErr_SetString(PyExc_ValueError, detail);
    return NULL;
  }
  return raise_with(alert ? class_for_alert(alert) : class_for_code(rc), alert, detail, rc);
}

PyObject *ternpy_raise_detail(PyObject *cls, const char *detail) {
  return raise_with(cls ? cls : TernErr_TLSError, 0, detail, 0);
}

int ternpy_setter_error(int rc, const char *what) {
  if (rc == TERN_ERR_INVALID_ARG || rc == TERN_ERR_UNSUPPORTED || rc == TERN_ERR_LIMIT) {
    PyErr_Format(PyExc_ValueError, "%s: %s", what, tern_strerror(rc));
    return -1;
  }
  ternpy_raise(rc, NULL);
  return -1;
}

/* Makes an exception class tern.<name> with a docstring and the default
   attributes on the class (so a TLSError made by hand has them too). */
static PyObject *new_class(PyObject *module, const char *name, const char *doc, PyObject *bases) {
  char qual[64];
  PyObject *dict = PyDict_New(), *cls = NULL;
  if (dict == NULL) return NULL;
  if (PyDict_SetItemString(dict, "alert", Py_None) < 0 ||
      PyDict_SetItemString(dict, "alert_name", Py_None) < 0 ||
      PyDict_SetItemString(dict, "detail", Py_None) < 0)
    goto out;
  {
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL || PyDict_SetItemString(dict, "code", zero) < 0) {
      Py_XDECREF(zero);
      goto out;
    }
    Py_DECREF(zero);
  }
  PyOS_snprintf(qual, sizeof qual, "tern.%s", name);
  cls = PyErr_NewExceptionWithDoc(qual, doc, bases, dict);
  if (cls != NULL && PyModule_AddObjectRef(module, name, cls) < 0) Py_CLEAR(cls);
out:
  Py_DECREF(dict);
  return cls;
}

int ternpy_errors_init(PyObject *module) {
  PyObject *ssl = PyImport_ImportModule("ssl"), *want = NULL, *eof = NULL, *bases;
  if (ssl == NULL) return -1;
  want = PyObject_GetAttrString(ssl, "SSLWantReadError");
  eof = PyObject_GetAttrString(ssl, "SSLEOFError");
  Py_DECREF(ssl);
  if (want == NULL || eof == NULL) goto fail;
  TernErr_TLSError = new_class(module, "TLSError",
      "A TLS failure. .alert is the alert number that ended the connection "
      "(sent or received; None when there was none), .alert_name its RFC 8446 "
      "name, .detail tern's sentence on why and .code tern's result code "
      "(a negative TERN_ERR_*). In QUIC, close with CRYPTO_ERROR 0x100 + alert.",
      PyExc_Exception);
  if (TernErr_TLSError == NULL) goto fail;
#define SUB(var, name, doc)                                                  \
  if ((var = new_class(module, name, doc, TernErr_TLSError)) == NULL) goto fail;
  SUB(TernErr_ProtocolError, "ProtocolError",
      "The peer broke the protocol, or said we did: unexpected_message, "
      "decode_error, illegal_parameter, missing/unsupported_extension, "
      "protocol_version, record_overflow.")
  SUB(TernErr_CertificateError, "CertificateError",
      "A certificate was refused or could not be used: bad_certificate, "
      "unknown_ca, certificate_expired, certificate_required, ...; also a "
      "certificate or key that cannot be loaded (no alert).")
  SUB(TernErr_HandshakeFailure, "HandshakeFailure",
      "No common ground: handshake_failure, insufficient_security, "
      "no_application_protocol, unrecognized_name, unknown_psk_identity, "
      "access_denied.")
  SUB(TernErr_DecryptError, "DecryptError",
      "Authentication of protected data failed: bad_record_mac, "
      "decrypt_error, or a QUIC packet that does not open.")
  SUB(TernErr_InternalError, "InternalError",
      "internal_error: tern or a callback failed locally.")
#undef SUB
  bases = PyTuple_Pack(2, TernErr_TLSError, want);
  if (bases == NULL) goto fail;
  TernErr_WantRead = new_class(module, "WantRead",
      "More bytes must arrive before the call can go on (as "
      "ssl.SSLWantReadError, which it also is): feed the incoming buffer "
      "and call again.", bases);
  Py_DECREF(bases);
  if (TernErr_WantRead == NULL) goto fail;
  bases = PyTuple_Pack(2, TernErr_TLSError, eof);
  if (bases == NULL) goto fail;
  TernErr_UnexpectedEOF = new_class(module, "UnexpectedEOF",
      "The transport ended (the incoming buffer's eof) before the handshake "
      "or the peer's close_notify (as ssl.SSLEOFError, which it also is).",
      bases);
  Py_DECREF(bases);
  if (TernErr_UnexpectedEOF == NULL) goto fail;
  Py_DECREF(want);
  Py_DECREF(eof);
  return 0;
fail:
  Py_XDECREF(want);
  Py_XDECREF(eof);
  return -1;
}
