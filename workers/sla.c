/*
 * sla.c -- the worker's SLA shell: applies journey events to the clocks kept
 * in Redis, wakes the clocks whose warning or deadline came, and queues
 * their alerts.
 *
 * The clocks themselves are computed by the pure hk_clock_eval (clock.c);
 * this file only reads and writes them. One record per handoff and subject
 * (store.h, "SLA clocks") holds
 *
 *   {"e": [[id, type, at, attrs?]…], "s": [[state, incomplete, alerted,
 *    started]…]}
 *
 * "e" is every event of the subject the handoff listens to, slimmed to what
 * the handoff reads (hk_handoff_slim) and kept once per id, as arrays rather
 * than objects to keep a million open clocks small; "s" is the summary of
 * the clocks as last written, in order of start: their state, whether they
 * started incomplete, and which alerts went out (bit 0 warning, bit 1
 * breach), with the start time only when an alert went out, and trailing
 * zeros left out.
 *
 * A batch of changes is read, recomputed and written by optimistic
 * check-and-set: the records are read in one pipeline, and each new record
 * is written with its counter deltas (new summary minus old, per state),
 * its next due time and its alerts by one script that first checks the
 * record is still the one read; a record another worker wrote meanwhile is
 * read and recomputed again. Since a clock is a function
 * of the set of its events, and the counters move by the difference between
 * the summaries written, any order of events over any number of workers
 * ends in the same clocks and counters. An alert is queued in the same
 * script that records it in the summary, so each goes out once per clock and
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
    "open",     "at_risk",   "paused",  "met",       "breached",
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

/* 1 when events holds this very event (the same id and the same content).
 * Two copies of one id that differ (a retry mapped at another receive time)
 * are both kept: hk_clock_eval lets the one that sorts first stand for the
 * id, whatever order they came in. */
static int has_event(const json_t *events, const json_t *e) {
  const char *id = json_string_value(json_array_get(e, 0));
  size_t i;
  json_t *x;
  json_array_foreach(events, i, x) {
    const char *xid = json_string_value(json_array_get(x, 0));
    if (xid != NULL && id != NULL && strcmp(xid, id) == 0 && json_equal(x, e)) {
      return 1;
    }
  }
  return 0;
}

/* The alerted bits the old summary records for the clock started by id. */
static int alerted_of(const json_t *summary, int64_t started_ms) {
  size_t i;
  json_t *s;
  json_array_foreach(summary, i, s) {
    if (json_array_size(s) == 4 &&
        (int64_t)json_integer_value(json_array_get(s, 3)) == started_ms) {
      return (int)json_integer_value(json_array_get(s, 2));
    }
  }
  return 0;
}

/* The record's form of a slim event {id, type, at, attrs}: [id, type, at]
 * and the attrs when there are any. A new reference. */
