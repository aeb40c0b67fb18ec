/*
 * intake.c -- the intake stream and its consumer group: deliveries written
 * (one XADD, or many pipelined for the group commit of commit.c), read
 * back by workers, taken over from dead ones, and the queue's figures.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

/* ---------------------------------------------------------------------------
 * Writing deliveries: one XADD, or many pipelined on one connection
 * ------------------------------------------------------------------------- */

#define XADD_ARGC 17

/* The XADD of one delivery. The two timestamps are printed into the
 * caller's buffers, which must live as long as argv. */
static void xadd_args(const struct hk_store *st, const struct hk_delivery *d,
                      char received[24], char signed_at[24],
                      const char *argv[XADD_ARGC], size_t lens[XADD_ARGC]) {
  int n = 0;
  snprintf(received, 24, "%" PRId64, d->received_ms);
  snprintf(signed_at, 24, "%" PRId64, d->signed_ms);
#define ARG(s, l) (argv[n] = (s), lens[n] = (l), n++)
  ARG("XADD", 4);
  ARG(st->keys.intake, strlen(st->keys.intake));
  ARG("*", 1);
  ARG("source", 6);
  ARG(d->source, strlen(d->source));
  ARG("kind", 4);
  ARG(d->kind, strlen(d->kind));
  ARG("delivery_id", 11);
  ARG(d->delivery_id, strlen(d->delivery_id));
  ARG("received_ms", 11);
  ARG(received, strlen(received));
  ARG("signed_ms", 9);
  ARG(signed_at, strlen(signed_at));
  ARG("headers", 7);
  ARG(d->headers, strlen(d->headers));
  ARG("body", 4);
  ARG(d->body, d->body_len);
#undef ARG
}

/* Sets one item's outcome from its XADD reply. An error reply fails that
 * item only: the replies stay in step with the commands. */
static void xadd_outcome(const struct hk_store *st, struct hk_store_xadd *x,
                         const redisReply *r) {
  if (hk_resp_is_oom(r)) {
    /* noeviction: Redis refuses writes past maxmemory. The sender retries
     * (503); the memory guard of handoff-fcgi usually refuses before. */
    x->rc = hk_fail(&x->err, HK_E_FULL, "redis at %s answered: %.*s", st->where,
                    (int)r->len, r->str);
  } else if (r->type == REDIS_REPLY_ERROR) {
    x->rc = hk_fail(&x->err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s",
                    st->where, (int)r->len, r->str);
  } else if (hk_resp_stream_id(r, x->id, NULL) != HK_E_OK) {
    x->rc = hk_fail(&x->err, HK_E_UNAVAILABLE, "unexpected reply to XADD");
  } else {
    x->rc = HK_E_OK;
  }
}

/* The XADDs of one batch, and how far they got. */
struct xadds {
  struct hk_store_xadd **items;
  size_t n;
  size_t done; /* items[0, done) have their outcome */
};

/* Waits until conf.min_replicas_acked replicas hold the XADDs of
 * items[from, n) (one WAIT for the batch, sent after its XADDs on the same
 * connection, so it covers them all), at most conf.wait_timeout_ms. Not
 * reached in time: every item written fails, its sender gets a 503 and
 * sends it again (the worker's dedupe makes the second copy harmless). */
