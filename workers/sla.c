/*
 * sla.c -- the worker's SLA shell: applies journey events to the clocks kept
 * in Redis, wakes the clocks whose warning or deadline came, and queues
 * their alerts.
 *
 * The clocks themselves are computed by the pure hk_clock_eval
 * (journey/clock.c), and the record kept per handoff and subject (store.h,
 * "SLA clocks") is encoded and decoded by journey/record.c, which describes
 * it; this file reads and writes records, and moves the counters, the state
 * indexes and the KPI buckets by what their summaries changed
 * (count_entry).
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
#include "workers/cas.h"
#include "workers/kpi.h"
#include "workers/sla_shell.h"

/* ---------------------------------------------------------------------------
 * Alerts
 * ------------------------------------------------------------------------- */

/* Appends to alerts (an array of strings) one alert JSON per notifier of
 * step k of the handoff's ladder for clock c (journey/ladder.c decides the
 * steps, journey/alert.c encodes them): the step's recipients resolved
 * through the owners directory, the link absolute under api.public_url. */
static void make_alerts(const struct hk_sla_shell *sh,
                        const struct hk_handoff *h, const char *subject,
                        const struct hk_clock *c, size_t k, json_t *alerts) {
  const json_t *doc = sh->cfg->doc;
  const struct hk_step *step = &hk_handoff_ladder(h)->steps[k];
  const char *state = hk_clock_state_name(step->state);
  const char *owner = c->owner != NULL ? c->owner : hk_handoff_owner(h);
  char *st = step->first ? hk_xstrdup(state) : hk_xprintf("%s.%zu", state, k);
  char *id = hk_alert_id_new(hk_handoff_name(h), subject, c->started_ms, st);
  char *link =
      hk_alert_link_new(json_string_value(json_object_get(
                            json_object_get(doc, "api"), "public_url")),
                        hk_config_mount(sh->cfg), subject);
  json_t *to = hk_ladder_recipients(step, owner, doc);
  struct hk_alert a = {
      .id = id,
      .handoff = hk_handoff_name(h),
      .subject = subject,
      .state = state,
      .owner = owner,
      .started_ms = c->started_ms,
      .deadline_ms = c->deadline_ms,
      .link = link,
      .step = (int)k,
      .owner_name = json_string_value(json_object_get(
          json_object_get(json_object_get(doc, "owners"), owner), "name")),
      .subject_name = c->subject_name,
      .recipients = to,
  };
  size_t i;
  json_t *name;

  json_array_foreach(step->notify, i, name) {
    char *text = hk_alert_dump(&a, json_string_value(name));
    if (text == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
    json_array_append_new(alerts, json_string(text));
    free(text);
  }
  json_decref(to);
  free(link);
  free(id);
  free(st);
}

/* ---------------------------------------------------------------------------
 * One check-and-set round
 * ------------------------------------------------------------------------- */

/* A start as it orders the clocks with no deadline: within [0, 2^52), so
 * the score stays past HK_STORE_NO_DEADLINE and below 2^53 whatever time
 * an event gave (one before 1970, or far ahead, never comes due). */
static int64_t no_deadline_start(int64_t started_ms) {
  if (started_ms < 0) {
    return 0;
  }
  return started_ms < HK_STORE_NO_DEADLINE ? started_ms
                                           : HK_STORE_NO_DEADLINE - 1;
}

/* The next instant the clocks may change state with no event. An open
 * clock with no deadline (its deadline attribute missing) never comes
 * due, but stays in the due index past HK_STORE_NO_DEADLINE, so the listing
 * of running clocks (GET …/clocks?state=open) shows it, last: it is
 * counted in running.open like any other. */
static int64_t next_due(const struct hk_clocks *cs) {
  int64_t due = HK_STORE_NOT_DUE;
  for (size_t i = 0; i < cs->n; i++) {
    const struct hk_clock *c = &cs->items[i];
    int64_t t = HK_NEVER;
    if (c->state == HK_CLOCK_OPEN) {
      t = c->warn_ms < c->deadline_ms ? c->warn_ms : c->deadline_ms;
      if (t == HK_NEVER) {
        t = HK_STORE_NO_DEADLINE + no_deadline_start(c->started_ms);
      }
    } else if (c->state == HK_CLOCK_AT_RISK) {
      t = c->deadline_ms;
    }
    if (t != HK_NEVER && t < due) {
      due = t;
    }
  }
  return due;
}

/* The next due time with the ladder's steps still to come: next (from
 * next_due) or the earliest step of a running clock not yet sent, so a
 * clock breached for an hour is woken to escalate. steps[i] holds that
 * step's time for clock i (HK_NEVER: none). */
static int64_t next_due_steps(int64_t next, const int64_t *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (steps[i] != HK_NEVER && steps[i] < next) {
      next = steps[i];
    }
  }
  return next;
}