static json_t *compact(const json_t *slim) {
  json_t *attrs = json_object_get(slim, "attrs");
  json_t *a =
      json_pack("[O, O, O]", json_object_get(slim, "id"),
                json_object_get(slim, "type"), json_object_get(slim, "at"));
  if (a == NULL) {
    abort(); /* out of memory, or a slim event without its members */
  }
  if (json_object_size(attrs) > 0) {
    json_array_append(a, attrs);
  }
  return a;
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
  json_t *conf = json_object_get(json_object_get(sh->cfg->doc, "handoffs"),
                                 hk_handoff_name(h));
  json_t *notify = json_object_get(conf, "notify");
  char *escaped = path_escape(subject);
  size_t n = strlen(escaped) + 16;
  char *link = hk_xmalloc(n);
  size_t i;
  json_t *name;

  snprintf(link, n, "/v1/subjects/%s", escaped);
  json_array_foreach(notify, i, name) {
    /* Sized to fit, never cut: a cut could split a UTF-8 character, and
     * would make the two alerts of a clock share an id. */
    size_t idn = strlen(hk_handoff_name(h)) + strlen(subject) + 48;
    char *id = hk_xmalloc(idn);
    json_t *a;
    char *text;
    snprintf(id, idn, "%s:%s:%" PRId64 ":%s", hk_handoff_name(h), subject,
             c->started_ms, state);
    a = json_pack("{s:s, s:O, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "id", id,
                  "notifier", name, "handoff", hk_handoff_name(h), "subject",
                  subject, "state", state, "owner",
                  c->owner != NULL ? c->owner : hk_handoff_owner(h), "started",
                  (json_int_t)c->started_ms, "deadline",
                  (json_int_t)c->deadline_ms, "link", link);
    text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
    json_array_append_new(alerts, json_string(text));
    free(text);
    free(id);
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
    v[i].id = json_string_value(json_array_get(e, 0));
    v[i].type = json_string_value(json_array_get(e, 1));
    v[i].at_ms = (int64_t)json_integer_value(json_array_get(e, 2));
    v[i].attrs = json_array_get(e, 3); /* NULL when none */
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

void hk_record_clocks(const struct hk_handoff *h, const char *record,
                      int64_t now_ms, struct hk_clocks *out) {
  struct record rec;
  record_parse(record, &rec);
  evaluate(h, rec.events, now_ms, out);
  record_fini(&rec);
}

/* One clock record the batch touches, and what becomes of it. */
struct pair {
  const struct hk_handoff *h;
  const char *subject; /* borrowed from the event or the due member */
  json_t *adds;        /* slim events to add (owned); empty for a tick */
  char *old;           /* the record as read (owned), or NULL */
  char *record;        /* the new one (owned), or NULL when unchanged */
  int64_t due;
  int64_t deltas[NCOUNTERS];
  json_t *alerts; /* array of alert JSON strings (owned) */
  const char **alert_v;
  int done;
};

static void pair_reset(struct pair *p) {
  free(p->old);
  free(p->record);
  free(p->alert_v);
  json_decref(p->alerts);
  p->old = NULL;
  p->record = NULL;
  p->alert_v = NULL;
  p->alerts = NULL;
}

/*
 * Computes p's new record from p->old and p->adds as of now: the record,
 * the counter deltas, the due time and the alerts. Leaves p->record NULL
 * when nothing changes (every event was there already).
 */
static void compute(const struct hk_sla_shell *sh, struct pair *p,
                    int64_t now_ms) {
  struct record rec;
  struct hk_clocks cs = {NULL, 0};
  json_t *summary;
  json_t *doc;
  int changed = json_array_size(p->adds) == 0; /* a tick re-evaluates */
  size_t i;
  json_t *s;

  memset(p->deltas, 0, sizeof p->deltas);
  p->alerts = json_array();
  record_parse(p->old, &rec);
  json_array_foreach(p->adds, i, s) {
    json_t *e = compact(s);
    if (!has_event(rec.events, e)) {
      json_array_append(rec.events, e);
      changed = 1;
    }
    json_decref(e);
  }
  if (!changed) {
    record_fini(&rec);
    return;
  }
  evaluate(p->h, rec.events, now_ms, &cs);
  summary = json_array();
  /* Counters: the old summary out, the new one in. */
  json_array_foreach(rec.summary, i, s) {
    int st = (int)json_integer_value(json_array_get(s, 0));
    if (st >= 0 && st < HK_CLOCK_STATES) {
      p->deltas[st]--;
    }
    p->deltas[COUNTER_STARTED]--;
    p->deltas[COUNTER_INCOMPLETE] -= json_integer_value(json_array_get(s, 1));
  }
  for (i = 0; i < cs.n; i++) {
    const struct hk_clock *c = &cs.items[i];
    int alerted = alerted_of(rec.summary, c->started_ms);
    int incomplete = json_array_size(c->missing) > 0;
    if (c->state == HK_CLOCK_BREACHED && !(alerted & ALERTED_BREACH)) {
      make_alerts(sh, p->h, p->subject, c, "breached", p->alerts);
      /* A clock found breached at once (a late event) skips the warning. */
      alerted |= ALERTED_BREACH | ALERTED_WARNING;
    } else if (c->state == HK_CLOCK_AT_RISK && !(alerted & ALERTED_WARNING)) {
      make_alerts(sh, p->h, p->subject, c, "at_risk", p->alerts);
      alerted |= ALERTED_WARNING;
    }
    p->deltas[c->state]++;
    p->deltas[COUNTER_STARTED]++;
    p->deltas[COUNTER_INCOMPLETE] += incomplete;
    {
      /* [state, incomplete, alerted, started]: the start only when an
       * alert went out (only alerts need to know which clock is which;
       * counters need only how many are in each state), and trailing zeros
       * left out, so a million open clocks stay small. */
      json_t *e = json_array();
      if (alerted != 0) {
        json_array_append_new(e, json_integer((int)c->state));
        json_array_append_new(e, json_integer(incomplete));
        json_array_append_new(e, json_integer(alerted));
        json_array_append_new(e, json_integer((json_int_t)c->started_ms));
      } else if (incomplete != 0) {
        json_array_append_new(e, json_integer((int)c->state));
        json_array_append_new(e, json_integer(incomplete));
      } else if (c->state != 0) {
        json_array_append_new(e, json_integer((int)c->state));
      }
      json_array_append_new(summary, e);
    }
  }
  doc = json_pack("{s:O, s:o}", "e", rec.events, "s", summary);
  p->record = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (p->record == NULL) {
    abort(); /* out of memory: nothing was acknowledged */
  }
  p->due = next_due(&cs);
  p->alert_v = hk_xcalloc(json_array_size(p->alerts) + 1, sizeof *p->alert_v);
  for (i = 0; i < json_array_size(p->alerts); i++) {
    p->alert_v[i] = json_string_value(json_array_get(p->alerts, i));
  }
  hk_clocks_fini(&cs);
  record_fini(&rec);
}

/*
 * Brings every pair to its new record: read the records in one pipeline,
 * compute, write those that changed in one pipeline, and start over for
 * those another worker wrote meanwhile. Returns HK_E_UNAVAILABLE when Redis
 * failed or a record stayed contended for CAS_TRIES rounds.
 */
static enum hk_err settle(struct hk_sla_shell *sh, struct pair *pairs, size_t n,
                          int64_t now_ms, struct hk_error *err) {
  const char **hs = hk_xcalloc(n + 1, sizeof *hs);
  const char **ss = hk_xcalloc(n + 1, sizeof *ss);
  char **olds = hk_xcalloc(n + 1, sizeof *olds);
  struct hk_clock_put *puts = hk_xcalloc(n + 1, sizeof *puts);
  struct pair **todo = hk_xcalloc(n + 1, sizeof(struct pair *));
  int *written = hk_xcalloc(n + 1, sizeof *written);
  enum hk_err rc = HK_E_OK;
  int tries = 0;

  for (;;) {
    size_t m = 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
      if (!pairs[i].done) {
        pair_reset(&pairs[i]);
        todo[m] = &pairs[i];
        hs[m] = hk_handoff_name(pairs[i].h);
        ss[m] = pairs[i].subject;
        m++;
      }
    }
    if (m == 0) {
      break;
    }
    if (tries++ == CAS_TRIES) {
      rc = hk_fail(err, HK_E_UNAVAILABLE,
                   "%zu clocks changed under %d tries in a row", m, CAS_TRIES);
      break;
    }
    rc = hk_store_clocks_get(sh->st, hs, ss, m, olds, err);
    if (rc != HK_E_OK) {
      break;
    }
    for (size_t i = 0; i < m; i++) {
      struct pair *p = todo[i];
      p->old = olds[i];
      compute(sh, p, now_ms);
      if (p->record == NULL) {
        p->done = 1; /* nothing new */
        continue;
      }
      puts[w] = (struct hk_clock_put){
          .handoff = hk_handoff_name(p->h),
          .subject = p->subject,
          .old = p->old,
          .record = p->record,
          .due_ms = p->due,
          .counters = counter_names,
          .deltas = p->deltas,
          .ncounters = NCOUNTERS,
          .alerts = p->alert_v,
          .nalerts = json_array_size(p->alerts),
      };
      todo[w++] = p;
    }
    rc = hk_store_clocks_put(sh->st, puts, w, written, err);
    if (rc != HK_E_OK) {
      break;
    }
    for (size_t i = 0; i < w; i++) {
      if (written[i]) {
        todo[i]->done = 1;
        sh->alerts_queued += json_array_size(todo[i]->alerts);
      }
    }
  }
  free(written);
  free(todo);
  free(puts);
  free(olds);
  free(ss);
  free(hs);
  return rc;
}

static void pairs_free(struct pair *pairs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pair_reset(&pairs[i]);
    json_decref(pairs[i].adds);
  }
  free(pairs);
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
                               const struct hk_event *const *evs, size_t n,
                               int64_t now_ms, struct hk_error *err) {
  size_t cap = 16;
  size_t np = 0;
  struct pair *pairs = hk_xcalloc(cap, sizeof *pairs);
  enum hk_err rc;

  /* One pair per (handoff, subject), holding all of the batch's events for
   * it: a subject's events are applied together. */
  for (size_t e = 0; e < n; e++) {
    for (size_t i = 0; i < hk_sla_count(sh->sla); i++) {
      const struct hk_handoff *h = hk_sla_at(sh->sla, i);
      struct pair *p = NULL;
      if (!hk_handoff_wants(h, evs[e]->type)) {
        continue;
      }
      for (size_t k = 0; k < np && p == NULL; k++) {
        if (pairs[k].h == h && strcmp(pairs[k].subject, evs[e]->subject) == 0) {
          p = &pairs[k];
        }
      }
      if (p == NULL) {
        if (np == cap) {
          cap *= 2;
          pairs = hk_xrealloc(pairs, cap * sizeof *pairs);
        }
        p = &pairs[np++];
        memset(p, 0, sizeof *p);
        p->h = h;
        p->subject = evs[e]->subject;
        p->adds = json_array();
      }
      json_array_append_new(p->adds,
                            hk_handoff_slim(h, evs[e]->id, evs[e]->type,
                                            evs[e]->at_ms, evs[e]->attrs));
    }
  }
  rc = settle(sh, pairs, np, now_ms, err);
  pairs_free(pairs, np);
  return rc;
}

