/*
 * cli_www.c - the HTTP side of `tern server --www`, on one tern_conn and
 * nothing else (no socket, no globals), so that a loop serving many
 * connections can run it for each.
 *
 * Each request head is collected, then answered with one response in one
 * TLS record (status line, headers with Content-Type and Content-Length,
 * and a small page of what the handshake negotiated), in the request's
 * version. HTTP/1.1 keeps the connection open for the next request
 * (pipelined ones are answered in order) unless the client sent
 * `Connection: close`; HTTP/1.0 closes it unless the client sent
 * `Connection: keep-alive`. A closing answer is followed by close_notify;
 * so are the error answers (400, 405, 431), whose request bodies are not
 * read. A path under the post-handshake
 * prefix needs a client certificate: without one from the handshake,
 * the server asks for it (RFC 8446 §4.6.2) and answers once the client's
 * Finished has come, 200 with its subject or 403 without one.
 */
#include "cli.h"

#include <string.h>
#include <strings.h>

/* The answer must fit one record (RFC 8446 §5.1: 2^14 bytes of content). */
#define MAX_RECORD 16384
#define MAX_HEAD 512

/* Appends s to out (at *n, capacity cap) with <, >, &, " escaped. */
static void html_put(char *out, size_t cap, size_t *n, const char *s) {
  for (; *s && *n + 8 < cap; s++) {
    const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;"
                  : *s == '"' ? "&quot;" : NULL;
    if (e) {
      memcpy(out + *n, e, strlen(e));
      *n += strlen(e);
    } else {
      out[(*n)++] = *s;
    }
  }
  out[*n] = '\0';
}

/* Appends the literal s to out, as far as it fits. */
static void raw_put(char *out, size_t cap, size_t *n, const char *s) {
  size_t k = strlen(s);
  if (*n + k + 1 > cap) k = cap - *n - 1;
  memcpy(out + *n, s, k);
  *n += k;
  out[*n] = '\0';
}

static void html_row(char *out, size_t cap, size_t *n, const char *name, const char *value) {
  raw_put(out, cap, n, "<tr><th>");
  raw_put(out, cap, n, name);
  raw_put(out, cap, n, "</th><td>");
  html_put(out, cap, n, value);
  raw_put(out, cap, n, "</td></tr>\n");
}

/* Whether the head (request[0 .. head_len)) has a Connection header
   naming token (case-insensitive, RFC 9110 §7.6.1). */
static int connection_has(const cli_www *w, const char *token) {
  const char *p = w->request, *end = w->request + w->head_len;
  size_t tl = strlen(token);
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL && ++p < end) {
    const char *eol;
    if ((size_t)(end - p) < 11 || strncasecmp(p, "connection:", 11) != 0) continue;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    for (const char *q = p + 11; q + tl <= eol; q++)
      if (strncasecmp(q, token, tl) == 0) return 1;
  }
  return 0;
}

/* The request's HTTP minor version (1 for HTTP/1.1 and later 1.x, else 0),
   and whether the connection stays open after the answer. */
static void read_version(cli_www *w) {
  size_t line = strcspn(w->request, "\r\n");
  w->minor = line >= 8 && strncmp(w->request + line - 8, "HTTP/1.", 7) == 0 &&
             w->request[line - 1] != '0';
  w->keep_alive = !w->last &&
                  (w->minor ? !connection_has(w, "close") : connection_has(w, "keep-alive"));
}

/* The request's path (between the method and the version), copied. */
static void request_path(const cli_www *w, char *out, size_t cap) {
  const char *sp = strchr(w->request, ' ');
  size_t len = sp ? strcspn(sp + 1, " \r\n") : 0;
  snprintf(out, cap, "%.*s", (int)len, sp ? sp + 1 : "");
}

