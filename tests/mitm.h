/*
 * tests/mitm.h - a record-level man in the middle between two tern
 * connections over TCP (tern_conn_new_tls), holding every traffic secret
 * through their keylog callbacks. It reads the records one side writes
 * as plaintext (opening protected ones under whichever key they were
 * sealed with) and writes records of its own making to the other side
 * (sealed under the keys that side reads with, with sequence numbers of
 * its own, and any legacy_record_version), so a test can act as a
 * hostile peer with a real handshake behind it.
 *
 * Its record protection is written here on EVP (AES-128-GCM, HKDF-SHA256)
 * and shares no code with tern's: both sides must use the suite
 * TLS_AES_128_GCM_SHA256.
 */
#ifndef TERN_TESTS_MITM_H
#define TERN_TESTS_MITM_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

/* Epochs of one direction's keys: none, 0-RTT, handshake, application
   traffic secret 0, 1, 2, ... (KeyUpdate). */
enum { MITM_PLAIN = 0, MITM_EARLY = 1, MITM_HS = 2, MITM_AP = 3 };
#define MITM_EPOCHS 40

#define MITM_MAX_RECORD (5 + 16384 + 256)

/* ContentType. */
#define MITM_CCS 20
#define MITM_ALERT 21
#define MITM_HANDSHAKE 22
#define MITM_APPDATA 23

typedef struct mitm_key {
  int known;
  uint8_t secret[32];
  uint8_t key[16], iv[12];
  uint64_t open_seq;   /* records opened from the writer under this key */
  uint64_t seal_seq;   /* records sealed for the reader under this key */
} mitm_key;

/* One direction: what `from` writes and `to` reads. */
typedef struct mitm_dir {
  tern_conn *from, *to;
  mitm_key keys[MITM_EPOCHS];
  int epoch;                         /* of the last record opened */
  uint8_t in[4 * MITM_MAX_RECORD];   /* bytes taken from `from`, not yet read */
  size_t in_len;
  uint8_t *out;                      /* records for `to`, not yet delivered */
  size_t out_len, out_cap;
} mitm_dir;

typedef struct mitm {
  mitm_dir c2s, s2c;                 /* client -> server, server -> client */
} mitm;

/* A record read from one side. */
typedef struct mitm_record {
  uint8_t type;       /* the content type (the inner one when protected) */
  uint16_t version;   /* legacy_record_version as written */
  int epoch;          /* MITM_PLAIN or the key that opened it */
  size_t len;
  uint8_t data[MITM_MAX_RECORD];
} mitm_record;

/*
 * mitm_init clears m and makes client and server connections over TCP
 * from the two configurations, both with user pointer m (set client's
 * server name when given). Install mitm_keylog on both configurations
 * first. Returns 0 or -1.
 */
int mitm_init(mitm *m, tern_config *client, tern_config *server, const char *server_name);

/* The tern_keylog_fn that records every secret in the mitm whose
   connection logs it (tern_conn_user); its user pointer is unused. */
void mitm_keylog(const tern_conn *c, const char *line, void *user);

/* Frees the connections and buffers. */
void mitm_free(mitm *m);

/*
 * mitm_next reads the next record `d->from` wrote (taking its output as
 * needed): plaintext as is, protected ones opened under the first key
 * from d->epoch on that opens them. Returns 1 with *r set, 0 when there
 * is none, -1 on a record the middle cannot read.
 */
int mitm_next(mitm_dir *d, mitm_record *r);

/*
 * mitm_put appends one record for `d->to`: plaintext (epoch MITM_PLAIN,
 * the fragment as given) or protected under epoch's key (content, then
 * the content type, then padding zeros), with the given
 * legacy_record_version in its header. Returns 0, or -1 when the key is
 * not known.
 */
int mitm_put(mitm_dir *d, uint8_t type, int epoch, const uint8_t *data, size_t len,
             size_t padding, uint16_t version);

/* mitm_put_raw appends bytes as they are (a header of one's own, ...). */
void mitm_put_raw(mitm_dir *d, const uint8_t *bytes, size_t len);

/*
 * mitm_deliver feeds what was put for `d->to` into it (in pieces of frag
 * bytes, 0: at once) and runs nothing else. Returns what tern_tls_feed
 * last said.
 */
int mitm_deliver(mitm_dir *d, size_t frag);

/*
 * mitm_forward reads every record `d->from` has written and puts each
 * back unchanged (re-sealed under the same key), then delivers. Returns
 * what mitm_deliver says, or TERN_ERR_STATE on a record it cannot read.
 */
int mitm_forward(mitm_dir *d);

/* mitm_secret_known: whether the key of epoch is known in d. */
int mitm_secret_known(const mitm_dir *d, int epoch);

/*
 * mitm_pending_alert reads `d->from`'s output for an alert record and
 * returns its description, or -1 when there is none.
 */
int mitm_pending_alert(mitm_dir *d);

#endif
