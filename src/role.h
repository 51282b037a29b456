/*
 * role.h - what conn.c needs from each role besides the machine: the
 * classifier that turns a received handshake message into the event
 * symbol the machine runs (parsing it into the connection on the way).
 */
#ifndef TERN_ROLE_H
#define TERN_ROLE_H

#include "conn.h"

/* c->msg holds one whole message (header included). Picks the event, or
   fails the connection with the parser's alert. */
int tern_client_classify(tern_conn *c, unsigned char *ev);
int tern_server_classify(tern_conn *c, unsigned char *ev);

/* A readable name of an event, for error details. */
const char *tern_event_name(unsigned char ev);

#endif
