/*
 * retention.c -- what keeps Redis bounded: streams trimmed by time
 * (lua/stream_trim.lua), the subjects' histories trimmed and the subjects
 * past the horizon dropped (lua/history_trim.lua, lua/subject_drop.lua),
 * and the forget requests ({prefix}forget) that ctl and the API queue and
 * a worker carries out.
 *
 * What is removed when, and why, is docs/retention.md; the worker's duty
 * that calls these is workers/retention.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

/* A reply {a, b} of two integers. */
static enum hk_err two_ints(redisReply *r, int64_t *a, int64_t *b,
                            const char *what, struct hk_error *err) {
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_INTEGER ||
      r->element[1]->type != REDIS_REPLY_INTEGER) {
    freeReplyObject(r);
    return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to %s", what);
  }
  *a = r->element[0]->integer;
  *b = r->element[1]->integer;
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_trim(struct hk_store *st, const char *stream,
                          int64_t keep_from_ms, size_t chunk, int64_t *removed,
                          int *more, struct hk_error *err) {
  struct hk_args a = {0};
  int64_t m = 0;
  enum hk_err rc;
  *removed = 0;
  *more = 0;
  hk_args_str(&a, "1");
  hk_args_own(&a, hk_store_key(st, stream));
  hk_args_own(&a, hk_xprintf("%" PRId64, keep_from_ms > 0 ? keep_from_ms : 0));
  hk_args_own(&a, hk_xprintf("%zu", chunk > 0 ? chunk : 1));
  rc = two_ints(hk_store_eval(st, HK_SCRIPT_STREAM_TRIM, &a, err), removed, &m,
                "the trim script", err);
  hk_args_fini(&a);
  *more = m != 0;
  return rc;
}

enum hk_err hk_store_stat_get(struct hk_store *st, const char *field,
                              int64_t *ms, struct hk_error *err) {
  const char *argv[] = {"HGET", st->keys.stats, field};
  redisReply *r = hk_store_command(st, 3, argv, NULL, err);
  *ms = 0;
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_STRING) {
    *ms = strtoll(r->str, NULL, 10);
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_subjects_older(struct hk_store *st, int64_t horizon_ms,
                                    size_t count, struct hk_strings *out,
                                    struct hk_error *err) {
  char max[32];
  char cnt[24];
  const char *argv[] = {"ZRANGE",  st->keys.subjects, "-inf", max,
                        "BYSCORE", "LIMIT",           "0",    cnt};
  redisReply *r;
  out->v = NULL;
  out->n = 0;
  snprintf(max, sizeof max, "(%" PRId64, horizon_ms);
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 8, argv, NULL, err);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    hk_resp_strings(r, 0, 1, out);
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_subjects_drop(struct hk_store *st,
                                   const char *const *subjects, size_t n,
                                   int64_t horizon_ms, size_t *dropped,
                                   struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;
  *dropped = 0;
  if (n == 0) {
    return HK_E_OK;
  }
  hk_args_str(&a, "1");
  hk_args_str(&a, st->keys.subjects);
  hk_args_own(&a, hk_keys_fmt(&st->keys, HK_KEYF_JOURNEY, ""));
  hk_args_own(&a, horizon_ms == INT64_MIN ? hk_xstrdup("")
                                          : hk_xprintf("%" PRId64, horizon_ms));
  for (size_t i = 0; i < n; i++) {
    hk_args_str(&a, subjects[i]);
  }
  r = hk_store_eval(st, HK_SCRIPT_SUBJECT_DROP, &a, err);
  hk_args_fini(&a);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_INTEGER) {
      *dropped = (size_t)r->integer;
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to the drop script");
    }
    freeReplyObject(r);
  }
  return rc;
}

enum hk_err hk_store_history_trim(struct hk_store *st, int64_t horizon_ms,
                                  size_t count, size_t *visited,
                                  int64_t *removed, struct hk_error *err) {
  struct hk_args a = {0};
  int64_t v = 0;
  enum hk_err rc;
  hk_args_str(&a, "2");
  hk_args_str(&a, st->keys.subjects);
  hk_args_str(&a, st->keys.stats);
  hk_args_own(&a, hk_keys_fmt(&st->keys, HK_KEYF_JOURNEY, ""));
  hk_args_own(&a, hk_xprintf("%" PRId64, horizon_ms));
  hk_args_own(&a, hk_xprintf("%zu", count > 0 ? count : 1));
  rc = two_ints(hk_store_eval(st, HK_SCRIPT_HISTORY_TRIM, &a, err), &v, removed,
                "the history trim script", err);
  hk_args_fini(&a);
  *visited = (size_t)v;
  return rc;
}

/* Runs "cmd key arg…" (ZREM, XDEL: one key, n arguments), nothing when n
 * is 0. */
