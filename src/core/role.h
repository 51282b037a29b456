/*
 * core/role.h - core layer: what the core needs of a role (client or
 * server), as a table the engine fills in and the API installs in each
 * connection. The core calls a role only through it, never by name, so
 * the dispatcher stays below the machines it drives.
 */
#ifndef TERN_ROLE_H
#define TERN_ROLE_H

struct tern_conn;

typedef struct tern_role_machine {
  const char *name;                          /* "client", "server" */
  /* The machine's start state. */
  int (*start)(void);
  /* Feeds one event to the machine (gen/client.c, gen/server.c): the
     transition's action runs. Returns 0, the action's error, or
     TERN_ERR_STATE when the machine has no transition for it. */
  int (*feed)(int *cs, unsigned char ev, struct tern_conn *c);
  /* c->msg holds one whole message received (header included): parses
     it into *c->parsed and picks the event symbol, or fails the
     connection with the parser's alert. */
  int (*classify)(struct tern_conn *c, unsigned char *ev);
  /* The handshake completed (c->done) on a connection that needs no more
     of its handshake state (QUIC): frees the role's parts of it, then the
     core's (tern_conn_hs_release). TERN_OK or TERN_ERR_NOMEM (the state
     is then kept, whole). */
  int (*release)(struct tern_conn *c);
} tern_role_machine;

#endif
