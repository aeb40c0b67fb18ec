/*
 * store.c -- hiredis (0.14) under the intake stream and its consumer group.
 *
 * The connection is made on first use and dropped after any I/O error; the
 * next call reconnects. hiredis' blocking API is enough: one connection per
 * thread, commands with a read timeout so a hung Redis can't hang a request.
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "store/store_internal.h"

/* The Lua scripts run by EVALSHA, loaded once per connection. */
enum script { SCRIPT_JOURNAL, SCRIPT_CAS_PUT, SCRIPT__COUNT };

struct hk_store {
  struct hk_redis_conf conf; /* strings owned */
  redisContext *c;
  char stream[256];
  char stats[256];
  char sha[SCRIPT__COUNT][41]; /* "" until loaded on this connection */
  char intake_counts[256];
};

static char *dup_or_null(const char *s) {
  return s != NULL ? hk_xstrdup(s) : NULL;
}

struct hk_store *hk_store_new(const struct hk_redis_conf *conf) {
  struct hk_store *st = hk_xcalloc(1, sizeof *st);
  st->conf = *conf;
  st->conf.host = dup_or_null(conf->host);
  st->conf.unix_path = dup_or_null(conf->unix_path);
  st->conf.password = dup_or_null(conf->password);
  st->conf.prefix =
      hk_xstrdup(conf->prefix != NULL ? conf->prefix : "handoff:");
  snprintf(st->stream, sizeof st->stream, "%sintake", st->conf.prefix);
  snprintf(st->stats, sizeof st->stats, "%sstats", st->conf.prefix);
  snprintf(st->intake_counts, sizeof st->intake_counts, "%sintake:counts",
           st->conf.prefix);
  return st;
}

static void drop(struct hk_store *st) {
  memset(st->sha, 0, sizeof st->sha);
  if (st->c != NULL) {
    redisFree(st->c);
    st->c = NULL;
  }
}

void hk_store_free(struct hk_store *st) {
  if (st == NULL) {
    return;
  }
  drop(st);
  free(st->conf.host);
  free(st->conf.unix_path);
  free(st->conf.password);
  free(st->conf.prefix);
  free(st);
}

static struct timeval tv_of(int64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
  return tv;
}

static const char *where(const struct hk_store *st, char *buf, size_t n) {
  if (st->conf.unix_path != NULL) {
    snprintf(buf, n, "unix:%s", st->conf.unix_path);
  } else {
    snprintf(buf, n, "%s:%d", st->conf.host, st->conf.port);
  }
  return buf;
}

/* Runs one command on the open connection; returns the reply (caller frees)
 * or NULL with err set and the connection dropped. A Redis error reply is
 * turned into NULL too. */
static redisReply *run(struct hk_store *st, int argc, const char **argv,
                       const size_t *lens, struct hk_error *err) {
  redisReply *r = redisCommandArgv(st->c, argc, argv, lens);
  char at[300];
  if (r == NULL) {
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s", where(st, at, sizeof at),
            st->c->errstr);
    drop(st);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s",
            where(st, at, sizeof at), (int)r->len, r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

static enum hk_err connect_now(struct hk_store *st, struct hk_error *err) {
  struct timeval ct = tv_of(
      st->conf.connect_timeout_ms > 0 ? st->conf.connect_timeout_ms : 500);
  struct timeval rt =
      tv_of(st->conf.timeout_ms > 0 ? st->conf.timeout_ms : 2000);
  char at[300];
  if (st->c != NULL) {
    return HK_E_OK;
  }
  if (st->conf.unix_path != NULL) {
    st->c = redisConnectUnixWithTimeout(st->conf.unix_path, ct);
  } else {
    st->c = redisConnectWithTimeout(st->conf.host, st->conf.port, ct);
  }
  if (st->c == NULL || st->c->err != 0) {
    hk_fail(err, HK_E_UNAVAILABLE, "cannot connect to redis at %s: %s",
            where(st, at, sizeof at),
            st->c != NULL ? st->c->errstr : "out of memory");
    drop(st);
    return HK_E_UNAVAILABLE;
  }
  if (redisSetTimeout(st->c, rt) != REDIS_OK) {
    hk_fail(err, HK_E_UNAVAILABLE, "cannot set the redis timeout");
    drop(st);
    return HK_E_UNAVAILABLE;
  }
  if (st->conf.password != NULL) {
    const char *argv[] = {"AUTH", st->conf.password};
    redisReply *r = run(st, 2, argv, NULL, err);
    if (r == NULL) {
      /* The message names the address, never the password. */
      drop(st);
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  if (st->conf.db != 0) {
    char db[16];
    const char *argv[] = {"SELECT", db};
    redisReply *r;
    snprintf(db, sizeof db, "%d", st->conf.db);
    r = run(st, 2, argv, NULL, err);
    if (r == NULL) {
      drop(st);
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  return HK_E_OK;
}

/* Connects when needed, then runs the command. A connection that was
 * already open may have died with a Redis restart since its last use: an
 * I/O error on it gets one more try on a fresh connection. */
static redisReply *command(struct hk_store *st, int argc, const char **argv,
                           const size_t *lens, struct hk_error *err) {
  int reused = st->c != NULL;
  redisReply *r;
  if (connect_now(st, err) != HK_E_OK) {
    return NULL;
  }
  r = run(st, argc, argv, lens, err);
  if (r == NULL && reused && st->c == NULL) {
    if (connect_now(st, err) != HK_E_OK) {
      return NULL;
    }
    r = run(st, argc, argv, lens, err);
  }
  return r;
}

enum hk_err hk_store_ping(struct hk_store *st, struct hk_error *err) {
  const char *argv[] = {"PING"};
  redisReply *r = command(st, 1, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

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
  ARG(st->stream, strlen(st->stream));
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
  char at[300];
  if (r->type == REDIS_REPLY_ERROR) {
    x->rc = hk_fail(&x->err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s",
                    where(st, at, sizeof at), (int)r->len, r->str);
  } else if (r->type != REDIS_REPLY_STRING || r->len >= HK_STREAM_ID_MAX) {
    x->rc = hk_fail(&x->err, HK_E_UNAVAILABLE, "unexpected reply to XADD");
  } else {
    memcpy(x->id, r->str, r->len);
    x->id[r->len] = '\0';
    x->rc = HK_E_OK;
  }
}

/* Appends the XADDs of items[from, n) to the output buffer, then reads
 * their replies in order; hiredis writes the whole buffer before the first
 * read, so the batch costs one round trip. Returns the index of the first
 * item whose fate is unknown (n when every item got its reply); on an I/O
 * error err is set and the connection dropped. */
static size_t pipeline(struct hk_store *st, struct hk_store_xadd **items,
                       size_t from, size_t n, struct hk_error *err) {
  char at[300];
  for (size_t i = from; i < n; i++) {
    char received[24];
    char signed_at[24];
    const char *argv[XADD_ARGC];
    size_t lens[XADD_ARGC];
    char field[128];
    const char *incr[] = {"HINCRBY", st->intake_counts, field, "1"};
    xadd_args(st, items[i]->d, received, signed_at, argv, lens);
    snprintf(field, sizeof field, "%s 202", items[i]->d->source);
    if (redisAppendCommandArgv(st->c, XADD_ARGC, argv, lens) != REDIS_OK ||
        redisAppendCommandArgv(st->c, 4, incr, NULL) != REDIS_OK) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: cannot queue XADD",
              where(st, at, sizeof at));
      drop(st);
      return from;
    }
  }
  for (size_t i = from; i < n; i++) {
    void *reply = NULL;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
              where(st, at, sizeof at), st->c->errstr);
      drop(st);
      return i;
    }
    xadd_outcome(st, items[i], reply);
    freeReplyObject(reply);
    /* The count of the accepted request. The XADD's fate is settled: a
     * count lost with the connection is not worth a second delivery. */
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
              where(st, at, sizeof at), st->c->errstr);
      drop(st);
      return i + 1;
    }
    freeReplyObject(reply);
  }
  return n;
}

