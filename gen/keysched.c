/* Generated from spec/keysched.rl by tools/regen.sh (ragel -G2). Do not edit. */

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





static const int keysched_start = 1;



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

	{
	if ( p == pe )
		goto _test_eof;
	switch ( cs )
	{
case 1:
	if ( (*p) == 1u )
		goto tr0;
	goto st0;
st0:
cs = 0;
	goto _out;
tr0:
	{ rc = tern_ks_on_early(ks); }
	goto st2;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
	switch( (*p) ) {
		case 2u: goto tr2;
		case 3u: goto tr3;
		case 4u: goto tr4;
	}
	goto st0;
tr2:
	{ rc = tern_ks_on_binder(ks); }
	goto st3;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
	switch( (*p) ) {
		case 3u: goto tr3;
		case 4u: goto tr4;
	}
	goto st0;
tr3:
	{ rc = tern_ks_on_early_traffic(ks); }
	goto st4;
st4:
	if ( ++p == pe )
		goto _test_eof4;
case 4:
	if ( (*p) == 4u )
		goto tr4;
	goto st0;
tr4:
	{ rc = tern_ks_on_handshake(ks); }
	goto st5;
st5:
	if ( ++p == pe )
		goto _test_eof5;
case 5:
	if ( (*p) == 5u )
		goto tr5;
	goto st0;
tr5:
	{ rc = tern_ks_on_hs_traffic(ks); }
	goto st6;
st6:
	if ( ++p == pe )
		goto _test_eof6;
case 6:
	if ( (*p) == 6u )
		goto tr6;
	goto st0;
tr6:
	{ rc = tern_ks_on_master(ks); }
	goto st7;
st7:
	if ( ++p == pe )
		goto _test_eof7;
case 7:
	if ( (*p) == 7u )
		goto tr7;
	goto st0;
tr7:
	{ rc = tern_ks_on_ap_traffic(ks); }
	goto st8;
tr9:
	{ rc = tern_ks_on_update_client(ks); }
	goto st8;
tr10:
	{ rc = tern_ks_on_update_server(ks); }
	goto st8;
st8:
	if ( ++p == pe )
		goto _test_eof8;
case 8:
	switch( (*p) ) {
		case 8u: goto tr8;
		case 9u: goto tr9;
		case 10u: goto tr10;
	}
	goto st0;
tr8:
	{ rc = tern_ks_on_resumption(ks); }
	goto st9;
tr11:
	{ rc = tern_ks_on_update_client(ks); }
	goto st9;
tr12:
	{ rc = tern_ks_on_update_server(ks); }
	goto st9;
st9:
	if ( ++p == pe )
		goto _test_eof9;
case 9:
	switch( (*p) ) {
		case 9u: goto tr11;
		case 10u: goto tr12;
	}
	goto st0;
	}
	_test_eof2: cs = 2; goto _test_eof;
	_test_eof3: cs = 3; goto _test_eof;
	_test_eof4: cs = 4; goto _test_eof;
	_test_eof5: cs = 5; goto _test_eof;
	_test_eof6: cs = 6; goto _test_eof;
	_test_eof7: cs = 7; goto _test_eof;
	_test_eof8: cs = 8; goto _test_eof;
	_test_eof9: cs = 9; goto _test_eof;

	_test_eof: {}
	_out: {}
	}

  if (rc != 0) cs = 0;
  *cs_io = cs;
  if (rc == 0 && cs == 0) rc = TERN_ERR_STATE;
  return rc;
}
