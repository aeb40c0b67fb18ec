/*
 * retention.h -- internal to workers/: the duty that keeps Redis bounded
 * (streams trimmed by time, histories trimmed, subjects past the horizon
 * erased, KPI days past it deleted) and carries out the forget requests.
 * What goes when is docs/retention.md.
 */
#ifndef HK_WORKERS_RETENTION_H
#define HK_WORKERS_RETENTION_H

#include <stdint.h>

#include "store/store.h"
#include "workers/sla_shell.h"

/* How often a pass runs (one worker at a time, through a lock), and how
 * often each loop looks for forget requests. */
#define HK_RETENTION_EVERY_MS 60000
#define HK_FORGET_POLL_MS 1000

/* What one loop keeps of the duty from one turn to the next. */
struct hk_retention {
  int64_t last_pass;  /* monotonic ms of the last pass tried; 0: never */
  int64_t last_poll;  /* monotonic ms of the last look for requests */
  int64_t erase_gen;  /* {prefix}stats erase_gen as last seen */
  int64_t purged_day; /* the horizon's day of this loop's last purge of
                         KPI_DAYS_FAR days (retention.c) */
  int64_t every_ms;   /* HK_RETENTION_EVERY_MS; tests shorten it */
};

/* The lifetimes of cfg, in ms: intake.keep, history.keep, dlq.keep. */
struct hk_keep {
  int64_t intake_ms;
  int64_t history_ms;
  int64_t dlq_ms;
};
void hk_keep_of(const struct hk_config *cfg, struct hk_keep *out);

/*
 * The retention horizon: events older go. min(now_ms, newest_ms) -
 * history_ms, newest_ms being the newest event time journaled (0: none),
 * so history played at an accelerated event time ages with it and one
 * event dated in the future does not wipe the rest. Pure.
 */
int64_t hk_retention_horizon(int64_t now_ms, int64_t newest_ms,
                             int64_t history_ms);

/*
 * The duty, called every turn of a loop: every r->every_ms one pass (when
 * this worker takes the lock), every HK_FORGET_POLL_MS the forget
 * requests. sh is the loop's shell (config, handoffs, stages, store), m
 * its mapper (to find the deliveries that name a subject), owner its
 * consumer name. Logs one line per pass and per request carried out.
 */
enum hk_err hk_retention_duty(struct hk_retention *r, struct hk_sla_shell *sh,
                              const struct hk_mapper *m, const char *owner,
                              struct hk_error *err) HK_MUST_CHECK;

#endif
