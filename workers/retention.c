/*
 * retention.c -- the worker's duty that keeps Redis bounded, and carries
 * out the requests to forget a subject (retention.h).
 *
 * A pass, about once a minute by one worker at a time (a lock key that
 * lives one period), trims by time: the intake stream, the alerts stream,
 * the events feed and the dead letters (lua/stream_trim.lua, never past an
 * entry a group has pending or unread); erases the subjects whose newest
 * event is older than the horizon (their clock and stage records with
 * what they count, but for the KPI buckets, which go by the day; their
 * histories); trims the histories of the others; and deletes the KPI days
 * and state-index members older than the horizon. Each step works in
 * chunks, with a budget per pass, so a pass is short whatever has piled
 * up; what is left goes in the next.
 *
 * Forget requests ({prefix}forget, queued by handoffctl forget and
 * DELETE /v1/subjects/{subject}) are carried out as soon as the workers
 * have acknowledged every delivery received before them, so nothing of
 * the subject is still on its way in.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/kpi.h"
#include "workers/retention.h"

#define DAY_MS 86400000LL
/* Entries removed per script call, and calls per stream per pass. */
#define TRIM_CHUNK 5000
#define TRIM_CALLS 50
/* Subjects erased per chunk, chunks per pass. */
#define EXPIRE_CHUNK 200
#define EXPIRE_CHUNKS 50
/* Histories trimmed per script call, calls per pass. */
#define HISTORY_CHUNK 1000
#define HISTORY_CALLS 50
/* Each step stops taking new chunks once the pass ran this long. */
#define PASS_BUDGET_MS 3000
/* KPI days looked at behind the horizon: every pass the last few (a late
 * event can write a day that already went), once per day of the horizon
 * many more. */
#define KPI_DAYS_NEAR 40
#define KPI_DAYS_FAR 400
/* Entries of a stream read at once when looking for a subject. */
#define SCAN_PAGE 500
/* How long the outcome of a forget request stays readable. */
#define FORGET_DONE_S 86400

/* A duration of the config ("0" is 0), or dflt. */
static int64_t keep_ms(const struct hk_config *cfg, const char *section,
                       const char *key, int64_t dflt) {
  const char *s = json_string_value(
      json_object_get(json_object_get(cfg->doc, section), key));
  int64_t ms = 0;
  if (s != NULL && strcmp(s, "0") == 0) {
    return 0;
  }
  if (s == NULL || hk_duration_parse(s, &ms) != 0) {
    return dflt;
  }
  return ms;
}

void hk_keep_of(const struct hk_config *cfg, struct hk_keep *out) {
  out->intake_ms = keep_ms(cfg, "intake", "keep", 3 * DAY_MS);
  out->history_ms = keep_ms(cfg, "history", "keep", 400 * DAY_MS);
  out->dlq_ms = keep_ms(cfg, "dlq", "keep", 30 * DAY_MS);
}

int64_t hk_retention_horizon(int64_t now_ms, int64_t newest_ms,
                             int64_t history_ms) {
  int64_t base = newest_ms > 0 && newest_ms < now_ms ? newest_ms : now_ms;
  return base - history_ms;
}

/* ---------------------------------------------------------------------------
 * One pass
 * ------------------------------------------------------------------------- */

/* 1 while a pass that started at t0 (monotonic ms) is within
 * PASS_BUDGET_MS. */
static int in_time(int64_t t0) {
  return hk_time_mono_ms() - t0 < PASS_BUDGET_MS;
}

/* What a pass removed, for its log line. */
struct removed {
  int64_t intake, alerts, events, dlq, history, kpi_days, listed;
  size_t subjects, records;
};

/* Trims stream to keep_from_ms, a chunk at a time, within the budget. */
static enum hk_err trim(struct hk_store *st, const char *stream,
                        int64_t keep_from_ms, int64_t t0, int64_t *removed,
                        struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  int more = 1;
  for (int i = 0; rc == HK_E_OK && more && i < TRIM_CALLS && in_time(t0); i++) {
    int64_t n = 0;
    rc = hk_store_trim(st, stream, keep_from_ms, TRIM_CHUNK, &n, &more, err);
    *removed += n;
  }
  return rc;
}

