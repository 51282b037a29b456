/*
 * h3.h - `tern h3-server` and `tern h3-client`: HTTP/3 (nghttp3) over QUIC
 * (ngtcp2) with tern as the TLS, through libngtcp2_crypto_tern, on real
 * UDP sockets (IPv4 and IPv6).
 *
 * h3_common.c holds what both roles share: one QUIC connection with its
 * HTTP/3 session (h3conn): the ngtcp2 and nghttp3 callbacks, the loop
 * that writes packets, reading a datagram, timers, closing with the right
 * error, and the lines that say what was negotiated. h3_server.c and
 * h3_client.c hold the two programs.
 */
#ifndef TERN_TOOLS_H3_H
#define TERN_TOOLS_H3_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2_crypto_tern.h>
#include <tern.h>

int h3_server_main(int argc, char **argv);
int h3_client_main(int argc, char **argv);

/* Server connection IDs are this long (the client's too). */
#define H3_CID_LEN 18
#define H3_MAX_SCIDS 16
#define H3_PKT_MAX 1452

/* The QUIC versions the programs negotiate (v1). */
extern const uint32_t h3_versions[1];

/* One HTTP/3 request/response stream. */
typedef struct h3stream {
  int64_t id;
  struct h3stream *next;
  /* server: the request, and the response body */
  char method[16], path[1024];
  int early;                 /* the request began before the handshake completed */
  const uint8_t *body;
  size_t body_len;
  int body_given;            /* handed to nghttp3 with EOF */
  void *map;                 /* munmap(map, map_len) when done; else free(owned) */
  size_t map_len;
  uint8_t *owned;
  void (*release)(void *);   /* when set, release(release_arg) when done */
  void *release_arg;
  /* client: the URL it fetches and what came back */
  int url;                   /* index into the client's URLs */
  int status;
  uint64_t received;
  int complete;
  uint8_t *saved;            /* the body, kept when several URLs share the output */
  size_t saved_len, saved_cap;
} h3stream;

struct h3conn;

/*
 * h3pool: the memory of one connection's ngtcp2 and nghttp3 sessions.
 * Both libraries make and free many small objects per connection (about
 * a hundred for a handshake and one request), a tenth of the server's
 * time through malloc and free. A pool takes them from 32 KiB chunks in
 * power-of-two classes of 32 to 4096 bytes, a freed block going back to
 * its class's free list for reuse (a long transfer does not grow it);
 * larger ones go to malloc. Everything goes back at once with
 * h3_pool_free, after both sessions are deleted.
 */
typedef struct h3pool h3pool;

/* A new pool, or NULL when out of memory. */
h3pool *h3_pool_new(void);

/* Frees the pool and every chunk (the sessions using it must be gone). */
void h3_pool_free(h3pool *p);

/* The pool as an ngtcp2 / nghttp3 allocator (NULL for NULL: the default). */
const ngtcp2_mem *h3_pool_ngtcp2_mem(h3pool *p);
const nghttp3_mem *h3_pool_nghttp3_mem(h3pool *p);

/* What a program does with the HTTP/3 events of its connections. */
typedef struct h3role {
  int server;
  /* nghttp3 callbacks of this role (the common ones are filled in) */
  void (*h3_callbacks)(nghttp3_callbacks *cb);
  /* the handshake completed */
  void (*on_handshake)(struct h3conn *hc);
} h3role;

typedef struct h3conn {
  const h3role *role;
  void *app;                 /* the program's state */
  int fd;                    /* the UDP socket (the server's is shared) */
  struct sockaddr_storage local, remote;
  socklen_t local_len, remote_len;
  ngtcp2_path path;
  ngtcp2_conn *conn;
  h3pool *pool;              /* memory of conn and h3 (NULL: malloc) */
  tern_conn *tls;
  int retry_asked;           /* server: ngtcp2 asked for a Retry on the first packet */
  nghttp3_conn *h3;
  ngtcp2_crypto_conn_ref ref;
  h3stream *streams;
  ngtcp2_cid scids[H3_MAX_SCIDS]; /* server: our connection IDs, for routing */
  size_t n_scids;
  int handshake_done;
  int confirmed;             /* client: HANDSHAKE_DONE arrived */
  int early_rejected;        /* ngtcp2 dropped our 0-RTT streams */
  int key_updates;           /* update_key calls */
  int closed;                /* closing or draining: no more packets */
  int want_write;            /* a datagram or a timer since the last h3_write:
                                there may be something to send */
  int failed;                /* ended by an error */
  char error[256];           /* why it ended, when it failed */
  uint64_t bytes_in;         /* response or request body bytes received */
  uint64_t started_ns;
  struct h3conn *next;
} h3conn;

/* Nanoseconds on the monotonic clock (ngtcp2's timestamps). */
uint64_t h3_now(void);

/* A random connection ID of H3_CID_LEN bytes. */
void h3_random_cid(ngtcp2_cid *cid);

/* The stateless reset secret of this process (random, made once). */
const uint8_t *h3_static_secret(void);

/* ngtcp2 settings both roles start from (time, windows, versions). */
void h3_settings(ngtcp2_settings *settings);

/* Fills the ngtcp2 callbacks both roles use. */
void h3_quic_callbacks(ngtcp2_callbacks *cb, int server);

/*
 * h3_setup_http makes the HTTP/3 session of a connection and opens its
 * control and QPACK streams. Returns 0, or -1 after setting hc->error.
 */
int h3_setup_http(h3conn *hc);

/* Frees every stream of the connection. */
void h3_streams_free(h3conn *hc);

/* A stream of the connection by ID, or NULL; h3_stream_new adds one. */
h3stream *h3_stream_find(h3conn *hc, int64_t id);
h3stream *h3_stream_new(h3conn *hc, int64_t id);

/*
 * h3_read takes one datagram. Returns 0, or -1 when the connection ended
 * (closed by the peer, or failed: CONNECTION_CLOSE already sent).
 */
int h3_read(h3conn *hc, const uint8_t *data, size_t len);

/* h3_write sends what the connection has to send now. 0 or -1 as h3_read. */
int h3_write(h3conn *hc);

/* Runs the connection's timers when due. 0 or -1 as h3_read. */
int h3_expire(h3conn *hc);

/* Milliseconds until the connection's next timer (at most cap_ms). */
int h3_timeout_ms(const h3conn *hc, int cap_ms);

/* Closes with HTTP/3 NO_ERROR (sends CONNECTION_CLOSE). */
void h3_close(h3conn *hc);

/* Frees the connection and everything it holds (not the socket). */
void h3_free(h3conn *hc);

/* The "what was negotiated" line: version, suite, group, ALPN,
   resumption, 0-RTT. */
void h3_describe(const h3conn *hc, char *out, size_t cap);

/* "CRYPTO_ERROR 0x178 (no_application_protocol)" and the like. */
void h3_describe_close(const ngtcp2_connection_close_error *e, char *out, size_t cap);

/* One datagram per sendmsg from now on (no UDP GSO): what a capture on
   loopback needs to see the datagrams the peer receives. */
void h3_disable_gso(void);

/* Sends one datagram to the connection's peer (errors are the kernel's:
   a lost datagram is QUIC's to recover). */
void h3_send(h3conn *hc, const uint8_t *data, size_t len);

#endif
