/*
 * restate.h -- internal to workers/: a worker loop's part in a restate
 * (handoffctl restate): the shadow it keeps under the new config, the new
 * events it applies there too, and the chunks of history it restates.
 */
#ifndef HK_WORKERS_RESTATE_H
#define HK_WORKERS_RESTATE_H

#include <stdint.h>

#include "store/store.h"
#include "workers/kpi.h"
#include "workers/sla_shell.h"

/* How long a chunk of work is leased (handoffctl sets its size). */
#define HK_RESTATE_LEASE_MS 30000
/* How often a loop looks at the marker and the generation. */
#define HK_RESTATE_POLL_MS 1000

struct hk_restate {
  struct hk_redis_conf redis; /* the live store's (strings owned) */
  char *id;                   /* the restate armed, or NULL */
  struct hk_config *cfg;      /* its config */
  struct hk_sla *sla;
  struct hk_stages *stages;
  struct hk_store *shadow; /* prefix {prefix}restate: */
  struct hk_sla_shell sh;
  int64_t gen;       /* the generation the shadow writes are fenced with */
  int64_t last_poll; /* monotonic ms; 0: never */
  int busy;          /* the last piece of work was a chunk: more may wait */
};

/* Starts with nothing armed; redis is the live store's configuration
 * (copied). */
void hk_restate_init(struct hk_restate *r, const struct hk_redis_conf *redis);
void hk_restate_fini(struct hk_restate *r);

/*
 * At most once per HK_RESTATE_POLL_MS (always when force): reads the
 * generation into *gen and the marker, arms the shadow of a new restate
 * (fenced with *gen) or disarms one that ended, and re-evaluates the
 * shadow's due clocks. *gen is left alone when it did not poll.
 */
enum hk_err hk_restate_poll(struct hk_restate *r, struct hk_store *live,
                            int force, int64_t *gen,
                            struct hk_error *err) HK_MUST_CHECK;

/* Applies a batch's events to the shadow too, when one is armed.
 * HK_E_STALE_CONFIG when a switch happened meanwhile. */
enum hk_err hk_restate_apply(struct hk_restate *r,
                             const struct hk_event *const *evs, size_t n,
                             int64_t now_ms,
                             struct hk_error *err) HK_MUST_CHECK;

/* Does one piece of the armed restate's work: restates a chunk of
 * subjects from their histories, or finishes (due clocks, documents). */
enum hk_err hk_restate_work(struct hk_restate *r, struct hk_store *live,
                            const struct hk_config *live_cfg,
                            struct hk_error *err) HK_MUST_CHECK;

#endif
