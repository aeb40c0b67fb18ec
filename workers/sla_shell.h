/*
 * sla_shell.h -- internal to workers/: the Redis side of the SLA engine
 * (sla.c) and the alert sender (deliver.c), used by the worker loop.
 */
#ifndef HK_WORKERS_SLA_SHELL_H
#define HK_WORKERS_SLA_SHELL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "workers/workers.h"

/* How long a worker holds the due clocks it took before another may take
 * them (it died). */
#define HK_SLA_LEASE_MS 30000

struct hk_sla_shell {
  const struct hk_config *cfg; /* borrowed: the notify lists */
  const struct hk_sla *sla;    /* borrowed */
  struct hk_stages *stages;    /* borrowed; may be NULL */
  struct hk_store *st;         /* borrowed */
  size_t alerts_queued;        /* since init */
  int due_upgraded; /* 1 once the due indexes of the layout before buckets
                       were looked for (hk_store_due_upgrade) */
};

/* Borrows everything; nothing to free. */
void hk_sla_shell_init(struct hk_sla_shell *sh, const struct hk_config *cfg,
                       const struct hk_sla *sla, struct hk_stages *stages,
                       struct hk_store *st);

/*
 * Applies n journey events (borrowed) to the clocks of every handoff that
 * listens to their types, and to the stage records of their subjects, as
 * of now_ms: the events of one subject together, two round trips for
 * all. Applying the same events again changes nothing.
 * Returns HK_E_UNAVAILABLE (err set) when Redis failed or a clock stayed
 * contended; the caller leaves the deliveries pending.
 */
enum hk_err hk_sla_shell_apply(struct hk_sla_shell *sh,
                               const struct hk_event *const *evs, size_t n,
                               int64_t now_ms,
                               struct hk_error *err) HK_MUST_CHECK;

/*
 * Re-evaluates the clocks whose warning or deadline came by now_ms (taken
 * from the due index, at most HK_CAP_BATCH), queuing their alerts. *woken
 * counts them.
 */
enum hk_err hk_sla_shell_tick(struct hk_sla_shell *sh, int64_t now_ms,
                              size_t *woken,
                              struct hk_error *err) HK_MUST_CHECK;

/* The earliest instant a clock of the shell's handoffs comes due, or
 * HK_STORE_NOT_DUE. */
enum hk_err hk_sla_shell_next_due(struct hk_sla_shell *sh, int64_t *next_ms,
                                  struct hk_error *err) HK_MUST_CHECK;

/* How hk_sla_shell_erase erases a subject. */
struct hk_erase {
  int buckets;        /* 1: take its figures out of the KPI buckets too (a
                         forget); 0: leave them to go by the day (retention) */
  int64_t horizon_ms; /* INT64_MIN: whatever its age; else a record holding
                         an event at or after it stays */
};

/*
 * Erases the n subjects' clock records in every handoff of the shell and
 * their stage records, by check-and-set, each with what it counts taken
 * out as a record changed to empty takes it: counters, state indexes, due
 * entries and, when how->buckets, KPI buckets. *erased: the records
 * deleted. Erasing again changes nothing.
 */
enum hk_err hk_sla_shell_erase(struct hk_sla_shell *sh,
                               const char *const *subjects, size_t n,
                               const struct hk_erase *how, size_t *erased,
                               struct hk_error *err) HK_MUST_CHECK;

/* The alert sender: a thread of its own, with its own Redis connection. */
struct hk_deliverer;
struct hk_configs;

/* Starts sending the alerts of {prefix}alerts as consumer (copied) of
 * group "notifiers", each with the notifiers of the newest config of cs
 * (configs.h; borrowed: it must outlive the deliverer) and over a
 * connection made from its redis settings. Returns NULL when the thread
 * cannot start. */
struct hk_deliverer *hk_deliverer_start(struct hk_configs *cs,
                                        const char *consumer);

/* Asks the thread to stop after the alert in hand, joins it and frees it.
 * NULL-safe. */
void hk_deliverer_stop(struct hk_deliverer *d);

#endif
