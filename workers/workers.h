/*
 * workers.h -- the door to handoff-worker's loop: read the intake stream as
 * a consumer group, process each delivery, acknowledge it, and take over the
 * deliveries a dead worker left pending.
 */
#ifndef HK_WORKERS_H
#define HK_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

struct hk_worker_opts {
  const char *consumer;  /* this worker's name in the group */
  size_t batch;          /* deliveries read at once */
  int64_t block_ms;      /* longest wait for new deliveries */
  int64_t claim_idle_ms; /* take over deliveries pending this long */
  int64_t throttle_ms;   /* pause after each delivery (rate limiting) */
};

/*
 * Runs until *stop becomes non-zero (set it from a signal handler), then
 * returns after finishing and acknowledging the batch in hand. While Redis
 * is unreachable it retries with backoff and says so in the log. Returns
 * HK_E_OK on a clean stop.
 */
enum hk_err hk_worker_run(const struct hk_config *cfg,
                          const struct hk_worker_opts *opts,
                          volatile int *stop) HK_MUST_CHECK;

#endif
