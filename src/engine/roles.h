/*
 * engine/roles.h - engine layer: the tables through which the core
 * drives each role (core/role.h), filled in by engine/roles.c. The API
 * layer installs one in each connection. Not part of the public API.
 */
#ifndef TERN_ROLES_H
#define TERN_ROLES_H

#include "core/role.h"

extern const tern_role_machine tern_client_role;
extern const tern_role_machine tern_server_role;

#endif