/* The page: what c negotiated, and the request's path. Returns its length. */
static size_t make_page(const cli_www *w, const tern_conn *c, const char *message, char *out,
                        size_t cap) {
  cli_summary s;
  char path[256];
  char auths[16];
  size_t n = 0;
  cli_summarize(c, &s);
  request_path(w, path, sizeof path);
  snprintf(auths, sizeof auths, "%u", tern_tls_client_auths_completed(c));
  raw_put(out, cap, &n, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                        "<title>tern</title></head>\n<body>\n<h1>tern " TERN_VERSION_STRING
                        ": TLS 1.3 handshake</h1>\n");
  if (message) {
    raw_put(out, cap, &n, "<p>");
    html_put(out, cap, &n, message);
    raw_put(out, cap, &n, "</p>\n");
  }
  raw_put(out, cap, &n, "<table>\n");
  html_row(out, cap, &n, "path", path);
  html_row(out, cap, &n, "protocol", "TLSv1.3");
  html_row(out, cap, &n, "cipher suite", s.suite);
  html_row(out, cap, &n, "group", s.group);
  html_row(out, cap, &n, "HelloRetryRequest", s.hrr ? "yes" : "no");
  html_row(out, cap, &n, "signature scheme", s.sigalg);
  html_row(out, cap, &n, "ALPN", s.alpn);
  html_row(out, cap, &n, "server name", s.server_name);
  html_row(out, cap, &n, "ECH", s.ech);
  html_row(out, cap, &n, "ECH outer name", s.ech_outer);
  html_row(out, cap, &n, "resumed", s.resumed ? "yes" : "no");
  html_row(out, cap, &n, "external PSK", s.psk_identity);
  html_row(out, cap, &n, "early data", s.early_data);
  html_row(out, cap, &n, "certificate compression", s.cert_comp_sent);
  html_row(out, cap, &n, "client certificate", s.peer_subject);
  html_row(out, cap, &n, "issued by", s.peer_issuer);
  html_row(out, cap, &n, "post-handshake authentications", auths);
  raw_put(out, cap, &n, "</table>\n</body></html>\n");
  return n;
}

/*
 * Queues the answer (head and body in one record: one tern_tls_write of
 * at most 2^14 bytes), then close_notify unless the connection stays
 * open. head_only leaves the body out (HEAD).
 */
static int respond(cli_www *w, tern_conn *c, int status, const char *reason, const char *extra,
                   const char *body, size_t body_len, int head_only) {
  char out[MAX_RECORD];
  int n, rc;
  const char *conn_header = !w->keep_alive ? "Connection: close\r\n"
                            : w->minor    ? ""
                                          : "Connection: keep-alive\r\n";
  if (body_len > MAX_RECORD - MAX_HEAD) body_len = MAX_RECORD - MAX_HEAD;
  n = snprintf(out, MAX_HEAD,
               "HTTP/1.%d %d %s\r\nServer: tern/" TERN_VERSION_STRING
               "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
               "%s%s\r\n",
               w->minor, status, reason, body_len, extra, conn_header);
  if (n < 0 || n >= MAX_HEAD) return TERN_ERR_BUFFER_TOO_SMALL; /* our reasons are short */
  if (!head_only) {
    memcpy(out + n, body, body_len);
    n += (int)body_len;
  }
  w->state = CLI_WWW_ANSWERED;
  w->status = status;
  w->answered++;
  rc = tern_tls_write(c, (const uint8_t *)out, (size_t)n);
  if (rc == TERN_OK && !w->keep_alive) rc = tern_tls_close(c);
  if (rc == TERN_OK) w->bytes_out += (size_t)n;
  return rc;
}

/* A short page saying why (for the answers other than the page). */
static int respond_short(cli_www *w, tern_conn *c, int status, const char *reason,
                         const char *extra, const char *why) {
  char body[512];
  size_t n = 0;
  snprintf(w->note, sizeof w->note, "%s", why);
  w->keep_alive = 0; /* a body we did not read may follow: close */
  raw_put(body, sizeof body, &n, "<!DOCTYPE html>\n<html><body><h1>");
  snprintf(body + n, sizeof body - n, "%d %s</h1>\n<p>", status, reason);
  n += strlen(body + n);
  html_put(body, sizeof body, &n, why);
  raw_put(body, sizeof body, &n, "</p></body></html>\n");
  return respond(w, c, status, reason, extra, body, n, 0);
}

/* The page of the parameters, 200 (or 403 with the same page). */
static int respond_page(cli_www *w, tern_conn *c, int status, const char *message) {
  char body[MAX_RECORD - MAX_HEAD];
  size_t n = make_page(w, c, message, body, sizeof body);
  if (message) snprintf(w->note, sizeof w->note, "%s", message);
  return respond(w, c, status, status == 200 ? "OK" : "Forbidden", "", body, n,
                 strncmp(w->request, "HEAD ", 5) == 0);
}

