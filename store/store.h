/*
 * store.h -- the door to Redis: the intake stream and its consumer group.
 *
 * The schema (all keys under the configured prefix, "handoff:" by default):
 *
 *   {prefix}intake   stream; one entry per accepted delivery, fields
 *                    source, kind, delivery_id, received_ms, signed_ms,
 *                    headers (JSON object), body (raw bytes as received)
 *   group "workers"  on {prefix}intake; created at id 0 with MKSTREAM, so no
 *                    delivery queued before the first worker started is
 *                    missed
 *   {prefix}stats    hash of counters the worker keeps (processed, …)
 *
 * One struct hk_store is one connection, used by one thread at a time. It
 * connects lazily and, after any I/O error, drops the connection and
 * reconnects on the next call, so a Redis restart needs no restart of ours.
 * A command that fails on a connection opened before is tried once more on
 * a new one (a restart breaks every open connection). So an XADD whose reply
 * was lost may be written twice: consumers are idempotent by delivery id,
 * and a duplicate is harmless where a loss is not.
 * Every call returns HK_E_UNAVAILABLE with err set when Redis cannot be
 * reached or answers with an error.
 */
#ifndef HK_STORE_H
#define HK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "webhooks/webhooks.h"

#define HK_STORE_GROUP "workers"
#define HK_STREAM_ID_MAX 48

struct hk_store;

/* A new, not yet connected store for conf (copied). Never NULL. */
struct hk_store *hk_store_new(const struct hk_redis_conf *conf);
/* NULL-safe. */
void hk_store_free(struct hk_store *st);

/* Round trip to Redis. */
enum hk_err hk_store_ping(struct hk_store *st,
                          struct hk_error *err) HK_MUST_CHECK;

/*
 * Appends the delivery to the intake stream (XADD) and writes its stream id
 * into id. Returns HK_E_OK only once Redis confirmed the write.
 */
enum hk_err hk_store_enqueue(struct hk_store *st, const struct hk_delivery *d,
                             char id[HK_STREAM_ID_MAX],
                             struct hk_error *err) HK_MUST_CHECK;

/* One stream entry as read back by a worker; every string owned. */
struct hk_entry {
  char id[HK_STREAM_ID_MAX];
  char *source;
  char *kind;
  char *delivery_id;
  char *headers;
  char *body;
  size_t body_len;
  int64_t received_ms;
  int64_t signed_ms;
  int64_t deliveries; /* times delivered to a consumer; 0 when unknown */
};

struct hk_batch {
  struct hk_entry *items;
  size_t n;
};

void hk_batch_fini(struct hk_batch *b);

/* Creates the consumer group if it does not exist yet. */
enum hk_err hk_store_group_ensure(struct hk_store *st,
                                  struct hk_error *err) HK_MUST_CHECK;

/*
 * Reads up to count new deliveries for consumer (XREADGROUP … >), waiting
 * at most block_ms when there are none. An empty batch is not an error.
 */
enum hk_err hk_store_read(struct hk_store *st, const char *consumer,
                          size_t count, int64_t block_ms, struct hk_batch *out,
                          struct hk_error *err) HK_MUST_CHECK;

/*
 * Takes over up to count deliveries that other consumers read but did not
 * acknowledge for min_idle_ms (XAUTOCLAIM). Entries deleted from the stream
 * meanwhile are dropped from the pending list by Redis and not returned.
 */
enum hk_err hk_store_claim(struct hk_store *st, const char *consumer,
                           int64_t min_idle_ms, size_t count,
                           struct hk_batch *out,
                           struct hk_error *err) HK_MUST_CHECK;

/* Acknowledges one delivery and counts it as processed, atomically. */
enum hk_err hk_store_ack(struct hk_store *st, const char *id,
                         struct hk_error *err) HK_MUST_CHECK;

struct hk_queue_stats {
  int64_t length;    /* entries in the stream */
  int64_t pending;   /* read by a worker, not acknowledged */
  int64_t lag;       /* never read by any worker; -1 when Redis can't say */
  int64_t processed; /* acknowledged since the stream was created */
  int64_t consumers;
};

enum hk_err hk_store_queue_stats(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) HK_MUST_CHECK;

/* ===========================================================================
 * Group commit of intake (store/commit.c)
 *
 * A request thread that does its own blocking XADD pays a whole Redis round
 * trip, and Redis a whole read and write, per delivery. A struct hk_commit
 * instead owns one connection shared by all request threads: each queues
 * its delivery and waits; one committer at a time (the request thread that
 * found no batch on the wire, see commit.c) takes everything queued,
 * pipelines the XADDs in one write, reads the replies in order and wakes
 * each waiter with its own outcome. Nothing waits on a timer: while one
 * batch is on the wire the next gathers, so under load batches grow by
 * themselves and when idle a lone delivery goes out at once.
 * ======================================================================== */

/* One XADD of a batch: d is borrowed; id, rc and err are written. */
struct hk_store_xadd {
  const struct hk_delivery *d;
  char id[HK_STREAM_ID_MAX];
  enum hk_err rc;
  struct hk_error err;
};

/*
 * Writes the n deliveries with pipelined XADDs on st's connection and sets
 * every item's rc: HK_E_OK with its stream id once Redis confirmed that
 * XADD, HK_E_UNAVAILABLE with err otherwise. Reconnects and retries like
 * the other calls; an item whose reply was lost may be written twice.
 */
void hk_store_enqueue_many(struct hk_store *st, struct hk_store_xadd **items,
                           size_t n);

struct hk_commit;

/* A new group commit for conf (copied); it starts no thread and connects
 * lazily. Never NULL. */
struct hk_commit *hk_commit_new(const struct hk_redis_conf *conf);

/* NULL-safe. Call it only once no thread is in, or can call,
 * hk_commit_enqueue on c. */
void hk_commit_free(struct hk_commit *c);

/*
 * Like hk_store_enqueue, from any number of threads at once: queues d
 * (borrowed until the return) for the next batch and waits for its outcome,
 * writing that batch itself when no other is on the wire. Returns HK_E_OK
 * with id set only once Redis confirmed this delivery's XADD;
 * HK_E_UNAVAILABLE with err set when Redis could not be reached or refused
 * it.
 */
enum hk_err hk_commit_enqueue(struct hk_commit *c, const struct hk_delivery *d,
                              char id[HK_STREAM_ID_MAX],
                              struct hk_error *err) HK_MUST_CHECK;

#endif
