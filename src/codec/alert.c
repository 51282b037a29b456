/*
 * codec/alert.c - codec layer: result codes and alert descriptions as
 * words (tern_strerror, tern_alert_name).
 */
#include <tern.h>

/* tern_strerror: see tern.h. */
const char *tern_strerror(int err) {
  switch (err) {
  case TERN_OK: return "success";
  case TERN_WANT_READ: return "more input needed";
  case TERN_ERR_INVALID_ARG: return "invalid argument";
  case TERN_ERR_NOMEM: return "out of memory";
  case TERN_ERR_CRYPTO: return "libcrypto operation failed";
  case TERN_ERR_DECRYPT: return "authentication failed (tampered data or wrong key)";
  case TERN_ERR_BUFFER_TOO_SMALL: return "output buffer too small";
  case TERN_ERR_UNSUPPORTED: return "unsupported algorithm or version";
  case TERN_ERR_STATE: return "operation not allowed in this state";
  case TERN_ERR_MALFORMED: return "malformed input";
  case TERN_ERR_LIMIT: return "size limit exceeded";
  case TERN_ERR_ALERT: return "handshake failed with an alert";
  case TERN_ERR_CERT: return "certificate or key unusable";
  case TERN_ERR_EXPIRED: return "session or ticket expired";
  case TERN_ERR_MISMATCH: return "session is for another server name";
  case TERN_ERR_CLOSED: return "the peer closed the connection";
  default: return "unknown error";
  }
}

/* tern_alert_name: see tern.h. */
const char *tern_alert_name(uint8_t alert) {
  switch (alert) {
  case TERN_ALERT_CLOSE_NOTIFY: return "close_notify";
  case TERN_ALERT_UNEXPECTED_MESSAGE: return "unexpected_message";
  case TERN_ALERT_BAD_RECORD_MAC: return "bad_record_mac";
  case TERN_ALERT_RECORD_OVERFLOW: return "record_overflow";
  case TERN_ALERT_HANDSHAKE_FAILURE: return "handshake_failure";
  case TERN_ALERT_BAD_CERTIFICATE: return "bad_certificate";
  case TERN_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
  case TERN_ALERT_CERTIFICATE_REVOKED: return "certificate_revoked";
  case TERN_ALERT_CERTIFICATE_EXPIRED: return "certificate_expired";
  case TERN_ALERT_CERTIFICATE_UNKNOWN: return "certificate_unknown";
  case TERN_ALERT_ILLEGAL_PARAMETER: return "illegal_parameter";
  case TERN_ALERT_UNKNOWN_CA: return "unknown_ca";
  case TERN_ALERT_ACCESS_DENIED: return "access_denied";
  case TERN_ALERT_DECODE_ERROR: return "decode_error";
  case TERN_ALERT_DECRYPT_ERROR: return "decrypt_error";
  case TERN_ALERT_PROTOCOL_VERSION: return "protocol_version";
  case TERN_ALERT_INSUFFICIENT_SECURITY: return "insufficient_security";
  case TERN_ALERT_INTERNAL_ERROR: return "internal_error";
  case TERN_ALERT_INAPPROPRIATE_FALLBACK: return "inappropriate_fallback";
  case TERN_ALERT_USER_CANCELED: return "user_canceled";
  case TERN_ALERT_MISSING_EXTENSION: return "missing_extension";
  case TERN_ALERT_UNSUPPORTED_EXTENSION: return "unsupported_extension";
  case TERN_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
  case TERN_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE: return "bad_certificate_status_response";
  case TERN_ALERT_UNKNOWN_PSK_IDENTITY: return "unknown_psk_identity";
  case TERN_ALERT_CERTIFICATE_REQUIRED: return "certificate_required";
  case TERN_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
  case TERN_ALERT_ECH_REQUIRED: return "ech_required";
  default: return "unknown_alert";
  }
}
