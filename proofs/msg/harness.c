/*
 * proofs/msg/harness.c - EVA harness for the handshake message codec
 * (src/msg.c over src/wire.c).
 *
 * Each parser is run on a buffer of MAXLEN unknown bytes, of which an
 * unknown prefix 0..MAXLEN is the body (each length split into its own
 * case), so that every path of every parser on every input up to MAXLEN
 * bytes is covered at once. EVA must
 * find no run-time error (out-of-bounds access, overflow, uninitialised
 * read, ...) in msg.c or in the wire.c functions it calls, and no
 * violated precondition of wire.h. What a parser accepts is then written
 * back, so the writers are covered on every parsed struct as well.
 */
#include "__fc_builtin.h"
#include "msg.h"

#ifndef MAXLEN
#define MAXLEN 10
#endif

static uint8_t body[MAXLEN];
static uint8_t out[MAXLEN + 64];

static tern_client_hello ch;
static tern_server_hello sh;
static tern_encrypted_extensions ee;
static tern_certificate_request cr;
static tern_certificate cert;
static tern_certificate_verify cv;
static tern_new_session_ticket nst;

/* fresh makes the body unknown again; the length is the one given. */
static size_t fresh(size_t len) {
  Frama_C_make_unknown((char *)body, MAXLEN);
  return len;
}

/* run_all runs every parser on bodies of exactly `size` unknown bytes. */
static void run_all(size_t size) {
  uint8_t alert, ku, type;
  size_t len, n, partial, hash_len;
  tern_span fin = {NULL, 0};

  len = fresh(size);
  if (tern_msg_parse_client_hello(body, len, &ch, &alert) == TERN_OK)
    tern_msg_write_client_hello(&ch, out, sizeof out, &n, &partial);

  len = fresh(size);
  if (tern_msg_parse_server_hello(body, len, &sh, &alert) == TERN_OK)
    tern_msg_write_server_hello(&sh, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_encrypted_extensions(body, len, &ee, &alert) == TERN_OK)
    tern_msg_write_encrypted_extensions(&ee, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_certificate_request(body, len, &cr, &alert) == TERN_OK)
    tern_msg_write_certificate_request(&cr, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_certificate(body, len, &cert, &alert) == TERN_OK)
    tern_msg_write_certificate(&cert, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_certificate_verify(body, len, &cv, &alert) == TERN_OK)
    tern_msg_write_certificate_verify(&cv, out, sizeof out, &n);

  len = fresh(size);
  hash_len = Frama_C_size_t_interval(0, TERN_MSG_MAX_HASH + 1);
  if (tern_msg_parse_finished(body, len, hash_len, &fin, &alert) == TERN_OK)
    tern_msg_write_finished(fin.p, fin.len, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_new_session_ticket(body, len, &nst, &alert) == TERN_OK)
    tern_msg_write_new_session_ticket(&nst, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_key_update(body, len, &ku, &alert) == TERN_OK)
    tern_msg_write_key_update(ku, out, sizeof out, &n);

  len = fresh(size);
  if (tern_msg_parse_end_of_early_data(body, len, &alert) == TERN_OK)
    tern_msg_write_end_of_early_data(out, sizeof out, &n);

  len = fresh(size);
  tern_msg_header(body, len, &type, &n);
}

/* Every length from 0 to MAXLEN, each analysed as its own case. */
int main(void) {
  size_t size = Frama_C_size_t_interval(0, MAXLEN);
  /*@ split size; */
  run_all(size);
  return 0;
}
