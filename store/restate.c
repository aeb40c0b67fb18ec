/*
 * restate.c -- the config generation, the restate's marker, its chunks of
 * work, the switch of a shadow onto the live keys (lua/restate_*.lua), and
 * the replay of kept deliveries. The design is in store.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"
#include "store/store_internal.h"

void hk_store_fence(struct hk_store *st, const char *live_prefix, int64_t gen) {
  free(st->fence_key);
  st->fence_key = NULL;
  st->fence_gen[0] = '\0';
  if (gen >= 0) {
    st->fence_key = hk_xprintf("%s" HK_KEY_GEN, live_prefix);
    snprintf(st->fence_gen, sizeof st->fence_gen, "%" PRId64, gen);
  }
}

static int64_t int_of(const redisReply *r) {
  int64_t v = 0;
  if (r->type == REDIS_REPLY_INTEGER) {
    return (int64_t)r->integer;
  }
  if (r->type == REDIS_REPLY_STRING &&
      hk_resp_parse_int(r->str, r->len, &v) == 0) {
    return v;
  }
  return 0;
}

struct poll {
  int64_t gen;
  json_t *marker;
};

static void poll_take(void *ctx, redisReply *r) {
  struct poll *p = ctx;
  if (r->type != REDIS_REPLY_ARRAY) {
    p->gen = int_of(r);
  } else if (r->elements > 0) {
    p->marker = json_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const redisReply *k = r->element[i];
      const redisReply *v = r->element[i + 1];
      char *name = hk_xstrndup(k->str, k->len);
      json_object_set_new(p->marker, name, json_stringn(v->str, v->len));
      free(name);
    }
  }
  freeReplyObject(r);
}

static enum hk_err poll_run(struct hk_store *st, void *ctx,
                            struct hk_error *err) {
  struct poll *p = ctx;
  char *gen = hk_store_key(st, HK_KEY_GEN);
  char *restate = hk_store_key(st, HK_KEY_RESTATE);
  const char *get[] = {"GET", gen};
  const char *all[] = {"HGETALL", restate};
  enum hk_err rc = hk_store_append(st, 2, get, NULL, err);
  if (rc == HK_E_OK) {
    rc = hk_store_append(st, 2, all, NULL, err);
  }
  free(gen);
  free(restate);
  json_decref(p->marker);
  p->marker = NULL;
  p->gen = 0;
  return rc == HK_E_OK ? hk_store_read_replies(st, 2, poll_take, p, err) : rc;
}

enum hk_err hk_store_restate_poll(struct hk_store *st, int64_t *gen,
                                  json_t **marker, struct hk_error *err) {
  struct poll p = {0, NULL};
  enum hk_err rc = hk_store_round(st, HK_RETRY, poll_run, &p, err);
  *gen = p.gen;
  if (rc != HK_E_OK) {
    json_decref(p.marker);
    p.marker = NULL;
  }
  *marker = p.marker;
  return rc;
}

/* Runs script which with keys (suffixes under st's prefix) and ARGV;
 * *out its integer reply, or the reply itself when keep is not NULL. */