void hk_store_enqueue_many(struct hk_store *st, struct hk_store_xadd **items,
                           size_t n) {
  struct hk_error err = {HK_E_OK, ""};
  int reused = st->c != NULL;
  size_t done = 0;
  if (n == 0) {
    return;
  }
  if (connect_now(st, &err) == HK_E_OK) {
    done = pipeline(st, items, 0, n, &err);
    /* As in command(): a connection opened before may have died with a
     * Redis restart. The items answered before the error are settled; the
     * rest get one more try on a fresh connection. */
    if (done < n && reused && st->c == NULL &&
        connect_now(st, &err) == HK_E_OK) {
      done = pipeline(st, items, done, n, &err);
    }
  }
  for (size_t i = done; i < n; i++) {
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
  const char *argv[] = {"XGROUP",       "CREATE", st->stream,
                        HK_STORE_GROUP, "0",      "MKSTREAM"};
  redisReply *r;
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  r = redisCommandArgv(st->c, 6, argv, NULL);
  if (r == NULL) {
    char at[300];
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s", where(st, at, sizeof at),
            st->c->errstr);
    drop(st);
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
    hk_fail(err, HK_E_UNAVAILABLE, "XGROUP CREATE: %.*s", (int)r->len, r->str);
    freeReplyObject(r);
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
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

static char *field_dup(const redisReply *v, size_t *len) {
  if (v->type != REDIS_REPLY_STRING) {
    if (len != NULL) {
      *len = 0;
    }
    return hk_xstrdup("");
  }
  if (len != NULL) {
    *len = v->len;
  }
  return hk_xstrndup(v->str, v->len);
}

/* Appends one [id, [k, v, k, v…]] entry to b; skips malformed ones (an
 * entry deleted meanwhile comes back as [id, nil]). */
static void add_entry(struct hk_batch *b, const redisReply *e) {
  struct hk_entry *x;
  const redisReply *fields;
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING ||
      e->element[0]->len >= HK_STREAM_ID_MAX ||
      e->element[1]->type != REDIS_REPLY_ARRAY) {
    return;
  }
  b->items = hk_xrealloc(b->items, (b->n + 1) * sizeof *b->items);
  x = &b->items[b->n++];
  memset(x, 0, sizeof *x);
  memcpy(x->id, e->element[0]->str, e->element[0]->len);
  x->id[e->element[0]->len] = '\0';
  fields = e->element[1];
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply *k = fields->element[i];
    const redisReply *v = fields->element[i + 1];
    char **slot = NULL;
    if (k->type != REDIS_REPLY_STRING) {
      continue;
    }
    if (strcmp(k->str, "source") == 0) {
      slot = &x->source;
    } else if (strcmp(k->str, "kind") == 0) {
      slot = &x->kind;
    } else if (strcmp(k->str, "delivery_id") == 0) {
      slot = &x->delivery_id;
    } else if (strcmp(k->str, "headers") == 0) {
      slot = &x->headers;
    } else if (strcmp(k->str, "body") == 0) {
      free(x->body);
      x->body = field_dup(v, &x->body_len);
    } else if (strcmp(k->str, "received_ms") == 0 &&
               v->type == REDIS_REPLY_STRING) {
      x->received_ms = strtoll(v->str, NULL, 10);
    } else if (strcmp(k->str, "signed_ms") == 0 &&
               v->type == REDIS_REPLY_STRING) {
      x->signed_ms = strtoll(v->str, NULL, 10);
    }
    if (slot != NULL) {
      free(*slot);
      *slot = field_dup(v, NULL);
    }
  }
#define FILL(f)                                                                \
  if (x->f == NULL)                                                            \
  x->f = hk_xstrdup("")
  FILL(source);
  FILL(kind);
  FILL(delivery_id);
  FILL(headers);
  FILL(body);
#undef FILL
}

enum hk_err hk_store_read(struct hk_store *st, const char *consumer,
                          size_t count, int64_t block_ms, struct hk_batch *out,
                          struct hk_error *err) {
  char cnt[24];
  char blk[24];
  const char *argv[] = {
      "XREADGROUP", "GROUP", HK_STORE_GROUP, consumer,   "COUNT", cnt,
      "BLOCK",      blk,     "STREAMS",      st->stream, ">"};
  redisReply *r;
  out->items = NULL;
  out->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  snprintf(blk, sizeof blk, "%" PRId64, block_ms);
  r = command(st, 11, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  /* [[stream, [entry…]]] or nil on timeout. */
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
      r->element[0]->type == REDIS_REPLY_ARRAY &&
      r->element[0]->elements == 2) {
    const redisReply *entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
      add_entry(out, entries->element[i]);
    }
  }
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
    const char *argv[] = {"XAUTOCLAIM", st->stream, HK_STORE_GROUP, consumer,
                          idle,         cursor,     "COUNT",        cnt};
    redisReply *r;
    const redisReply *entries;
    snprintf(cnt, sizeof cnt, "%zu", count - out->n);
    r = command(st, 8, argv, NULL, err);
    if (r == NULL) {
      hk_batch_fini(out);
      return HK_E_UNAVAILABLE;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[0]->len >= HK_STREAM_ID_MAX) {
      freeReplyObject(r);
      hk_batch_fini(out);
      return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to XAUTOCLAIM");
    }
    memcpy(cursor, r->element[0]->str, r->element[0]->len);
    cursor[r->element[0]->len] = '\0';
    entries = r->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
      add_entry(out, entries->element[i]);
    }
    freeReplyObject(r);
  } while (strcmp(cursor, "0-0") != 0 && out->n < count);
  return HK_E_OK;
}

/* KEYS: stream. ARGV: group, consumer. 1 when removed, 0 when it holds
 * pending entries (or the group is gone). */
static const char leave_lua[] =
    "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+',\n"
    "  1, ARGV[2])\n"
    "if not ok or #p > 0 then return 0 end\n"
    "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
    "return 1\n";

