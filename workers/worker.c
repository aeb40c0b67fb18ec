/*
 * worker.c -- the worker's tick.
 *
 * Each turn of the loop does, in order:
 *   1. every claim interval, XAUTOCLAIM deliveries that another consumer
 *      read but left unacknowledged for claim_idle (it died or hung), and
 *      process them as its own;
 *   2. otherwise read up to `batch` new deliveries, waiting at most
 *      block_ms;
 *   3. process each delivery of the batch and acknowledge it, even when a
 *      stop was asked meanwhile: the batch in hand is always finished.
 * A delivery is acknowledged only after it was processed, so a worker killed
 * at any point leaves its unfinished deliveries pending for another.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "workers/workers.h"

/* The skeleton's processing: read the event type and log the delivery.
 * Journey events, clocks and KPIs hang here in later parts. */
static void process(const struct hk_entry *e, int claimed, int64_t now_ms) {
  json_t *doc = json_loadb(e->body, e->body_len, 0, NULL);
  const char *type = NULL;
  char lag[24];
  if (json_is_object(doc)) {
    type = json_string_value(json_object_get(doc, "type"));
  }
  snprintf(lag, sizeof lag, "%" PRId64, now_ms - e->received_ms);
  hk_log(HK_LOG_INFO, "delivery processed", "id", e->id, "source", e->source,
         "kind", e->kind, "delivery", e->delivery_id, "type", type, "claimed",
         claimed ? "true" : "false", "lag_ms", lag, (const char *)NULL);
  json_decref(doc);
}

/* Processes and acknowledges a batch. Returns HK_E_UNAVAILABLE when an ack
 * failed: the rest stays pending, to be claimed again. */
static enum hk_err run_batch(struct hk_store *st, const struct hk_batch *b,
                             int claimed, const struct hk_worker_opts *o,
                             struct hk_error *err) {
  for (size_t i = 0; i < b->n; i++) {
    process(&b->items[i], claimed, hk_time_now_ms());
    if (o->throttle_ms > 0) {
      hk_sleep_ms(o->throttle_ms);
    }
    if (hk_store_ack(st, b->items[i].id, err) != HK_E_OK) {
      return HK_E_UNAVAILABLE;
    }
  }
  return HK_E_OK;
}

enum hk_err hk_worker_run(const struct hk_config *cfg,
                          const struct hk_worker_opts *o, volatile int *stop) {
  struct hk_store *st = hk_store_new(&cfg->redis);
  struct hk_error err = {HK_E_OK, ""};
  int64_t claim_every = o->claim_idle_ms / 4;
  int64_t last_claim = 0;
  int64_t backoff = 0;
  int ready = 0;
  int down = 0;

  if (claim_every < 1000) {
    claim_every = 1000;
  } else if (claim_every > 10000) {
    claim_every = 10000;
  }
  while (!*stop) {
    struct hk_batch b = {NULL, 0};
    int claimed = 0;
    enum hk_err rc;

    if (backoff > 0) {
      hk_sleep_ms(backoff);
      if (*stop) {
        break;
      }
    }
    rc = ready ? HK_E_OK : hk_store_group_ensure(st, &err);
    if (rc == HK_E_OK) {
      ready = 1;
      if (hk_time_mono_ms() - last_claim >= claim_every) {
        last_claim = hk_time_mono_ms();
        rc = hk_store_claim(st, o->consumer, o->claim_idle_ms, o->batch, &b,
                            &err);
        claimed = 1;
      }
      if (rc == HK_E_OK && b.n == 0) {
        claimed = 0;
        rc = hk_store_read(st, o->consumer, o->batch, o->block_ms, &b, &err);
      }
    }
    if (rc == HK_E_OK && b.n > 0) {
      char n[24];
      snprintf(n, sizeof n, "%zu", b.n);
      if (claimed) {
        hk_log(HK_LOG_WARN, "claimed deliveries left pending by another worker",
               "count", n, (const char *)NULL);
      }
      rc = run_batch(st, &b, claimed, o, &err);
    }
    hk_batch_fini(&b);
    if (rc != HK_E_OK) {
      if (!down) {
        hk_log(HK_LOG_ERROR, "redis unreachable; retrying", "error", err.msg,
               (const char *)NULL);
      }
      down = 1;
      ready = 0;
      backoff = backoff == 0 ? 100 : (backoff * 2 > 5000 ? 5000 : backoff * 2);
    } else {
      if (down) {
        hk_log(HK_LOG_INFO, "redis reachable again", (const char *)NULL);
      }
      down = 0;
      backoff = 0;
    }
  }
  hk_store_free(st);
  return HK_E_OK;
}
