/*
 * clocks.c -- the SLA clocks: records changed by check-and-set
 * (hk_store_cas_get, hk_store_cas_put with lua/cas_put.lua), the due
 * indexes (lua/due_take.lua, lua/due_next.lua), pages of a handoff's
 * records, and its counters. The design is in store.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

void hk_strings_fini(struct hk_strings *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i]);
  }
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* ---------------------------------------------------------------------------
 * Check-and-set
 * ------------------------------------------------------------------------- */

struct cas_get {
  const char *const *keys;
  const char *const *fields;
  size_t n;
  char **out;
  size_t got;
};

static void cas_get_clear(struct cas_get *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->out[i]);
    g->out[i] = NULL;
  }
}

static void cas_get_take(void *ctx, redisReply *r) {
  struct cas_get *g = ctx;
  /* nil: no record yet. An error (LOADING, WRONGTYPE…) fails the whole. */
  if (r->type == REDIS_REPLY_STRING) {
    g->out[g->got] = hk_xstrndup(r->str, r->len);
  }
  g->got++;
  freeReplyObject(r);
}

static enum hk_err cas_get_run(struct hk_store *st, void *ctx,
                               struct hk_error *err) {
  struct cas_get *g = ctx;
  enum hk_err rc;
  g->got = 0;
  cas_get_clear(g);
  for (size_t i = 0; i < g->n; i++) {
    char *key = hk_store_key(st, g->keys[i]);
    const char *get[] = {"HGET", key, g->fields[i]};
    rc = hk_store_append(st, 3, get, NULL, err);
    free(key);
    if (rc != HK_E_OK) {
      return rc;
    }
  }
  rc = hk_store_read_replies(st, g->n, cas_get_take, g, err);
  if (rc != HK_E_OK) {
    cas_get_clear(g);
  }
  return rc;
}

enum hk_err hk_store_cas_get(struct hk_store *st, const char *const *keys,
                             const char *const *fields, size_t n, char **out,
                             struct hk_error *err) {
  struct cas_get g = {keys, fields, n, out, 0};
  for (size_t i = 0; i < n; i++) {
    out[i] = NULL;
  }
  if (n == 0) {
    return HK_E_OK;
  }
  return hk_store_round(st, HK_RETRY, cas_get_run, &g, err);
}

/*
 * A due index is HK_STORE_DUE_BUCKETS small sorted sets, a subject in the
 * one its name hashes to (FNV-1a), and the list of the buckets scored no
 * later than their earliest entry ({prefix}due:HANDOFF:next). A bucket of
 * some hundreds of entries is a listpack (the shipped
 * zset-max-listpack-entries is 1024), about 30 bytes an entry where one
 * big sorted set (a skiplist) takes about 110; the list keeps taking the
 * earliest one read.
 */
static unsigned due_bucket_of(const char *subject) {
  uint32_t h = 2166136261U;
  for (const unsigned char *p = (const unsigned char *)subject; *p != '\0';
       p++) {
    h = (h ^ *p) * 16777619U;
  }
  return h % HK_STORE_DUE_BUCKETS;
}

/* {prefix}due:HANDOFF:N of subject (a new string). */
static char *due_bucket(const struct hk_keys *k, const char *handoff,
                        const char *subject) {
  return hk_keys_fmt(k, HK_KEYF_DUE_BUCKET, handoff, due_bucket_of(subject));
}

struct cas_puts {
  struct hk_store *st;
  const struct hk_cas_put *p;
  int *written;
  int fenced; /* a put was refused: the generation moved on */
};

/* The arguments of one put (lua/cas_put.lua). */
static void cas_put_build(void *ctx, size_t at, struct hk_args *a) {
  const struct cas_puts *all = ctx;
  const struct hk_cas_put *p = &all->p[at];
  static const char letters[] = "IZRXDU";

  hk_args_str(a, all->st->fence_key != NULL ? "2" : "1");
  hk_args_own(a, hk_store_key(all->st, p->key));
  if (all->st->fence_key != NULL) {
    hk_args_str(a, all->st->fence_key);
  }
  hk_args_str(a, p->field);
  hk_args_str(a, p->old != NULL ? p->old : "");
  hk_args_str(a, p->record);
  if (all->st->fence_key != NULL) {
    hk_args_str(a, all->st->fence_gen);
  }
  for (size_t i = 0; i < p->nops; i++) {
    const struct hk_store_op *o = &p->ops[i];
    const char *l = strchr(letters, o->kind);
    hk_args_add(a, l != NULL && *l != '\0' ? l : "-", 1);
    if (o->kind == 'D' || o->kind == 'U') { /* key: the handoff */
      hk_args_own(
          a, due_bucket(&all->st->keys, o->key, o->kind == 'D' ? o->b : o->a));
    } else {
      hk_args_own(a, hk_store_key(all->st, o->key));
    }
    hk_args_str(a, o->a);
    hk_args_str(a, o->b);
  }
}