enum hk_err hk_store_consumer_leave(struct hk_store *st, const char *group,
                                    const char *consumer, int *left,
                                    struct hk_error *err) {
  char alerts[300];
  const char *stream = st->stream;
  const char *argv[6];
  redisReply *r;
  *left = 0;
  if (strcmp(group, HK_STORE_ALERT_GROUP) == 0) {
    snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
    stream = alerts;
  }
  argv[0] = "EVAL";
  argv[1] = leave_lua;
  argv[2] = "1";
  argv[3] = stream;
  argv[4] = group;
  argv[5] = consumer;
  r = command(st, 6, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *left = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  return HK_E_OK;
}

static int64_t int_of(const redisReply *r) {
  if (r->type == REDIS_REPLY_INTEGER) {
    return r->integer;
  }
  if (r->type == REDIS_REPLY_STRING) {
    return strtoll(r->str, NULL, 10);
  }
  return -1;
}

enum hk_err hk_store_queue_stats(struct hk_store *st,
                                 struct hk_queue_stats *out,
                                 struct hk_error *err) {
  const char *xlen[] = {"XLEN", st->stream};
  const char *groups[] = {"XINFO", "GROUPS", st->stream};
  const char *stats[] = {"HGET", st->stats, "processed"};
  redisReply *r;
  out->length = 0;
  out->pending = 0;
  out->lag = -1;
  out->processed = 0;
  out->consumers = 0;

  r = command(st, 2, xlen, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  out->length = int_of(r);
  freeReplyObject(r);

  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  /* XINFO GROUPS fails when the stream does not exist yet: that is an
   * empty queue, not an outage. */
  r = redisCommandArgv(st->c, 3, groups, NULL);
  if (r == NULL) {
    char at[300];
    hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s", where(st, at, sizeof at),
            st->c->errstr);
    drop(st);
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t g = 0; g < r->elements; g++) {
      const redisReply *kv = r->element[g];
      int ours = 0;
      struct hk_queue_stats s = {0, 0, -1, 0, 0};
      if (kv->type != REDIS_REPLY_ARRAY) {
        continue;
      }
      for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i];
        const redisReply *v = kv->element[i + 1];
        if (k->type != REDIS_REPLY_STRING) {
          continue;
        }
        if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING) {
          ours = strcmp(v->str, HK_STORE_GROUP) == 0;
        } else if (strcmp(k->str, "pending") == 0) {
          s.pending = int_of(v);
        } else if (strcmp(k->str, "lag") == 0) {
          s.lag = v->type == REDIS_REPLY_NIL ? -1 : int_of(v);
        } else if (strcmp(k->str, "consumers") == 0) {
          s.consumers = int_of(v);
        }
      }
      if (ours) {
        out->pending = s.pending;
        out->lag = s.lag;
        out->consumers = s.consumers;
      }
    }
  }
  freeReplyObject(r);

  r = command(st, 3, stats, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  out->processed = r->type == REDIS_REPLY_NIL ? 0 : int_of(r);
  freeReplyObject(r);
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * The journal
 *
 * One script records every outcome of a delivery and acknowledges it, so a
 * worker that dies at any point leaves either nothing or everything done.
 * Idempotence keys are hashed with Redis' own SHA-1 so keys stay short
 * whatever the providers' ids look like.
 * ------------------------------------------------------------------------- */

/* KEYS: intake, events, dlq, counts, stats. ARGV: group, intake id, ttl,
 * seen prefix, events maxlen, now_ms, then the delivery's source, kind,
 * delivery_id, received_ms, signed_ms, headers, the journey cap
 * (HK_CAP_JOURNEY), then the items: kind ("e", "i" or "d"), key,
 * counter, then the event, its journey key ("" for none), time and member
 * (e) or rule, reason, ptype and body (d). Returns the number of items
 * written.
 *
 * Each event is also indexed by its subject, in {prefix}journey:SUBJECT
 * (a zset scored by the event's time, member [id, type, source] as JSON,
 * the newest HK_CAP_JOURNEY kept), so GET /v1/subjects/{subject} finds
 * every event of the subject, also those no handoff listens to. ZADD of
 * the same member is a no-op, so an event journaled twice is indexed
 * once. The worker works out key, time and member (journey_args), so
 * Redis does not parse the event: the index costs it one ZADD and one
 * ZCARD per event. */
static const char journal_lua[] =
    "local fresh = 0\n"
    "local cap = tonumber(ARGV[13])\n"
    "local i = 14\n"
    "while i <= #ARGV do\n"
    "  local kind, key, counter = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "  local at = i + 3\n"
    "  if kind == 'e' then i = i + 7 elseif kind == 'd' then i = i + 7\n"
    "  else i = i + 3 end\n"
    "  if redis.call('SET', ARGV[4] .. redis.sha1hex(key), '1', 'NX', 'EX',\n"
    "                ARGV[3]) then\n"
    "    fresh = fresh + 1\n"
    "    redis.call('HINCRBY', KEYS[4], counter, 1)\n"
    "    if kind == 'e' then\n"
    "      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'event',\n"
    "                 ARGV[at])\n"
    "      local k = ARGV[at + 1]\n"
    "      if k ~= '' then\n"
    "        redis.call('ZADD', k, ARGV[at + 2], ARGV[at + 3])\n"
    "        if redis.call('ZCARD', k) > cap then\n"
    "          redis.call('ZREMRANGEBYRANK', k, 0, -cap - 1)\n"
    "        end\n"
    "      end\n"
    "    elseif kind == 'd' then\n"
    "      redis.call('XADD', KEYS[3], '*', 'source', ARGV[7], 'kind',\n"
    "        ARGV[8], 'delivery_id', ARGV[9], 'received_ms', ARGV[10],\n"
    "        'signed_ms', ARGV[11], 'headers', ARGV[12], 'body', ARGV[at + "
    "3],\n"
    "        'rule', ARGV[at], 'reason', ARGV[at + 1], 'ptype', ARGV[at + 2],\n"
    "        'intake_id', ARGV[2], 'failed_ms', ARGV[6])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then\n"
    "  redis.call('HINCRBY', KEYS[5], 'processed', 1)\n"
    "end\n"
    "return fresh\n";

/* KEYS: dlq, intake, alerts. ARGV: the letter's id. Returns the new id (on
 * the intake stream, or the alerts stream for an alert), or nil when there
 * is no such letter. */
static const char retry_lua[] =
    "local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
    "if #e == 0 then return false end\n"
    "local m = {}\n"
    "local f = e[1][2]\n"
    "for j = 1, #f, 2 do m[f[j]] = f[j + 1] end\n"
    "if m.kind == 'alert' then\n"
    "  local id = redis.call('XADD', KEYS[3], '*', 'alert', m.alert,\n"
    "    'attempt', '0')\n"
    "  redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "  return id\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[2], '*', 'source', m.source, 'kind',\n"
    "  m.kind, 'delivery_id', m.delivery_id, 'received_ms', m.received_ms,\n"
    "  'signed_ms', m.signed_ms, 'headers', m.headers, 'body', m.body,\n"
    "  'retried_from', ARGV[1])\n"
    "redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "return id\n";

/* KEYS: clocks hash, due, hcount, alerts. ARGV: old ("" when none), new,
 * due score ("" to remove), due member (the subject), the subject, number
 * of counters,
 * then name and delta of each, then the alerts. Returns 1 when written, 0
 * when the record was not the old one any more. */
/* KEYS: the record's hash. ARGV: field, the record as read ("" for
 * none), the new record, then the changes that go with it, each an
 * operation letter and its arguments (hk_store_op). Keys of the changes
 * come in ARGV: they are the same Redis, and the script is the unit of
 * atomicity. */
static const char cas_put_lua[] =
    "if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
    "local i = 4\n"
    "while i <= #ARGV do\n"
    "  local op, k = ARGV[i], ARGV[i + 1]\n"
    "  if op == 'I' then redis.call('HINCRBY', k, ARGV[i + 2], ARGV[i + 3])\n"
    "  elseif op == 'Z' then redis.call('ZADD', k, ARGV[i + 2], ARGV[i + 3])\n"
    "  elseif op == 'R' then redis.call('ZREM', k, ARGV[i + 2])\n"
    "  elseif op == 'X' then\n"
    "    redis.call('XADD', k, '*', 'alert', ARGV[i + 2], 'attempt', '0')\n"
    "  end\n"
    "  i = i + 4\n"
    "end\n"
    "return 1\n";

static const char *script_text(enum script which) {
  return which == SCRIPT_JOURNAL ? journal_lua : cas_put_lua;
}

/*
 * The SHA-1 by which Redis knows the script, loading it on this connection
 * first when needed (after a reconnect, Redis may have restarted and lost
 * its script cache). Returns NULL with err set when Redis failed.
 */
static const char *script_sha(struct hk_store *st, enum script which,
                              struct hk_error *err) {
  if (st->sha[which][0] == '\0') {
    const char *argv[] = {"SCRIPT", "LOAD", script_text(which)};
    redisReply *r = command(st, 3, argv, NULL, err);
    if (r == NULL) {
      return NULL;
    }
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
      memcpy(st->sha[which], r->str, 40);
      st->sha[which][40] = '\0';
    }
    freeReplyObject(r);
    if (st->sha[which][0] == '\0') {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to SCRIPT LOAD");
      return NULL;
    }
  }
  return st->sha[which];
}

/* A growing argument vector; strings borrowed unless noted. */
struct args {
  const char **v;
  size_t *len;
  size_t n;
  size_t cap;
};

static void arg_add(struct args *a, const char *s, size_t len) {
  if (a->n == a->cap) {
    a->cap = a->cap == 0 ? 32 : a->cap * 2;
    a->v = hk_xrealloc(a->v, a->cap * sizeof *a->v);
    a->len = hk_xrealloc(a->len, a->cap * sizeof *a->len);
  }
  a->v[a->n] = s != NULL ? s : "";
  a->len[a->n] = s != NULL ? len : 0;
  a->n++;
}