/* Bumps {prefix}stats erase_gen: every loop forgets what it remembered of
 * the stage records (hk_stages_forget_seen) when it sees it move. */
static enum hk_err bump_erase_gen(struct hk_store *st, struct hk_error *err) {
  static const char *const field[] = {"erase_gen"};
  static const int64_t one[] = {1};
  return hk_store_stats_add(st, field, one, 1, err);
}

/* Erases the subjects whose newest event is older than the horizon: their
 * records with what they count now (not the KPI buckets: those go by the
 * day), then their histories. */
static enum hk_err expire(struct hk_sla_shell *sh, int64_t horizon, int64_t t0,
                          struct removed *out, struct hk_error *err) {
  struct hk_erase how = {0, horizon};
  enum hk_err rc = HK_E_OK;
  for (int c = 0; rc == HK_E_OK && c < EXPIRE_CHUNKS && in_time(t0); c++) {
    struct hk_strings subs = {NULL, 0};
    size_t erased = 0;
    size_t dropped = 0;
    size_t listed;
    rc = hk_store_subjects_older(sh->st, horizon, EXPIRE_CHUNK, &subs, err);
    if (rc == HK_E_OK && subs.n > 0 && c == 0) {
      rc = bump_erase_gen(sh->st, err);
    }
    if (rc == HK_E_OK && subs.n > 0) {
      rc = hk_sla_shell_erase(sh, (const char *const *)subs.v, subs.n, &how,
                              &erased, err);
    }
    if (rc == HK_E_OK && subs.n > 0) {
      rc = hk_store_subjects_drop(sh->st, (const char *const *)subs.v, subs.n,
                                  horizon, &dropped, err);
    }
    listed = subs.n;
    out->records += erased;
    out->subjects += dropped;
    hk_strings_fini(&subs);
    if (listed < EXPIRE_CHUNK || dropped == 0) {
      break; /* none left, or none of these could go: the next pass */
    }
  }
  return rc;
}

/* The KPI days before the horizon's, and the finished clocks started
 * before it in the state indexes. */
static enum hk_err purge_kpis(const struct hk_config *cfg, struct hk_store *st,
                              int64_t horizon, int64_t days,
                              struct removed *out, struct hk_error *err) {
  static const char *const finished[] = {"met", "met_late", "cancelled"};
  struct hk_strings keys = {NULL, 0};
  struct hk_strings lists = {NULL, 0};
  int64_t last = (horizon >= 0 ? horizon / DAY_MS : -1) - 1;
  char below[24];
  const char *name;
  json_t *conf;
  enum hk_err rc;
  for (int g = 0; g < 2; g++) {
    json_object_foreach(
        json_object_get(cfg->doc, g == 0 ? "handoffs" : "stages"), name, conf) {
      for (int64_t d = last - days; d <= last; d++) {
        keys.v = hk_xrealloc(keys.v, (keys.n + 1) * sizeof *keys.v);
        keys.v[keys.n++] =
            hk_xprintf("%s:%s:%" PRId64, g == 0 ? "hkpi" : "skpi", name, d);
      }
      for (size_t i = 0; g == 0 && i < 3; i++) {
        lists.v = hk_xrealloc(lists.v, (lists.n + 1) * sizeof *lists.v);
        lists.v[lists.n++] = hk_xprintf("cs:%s:%s", name, finished[i]);
      }
      /* The days of the handoff's group_by dimensions go with its own. */
      const char *dim;
      json_t *spec;
      json_object_foreach(json_object_get(g == 0 ? conf : NULL, "group_by"),
                          dim, spec) {
        for (int64_t d = last - days; d <= last; d++) {
          keys.v = hk_xrealloc(keys.v, (keys.n + 1) * sizeof *keys.v);
          keys.v[keys.n++] = hk_xprintf("gkpi:%s:%s:%" PRId64, name, dim, d);
        }
      }
    }
  }
  rc = hk_store_delete(st, (const char *const *)keys.v, keys.n, err);
  snprintf(below, sizeof below, "%013" PRId64, horizon > 0 ? horizon : 0);
  if (rc == HK_E_OK) {
    rc = hk_store_prune_lex(st, (const char *const *)lists.v, lists.n, below,
                            err);
  }
  out->kpi_days += (int64_t)keys.n;
  hk_strings_fini(&keys);
  hk_strings_fini(&lists);
  return rc;
}

