/*
 * digest.c -- posts the weekly digests (digests.NAME; journey/digest.c
 * builds them) once per period, however many workers run.
 *
 * The KPI thread calls hk_digests_tick after writing the documents. For
 * each digest whose period started less than a day ago, a worker claims
 * the period in Redis ({prefix}digest:NAME:PERIOD_MS, SET NX with a lease
 * longer than one attempt): only the worker that set it posts. A 2xx marks
 * the period sent for eight days, longer than the period, and keeps the
 * KPIs for next week's "what changed"; a failure marks it to retry after
 * the notifier's backoff (at least a minute), when any worker may claim it
 * again. A worker that dies mid-post leaves the lease to run out, and the
 * digest is posted again: at least once, and the signed webhook's
 * webhook-id (digest:NAME:PERIOD_MS) lets a receiver drop a repeat.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/kpi.h"

#define GRACE_MS 86400000LL /* a day: a digest later than this is skipped */
#define SENT_MS 691200000LL /* eight days, longer than a period */
#define MIN_RETRY_MS 60000

struct hk_digests {
  struct hk_digest **v;
  size_t n;
};

struct hk_digests *hk_digests_new(const struct hk_config *cfg) {
  struct hk_digests *ds = hk_xcalloc(1, sizeof *ds);
  json_t *all = json_object_get(cfg->doc, "digests");
  const char *name;
  json_t *conf;
  ds->v = hk_xcalloc(json_object_size(all) + 1, sizeof(void *));
  json_object_foreach(all, name, conf) {
    struct hk_error err = {HK_E_OK, ""};
    struct hk_digest *d = hk_digest_new(name, cfg->doc, &err);
    if (d == NULL) {
      hk_log(HK_LOG_ERROR, "digest left out", "digest", name, "error", err.msg,
             (const char *)NULL);
      continue;
    }
    ds->v[ds->n++] = d;
  }
  return ds;
}

void hk_digests_free(struct hk_digests *ds) {
  if (ds == NULL) {
    return;
  }
  for (size_t i = 0; i < ds->n; i++) {
    hk_digest_free(ds->v[i]);
  }
  free(ds->v);
  free(ds);
}

/* The health document and the last snapshot, parsed (NULL when none). */
static enum hk_err read_inputs(struct hk_store *st, const char *name,
                               json_t **health, json_t **last,
                               struct hk_error *err) {
  char *text = NULL;
  size_t len = 0;
  enum hk_err rc = hk_store_get(st, "kpi:health", &text, &len, err);
  *health = NULL;
  *last = NULL;
  if (rc == HK_E_OK && text != NULL) {
    *health = json_loadb(text, len, 0, NULL);
  }
  free(text);
  text = NULL;
  if (rc == HK_E_OK) {
    rc = hk_store_digest_last(st, name, &text, err);
  }
  if (rc == HK_E_OK && text != NULL) {
    *last = json_loads(text, 0, NULL);
  }
  free(text);
  return rc;
}

/* Builds and sends one claimed digest; 1 when the notifier took it. */
static int post(const struct hk_config *cfg, struct hk_store *st,
                const struct hk_digest *d, const struct hk_notifier *n,
                int64_t period, int64_t now, json_t **doc) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_alert_request rq;
  json_t *health;
  json_t *last;
  char id[200];
  long status = 0;
  enum hk_err rc = read_inputs(st, hk_digest_name(d), &health, &last, &err);
  *doc = NULL;
  (void)cfg;
  if (rc == HK_E_OK && health == NULL) {
    rc = hk_fail(&err, HK_E_NOT_READY, "no health document yet");
  }
  if (rc == HK_E_OK) {
    *doc = hk_digest_build(d, health, last, period, now);
    snprintf(id, sizeof id, "digest:%s:%" PRId64, hk_digest_name(d), period);
    rc = hk_digest_request(n, *doc, id, now, &rq, &err);
  }
  if (rc == HK_E_OK) {
    rc = hk_alert_send(&rq, n->timeout_ms, &status, &err);
    hk_alert_request_fini(&rq);
  }
  json_decref(health);
  json_decref(last);
  if (rc != HK_E_OK) {
    hk_log(HK_LOG_WARN, "digest not posted; retrying later", "digest",
           hk_digest_name(d), "notifier", n->name, "error", err.msg,
           (const char *)NULL);
  }
  return rc == HK_E_OK;
}

/* One digest: claim its period, post, settle. */
static void tick_one(const struct hk_config *cfg, struct hk_store *st,
                     const struct hk_digest *d, int64_t now) {
  struct hk_error err = {HK_E_OK, ""};
  const struct hk_notifier *n = hk_config_notifier(cfg, hk_digest_notifier(d));
  int64_t period = hk_digest_period(d, now);
  int got = 0;
  int sent;
  json_t *doc = NULL;
  int64_t retry;
  if (n == NULL || n->url == NULL || now - period > GRACE_MS) {
    return; /* a disabled notifier, or a period long gone */
  }
  if (hk_store_digest_claim(st, hk_digest_name(d), period,
                            n->timeout_ms + 60000, &got, &err) != HK_E_OK ||
      !got) {
    return;
  }
  sent = post(cfg, st, d, n, period, now, &doc);
  retry = hk_alert_backoff_ms(n, 1);
  if (sent) {
    json_t *snap = hk_digest_snapshot(doc);
    char *text = json_dumps(snap, JSON_COMPACT);
    char at[HK_TIME_TEXT];
    hk_time_format_ms(period, at);
    if (text == NULL ||
        hk_store_digest_keep(st, hk_digest_name(d), text, &err) != HK_E_OK) {
      hk_log(HK_LOG_WARN, "digest snapshot not kept", "digest",
             hk_digest_name(d), "error", err.msg, (const char *)NULL);
    }
    hk_log(HK_LOG_INFO, "digest posted", "digest", hk_digest_name(d),
           "notifier", n->name, "period", at, (const char *)NULL);
    free(text);
    json_decref(snap);
  }
  if (hk_store_digest_settle(
          st, hk_digest_name(d), period, sent,
          sent ? SENT_MS : (retry > MIN_RETRY_MS ? retry : MIN_RETRY_MS),
          &err) != HK_E_OK) {
    hk_log(HK_LOG_WARN, "digest state not written", "digest", hk_digest_name(d),
           "error", err.msg, (const char *)NULL);
  }
  json_decref(doc);
}

void hk_digests_tick(const struct hk_digests *ds, const struct hk_config *cfg,
                     struct hk_store *st, int64_t now_ms) {
  for (size_t i = 0; ds != NULL && i < ds->n; i++) {
    tick_one(cfg, st, ds->v[i], now_ms);
  }
}
