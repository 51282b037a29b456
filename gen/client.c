/* Generated from spec/client.rl by tools/regen.sh (ragel -G2). Do not edit. */

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





static const int client_start = 1;
static const int client_first_final = 21;



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
	{ rc = tern_client_send_ch(c); }
	goto st2;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
	switch( (*p) ) {
		case 4u: goto tr2;
		case 6u: goto tr3;
		case 8u: goto tr4;
	}
	goto st0;
tr2:
	{ rc = tern_client_recv_hrr(c); }
	goto st3;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
	if ( (*p) == 1u )
		goto tr5;
	goto st0;
tr5:
	{ rc = tern_client_send_ch2(c); }
	goto st4;
st4:
	if ( ++p == pe )
		goto _test_eof4;
case 4:
	switch( (*p) ) {
		case 6u: goto tr3;
		case 8u: goto tr4;
	}
	goto st0;
tr3:
	{ rc = tern_client_recv_sh(c); }
	goto st5;
st5:
	if ( ++p == pe )
		goto _test_eof5;
case 5:
	if ( (*p) == 10u )
		goto tr6;
	goto st0;
tr6:
	{ rc = tern_client_recv_ee(c); }
	goto st6;
st6:
	if ( ++p == pe )
		goto _test_eof6;
case 6:
	switch( (*p) ) {
		case 14u: goto tr7;
		case 16u: goto tr8;
	}
	goto st0;
tr7:
	{ rc = tern_client_recv_cr(c); }
	goto st7;
st7:
	if ( ++p == pe )
		goto _test_eof7;
case 7:
	if ( (*p) == 16u )
		goto tr9;
	goto st0;
tr9:
	{ rc = tern_client_recv_cert(c); }
	goto st8;
st8:
	if ( ++p == pe )
		goto _test_eof8;
case 8:
	if ( (*p) == 20u )
		goto tr10;
	goto st0;
tr10:
	{ rc = tern_client_recv_cv(c); }
	goto st9;
st9:
	if ( ++p == pe )
		goto _test_eof9;
case 9:
	if ( (*p) == 22u )
		goto tr11;
	goto st0;
tr11:
	{ rc = tern_client_recv_fin(c); }
	goto st10;
st10:
	if ( ++p == pe )
		goto _test_eof10;
case 10:
	switch( (*p) ) {
		case 15u: goto tr12;
		case 17u: goto tr13;
	}
	goto st0;
tr12:
	{ rc = tern_client_send_cert(c); }
	goto st11;
st11:
	if ( ++p == pe )
		goto _test_eof11;
case 11:
	if ( (*p) == 19u )
		goto tr14;
	goto st0;
tr21:
	{ rc = tern_client_recv_fin(c); }
	goto st12;
tr13:
	{ rc = tern_client_send_cert(c); }
	goto st12;
tr14:
	{ rc = tern_client_send_cv(c); }
	goto st12;
tr25:
	{ rc = tern_client_send_eoed(c); }
	goto st12;
st12:
	if ( ++p == pe )
		goto _test_eof12;
case 12:
	if ( (*p) == 21u )
		goto tr15;
	goto st0;
tr15:
	{ rc = tern_client_send_fin(c); }
	goto st21;
tr19:
	{ rc = tern_client_send_fin_post(c); }
	goto st21;
tr27:
	{ rc = tern_client_recv_nst(c); }
	goto st21;
tr28:
	{ rc = tern_client_send_ku(c); }
	goto st21;
tr29:
	{ rc = tern_client_recv_ku(c); }
	goto st21;
st21:
	if ( ++p == pe )
		goto _test_eof21;
case 21:
	switch( (*p) ) {
		case 14u: goto tr26;
		case 26u: goto tr27;
		case 27u: goto tr28;
		case 28u: goto tr29;
	}
	goto st0;
tr26:
	{ rc = tern_client_recv_cr_post(c); }
	goto st13;
st13:
	if ( ++p == pe )
		goto _test_eof13;
case 13:
	switch( (*p) ) {
		case 15u: goto tr16;
		case 17u: goto tr17;
	}
	goto st0;
tr16:
	{ rc = tern_client_send_cert_post(c); }
	goto st14;
st14:
	if ( ++p == pe )
		goto _test_eof14;
case 14:
	if ( (*p) == 19u )
		goto tr18;
	goto st0;
tr17:
	{ rc = tern_client_send_cert_post(c); }
	goto st15;
tr18:
	{ rc = tern_client_send_cv_post(c); }
	goto st15;
st15:
	if ( ++p == pe )
		goto _test_eof15;
case 15:
	if ( (*p) == 21u )
		goto tr19;
	goto st0;
tr8:
	{ rc = tern_client_recv_cert(c); }
	goto st16;
st16:
	if ( ++p == pe )
		goto _test_eof16;
case 16:
	if ( (*p) == 20u )
		goto tr20;
	goto st0;
tr22:
	{ rc = tern_client_recv_ee(c); }
	goto st17;
tr20:
	{ rc = tern_client_recv_cv(c); }
	goto st17;
st17:
	if ( ++p == pe )
		goto _test_eof17;
case 17:
	if ( (*p) == 22u )
		goto tr21;
	goto st0;
tr4:
	{ rc = tern_client_recv_sh_psk(c); }
	goto st18;
st18:
	if ( ++p == pe )
		goto _test_eof18;
case 18:
	switch( (*p) ) {
		case 10u: goto tr22;
		case 12u: goto tr23;
	}
	goto st0;
tr23:
	{ rc = tern_client_recv_ee(c); }
	goto st19;
st19:
	if ( ++p == pe )
		goto _test_eof19;
case 19:
	if ( (*p) == 22u )
		goto tr24;
	goto st0;
tr24:
	{ rc = tern_client_recv_fin(c); }
	goto st20;
st20:
	if ( ++p == pe )
		goto _test_eof20;
case 20:
	switch( (*p) ) {
		case 21u: goto tr15;
		case 23u: goto tr25;
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
	_test_eof10: cs = 10; goto _test_eof;
	_test_eof11: cs = 11; goto _test_eof;
	_test_eof12: cs = 12; goto _test_eof;
	_test_eof21: cs = 21; goto _test_eof;
	_test_eof13: cs = 13; goto _test_eof;
	_test_eof14: cs = 14; goto _test_eof;
	_test_eof15: cs = 15; goto _test_eof;
	_test_eof16: cs = 16; goto _test_eof;
	_test_eof17: cs = 17; goto _test_eof;
	_test_eof18: cs = 18; goto _test_eof;
	_test_eof19: cs = 19; goto _test_eof;
	_test_eof20: cs = 20; goto _test_eof;

	_test_eof: {}
	_out: {}
	}

  if (rc != 0) cs = 0;
  *cs_io = cs;
  if (rc == 0 && cs == 0) rc = TERN_ERR_STATE;
  return rc;
}