/* ---------------------------------------------------------------------------
 * What a summary entry counts
 *
 * A summary entry [state, missing, alerted, start, bucket] is what the
 * counters, the state indexes and the KPI buckets hold of one clock, so a
 * record's change moves them by taking its old entries out and its new
 * ones in. missing names the attributes the start lacked (0: none), bucket
 * is the response time's (hk_kpi_bucket) for met and met late clocks.
 * ------------------------------------------------------------------------- */

/* Clocks in these states leave the due index and are listed by start in
 * {prefix}cs:HANDOFF:STATE. */
static int indexed(int state) {
  return state == HK_CLOCK_PAUSED || state == HK_CLOCK_BREACHED ||
         state == HK_CLOCK_MET || state == HK_CLOCK_MET_LATE ||
         state == HK_CLOCK_CANCELLED;
}

/* The member of a clock in a state index. A new string. */
static char *index_member(int64_t started_ms, const char *subject) {
  return hk_store_index_member(started_ms, subject);
}

/* 1 when other (a summary) holds an entry of the same state and start
 * event. */
static int has_same(const json_t *other, const json_t *s) {
  size_t i;
  json_t *x;
  json_array_foreach(other, i, x) {
    if (hk_record_entry_int(x, 0) == hk_record_entry_int(s, 0) &&
        hk_record_entry_int(x, 3) == hk_record_entry_int(s, 3)) {
      return 1;
    }
  }
  return 0;
}

/* 1 when summary holds an entry equal to s. */
static int has_equal(const json_t *summary, const json_t *s) {
  size_t i;
  json_t *x;
  json_array_foreach(summary, i, x) {
    if (json_equal(x, s)) {
      return 1;
    }
  }
  return 0;
}

/* Moves the KPI buckets of the entry's groups (member 7, the values of
 * group_by it was counted under) by sign: {prefix}gkpi:HANDOFF:DIM:DAY,
 * fields "HH|VALUE|STATE", "HH|VALUE|incomplete", "HH|VALUE|missing:ATTR",
 * "HH|VALUE|r:BUCKET". */
static void count_groups(struct hk_ops *o, const char *name, const json_t *s,
                         int64_t hour, int sign) {
  const char *state =
      hk_clock_state_name((enum hk_clock_state)hk_record_entry_int(s, 0));
  int incomplete = json_array_size(json_array_get(s, 1)) > 0;
  int bucket = (int)hk_record_entry_int(s, 4);
  const char *dim;
  json_t *v;
  char key[200];
  char field[200];
  json_object_foreach(json_array_get(s, 7), dim, v) {
    const char *value = json_string_value(v);
    if (value == NULL) {
      continue;
    }
    snprintf(key, sizeof key, "gkpi:%.64s:%.64s:%" PRId64, name, dim,
             hour / 24);
    snprintf(field, sizeof field, "%02d|%.120s|%s", (int)(hour % 24), value,
             state);
    hk_ops_incr(o, key, field, sign);
    if (incomplete) {
      size_t i;
      const json_t *attr;
      snprintf(field, sizeof field, "%02d|%.120s|incomplete", (int)(hour % 24),
               value);
      hk_ops_incr(o, key, field, sign);
      json_array_foreach(json_array_get(s, 1), i, attr) {
        snprintf(field, sizeof field, "%02d|%.100s|missing:%.64s",
                 (int)(hour % 24), value, json_string_value(attr));
        hk_ops_incr(o, key, field, sign);
      }
    }
    if (bucket > 0) {
      snprintf(field, sizeof field, "%02d|%.120s|r:%d", (int)(hour % 24), value,
               bucket);
      hk_ops_incr(o, key, field, sign);
    }
  }
}

