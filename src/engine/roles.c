/*
 * engine/roles.c - engine layer: each role as the core sees it, its
 * generated machine (gen/client.c, gen/server.c) and the shared
 * classifier (engine/classify.c).
 */
#include "engine/roles.h"

#include "engine/classify.h"
#include "engine/machines.h"

const tern_role_machine tern_client_role = {
    .name = "client",
    .start = tern_client_machine_start,
    .feed = tern_client_machine_feed,
    .classify = tern_classify,
};

const tern_role_machine tern_server_role = {
    .name = "server",
    .start = tern_server_machine_start,
    .feed = tern_server_machine_feed,
    .classify = tern_classify,
};