static enum hk_err replicas_ack(struct hk_store *st, struct xadds *b,
                                size_t from, struct hk_error *err) {
  char want[16];
  char ms[24];
  const char *argv[] = {"WAIT", want, ms};
  void *reply = NULL;
  long long got = -1;
  snprintf(want, sizeof want, "%d", st->conf.min_replicas_acked);
  snprintf(ms, sizeof ms, "%" PRId64,
           st->conf.wait_timeout_ms > 0 ? st->conf.wait_timeout_ms : 1);
  if (hk_store_append(st, 3, argv, NULL, err) == HK_E_OK &&
      redisGetReply(st->c, &reply) == REDIS_OK) {
    const redisReply *r = reply;
    got = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(reply);
  } else if (st->c != NULL) {
    hk_store_io_fail(st, err);
  }
  if (got >= st->conf.min_replicas_acked) {
    return HK_E_OK;
  }
  for (size_t i = from; i < b->n; i++) {
    if (b->items[i]->rc != HK_E_OK) {
      continue;
    }
    b->items[i]->rc = HK_E_UNAVAILABLE;
    if (got >= 0) {
      hk_fail(&b->items[i]->err, HK_E_UNAVAILABLE,
              "only %lld of %d replicas acknowledged the write within %s ms",
              got, st->conf.min_replicas_acked, ms);
    } else {
      b->items[i]->err = *err;
    }
  }
  /* The batch is settled: nothing of it is written again. */
  return HK_E_OK;
}

/* The connection was lost while reading the replies of items[from, n):
 * when replicas must acknowledge, those written already were never
 * waited for, so they fail too (the sender retries). */
static enum hk_err unacked(struct hk_store *st, struct xadds *b, size_t from,
                           struct hk_error *err) {
  enum hk_err rc = hk_store_io_fail(st, err);
  if (st->conf.min_replicas_acked > 0) {
    for (size_t i = from; i < b->done; i++) {
      if (b->items[i]->rc == HK_E_OK) {
        b->items[i]->rc = HK_E_UNAVAILABLE;
        b->items[i]->err = *err;
      }
    }
  }
  return rc;
}

/* Appends the XADDs of items[done, n) to the output buffer, then reads
 * their replies in order; hiredis writes the whole buffer before the first
 * read, so the batch costs one round trip. Advances done past every item
 * that got its reply; on an I/O error err is set and the connection
 * dropped. */
static enum hk_err xadd_pipeline(struct hk_store *st, void *ctx,
                                 struct hk_error *err) {
  struct xadds *b = ctx;
  size_t from = b->done;
  enum hk_err waited = HK_E_OK;
  if (from == b->n) {
    return HK_E_OK;
  }
  for (size_t i = b->done; i < b->n; i++) {
    char received[24];
    char signed_at[24];
    const char *argv[XADD_ARGC];
    size_t lens[XADD_ARGC];
    /* The hot path: the counter's field on the stack, unless the source
     * name is too long for it (then on the heap, never cut short). */
    char small[128];
    char *field = small;
    const char *incr[] = {"HINCRBY", st->keys.intake_counts, NULL, "1"};
    enum hk_err rc;
    if ((size_t)snprintf(small, sizeof small, "%s 202",
                         b->items[i]->d->source) >= sizeof small) {
      field = hk_xprintf("%s 202", b->items[i]->d->source);
    }
    incr[2] = field;
    xadd_args(st, b->items[i]->d, received, signed_at, argv, lens);
    rc = hk_store_append(st, XADD_ARGC, argv, lens, err);
    if (rc == HK_E_OK) {
      rc = hk_store_append(st, 4, incr, NULL, err);
    }
    if (field != small) {
      free(field);
    }
    if (rc != HK_E_OK) {
      return rc;
    }
  }
  for (size_t i = b->done; i < b->n; i++) {
    void *reply = NULL;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      return unacked(st, b, from, err);
    }
    hk_store_check_reply(st, reply);
    xadd_outcome(st, b->items[i], reply);
    freeReplyObject(reply);
    b->done = i + 1;
    /* The count of the accepted request. The XADD's fate is settled: a
     * count lost with the connection is not worth a second delivery. */
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      return unacked(st, b, from, err);
    }
    freeReplyObject(reply);
  }
  if (st->conf.min_replicas_acked > 0) {
    waited = replicas_ack(st, b, from, err);
  }
  return waited;
}

