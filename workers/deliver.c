/*
 * deliver.c -- the alert sender: a thread of the worker that sends the
 * alerts the SLA engine queued, with its own Redis connection, so a slow
 * Slack never holds up journey events.
 *
 * Each turn: take one alert of {prefix}alerts (retries that came due
 * first, then alerts another sender left pending, then new ones), build
 * each one's request (alert.c) and send it (notify.c). A 2xx answer removes
 * the alert. A failure waits for the notifier's backoff, doubled on each
 * retry, in {prefix}alerts:retry; after the notifier's last retry the alert
 * becomes a dead letter that `handoffctl dlq` lists and retries. An alert
 * to a disabled notifier is dropped with a log line, as the config asks.
 *
 * Each alert is sent with the notifiers of the newest config (its URL,
 * its secret), held until the alert is settled; the connection follows
 * the redis settings of the config the turn began on (configs.h), so a
 * reload changes both between two alerts.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/configs.h"
#include "workers/sla_shell.h"

/* Alerts another sender read but did not settle for this long are taken
 * over: longer than any attempt (notifier timeouts are short). */
#define CLAIM_IDLE_MS 60000
#define READ_BLOCK_MS 500

struct hk_deliverer {
  struct hk_configs *cs;
  char consumer[160];
  pthread_t thread;
  atomic_int stop;
};

/* Counts one outcome for /metrics; a count lost to Redis is not worth a
 * retry. */
static void count(struct hk_store *st, const char *field) {
  const char *const fields[] = {field};
  const int64_t by[] = {1};
  struct hk_error ignored = {HK_E_OK, ""};
  (void)!hk_store_stats_add(st, fields, by, 1, &ignored);
}

/* Sends one alert with the notifiers of cfg and settles it. Returns
 * HK_E_UNAVAILABLE only when Redis failed (the alert then stays pending, to be
 * taken again). */
static enum hk_err deliver_one(const struct hk_config *cfg, struct hk_store *st,
                               const struct hk_alert_entry *e,
                               struct hk_error *err) {
  json_t *doc;
  const char *name;
  const struct hk_notifier *n;
  struct hk_alert a;
  struct hk_alert_request rq;
  struct hk_error why = {HK_E_OK, ""};
  struct hk_error bad = {HK_E_OK, ""};
  int64_t now = hk_time_now_ms();
  long status = 0;
  char code[16];
  char attempt[16];
  enum hk_err rc;

  /* Read whatever fails: the notifier decides first whether the alert is
   * dropped or kept, then a malformed one becomes a dead letter. */
  (void)!hk_alert_parse(e->alert, &doc, &a, &name, &bad);
  n = name != NULL ? hk_config_notifier(cfg, name) : NULL;
  memset(&rq, 0, sizeof rq);
  snprintf(attempt, sizeof attempt, "%d", e->attempt + 1);
  if (n == NULL) {
    /* Queued by a worker whose config names a notifier this one does not
     * know (a reload, a rolling deploy): kept as a dead letter to retry
     * once every worker runs that config, never dropped. */
    hk_log(HK_LOG_ERROR, "alert for an unknown notifier; dead-lettered",
           "alert", a.id, "notifier", name, (const char *)NULL);
    rc = hk_store_alert_dead(st, e,
                             "the notifier is not in this worker's "
                             "config",
                             now, err);
    count(st, "alerts_dead");
    goto out;
  }
  if (n->url == NULL) {
    hk_log(HK_LOG_WARN, "alert dropped: notifier disabled", "alert", a.id,
           "notifier", name, (const char *)NULL);
    rc = hk_store_alert_done(st, e->id, err);
    count(st, "alerts_dropped");
    goto out;
  }
  if (bad.code != HK_E_OK) {
    hk_log(HK_LOG_ERROR, "malformed alert; dead-lettered", "alert", a.id,
           "notifier", name, "error", bad.msg, (const char *)NULL);
    rc = hk_store_alert_dead(st, e, bad.msg, now, err);
    goto out;
  }
  if (hk_alert_build(n, &a, now, &rq, &why) == HK_E_OK &&
      hk_alert_send(&rq, n->timeout_ms, &status, &why) == HK_E_OK) {
    snprintf(code, sizeof code, "%ld", status);
    hk_log(HK_LOG_INFO, "alert sent", "alert", a.id, "notifier", name, "status",
           code, "attempt", attempt, (const char *)NULL);
    rc = hk_store_alert_done(st, e->id, err);
    count(st, "alerts_sent");
  } else if (e->attempt < n->retries) {
    int64_t wait = hk_alert_backoff_ms(n, e->attempt + 1);
    char in[24];
    snprintf(in, sizeof in, "%" PRId64, wait);
    hk_log(HK_LOG_WARN, "alert not delivered; will retry", "alert", a.id,
           "notifier", name, "attempt", attempt, "retry_in_ms", in, "error",
           why.msg, (const char *)NULL);
    rc = hk_store_alert_retry(st, e, e->attempt + 1, now + wait, err);
    count(st, "alerts_retried");
  } else {
    hk_log(HK_LOG_ERROR,
           "alert not delivered after the last retry; "
           "dead-lettered",
           "alert", a.id, "notifier", name, "attempt", attempt, "error",
           why.msg, (const char *)NULL);
    rc = hk_store_alert_dead(st, e, why.msg, now, err);
    count(st, "alerts_dead");
  }
out:
  hk_alert_request_fini(&rq);
  json_decref(doc);
  return rc;
}