static enum hk_err script(struct hk_store *st, enum hk_script which,
                          const char *const *keys, size_t nk,
                          const char *const *argv, size_t na, int64_t *out,
                          redisReply **keep, struct hk_error *err) {
  struct hk_args a = {0};
  redisReply *r;
  hk_args_own(&a, hk_xprintf("%zu", nk));
  for (size_t i = 0; i < nk; i++) {
    hk_args_own(&a, hk_store_key(st, keys[i]));
  }
  for (size_t i = 0; i < na; i++) {
    hk_args_str(&a, argv[i]);
  }
  r = hk_store_eval(st, which, &a, err);
  hk_args_fini(&a);
  if (r == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (out != NULL) {
    *out = int_of(r);
  }
  if (keep != NULL) {
    *keep = r;
  } else {
    freeReplyObject(r);
  }
  return HK_E_OK;
}

enum hk_err hk_store_restate_begin(struct hk_store *st, const char *id,
                                   const char *config_text, int64_t begin_ms,
                                   size_t chunk, int64_t now_ms, int *started,
                                   struct hk_error *err) {
  const char *keys[] = {HK_KEY_RESTATE};
  char b[24], c[24], n[24];
  const char *argv[] = {id, config_text, b, c, n};
  int64_t v = 0;
  enum hk_err rc;
  snprintf(b, sizeof b, "%" PRId64, begin_ms);
  snprintf(c, sizeof c, "%zu", chunk);
  snprintf(n, sizeof n, "%" PRId64, now_ms);
  rc = script(st, HK_SCRIPT_RESTATE_BEGIN, keys, 1, argv, 5, &v, NULL, err);
  *started = rc == HK_E_OK && v == 1;
  return rc;
}

enum hk_err hk_store_restate_take(struct hk_store *st, const char *id,
                                  int64_t now_ms, int64_t lease_ms,
                                  enum hk_restate_work *work, int64_t *chunk,
                                  struct hk_strings *subjects,
                                  struct hk_error *err) {
  const char *keys[] = {HK_KEY_RESTATE, HK_KEY_RESTATE_TODO, HK_KEY_SUBJECTS,
                        HK_KEY_RESTATE_LEASES};
  char n[24], l[24];
  const char *argv[] = {id, n, l};
  redisReply *r = NULL;
  enum hk_err rc;
  snprintf(n, sizeof n, "%" PRId64, now_ms);
  snprintf(l, sizeof l, "%" PRId64, lease_ms);
  subjects->v = NULL;
  subjects->n = 0;
  *work = HK_RESTATE_IDLE;
  *chunk = -1;
  rc = script(st, HK_SCRIPT_RESTATE_TAKE, keys, 4, argv, 3, NULL, &r, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
    freeReplyObject(r);
    return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to restate_take");
  }
  *chunk = int_of(r->element[0]);
  if (*chunk >= 0) {
    *work = HK_RESTATE_CHUNK;
    hk_resp_strings(r, 1, 1, subjects);
  } else if (*chunk == -2) {
    *work = HK_RESTATE_GONE;
  } else if (*chunk == -3) {
    *work = HK_RESTATE_FINISH;
  }
  freeReplyObject(r);
  return HK_E_OK;
}

enum hk_err hk_store_restate_done(struct hk_store *st, const char *id,
                                  int64_t chunk, int64_t subjects,
                                  int64_t events, int64_t now_ms, int *finish,
                                  struct hk_error *err) {
  const char *keys[] = {HK_KEY_RESTATE, HK_KEY_RESTATE_LEASES};
  char k[24], s[24], e[24], n[24];
  const char *argv[] = {id, k, s, e, n};
  int64_t v = 0;
  enum hk_err rc;
  snprintf(k, sizeof k, "%" PRId64, chunk);
  snprintf(s, sizeof s, "%" PRId64, subjects);
  snprintf(e, sizeof e, "%" PRId64, events);
  snprintf(n, sizeof n, "%" PRId64, now_ms);
  rc = script(st, HK_SCRIPT_RESTATE_DONE, keys, 2, argv, 5, &v, NULL, err);
  *finish = rc == HK_E_OK && v == 3;
  return rc;
}

enum hk_err hk_store_restate_state(struct hk_store *st, const char *id,
                                   const char *from, const char *to,
                                   int64_t now_ms, int *moved,
                                   struct hk_error *err) {
  const char *keys[] = {HK_KEY_RESTATE};
  char n[24];
  const char *argv[] = {id, from, to, n};
  int64_t v = 0;
  enum hk_err rc;
  snprintf(n, sizeof n, "%" PRId64, now_ms);
  rc = script(st, HK_SCRIPT_RESTATE_STATE, keys, 1, argv, 4, &v, NULL, err);
  *moved = rc == HK_E_OK && v == 1;
  return rc;
}

struct journeys {
  const char *const *subjects;
  size_t n;
  struct hk_strings *members;
  struct hk_strings *scores;
  size_t got;
};

static void journeys_take(void *ctx, redisReply *r) {
  struct journeys *j = ctx;
  if (j->got < j->n) {
    hk_resp_strings(r, 0, 2, &j->members[j->got]);
    hk_resp_strings(r, 1, 2, &j->scores[j->got]);
  }
  j->got++;
  freeReplyObject(r);
}

static void journeys_clear(struct journeys *j) {
  for (size_t i = 0; i < j->n; i++) {
    hk_strings_fini(&j->members[i]);
    hk_strings_fini(&j->scores[i]);
  }
}

static enum hk_err journeys_run(struct hk_store *st, void *ctx,
                                struct hk_error *err) {
  struct journeys *j = ctx;
  enum hk_err rc = HK_E_OK;
  journeys_clear(j);
  j->got = 0;
  for (size_t i = 0; rc == HK_E_OK && i < j->n; i++) {
    char *suffix = hk_xprintf(HK_KEYF_JOURNEY, j->subjects[i]);
    char *key = hk_store_key(st, suffix);
    const char *argv[] = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    rc = hk_store_append(st, 5, argv, NULL, err);
    free(key);
    free(suffix);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_read_replies(st, j->n, journeys_take, j, err);
  }
  if (rc != HK_E_OK) {
    journeys_clear(j);
  }
  return rc;
}

enum hk_err hk_store_journeys(struct hk_store *st, const char *const *subjects,
                              size_t n, struct hk_strings *members,
                              struct hk_strings *scores, struct hk_error *err) {
  struct journeys j = {subjects, n, members, scores, 0};
  memset(members, 0, n * sizeof *members);
  memset(scores, 0, n * sizeof *scores);
  if (n == 0) {
    return HK_E_OK;
  }
  return hk_store_round(st, HK_RETRY, journeys_run, &j, err);
}

enum hk_err hk_store_scan_all(struct hk_store *st, struct hk_strings *out,
                              struct hk_error *err) {
  char cursor[32] = "0";
  char *match = hk_xprintf("%s*", st->conf.prefix);
  size_t plen = strlen(st->conf.prefix);
  size_t cap = 0;
  enum hk_err rc = HK_E_OK;
  out->v = NULL;
  out->n = 0;
  do {
    const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
    redisReply *r = hk_store_command(st, 6, argv, NULL, err);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[0]->len >= sizeof cursor ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
      rc = r == NULL ? HK_E_UNAVAILABLE
                     : hk_fail(err, HK_E_UNAVAILABLE, "unexpected SCAN reply");
      if (r != NULL) {
        freeReplyObject(r);
      }
      break;
    }
    memcpy(cursor, r->element[0]->str, r->element[0]->len);
    cursor[r->element[0]->len] = '\0';
    for (size_t i = 0; i < r->element[1]->elements; i++) {
      const redisReply *k = r->element[1]->element[i];
      if (k->type != REDIS_REPLY_STRING || k->len < plen) {
        continue;
      }
      if (out->n == cap) {
        cap = cap == 0 ? 256 : cap * 2;
        out->v = hk_xrealloc(out->v, cap * sizeof *out->v);
      }
      out->v[out->n++] = hk_xstrndup(k->str + plen, k->len - plen);
    }
    freeReplyObject(r);
  } while (strcmp(cursor, "0") != 0);
  free(match);
  if (rc != HK_E_OK) {
    hk_strings_fini(out);
  }
  return rc;
}