/* The handoffs' names, borrowed from the sla, in a new array. */
static const char **handoff_names(const struct hk_sla_shell *sh) {
  size_t n = hk_sla_count(sh->sla);
  const char **v = hk_xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    v[i] = hk_handoff_name(hk_sla_at(sh->sla, i));
  }
  return v;
}

enum hk_err hk_sla_shell_next_due(struct hk_sla_shell *sh, int64_t *next_ms,
                                  struct hk_error *err) {
  const char **names = handoff_names(sh);
  enum hk_err rc =
      hk_store_due_next(sh->st, names, hk_sla_count(sh->sla), next_ms, err);
  free(names);
  return rc;
}

enum hk_err hk_sla_shell_tick(struct hk_sla_shell *sh, int64_t now_ms,
                              size_t *woken, struct hk_error *err) {
  struct hk_strings due = {NULL, 0};
  struct pair *pairs = NULL;
  size_t np = 0;
  enum hk_err rc;

  *woken = 0;
  const char **names = handoff_names(sh);
  rc = hk_store_due_take(sh->st, names, hk_sla_count(sh->sla), now_ms,
                         HK_SLA_LEASE_MS, HK_CAP_BATCH, &due, err);
  free(names);
  if (rc == HK_E_OK && due.n > 0) {
    pairs = hk_xcalloc(due.n, sizeof *pairs);
    for (size_t i = 0; i < due.n; i++) {
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
      pairs[np].h = h;
      pairs[np].subject = colon + 1;
      pairs[np].adds = json_array();
      np++;
    }
    rc = settle(sh, pairs, np, now_ms, err);
    *woken = np;
    pairs_free(pairs, np);
  }
  hk_strings_fini(&due);
  return rc;
}