/* Moves the counters, the KPI buckets (unless buckets is 0) and the state
 * index by one entry, sign -1 for an old one and +1 for a new one; other is
 * the other summary, so an entry in both leaves its index alone. */
static void count_entry(struct hk_ops *o, const struct hk_handoff *h,
                        const char *subject, const json_t *events,
                        const json_t *s, const json_t *other, int sign,
                        int buckets) {
  const char *name = hk_handoff_name(h);
  int state = (int)hk_record_entry_int(s, 0);
  const json_t *missing = json_array_get(s, 1);
  int incomplete = json_array_size(missing) > 0;
  char key[160];
  char field[160];
  int64_t started;
  int64_t hour;
  int bucket;

  if (state < 0 || state >= HK_CLOCK_STATES) {
    return;
  }
  snprintf(key, sizeof key, "hcount:%s", name);
  /* {prefix}hcount:HANDOFF: one counter per state, and "incomplete". */
  hk_ops_incr(o, key, hk_clock_state_name((enum hk_clock_state)state), sign);
  hk_ops_incr(o, key, "incomplete", incomplete ? sign : 0);
  /* And "STATE@GOAL" for the clocks at risk or breached, by the goal they
   * are held to, as the summary recorded it. */
  if (json_is_string(json_array_get(s, 5))) {
    snprintf(field, sizeof field, "%s@%.100s",
             hk_clock_state_name((enum hk_clock_state)state),
             json_string_value(json_array_get(s, 5)));
    hk_ops_incr(o, key, field, sign);
  }
  /* And "unknown_owner" (running clocks whose owner id the owners
   * directory did not know) with "unknown_owner:ID" per id, for /metrics
   * and /v1/health. */
  if (json_is_string(json_array_get(s, 6))) {
    hk_ops_incr(o, key, "unknown_owner", sign);
    snprintf(field, sizeof field, "unknown_owner:%.120s",
             json_string_value(json_array_get(s, 6)));
    hk_ops_incr(o, key, field, sign);
  }
  started = hk_record_entry_start(events, s);
  if (indexed(state) && !has_same(other, s)) {
    char *member = index_member(started, subject);
    snprintf(key, sizeof key, "cs:%s:%s", name,
             hk_clock_state_name((enum hk_clock_state)state));
    hk_ops_add(o, sign > 0 ? 'Z' : 'R', key, sign > 0 ? "0" : member,
               sign > 0 ? member : NULL);
    free(member);
  }
  hour = started >= 0 ? started / 3600000 : -1;
  if (hour < 0 || !buckets) {
    return;
  }
  count_groups(o, name, s, hour, sign);
  snprintf(key, sizeof key, "hkpi:%s:%" PRId64, name, hour / 24);
  snprintf(field, sizeof field, "%02d|%s", (int)(hour % 24),
           hk_clock_state_name((enum hk_clock_state)state));
  hk_ops_incr(o, key, field, sign);
  if (incomplete) {
    size_t i;
    const json_t *attr;
    snprintf(field, sizeof field, "%02d|incomplete", (int)(hour % 24));
    hk_ops_incr(o, key, field, sign);
    json_array_foreach(missing, i, attr) {
      snprintf(field, sizeof field, "%02d|missing:%.120s", (int)(hour % 24),
               json_string_value(attr));
      hk_ops_incr(o, key, field, sign);
    }
  }
  bucket = (int)hk_record_entry_int(s, 4);
  if (bucket > 0) {
    snprintf(field, sizeof field, "%02d|r:%d", (int)(hour % 24), bucket);
    hk_ops_incr(o, key, field, sign);
  }
}

