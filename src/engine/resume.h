/*
 * engine/resume.h - engine layer: PSKs inside a handshake: resumption,
 * external PSKs and 0-RTT (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11, §4.6.1,
 * §8): what the client offers and learns, what the server chooses and
 * issues. The client and server actions call these at fixed points; the
 * sealed formats and the strike register live in ticket.c. Not part of
 * the public API.
 */
#ifndef TERN_RESUME_H
#define TERN_RESUME_H

#include "core/conn.h"
#include "codec/msg.h"

/* c->psk_mode once a PSK was accepted. */
#define TERN_RESUMED_DHE 1   /* psk_dhe_ke */
#define TERN_RESUMED_KE 2    /* psk_ke */

/* ---- client ---- */

/* Adds psk_key_exchange_modes, and when a session or an external PSK
   is offered, pre_shared_key (the session's ticket first, then the
   external PSKs of a usable hash, with zero binders) and early_data
   (first ClientHello only, when the first identity allows 0-RTT) to the
   ClientHello being written. */
int tern_resume_client_extensions(tern_conn *c, tern_client_hello *ch,
                                  uint8_t *psk_modes_buf);

/* Computes the binder of each identity of the ClientHello just written
   (msg[0..len), PartialClientHello msg[0..partial_len)) and writes them
   in place; leaves the key schedule at the first identity's Early
   Secret. No-op without an offer. */
int tern_resume_client_bind(tern_conn *c, uint8_t *msg, size_t len,
                            size_t partial_len);

/* After the first ClientHello went out with early_data: derives and
   installs the client's 0-RTT write secret. */
int tern_resume_client_early(tern_conn *c, const uint8_t *ch, size_t ch_len);

/* The server took no PSK (a ServerHello without one): forget the
   offer, 0-RTT is rejected. */
void tern_resume_client_declined(tern_conn *c);

/* A ServerHello with pre_shared_key: checks the selection (identity,
   suite hash, mode), leaves psk_mode set and the key schedule at the
   selected PSK's Early Secret. */
int tern_resume_client_accepted(tern_conn *c, const tern_server_hello *sh);

/* EncryptedExtensions after a PSK ServerHello: early data accepted or not. */
int tern_resume_client_early_answer(tern_conn *c, int accepted);

/* A NewSessionTicket: derives its PSK and hands the application a
   session blob. */
int tern_resume_client_ticket(tern_conn *c, const tern_new_session_ticket *nst);

/* ---- server ---- */

/* Looks for a usable PSK in the ClientHello (before it joins the
   transcript): external PSKs by identity, tickets opened; moves to a
   suite of the PSK's hash; checks the binder, a ticket's single use;
   decides the mode and 0-RTT. share_found: the ClientHello has a share
   for the chosen group. Leaves psk_mode 0 when no PSK can be taken. */
int tern_resume_server_choose(tern_conn *c, const tern_client_hello *ch,
                              int share_found);

/* Before a HelloRetryRequest (the ClientHello not yet in the
   transcript): moves to a suite of the hash of the PSK the second
   ClientHello will likely be taken with, as the HelloRetryRequest fixes
   the suite. */
int tern_resume_server_hrr_suite(tern_conn *c, const tern_client_hello *ch);

/* After the ClientHello joined the transcript: the 0-RTT read secret
   when early data was accepted. */
int tern_resume_server_early(tern_conn *c);

/* Queues the configured number of NewSessionTickets (after the client's
   Finished); nothing when no time or no tickets are configured. */
int tern_resume_server_queue_tickets(tern_conn *c, unsigned n);

/* Writes and sends one NewSessionTicket. */
int tern_resume_server_send_ticket(tern_conn *c);

/* Frees what a connection holds for resumption. */
void tern_resume_conn_free(tern_conn *c);

#endif
