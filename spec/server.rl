/*
 * spec/server.rl - the TLS 1.3 server handshake (RFC 8446 Appendix A.2)
 * as a regular language over handshake events (src/core/hs_events.h):
 *
 *   recv ClientHello
 *   [ send HelloRetryRequest, recv ClientHello ]
 *   send ServerHello                       send ServerHello (PSK accepted)
 *   send EncryptedExtensions               send EncryptedExtensions
 *   [ send CertificateRequest ]            send Finished
 *   send Certificate                       [ recv EndOfEarlyData ]  (TCP,
 *   send CertificateVerify                   early data accepted)
 *   send Finished
 *   [ recv Certificate [ recv CertificateVerify ] ]  (when requested)
 *   recv Finished
 *   then, connected: send NewSessionTicket | recv/send KeyUpdate
 *     | send CertificateRequest, recv Certificate [ recv CertificateVerify ],
 *       recv Finished   (post-handshake authentication, TCP only; tickets
 *       and key updates may come in between)
 *
 * Anything else is unexpected_message, decided here and nowhere else.
 * Each action is one call into src/engine/server.c. Compiled by tools/regen.sh.
 */
#include <tern.h>

#include "engine/machines.h"

%%{
  machine server;
  alphtype unsigned char;

  action recv_ch    { rc = tern_server_recv_ch(c); }
  action send_hrr   { rc = tern_server_send_hrr(c); }
  action recv_ch2   { rc = tern_server_recv_ch2(c); }
  action send_sh    { rc = tern_server_send_sh(c); }
  action send_ee    { rc = tern_server_send_ee(c); }
  action send_cr    { rc = tern_server_send_cr(c); }
  action send_cert  { rc = tern_server_send_cert(c); }
  action send_cv    { rc = tern_server_send_cv(c); }
  action send_fin   { rc = tern_server_send_fin(c); }
  action recv_eoed  { rc = tern_server_recv_eoed(c); }
  action recv_cert  { rc = tern_server_recv_cert(c); }
  action recv_cert_empty { rc = tern_server_recv_cert_empty(c); }
  action recv_cv    { rc = tern_server_recv_cv(c); }
  action recv_fin   { rc = tern_server_recv_fin(c); }
  action send_nst   { rc = tern_server_send_nst(c); }
  action recv_ku    { rc = tern_server_recv_ku(c); }
  action send_ku    { rc = tern_server_send_ku(c); }
  action send_cr_post         { rc = tern_server_send_cr_post(c); }
  action recv_cert_post       { rc = tern_server_recv_cert_post(c); }
  action recv_cert_empty_post { rc = tern_server_recv_cert_empty_post(c); }
  action recv_cv_post         { rc = tern_server_recv_cv_post(c); }
  action recv_fin_post        { rc = tern_server_recv_fin_post(c); }

  # The events (core/hs_events.h); each label names the edge in the
  # diagram tools/regen.sh draws into docs/server.svg.
  RECV_CH         = 2;   # label: recv ClientHello
  SEND_HRR        = 3;   # label: send HelloRetryRequest
  SEND_SH         = 5;   # label: send ServerHello
  SEND_SH_PSK     = 7;   # label: send ServerHello (PSK accepted)
  SEND_EE         = 9;   # label: send EncryptedExtensions
  SEND_EE_EARLY   = 11;  # label: send EncryptedExtensions (early data accepted)
  SEND_CR         = 13;  # label: send CertificateRequest
  SEND_CERT       = 15;  # label: send Certificate
  RECV_CERT       = 16;  # label: recv Certificate
  RECV_CERT_EMPTY = 18;  # label: recv Certificate (empty)
  SEND_CV         = 19;  # label: send CertificateVerify
  RECV_CV         = 20;  # label: recv CertificateVerify
  SEND_FIN        = 21;  # label: send Finished
  RECV_FIN        = 22;  # label: recv Finished
  RECV_EOED       = 24;  # label: recv EndOfEarlyData
  SEND_NST        = 25;  # label: send NewSessionTicket
  SEND_KU         = 27;  # label: send KeyUpdate
  RECV_KU         = 28;  # label: recv KeyUpdate

  hello      = RECV_CH @recv_ch
               ( SEND_HRR @send_hrr RECV_CH @recv_ch2 )?;

  server_auth = SEND_CERT @send_cert SEND_CV @send_cv SEND_FIN @send_fin;

  # The client's answer to our CertificateRequest.
  client_auth = RECV_CERT @recv_cert RECV_CV @recv_cv
              | RECV_CERT_EMPTY @recv_cert_empty;

  full       = SEND_SH @send_sh SEND_EE @send_ee
               ( server_auth RECV_FIN @recv_fin
               | SEND_CR @send_cr server_auth client_auth RECV_FIN @recv_fin );

  resumed    = SEND_SH_PSK @send_sh
               ( SEND_EE @send_ee SEND_FIN @send_fin
               | SEND_EE_EARLY @send_ee SEND_FIN @send_fin
                 (RECV_EOED @recv_eoed)? )
               RECV_FIN @recv_fin;

  # Traffic that may cross a post-handshake authentication in flight.
  traffic    = ( SEND_NST @send_nst | RECV_KU @recv_ku | SEND_KU @send_ku )*;

  # Post-handshake authentication (RFC 8446 §4.6.2).
  post_auth  = SEND_CR @send_cr_post traffic
               ( RECV_CERT @recv_cert_post traffic RECV_CV @recv_cv_post
               | RECV_CERT_EMPTY @recv_cert_empty_post ) traffic
               RECV_FIN @recv_fin_post;

  connected  = ( SEND_NST @send_nst | RECV_KU @recv_ku | SEND_KU @send_ku
               | post_auth )*;

  main := hello ( full | resumed ) connected;
}%%

%% write data noerror noentry;

/* The start state of a server connection. */
int tern_server_machine_start(void) { return server_start; }

/* Whether the machine is past the client's Finished (connected). */
int tern_server_machine_done(int cs) { return cs >= server_first_final; }

/* See hs_events.h. */
int tern_server_machine_feed(int *cs_io, unsigned char ev, struct tern_conn *c) {
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