/* When a reload came while the read waited, trades the hold on *gen for
 * one on the newest config, whose notifiers send what was read. */
static const struct hk_config *newest_notifiers(struct hk_configs *cs,
                                                const struct hk_config *cfg,
                                                size_t *gen) {
  size_t newest;
  if (hk_configs_newest(cs) == *gen) {
    return cfg;
  }
  cfg = hk_configs_acquire(cs, &newest);
  hk_configs_release(cs, *gen);
  *gen = newest;
  return cfg;
}

/* One turn: reads at most one alert from the connection of the config
 * held, and sends it with the notifiers of the newest. */
static enum hk_err turn(struct hk_deliverer *d, struct hk_gen_store *gs,
                        struct hk_error *err) {
  struct hk_alert_batch b = {NULL, 0};
  size_t gen;
  const struct hk_config *cfg = hk_configs_acquire(d->cs, &gen);
  enum hk_err rc;
  (void)hk_gen_store_follow(gs, cfg, gen);
  /* One alert a turn: an alert read waits while those before it are
   * sent, and one left waiting past CLAIM_IDLE_MS would be taken and
   * sent by another sender too. */
  rc = hk_store_alerts_read(gs->st, d->consumer, 1, READ_BLOCK_MS,
                            CLAIM_IDLE_MS, hk_time_now_ms(), &b, err);
  if (rc == HK_E_OK && b.n > 0) {
    cfg = newest_notifiers(d->cs, cfg, &gen);
  }
  for (size_t i = 0; rc == HK_E_OK && i < b.n; i++) {
    rc = deliver_one(cfg, gs->st, &b.items[i], err);
  }
  hk_alert_batch_fini(&b);
  hk_configs_release(d->cs, gen);
  return rc;
}

static void *run(void *arg) {
  struct hk_deliverer *d = arg;
  struct hk_gen_store gs = {NULL, HK_CONFIGS_NONE};
  struct hk_error err = {HK_E_OK, ""};
  int64_t backoff = 0;
  int down = 0;

  while (!atomic_load(&d->stop)) {
    enum hk_err rc;
    if (backoff > 0) {
      hk_sleep_ms(backoff);
    }
    rc = turn(d, &gs, &err);
    if (rc != HK_E_OK) {
      if (!down) {
        hk_log(HK_LOG_ERROR, "alert sender: redis unreachable; retrying",
               "error", err.msg, (const char *)NULL);
      }
      down = 1;
      backoff = backoff == 0 ? 100 : (backoff * 2 > 5000 ? 5000 : backoff * 2);
    } else {
      down = 0;
      backoff = 0;
    }
  }
  if (gs.st != NULL) {
    int left = 0;
    (void)!hk_store_consumer_leave(gs.st, HK_STORE_ALERT_GROUP, d->consumer,
                                   &left, &err);
  }
  hk_gen_store_fini(&gs);
  return NULL;
}

struct hk_deliverer *hk_deliverer_start(struct hk_configs *cs,
                                        const char *consumer) {
  struct hk_deliverer *d = hk_xcalloc(1, sizeof *d);
  sigset_t all;
  sigset_t old;
  int rc;
  d->cs = cs;
  snprintf(d->consumer, sizeof d->consumer, "%s", consumer);
  /* Signals go to the main thread, which owns the stop and reload flags. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  rc = pthread_create(&d->thread, NULL, run, d);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    free(d);
    d = NULL;
  }
  return d;
}

void hk_deliverer_stop(struct hk_deliverer *d) {
  if (d == NULL) {
    return;
  }
  atomic_store(&d->stop, 1);
  pthread_join(d->thread, NULL);
  free(d);
}