static void arg_str(struct args *a, const char *s) {
  arg_add(a, s, s != NULL ? strlen(s) : 0);
}

static void args_fini(struct args *a) {
  free(a->v);
  free(a->len);
  memset(a, 0, sizeof *a);
}

/* The journey index entry of an event (its JSON text): key
 * "{prefix}journey:SUBJECT", score (ms) and member "[id, type, source]",
 * new strings (caller frees); all NULL when the event lacks a subject or a
 * time (then it is not indexed). */
static void journey_args(const struct hk_store *st, const char *event,
                         char **key, char **score, char **member) {
  json_t *ev = event != NULL ? json_loads(event, 0, NULL) : NULL;
  const char *subject = json_string_value(json_object_get(ev, "subject"));
  json_t *at = json_object_get(ev, "at");
  json_t *m;
  *key = NULL;
  *score = NULL;
  *member = NULL;
  if (subject != NULL && json_is_integer(at)) {
    m = json_pack("[s, s, s]",
                  json_string_value(json_object_get(ev, "id")) != NULL
                      ? json_string_value(json_object_get(ev, "id"))
                      : "",
                  json_string_value(json_object_get(ev, "type")) != NULL
                      ? json_string_value(json_object_get(ev, "type"))
                      : "",
                  json_string_value(json_object_get(ev, "source")) != NULL
                      ? json_string_value(json_object_get(ev, "source"))
                      : "");
    *member = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (*member == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
    *key = hk_xprintf("%sjourney:%s", st->conf.prefix, subject);
    *score = hk_xprintf("%" PRId64, (int64_t)json_integer_value(at));
  }
  json_decref(ev);
}

/* Appends the EVALSHA of one delivery's journal to the output buffer. */
static void append_journal(struct hk_store *st, const char *sha,
                           const struct hk_journal *j, int64_t ttl_s,
                           int64_t now_ms) {
  static const char kinds[] = {'e', 'i', 'd'};
  const struct hk_entry *e = j->e;
  char keys[4][300];
  char ttl[24], maxlen[24], now[24], received[24], signed_at[24], cap[24];
  /* The journey index's key, score and member of each event (owned). */
  char **owned = hk_xcalloc(3 * j->n + 1, sizeof *owned);
  struct args a = {NULL, NULL, 0, 0};

  snprintf(keys[0], sizeof keys[0], "%sevents", st->conf.prefix);
  snprintf(keys[1], sizeof keys[1], "%sdlq", st->conf.prefix);
  snprintf(keys[2], sizeof keys[2], "%scounts", st->conf.prefix);
  snprintf(keys[3], sizeof keys[3], "%sseen:", st->conf.prefix);
  snprintf(cap, sizeof cap, "%u", HK_CAP_JOURNEY);
  snprintf(ttl, sizeof ttl, "%" PRId64, ttl_s > 0 ? ttl_s : 1);
  snprintf(maxlen, sizeof maxlen, "%u", HK_CAP_EVENTS_STREAM);
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  snprintf(received, sizeof received, "%" PRId64, e->received_ms);
  snprintf(signed_at, sizeof signed_at, "%" PRId64, e->signed_ms);
  arg_str(&a, "EVALSHA");
  arg_str(&a, sha);
  arg_str(&a, "5");
  arg_str(&a, st->stream);
  arg_str(&a, keys[0]);
  arg_str(&a, keys[1]);
  arg_str(&a, keys[2]);
  arg_str(&a, st->stats);
  arg_str(&a, HK_STORE_GROUP);
  arg_str(&a, e->id);
  arg_str(&a, ttl);
  arg_str(&a, keys[3]);
  arg_str(&a, maxlen);
  arg_str(&a, now);
  arg_str(&a, e->source);
  arg_str(&a, e->kind);
  arg_str(&a, e->delivery_id);
  arg_str(&a, received);
  arg_str(&a, signed_at);
  arg_str(&a, e->headers != NULL ? e->headers : "{}");
  arg_str(&a, cap);
  for (size_t i = 0; i < j->n; i++) {
    const struct hk_journal_item *it = &j->items[i];
    arg_add(&a, &kinds[it->kind], 1);
    arg_str(&a, it->key);
    arg_str(&a, it->counter);
    if (it->kind == HK_JOURNAL_EVENT) {
      journey_args(st, it->event, &owned[3 * i], &owned[3 * i + 1],
                   &owned[3 * i + 2]);
      arg_str(&a, it->event);
      arg_str(&a, owned[3 * i] != NULL ? owned[3 * i] : "");
      arg_str(&a, owned[3 * i + 1] != NULL ? owned[3 * i + 1] : "0");
      arg_str(&a, owned[3 * i + 2] != NULL ? owned[3 * i + 2] : "");
    } else if (it->kind == HK_JOURNAL_DEAD) {
      arg_str(&a, it->rule);
      arg_str(&a, it->reason);
      arg_str(&a, it->ptype);
      arg_add(&a, it->body, it->body_len);
    }
  }
  redisAppendCommandArgv(st->c, (int)a.n, a.v, a.len);
  args_fini(&a);
  for (size_t i = 0; i < 3 * j->n; i++) {
    free(owned[i]);
  }
  free(owned);
}

/* One pipelined round of hk_store_journal_many. Returns HK_E_OK, or
 * HK_E_UNAVAILABLE with err set (the connection dropped after an I/O
 * error). */
static enum hk_err journal_round(struct hk_store *st, struct hk_journal *js,
                                 size_t n, int64_t ttl_s, int64_t now_ms,
                                 struct hk_error *err) {
  const char *sha = script_sha(st, SCRIPT_JOURNAL, err);
  enum hk_err rc = HK_E_OK;
  char at[300];
  if (sha == NULL) {
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < n; i++) {
    append_journal(st, sha, &js[i], ttl_s, now_ms);
  }
  for (size_t i = 0; i < n; i++) {
    void *reply = NULL;
    redisReply *r;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      rc = hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
                   where(st, at, sizeof at), st->c->errstr);
      drop(st);
      break;
    }
    r = reply;
    if (r->type == REDIS_REPLY_INTEGER) {
      js[i].fresh = (size_t)r->integer;
    } else if (rc == HK_E_OK) {
      /* NOSCRIPT after a SCRIPT FLUSH: load it again next time. */
      rc = hk_fail(err, HK_E_UNAVAILABLE, "the journal script failed: %.*s",
                   r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
                   r->type == REDIS_REPLY_ERROR ? r->str : "");
      st->sha[SCRIPT_JOURNAL][0] = '\0';
    }
    freeReplyObject(r);
  }
  return rc;
}

enum hk_err hk_store_journal_many(struct hk_store *st, struct hk_journal *js,
                                  size_t n, int64_t ttl_s, int64_t now_ms,
                                  struct hk_error *err) {
  enum hk_err rc = HK_E_UNAVAILABLE;
  for (size_t i = 0; i < n; i++) {
    js[i].fresh = 0;
    if (js[i].n > HK_CAP_JOURNAL_ITEMS) {
      return hk_fail(err, HK_E_INTERNAL,
                     "a delivery made %zu outcomes, over %u", js[i].n,
                     HK_CAP_JOURNAL_ITEMS);
    }
  }
  if (n == 0) {
    return HK_E_OK;
  }
  /* The journal is idempotent, so a connection that died with a Redis
   * restart can simply be tried once more. */
  for (int attempt = 0; attempt < 2 && rc != HK_E_OK; attempt++) {
    int reused = st->c != NULL;
    if (connect_now(st, err) != HK_E_OK) {
      break;
    }
    rc = journal_round(st, js, n, ttl_s, now_ms, err);
    if (rc != HK_E_OK && (!reused || st->c != NULL)) {
      break;
    }
  }
  return rc;
}

