/*
 * spec/keysched.rl - the TLS 1.3 key schedule (RFC 8446 §7.1) as a
 * regular language over key-schedule steps. Every accepted word derives
 * secrets in the only legal order:
 *
 *          0 / PSK -> HKDF-Extract = Early Secret
 *                       +-> binder_key                       (optional)
 *                       +-> client_early_traffic_secret,
 *                           early_exporter_master_secret     (optional)
 *   (EC)DHE / 0 -> HKDF-Extract = Handshake Secret
 *                       +-> {client,server}_handshake_traffic_secret
 *             0 -> HKDF-Extract = Master Secret
 *                       +-> {client,server}_application_traffic_secret_0,
 *                           exporter_master_secret
 *                       +-> resumption_master_secret        (at most once)
 *   application_traffic_secret_N+1 per direction, any number of times.
 *
 * The input alphabet is the event codes of src/crypto/keysched_machine.h; each
 * action is one call into src/crypto/keysched_actions.c. Compiled by tools/regen.sh.
 */
#include <tern.h>

#include "crypto/keysched_machine.h"

%%{
  machine keysched;
  alphtype unsigned char;

  action early         { rc = tern_ks_on_early(ks); }
  action binder        { rc = tern_ks_on_binder(ks); }
  action early_traffic { rc = tern_ks_on_early_traffic(ks); }
  action handshake     { rc = tern_ks_on_handshake(ks); }
  action hs_traffic    { rc = tern_ks_on_hs_traffic(ks); }
  action master        { rc = tern_ks_on_master(ks); }
  action ap_traffic    { rc = tern_ks_on_ap_traffic(ks); }
  action resumption    { rc = tern_ks_on_resumption(ks); }
  action update_client { rc = tern_ks_on_update_client(ks); }
  action update_server { rc = tern_ks_on_update_server(ks); }

  # The steps (crypto/keysched_machine.h); each label names the edge in
  # the diagram tools/regen.sh draws into docs/keysched.svg.
  EARLY         = 1;   # label: Early Secret
  BINDER        = 2;   # label: binder_key
  EARLY_TRAFFIC = 3;   # label: client_early_traffic_secret
  HANDSHAKE     = 4;   # label: Handshake Secret
  HS_TRAFFIC    = 5;   # label: handshake traffic secrets
  MASTER        = 6;   # label: Master Secret
  AP_TRAFFIC    = 7;   # label: application traffic secrets 0
  RESUMPTION    = 8;   # label: resumption_master_secret
  UPDATE_CLIENT = 9;   # label: client application secret N+1
  UPDATE_SERVER = 10;  # label: server application secret N+1

  early_stage  = EARLY @early
                 (BINDER @binder)?
                 (EARLY_TRAFFIC @early_traffic)?;
  hs_stage     = HANDSHAKE @handshake
                 HS_TRAFFIC @hs_traffic;
  master_stage = MASTER @master
                 AP_TRAFFIC @ap_traffic;
  updates      = ( UPDATE_CLIENT @update_client
                 | UPDATE_SERVER @update_server )*;

  main := early_stage hs_stage master_stage updates
          ( RESUMPTION @resumption updates )?;
}%%

%% write data noerror nofinal noentry;

/* The start state of a fresh key schedule. */
int tern_ks_machine_start(void) { return keysched_start; }

/* The state every illegal step leads to, for good. */
int tern_ks_machine_error(void) { return 0; }

/* See keysched_machine.h. */
int tern_ks_machine_feed(int *cs_io, unsigned char ev, struct tern_keysched *ks) {
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
