/*
 * configs.h -- the configs a worker's threads run on, kept while a thread
 * still reads one and freed once none does.
 *
 * A worker starts on the caller's config; each reload (SIGHUP) that
 * compiles publishes a newer one. Every reader (a consumer loop, the KPI
 * thread) holds one generation at a time: it acquires the newest between
 * batches and releases the one it ran on. A config that is neither the
 * newest nor held by anyone is freed at once, so a worker reloaded every
 * hour for a year holds two configs at most per reader, not 8,760.
 *
 * Everything a thread runs on belongs to the generation it holds: the
 * mapping, clocks and stages compiled from it, the notifiers it names, and
 * the Redis connection made from its redis settings (hk_gen_store). A
 * reload that moves Redis, changes its password or prefix, rotates a
 * secret or changes a notifier is picked up by each thread between two
 * batches (two alerts), never in the middle of one.
 * Internal to workers/.
 */
#ifndef HK_WORKERS_CONFIGS_H
#define HK_WORKERS_CONFIGS_H

#include <pthread.h>
#include <stddef.h>

struct hk_config;
struct hk_store;

#define HK_CONFIGS_NONE ((size_t)-1)

struct hk_configs {
  pthread_mutex_t lock;
  const struct hk_config **v; /* v[gen]; NULL once freed */
  struct hk_config **owned;   /* owned[gen]: v[gen] when ours to free */
  size_t *refs;               /* readers holding gen */
  size_t n;                   /* generations published */
};

/* Starts the list on the caller's config, which it never frees. */
void hk_configs_init(struct hk_configs *cs, const struct hk_config *first);
/* Frees every config it owns; no reader may run any more. */
void hk_configs_fini(struct hk_configs *cs);
/* Publishes cfg as the newest; takes ownership of it. Frees the previous
 * newest when no reader holds it. */
void hk_configs_push(struct hk_configs *cs, struct hk_config *cfg);
/* The newest config, held by the caller until hk_configs_release(*gen);
 * *gen receives its generation. Never NULL. */
const struct hk_config *hk_configs_acquire(struct hk_configs *cs, size_t *gen);
/* Drops the caller's hold on gen (HK_CONFIGS_NONE: nothing); frees that
 * config when it was the last hold and a newer one exists. */
void hk_configs_release(struct hk_configs *cs, size_t gen);
/* The generation of the newest config. */
size_t hk_configs_newest(struct hk_configs *cs);
/* How many configs are alive (for tests and the reload log line). */
size_t hk_configs_alive(struct hk_configs *cs);

/* A thread's Redis connection, made from the redis settings of the config
 * generation it belongs to. */
struct hk_gen_store {
  struct hk_store *st; /* NULL before the first follow */
  size_t gen;          /* the generation st was made for */
};

/* Makes s belong to generation gen (whose config is cfg): when it belongs
 * to another, closes it and makes a new one from cfg->redis (connected on
 * first use). Returns 1 when the connection changed, else 0. */
int hk_gen_store_follow(struct hk_gen_store *s, const struct hk_config *cfg,
                        size_t gen);
/* Closes the connection. */
void hk_gen_store_fini(struct hk_gen_store *s);

#endif