static void cas_put_take(void *ctx, size_t i, redisReply *r) {
  struct cas_puts *all = ctx;
  all->written[i] = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
    all->fenced = 1;
  }
  freeReplyObject(r);
}

enum hk_err hk_store_cas_put(struct hk_store *st, const struct hk_cas_put *p,
                             size_t n, int *written, struct hk_error *err) {
  struct cas_puts all = {st, p, written, 0};
  enum hk_err rc;
  for (size_t i = 0; i < n; i++) {
    written[i] = 0;
  }
  /* No second try on a new connection: a put whose reply was lost may have
   * been written, and the caller finds out by reading the record again. */
  rc = hk_store_eval_many(st, HK_SCRIPT_CAS_PUT, HK_ONCE, n, cas_put_build,
                          cas_put_take, &all, err);
  if (rc == HK_E_OK && all.fenced) {
    rc = hk_fail(err, HK_E_STALE_CONFIG,
                 "the config generation is no longer %s", st->fence_gen);
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * The due indexes
 * ------------------------------------------------------------------------- */

/* NUMKEYS and the list of buckets of each handoff's due index. */
static void due_keys(const struct hk_store *st, struct hk_args *a,
                     const char *const *handoffs, size_t nh) {
  hk_args_own(a, hk_xprintf("%zu", nh));
  for (size_t i = 0; i < nh; i++) {
    hk_args_own(a, hk_keys_fmt(&st->keys, HK_KEYF_DUE_NEXT, handoffs[i]));
  }
}

void hk_store_due_names(const char *handoff, struct hk_strings *out) {
  out->n = 0;
  out->v = hk_xcalloc(HK_STORE_DUE_BUCKETS + 2, sizeof *out->v);
  out->v[out->n++] = hk_xprintf(HK_KEYF_DUE_NEXT, handoff);
  out->v[out->n++] = hk_xprintf(HK_KEYF_DUE_OLD, handoff);
  for (unsigned b = 0; b < HK_STORE_DUE_BUCKETS; b++) {
    out->v[out->n++] = hk_xprintf(HK_KEYF_DUE_BUCKET, handoff, b);
  }
}

enum hk_err hk_store_due_page(struct hk_store *st, const char *handoff,
                              const int64_t *at, const char *at_member,
                              size_t want, struct hk_strings *members,
                              struct hk_strings *scores, struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  enum hk_err rc = HK_E_OK;

  members->v = NULL;
  members->n = 0;
  scores->v = NULL;
  scores->n = 0;
  hk_args_str(&a, "1");
  hk_args_own(&a, hk_keys_fmt(&st->keys, HK_KEYF_DUE_NEXT, handoff));
  hk_args_str(&a, at != NULL ? "1" : "0");
  hk_args_own(&a, hk_xprintf("%" PRId64, at != NULL ? *at : 0));
  hk_args_str(&a, at != NULL && at_member != NULL ? at_member : "");
  hk_args_own(&a, hk_xprintf("%zu", want > 0 ? want : 1));
  r = hk_store_eval(st, HK_SCRIPT_DUE_PAGE, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0) {
    hk_resp_strings(r, 0, 2, members);
    hk_resp_strings(r, 1, 2, scores);
  } else {
    rc = hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to due_page");
  }
  freeReplyObject(r);
  return rc;
}

#define DUE_OLD_NO_DEADLINE 9007199254740991.0 /* 2^53 - 1 */

enum hk_err hk_store_due_upgrade(struct hk_store *st, const char *handoff,
                                 size_t *moved, struct hk_error *err) {
  char *old = hk_keys_fmt(&st->keys, HK_KEYF_DUE_OLD, handoff);
  enum hk_err rc = HK_E_OK;
  *moved = 0;
  for (;;) {
    const char *argv[] = {"ZRANGE", old, "0", "499", "WITHSCORES"};
    redisReply *r = hk_store_command_raw(st, 5, argv, NULL, err);
    redisReply *got;
    struct hk_args a = {0};
    if (r == NULL) {
      rc = HK_E_UNAVAILABLE;
      break;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
      /* empty, or the key is something else (WRONGTYPE): nothing of the
       * old layout */
      freeReplyObject(r);
      break;
    }
    hk_args_str(&a, "2");
    hk_args_str(&a, old);
    hk_args_own(&a, hk_keys_fmt(&st->keys, HK_KEYF_DUE_NEXT, handoff));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const redisReply *score = r->element[i + 1];
      hk_args_own(&a, hk_xprintf("%u", due_bucket_of(r->element[i]->str)));
      /* An open clock with no deadline was scored 2^53 - 1 in the old
       * layout: it moves as due at once, and the next tick scores it by
       * its start, as the listing orders such clocks. */
      if (strtod(score->str, NULL) >= DUE_OLD_NO_DEADLINE) {
        hk_args_str(&a, "0");
      } else {
        hk_args_add(&a, score->str, score->len);
      }
      hk_args_add(&a, r->element[i]->str, r->element[i]->len);
    }
    got = hk_store_eval(st, HK_SCRIPT_DUE_MOVE, &a, err);
    hk_args_fini(&a);
    freeReplyObject(r);
    if (got == NULL) {
      rc = HK_E_UNAVAILABLE;
      break;
    }
    *moved += got->type == REDIS_REPLY_INTEGER ? (size_t)got->integer : 0;
    freeReplyObject(got);
  }
  free(old);
  return rc;
}

enum hk_err hk_store_due_take(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t now_ms, int64_t lease_ms,
                              size_t count, struct hk_strings *out,
                              struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;

  out->v = NULL;
  out->n = 0;
  if (nh == 0) {
    return HK_E_OK;
  }
  due_keys(st, &a, handoffs, nh);
  hk_args_own(&a, hk_xprintf("%" PRId64, now_ms));
  hk_args_own(&a, hk_xprintf("%" PRId64, now_ms + lease_ms));
  hk_args_own(&a, hk_xprintf("%zu", count));
  for (size_t i = 0; i < nh; i++) {
    hk_args_str(&a, handoffs[i]);
  }
  r = hk_store_eval(st, HK_SCRIPT_DUE_TAKE, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
    out->v = hk_xcalloc(r->elements, sizeof *out->v);
    for (size_t i = 0; i < r->elements; i++) {
      if (r->element[i]->type == REDIS_REPLY_STRING) {
        out->v[out->n++] = hk_xstrndup(r->element[i]->str, r->element[i]->len);
      }
    }
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_due_next(struct hk_store *st, const char *const *handoffs,
                              size_t nh, int64_t *next_ms,
                              struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  enum hk_err rc = HK_E_OK;

  *next_ms = HK_STORE_NOT_DUE;
  if (nh == 0) {
    return HK_E_OK;
  }
  due_keys(st, &a, handoffs, nh);
  r = hk_store_eval(st, HK_SCRIPT_DUE_NEXT, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type != REDIS_REPLY_NIL) {
    rc = hk_resp_score(r, next_ms, err);
  }
  freeReplyObject(r);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Records and counters of a handoff
 * ------------------------------------------------------------------------- */

enum hk_err hk_store_clocks_scan(struct hk_store *st, const char *handoff,
                                 char cursor[32], size_t count,
                                 struct hk_strings *subjects,
                                 struct hk_strings *records,
                                 struct hk_error *err) {
  /* The hash of a handoff's clock records, one field per subject: a field
   * costs far less memory than a key of its own. */
  char *key = hk_keys_fmt(&st->keys, HK_KEYF_CLOCKS, handoff);
  char cnt[24];
  const char *argv[] = {"HSCAN", key, cursor, "COUNT", cnt};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  subjects->v = NULL;
  subjects->n = 0;
  records->v = NULL;
  records->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 5, argv, NULL, err);
  if (r != NULL) {
    rc = hk_resp_scan(r, cursor, subjects, records, err);
    freeReplyObject(r);
  }
  free(key);
  return rc;
}

enum hk_err hk_store_counters(struct hk_store *st, const char *handoff,
                              json_t **out, struct hk_error *err) {
  /* Every clock is in one state: started is their sum. */
  static const char *const states[] = {
      "open", "at_risk", "paused", "met", "breached", "met_late", "cancelled"};
  char *key = hk_keys_fmt(&st->keys, HK_KEYF_HCOUNT, handoff);
  const char *argv[] = {"HGETALL", key};
  redisReply *r = hk_store_command(st, 2, argv, NULL, err);
  json_int_t started = 0;

  free(key);
  *out = NULL;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *out = hk_resp_counters(r);
  freeReplyObject(r);
  for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
    started += json_integer_value(json_object_get(*out, states[i]));
  }
  json_object_set_new(*out, "started", json_integer(started));
  return HK_E_OK;
}
