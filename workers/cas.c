/*
 * cas.c -- the check-and-set rounds of the worker's records, and the
 * changes written with them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/cas.h"

#define NONE SIZE_MAX

/* Copies str into the arena; its offset. */
static size_t keep(struct hk_ops *o, const char *str) {
  size_t len;
  size_t at;
  if (str == NULL) {
    return NONE;
  }
  len = strlen(str) + 1;
  if (o->used + len > o->size) {
    o->size = (o->used + len) * 2 + 256;
    o->buf = hk_xrealloc(o->buf, o->size);
  }
  at = o->used;
  memcpy(o->buf + at, str, len);
  o->used += len;
  return at;
}

static size_t grow(struct hk_ops *o, char kind) {
  if (o->n == o->cap) {
    o->cap = o->cap == 0 ? 16 : o->cap * 2;
    o->v = hk_xrealloc(o->v, o->cap * sizeof *o->v);
    o->off = hk_xrealloc(o->off, o->cap * sizeof *o->off);
    o->by = hk_xrealloc(o->by, o->cap * sizeof *o->by);
  }
  memset(&o->v[o->n], 0, sizeof o->v[o->n]);
  o->v[o->n].kind = kind;
  o->by[o->n] = 0;
  return o->n++;
}

void hk_ops_incr(struct hk_ops *o, const char *key, const char *field,
                 int64_t by) {
  size_t i;
  for (i = 0; i < o->n; i++) {
    if (o->v[i].kind == 'I' && strcmp(o->buf + o->off[i][0], key) == 0 &&
        strcmp(o->buf + o->off[i][1], field) == 0) {
      o->by[i] += by;
      return;
    }
  }
  i = grow(o, 'I');
  o->off[i][0] = keep(o, key);
  o->off[i][1] = keep(o, field);
  o->off[i][2] = NONE;
  o->by[i] = by;
}

void hk_ops_add(struct hk_ops *o, char kind, const char *key, const char *a,
                const char *b) {
  /* Counters go through hk_ops_incr, which merges them. */
  size_t i = grow(o, kind);
  o->off[i][0] = keep(o, key);
  o->off[i][1] = keep(o, a);
  o->off[i][2] = keep(o, b);
}

void hk_ops_seal(struct hk_ops *o) {
  size_t w = 0;
  for (size_t i = 0; i < o->n; i++) {
    if (o->v[i].kind == 'I') {
      char by[24];
      if (o->by[i] == 0) {
        continue;
      }
      snprintf(by, sizeof by, "%" PRId64, o->by[i]);
      o->off[i][2] = keep(o, by);
    }
    o->v[w] = o->v[i];
    memcpy(o->off[w], o->off[i], sizeof o->off[i]);
    w++;
  }
  o->n = w;
  /* The arena is final now: point at it. */
  for (size_t i = 0; i < o->n; i++) {
    o->v[i].key = o->buf + o->off[i][0];
    o->v[i].a = o->off[i][1] != NONE ? o->buf + o->off[i][1] : NULL;
    o->v[i].b = o->off[i][2] != NONE ? o->buf + o->off[i][2] : NULL;
  }
}

size_t hk_ops_count(const struct hk_ops *o, char kind) {
  size_t n = 0;
  for (size_t i = 0; i < o->n; i++) {
    n += o->v[i].kind == kind;
  }
  return n;
}

void hk_ops_fini(struct hk_ops *o) {
  free(o->v);
  free(o->off);
  free(o->by);
  free(o->buf);
  memset(o, 0, sizeof *o);
}

static void item_reset(struct hk_cas_item *it) {
  free(it->old);
  free(it->record);
  hk_ops_fini(&it->ops);
  it->old = NULL;
  it->record = NULL;
}

void hk_cas_items_fini(struct hk_cas_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    item_reset(&items[i]);
  }
}

enum hk_err hk_cas_settle(struct hk_store *st, struct hk_cas_item *items,
                          size_t n, struct hk_error *err) {
  const char **ks = hk_xcalloc(n + 1, sizeof *ks);
  const char **fs = hk_xcalloc(n + 1, sizeof *fs);
  char **olds = hk_xcalloc(n + 1, sizeof *olds);
  struct hk_cas_put *puts = hk_xcalloc(n + 1, sizeof *puts);
  struct hk_cas_item **todo = hk_xcalloc(n + 1, sizeof(struct hk_cas_item *));
  int *written = hk_xcalloc(n + 1, sizeof *written);
  enum hk_err rc = HK_E_OK;
  int tries = 0;

  for (;;) {
    size_t m = 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
      if (!items[i].done) {
        item_reset(&items[i]);
        todo[m] = &items[i];
        ks[m] = items[i].key;
        fs[m] = items[i].field;
        m++;
      }
    }
    if (m == 0) {
      break;
    }
    if (tries++ == HK_CAS_TRIES) {
      rc = hk_fail(err, HK_E_UNAVAILABLE,
                   "%zu records changed under %d tries in a row", m,
                   HK_CAS_TRIES);
      break;
    }
    rc = hk_store_cas_get(st, ks, fs, m, olds, err);
    if (rc != HK_E_OK) {
      break;
    }
    for (size_t i = 0; i < m; i++) {
      struct hk_cas_item *it = todo[i];
      it->old = olds[i];
      it->fn(it->ctx, it);
      if (it->record == NULL) {
        it->done = 1; /* nothing new */
        continue;
      }
      hk_ops_seal(&it->ops);
      puts[w] = (struct hk_cas_put){it->key,    it->field, it->old,
                                    it->record, it->ops.v, it->ops.n};
      todo[w++] = it;
    }
    rc = hk_store_cas_put(st, puts, w, written, err);
    if (rc != HK_E_OK) {
      break;
    }
    for (size_t i = 0; i < w; i++) {
      if (written[i]) {
        todo[i]->done = 1;
        todo[i]->written = 1;
      }
    }
  }
  free(written);
  free(todo);
  free(puts);
  free(olds);
  free(fs);
  free(ks);
  return rc;
}
