/*
 * reply.c -- the pure readers of Redis replies (reply.h): reply trees in,
 * the store's structs out. No I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reply.h"

static int is_string(const redisReply *r) {
  return r != NULL &&
         (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static int is_array(const redisReply *r) {
  return r != NULL && r->type == REDIS_REPLY_ARRAY;
}

/* Whether r is a string equal to the NUL-terminated s. */
static int is(const redisReply *r, const char *s) {
  return is_string(r) && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

int hk_resp_parse_int(const char *s, size_t len, int64_t *out) {
  char buf[24];
  char *end = NULL;
  long long v;
  if (len == 0 || len >= sizeof buf) {
    return -1;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  v = strtoll(buf, &end, 10);
  if (errno != 0 || end != buf + len ||
      (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))) {
    return -1;
  }
  *out = (int64_t)v;
  return 0;
}

enum hk_err hk_resp_int(const redisReply *r, int64_t *out,
                        struct hk_error *err) {
  if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
    *out = (int64_t)r->integer;
    return HK_E_OK;
  }
  if (is_string(r) && hk_resp_parse_int(r->str, r->len, out) == 0) {
    return HK_E_OK;
  }
  return hk_fail(err, HK_E_UNAVAILABLE, "redis answered no integer");
}

enum hk_err hk_resp_score(const redisReply *r, int64_t *out,
                          struct hk_error *err) {
  char buf[64];
  char *end = NULL;
  double d;
  if (hk_resp_int(r, out, NULL) == HK_E_OK) {
    return HK_E_OK;
  }
  if (is_string(r) && r->len > 0 && r->len < sizeof buf) {
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    errno = 0;
    d = strtod(buf, &end);
    /* 2^63 is the first double past int64. */
    if (errno == 0 && end == buf + r->len && isfinite(d) &&
        d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      *out = (int64_t)d;
      return HK_E_OK;
    }
  }
  return hk_fail(err, HK_E_UNAVAILABLE, "redis answered no score");
}

enum hk_err hk_resp_stream_id(const redisReply *r, char id[HK_STREAM_ID_MAX],
                              struct hk_error *err) {
  if (r == NULL || r->type != REDIS_REPLY_STRING || r->len == 0 ||
      r->len >= HK_STREAM_ID_MAX) {
    return hk_fail(err, HK_E_UNAVAILABLE, "redis answered no stream id");
  }
  memcpy(id, r->str, r->len);
  id[r->len] = '\0';
  return HK_E_OK;
}

