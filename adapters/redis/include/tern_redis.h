/*
 * tern_redis.h - a fleet of tern servers sharing one Redis (libtern_redis).
 *
 * RFC 8446 §8 says what 0-RTT across servers needs: a shared record of
 * what was used within the replay window, and shared ticket keys. This
 * adapter gives a tern server configuration both, over hiredis and
 * include/tern.h only:
 *
 * - a replay store (tern_config_set_replay_store): each ticket identity
 *   (or external PSK binder) is recorded once with SET key 1 NX PX ttl,
 *   one atomic round trip; the first server to record it gets 1 (0-RTT
 *   may be accepted), every other gets 0 (seen: a full handshake). The
 *   ttl is twice the 0-RTT freshness window plus one second, bounded by
 *   the ticket's remaining lifetime: a replay arriving later fails the
 *   ticket-age check anyway (§8.3), so the record need not outlive it;
 * - a ticket key ring: the key of period p (now / rotate_s) lives in
 *   Redis under PREFIX"tk:"p, made once by whichever server gets there
 *   first (SET NX) and read by all; each server holds the current and the
 *   previous period's keys, and tern_redis_poll picks up a rotation,
 *   including one a server with a faster clock made first.
 *
 * Fail closed: every call has a timeout (50 ms by default). A Redis that
 * cannot be reached or answers late makes the replay store answer -1
 * (tern then resumes without 0-RTT, see tern.h), and the connection is
 * tried again after a backoff (100 ms doubling to 5 s) during which calls
 * answer -1 at once instead of waiting. Full handshakes never touch Redis.
 *
 * Secrets: ticket keys and the Redis password never pass through
 * hiredis's buffers (they are written and read on the socket directly
 * from buffers of ours, wiped with OPENSSL_cleanse after use) and are
 * never logged. Redis itself holds the keys: give it a password
 * ($TERN_REDIS_PASSWORD for `tern server`), a loopback or Unix socket or
 * a private network, and no persistence you do not protect.
 *
 * Threads: one tern_redis may be used by the worker threads of the
 * configuration it is attached to at once (a small pool of connections,
 * each under its lock) and by one thread calling tern_redis_poll.
 */
#ifndef TERN_REDIS_H
#define TERN_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <tern.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_redis tern_redis;

/** Redis could not be reached, or did not answer in time, or refused. */
#define TERN_REDIS_ERR_UNAVAILABLE -64

/** What tern_redis_new needs; zero fields take the defaults. */
typedef struct tern_redis_options {
  /** "HOST:PORT" (a name, IPv4, or [IPv6]:PORT) or "unix:/PATH". */
  const char *address;
  /** AUTH password, or NULL; copied, and wiped when freed. */
  const char *password;
  /** prefix of every key (default "tern:"), at most 64 bytes. */
  const char *prefix;
  /** timeout of one Redis call, connect included, in ms (default 50). */
  unsigned timeout_ms;
  /** connections in the pool, 1 to 64 (default 4). */
  unsigned pool_size;
  /** ticket key period in seconds; 0: no shared ticket keys (default). */
  unsigned rotate_s;
  /** the 0-RTT freshness window of the configuration, in ms (its
      tern_config_set_early_data window; default 10000). */
  uint32_t window_ms;
} tern_redis_options;

/** Counters since tern_redis_new, and the last error's detail. */
typedef struct tern_redis_stats {
  uint64_t replay_checks;      /**< calls of the replay store */
  uint64_t replay_first;       /**< recorded: first use (answered 1) */
  uint64_t replay_seen;        /**< seen before (answered 0) */
  uint64_t replay_unavailable; /**< Redis unavailable (answered -1) */
  uint64_t errors;             /**< failed calls: connect, timeout, error reply */
  uint64_t connects;           /**< connections made (first ones and reconnects) */
  uint64_t key_installs;       /**< ticket keys installed from the ring */
  uint64_t key_period;         /**< period of the current shared key, 0: none yet */
  char last_error[160];        /**< the last error ("" when none); never secrets */
} tern_redis_stats;

/**
 * tern_redis_new checks the options and makes the adapter; it connects
 * lazily (the first call), so a Redis down at start is no error.
 * Returns TERN_OK, TERN_ERR_INVALID_ARG (no or bad address, a field out
 * of range), TERN_ERR_NOMEM.
 */
int tern_redis_new(const tern_redis_options *opts, tern_redis **out);

/**
 * tern_redis_attach makes r the replay store of the server configuration
 * cfg (tern_config_set_replay_store) and, when rotate_s is set, the
 * source of its ticket keys from the next tern_redis_poll on. cfg must
 * outlive r's use; one configuration per adapter. Call it before
 * connections are made. Returns TERN_OK, TERN_ERR_INVALID_ARG (a client
 * configuration, or one attached already), or what tern.h's setter says.
 */
int tern_redis_attach(tern_redis *r, tern_config *cfg);

/**
 * tern_redis_poll brings the ticket keys up to date at now_ms (wall-clock
 * milliseconds since the Unix epoch, the same on every server): it makes
 * or reads the key of the current period, installs it (the one it
 * replaces stays as the previous key), and adopts the next period's key
 * as soon as any server made it. Call it at start and then often (every
 * second, say); between rotations it costs one GET. Returns TERN_OK
 * (also when rotate_s is 0), TERN_ERR_STATE (not attached),
 * TERN_REDIS_ERR_UNAVAILABLE (Redis unavailable or late: the keys in
 * use stay; counted, the detail in the stats).
 */
int tern_redis_poll(tern_redis *r, uint64_t now_ms);

/** tern_redis_stats_get copies r's counters into *st. */
void tern_redis_stats_get(tern_redis *r, tern_redis_stats *st);

/** tern_redis_free closes the pool and wipes the password; NULL is fine.
    The configuration it was attached to must not be used afterwards. */
void tern_redis_free(tern_redis *r);

#ifdef __cplusplus
}
#endif

#endif