static enum hk_err key_args(struct hk_store *st, const char *cmd,
                            const char *key, const char *const *args, size_t n,
                            struct hk_error *err) {
  const char **argv;
  char *k;
  redisReply *r;
  if (n == 0) {
    return HK_E_OK;
  }
  argv = hk_xcalloc(n + 2, sizeof *argv);
  k = hk_store_key(st, key);
  argv[0] = cmd;
  argv[1] = k;
  for (size_t i = 0; i < n; i++) {
    argv[i + 2] = args[i];
  }
  r = hk_store_command(st, (int)n + 2, argv, NULL, err);
  free(k);
  free(argv);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_zrem(struct hk_store *st, const char *key,
                          const char *const *members, size_t n,
                          struct hk_error *err) {
  return key_args(st, "ZREM", key, members, n, err);
}

/* ---------------------------------------------------------------------------
 * Streams by page, and entries removed by id
 * ------------------------------------------------------------------------- */

enum hk_err hk_store_stream_page(struct hk_store *st, const char *stream,
                                 const char *after, size_t count,
                                 struct hk_letters *out, struct hk_error *err) {
  char *k = hk_store_key(st, stream);
  char *start = after != NULL ? hk_xprintf("(%s", after) : hk_xstrdup("-");
  char cnt[24];
  const char *argv[] = {"XRANGE", k, start, "+", "COUNT", cnt};
  redisReply *r;
  out->items = NULL;
  out->n = 0;
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 6, argv, NULL, err);
  free(start);
  free(k);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  hk_resp_letters(r, out);
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_stream_delete(struct hk_store *st, const char *stream,
                                   const char *const *ids, size_t n,
                                   struct hk_error *err) {
  return key_args(st, "XDEL", stream, ids, n, err);
}

/* ---------------------------------------------------------------------------
 * Forget requests
 * ------------------------------------------------------------------------- */

enum hk_err hk_store_forget_ask(struct hk_store *st, const char *subject,
                                const char *by, int64_t now_ms,
                                char id[HK_STREAM_ID_MAX],
                                struct hk_error *err) {
  char *k = hk_store_key(st, HK_KEY_FORGET);
  char at[24];
  const char *argv[] = {"XADD", k, "*", "subject", subject, "by", by, "at", at};
  redisReply *r;
  enum hk_err rc;
  snprintf(at, sizeof at, "%" PRId64, now_ms);
  id[0] = '\0';
  r = hk_store_command(st, 9, argv, NULL, err);
  free(k);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  rc = hk_resp_stream_id(r, id, err);
  freeReplyObject(r);
  return rc;
}

enum hk_err hk_store_forget_done(struct hk_store *st, const char *id,
                                 const char *summary, int64_t keep_s,
                                 struct hk_error *err) {
  char *done = hk_keys_fmt(&st->keys, HK_KEYF_FORGET_DONE, id);
  char *k = hk_store_key(st, HK_KEY_FORGET);
  char ttl[24];
  const char *set[] = {"SET", done, summary, "EX", ttl};
  const char *del[] = {"XDEL", k, id};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;
  snprintf(ttl, sizeof ttl, "%" PRId64, keep_s > 0 ? keep_s : 1);
  r = hk_store_command(st, 5, set, NULL, err);
  if (r != NULL) {
    freeReplyObject(r);
    r = hk_store_command(st, 3, del, NULL, err);
  }
  if (r != NULL) {
    freeReplyObject(r);
    rc = HK_E_OK;
  }
  free(done);
  free(k);
  return rc;
}

enum hk_err hk_store_forget_status(struct hk_store *st, const char *id,
                                   char **summary, int *queued,
                                   struct hk_error *err) {
  char *done = hk_xprintf(HK_KEYF_FORGET_DONE, id);
  size_t len = 0;
  enum hk_err rc = hk_store_get(st, done, summary, &len, err);
  free(done);
  *queued = 0;
  if (rc == HK_E_OK && *summary == NULL) {
    char *k = hk_store_key(st, HK_KEY_FORGET);
    const char *argv[] = {"XRANGE", k, id, id};
    redisReply *r = hk_store_command(st, 4, argv, NULL, err);
    free(k);
    if (r == NULL) {
      return HK_E_UNAVAILABLE;
    }
    *queued = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    freeReplyObject(r);
  }
  return rc;
}

enum hk_err hk_store_intake_settled(struct hk_store *st, const char *id,
                                    int *settled, struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;
  *settled = 0;
  hk_args_str(&a, "1");
  hk_args_str(&a, st->keys.intake);
  hk_args_str(&a, HK_STORE_GROUP);
  hk_args_str(&a, id);
  r = hk_store_eval(st, HK_SCRIPT_INTAKE_SETTLED, &a, err);
  hk_args_fini(&a);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_INTEGER) {
      *settled = r->integer == 1;
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to the settled script");
    }
    freeReplyObject(r);
  }
  return rc;
}