void hk_store_enqueue_many(struct hk_store *st, struct hk_store_xadd **items,
                           size_t n) {
  struct hk_error err = {HK_E_OK, ""};
  struct xadds b = {items, n, 0};
  if (n == 0) {
    return;
  }
  /* The items answered before an error are settled; the rest get one more
   * try on a fresh connection (hk_store_round). */
  (void)hk_store_round(st, HK_RETRY, xadd_pipeline, &b, &err);
  for (size_t i = b.done; i < n; i++) {
    items[i]->rc = HK_E_UNAVAILABLE;
    items[i]->err = err;
  }
}

enum hk_err hk_store_enqueue(struct hk_store *st, const struct hk_delivery *d,
                             char id[HK_STREAM_ID_MAX], struct hk_error *err) {
  struct hk_store_xadd x;
  struct hk_store_xadd *one = &x;
  memset(&x, 0, sizeof x);
  x.d = d;
  hk_store_enqueue_many(st, &one, 1);
  if (x.rc == HK_E_OK) {
    memcpy(id, x.id, sizeof x.id);
  } else if (err != NULL) {
    *err = x.err;
  }
  return x.rc;
}

enum hk_err hk_store_group_ensure(struct hk_store *st, struct hk_error *err) {
  return hk_store_group_create(st, st->keys.intake, HK_STORE_GROUP, err);
}

/* ---------------------------------------------------------------------------
 * Reading entries back
 * ------------------------------------------------------------------------- */

void hk_batch_fini(struct hk_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    struct hk_entry *e = &b->items[i];
    free(e->source);
    free(e->kind);
    free(e->delivery_id);
    free(e->headers);
    free(e->body);
  }
  free(b->items);
  b->items = NULL;
  b->n = 0;
}

