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

/* Appends the XADDs of items[done, n) to the output buffer, then reads
 * their replies in order; hiredis writes the whole buffer before the first
 * read, so the batch costs one round trip. Advances done past every item
 * that got its reply; on an I/O error err is set and the connection
 * dropped. */
static enum hk_err xadd_pipeline(struct hk_store *st, void *ctx,
                                 struct hk_error *err) {
  struct xadds *b = ctx;
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
      return hk_store_io_fail(st, err);
    }
    xadd_outcome(st, b->items[i], reply);
    freeReplyObject(reply);
    b->done = i + 1;
    /* The count of the accepted request. The XADD's fate is settled: a
     * count lost with the connection is not worth a second delivery. */
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      return hk_store_io_fail(st, err);
    }
    freeReplyObject(reply);
  }
  return HK_E_OK;
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

enum hk_err hk_store_queue_stats(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) {
  const char *xlen[] = {"XLEN", st->keys.intake};
  const char *groups[] = {"XINFO", "GROUPS", st->keys.intake};
  const char *stats[] = {"HGET", st->keys.stats, "processed"};
  redisReply *r;
  enum hk_err rc;
  out->length = 0;
  out->pending = 0;
  out->lag = -1;
  out->processed = 0;
  out->consumers = 0;

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

  r = hk_store_command(st, 3, stats, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  rc = r->type == REDIS_REPLY_NIL ? HK_E_OK
                                  : hk_resp_int(r, &out->processed, err);
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