/* ---------------------------------------------------------------------------
 * One record
 * ------------------------------------------------------------------------- */

/* The value of the goal clock c is held to, as the config writes it: the
 * `within` or `offset` of its goal, else of the handoff's own SLA ("5m",
 * "-90d"); NULL when the config does not say (borrowed from conf). */
static const char *goal_value(const json_t *conf, const struct hk_clock *c) {
  const json_t *sla = json_object_get(conf, "sla");
  const json_t *g =
      c->goal >= 0
          ? json_array_get(json_object_get(conf, "goals"), (size_t)c->goal)
          : NULL;
  if (g != NULL) {
    const char *v = json_string_value(json_object_get(g, "within"));
    return v != NULL ? v : json_string_value(json_object_get(g, "offset"));
  }
  if (json_object_get(sla, "within") != NULL) {
    return json_string_value(json_object_get(sla, "within"));
  }
  return json_string_value(
      json_object_get(json_object_get(sla, "deadline"), "offset"));
}

/* One clock record the batch touches. */
struct pair {
  const struct hk_handoff *h;
  const char *subject; /* borrowed from the event or the due member */
  json_t *adds;        /* slim events to add (owned); empty for a tick */
  char key[160];       /* "clocks:HANDOFF" */
};

/*
 * Computes the item's new record from it->old and the pair's adds as of
 * now, with what goes with it: counters, indexes, buckets, the due time
 * and the alerts. Leaves it->record NULL when nothing changes (every event
 * was there already).
 */
struct compute_ctx {
  const struct hk_sla_shell *sh;
  int64_t now_ms;
};

static void compute(void *arg, struct hk_cas_item *it) {
  const struct compute_ctx *cx = arg;
  struct pair *p = it->user;
  struct hk_clock_record rec;
  struct hk_clocks cs = {NULL, 0};
  json_t *summary;
  json_t *alerts;
  const json_t *conf;
  int changed = json_array_size(p->adds) == 0; /* a tick re-evaluates */
  int64_t due;
  int64_t *steps;
  json_t *entry;
  size_t i;
  json_t *s;

  hk_record_parse(it->old, &rec);
  json_array_foreach(p->adds, i, s) {
    if (hk_record_add(&rec, s)) {
      changed = 1;
    }
  }
  if (!changed) {
    hk_record_fini(&rec);
    return;
  }
  hk_record_eval(p->h, &rec, cx->now_ms, &cs);
  conf = json_object_get(json_object_get(cx->sh->cfg->doc, "handoffs"),
                         hk_handoff_name(p->h));
  summary = json_array();
  alerts = json_array();
  steps = hk_xcalloc(cs.n + 1, sizeof *steps);
  for (i = 0; i < cs.n; i++) {
    const struct hk_clock *c = &cs.items[i];
    unsigned fire = 0;
    /* The ladder's steps due now, in order, each once per clock (the
     * summary keeps which went out); a late clock skips its warnings. */
    int alerted = hk_ladder_decide(
        p->h, c, hk_record_alerted(&rec, c->started_ms), cx->now_ms, &fire);
    for (size_t k = 0; fire != 0 && k < HK_CAP_LADDER_STEPS; k++) {
      if (fire & (1u << k)) {
        make_alerts(cx->sh, p->h, p->subject, c, k, alerts);
      }
    }
    steps[i] = hk_ladder_next(p->h, c, alerted);
    entry = hk_record_entry_new(&rec, c, alerted, goal_value(conf, c));
    hk_record_entry_groups(
        entry, hk_group_values(conf, cx->sh->cfg->doc, c,
                               hk_record_event_attrs(&rec, c->start_id)));
    json_array_append_new(summary, entry);
  }
  /* The old summary out, the new one in; an entry in both is the same
   * clock counted the same way, and would only cancel out. */
  json_array_foreach(rec.summary, i, s) {
    if (!has_equal(summary, s)) {
      count_entry(&it->ops, p->h, p->subject, rec.events, s, summary, -1, 1);
    }
  }
  json_array_foreach(summary, i, s) {
    if (!has_equal(rec.summary, s)) {
      count_entry(&it->ops, p->h, p->subject, rec.events, s, rec.summary, +1,
                  1);
    }
  }
  due = next_due_steps(next_due(&cs), steps, cs.n);
  free(steps);
  if (due == HK_STORE_NOT_DUE) {
    hk_ops_add(&it->ops, 'U', hk_handoff_name(p->h), p->subject, NULL);
  } else {
    char score[24];
    snprintf(score, sizeof score, "%" PRId64, due);
    hk_ops_add(&it->ops, 'D', hk_handoff_name(p->h), score, p->subject);
  }
  json_array_foreach(alerts, i, s) {
    hk_ops_add(&it->ops, 'X', "alerts", json_string_value(s), NULL);
  }
  json_decref(rec.summary);
  rec.summary = summary;
  it->record = hk_record_dump(&rec);
  json_decref(alerts);
  hk_clocks_fini(&cs);
  hk_record_fini(&rec);
}