enum hk_err hk_store_journal(struct hk_store *st, const struct hk_entry *e,
                             const struct hk_journal_item *items, size_t n,
                             int64_t ttl_s, int64_t now_ms, size_t *fresh,
                             struct hk_error *err) {
  struct hk_journal j = {e, items, n, 0};
  enum hk_err rc = hk_store_journal_many(st, &j, 1, ttl_s, now_ms, err);
  if (fresh != NULL) {
    *fresh = j.fresh;
  }
  return rc;
}

void hk_letters_fini(struct hk_letters *l) {
  for (size_t i = 0; i < l->n; i++) {
    json_decref(l->items[i].fields);
  }
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

enum hk_err hk_store_dlq_list(struct hk_store *st, const char *start,
                              size_t count, struct hk_letters *out,
                              struct hk_error *err) {
  char key[300];
  char cnt[24];
  const char *argv[6];
  redisReply *r;

  out->items = NULL;
  out->n = 0;
  snprintf(key, sizeof key, "%sdlq", st->conf.prefix);
  snprintf(cnt, sizeof cnt, "%zu", count);
  argv[0] = "XRANGE";
  argv[1] = key;
  argv[2] = start;
  argv[3] = "+";
  argv[4] = "COUNT";
  argv[5] = cnt;
  r = command(st, 6, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
    out->items = hk_xcalloc(r->elements, sizeof *out->items);
  }
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    const redisReply *en = r->element[i];
    struct hk_letter *l;
    if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
        en->element[0]->type != REDIS_REPLY_STRING ||
        en->element[0]->len >= HK_STREAM_ID_MAX ||
        en->element[1]->type != REDIS_REPLY_ARRAY) {
      continue;
    }
    l = &out->items[out->n++];
    memcpy(l->id, en->element[0]->str, en->element[0]->len);
    l->id[en->element[0]->len] = '\0';
    l->fields = json_object();
    for (size_t j = 0; j + 1 < en->element[1]->elements; j += 2) {
      const redisReply *k = en->element[1]->element[j];
      const redisReply *v = en->element[1]->element[j + 1];
      char name[64];
      if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
          k->len >= sizeof name) {
        continue;
      }
      memcpy(name, k->str, k->len);
      name[k->len] = '\0';
      /* Bodies are JSON text but may hold any bytes: json_stringn refuses
       * what is not UTF-8, and such a value is left out. */
      json_object_set_new(l->fields, name, json_stringn(v->str, v->len));
    }
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_dlq_retry(struct hk_store *st, const char *id, int *found,
                               char new_id[HK_STREAM_ID_MAX],
                               struct hk_error *err) {
  char dlq[300];
  char alerts[300];
  const char *argv[7];
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  *found = 0;
  new_id[0] = '\0';
  snprintf(dlq, sizeof dlq, "%sdlq", st->conf.prefix);
  snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
  argv[0] = "EVAL";
  argv[1] = retry_lua;
  argv[2] = "3";
  argv[3] = dlq;
  argv[4] = st->stream;
  argv[5] = alerts;
  argv[6] = id;
  r = command(st, 7, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_NIL) {
    rc = HK_E_OK;
  } else if (r->type == REDIS_REPLY_STRING && r->len < HK_STREAM_ID_MAX) {
    memcpy(new_id, r->str, r->len);
    new_id[r->len] = '\0';
    *found = 1;
    rc = HK_E_OK;
  } else {
    hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to the retry script");
  }
  freeReplyObject(r);
  return rc;
}

/* ---------------------------------------------------------------------------
 * SLA clocks
 * ------------------------------------------------------------------------- */

/* Reads the replies of n pipelined commands, handing each to take (which
 * owns it). An error reply among them fails the whole, once all are read;
 * an I/O error drops the connection. Returns HK_E_OK or HK_E_UNAVAILABLE
 * with err set. */
static enum hk_err read_each(struct hk_store *st, size_t n,
                             void (*take)(void *ctx, redisReply *r), void *ctx,
                             struct hk_error *err) {
  int failed = 0;
  char at[300];
  for (size_t i = 0; i < n; i++) {
    void *reply = NULL;
    redisReply *r;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
              where(st, at, sizeof at), st->c->errstr);
      drop(st);
      return HK_E_UNAVAILABLE;
    }
    r = reply;
    if (r->type == REDIS_REPLY_ERROR && !failed) {
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s",
              where(st, at, sizeof at), (int)r->len, r->str);
      failed = 1;
    }
    take(ctx, r);
  }
  return failed ? HK_E_UNAVAILABLE : HK_E_OK;
}

static void keep_last(void *ctx, redisReply *r) {
  redisReply **last = ctx;
  freeReplyObject(*last);
  *last = r;
}

/* Reads the replies of n pipelined commands (read_each): the last reply
 * (caller frees), or NULL with err set on failure. */
static redisReply *replies(struct hk_store *st, size_t n,
                           struct hk_error *err) {
  redisReply *last = NULL;
  if (read_each(st, n, keep_last, &last, err) != HK_E_OK) {
    freeReplyObject(last);
    return NULL;
  }
  return last;
}

enum hk_err hk_store_cas_get(struct hk_store *st, const char *const *keys,
                             const char *const *fields, size_t n, char **out,
                             struct hk_error *err) {
  enum hk_err rc = HK_E_UNAVAILABLE;
  char at[300];

  for (size_t i = 0; i < n; i++) {
    out[i] = NULL;
  }
  if (n == 0) {
    return HK_E_OK;
  }
  /* A connection that died with a Redis restart gets one more try, as in
   * command(). */
  for (int attempt = 0; attempt < 2 && rc != HK_E_OK; attempt++) {
    int reused = st->c != NULL;
    int failed = 0;
    size_t got = 0;
    if (connect_now(st, err) != HK_E_OK) {
      break;
    }
    for (size_t i = 0; i < n; i++) {
      char *key = hk_store_key(st, keys[i]);
      const char *get[] = {"HGET", key, fields[i]};
      redisAppendCommandArgv(st->c, 3, get, NULL);
      free(key);
    }
    for (; got < n; got++) {
      void *reply = NULL;
      redisReply *r;
      if (redisGetReply(st->c, &reply) != REDIS_OK) {
        hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
                where(st, at, sizeof at), st->c->errstr);
        drop(st);
        break;
      }
      r = reply;
      if (r->type == REDIS_REPLY_STRING) {
        out[got] = hk_xstrndup(r->str, r->len);
      } else if (r->type == REDIS_REPLY_ERROR && !failed) {
        /* LOADING, WRONGTYPE…: not "no record yet". */
        hk_fail(err, HK_E_UNAVAILABLE, "redis at %s answered: %.*s",
                where(st, at, sizeof at), (int)r->len, r->str);
        failed = 1;
      }
      freeReplyObject(r);
    }
    if (got == n && failed) {
      for (size_t i = 0; i < n; i++) {
        free(out[i]);
        out[i] = NULL;
      }
      return HK_E_UNAVAILABLE;
    }
    if (got == n) {
      rc = HK_E_OK;
    } else {
      for (size_t i = 0; i < n; i++) {
        free(out[i]);
        out[i] = NULL;
      }
      if (!reused) {
        break;
      }
    }
  }
  return rc;
}

/* Appends the EVALSHA of one put to the connection's output buffer. */
static void append_put(struct hk_store *st, const char *sha,
                       const struct hk_cas_put *p) {
  char *key = hk_store_key(st, p->key);
  char **keys = hk_xcalloc(p->nops + 1, sizeof *keys);
  struct args a = {NULL, NULL, 0, 0};

  arg_str(&a, "EVALSHA");
  arg_str(&a, sha);
  arg_str(&a, "1");
  arg_str(&a, key);
  arg_str(&a, p->field);
  arg_str(&a, p->old != NULL ? p->old : "");
  arg_str(&a, p->record);
  for (size_t i = 0; i < p->nops; i++) {
    const struct hk_store_op *o = &p->ops[i];
    static const char letters[] = "IZRX";
    const char *l = strchr(letters, o->kind);
    keys[i] = hk_store_key(st, o->key);
    arg_add(&a, l != NULL && *l != '\0' ? l : "-", 1);
    arg_str(&a, keys[i]);
    arg_str(&a, o->a);
    arg_str(&a, o->b);
  }
  redisAppendCommandArgv(st->c, (int)a.n, a.v, a.len);
  args_fini(&a);
  for (size_t i = 0; i < p->nops; i++) {
    free(keys[i]);
  }
  free(keys);
  free(key);
}

