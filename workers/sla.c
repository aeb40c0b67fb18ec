/*
 * sla.c -- the worker's SLA shell: applies journey events to the clocks kept
 * in Redis, wakes the clocks whose warning or deadline came, and queues
 * their alerts.
 *
 * The clocks themselves are computed by the pure hk_clock_eval (clock.c);
 * this file only reads and writes them. One record per handoff and subject
 * (store.h, "SLA clocks") holds
 *
 *   {"e": [event…], "s": [[start_id, state, incomplete, alerted]…]}
 *
 * "e" is every event of the subject the handoff listens to, slimmed to what
 * the handoff reads (hk_handoff_slim) and kept once per id; "s" is the
 * summary of the clocks as last written: their state, whether they started
 * incomplete, and which alerts went out (bit 0 warning, bit 1 breach).
 *
 * A change is read, recomputed and written by optimistic check-and-set:
 * hk_store_clock_get WATCHes the record, and hk_store_clock_put writes the
 * new record, the counter deltas (new summary minus old, per state), the
 * next due time and the alerts in one MULTI, or reports that another worker
 * wrote first, and the whole step starts over. Since a clock is a function
 * of the set of its events, and the counters move by the difference between
 * the summaries written, any order of events over any number of workers
 * ends in the same clocks and counters. An alert is queued in the same
 * MULTI that records it in the summary, so each goes out once per clock and
 * state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "workers/sla_shell.h"

#define ALERTED_WARNING 1
#define ALERTED_BREACH 2
/* Check-and-set rounds before giving up on a hot clock (the delivery then
 * stays pending and is processed again). */
#define CAS_TRIES 32

/* The counters of {prefix}hcount:HANDOFF: one per state, then these. */
#define COUNTER_STARTED HK_CLOCK_STATES
#define COUNTER_INCOMPLETE (HK_CLOCK_STATES + 1)
#define NCOUNTERS (HK_CLOCK_STATES + 2)

static const char *const counter_names[NCOUNTERS] = {
    "open",   "at_risk",  "paused",    "met",       "breached",
    "met_late", "cancelled", "started", "incomplete"};

/* ---------------------------------------------------------------------------
 * The record
 * ------------------------------------------------------------------------- */

/* The record's parts, parsed; an absent or unreadable record is empty. */
struct record {
  json_t *events;  /* array (owned) */
  json_t *summary; /* array (owned) */
};

static void record_parse(const char *text, struct record *r) {
  json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
  r->events = json_incref(json_object_get(doc, "e"));
  r->summary = json_incref(json_object_get(doc, "s"));
  if (!json_is_array(r->events)) {
    json_decref(r->events);
    r->events = json_array();
  }
  if (!json_is_array(r->summary)) {
    json_decref(r->summary);
    r->summary = json_array();
  }
  json_decref(doc);
}

static void record_fini(struct record *r) {
  json_decref(r->events);
  json_decref(r->summary);
}

/* 1 when events holds an event with that id. */
static int has_event(const json_t *events, const char *id) {
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    const char *x = json_string_value(json_object_get(e, "id"));
    if (x != NULL && strcmp(x, id) == 0) {
      return 1;
    }
  }
  return 0;
}

/* The alerted bits the old summary records for the clock started by id. */
static int alerted_of(const json_t *summary, const char *start_id) {
  size_t i;
  json_t *s;
  json_array_foreach(summary, i, s) {
    const char *x = json_string_value(json_array_get(s, 0));
    if (x != NULL && strcmp(x, start_id) == 0) {
      return (int)json_integer_value(json_array_get(s, 3));
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------
 * Alerts
 * ------------------------------------------------------------------------- */

/* "company:8812" as a path segment: everything but unreserved characters
 * percent-encoded. A new string (caller frees). */
static char *path_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = hk_xmalloc(n * 3 + 1);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out[j++] = (char)c;
    } else {
      out[j++] = '%';
      out[j++] = hex[c >> 4];
      out[j++] = hex[c & 15];
    }
  }
  out[j] = '\0';
  return out;
}

/* Appends to alerts (an array of strings) one alert JSON per notifier of
 * the handoff for clock c now in state. */
