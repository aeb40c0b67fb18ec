/*
 * read.c -- the reads of the status API: the documents the workers write,
 * and pages of the clock indexes.
 *
 * Read-only and one round trip each, on the connection of conn.c
 * (store_internal.h). Records by field are read with hk_store_cas_get.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

enum hk_err hk_store_get(struct hk_store *st, const char *key, char **out,
                         size_t *len, struct hk_error *err) {
  char *k = hk_store_key(st, key);
  const char *argv[] = {"GET", k};
  redisReply *r = hk_store_command(st, 2, argv, NULL, err);
  enum hk_err rc = HK_E_UNAVAILABLE;

  *out = NULL;
  *len = 0;
  if (r != NULL) {
    if (r->type == REDIS_REPLY_STRING) {
      *out = hk_xstrndup(r->str, r->len);
      *len = r->len;
      rc = HK_E_OK;
    } else if (r->type == REDIS_REPLY_NIL) {
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "%s is not a string", k);
    }
    freeReplyObject(r);
  }
  free(k);
  return rc;
}

enum hk_err hk_store_zrange_score(struct hk_store *st, const char *key,
                                  int64_t min_score, size_t offset,
                                  size_t count, struct hk_strings *members,
                                  struct hk_strings *scores,
                                  struct hk_error *err) {
  char *k = hk_store_key(st, key);
  char min[24];
  char off[24];
  char cnt[24];
  const char *argv[] = {"ZRANGE", k,   min, "+inf",      "BYSCORE",
                        "LIMIT",  off, cnt, "WITHSCORES"};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  members->v = NULL;
  members->n = 0;
  scores->v = NULL;
  scores->n = 0;
  if (min_score == INT64_MIN) {
    snprintf(min, sizeof min, "-inf");
  } else {
    snprintf(min, sizeof min, "%" PRId64, min_score);
  }
  snprintf(off, sizeof off, "%zu", offset);
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 9, argv, NULL, err);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0) {
      hk_resp_strings(r, 0, 2, members);
      hk_resp_strings(r, 1, 2, scores);
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to ZRANGE BYSCORE");
    }
    freeReplyObject(r);
  }
  free(k);
  return rc;
}

enum hk_err hk_store_zrange_lex_rev(struct hk_store *st, const char *key,
                                    const char *below, size_t count,
                                    struct hk_strings *out,
                                    struct hk_error *err) {
  char *k = hk_store_key(st, key);
  char cnt[24];
  char *max = NULL;
  const char *argv[] = {"ZRANGE", k,       "+", "-", "BYLEX",
                        "REV",    "LIMIT", "0", cnt};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  out->v = NULL;
  out->n = 0;
  if (below != NULL) {
    size_t n = strlen(below) + 2;
    max = hk_xmalloc(n);
    snprintf(max, n, "(%s", below);
    argv[2] = max;
  }
  snprintf(cnt, sizeof cnt, "%zu", count);
  r = hk_store_command(st, 9, argv, NULL, err);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_ARRAY) {
      hk_resp_strings(r, 0, 1, out);
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to ZRANGE BYLEX");
    }
    freeReplyObject(r);
  }
  free(max);
  free(k);
  return rc;
}

/* Reverses a list in place. */
static void strings_reverse(struct hk_strings *s) {
  for (size_t i = 0; i < s->n / 2; i++) {
    char *t = s->v[i];
    s->v[i] = s->v[s->n - 1 - i];
    s->v[s->n - 1 - i] = t;
  }
}

enum hk_err hk_store_journey(struct hk_store *st, const char *subject,
                             struct hk_strings *members,
                             struct hk_strings *scores, struct hk_error *err) {
  char *k = hk_keys_fmt(&st->keys, HK_KEYF_JOURNEY, subject);
  char cnt[24];
  const char *argv[] = {"ZRANGE", k,       "+inf", "-inf", "BYSCORE",
                        "REV",    "LIMIT", "0",    cnt,    "WITHSCORES"};
  redisReply *r;
  enum hk_err rc = HK_E_UNAVAILABLE;

  members->v = NULL;
  members->n = 0;
  scores->v = NULL;
  scores->n = 0;
  snprintf(cnt, sizeof cnt, "%u", HK_CAP_JOURNEY);
  r = hk_store_command(st, 10, argv, NULL, err);
  if (r != NULL) {
    if (r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0) {
      hk_resp_strings(r, 0, 2, members);
      hk_resp_strings(r, 1, 2, scores);
      strings_reverse(members);
      strings_reverse(scores);
      rc = HK_E_OK;
    } else {
      hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to ZRANGE REV");
    }
    freeReplyObject(r);
  }
  free(k);
  return rc;
}