enum hk_err hk_store_cas_put(struct hk_store *st, const struct hk_cas_put *p,
                             size_t n, int *written, struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  const char *sha;
  char at[300];
  size_t got = 0;

  for (size_t i = 0; i < n; i++) {
    written[i] = 0;
  }
  if (n == 0) {
    return HK_E_OK;
  }
  /* No second try here: a put whose reply was lost may have been written,
   * and the caller finds out by reading the record again. */
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  sha = script_sha(st, SCRIPT_CAS_PUT, err);
  if (sha == NULL) {
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < n; i++) {
    append_put(st, sha, &p[i]);
  }
  for (; got < n; got++) {
    void *reply = NULL;
    redisReply *r;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      rc = hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
                   where(st, at, sizeof at), st->c->errstr);
      drop(st);
      break;
    }
    r = reply;
    if (r->type == REDIS_REPLY_INTEGER) {
      written[got] = r->integer == 1;
    } else if (rc == HK_E_OK) {
      rc = hk_fail(err, HK_E_UNAVAILABLE, "writing a record: %.*s",
                   r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
                   r->type == REDIS_REPLY_ERROR ? r->str : "");
      st->sha[SCRIPT_CAS_PUT][0] = '\0';
    }
    freeReplyObject(r);
  }
  return rc;
}

void hk_strings_fini(struct hk_strings *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i]);
  }
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* KEYS: the due index of each handoff. ARGV: now, lease until, count, then
 * the handoffs' names. Returns "HANDOFF:SUBJECT" of each member taken. */
static const char due_take_lua[] =
    "local out = {}\n"
    "local left = tonumber(ARGV[3])\n"
    "for k = 1, #KEYS do\n"
    "  if left <= 0 then break end\n"
    "  local m = redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', ARGV[1],\n"
    "    'LIMIT', 0, left)\n"
    "  for _, x in ipairs(m) do\n"
    "    redis.call('ZADD', KEYS[k], ARGV[2], x)\n"
    "    table.insert(out, ARGV[3 + k] .. ':' .. x)\n"
    "  end\n"
    "  left = left - #m\n"
    "end\n"
    "return out\n";

/* KEYS: the due index of each handoff. Returns the earliest score as Redis
 * wrote it (Lua's tostring would round a far-future one to "2e+14"), or
 * false when every index is empty. */
static const char due_next_lua[] =
    "local best, text = false, false\n"
    "for k = 1, #KEYS do\n"
    "  local r = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')\n"
    "  if #r == 2 and (not best or tonumber(r[2]) < best) then\n"
    "    best, text = tonumber(r[2]), r[2]\n"
    "  end\n"
    "end\n"
    "return text\n";

/* The arguments EVAL script NKEYS due:H… then extra, then the names. */
static void due_args(struct hk_store *st, struct args *a, const char *script,
                     const char *const *handoffs, size_t nh, char (*keys)[300],
                     char *nkeys, const char *const *extra, size_t nextra,
                     int names) {
  snprintf(nkeys, 24, "%zu", nh);
  arg_str(a, "EVAL");
  arg_str(a, script);
  arg_str(a, nkeys);
  for (size_t i = 0; i < nh; i++) {
    snprintf(keys[i], sizeof keys[i], "%sdue:%s", st->conf.prefix, handoffs[i]);
    arg_str(a, keys[i]);
  }
  for (size_t i = 0; i < nextra; i++) {
    arg_str(a, extra[i]);
  }
  for (size_t i = 0; names && i < nh; i++) {
    arg_str(a, handoffs[i]);
  }
}

enum hk_err hk_store_due_take(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t now_ms, int64_t lease_ms,
                              size_t count, struct hk_strings *out,
                              struct hk_error *err) {
  char now[24];
  char until[24];
  char cnt[24];
  char nkeys[24];
  char(*keys)[300] = hk_xcalloc(nh + 1, sizeof *keys);
  const char *extra[3] = {now, until, cnt};
  struct args a = {NULL, NULL, 0, 0};
  redisReply *r;
  enum hk_err rc = HK_E_OK;

  out->v = NULL;
  out->n = 0;
  if (nh > 0) {
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(until, sizeof until, "%" PRId64, now_ms + lease_ms);
    snprintf(cnt, sizeof cnt, "%zu", count);
    due_args(st, &a, due_take_lua, handoffs, nh, keys, nkeys, extra, 3, 1);
    r = command(st, (int)a.n, a.v, a.len, err);
    if (r == NULL) {
      rc = HK_E_UNAVAILABLE;
    } else {
      if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        out->v = hk_xcalloc(r->elements, sizeof *out->v);
        for (size_t i = 0; i < r->elements; i++) {
          if (r->element[i]->type == REDIS_REPLY_STRING) {
            out->v[out->n++] =
                hk_xstrndup(r->element[i]->str, r->element[i]->len);
          }
        }
      }
      freeReplyObject(r);
    }
  }
  args_fini(&a);
  free(keys);
  return rc;
}

enum hk_err hk_store_due_next(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t *next_ms,
                              struct hk_error *err) {
  char nkeys[24];
  char(*keys)[300] = hk_xcalloc(nh + 1, sizeof *keys);
  struct args a = {NULL, NULL, 0, 0};
  redisReply *r;
  enum hk_err rc = HK_E_OK;

  *next_ms = HK_STORE_NOT_DUE;
  if (nh > 0) {
    due_args(st, &a, due_next_lua, handoffs, nh, keys, nkeys, NULL, 0, 0);
    r = command(st, (int)a.n, a.v, a.len, err);
    if (r == NULL) {
      rc = HK_E_UNAVAILABLE;
    } else {
      if (r->type == REDIS_REPLY_STRING) {
        *next_ms = strtoll(r->str, NULL, 10);
      }
      freeReplyObject(r);
    }
  }
  args_fini(&a);
  free(keys);
  return rc;
}

enum hk_err hk_store_clocks_scan(struct hk_store *st, const char *handoff,
                                 char cursor[32], size_t count,
                                 struct hk_strings *subjects,
                                 struct hk_strings *records,
                                 struct hk_error *err) {
  /* The hash of a handoff's clock records, one field per subject: a field
   * costs far less memory than a key of its own. */
  char *suffix = hk_xprintf("clocks:%s", handoff);
  char *key = hk_store_key(st, suffix);
  char cnt[24];
  const char *argv[] = {"HSCAN", key, cursor, "COUNT", cnt};

  free(suffix);
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  subjects->v = NULL;
  subjects->n = 0;
  records->v = NULL;
  records->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = command(st, 5, argv, NULL, err);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < 32 &&
        r->element[1]->type == REDIS_REPLY_ARRAY) {
      const redisReply *kv = r->element[1];
      memcpy(cursor, r->element[0]->str, r->element[0]->len);
      cursor[r->element[0]->len] = '\0';
      subjects->v = hk_xcalloc(kv->elements / 2 + 1, sizeof(char *));
      records->v = hk_xcalloc(kv->elements / 2 + 1, sizeof(char *));
      for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        subjects->v[subjects->n++] =
            hk_xstrndup(kv->element[i]->str, kv->element[i]->len);
        records->v[records->n++] =
            hk_xstrndup(kv->element[i + 1]->str, kv->element[i + 1]->len);
      }
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to HSCAN");
    }
    freeReplyObject(r);
  }
  free(key);
  return rc;
}

