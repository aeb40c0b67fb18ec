/*
 * kpi.c -- what the KPI pass of the workers keeps: hashes of counters read
 * in one pipeline, the status API's documents written at once, the lock
 * that elects the one worker writing them, and the pruning of old buckets
 * and index members. Keys are given without the prefix.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

/* A pipeline of one command per key (without the prefix): verb key, then
 * arg when not NULL. */
struct per_key {
  const char *verb;
  const char *const *keys;
  size_t n;
  const char *arg1;
  const char *arg2;
  void (*take)(void *ctx, redisReply *r);
  void *ctx;
};

static enum hk_err per_key_run(struct hk_store *st, void *ctx,
                               struct hk_error *err) {
  struct per_key *p = ctx;
  for (size_t i = 0; i < p->n; i++) {
    char *key = hk_store_key(st, p->keys[i]);
    const char *argv[] = {p->verb, key, p->arg1, p->arg2};
    enum hk_err rc = hk_store_append(st,
                                     p->arg1 == NULL   ? 2
                                     : p->arg2 == NULL ? 3
                                                       : 4,
                                     argv, NULL, err);
    free(key);
    if (rc != HK_E_OK) {
      return rc;
    }
  }
  return hk_store_read_replies(st, p->n, p->take, p->ctx, err);
}

static void add_counters(void *ctx, redisReply *r) {
  json_array_append_new(ctx, hk_resp_counters(r));
  freeReplyObject(r);
}

enum hk_err hk_store_hashes(struct hk_store *st, const char *const *keys,
                            size_t n, json_t **out, struct hk_error *err) {
  json_t *all = json_array();
  struct per_key p = {"HGETALL", keys, n, NULL, NULL, add_counters, all};
  *out = NULL;
  if (n > 0 && hk_store_round(st, HK_RETRY, per_key_run, &p, err) != HK_E_OK) {
    json_decref(all);
    return HK_E_UNAVAILABLE;
  }
  *out = all;
  return HK_E_OK;
}

enum hk_err hk_store_prune_lex(struct hk_store *st, const char *const *keys,
                               size_t n, const char *below,
                               struct hk_error *err) {
  char *bound = hk_xprintf("(%s", below);
  struct per_key p = {"ZREMRANGEBYLEX", keys, n, "-", bound, NULL, NULL};
  enum hk_err rc = HK_E_OK;
  if (n > 0) {
    rc = hk_store_round(st, HK_ONCE, per_key_run, &p, err);
  }
  free(bound);
  return rc;
}

/* One command over n keys (without the prefix), each followed by its
 * value when values is not NULL: MSET, UNLINK. */
static enum hk_err keys_command(struct hk_store *st, const char *verb,
                                const char *const *keys,
                                const char *const *values, size_t n,
                                struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;

  if (n == 0) {
    return HK_E_OK;
  }
  hk_args_str(&a, verb);
  for (size_t i = 0; i < n; i++) {
    hk_args_own(&a, hk_store_key(st, keys[i]));
    if (values != NULL) {
      hk_args_str(&a, values[i]);
    }
  }
  r = hk_store_command(st, (int)a.n, a.v, a.len, err);
  hk_args_fini(&a);
  if (r == NULL) {
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

enum hk_err hk_store_delete(struct hk_store *st, const char *const *keys,
                            size_t n, struct hk_error *err) {
  return keys_command(st, "UNLINK", keys, NULL, n, err);
}

enum hk_err hk_store_lock(struct hk_store *st, const char *key,
                          const char *owner, int64_t ttl_ms, int *got,
                          struct hk_error *err) {
  char *k = hk_store_key(st, key);
  char px[24];
  const char *argv[] = {"SET", k, owner, "NX", "PX", px};
  redisReply *r;
  snprintf(px, sizeof px, "%" PRId64, ttl_ms > 0 ? ttl_ms : 1);
  r = hk_store_command(st, 6, argv, NULL, err);
  free(k);
  *got = 0;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  *got = r->type == REDIS_REPLY_STATUS;
  freeReplyObject(r);
  return HK_E_OK;
}

/* ---------------------------------------------------------------------------
 * Digests: {prefix}digest:NAME:PERIOD_MS says where one period's digest
 * stands ("sending" while a worker posts it, "sent" for a week and a day
 * after, "retry" until the backoff is over); {prefix}digest:NAME:last is
 * the snapshot of the last one posted.
 * ------------------------------------------------------------------------- */

static char *digest_key(const char *name, int64_t period_ms) {
  return hk_xprintf(HK_KEYF_DIGEST, name, period_ms);
}

enum hk_err hk_store_digest_claim(struct hk_store *st, const char *name,
                                  int64_t period_ms, int64_t lease_ms, int *got,
                                  struct hk_error *err) {
  char *k = digest_key(name, period_ms);
  enum hk_err rc = hk_store_lock(st, k, "sending", lease_ms, got, err);
  free(k);
  return rc;
}

enum hk_err hk_store_digest_settle(struct hk_store *st, const char *name,
                                   int64_t period_ms, int sent, int64_t ttl_ms,
                                   struct hk_error *err) {
  char *key = digest_key(name, period_ms);
  char *k = hk_store_key(st, key);
  char px[24];
  const char *argv[] = {"SET", k, sent ? "sent" : "retry", "PX", px};
  redisReply *r;
  snprintf(px, sizeof px, "%" PRId64, ttl_ms > 0 ? ttl_ms : 1);
  r = hk_store_command(st, 5, argv, NULL, err);
  free(k);
  free(key);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_digest_last(struct hk_store *st, const char *name,
                                 char **text, struct hk_error *err) {
  char *key = hk_xprintf(HK_KEYF_DIGEST_LAST, name);
  size_t len;
  enum hk_err rc = hk_store_get(st, key, text, &len, err);
  free(key);
  return rc;
}

enum hk_err hk_store_digest_keep(struct hk_store *st, const char *name,
                                 const char *text, struct hk_error *err) {
  char *key = hk_xprintf(HK_KEYF_DIGEST_LAST, name);
  const char *keys[] = {key};
  const char *values[] = {text};
  enum hk_err rc = hk_store_set_many(st, keys, values, 1, err);
  free(key);
  return rc;
}
