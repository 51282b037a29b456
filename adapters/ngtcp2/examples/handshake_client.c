/*
 * handshake_client.c - the smallest ngtcp2 application on
 * libngtcp2_crypto_tern: a QUIC client that completes a handshake with an
 * HTTP/3 server, prints what was negotiated and closes. The README shows
 * its middle part; tests/ngtcp2_example.sh builds it against the
 * installed library with pkg-config, as any application would:
 *
 *   cc handshake_client.c $(pkg-config --cflags --libs libngtcp2_crypto_tern)
 *   ./a.out 127.0.0.1 4433 ca.pem
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ngtcp2/ngtcp2_crypto_tern.h>
#include <openssl/rand.h>

static ngtcp2_tstamp now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  RAND_bytes(dest, (int)len);
}

static int new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t len, void *user) {
  (void)conn;
  (void)user;
  cid->datalen = len;
  return RAND_bytes(cid->data, (int)len) == 1 && RAND_bytes(token, 16) == 1 ? 0 : -1;
}

/* The ngtcp2_conn behind a tern connection's conn_ref. */
static ngtcp2_conn *the_conn;
static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  (void)ref;
  return the_conn;
}

int main(int argc, char **argv) {
  struct addrinfo hints = {0}, *ai;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  uint8_t buf[1500];
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOST PORT CA_FILE\n", argv[0]);
    return 2;
  }
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) return 1;
  int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) return 1;
  getsockname(fd, (struct sockaddr *)&local, &local_len);
  ngtcp2_path path = {{(ngtcp2_sockaddr *)&local, local_len},
                      {(ngtcp2_sockaddr *)ai->ai_addr, (ngtcp2_socklen)ai->ai_addrlen},
                      NULL};

  /* README begin */
  /* tern: a client configuration (ALPN, trust anchors) and a connection
     tied to the ngtcp2 connection through a conn_ref */
  tern_config *cfg = tern_config_new(TERN_CLIENT);
  const char *alpn[] = {"h3"};
  tern_config_set_alpn(cfg, alpn, 1);
  if (tern_config_load_trust(cfg, argv[3], NULL) != TERN_OK) return 1;
  ngtcp2_crypto_conn_ref ref = {get_conn, NULL};
  tern_conn *tls = ngtcp2_crypto_tern_conn_new(cfg, &ref);
  tern_conn_set_server_name(tls, argv[1]);

  /* ngtcp2: the backend's callbacks do the crypto */
  ngtcp2_callbacks cb = {0};
  cb.client_initial = ngtcp2_crypto_client_initial_cb;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = rand_cb;
  cb.get_new_connection_id = new_cid;

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now();
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_uni = 3;
  params.initial_max_stream_data_uni = 65536;
  params.initial_max_data = 65536;
  ngtcp2_cid dcid = {.datalen = 16}, scid = {.datalen = 16};
  RAND_bytes(dcid.data, 16);
  RAND_bytes(scid.data, 16);
  if (ngtcp2_conn_client_new(&the_conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                             &settings, &params, NULL, NULL) != 0)
    return 1;
  ngtcp2_conn_set_tls_native_handle(the_conn, tls);
  /* README end */

  /* packets until the handshake completes (10 s at most) */
  ngtcp2_tstamp deadline = now() + 10 * NGTCP2_SECONDS;
  while (!ngtcp2_conn_get_handshake_completed(the_conn) && now() < deadline) {
    ngtcp2_ssize n;
    while ((n = ngtcp2_conn_write_pkt(the_conn, NULL, NULL, buf, sizeof buf, now())) > 0)
      send(fd, buf, (size_t)n, 0);
    if (n < 0) break;
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(the_conn), t = now();
    int ms = expiry > t ? (int)((expiry - t) / NGTCP2_MILLISECONDS) + 1 : 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, ms > 1000 ? 1000 : ms) > 0) {
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got > 0 && ngtcp2_conn_read_pkt(the_conn, &path, NULL, buf, (size_t)got, now()) != 0)
        break;
    } else if (ngtcp2_conn_handle_expiry(the_conn, now()) != 0) {
      break;
    }
  }
  int done = ngtcp2_conn_get_handshake_completed(the_conn);
  if (done) {
    printf("handshake completed: %s, %s, ALPN %s\n",
           tern_suite_name(tern_conn_cipher_suite(tls)), tern_group_name(tern_conn_group(tls)),
           tern_conn_alpn(tls));
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_set_application_error(&ccerr, 0x100, NULL, 0);
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(the_conn, NULL, NULL, buf, sizeof buf,
                                                        &ccerr, now());
    if (n > 0) send(fd, buf, (size_t)n, 0);
  } else {
    uint8_t alert = ngtcp2_conn_get_tls_alert(the_conn);
    fprintf(stderr, "handshake failed%s%s: %s\n", alert ? ": alert " : "",
            alert ? tern_alert_name(alert) : "", tern_conn_error_detail(tls));
  }
  ngtcp2_conn_del(the_conn);
  tern_conn_free(tls);
  tern_config_free(cfg);
  freeaddrinfo(ai);
  close(fd);
  return done ? 0 : 1;
}
