/*
 * spec/client.rl - the TLS 1.3 client handshake (RFC 8446 Appendix A.1)
 * as a regular language over handshake events (src/core/hs_events.h):
 *
 *   send ClientHello
 *   [ recv HelloRetryRequest, send ClientHello ]
 *   recv ServerHello                       recv ServerHello (PSK accepted)
 *   recv EncryptedExtensions               recv EncryptedExtensions
 *   [ recv CertificateRequest ]            [ (early data accepted)
 *   recv Certificate                         ... ]
 *   recv CertificateVerify
 *   recv Finished                          recv Finished
 *   [ send EndOfEarlyData ]  (TCP, only when early data was accepted)
 *   [ send Certificate [ send CertificateVerify ] ]  (when requested)
 *   send Finished
 *   then, connected: recv NewSessionTicket | recv/send KeyUpdate
 *     | recv CertificateRequest, send Certificate [ send CertificateVerify ],
 *       send Finished   (post-handshake authentication, TCP only)
 *
 * Anything else is unexpected_message, decided here and nowhere else.
 * Each action is one call into src/engine/client.c. Compiled by tools/regen.sh.
 */
#include <tern.h>

#include "engine/machines.h"

%%{
  machine client;
  alphtype unsigned char;

  action send_ch    { rc = tern_client_send_ch(c); }
  action recv_hrr   { rc = tern_client_recv_hrr(c); }
  action send_ch2   { rc = tern_client_send_ch2(c); }
  action recv_sh    { rc = tern_client_recv_sh(c); }
  action recv_sh_psk { rc = tern_client_recv_sh_psk(c); }
  action recv_ee    { rc = tern_client_recv_ee(c); }
  action recv_cr    { rc = tern_client_recv_cr(c); }
  action recv_cert  { rc = tern_client_recv_cert(c); }
  action recv_cv    { rc = tern_client_recv_cv(c); }
  action recv_fin   { rc = tern_client_recv_fin(c); }
  action send_eoed  { rc = tern_client_send_eoed(c); }
  action send_cert  { rc = tern_client_send_cert(c); }
  action send_cv    { rc = tern_client_send_cv(c); }
  action send_fin   { rc = tern_client_send_fin(c); }
  action recv_nst   { rc = tern_client_recv_nst(c); }
  action recv_ku    { rc = tern_client_recv_ku(c); }
  action send_ku    { rc = tern_client_send_ku(c); }
  action recv_cr_post   { rc = tern_client_recv_cr_post(c); }
  action send_cert_post { rc = tern_client_send_cert_post(c); }
  action send_cv_post   { rc = tern_client_send_cv_post(c); }
  action send_fin_post  { rc = tern_client_send_fin_post(c); }

  # The events (core/hs_events.h); each label names the edge in the
  # diagram tools/regen.sh draws into docs/client.svg.
  SEND_CH         = 1;   # label: send ClientHello
  RECV_HRR        = 4;   # label: recv HelloRetryRequest
  RECV_SH         = 6;   # label: recv ServerHello
  RECV_SH_PSK     = 8;   # label: recv ServerHello (PSK accepted)
  RECV_EE         = 10;  # label: recv EncryptedExtensions
  RECV_EE_EARLY   = 12;  # label: recv EncryptedExtensions (early data accepted)
  RECV_CR         = 14;  # label: recv CertificateRequest
  SEND_CERT       = 15;  # label: send Certificate
  RECV_CERT       = 16;  # label: recv Certificate
  SEND_CERT_EMPTY = 17;  # label: send Certificate (empty)
  SEND_CV         = 19;  # label: send CertificateVerify
  RECV_CV         = 20;  # label: recv CertificateVerify
  SEND_FIN        = 21;  # label: send Finished
  RECV_FIN        = 22;  # label: recv Finished
  SEND_EOED       = 23;  # label: send EndOfEarlyData
  RECV_NST        = 26;  # label: recv NewSessionTicket
  SEND_KU         = 27;  # label: send KeyUpdate
  RECV_KU         = 28;  # label: recv KeyUpdate

  hello      = SEND_CH @send_ch
               ( RECV_HRR @recv_hrr SEND_CH @send_ch2 )?;

  # The server authenticates with a certificate (full handshake).
  server_auth = RECV_CERT @recv_cert RECV_CV @recv_cv RECV_FIN @recv_fin;

  # Our answer to a CertificateRequest: a chain and its proof, or nothing.
  client_auth = SEND_CERT @send_cert SEND_CV @send_cv
              | SEND_CERT_EMPTY @send_cert;

  full       = RECV_SH @recv_sh RECV_EE @recv_ee
               ( server_auth SEND_FIN @send_fin
               | RECV_CR @recv_cr server_auth client_auth SEND_FIN @send_fin );

  resumed    = RECV_SH_PSK @recv_sh_psk
               ( RECV_EE @recv_ee RECV_FIN @recv_fin
               | RECV_EE_EARLY @recv_ee RECV_FIN @recv_fin
                 (SEND_EOED @send_eoed)? )
               SEND_FIN @send_fin;

  # Post-handshake authentication (RFC 8446 §4.6.2): our answer to a
  # CertificateRequest, its messages one right after the other.
  post_auth  = RECV_CR @recv_cr_post
               ( SEND_CERT @send_cert_post SEND_CV @send_cv_post
               | SEND_CERT_EMPTY @send_cert_post )
               SEND_FIN @send_fin_post;

  connected  = ( RECV_NST @recv_nst | RECV_KU @recv_ku | SEND_KU @send_ku
               | post_auth )*;

  main := hello ( full | resumed ) connected;
}%%

%% write data noerror noentry;

/* The start state of a client connection. */
int tern_client_machine_start(void) { return client_start; }

/* Whether the machine is past the client's Finished (connected). */
int tern_client_machine_done(int cs) { return cs >= client_first_final; }

/* See hs_events.h. */
int tern_client_machine_feed(int *cs_io, unsigned char ev, struct tern_conn *c) {
  const unsigned char *p = &ev;
  const unsigned char *pe = p + 1;
  int cs = *cs_io;
  int rc = 0;

  if (cs == 0) return TERN_ERR_STATE;
  %% write exec;
  if (rc != 0) cs = 0;
  *cs_io = cs;
  if (rc == 0 && cs == 0) rc = TERN_ERR_STATE;
  return rc;
}