static void make_alerts(const struct hk_sla_shell *sh,
                        const struct hk_handoff *h, const char *subject,
                        const struct hk_clock *c, const char *state,
                        json_t *alerts) {
  json_t *conf =
      json_object_get(json_object_get(sh->cfg->doc, "handoffs"),
                      hk_handoff_name(h));
  json_t *notify = json_object_get(conf, "notify");
  char *escaped = path_escape(subject);
  size_t n = strlen(escaped) + 16;
  char *link = hk_xmalloc(n);
  size_t i;
  json_t *name;

  snprintf(link, n, "/v1/subjects/%s", escaped);
  json_array_foreach(notify, i, name) {
    char id[512];
    json_t *a;
    char *text;
    snprintf(id, sizeof id, "%s:%s:%" PRId64 ":%s", hk_handoff_name(h),
             subject, c->started_ms, state);
    a = json_pack("{s:s, s:O, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "id", id,
                  "notifier", name, "handoff", hk_handoff_name(h), "subject",
                  subject, "state", state, "owner",
                  c->owner != NULL ? c->owner : hk_handoff_owner(h),
                  "started", (json_int_t)c->started_ms, "deadline",
                  (json_int_t)c->deadline_ms, "link", link);
    text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
    json_array_append_new(alerts, json_string(text));
    free(text);
    json_decref(a);
  }
  free(link);
  free(escaped);
}

/* ---------------------------------------------------------------------------
 * One check-and-set round
 * ------------------------------------------------------------------------- */

/* The next instant the clocks may change state with no event. */
static int64_t next_due(const struct hk_clocks *cs) {
  int64_t due = HK_STORE_NOT_DUE;
  for (size_t i = 0; i < cs->n; i++) {
    const struct hk_clock *c = &cs->items[i];
    int64_t t = HK_NEVER;
    if (c->state == HK_CLOCK_OPEN) {
      t = c->warn_ms < c->deadline_ms ? c->warn_ms : c->deadline_ms;
    } else if (c->state == HK_CLOCK_AT_RISK) {
      t = c->deadline_ms;
    }
    if (t != HK_NEVER && t < due) {
      due = t;
    }
  }
  return due;
}

/* The clocks of the record's events as of now. The events array is
 * borrowed by the hk_clock_event views for the call only. */
static void evaluate(const struct hk_handoff *h, const json_t *events,
                     int64_t now_ms, struct hk_clocks *out) {
  size_t n = json_array_size(events);
  struct hk_clock_event *v = hk_xcalloc(n > 0 ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(events, i);
    v[i].id = json_string_value(json_object_get(e, "id"));
    v[i].type = json_string_value(json_object_get(e, "type"));
    v[i].at_ms = (int64_t)json_integer_value(json_object_get(e, "at"));
    v[i].attrs = json_object_get(e, "attrs");
    if (v[i].id == NULL) {
      v[i].id = "";
    }
    if (v[i].type == NULL) {
      v[i].type = "";
    }
  }
  hk_clock_eval(h, v, n, now_ms, out);
  free(v);
}

/*
 * One round: read (and WATCH) the record, add ev when new, recompute, write
 * back. *done is 0 when another writer came first (start over). Returns
 * HK_E_UNAVAILABLE when Redis failed.
 */
static enum hk_err round_once(struct hk_sla_shell *sh,
                              const struct hk_handoff *h, const char *subject,
                              json_t *ev, int64_t now_ms, int *done,
                              struct hk_error *err) {
  char *text = NULL;
  struct record rec;
  struct hk_clocks cs = {NULL, 0};
  json_t *summary = json_array();
  json_t *alerts = json_array();
  int64_t deltas[NCOUNTERS] = {0};
  const char **alert_v = NULL;
  json_t *doc;
  char *out = NULL;
  size_t i;
  json_t *s;
  enum hk_err rc;
  int changed;

  *done = 0;
  rc = hk_store_clock_get(sh->st, hk_handoff_name(h), subject, &text, err);
  if (rc != HK_E_OK) {
    goto out;
  }
  record_parse(text, &rec);
  changed = ev == NULL; /* a tick re-evaluates as of now */
  if (ev != NULL &&
      !has_event(rec.events,
                 json_string_value(json_object_get(ev, "id")))) {
    json_array_append(rec.events, ev);
    changed = 1;
  }
  if (!changed) {
    rc = hk_store_clock_unwatch(sh->st, err);
    *done = 1;
    record_fini(&rec);
    goto out;
  }
  evaluate(h, rec.events, now_ms, &cs);

  /* Counters: the old summary out, the new one in. */
  json_array_foreach(rec.summary, i, s) {
    int st = (int)json_integer_value(json_array_get(s, 1));
    if (st >= 0 && st < HK_CLOCK_STATES) {
      deltas[st]--;
    }
    deltas[COUNTER_STARTED]--;
    deltas[COUNTER_INCOMPLETE] -= json_integer_value(json_array_get(s, 2));
  }
  for (i = 0; i < cs.n; i++) {
    const struct hk_clock *c = &cs.items[i];
    int alerted = alerted_of(rec.summary, c->start_id);
    int incomplete = json_array_size(c->missing) > 0;
    if (c->state == HK_CLOCK_BREACHED && !(alerted & ALERTED_BREACH)) {
      make_alerts(sh, h, subject, c, "breached", alerts);
      /* A clock found breached at once (a late event) skips the warning. */
      alerted |= ALERTED_BREACH | ALERTED_WARNING;
    } else if (c->state == HK_CLOCK_AT_RISK && !(alerted & ALERTED_WARNING)) {
      make_alerts(sh, h, subject, c, "at_risk", alerts);
      alerted |= ALERTED_WARNING;
    }
    deltas[c->state]++;
    deltas[COUNTER_STARTED]++;
    deltas[COUNTER_INCOMPLETE] += incomplete;
    json_array_append_new(summary,
                          json_pack("[s, i, i, i]", c->start_id, (int)c->state,
                                    incomplete, alerted));
  }
  doc = json_pack("{s:O, s:O}", "e", rec.events, "s", summary);
  out = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (out == NULL) {
    abort(); /* out of memory: nothing was acknowledged */
  }
  alert_v = hk_xcalloc(json_array_size(alerts) + 1, sizeof *alert_v);
  for (i = 0; i < json_array_size(alerts); i++) {
    alert_v[i] = json_string_value(json_array_get(alerts, i));
  }
  {
    struct hk_clock_put p = {
        .handoff = hk_handoff_name(h),
        .subject = subject,
        .record = out,
        .due_ms = next_due(&cs),
        .counters = counter_names,
        .deltas = deltas,
        .ncounters = NCOUNTERS,
        .alerts = alert_v,
        .nalerts = json_array_size(alerts),
    };
    int conflict = 0;
    rc = hk_store_clock_put(sh->st, &p, &conflict, err);
    *done = rc == HK_E_OK && !conflict;
    if (*done) {
      sh->alerts_queued += json_array_size(alerts);
    }
  }
  record_fini(&rec);
out:
  free(alert_v);
  free(out);
  free(text);
  hk_clocks_fini(&cs);
  json_decref(summary);
  json_decref(alerts);
  return rc;
}