/* True when the client's certificate is known (handshake or later). */
static int have_client_cert(const tern_conn *c) {
  const uint8_t *der;
  size_t len;
  return tern_conn_peer_certificate(c, &der, &len) == TERN_OK;
}

/* The head is complete: answer it, or first ask for a certificate. */
static int answer(cli_www *w, tern_conn *c, const cli_www_settings *s) {
  char path[256];
  int rc;
  if (strncmp(w->request, "GET ", 4) != 0 && strncmp(w->request, "HEAD ", 5) != 0)
    return respond_short(w, c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
                         "only GET and HEAD");
  request_path(w, path, sizeof path);
  if (path[0] != '/') return respond_short(w, c, 400, "Bad Request", "", "no path in the request");
  if (s->pha_path == NULL || strncmp(path, s->pha_path, strlen(s->pha_path)) != 0 ||
      have_client_cert(c))
    return respond_page(w, c, 200, NULL);
  /* §4.6.2: only a client that sent post_handshake_auth may be asked */
  w->auths_before = tern_tls_client_auths_completed(c);
  rc = tern_tls_request_client_auth(c);
  if (rc == TERN_ERR_STATE)
    return respond_page(w, c, 403, "this path needs a client certificate, and the client did "
                                   "not offer post-handshake authentication");
  if (rc != TERN_OK) return rc;
  w->state = CLI_WWW_AUTHENTICATING;
  return TERN_OK;
}

/* Answers the head at the start of request[] once it is complete. */
static int try_answer(cli_www *w, tern_conn *c, const cli_www_settings *s) {
  char *end = strstr(w->request, "\r\n\r\n"), *lf = strstr(w->request, "\n\n");
  if (end) end += 4;
  if (lf && (end == NULL || lf + 2 < end)) end = lf + 2;
  if (end == NULL && w->request_len < CLI_WWW_MAX_REQUEST) return TERN_OK;
  w->note[0] = '\0';
  if (end == NULL) {
    w->head_len = w->request_len;
    w->minor = 0;
    return respond_short(w, c, 431, "Request Header Fields Too Large", "",
                         "the request head is over 8192 bytes");
  }
  w->head_len = (size_t)(end - w->request);
  read_version(w);
  return answer(w, c, s);
}

size_t cli_www_room(const cli_www *w) {
  return w->state == CLI_WWW_READING ? CLI_WWW_MAX_REQUEST - w->request_len : 0;
}

int cli_www_data(cli_www *w, tern_conn *c, const cli_www_settings *s, const uint8_t *p,
                 size_t n) {
  size_t room = CLI_WWW_MAX_REQUEST - w->request_len;
  if (w->state != CLI_WWW_READING) return TERN_OK; /* the answer to the last one is not out */
  memcpy(w->request + w->request_len, p, n < room ? n : room);
  w->request_len += n < room ? n : room;
  w->request[w->request_len] = '\0';
  return try_answer(w, c, s);
}

int cli_www_next(cli_www *w, tern_conn *c, const cli_www_settings *s) {
  size_t rest;
  if (w->state != CLI_WWW_ANSWERED || !w->keep_alive) return TERN_OK;
  rest = w->request_len - w->head_len;
  memmove(w->request, w->request + w->head_len, rest);
  w->request_len = rest;
  w->request[rest] = '\0';
  w->head_len = 0;
  w->state = CLI_WWW_READING;
  return rest ? try_answer(w, c, s) : TERN_OK;
}

int cli_www_progress(cli_www *w, tern_conn *c) {
  if (w->state != CLI_WWW_AUTHENTICATING) return TERN_OK;
  if (tern_tls_client_auths_completed(c) == w->auths_before) {
    /* §6.1: a client that has sent close_notify can no longer answer */
    if (tern_tls_peer_closed(c))
      return respond_page(w, c, 403, "this path needs a client certificate; the client closed "
                                     "its side before answering the request for one");
    return TERN_OK;
  }
  if (have_client_cert(c)) return respond_page(w, c, 200, NULL);
  return respond_page(w, c, 403, "this path needs a client certificate; asked after the "
                                 "handshake, the client sent none");
}

size_t cli_www_request_line(const cli_www *w, const char **line) {
  *line = w->request;
  return strcspn(w->request, "\r\n");
}

int cli_www_idle(const cli_www *w) { return w->state == CLI_WWW_READING && w->request_len == 0; }
