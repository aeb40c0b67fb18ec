/*
 * cas.c -- the check-and-set rounds of the worker's records, and the
 * changes written with them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/cas.h"

static char *dup0(const char *s) {
  return s != NULL ? hk_xstrdup(s) : NULL;
}

static struct hk_store_op *grow(struct hk_ops *o) {
  if (o->n == o->cap) {
    o->cap = o->cap == 0 ? 16 : o->cap * 2;
    o->v = hk_xrealloc(o->v, o->cap * sizeof *o->v);
    o->by = hk_xrealloc(o->by, o->cap * sizeof *o->by);
  }
  o->by[o->n] = 0;
  return &o->v[o->n++];
}

void hk_ops_incr(struct hk_ops *o, const char *key, const char *field,
                 int64_t by) {
  struct hk_store_op *op;
  for (size_t i = 0; i < o->n; i++) {
    if (o->v[i].kind == 'I' && o->v[i].b == NULL &&
        strcmp(o->v[i].key, key) == 0 && strcmp(o->v[i].a, field) == 0) {
      o->by[i] += by;
      return;
    }
  }
  op = grow(o);
  *op = (struct hk_store_op){'I', hk_xstrdup(key), hk_xstrdup(field), NULL};
  o->by[o->n - 1] = by;
}

void hk_ops_add(struct hk_ops *o, char kind, const char *key, const char *a,
                const char *b) {
  struct hk_store_op *op = grow(o);
  /* Counters go through hk_ops_incr, which merges them. */
  *op = (struct hk_store_op){kind, hk_xstrdup(key), dup0(a), dup0(b)};
}

static void op_free(struct hk_store_op *op) {
  free(op->key);
  free(op->a);
  free(op->b);
}

void hk_ops_seal(struct hk_ops *o) {
  size_t w = 0;
  for (size_t i = 0; i < o->n; i++) {
    struct hk_store_op op = o->v[i];
    if (op.kind == 'I' && op.b == NULL) {
      char by[24];
      if (o->by[i] == 0) {
        op_free(&op);
        continue;
      }
      snprintf(by, sizeof by, "%" PRId64, o->by[i]);
      op.b = hk_xstrdup(by);
    }
    o->v[w] = op;
    o->by[w] = 0;
    w++;
  }
  o->n = w;
}

size_t hk_ops_count(const struct hk_ops *o, char kind) {
  size_t n = 0;
  for (size_t i = 0; i < o->n; i++) {
    n += o->v[i].kind == kind;
  }
  return n;
}

void hk_ops_fini(struct hk_ops *o) {
  for (size_t i = 0; i < o->n; i++) {
    op_free(&o->v[i]);
  }
  free(o->v);
  free(o->by);
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
                          size_t n, hk_cas_compute_fn fn, void *ctx,
                          struct hk_error *err) {
  const char **ks = hk_xcalloc(n + 1, sizeof *ks);
  const char **fs = hk_xcalloc(n + 1, sizeof *fs);
  char **olds = hk_xcalloc(n + 1, sizeof *olds);
  struct hk_cas_put *puts = hk_xcalloc(n + 1, sizeof *puts);
  struct hk_cas_item **todo = hk_xcalloc(n + 1, sizeof *todo);
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
      fn(ctx, it);
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
