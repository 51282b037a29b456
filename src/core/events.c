/*
 * core/events.c - core layer: the names of the handshake events
 * (core/hs_events.h), for error details and test reports.
 */
#include "core/hs_events.h"

const char *tern_event_name(unsigned char ev) {
  static const char *const names[TERN_EV_MAX + 1] = {
      "?", "sent ClientHello", "ClientHello", "sent HelloRetryRequest",
      "HelloRetryRequest", "sent ServerHello", "ServerHello", "sent ServerHello (PSK)",
      "ServerHello (PSK)", "sent EncryptedExtensions", "EncryptedExtensions",
      "sent EncryptedExtensions (early data)", "EncryptedExtensions (early data)",
      "sent CertificateRequest", "CertificateRequest", "sent Certificate", "Certificate",
      "sent empty Certificate", "empty Certificate", "sent CertificateVerify",
      "CertificateVerify", "sent Finished", "Finished", "sent EndOfEarlyData",
      "EndOfEarlyData", "sent NewSessionTicket", "NewSessionTicket", "sent KeyUpdate",
      "KeyUpdate"};
  return ev <= TERN_EV_MAX ? names[ev] : "?";
}
