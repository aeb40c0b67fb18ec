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

#include "store/store.h"

struct hk_store {
  struct hk_redis_conf conf; /* strings owned */
  redisContext *c;
  char stream[256];
  char stats[256];
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
  return st;
}

static void drop(struct hk_store *st) {
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
    xadd_args(st, items[i]->d, received, signed_at, argv, lens);
    if (redisAppendCommandArgv(st->c, XADD_ARGC, argv, lens) != REDIS_OK) {
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

enum hk_err hk_store_ack(struct hk_store *st, const char *id,
                         struct hk_error *err) {
  /* XACK and the counter in one MULTI so the count matches the acks. */
  const char *multi[] = {"MULTI"};
  const char *xack[] = {"XACK", st->stream, HK_STORE_GROUP, id};
  const char *incr[] = {"HINCRBY", st->stats, "processed", "1"};
  const char *exec[] = {"EXEC"};
  redisReply *r;
  if (connect_now(st, err) != HK_E_OK) {
    return HK_E_UNAVAILABLE;
  }
  redisAppendCommandArgv(st->c, 1, multi, NULL);
  redisAppendCommandArgv(st->c, 4, xack, NULL);
  redisAppendCommandArgv(st->c, 4, incr, NULL);
  redisAppendCommandArgv(st->c, 1, exec, NULL);
  for (int i = 0; i < 4; i++) {
    void *reply = NULL;
    if (redisGetReply(st->c, &reply) != REDIS_OK) {
      char at[300];
      hk_fail(err, HK_E_UNAVAILABLE, "redis at %s: %s",
              where(st, at, sizeof at), st->c->errstr);
      drop(st);
      return HK_E_UNAVAILABLE;
    }
    r = reply;
    if (r->type == REDIS_REPLY_ERROR) {
      hk_fail(err, HK_E_UNAVAILABLE, "acknowledging %s: %.*s", id, (int)r->len,
              r->str);
      freeReplyObject(r);
      /* The remaining replies are unread: the connection is out of step,
       * so it goes. */
      drop(st);
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
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
    return hk_store_ping(st, err);
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