enum hk_err hk_store_read(struct hk_store *st, const char *consumer,
                          size_t count, int64_t block_ms, struct hk_batch *out,
                          struct hk_error *err) {
  char cnt[24];
  char blk[24];
  const char *argv[] = {
      "XREADGROUP", "GROUP", HK_STORE_GROUP, consumer,        "COUNT", cnt,
      "BLOCK",      blk,     "STREAMS",      st->keys.intake, ">"};
  redisReply *r;
  out->items = NULL;
  out->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  snprintf(blk, sizeof blk, "%" PRId64, block_ms);
  r = hk_store_command(st, 11, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  /* [[stream, [entry…]]] or nil on timeout. */
  hk_resp_entries(hk_resp_xread(r), out);
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_claim(struct hk_store *st, const char *consumer,
                           int64_t min_idle_ms, size_t count,
                           struct hk_batch *out, struct hk_error *err) {
  char idle[24];
  char cnt[24];
  char cursor[HK_STREAM_ID_MAX] = "0-0";
  out->items = NULL;
  out->n = 0;
  snprintf(idle, sizeof idle, "%" PRId64, min_idle_ms);
  /* XAUTOCLAIM scans the pending list from a cursor; follow it until it
   * comes back to 0-0 or the batch is full. */
  do {
    const char *argv[] = {
        "XAUTOCLAIM", st->keys.intake, HK_STORE_GROUP, consumer,
        idle,         cursor,          "COUNT",        cnt};
    redisReply *r;
    const redisReply *entries;
    snprintf(cnt, sizeof cnt, "%zu", count - out->n);
    r = hk_store_command(st, 8, argv, NULL, err);
    if (r == NULL) {
      hk_batch_fini(out);
      return HK_E_UNAVAILABLE;
    }
    if (hk_resp_autoclaim(r, cursor, &entries, err) != HK_E_OK) {
      freeReplyObject(r);
      hk_batch_fini(out);
      return HK_E_UNAVAILABLE;
    }
    hk_resp_entries(entries, out);
    freeReplyObject(r);
  } while (strcmp(cursor, "0-0") != 0 && out->n < count);
  return HK_E_OK;
}

enum hk_err hk_store_consumer_leave(struct hk_store *st, const char *group,
                                    const char *consumer, int *left,
                                    struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  *left = 0;
  hk_args_str(&a, "1");
  hk_args_str(&a, strcmp(group, HK_STORE_ALERT_GROUP) == 0 ? st->keys.alerts
                                                           : st->keys.intake);
  hk_args_str(&a, group);
  hk_args_str(&a, consumer);
  r = hk_store_eval(st, HK_SCRIPT_CONSUMER_LEAVE, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *left = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * The queue's figures and the intake counters
 * ------------------------------------------------------------------------- */

/* The time part of a stream id ("1700000000000-3"), or -1. */
static int64_t id_ms(const char *id) {
  char *end = NULL;
  long long ms = strtoll(id, &end, 10);
  return end != id && *end == '-' ? (int64_t)ms : -1;
}

/* The id of the first entry of an XRANGE reply into id ("" when none). */
static void first_id(const redisReply *r, char id[HK_STREAM_ID_MAX]) {
  id[0] = '\0';
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
      r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 0) {
    (void)!hk_resp_stream_id(r->element[0]->element[0], id, NULL);
  }
}

/* Entries past the last-delivered-id counted one by one, at most: */
#define LAG_COUNTED 100

/* The lag and the oldest waiting delivery, from the group's
 * last-delivered-id: the entries past it (XRANGE (id + COUNT 100), exact
 * up to 100 whatever Redis's own figure says (after an AOF reload the
 * group's entries-read is gone, and Redis's lag with it, or worse); past
 * that Redis's figure when it is plausible, else "at least 100". The
 * oldest pending one comes from XPENDING's summary. */
static enum hk_err queue_waiting(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) {
  char after[HK_STREAM_ID_MAX + 1];
  char count[16];
  char unread[HK_STREAM_ID_MAX];
  char oldest[HK_STREAM_ID_MAX] = "";
  const char *range[] = {"XRANGE", st->keys.intake, after, "+", "COUNT", count};
  const char *pend[] = {"XPENDING", st->keys.intake, HK_STORE_GROUP};
  redisReply *r;
  int64_t n;
  snprintf(after, sizeof after, "(%s", out->last_delivered);
  snprintf(count, sizeof count, "%d", LAG_COUNTED);
  r = hk_store_command(st, 6, range, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  first_id(r, unread);
  n = r->type == REDIS_REPLY_ARRAY ? (int64_t)r->elements : 0;
  freeReplyObject(r);
  if (n < LAG_COUNTED || out->lag < LAG_COUNTED || out->lag > out->length) {
    out->lag = n;
  }
  if (out->pending > 0) {
    r = hk_store_command(st, 3, pend, NULL, err);
    if (r == NULL) {
      return HK_E_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
      (void)!hk_resp_stream_id(r->element[1], oldest, NULL);
    }
    freeReplyObject(r);
  }
  out->oldest_ms = oldest[0] != '\0' ? id_ms(oldest) : id_ms(unread);
  return HK_E_OK;
}

/* The workers' heartbeats: the newest last read, and how many are alive
 * (their keys not expired). */
static enum hk_err queue_readers(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) {
  char *zkey = hk_store_key(st, "workers");
  const char *zr[] = {"ZREVRANGE", zkey, "0", "999", "WITHSCORES"};
  struct hk_args a = {0};
  redisReply *r = hk_store_command(st, 5, zr, NULL, err);
  redisReply *e;
  free(zkey);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    freeReplyObject(r);
    return HK_E_OK;
  }
  out->last_read_ms = atoll(r->element[1]->str);
  hk_args_str(&a, "EXISTS");
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    hk_args_own(&a,
                hk_xprintf("%sworker:%s", st->conf.prefix, r->element[i]->str));
  }
  e = hk_store_command(st, (int)a.n, a.v, a.len, err);
  hk_args_fini(&a);
  freeReplyObject(r);
  if (e == NULL) {
    return HK_E_UNAVAILABLE;
  }
  out->workers = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
  freeReplyObject(e);
  return HK_E_OK;
}

enum hk_err hk_store_queue_stats(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) {
  const char *xlen[] = {"XLEN", st->keys.intake};
  const char *groups[] = {"XINFO", "GROUPS", st->keys.intake};
  const char *stats[] = {"HGET", st->keys.stats, "processed"};
  redisReply *r;
  enum hk_err rc;
  memset(out, 0, sizeof *out);
  out->lag = -1;
  out->last_read_ms = -1;
  out->oldest_ms = -1;

  r = hk_store_command(st, 2, xlen, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  rc = hk_resp_int(r, &out->length, err);
  freeReplyObject(r);
  if (rc != HK_E_OK) {
    return rc;
  }
  /* XINFO GROUPS fails when the stream does not exist yet: that is an
   * empty queue, not an outage. */
  r = hk_store_command_raw(st, 3, groups, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  hk_resp_groups(r, HK_STORE_GROUP, out);
  freeReplyObject(r);
  if (out->last_delivered[0] != '\0' &&
      queue_waiting(st, out, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  if (queue_readers(st, out, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }

  r = hk_store_command(st, 3, stats, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  rc = r->type == REDIS_REPLY_NIL ? HK_E_OK
                                  : hk_resp_int(r, &out->processed, err);
  freeReplyObject(r);
  return rc;
}

int hk_queue_stall(const struct hk_queue_stats *q, int64_t now_ms,
                   int64_t amber_ms, int64_t red_ms, char *why, size_t cap) {
  int64_t waiting =
      (q->lag > 0 ? q->lag : 0) + (q->pending > 0 ? q->pending : 0);
  int64_t since = q->last_read_ms >= 0 ? q->last_read_ms : q->oldest_ms;
  int64_t idle = since >= 0 && now_ms > since ? now_ms - since : 0;
  int level = idle >= red_ms ? 2 : (idle >= amber_ms ? 1 : 0);
  if (cap > 0) {
    why[0] = '\0';
  }
  if (waiting == 0 || level == 0) {
    return 0;
  }
  if (q->last_read_ms >= 0) {
    snprintf(why, cap, "no worker has read for %lld s while %lld %s",
             (long long)(idle / 1000), (long long)waiting,
             waiting == 1 ? "delivery waits" : "deliveries wait");
  } else {
    snprintf(
        why, cap, "no worker has ever read, and %lld %s, the oldest for %lld s",
        (long long)waiting, waiting == 1 ? "delivery waits" : "deliveries wait",
        (long long)(idle / 1000));
  }
  return level;
}

/* ---------------------------------------------------------------------------
 * Heartbeats and dead consumers
 * ------------------------------------------------------------------------- */

/* The SET and ZADD of one heartbeat, pipelined. */
struct beat {
  const char *consumer;
  int64_t read_ms;
  int64_t ttl_ms;
};

static enum hk_err beat_run(struct hk_store *st, void *ctx,
                            struct hk_error *err) {
  const struct beat *b = ctx;
  char read[24];
  char ttl[24];
  char *key = hk_xprintf("%sworker:%s", st->conf.prefix, b->consumer);
  char *zkey = hk_store_key(st, "workers");
  const char *set[] = {"SET", key, read, "PX", ttl};
  const char *zadd[] = {"ZADD", zkey, read, b->consumer};
  enum hk_err rc;
  snprintf(read, sizeof read, "%" PRId64, b->read_ms);
  snprintf(ttl, sizeof ttl, "%" PRId64, b->ttl_ms > 0 ? b->ttl_ms : 1);
  rc = hk_store_append(st, 5, set, NULL, err);
  if (rc == HK_E_OK) {
    rc = hk_store_append(st, 4, zadd, NULL, err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_read_replies(st, 2, NULL, NULL, err);
  }
  free(key);
  free(zkey);
  return rc;
}

enum hk_err hk_store_heartbeat(struct hk_store *st, const char *consumer,
                               int64_t read_ms, int64_t ttl_ms,
                               struct hk_error *err) {
  struct beat b = {consumer, read_ms, ttl_ms};
  return hk_store_round(st, HK_RETRY, beat_run, &b, err);
}

/* 1 when the heartbeat key of consumer exists; -1 when Redis failed. */
static int beating(struct hk_store *st, const char *consumer,
                   struct hk_error *err) {
  char *key = hk_xprintf("%sworker:%s", st->conf.prefix, consumer);
  const char *argv[] = {"EXISTS", key};
  redisReply *r = hk_store_command(st, 2, argv, NULL, err);
  int yes = r == NULL ? -1 : (r->type == REDIS_REPLY_INTEGER && r->integer > 0);
  free(key);
  freeReplyObject(r);
  return yes;
}

/* Forgets consumer's last read in {prefix}workers. */
static void forget(struct hk_store *st, const char *consumer) {
  struct hk_error ignored = {HK_E_OK, ""};
  char *zkey = hk_store_key(st, "workers");
  const char *argv[] = {"ZREM", zkey, consumer};
  freeReplyObject(hk_store_command(st, 3, argv, NULL, &ignored));
  free(zkey);
}

enum hk_err hk_store_reap_consumers(struct hk_store *st, const char *self,
                                    size_t *removed, struct hk_error *err) {
  const char *argv[] = {"XINFO", "CONSUMERS", st->keys.intake, HK_STORE_GROUP};
  redisReply *r = hk_store_command(st, 4, argv, NULL, err);
  enum hk_err rc = HK_E_OK;
  *removed = 0;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  /* [[name, N, pending, N, idle, N, …], …] */
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    const redisReply *c = r->element[i];
    const char *name = NULL;
    long long pending = -1;
    int alive;
    int left = 0;
    for (size_t k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements;
         k += 2) {
      if (strcmp(c->element[k]->str, "name") == 0) {
        name = c->element[k + 1]->str;
      } else if (strcmp(c->element[k]->str, "pending") == 0) {
        pending = c->element[k + 1]->integer;
      }
    }
    if (name == NULL || pending != 0 || strcmp(name, self) == 0) {
      continue;
    }
    alive = beating(st, name, err);
    if (alive != 0) {
      rc = alive < 0 ? HK_E_UNAVAILABLE : HK_E_OK;
      if (rc != HK_E_OK) {
        break;
      }
      continue;
    }
    rc = hk_store_consumer_leave(st, HK_STORE_GROUP, name, &left, err);
    if (rc != HK_E_OK) {
      break;
    }
    if (left) {
      forget(st, name);
      (*removed)++;
    }
  }
  freeReplyObject(r);
  return rc;
}

enum hk_err hk_store_count_request(struct hk_store *st, const char *source,
                                   int status, struct hk_error *err) {
  char *field = hk_xprintf("%s %d", source, status);
  const char *argv[] = {"HINCRBY", st->keys.intake_counts, field, "1"};
  redisReply *r = hk_store_command(st, 4, argv, NULL, err);
  free(field);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

/* The HINCRBYs of hk_store_stats_add. */
struct stats_add {
  const char *const *fields;
  const int64_t *by;
  size_t n;
};

static enum hk_err stats_add_run(struct hk_store *st, void *ctx,
                                 struct hk_error *err) {
  struct stats_add *s = ctx;
  for (size_t i = 0; i < s->n; i++) {
    char amount[24];
    const char *argv[] = {"HINCRBY", st->keys.stats, s->fields[i], amount};
    snprintf(amount, sizeof amount, "%" PRId64, s->by[i]);
    if (hk_store_append(st, 4, argv, NULL, err) != HK_E_OK) {
      return HK_E_UNAVAILABLE;
    }
  }
  return hk_store_read_replies(st, s->n, NULL, NULL, err);
}

enum hk_err hk_store_stats_add(struct hk_store *st, const char *const *fields,
                               const int64_t *by, size_t n,
                               struct hk_error *err) {
  struct stats_add s = {fields, by, n};
  if (n == 0) {
    return HK_E_OK;
  }
  /* Counters are not idempotent: a lost reply is not tried again. */
  return hk_store_round(st, HK_ONCE, stats_add_run, &s, err);
}
