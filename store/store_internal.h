/*
 * store_internal.h -- private to store/: the connection (conn.c) for the
 * files of the folder, each of which stores one thing (intake.c, journal.c,
 * dlq.c, clocks.c, kpi.c, alerts.c, read.c). hiredis appears in store/
 * only.
 *
 * Every command goes through one retry rule, hk_store_round: connect when
 * needed, run, and when a connection opened before died on the way (a
 * Redis restart breaks every open connection), run once more on a fresh
 * one, if the caller said the work may be done twice. With sentinels
 * (redis.sentinel), connecting means asking them for the primary and
 * checking its ROLE; a connection lost, or a reply of -READONLY or
 * -MASTERDOWN, sends the next connect back to the sentinels, with a
 * backoff while none of them names a primary that answers as one (the
 * Redis Sentinel clients guide). Every script goes
 * through one loader (hk_store_eval, hk_store_eval_many): EVALSHA by the
 * SHA loaded once per connection, and on NOSCRIPT (SCRIPT FLUSH, a restart
 * without persistence of the cache) load again and retry once.
 */
#ifndef HK_STORE_INTERNAL_H
#define HK_STORE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "store/keys.h"
#include "store/scripts.h"
#include "store/store.h"

struct hk_store {
  struct hk_redis_conf conf; /* strings owned */
  redisContext *c;           /* NULL when not connected */
  char *where;               /* "host:port" or "unix:path", for messages */
  struct hk_keys keys;
  char sha[HK_SCRIPT__COUNT][41]; /* "" until loaded on this connection */
  /* With sentinels (conf.sentinel_master set): the sentinel that answered
   * last, asked first next time; when the primary was not found, no
   * sentinel is asked again before retry_at (monotonic ms), the wait
   * doubling from 100 ms to 2 s; stale is set by a reply saying the
   * connection is no longer to a writable primary (READONLY, MASTERDOWN),
   * and the round drops that connection. */
  size_t first_sentinel;
  int64_t retry_at;
  int64_t backoff;
  int stale;
};

/* Whether a piece of work may run a second time after a lost connection. */
enum hk_retry { HK_ONCE, HK_RETRY };

/*
 * The one retry rule. Connects when needed and runs fn; when fn failed
 * because the connection dropped (st->c NULL) and that connection had been
 * opened before this call, and retry is HK_RETRY, connects again and runs
 * fn once more. fn sets err and drops the connection on an I/O error
 * (hk_store_io_fail). Returns what fn returned, or HK_E_UNAVAILABLE when
 * no connection could be made.
 */
enum hk_err hk_store_round(struct hk_store *st, enum hk_retry retry,
                           enum hk_err (*fn)(struct hk_store *st, void *ctx,
                                             struct hk_error *err),
                           void *ctx, struct hk_error *err);

/* Sets err from the connection's error and drops it. HK_E_UNAVAILABLE. */
enum hk_err hk_store_io_fail(struct hk_store *st, struct hk_error *err);

/* Notes an error reply that says the connection is not to a writable
 * primary any more (-READONLY: a demoted primary; -MASTERDOWN: a replica
 * that lost its primary): the round drops the connection, and the next
 * one asks the sentinels again. Any other reply changes nothing. */
void hk_store_check_reply(struct hk_store *st, const redisReply *r);

/* Drops the connection (and with it the loaded scripts' SHAs). */
void hk_store_drop(struct hk_store *st);

/*
 * Runs one command in a round (HK_RETRY). Returns the reply (caller frees
 * with freeReplyObject), or NULL with err set on an I/O error or an error
 * reply. lens may be NULL for NUL-terminated arguments.
 */
redisReply *hk_store_command(struct hk_store *st, int argc, const char **argv,
                             const size_t *lens, struct hk_error *err);

/* As hk_store_command, but an error reply is returned as a reply: NULL
 * only on an I/O error. */
redisReply *hk_store_command_raw(struct hk_store *st, int argc,
                                 const char **argv, const size_t *lens,
                                 struct hk_error *err);

/* XGROUP CREATE stream group 0 MKSTREAM; a group that exists already
 * (BUSYGROUP) is success. */
enum hk_err hk_store_group_create(struct hk_store *st, const char *stream,
                                  const char *group, struct hk_error *err);

/* Queues one command on the connection (must be connected); on failure
 * sets err and drops the connection. */
enum hk_err hk_store_append(struct hk_store *st, int argc, const char **argv,
                            const size_t *lens, struct hk_error *err);

/*
 * Reads the replies of n pipelined commands, handing each to take (which
 * owns it; take may be NULL to free them). An error reply among them fails
 * the whole, once all are read; an I/O error drops the connection and
 * stops. Returns HK_E_OK or HK_E_UNAVAILABLE with err set.
 */
enum hk_err hk_store_read_replies(struct hk_store *st, size_t n,
                                  void (*take)(void *ctx, redisReply *r),
                                  void *ctx, struct hk_error *err);

/* A growing argument vector; strings borrowed, except those added with
 * hk_args_own. Zero-initialised is empty. */
struct hk_args {
  const char **v;
  size_t *len;
  size_t n;
  size_t cap;
  char **owned;
  size_t nowned;
};

void hk_args_add(struct hk_args *a, const char *s, size_t len);
/* s NULL adds "". */
void hk_args_str(struct hk_args *a, const char *s);
/* Adds s (a new string, NULL adds "") and takes it: freed by
 * hk_args_fini. */
void hk_args_own(struct hk_args *a, char *s);
/* Frees the vector and the strings it owns; a is empty again. */
void hk_args_fini(struct hk_args *a);

/*
 * Runs script which with a (NUMKEYS, the keys, then ARGV; the EVALSHA and
 * the SHA are added) in a round (HK_RETRY). Returns the reply (caller
 * frees), or NULL with err set on an I/O error or an error reply.
 */
redisReply *hk_store_eval(struct hk_store *st, enum hk_script which,
                          const struct hk_args *a, struct hk_error *err);

/*
 * Runs n calls of script which pipelined, in a round (retry). build fills
 * the i-th call's arguments (NUMKEYS, keys, ARGV) into a (empty; strings
 * that must outlive build are given with hk_args_own); take
 * gets each reply that is not an error (and owns it). A call refused with
 * NOSCRIPT is sent again once the script is loaded again; any other error
 * reply fails the whole (once all are read), that call not taken.
 */
enum hk_err hk_store_eval_many(struct hk_store *st, enum hk_script which,
                               enum hk_retry retry, size_t n,
                               void (*build)(void *ctx, size_t i,
                                             struct hk_args *a),
                               void (*take)(void *ctx, size_t i, redisReply *r),
                               void *ctx, struct hk_error *err);

/* The key named by suffix under the configured prefix ("clocks:x" ->
 * "handoff:clocks:x"). A new string (caller frees). */
char *hk_store_key(const struct hk_store *st, const char *suffix);

#endif
