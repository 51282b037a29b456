/*
 * engine/roles.c - engine layer: each role as the core sees it, its
 * generated machine (gen/client.c, gen/server.c) and the shared
 * classifier (engine/classify.c).
 */
#include "engine/roles.h"

#include "engine/classify.h"
#include "engine/machines.h"
#include "engine/resume.h"

/* A completed QUIC handshake's state: the resumption parts (the session
   offered, the ticket accepted) and then the core's. */
static int release(tern_conn *c) {
  tern_resume_conn_free(c);
  return tern_conn_hs_release(c);
}

const tern_role_machine tern_client_role = {
    .name = "client",
    .start = tern_client_machine_start,
    .feed = tern_client_machine_feed,
    .classify = tern_classify,
    .release = release,
};

const tern_role_machine tern_server_role = {
    .name = "server",
    .start = tern_server_machine_start,
    .feed = tern_server_machine_feed,
    .classify = tern_classify,
    .release = release,
};