static void log_pass(const struct removed *r, int64_t horizon, int64_t ms) {
  char v[9][24];
  snprintf(v[0], sizeof v[0], "%" PRId64, r->intake);
  snprintf(v[1], sizeof v[1], "%" PRId64, r->events);
  snprintf(v[2], sizeof v[2], "%" PRId64, r->alerts);
  snprintf(v[3], sizeof v[3], "%" PRId64, r->dlq);
  snprintf(v[4], sizeof v[4], "%zu", r->subjects);
  snprintf(v[5], sizeof v[5], "%zu", r->records);
  snprintf(v[6], sizeof v[6], "%" PRId64, r->history);
  snprintf(v[7], sizeof v[7], "%" PRId64, horizon);
  snprintf(v[8], sizeof v[8], "%" PRId64, ms);
  hk_log(HK_LOG_INFO, "retention pass", "intake", v[0], "events", v[1],
         "alerts", v[2], "dlq", v[3], "subjects", v[4], "records", v[5],
         "history_events", v[6], "horizon_ms", v[7], "took_ms", v[8],
         (const char *)NULL);
}

/* One pass: what aged out goes (see the top of the file). */
static enum hk_err pass(struct hk_retention *rt, struct hk_sla_shell *sh,
                        struct hk_error *err) {
  struct hk_store *st = sh->st;
  struct removed r = {0};
  struct hk_keep keep;
  int64_t t0 = hk_time_mono_ms();
  int64_t now = hk_time_now_ms();
  int64_t newest = 0;
  int64_t horizon;
  enum hk_err rc;

  hk_keep_of(sh->cfg, &keep);
  rc = hk_store_stat_get(st, "newest_event_ms", &newest, err);
  horizon = hk_retention_horizon(now, newest, keep.history_ms);
  if (rc == HK_E_OK) {
    rc = trim(st, "intake", now - keep.intake_ms, t0, &r.intake, err);
  }
  if (rc == HK_E_OK) {
    rc = trim(st, "events", now - keep.intake_ms, t0, &r.events, err);
  }
  if (rc == HK_E_OK) {
    rc = trim(st, "alerts", now - keep.intake_ms, t0, &r.alerts, err);
  }
  if (rc == HK_E_OK) {
    rc = trim(st, "dlq", now - keep.dlq_ms, t0, &r.dlq, err);
  }
  if (rc == HK_E_OK) {
    rc = expire(sh, horizon, t0, &r, err);
  }
  for (int i = 0; rc == HK_E_OK && i < HISTORY_CALLS && in_time(t0); i++) {
    size_t visited = 0;
    int64_t n = 0;
    rc = hk_store_history_trim(st, horizon, HISTORY_CHUNK, &visited, &n, err);
    r.history += n;
    if (visited < HISTORY_CHUNK) {
      break;
    }
  }
  if (rc == HK_E_OK) {
    int far = horizon / DAY_MS != rt->purged_day;
    rc = purge_kpis(sh->cfg, st, horizon, far ? KPI_DAYS_FAR : KPI_DAYS_NEAR,
                    &r, err);
    rt->purged_day = rc == HK_E_OK && far ? horizon / DAY_MS : rt->purged_day;
  }
  if (rc == HK_E_OK) {
    log_pass(&r, horizon, hk_time_mono_ms() - t0);
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * Forget requests
 * ------------------------------------------------------------------------- */

/* Compares two stream ids ("MS-SEQ") as Redis orders them. */
static int stream_id_cmp(const char *a, const char *b) {
  unsigned long long am = strtoull(a, NULL, 10);
  unsigned long long bm = strtoull(b, NULL, 10);
  const char *ad = strchr(a, '-');
  const char *bd = strchr(b, '-');
  unsigned long long as = ad != NULL ? strtoull(ad + 1, NULL, 10) : 0;
  unsigned long long bs = bd != NULL ? strtoull(bd + 1, NULL, 10) : 0;
  if (am != bm) {
    return am < bm ? -1 : 1;
  }
  return as < bs ? -1 : as > bs;
}

/* 1 when text holds subject as a whole word: not inside a longer name
 * ("company:7" is not in "company:71"). */
static int holds_word(const char *text, const char *subject) {
  static const char word[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:.@";
  size_t n = strlen(subject);
  if (n == 0) {
    return 0;
  }
  for (const char *p = strstr(text, subject); p != NULL;
       p = strstr(p + 1, subject)) {
    int before = p > text && strchr(word, p[-1]) != NULL;
    int after = p[n] != '\0' && strchr(word, p[n]) != NULL;
    if (!before && !after) {
      return 1;
    }
  }
  return 0;
}

/* 1 when the alert JSON is about subject. */
static int alert_names(const char *alert, const char *subject) {
  json_t *a = json_loads(alert, 0, NULL);
  const char *s = json_string_value(json_object_get(a, "subject"));
  int names = s != NULL && strcmp(s, subject) == 0;
  json_decref(a);
  return names;
}

/* 1 when the delivery (an intake entry or a dead letter's fields) names
 * subject: its mapping makes an event of the subject, or its body holds
 * the subject's text. Mapping again is how the worker knows a delivery's
 * subjects: they are not stored with it, and a subject is often built from
 * a template ("company:{id}") that plain text search would miss. */
static int delivery_names(const struct hk_mapper *m, const json_t *f,
                          const char *subject) {
  const char *body = json_string_value(json_object_get(f, "body"));
  const char *alert = json_string_value(json_object_get(f, "alert"));
  const char *source = json_string_value(json_object_get(f, "source"));
  const char *headers = json_string_value(json_object_get(f, "headers"));
  const char *id = json_string_value(json_object_get(f, "delivery_id"));
  struct hk_map_result res = {NULL, 0};
  struct hk_error err = {HK_E_OK, ""};
  int names = 0;
  if (alert != NULL) {
    return alert_names(alert, subject);
  }
  if (body == NULL) {
    return 0;
  }
  if (holds_word(body, subject)) {
    return 1;
  }
  if (source != NULL &&
      hk_map_delivery(m, source, id != NULL ? id : "",
                      headers != NULL ? headers : "{}", body, strlen(body), 0,
                      &res, &err) == HK_E_OK) {
    for (size_t i = 0; i < res.n && !names; i++) {
      names = res.items[i].status == HK_MAP_EVENT &&
              strcmp(res.items[i].ev.subject, subject) == 0;
    }
  }
  hk_map_result_fini(&res);
  return names;
}

/* 1 when the events feed entry is an event of subject. */
static int event_names(const json_t *f, const char *subject) {
  json_t *ev = json_loads(json_string_value(json_object_get(f, "event")) != NULL
                              ? json_string_value(json_object_get(f, "event"))
                              : "null",
                          JSON_DECODE_ANY, NULL);
  const char *s = json_string_value(json_object_get(ev, "subject"));
  int names = s != NULL && strcmp(s, subject) == 0;
  json_decref(ev);
  return names;
}

/* Deletes the entries of stream up to `upto` (NULL: all) that name
 * subject; *removed counts them. */
static enum hk_err scrub_stream(struct hk_store *st, const char *stream,
                                const char *upto, const struct hk_mapper *m,
                                const char *subject, int64_t *removed,
                                struct hk_error *err) {
  char after[HK_STREAM_ID_MAX] = "";
  enum hk_err rc = HK_E_OK;
  int is_events = strcmp(stream, "events") == 0;
  for (;;) {
    struct hk_letters page = {NULL, 0};
    const char **ids;
    size_t n = 0;
    int end = 0;
    rc = hk_store_stream_page(st, stream, after[0] != '\0' ? after : NULL,
                              SCAN_PAGE, &page, err);
    if (rc != HK_E_OK || page.n == 0) {
      hk_letters_fini(&page);
      break;
    }
    ids = hk_xcalloc(page.n, sizeof *ids);
    for (size_t i = 0; i < page.n; i++) {
      const struct hk_letter *l = &page.items[i];
      if (upto != NULL && stream_id_cmp(l->id, upto) > 0) {
        end = 1;
        break;
      }
      if (is_events ? event_names(l->fields, subject)
                    : delivery_names(m, l->fields, subject)) {
        ids[n++] = l->id;
      }
    }
    snprintf(after, sizeof after, "%s", page.items[page.n - 1].id);
    rc = hk_store_stream_delete(st, stream, ids, n, err);
    *removed += (int64_t)n;
    end |= page.n < SCAN_PAGE;
    free(ids);
    hk_letters_fini(&page);
    if (rc != HK_E_OK || end) {
      break;
    }
  }
  return rc;
}

/* The alerts waiting for a retry that name subject go. */
static enum hk_err scrub_retries(struct hk_store *st, const char *subject,
                                 int64_t *removed, struct hk_error *err) {
  struct hk_strings members = {NULL, 0};
  struct hk_strings scores = {NULL, 0};
  const char **gone;
  size_t n = 0;
  enum hk_err rc = hk_store_zrange_score(st, "alerts:retry", INT64_MIN, 0,
                                         100000, &members, &scores, err);
  gone = hk_xcalloc(members.n + 1, sizeof *gone);
  for (size_t i = 0; rc == HK_E_OK && i < members.n; i++) {
    const char *bar = strchr(members.v[i], '|'); /* "ATTEMPT|JSON" */
    if (bar != NULL && alert_names(bar + 1, subject)) {
      gone[n++] = members.v[i];
    }
  }
  if (rc == HK_E_OK) {
    rc = hk_store_zrem(st, "alerts:retry", gone, n, err);
  }
  *removed += (int64_t)n;
  free(gone);
  hk_strings_fini(&members);
  hk_strings_fini(&scores);
  return rc;
}

/* Carries out one request: the subject's records with everything they
 * count (the KPI buckets too), its history, and every entry of the
 * streams that names it. Logs who asked, never the subject. */
static enum hk_err forget(struct hk_sla_shell *sh, const struct hk_mapper *m,
                          const struct hk_letter *req, struct hk_error *err) {
  const char *subject =
      json_string_value(json_object_get(req->fields, "subject"));
  const char *by = json_string_value(json_object_get(req->fields, "by"));
  struct hk_erase how = {1, INT64_MIN};
  int64_t intake = 0;
  int64_t dlq = 0;
  int64_t events = 0;
  int64_t alerts = 0;
  size_t records = 0;
  size_t dropped = 0;
  char *summary;
  enum hk_err rc = bump_erase_gen(sh->st, err);
  if (subject == NULL || *subject == '\0') {
    return rc == HK_E_OK
               ? hk_store_forget_done(sh->st, req->id, "{}", FORGET_DONE_S, err)
               : rc;
  }
  if (rc == HK_E_OK) {
    rc = hk_sla_shell_erase(sh, &subject, 1, &how, &records, err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_subjects_drop(sh->st, &subject, 1, INT64_MIN, &dropped, err);
  }
  if (rc == HK_E_OK) {
    rc = scrub_stream(sh->st, "intake", req->id, m, subject, &intake, err);
  }
  if (rc == HK_E_OK) {
    rc = scrub_stream(sh->st, "dlq", NULL, m, subject, &dlq, err);
  }
  if (rc == HK_E_OK) {
    rc = scrub_stream(sh->st, "events", NULL, m, subject, &events, err);
  }
  if (rc == HK_E_OK) {
    rc = scrub_stream(sh->st, "alerts", NULL, m, subject, &alerts, err);
  }
  if (rc == HK_E_OK) {
    rc = scrub_retries(sh->st, subject, &alerts, err);
  }
  if (rc != HK_E_OK) {
    return rc;
  }
  summary = hk_xprintf("{\"records\":%zu,\"history\":%zu,\"intake\":%" PRId64
                       ",\"dlq\":%" PRId64 ",\"events\":%" PRId64
                       ",\"alerts\":%" PRId64 "}",
                       records, dropped, intake, dlq, events, alerts);
  rc = hk_store_forget_done(sh->st, req->id, summary, FORGET_DONE_S, err);
  if (rc == HK_E_OK) {
    hk_log(HK_LOG_INFO, "subject forgotten", "request", req->id, "by",
           by != NULL ? by : "", "removed", summary, (const char *)NULL);
  }
  free(summary);
  return rc;
}

/* The forget requests queued, oldest first, each once every delivery
 * received before it was acknowledged. */
static enum hk_err forget_all(struct hk_sla_shell *sh,
                              const struct hk_mapper *m, const char *owner,
                              const struct hk_letters *reqs,
                              struct hk_error *err) {
  int got = 0;
  enum hk_err rc =
      hk_store_lock(sh->st, "forget:lock", owner, 30000, &got, err);
  for (size_t i = 0; rc == HK_E_OK && got && i < reqs->n; i++) {
    int settled = 0;
    rc = hk_store_intake_settled(sh->st, reqs->items[i].id, &settled, err);
    if (rc != HK_E_OK || !settled) {
      break; /* its deliveries are still on their way: next time */
    }
    rc = forget(sh, m, &reqs->items[i], err);
  }
  if (got) {
    const char *key[] = {"forget:lock"};
    struct hk_error ignored = {HK_E_OK, ""};
    (void)!hk_store_delete(sh->st, key, 1, &ignored);
  }
  return rc;
}

/* Every HK_FORGET_POLL_MS: the requests queued, and whether another
 * worker erased records this loop may remember. */
static enum hk_err poll_requests(struct hk_retention *r,
                                 struct hk_sla_shell *sh,
                                 const struct hk_mapper *m, const char *owner,
                                 struct hk_error *err) {
  struct hk_letters reqs = {NULL, 0};
  int64_t gen = 0;
  enum hk_err rc = hk_store_stream_page(sh->st, "forget", NULL, 16, &reqs, err);
  if (rc == HK_E_OK && reqs.n > 0) {
    rc = forget_all(sh, m, owner, &reqs, err);
  }
  hk_letters_fini(&reqs);
  if (rc == HK_E_OK) {
    rc = hk_store_stat_get(sh->st, "erase_gen", &gen, err);
  }
  if (rc == HK_E_OK && gen != r->erase_gen) {
    if (sh->stages != NULL) {
      hk_stages_forget_seen(sh->stages);
    }
    r->erase_gen = gen;
  }
  return rc;
}

enum hk_err hk_retention_duty(struct hk_retention *r, struct hk_sla_shell *sh,
                              const struct hk_mapper *m, const char *owner,
                              struct hk_error *err) {
  int64_t now = hk_time_mono_ms();
  int64_t every = r->every_ms > 0 ? r->every_ms : HK_RETENTION_EVERY_MS;
  enum hk_err rc = HK_E_OK;
  if (r->last_poll == 0 || now - r->last_poll >= HK_FORGET_POLL_MS) {
    r->last_poll = now;
    rc = poll_requests(r, sh, m, owner, err);
  }
  if (rc == HK_E_OK && (r->last_pass == 0 || now - r->last_pass >= every)) {
    int got = 0;
    r->last_pass = now;
    rc = hk_store_lock(sh->st, "retention:lock", owner,
                       every - 1000 > 0 ? every - 1000 : every, &got, err);
    if (rc == HK_E_OK && got) {
      rc = pass(r, sh, err);
    }
  }
  return rc;
}
