/*
 * workers.h -- the door to handoff-worker: the loop that reads the intake
 * stream as a consumer group, processes each delivery, acknowledges it and
 * takes over the deliveries a dead worker left pending; and the alert
 * sender's one libcurl call. The domain it runs on (mapping, clocks,
 * calendars, KPIs, alert requests) is journey/journey.h.
 */
#ifndef HK_WORKERS_H
#define HK_WORKERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"
#include "journey/journey.h"

struct hk_worker_opts {
  const char *consumer;       /* this worker's name in the group */
  size_t batch;               /* deliveries read at once */
  int64_t block_ms;           /* longest wait for new deliveries */
  int64_t claim_idle_ms;      /* take over deliveries pending this long */
  int64_t throttle_ms;        /* pause after each delivery (rate limiting) */
  size_t threads;             /* loops, each a consumer "CONSUMER/N" (1: just
                                 CONSUMER) with its own connection */
  int64_t kpi_every_ms;       /* write the status API's documents this often;
                                 0: never (workers/kpi_shell.c) */
  int64_t retention_every_ms; /* run the retention pass this often; 0: the
                                 default, a minute (workers/retention.c) */
  /* When *reload becomes non-zero (SIGHUP), the worker calls load() for a
   * fresh config (a new one it frees, or NULL when the file is bad,
   * already logged) and publishes it when its rules and handoffs compile
   * (else the running config stays). Each thread picks all of it up
   * between two batches (two alerts): mapping rules, handoffs, dedupe TTL,
   * notifiers, and a new connection from its redis settings. Both may be
   * NULL. */
  volatile int *reload;
  struct hk_config *(*load)(void);
};

/*
 * Runs until *stop becomes non-zero (set it from a signal handler), then
 * returns after finishing and acknowledging the batch in hand. While Redis
 * is unreachable it retries with backoff and says so in the log. Returns
 * HK_E_OK on a clean stop, HK_E_CONFIG (logged) when the mapping rules do
 * not compile.
 */
enum hk_err hk_worker_run(const struct hk_config *cfg,
                          const struct hk_worker_opts *opts,
                          volatile int *stop) HK_MUST_CHECK;

/* ---------------------------------------------------------------------------
 * Alerts: the sending (notify.c, the only libcurl file); journey/alert.c
 * builds the request
 * ------------------------------------------------------------------------- */

/*
 * Sends r once, waiting at most timeout_ms. Returns HK_E_OK on a 2xx
 * answer; else HK_E_UNAVAILABLE with err set (the status, or the transport
 * error; never the URL, which may be a secret) and *status the HTTP status
 * (0 when none came).
 */
enum hk_err hk_alert_send(const struct hk_alert_request *r, int64_t timeout_ms,
                          long *status, struct hk_error *err) HK_MUST_CHECK;

#endif
