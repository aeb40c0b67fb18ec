/*
 * kpi.h -- internal to workers/: the KPI documents of the status API
 * (journey/kpi.c builds them, purely; kpi_shell.c reads the buckets from
 * Redis, writes the documents, and runs the thread that does it) and the
 * stage records (stages.c).
 */
#ifndef HK_WORKERS_KPI_H
#define HK_WORKERS_KPI_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "workers/workers.h"

/* Reads the buckets of the last 30 days, builds the documents and writes
 * them (the thread also trims, once an hour, the finished clocks' indexes
 * to 90 days and the bucket days out of every window). */
enum hk_err hk_kpi_refresh(const struct hk_config *cfg, struct hk_store *st,
                           int64_t now_ms, struct hk_error *err) HK_MUST_CHECK;

/* The thread that refreshes the documents every every_ms, taking turns
 * with the other worker processes through a lock in Redis. newest(arg)
 * gives the config to use (borrowed; it must stay alive until stop). */
struct hk_kpi_thread;
struct hk_kpi_thread *hk_kpi_start(const struct hk_config *(*newest)(void *),
                                   void *arg, int64_t every_ms,
                                   const char *consumer);
void hk_kpi_stop(struct hk_kpi_thread *t);

/* ---------------------------------------------------------------------------
 * Weekly digests (digest.c)
 * ------------------------------------------------------------------------- */

/* The digests of cfg compiled (a digest whose zone cannot be read is
 * logged and left out). */
struct hk_digests;
struct hk_digests *hk_digests_new(const struct hk_config *cfg);
void hk_digests_free(struct hk_digests *ds);

/* Posts each digest whose period started in the last day and that no
 * worker has posted yet, once per period across every worker (a claim in
 * Redis); the KPI thread calls it after writing the documents. */
void hk_digests_tick(const struct hk_digests *ds, const struct hk_config *cfg,
                     struct hk_store *st, int64_t now_ms);

/* ---------------------------------------------------------------------------
 * Stage records (stages.c)
 * ------------------------------------------------------------------------- */

struct hk_stages;

/* The stages of cfg (borrows nothing). */
struct hk_stages *hk_stages_new(const struct hk_config *cfg);
void hk_stages_free(struct hk_stages *s);

struct hk_cas_item;
struct hk_stages_round;

/*
 * The stage records that n journey events change, with their KPI buckets
 * (store.h, {prefix}stages and skpi:), as check-and-set items appended to
 * *items (of *n, grown), for the caller to settle together with its own
 * (workers/cas.h). Applying the same events again changes nothing; any
 * order gives the same records. s remembers the records it saw, to skip
 * events that cannot change them (one thread's). Returns the round, to end
 * with hk_stages_end once settled (ok: the settle succeeded).
 */
struct hk_stages_round *hk_stages_begin(struct hk_stages *s,
                                        const struct hk_event *const *evs,
                                        size_t nevs, struct hk_cas_item **items,
                                        size_t *n);
void hk_stages_end(struct hk_stages_round *r, int ok);

/*
 * The figures a stage record counts (what the buckets move by), for the
 * tests to check them against records made by hand: a new object STAGE ->
 * {"entered": ms, "moved": ms or absent, "amount_cents": n or absent,
 * "currency": s or absent}. Pure.
 */
json_t *hk_stages_facts(const struct hk_stages *s, const char *record);

#endif