enum hk_err hk_store_restate_switch(struct hk_store *st, const char *id,
                                    const char *const *suffixes, size_t n,
                                    int64_t *gen, struct hk_error *err) {
  const char *keys[] = {HK_KEY_RESTATE, HK_KEY_GEN};
  const char **argv = hk_xcalloc(n + 3, sizeof *argv);
  char *shadow = hk_xprintf("%s" HK_SHADOW, st->conf.prefix);
  enum hk_err rc;
  argv[0] = id;
  argv[1] = st->conf.prefix;
  argv[2] = shadow;
  for (size_t i = 0; i < n; i++) {
    argv[3 + i] = suffixes[i];
  }
  rc = script(st, HK_SCRIPT_RESTATE_SWITCH, keys, 2, argv, n + 3, gen, NULL,
              err);
  free(shadow);
  free(argv);
  return rc;
}

enum hk_err hk_store_restate_clear(struct hk_store *st, const char *id,
                                   struct hk_error *err) {
  char *key = hk_store_key(st, HK_KEY_RESTATE);
  const char *del[] = {"DEL", key};
  const char *get[] = {"HGET", key, "id"};
  redisReply *r = NULL;
  int ours = 1;
  if (id != NULL) {
    r = hk_store_command(st, 3, get, NULL, err);
    ours =
        r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, id) == 0;
    if (r == NULL) {
      free(key);
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  if (ours) {
    r = hk_store_command(st, 2, del, NULL, err);
    if (r == NULL) {
      free(key);
      return HK_E_UNAVAILABLE;
    }
    freeReplyObject(r);
  }
  free(key);
  return HK_E_OK;
}

/* 1 when e is an entry of strings: [id, [field, value, ...]]. */
static int entry_ok(const redisReply *e) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING ||
      e->element[1]->type != REDIS_REPLY_ARRAY) {
    return 0;
  }
  for (size_t k = 0; k < e->element[1]->elements; k++) {
    if (e->element[1]->element[k]->type != REDIS_REPLY_STRING) {
      return 0;
    }
  }
  return 1;
}