/* A hash of integer counters as a new object (fields over 127 bytes are
 * left out). */
static json_t *counters_of(const redisReply *r) {
  json_t *o = json_object();
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
       i += 2) {
    char name[128];
    if (r->element[i]->type != REDIS_REPLY_STRING ||
        r->element[i]->len >= sizeof name ||
        r->element[i + 1]->type != REDIS_REPLY_STRING) {
      continue;
    }
    memcpy(name, r->element[i]->str, r->element[i]->len);
    name[r->element[i]->len] = '\0';
    json_object_set_new(
        o, name, json_integer(strtoll(r->element[i + 1]->str, NULL, 10)));
  }
  return o;
}

enum hk_err hk_store_metrics(struct hk_store *st, const char *const *handoffs,
                             size_t nh, json_t **out, struct hk_error *err) {
  struct hk_queue_stats q;
  char key[300];
  const char *names[3] = {"stats", "counts", "intake:counts"};
  const char *fields[3] = {"stats", "counts", "intake"};
  json_t *doc;
  json_t *hs;
  enum hk_err rc;

  *out = NULL;
  rc = hk_store_queue_stats(st, &q, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  doc = json_pack("{s:{s:I,s:I,s:I,s:I,s:I}}", "queue", "length",
                  (json_int_t)q.length, "pending", (json_int_t)q.pending, "lag",
                  (json_int_t)q.lag, "processed", (json_int_t)q.processed,
                  "consumers", (json_int_t)q.consumers);
  for (size_t i = 0; rc == HK_E_OK && i < 3; i++) {
    const char *argv[] = {"HGETALL", key};
    redisReply *r;
    snprintf(key, sizeof key, "%s%s", st->conf.prefix, names[i]);
    r = command(st, 2, argv, NULL, err);
    if (r == NULL) {
      rc = HK_E_UNAVAILABLE;
    } else {
      json_object_set_new(doc, fields[i], counters_of(r));
      freeReplyObject(r);
    }
  }
  hs = json_object();
  for (size_t i = 0; rc == HK_E_OK && i < nh; i++) {
    json_t *c = NULL;
    rc = hk_store_counters(st, handoffs[i], &c, err);
    if (rc == HK_E_OK) {
      json_object_set_new(hs, handoffs[i], c);
    }
  }
  json_object_set_new(doc, "handoffs", hs);
  if (rc == HK_E_OK) {
    *out = doc;
  } else {
    json_decref(doc);
  }
  return rc;
}

enum hk_err hk_store_count_request(struct hk_store *st, const char *source,
                                   int status, struct hk_error *err) {
  char field[128];
  const char *argv[] = {"HINCRBY", st->intake_counts, field, "1"};
  redisReply *r;
  snprintf(field, sizeof field, "%s %d", source, status);
  r = command(st, 4, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_stats_add(struct hk_store *st, const char *const *fields,
                               const int64_t *by, size_t n,
                               struct hk_error *err) {
  redisReply *r;
  if (n == 0) {
    return HK_E_OK;
  }
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < n; i++) {
    char amount[24];
    const char *argv[] = {"HINCRBY", st->stats, fields[i], amount};
    snprintf(amount, sizeof amount, "%" PRId64, by[i]);
    redisAppendCommandArgv(st->c, 4, argv, NULL);
  }
  r = replies(st, n, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

static void add_counters(void *ctx, redisReply *r) {
  json_array_append_new(ctx, counters_of(r));
  freeReplyObject(r);
}

enum hk_err hk_store_hashes(struct hk_store *st, const char *const *keys,
                            size_t n, json_t **out, struct hk_error *err) {
  json_t *all = json_array();

  *out = NULL;
  if (n > 0 && connect_now(st, err) != HK_E_OK) {
    json_decref(all);
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < n; i++) {
    char *key = hk_store_key(st, keys[i]);
    const char *argv[] = {"HGETALL", key};
    redisAppendCommandArgv(st->c, 2, argv, NULL);
    free(key);
  }
  if (read_each(st, n, add_counters, all, err) != HK_E_OK) {
    json_decref(all);
    return HK_E_UNAVAILABLE;
  }
  *out = all;
  return HK_E_OK;
}

/* One command over n keys (without the prefix), each followed by its
 * value when values is not NULL: MSET, UNLINK. */
static enum hk_err keys_command(struct hk_store *st, const char *verb,
                                const char *const *keys,
                                const char *const *values, size_t n,
                                struct hk_error *err) {
  struct args a = {NULL, NULL, 0, 0};
  char **owned = hk_xcalloc(n + 1, sizeof *owned);
  redisReply *r = NULL;

  arg_str(&a, verb);
  for (size_t i = 0; i < n; i++) {
    owned[i] = hk_store_key(st, keys[i]);
    arg_str(&a, owned[i]);
    if (values != NULL) {
      arg_str(&a, values[i]);
    }
  }
  if (n > 0) {
    r = command(st, (int)a.n, a.v, a.len, err);
  }
  args_fini(&a);
  for (size_t i = 0; i < n; i++) {
    free(owned[i]);
  }
  free(owned);
  if (n > 0 && r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_set_many(struct hk_store *st, const char *const *keys,
                              const char *const *values, size_t n,
                              struct hk_error *err) {
  return keys_command(st, "MSET", keys, values, n, err);
}

enum hk_err hk_store_lock(struct hk_store *st, const char *key,
                          const char *owner, int64_t ttl_ms, int *got,
                          struct hk_error *err) {
  char *k = hk_store_key(st, key);
  char px[24];
  const char *argv[] = {"SET", k, owner, "NX", "PX", px};
  redisReply *r;
  snprintf(px, sizeof px, "%" PRId64, ttl_ms > 0 ? ttl_ms : 1);
  r = command(st, 6, argv, NULL, err);
  free(k);
  *got = 0;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *got = r->type == REDIS_REPLY_STATUS;
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_delete(struct hk_store *st, const char *const *keys,
                            size_t n, struct hk_error *err) {
  return keys_command(st, "UNLINK", keys, NULL, n, err);
}

enum hk_err hk_store_prune_lex(struct hk_store *st, const char *const *keys,
                               size_t n, const char *below,
                               struct hk_error *err) {
  size_t blen = strlen(below);
  char *bound = hk_xmalloc(blen + 2);
  redisReply *r;
  bound[0] = '(';
  memcpy(bound + 1, below, blen + 1);
  if (n > 0 && connect_now(st, err) != HK_E_OK) {
    free(bound);
    return HK_E_UNAVAILABLE;
  }
  for (size_t i = 0; i < n; i++) {
    char *key = hk_store_key(st, keys[i]);
    const char *argv[] = {"ZREMRANGEBYLEX", key, "-", bound};
    redisAppendCommandArgv(st->c, 4, argv, NULL);
    free(key);
  }
  free(bound);
  if (n == 0) {
    return HK_E_OK;
  }
  r = replies(st, n, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_counters(struct hk_store *st, const char *handoff,
                              json_t **out, struct hk_error *err) {
  char key[300];
  const char *argv[] = {"HGETALL", key};
  redisReply *r;
  snprintf(key, sizeof key, "%shcount:%s", st->conf.prefix, handoff);
  *out = NULL;
  r = command(st, 2, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *out = counters_of(r);
  freeReplyObject(r);
  {
    /* Every clock is in one state: started is their sum. */
    static const char *const states[] = {"open",     "at_risk",  "paused",
                                         "met",      "breached", "met_late",
                                         "cancelled"};
    json_int_t started = 0;
    for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
      started += json_integer_value(json_object_get(*out, states[i]));
    }
    json_object_set_new(*out, "started", json_integer(started));
  }
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * Alerts
 * ------------------------------------------------------------------------- */

void hk_alert_batch_fini(struct hk_alert_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    free(b->items[i].alert);
  }
  free(b->items);
  b->items = NULL;
  b->n = 0;
}

/* Appends the [id, [k, v…]] entries of an XREADGROUP/XAUTOCLAIM list. */
static void add_alerts(struct hk_alert_batch *b, const redisReply *entries) {
  for (size_t i = 0;
       entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
    const redisReply *e = entries->element[i];
    struct hk_alert_entry *x;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[0]->len >= HK_STREAM_ID_MAX ||
        e->element[1]->type != REDIS_REPLY_ARRAY) {
      continue;
    }
    b->items = hk_xrealloc(b->items, (b->n + 1) * sizeof *b->items);
    x = &b->items[b->n++];
    memset(x, 0, sizeof *x);
    memcpy(x->id, e->element[0]->str, e->element[0]->len);
    for (size_t j = 0; j + 1 < e->element[1]->elements; j += 2) {
      const redisReply *k = e->element[1]->element[j];
      const redisReply *v = e->element[1]->element[j + 1];
      if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
        continue;
      }
      if (strcmp(k->str, "alert") == 0) {
        free(x->alert);
        x->alert = hk_xstrndup(v->str, v->len);
      } else if (strcmp(k->str, "attempt") == 0) {
        x->attempt = atoi(v->str);
      }
    }
    if (x->alert == NULL) {
      x->alert = hk_xstrdup("{}");
    }
  }
}

/* KEYS: retry zset, alerts stream. ARGV: now. Moves due retries. */
static const char alerts_due_lua[] =
    "local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
    "  'LIMIT', 0, 100)\n"
    "for _, x in ipairs(m) do\n"
    "  local bar = string.find(x, '|', 1, true)\n"
    "  redis.call('XADD', KEYS[2], '*', 'alert', string.sub(x, bar + 1),\n"
    "    'attempt', string.sub(x, 1, bar - 1))\n"
    "  redis.call('ZREM', KEYS[1], x)\n"
    "end\n"
    "return #m\n";

enum hk_err hk_store_alerts_read(struct hk_store *st, const char *consumer,
                                 size_t count, int64_t block_ms,
                                 int64_t idle_ms, int64_t now_ms,
                                 struct hk_alert_batch *out,
                                 struct hk_error *err) {
  char alerts[300];
  char retry[300];
  char now[24];
  char cnt[24];
  char blk[24];
  char idle[24];
  redisReply *r;

  out->items = NULL;
  out->n = 0;
  snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
  snprintf(retry, sizeof retry, "%salerts:retry", st->conf.prefix);
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  snprintf(cnt, sizeof cnt, "%zu", count);
  snprintf(blk, sizeof blk, "%" PRId64, block_ms);
  snprintf(idle, sizeof idle, "%" PRId64, idle_ms);
  {
    const char *argv[] = {"XGROUP", "CREATE",  alerts, HK_STORE_ALERT_GROUP,
                          "0",      "MKSTREAM"};
    r = command(st, 6, argv, NULL, err);
    /* BUSYGROUP comes back as an error reply: the group exists. */
    if (r == NULL && st->c == NULL) {
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  {
    const char *argv[] = {"EVAL", alerts_due_lua, "2", retry, alerts, now};
    r = command(st, 6, argv, NULL, err);
    if (r == NULL) {
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  {
    const char *argv[] = {"XAUTOCLAIM", alerts, HK_STORE_ALERT_GROUP,
                          consumer,     idle,   "0-0",
                          "COUNT",      cnt};
    r = command(st, 8, argv, NULL, err);
    if (r == NULL) {
      return HK_E_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
      add_alerts(out, r->element[1]);
    }
    freeReplyObject(r);
  }
  if (out->n == 0) {
    const char *argv[] = {"XREADGROUP", "GROUP", HK_STORE_ALERT_GROUP,
                          consumer,     "COUNT", cnt,
                          "BLOCK",      blk,     "STREAMS",
                          alerts,       ">"};
    r = command(st, 11, argv, NULL, err);
    if (r == NULL) {
      hk_alert_batch_fini(out);
      return HK_E_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2) {
      add_alerts(out, r->element[0]->element[1]);
    }
    freeReplyObject(r);
  }
  return HK_E_OK;
}

/* Runs the n commands of cmds in one MULTI/EXEC. */
static enum hk_err transaction(struct hk_store *st, const char **cmds[],
                               const int *argcs, size_t n,
                               struct hk_error *err) {
  const char *multi[] = {"MULTI"};
  const char *exec[] = {"EXEC"};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  redisAppendCommandArgv(st->c, 1, multi, NULL);
  for (size_t i = 0; i < n; i++) {
    redisAppendCommandArgv(st->c, argcs[i], cmds[i], NULL);
  }
  redisAppendCommandArgv(st->c, 1, exec, NULL);
  r = replies(st, n + 2, err);
  if (r != NULL) {
    rc = r->type == REDIS_REPLY_ARRAY ? HK_E_OK : HK_E_UNAVAILABLE;
    if (rc != HK_E_OK) {
      hk_fail(err, HK_E_UNAVAILABLE, "the transaction was aborted");
    }
    freeReplyObject(r);
  } else if (st->c != NULL) {
    drop(st);
  }
  return rc;
}

enum hk_err hk_store_alert_done(struct hk_store *st, const char *id,
                                struct hk_error *err) {
  char alerts[300];
  const char *xack[] = {"XACK", alerts, HK_STORE_ALERT_GROUP, id};
  const char *xdel[] = {"XDEL", alerts, id};
  const char **cmds[] = {xack, xdel};
  const int argcs[] = {4, 3};
  snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
  return transaction(st, cmds, argcs, 2, err);
}

enum hk_err hk_store_alert_retry(struct hk_store *st,
                                 const struct hk_alert_entry *a, int attempt,
                                 int64_t at_ms, struct hk_error *err) {
  char alerts[300];
  char retry[300];
  char score[24];
  size_t n = strlen(a->alert) + 16;
  char *member = hk_xmalloc(n);
  const char *zadd[] = {"ZADD", retry, score, member};
  const char *xack[] = {"XACK", alerts, HK_STORE_ALERT_GROUP, a->id};
  const char *xdel[] = {"XDEL", alerts, a->id};
  const char **cmds[] = {zadd, xack, xdel};
  const int argcs[] = {4, 4, 3};
  enum hk_err rc;
  snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
  snprintf(retry, sizeof retry, "%salerts:retry", st->conf.prefix);
  snprintf(score, sizeof score, "%" PRId64, at_ms);
  snprintf(member, n, "%d|%s", attempt, a->alert);
  rc = transaction(st, cmds, argcs, 3, err);
  free(member);
  return rc;
}

enum hk_err hk_store_alert_dead(struct hk_store *st,
                                const struct hk_alert_entry *a,
                                const char *reason, int64_t now_ms,
                                struct hk_error *err) {
  char alerts[300];
  char dlq[300];
  char now[24];
  const char *xadd[] = {"XADD",  dlq,         "*",      "kind",
                        "alert", "alert",     a->alert, "reason",
                        reason,  "failed_ms", now};
  const char *xack[] = {"XACK", alerts, HK_STORE_ALERT_GROUP, a->id};
  const char *xdel[] = {"XDEL", alerts, a->id};
  const char **cmds[] = {xadd, xack, xdel};
  const int argcs[] = {11, 4, 3};
  snprintf(alerts, sizeof alerts, "%salerts", st->conf.prefix);
  snprintf(dlq, sizeof dlq, "%sdlq", st->conf.prefix);
  snprintf(now, sizeof now, "%" PRId64, now_ms);
  return transaction(st, cmds, argcs, 3, err);
}

/* ---------------------------------------------------------------------------
 * The connection, for the other files of store/ (store_internal.h)
 * ------------------------------------------------------------------------- */

char *hk_store_key(const struct hk_store *st, const char *suffix) {
  return hk_xprintf("%s%s", st->conf.prefix, suffix);
}

redisReply *hk_store_command(struct hk_store *st, int argc, const char **argv,
                             const size_t *lens, struct hk_error *err) {
  return command(st, argc, argv, lens, err);
}
