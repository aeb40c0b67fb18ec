/*
 * cas.h -- internal to workers/: records changed by optimistic
 * check-and-set (clock records in sla.c, stage records in stages.c), and
 * the changes written with them (store.h, hk_store_cas_put).
 */
#ifndef HK_WORKERS_CAS_H
#define HK_WORKERS_CAS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The changes that go with one record: counters summed per key and field,
 * other operations as they come. Strings live in one arena, so building a
 * record's changes costs a few allocations, not a few per change; the
 * operations' pointers are set by hk_ops_seal. */
struct hk_ops {
  struct hk_store_op *v;
  size_t (*off)[3]; /* key, a, b in buf; SIZE_MAX: none */
  int64_t *by;      /* the sum of an 'I' op until hk_ops_seal */
  size_t n;
  size_t cap;
  char *buf;
  size_t used;
  size_t size;
};

/* Adds by to field of hash key (merged with an earlier 'I' of both). */
void hk_ops_incr(struct hk_ops *o, const char *key, const char *field,
                 int64_t by);

/* Adds any other operation (b may be NULL). */
void hk_ops_add(struct hk_ops *o, char kind, const char *key, const char *a,
                const char *b);

/* Writes the sums out, drops the counters that sum to 0, and points the
 * operations at their strings. Nothing may be added afterwards. */
void hk_ops_seal(struct hk_ops *o);

/* How many ops of that kind. */
size_t hk_ops_count(const struct hk_ops *o, char kind);

void hk_ops_fini(struct hk_ops *o);

struct hk_cas_item;

/* Computes it->record and it->ops from it->old; leaves it->record NULL
 * when nothing changes. */
typedef void (*hk_cas_compute_fn)(void *ctx, struct hk_cas_item *it);

/* One record a batch touches. */
struct hk_cas_item {
  hk_cas_compute_fn fn; /* how its new record is computed */
  void *ctx;            /* fn's */
  const char *key;      /* without the prefix (borrowed) */
  const char *field;    /* borrowed */
  char *old;            /* the record as read (owned), or NULL */
  char *record;         /* the new one (owned), or NULL when unchanged */
  struct hk_ops ops;
  void *user;  /* the caller's */
  int done;    /* nothing more to do */
  int written; /* record and ops went to Redis */
};

/*
 * Brings every item to its new record: reads the records in one pipeline,
 * computes, writes those that changed in one pipeline, and starts over for
 * those another worker wrote meanwhile. Returns HK_E_UNAVAILABLE when Redis
 * failed or a record stayed contended for HK_CAS_TRIES rounds.
 */
#define HK_CAS_TRIES 32
enum hk_err hk_cas_settle(struct hk_store *st, struct hk_cas_item *items,
                          size_t n, struct hk_error *err) HK_MUST_CHECK;

/* Frees what the items own (not the array). */
void hk_cas_items_fini(struct hk_cas_item *items, size_t n);

#endif
