/*
 * transport/quic.h - transport layer: QUIC mode (transport/quic.c). The
 * public functions are in tern.h; this is what the API layer needs to
 * make a connection a QUIC one. Not part of the public API.
 */
#ifndef TERN_TRANSPORT_QUIC_H
#define TERN_TRANSPORT_QUIC_H

#include "core/conn.h"

/* Binds c to QUIC mode with the application's callbacks cb (kept by
   pointer) and installs the QUIC transport table. */
void tern_quic_attach(tern_conn *c, const tern_quic_callbacks *cb);

#endif