/* Brings every pair to its new record, and the stage records of the
 * subjects of evs (n of them; the shell's stages) with them, in the same
 * round trips (hk_cas_settle); counts the alerts queued. */
static enum hk_err settle(struct hk_sla_shell *sh, struct pair *pairs, size_t n,
                          const struct hk_event *const *evs, size_t nevs,
                          int64_t now_ms, struct hk_error *err) {
  struct hk_cas_item *items = hk_xcalloc(n + 1, sizeof *items);
  struct compute_ctx cx = {sh, now_ms};
  struct hk_stages_round *round = NULL;
  size_t total = n;
  enum hk_err rc;
  for (size_t i = 0; i < n; i++) {
    snprintf(pairs[i].key, sizeof pairs[i].key, "clocks:%s",
             hk_handoff_name(pairs[i].h));
    items[i].fn = compute;
    items[i].ctx = &cx;
    items[i].key = pairs[i].key;
    items[i].field = pairs[i].subject;
    items[i].user = &pairs[i];
  }
  if (sh->stages != NULL && nevs > 0) {
    round = hk_stages_begin(sh->stages, evs, nevs, &items, &total);
  }
  rc = hk_cas_settle(sh->st, items, total, err);
  for (size_t i = 0; i < n; i++) {
    if (items[i].written) {
      sh->alerts_queued += hk_ops_count(&items[i].ops, 'X');
    }
  }
  hk_stages_end(round, rc == HK_E_OK);
  hk_cas_items_fini(items, total);
  free(items);
  return rc;
}

static void pairs_free(struct pair *pairs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    json_decref(pairs[i].adds);
  }
  free(pairs);
}

/* ---------------------------------------------------------------------------
 * The doors
 * ------------------------------------------------------------------------- */