/* The value of field name in an entry's field list, or NULL. */
static const redisReply *field_of(const redisReply *fields, const char *name) {
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply *k = fields->element[i];
    if (k->type == REDIS_REPLY_STRING && strlen(name) == k->len &&
        memcmp(k->str, name, k->len) == 0) {
      return fields->element[i + 1];
    }
  }
  return NULL;
}

/* Copies one page of intake entries (XRANGE reply r); sets next to the id
 * after the last one. Returns the number of entries read. */
static size_t replay_page(struct hk_store *st, const redisReply *r,
                          const char *source, int64_t *copied, int64_t *skipped,
                          char next[HK_STREAM_ID_MAX + 2], struct hk_error *err,
                          enum hk_err *rc) {
  size_t sent = 0;
  for (size_t i = 0; i < r->elements && *rc == HK_E_OK; i++) {
    const redisReply *e = r->element[i];
    const redisReply *f;
    const redisReply *src;
    struct hk_args a = {0};
    if (!entry_ok(e)) {
      (*skipped)++;
      continue;
    }
    f = e->element[1];
    src = field_of(f, "source");
    snprintf(next, HK_STREAM_ID_MAX + 2, "(%.*s", (int)e->element[0]->len,
             e->element[0]->str);
    if (field_of(f, "replay") != NULL || src == NULL ||
        (source != NULL && (src->len != strlen(source) ||
                            memcmp(src->str, source, src->len) != 0))) {
      (*skipped)++;
      continue;
    }
    hk_args_str(&a, "XADD");
    hk_args_str(&a, st->keys.intake);
    hk_args_str(&a, "*");
    for (size_t k = 0; k < f->elements; k++) {
      const redisReply *x = f->element[k];
      hk_args_add(&a, x != NULL ? x->str : "", x != NULL ? x->len : 0);
    }
    hk_args_str(&a, "replay");
    hk_args_add(&a, e->element[0]->str, e->element[0]->len);
    *rc = hk_store_append(st, (int)a.n, a.v, a.len, err);
    hk_args_fini(&a);
    sent++;
  }
  if (*rc == HK_E_OK) {
    *rc = hk_store_read_replies(st, sent, NULL, NULL, err);
  }
  if (*rc == HK_E_OK) {
    *copied += (int64_t)sent;
  }
  return r->elements;
}

enum hk_err hk_store_replay(struct hk_store *st, int64_t start_ms,
                            const char *source, int64_t *copied,
                            int64_t *skipped, struct hk_error *err) {
  char start[HK_STREAM_ID_MAX + 2];
  char end[HK_STREAM_ID_MAX];
  enum hk_err rc = HK_E_OK;
  redisReply *top;
  const char *last[] = {"XREVRANGE", st->keys.intake, "+", "-", "COUNT", "1"};
  *copied = 0;
  *skipped = 0;
  snprintf(start, sizeof start, "%" PRId64 "-0", start_ms);
  /* Only what was there when the replay began: not its own copies. */
  top = hk_store_command(st, 6, last, NULL, err);
  if (top == NULL) {
    return HK_E_UNAVAILABLE;
  }
  if (top->type != REDIS_REPLY_ARRAY || top->elements == 0) {
    freeReplyObject(top);
    return HK_E_OK;
  }
  snprintf(end, sizeof end, "%.*s", (int)top->element[0]->element[0]->len,
           top->element[0]->element[0]->str);
  freeReplyObject(top);
  for (;;) {
    const char *argv[] = {"XRANGE", st->keys.intake, start,
                          end,      "COUNT",         "500"};
    redisReply *r = hk_store_command(st, 6, argv, NULL, err);
    size_t n;
    if (r == NULL) {
      return HK_E_UNAVAILABLE;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
      freeReplyObject(r);
      return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to XRANGE");
    }
    /* The pipeline of copies runs on the connection opened by XRANGE. */
    n = replay_page(st, r, source, copied, skipped, start, err, &rc);
    freeReplyObject(r);
    if (rc != HK_E_OK || n < 500) {
      return rc;
    }
  }
}