/* Whether e is [id, [k, v…]] with a usable id. */
static int is_entry(const redisReply *e) {
  return is_array(e) && e->elements == 2 &&
         e->element[0]->type == REDIS_REPLY_STRING &&
         e->element[0]->len < HK_STREAM_ID_MAX && is_array(e->element[1]);
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

/* A time field: its integer, 0 when it is not one. */
static int64_t time_of(const redisReply *v) {
  int64_t t = 0;
  if (v->type != REDIS_REPLY_STRING ||
      hk_resp_parse_int(v->str, v->len, &t) != 0) {
    return 0;
  }
  return t;
}

static void add_entry(struct hk_batch *b, const redisReply *e) {
  struct hk_entry *x;
  const redisReply *fields = e->element[1];
  b->items = hk_xrealloc(b->items, (b->n + 1) * sizeof *b->items);
  x = &b->items[b->n++];
  memset(x, 0, sizeof *x);
  memcpy(x->id, e->element[0]->str, e->element[0]->len);
  x->id[e->element[0]->len] = '\0';
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply *k = fields->element[i];
    const redisReply *v = fields->element[i + 1];
    char **slot = NULL;
    if (is(k, "source")) {
      slot = &x->source;
    } else if (is(k, "kind")) {
      slot = &x->kind;
    } else if (is(k, "delivery_id")) {
      slot = &x->delivery_id;
    } else if (is(k, "headers")) {
      slot = &x->headers;
    } else if (is(k, "body")) {
      free(x->body);
      x->body = field_dup(v, &x->body_len);
    } else if (is(k, "received_ms")) {
      x->received_ms = time_of(v);
    } else if (is(k, "signed_ms")) {
      x->signed_ms = time_of(v);
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

void hk_resp_entries(const redisReply *entries, struct hk_batch *b) {
  for (size_t i = 0; is_array(entries) && i < entries->elements; i++) {
    if (is_entry(entries->element[i])) {
      add_entry(b, entries->element[i]);
    }
  }
}

const redisReply *hk_resp_xread(const redisReply *r) {
  if (is_array(r) && r->elements == 1 && is_array(r->element[0]) &&
      r->element[0]->elements == 2 && is_array(r->element[0]->element[1])) {
    return r->element[0]->element[1];
  }
  return NULL;
}

enum hk_err hk_resp_autoclaim(const redisReply *r,
                              char cursor[HK_STREAM_ID_MAX],
                              const redisReply **entries,
                              struct hk_error *err) {
  *entries = NULL;
  if (!is_array(r) || r->elements < 2 || !is_array(r->element[1]) ||
      hk_resp_stream_id(r->element[0], cursor, NULL) != HK_E_OK) {
    return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to XAUTOCLAIM");
  }
  *entries = r->element[1];
  return HK_E_OK;
}

void hk_resp_alerts(const redisReply *entries, struct hk_alert_batch *b) {
  for (size_t i = 0; is_array(entries) && i < entries->elements; i++) {
    const redisReply *e = entries->element[i];
    struct hk_alert_entry *x;
    if (!is_entry(e)) {
      continue;
    }
    b->items = hk_xrealloc(b->items, (b->n + 1) * sizeof *b->items);
    x = &b->items[b->n++];
    memset(x, 0, sizeof *x);
    memcpy(x->id, e->element[0]->str, e->element[0]->len);
    for (size_t j = 0; j + 1 < e->element[1]->elements; j += 2) {
      const redisReply *k = e->element[1]->element[j];
      const redisReply *v = e->element[1]->element[j + 1];
      int64_t attempt = 0;
      if (v->type != REDIS_REPLY_STRING) {
        continue;
      }
      if (is(k, "alert")) {
        free(x->alert);
        x->alert = hk_xstrndup(v->str, v->len);
      } else if (is(k, "attempt") &&
                 hk_resp_parse_int(v->str, v->len, &attempt) == 0 &&
                 attempt >= 0 && attempt <= INT32_MAX) {
        x->attempt = (int)attempt;
      }
    }
    if (x->alert == NULL) {
      x->alert = hk_xstrdup("{}");
    }
  }
}

void hk_resp_letters(const redisReply *r, struct hk_letters *out) {
  out->items = NULL;
  out->n = 0;
  if (!is_array(r) || r->elements == 0) {
    return;
  }
  out->items = hk_xcalloc(r->elements, sizeof *out->items);
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *en = r->element[i];
    struct hk_letter *l;
    if (!is_entry(en)) {
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
}

void hk_resp_groups(const redisReply *r, const char *group,
                    struct hk_queue_stats *out) {
  for (size_t g = 0; is_array(r) && g < r->elements; g++) {
    const redisReply *kv = r->element[g];
    int ours = 0;
    struct hk_queue_stats s = {0, 0, -1, 0, 0, -1, 0, -1, ""};
    if (!is_array(kv)) {
      continue;
    }
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
      const redisReply *k = kv->element[i];
      const redisReply *v = kv->element[i + 1];
      if (is(k, "name")) {
        ours = is(v, group);
      } else if (is(k, "pending") &&
                 hk_resp_int(v, &s.pending, NULL) != HK_E_OK) {
        s.pending = -1;
      } else if (is(k, "lag") && (v->type == REDIS_REPLY_NIL ||
                                  hk_resp_int(v, &s.lag, NULL) != HK_E_OK)) {
        s.lag = -1;
      } else if (is(k, "consumers") &&
                 hk_resp_int(v, &s.consumers, NULL) != HK_E_OK) {
        s.consumers = -1;
      } else if (is(k, "last-delivered-id")) {
        (void)!hk_resp_stream_id(v, s.last_delivered, NULL);
      }
    }
    if (ours) {
      memcpy(out->last_delivered, s.last_delivered, sizeof s.last_delivered);
      out->pending = s.pending;
      out->lag = s.lag;
      out->consumers = s.consumers;
    }
  }
}

json_t *hk_resp_counters(const redisReply *r) {
  json_t *o = json_object();
  for (size_t i = 0; is_array(r) && i + 1 < r->elements; i += 2) {
    const redisReply *k = r->element[i];
    const redisReply *v = r->element[i + 1];
    char name[128];
    int64_t n = 0;
    if (k->type != REDIS_REPLY_STRING || k->len >= sizeof name ||
        v->type != REDIS_REPLY_STRING ||
        hk_resp_parse_int(v->str, v->len, &n) != 0) {
      continue;
    }
    memcpy(name, k->str, k->len);
    name[k->len] = '\0';
    json_object_set_new(o, name, json_integer((json_int_t)n));
  }
  return o;
}

enum hk_err hk_resp_scan(const redisReply *r, char cursor[32],
                         struct hk_strings *fields, struct hk_strings *values,
                         struct hk_error *err) {
  const redisReply *kv;
  fields->v = NULL;
  fields->n = 0;
  values->v = NULL;
  values->n = 0;
  if (!is_array(r) || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 ||
      r->element[0]->len >= 32 || !is_array(r->element[1]) ||
      r->element[1]->elements % 2 != 0) {
    return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to HSCAN");
  }
  kv = r->element[1];
  for (size_t i = 0; i < kv->elements; i++) {
    if (kv->element[i]->type != REDIS_REPLY_STRING) {
      return hk_fail(err, HK_E_UNAVAILABLE, "unexpected reply to HSCAN");
    }
  }
  memcpy(cursor, r->element[0]->str, r->element[0]->len);
  cursor[r->element[0]->len] = '\0';
  fields->v = hk_xcalloc(kv->elements / 2 + 1, sizeof(char *));
  values->v = hk_xcalloc(kv->elements / 2 + 1, sizeof(char *));
  for (size_t i = 0; i + 1 < kv->elements; i += 2) {
    fields->v[fields->n++] =
        hk_xstrndup(kv->element[i]->str, kv->element[i]->len);
    values->v[values->n++] =
        hk_xstrndup(kv->element[i + 1]->str, kv->element[i + 1]->len);
  }
  return HK_E_OK;
}

void hk_resp_strings(const redisReply *r, size_t from, size_t step,
                     struct hk_strings *s) {
  s->v = NULL;
  s->n = 0;
  if (!is_array(r)) {
    return;
  }
  s->v = hk_xcalloc(r->elements / step + 1, sizeof *s->v);
  for (size_t i = from; i < r->elements; i += step) {
    const redisReply *e = r->element[i];
    s->v[s->n++] = e->type == REDIS_REPLY_STRING ? hk_xstrndup(e->str, e->len)
                                                 : hk_xstrdup("");
  }
}

/* The integer of the line "key:VALUE" of an INFO text (lines end in
 * "\r\n"); -1 when there is no such line or no integer on it. */
static int info_int(const char *s, size_t len, const char *key, int64_t *out) {
  size_t klen = strlen(key);
  const char *end = s + len;
  const char *line = s;
  while (line < end) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *stop = nl != NULL ? nl : end;
    if (stop > line && stop[-1] == '\r') {
      stop--;
    }
    if ((size_t)(stop - line) > klen && memcmp(line, key, klen) == 0 &&
        line[klen] == ':') {
      return hk_resp_parse_int(line + klen + 1,
                               (size_t)(stop - line) - klen - 1, out);
    }
    line = nl != NULL ? nl + 1 : end;
  }
  return -1;
}

enum hk_err hk_resp_memory(const redisReply *r, struct hk_store_memory *out,
                           struct hk_error *err) {
  if (!is_string(r) ||
      info_int(r->str, r->len, "used_memory", &out->used) != 0 ||
      info_int(r->str, r->len, "maxmemory", &out->max) != 0 || out->used < 0 ||
      out->max < 0) {
    return hk_fail(err, HK_E_UNAVAILABLE,
                   "INFO memory gave no used_memory and maxmemory");
  }
  return HK_E_OK;
}

int hk_resp_is_oom(const redisReply *r) {
  return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= 4 &&
         memcmp(r->str, "OOM ", 4) == 0;
}