/* Applies ev (or, when NULL, the passing of time) to one clock record. */
static enum hk_err update(struct hk_sla_shell *sh, const struct hk_handoff *h,
                          const char *subject, json_t *ev, int64_t now_ms,
                          struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  int done = 0;
  for (int tries = 0; rc == HK_E_OK && !done; tries++) {
    if (tries == CAS_TRIES) {
      rc = hk_fail(err, HK_E_UNAVAILABLE,
                   "the clock of %s for %s changed under %d tries in a row",
                   hk_handoff_name(h), subject, CAS_TRIES);
      break;
    }
    rc = round_once(sh, h, subject, ev, now_ms, &done, err);
  }
  return rc;
}

/* ---------------------------------------------------------------------------
 * The doors
 * ------------------------------------------------------------------------- */

void hk_sla_shell_init(struct hk_sla_shell *sh, const struct hk_config *cfg,
                       const struct hk_sla *sla, struct hk_store *st) {
  memset(sh, 0, sizeof *sh);
  sh->cfg = cfg;
  sh->sla = sla;
  sh->st = st;
}

enum hk_err hk_sla_shell_apply(struct hk_sla_shell *sh,
                               const struct hk_event *ev, int64_t now_ms,
                               struct hk_error *err) {
  enum hk_err rc = HK_E_OK;
  for (size_t i = 0; rc == HK_E_OK && i < hk_sla_count(sh->sla); i++) {
    const struct hk_handoff *h = hk_sla_at(sh->sla, i);
    json_t *slim;
    if (!hk_handoff_wants(h, ev->type)) {
      continue;
    }
    slim = hk_handoff_slim(h, ev->id, ev->type, ev->at_ms, ev->attrs);
    rc = update(sh, h, ev->subject, slim, now_ms, err);
    json_decref(slim);
  }
  return rc;
}

enum hk_err hk_sla_shell_tick(struct hk_sla_shell *sh, int64_t now_ms,
                              size_t *woken, struct hk_error *err) {
  struct hk_strings due = {NULL, 0};
  enum hk_err rc;

  *woken = 0;
  rc = hk_store_due_take(sh->st, now_ms, HK_SLA_LEASE_MS, HK_CAP_BATCH, &due,
                         err);
  for (size_t i = 0; rc == HK_E_OK && i < due.n; i++) {
    char *colon = strchr(due.v[i], ':');
    const struct hk_handoff *h;
    if (colon == NULL) {
      continue;
    }
    *colon = '\0';
    h = hk_sla_find(sh->sla, due.v[i]);
    if (h == NULL) {
      continue; /* a handoff taken out of the config: its lease lapses */
    }
    rc = update(sh, h, colon + 1, NULL, now_ms, err);
    (*woken)++;
  }
  hk_strings_fini(&due);
  return rc;
}