void hk_sla_shell_init(struct hk_sla_shell *sh, const struct hk_config *cfg,
                       const struct hk_sla *sla, struct hk_stages *stages,
                       struct hk_store *st) {
  memset(sh, 0, sizeof *sh);
  sh->cfg = cfg;
  sh->sla = sla;
  sh->stages = stages;
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
  rc = settle(sh, pairs, np, evs, n, now_ms, err);
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

/* Once per shell: moves what a due index of the layout before buckets
 * still holds into its buckets, so a worker upgraded in place fires the
 * clocks its predecessor left. */
static enum hk_err due_upgrade(struct hk_sla_shell *sh, struct hk_error *err) {
  if (sh->due_upgraded) {
    return HK_E_OK;
  }
  for (size_t i = 0; i < hk_sla_count(sh->sla); i++) {
    const char *name = hk_handoff_name(hk_sla_at(sh->sla, i));
    size_t moved = 0;
    if (hk_store_due_upgrade(sh->st, name, &moved, err) != HK_E_OK) {
      return HK_E_UNAVAILABLE;
    }
    if (moved > 0) {
      char n[24];
      snprintf(n, sizeof n, "%zu", moved);
      hk_log(HK_LOG_INFO, "due index moved into buckets", "handoff", name,
             "entries", n, (const char *)NULL);
    }
  }
  sh->due_upgraded = 1;
  return HK_E_OK;
}

enum hk_err hk_sla_shell_next_due(struct hk_sla_shell *sh, int64_t *next_ms,
                                  struct hk_error *err) {
  const char **names;
  enum hk_err rc = due_upgrade(sh, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  names = handoff_names(sh);
  rc = hk_store_due_next(sh->st, names, hk_sla_count(sh->sla), next_ms, err);
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
  rc = due_upgrade(sh, err);
  if (rc != HK_E_OK) {
    return rc;
  }
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
    rc = settle(sh, pairs, np, NULL, 0, now_ms, err);
    *woken = np;
    pairs_free(pairs, np);
  }
  hk_strings_fini(&due);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Erasing subjects (retention and forget, workers/retention.c)
 * ------------------------------------------------------------------------- */

/* 1 when the record holds an event at or after horizon_ms. */
static int has_recent(const json_t *events, int64_t horizon_ms) {
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    if (json_integer_value(json_array_get(e, 2)) >= horizon_ms) {
      return 1;
    }
  }
  return 0;
}

/* The record erased: every summary entry taken out as a record changed to
 * empty would take it, the due entry out, the field deleted (""). */
static void erase(void *arg, struct hk_cas_item *it) {
  const struct hk_erase *how = arg;
  const struct pair *p = it->user;
  struct hk_clock_record rec;
  json_t *none;
  size_t i;
  json_t *s;
  if (it->old == NULL) {
    return;
  }
  hk_record_parse(it->old, &rec);
  if (how->horizon_ms != INT64_MIN && has_recent(rec.events, how->horizon_ms)) {
    hk_record_fini(&rec);
    return; /* an event came since the subject was listed: it stays */
  }
  none = json_array();
  json_array_foreach(rec.summary, i, s) {
    count_entry(&it->ops, p->h, p->subject, rec.events, s, none, -1,
                how->buckets);
  }
  json_decref(none);
  hk_ops_add(&it->ops, 'U', hk_handoff_name(p->h), p->subject, NULL);
  it->record = hk_xstrdup("");
  hk_record_fini(&rec);
}

enum hk_err hk_sla_shell_erase(struct hk_sla_shell *sh,
                               const char *const *subjects, size_t n,
                               const struct hk_erase *how, size_t *erased,
                               struct hk_error *err) {
  size_t nh = hk_sla_count(sh->sla);
  size_t np = n * nh;
  size_t total = np;
  struct pair *pairs = hk_xcalloc(np + 1, sizeof *pairs);
  struct hk_cas_item *items = hk_xcalloc(np + 1, sizeof *items);
  struct hk_erase mine = *how;
  enum hk_err rc;
  for (size_t k = 0; k < n; k++) {
    for (size_t i = 0; i < nh; i++) {
      struct pair *p = &pairs[k * nh + i];
      struct hk_cas_item *it = &items[k * nh + i];
      p->h = hk_sla_at(sh->sla, i);
      p->subject = subjects[k];
      snprintf(p->key, sizeof p->key, "clocks:%s", hk_handoff_name(p->h));
      it->fn = erase;
      it->ctx = &mine;
      it->key = p->key;
      it->field = p->subject;
      it->user = p;
    }
  }
  if (sh->stages != NULL) {
    hk_stages_erase_items(sh->stages, subjects, n, &mine, &items, &total);
  }
  rc = hk_cas_settle(sh->st, items, total, err);
  *erased = 0;
  for (size_t i = 0; i < total; i++) {
    *erased += items[i].written ? 1 : 0;
  }
  hk_cas_items_fini(items, total);
  free(items);
  free(pairs);
  return rc;
}
