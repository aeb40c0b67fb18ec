/*
 * clock.c -- the SLA clocks: every handoff of the config compiled once
 * (hk_sla_new), and the pure evaluation of one handoff over the events of
 * one subject (hk_clock_eval). No I/O, no clock, no logging: the caller
 * gives the events and the time it calls now.
 *
 * Design
 * ------
 * A clock is a pure function of a set of events. hk_clock_eval first turns
 * the events it is given into that set, then replays it in one pass.
 *
 * The set. Each event gets a kind from its type: the first of the
 * handoff's lists start, pause, resume, stop, cancel that names it (events of
 * other types are dropped). Events with the same id are one event: the copy
 * that sorts first by (at_ms, kind, canonical attrs text) stands for all of
 * them, so a redelivery, even a slightly different one, changes nothing.
 * The set is then sorted by (at_ms, kind rank start < pause < resume < stop
 * < cancel, id). The ranks decide events of the same instant: a clock
 * started and stopped in the same millisecond is met, and a stop beats a
 * cancel. With a total order on distinct ids, the replay never depends on
 * the order or the duplicates in which the events arrived.
 *
 * The replay. With no clock running, a start opens one at its at_ms; every
 * other kind is ignored (a stop that precedes any start in event time stops
 * nothing). While a clock runs, further starts belong to it. The start
 * event decides the clock once and for all:
 *   - the goal: the first of the handoff's goals whose `when` holds on the
 *     start's attrs (each key present and equal to the scalar, or to one of
 *     the array; a string and a number compare as text, as in the mapper;
 *     a null attribute counts as missing), else -1 and the SLA's own value;
 *   - a `within` SLA: deadline = hk_calendar_add(start, within) and warn =
 *     hk_calendar_add(start, within * warn_at), in the handoff's calendar
 *     (shares are rounded to the nearest millisecond);
 *   - a `deadline` SLA: deadline = the start's timestamp attribute plus the
 *     offset (the goal's when one matched); the attribute is integer
 *     milliseconds, seconds when below 1e11, or an RFC 3339 string. warn =
 *     start + (deadline - start) * warn_at in calendar time. When the
 *     attribute is missing or unreadable, deadline and warn are HK_NEVER
 *     (the clock never breaches) and the attribute is listed in `missing`;
 *   - `missing`: the `requires` attributes absent, null or "" in the start;
 *   - the owner: the start's "owner" attribute when a non-empty string or
 *     an integer (its decimal text: Pipedrive's user ids), else the
 *     handoff's owner.
 * A pause at p stops the clock's time until a resume at r. For a `within`
 * SLA the remaining allowed time carries over: the deadline becomes
 * hk_calendar_add(r, within - consumed), where consumed is the open time
 * used before p, and the warning likewise from its own budget; when the
 * budget was already overspent at p (the deadline fell before the pause),
 * the instant stays where it was. For a `deadline` SLA, deadline and warn
 * move by r - p. A pause while paused and a resume while running are
 * ignored. A stop at s ends the clock: met when s <= deadline, else met late
 * (ever breached). A stop while paused resumes at s first, so time spent
 * paused never counts against the SLA. A cancel ends the clock as
 * cancelled. After a stop or a cancel the next start opens a new clock: a
 * subject can go round the journey again.
 *
 * The end. A clock still running is judged as of now_ms: paused; else
 * breached (ever breached) when now >= deadline; else at risk when now >=
 * warn; else open. Events later than now_ms still apply: event time rules,
 * and the store decides what now is. elapsed_ms is the open time of the
 * handoff's calendar over the running spans, from the start to the stop or
 * to now, pauses left out.
 *
 * Arithmetic on instants saturates at HK_NEVER, so an unreadable or distant
 * deadline can never wrap round into the past.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

/* ---------------------------------------------------------------------------
 * The compiled handoffs
 * ------------------------------------------------------------------------- */

/* Event kinds, in the rank that orders events of the same instant. */
enum kind { K_START, K_PAUSE, K_RESUME, K_STOP, K_CANCEL, K_COUNT, K_NONE };

static const char *const kind_keys[K_COUNT] = {"start", "pause", "resume",
                                               "stop", "cancel"};

struct strv {
  char **v;
  size_t n;
};

struct goal {
  json_t *when; /* object: attribute -> scalar or array (owned copy) */
  int64_t ms;   /* within, or offset, as the SLA is */
};

struct hk_handoff {
  char *name;
  char *owner;
  struct strv types[K_COUNT];
  int is_deadline;         /* 1: sla.deadline; 0: sla.within */
  int64_t within_ms;       /* sla.within */
  char *attr;              /* sla.deadline.attr */
  int64_t offset_ms;       /* sla.deadline.offset */
  struct hk_calendar *cal; /* NULL: calendar time */
  double warn_at;
  struct goal *goals;
  size_t ngoals;
  struct strv requires;
  struct strv keep;  /* the attributes hk_handoff_slim keeps */
  struct strv value; /* those of them whose value is read, not just their
                        presence (the rest are only in `requires`) */
  struct hk_ladder ladder;
};

struct hk_sla {
  struct hk_handoff *items;
  size_t n;
};

static void strv_add(struct strv *s, const char *x) {
  s->v = hk_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = hk_xstrdup(x);
}

static int strv_has(const struct strv *s, const char *x) {
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (strcmp(s->v[i], x) == 0) {
      return 1;
    }
  }
  return 0;
}

static void strv_fini(struct strv *s) {
  size_t i;
  for (i = 0; i < s->n; i++) {
    free(s->v[i]);
  }
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* Appends every string of the JSON array (absent: nothing). */
static void strv_from_json(struct strv *s, const json_t *arr) {
  size_t i;
  const json_t *e;
  for (i = 0; i < json_array_size(arr); i++) {
    e = json_array_get(arr, i);
    if (json_is_string(e)) {
      strv_add(s, json_string_value(e));
    }
  }
}

/* An offset: a duration with an optional leading '-'. Returns 0 or -1. */
static int parse_offset(const char *s, int64_t *ms) {
  int neg = s != NULL && s[0] == '-';
  int rc = s == NULL ? -1 : hk_duration_parse(s + neg, ms);
  if (rc == 0 && neg) {
    *ms = -*ms;
  }
  return rc;
}

static void handoff_fini(struct hk_handoff *h) {
  size_t i;
  free(h->name);
  free(h->owner);
  for (i = 0; i < K_COUNT; i++) {
    strv_fini(&h->types[i]);
  }
  free(h->attr);
  hk_calendar_free(h->cal);
  for (i = 0; i < h->ngoals; i++) {
    json_decref(h->goals[i].when);
  }
  free(h->goals);
  strv_fini(&h->requires);
  strv_fini(&h->keep);
  strv_fini(&h->value);
  hk_ladder_fini(&h->ladder);
}

/* Keeps what alerts and group_by read: the owner (or the id the owners
 * directory did not know), the subject's name, and the attributes group_by
 * counts clocks under. */
static void keep_for_people(struct hk_handoff *h, const json_t *conf) {
  static const char *const own[] = {"owner", "owner_unknown", "subject_name"};
  const char *key;
  json_t *v;
  for (size_t i = 0; i < 3; i++) {
    if (!strv_has(&h->keep, own[i])) {
      strv_add(&h->keep, own[i]);
    }
    if (!strv_has(&h->value, own[i])) {
      strv_add(&h->value, own[i]);
    }
  }
  json_object_foreach(json_object_get(conf, "group_by"), key, v) {
    if (strcmp(key, "owner") != 0 && strcmp(key, "source") != 0) {
      if (!strv_has(&h->keep, key)) {
        strv_add(&h->keep, key);
      }
      if (!strv_has(&h->value, key)) {
        strv_add(&h->value, key);
      }
    }
  }
}

/*
 * Compiles $.handoffs.NAME (conf) into h, which the caller zeroed. The
 * schema has checked the shape; a value that still does not read is
 * reported rather than trusted. Returns HK_E_OK, or HK_E_CONFIG with err set;
 * h is left for handoff_fini in both cases.
 */
static enum hk_err handoff_init(struct hk_handoff *h, const char *name,
                                const json_t *conf, const json_t *root,
                                struct hk_error *err) {
  const json_t *calendars = json_object_get(root, "calendars");
  const json_t *sla = json_object_get(conf, "sla");
  const json_t *dl = json_object_get(sla, "deadline");
  const json_t *cal = json_object_get(conf, "calendar");
  const json_t *goals = json_object_get(conf, "goals");
  const char *gkey = dl != NULL ? "offset" : "within";
  const char *key;
  const json_t *v;
  size_t i;
  int k;
  int ok;
  enum hk_err rc = HK_E_OK;

  h->name = hk_xstrdup(name);
  h->owner = hk_xstrdup(json_is_string(json_object_get(conf, "owner"))
                            ? json_string_value(json_object_get(conf, "owner"))
                            : "");
  for (k = 0; k < K_COUNT; k++) {
    strv_from_json(&h->types[k], json_object_get(conf, kind_keys[k]));
  }
  h->warn_at = json_number_value(json_object_get(conf, "warn_at"));
  strv_from_json(&h->requires, json_object_get(conf, "requires"));
  h->is_deadline = dl != NULL;
  if (dl != NULL) {
    v = json_object_get(dl, "attr");
    h->attr = hk_xstrdup(json_is_string(v) ? json_string_value(v) : "");
    ok = parse_offset(json_string_value(json_object_get(dl, "offset")),
                      &h->offset_ms) == 0;
  } else {
    ok = hk_duration_parse(json_string_value(json_object_get(sla, "within")),
                           &h->within_ms) == 0;
  }
  if (!ok) {
    rc = hk_fail(err, HK_E_CONFIG,
                 "$.handoffs.%s.sla does not give a readable duration", name);
  }

  h->goals = hk_xcalloc(json_array_size(goals) + 1, sizeof *h->goals);
  for (i = 0; rc == HK_E_OK && i < json_array_size(goals); i++) {
    const json_t *g = json_array_get(goals, i);
    const char *text = json_string_value(json_object_get(g, gkey));
    struct goal *out = &h->goals[h->ngoals++];
    out->when = json_deep_copy(json_object_get(g, "when"));
    out->ms = dl != NULL ? h->offset_ms : h->within_ms;
    if (text != NULL && (dl != NULL ? parse_offset(text, &out->ms)
                                    : hk_duration_parse(text, &out->ms)) != 0) {
      rc = hk_fail(err, HK_E_CONFIG,
                   "$.handoffs.%s.goals[%zu].%s is not a duration", name, i,
                   gkey);
    }
    json_object_foreach(out->when, key, v) {
      if (!strv_has(&h->keep, key)) {
        strv_add(&h->keep, key);
      }
      if (!strv_has(&h->value, key)) {
        strv_add(&h->value, key);
      }
    }
  }
  for (i = 0; i < h->requires.n; i++) {
    if (!strv_has(&h->keep, h->requires.v[i])) {
      strv_add(&h->keep, h->requires.v[i]);
    }
  }
  if (h->attr != NULL && !strv_has(&h->keep, h->attr)) {
    strv_add(&h->keep, h->attr);
  }
  if (h->attr != NULL && !strv_has(&h->value, h->attr)) {
    strv_add(&h->value, h->attr);
  }
  keep_for_people(h, conf);
  hk_ladder_init(&h->ladder, conf, root);

  if (rc == HK_E_OK && json_is_string(cal)) {
    const char *cname = json_string_value(cal);
    h->cal = hk_calendar_new(cname, json_object_get(calendars, cname), err);
    if (h->cal == NULL) {
      rc = HK_E_CONFIG;
    }
  }
  return rc;
}

struct hk_sla *hk_sla_new(const struct hk_config *cfg, struct hk_error *err) {
  json_t *all = json_object_get(cfg->doc, "handoffs");
  struct hk_sla *sla = hk_xcalloc(1, sizeof *sla);
  const char *name;
  json_t *conf;
  enum hk_err rc = HK_E_OK;

  sla->items = hk_xcalloc(json_object_size(all) + 1, sizeof *sla->items);
  json_object_foreach(all, name, conf) {
    if (rc == HK_E_OK) {
      rc = handoff_init(&sla->items[sla->n++], name, conf, cfg->doc, err);
    }
  }
  if (rc != HK_E_OK) {
    hk_sla_free(sla);
    sla = NULL;
  }
  return sla;
}

void hk_sla_free(struct hk_sla *sla) {
  size_t i;
  if (sla == NULL) {
    return;
  }
  for (i = 0; i < sla->n; i++) {
    handoff_fini(&sla->items[i]);
  }
  free(sla->items);
  free(sla);
}

size_t hk_sla_count(const struct hk_sla *sla) {
  return sla != NULL ? sla->n : 0;
}

const struct hk_handoff *hk_sla_at(const struct hk_sla *sla, size_t i) {
  return sla != NULL && i < sla->n ? &sla->items[i] : NULL;
}

const struct hk_handoff *hk_sla_find(const struct hk_sla *sla,
                                     const char *name) {
  size_t i;
  for (i = 0; sla != NULL && name != NULL && i < sla->n; i++) {
    if (strcmp(sla->items[i].name, name) == 0) {
      return &sla->items[i];
    }
  }
  return NULL;
}

const char *hk_handoff_name(const struct hk_handoff *h) {
  return h->name;
}

const char *hk_handoff_owner(const struct hk_handoff *h) {
  return h->owner;
}

const struct hk_ladder *hk_handoff_ladder(const struct hk_handoff *h) {
  return &h->ladder;
}

static int64_t sat_add(int64_t a, int64_t b);

int64_t hk_handoff_after(const struct hk_handoff *h, int64_t t, int64_t ms) {
  if (t == HK_NEVER || ms == 0) {
    return t;
  }
  return h->is_deadline || h->cal == NULL ? sat_add(t, ms)
                                          : hk_calendar_add(h->cal, t, ms);
}

/* The kind of an event type for h, K_NONE when h does not listen to it. */
static enum kind kind_of(const struct hk_handoff *h, const char *type) {
  int k;
  for (k = 0; type != NULL && k < K_COUNT; k++) {
    if (strv_has(&h->types[k], type)) {
      return (enum kind)k;
    }
  }
  return K_NONE;
}

int hk_handoff_wants(const struct hk_handoff *h, const char *type) {
  return kind_of(h, type) != K_NONE;
}

json_t *hk_handoff_slim(const struct hk_handoff *h, const char *id,
                        const char *type, int64_t at_ms, const json_t *attrs) {
  json_t *kept = json_object();
  json_t *v;
  size_t i;
  for (i = 0; i < h->keep.n; i++) {
    v = json_object_get(attrs, h->keep.v[i]);
    if (v == NULL) {
      continue;
    }
    if (strv_has(&h->value, h->keep.v[i])) {
      json_object_set_new(kept, h->keep.v[i], json_deep_copy(v));
    } else if (!json_is_null(v) &&
               !(json_is_string(v) && json_string_length(v) == 0)) {
      /* Only `requires` reads it, and only whether it is there: a
       * million open clocks need not keep every email address. */
      json_object_set_new(kept, h->keep.v[i], json_integer(1));
    }
  }
  return json_pack("{s:s, s:s, s:I, s:o}", "id", id != NULL ? id : "", "type",
                   type != NULL ? type : "", "at", (json_int_t)at_ms, "attrs",
                   kept);
}

/* ---------------------------------------------------------------------------
 * Clock states
 * ------------------------------------------------------------------------- */

const char *hk_clock_state_name(enum hk_clock_state s) {
  static const char *const names[HK_CLOCK_STATES] = {
      "open", "at_risk", "paused", "met", "breached", "met_late", "cancelled"};
  return (unsigned)s < HK_CLOCK_STATES ? names[s] : "unknown";
}

void hk_clocks_fini(struct hk_clocks *c) {
  size_t i;
  for (i = 0; i < c->n; i++) {
    json_decref(c->items[i].missing);
    free(c->items[i].start_id);
    free(c->items[i].stop_id);
    free(c->items[i].owner);
    free(c->items[i].owner_unknown);
    free(c->items[i].subject_name);
  }
  free(c->items);
  c->items = NULL;
  c->n = 0;
}

/* ---------------------------------------------------------------------------
 * Reading the start event
 * ------------------------------------------------------------------------- */

/* a + b, saturating: HK_NEVER stays HK_NEVER and nothing wraps round. */
static int64_t sat_add(int64_t a, int64_t b) {
  int64_t out;
  if (a == HK_NEVER) {
    return HK_NEVER;
  }
  if (__builtin_add_overflow(a, b, &out)) {
    out = b > 0 ? HK_NEVER : INT64_MIN;
  }
  return out;
}

/* An attribute, with JSON null counted as missing. */
static const json_t *attr_get(const json_t *attrs, const char *key) {
  const json_t *v = json_object_get(attrs, key);
  return json_is_null(v) ? NULL : v;
}

/* A number as the mapper writes it as text: integers in full, reals in
 * their shortest exact form. buf holds at least 32 bytes. */
static const char *number_text(const json_t *v, char *buf, size_t cap) {
  if (json_is_integer(v)) {
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else {
    double d = json_real_value(v);
    snprintf(buf, cap, "%.15g", d);
    if (strtod(buf, NULL) != d) {
      snprintf(buf, cap, "%.17g", d);
    }
  }
  return buf;
}

/* Scalar equality: JSON equality, or the same text when one side is a
 * string and the other a number ("1029" against 1029). */
static int scalar_same(const json_t *a, const json_t *b) {
  char buf[40];
  int eq = json_equal(a, b);
  if (!eq && json_is_string(a) && json_is_number(b)) {
    eq = strcmp(json_string_value(a), number_text(b, buf, sizeof buf)) == 0;
  } else if (!eq && json_is_number(a) && json_is_string(b)) {
    eq = strcmp(json_string_value(b), number_text(a, buf, sizeof buf)) == 0;
  }
  return eq;
}

/* 1 when every key of `when` holds on attrs. */
static int goal_holds(json_t *when, const json_t *attrs) {
  const char *key;
  json_t *want;
  json_t *e;
  size_t i;
  int all = 1;
  json_object_foreach(when, key, want) {
    const json_t *have = attr_get(attrs, key);
    int hit = 0;
    if (have != NULL && json_is_array(want)) {
      json_array_foreach(want, i, e) {
        hit = hit || scalar_same(have, e);
      }
    } else if (have != NULL) {
      hit = scalar_same(have, want);
    }
    all = all && hit;
  }
  return all;
}

/* The instant of a timestamp attribute: integer (or real) milliseconds,
 * seconds below 1e11, or an RFC 3339 string. Returns 0, or -1 when v is
 * none of those or out of range. */
static int instant_of(const json_t *v, int64_t *ms) {
  int rc = -1;
  if (json_is_integer(v)) {
    int64_t n = (int64_t)json_integer_value(v);
    if (n >= 100000000000LL) {
      *ms = n;
      rc = 0;
    } else if (!__builtin_mul_overflow(n, (int64_t)1000, ms)) {
      rc = 0;
    }
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    d = d < 1e11 ? d * 1000.0 : d;
    if (isfinite(d) && d > -9.2e18 && d < 9.2e18) {
      *ms = (int64_t)d;
      rc = 0;
    }
  } else if (json_is_string(v)) {
    rc = hk_map_rfc3339_ms(json_string_value(v), ms);
  }
  return rc;
}

/* The share `warn_at` of span, rounded to the nearest millisecond (so that
 * 80% of 365 days is 292 days, whatever the binary form of 0.8). */
static int64_t share(double warn_at, int64_t span) {
  return (int64_t)llround((double)span * warn_at);
}

/* start + (deadline - start) * warn_at; the deadline itself when the span
 * does not fit in 64 bits (HK_NEVER among them). */
static int64_t warn_between(int64_t start, int64_t deadline, double warn_at) {
  int64_t span;
  if (deadline == HK_NEVER || __builtin_sub_overflow(deadline, start, &span)) {
    return deadline;
  }
  return sat_add(start, share(warn_at, span));
}

/* Opens c at the start event e. Returns the allowed time (within) or the
 * offset in force: the matching goal's, else the SLA's own. */
static int64_t clock_open(const struct hk_handoff *h,
                          const struct hk_clock_event *e, struct hk_clock *c) {
  const json_t *attrs = e->attrs;
  const json_t *owner = attr_get(attrs, "owner");
  int64_t sla_ms = h->is_deadline ? h->offset_ms : h->within_ms;
  size_t i;

  memset(c, 0, sizeof *c);
  c->state = HK_CLOCK_OPEN;
  c->started_ms = e->at_ms;
  c->goal = -1;
  for (i = 0; i < h->ngoals && c->goal < 0; i++) {
    if (goal_holds(h->goals[i].when, attrs)) {
      c->goal = (int)i;
      sla_ms = h->goals[i].ms;
    }
  }
  c->missing = json_array();
  for (i = 0; i < h->requires.n; i++) {
    const json_t *v = attr_get(attrs, h->requires.v[i]);
    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0)) {
      json_array_append_new(c->missing, json_string(h->requires.v[i]));
    }
  }
  if (h->is_deadline) {
    int64_t at;
    if (instant_of(attr_get(attrs, h->attr), &at) == 0) {
      c->deadline_ms = sat_add(at, sla_ms);
      c->warn_ms = warn_between(c->started_ms, c->deadline_ms, h->warn_at);
    } else {
      c->deadline_ms = HK_NEVER;
      c->warn_ms = HK_NEVER;
      if (!strv_has(&h->requires, h->attr)) {
        json_array_append_new(c->missing, json_string(h->attr));
      }
    }
  } else {
    c->deadline_ms = hk_calendar_add(h->cal, c->started_ms, sla_ms);
    c->warn_ms =
        hk_calendar_add(h->cal, c->started_ms, share(h->warn_at, sla_ms));
  }
  c->start_id = hk_xstrdup(e->id != NULL ? e->id : "");
  if (json_is_string(owner) && json_string_length(owner) > 0) {
    c->owner = hk_xstrdup(json_string_value(owner));
  } else if (json_is_integer(owner)) {
    /* CRMs such as Pipedrive name owners by number: its decimal text. */
    c->owner = hk_xprintf("%" JSON_INTEGER_FORMAT, json_integer_value(owner));
  } else {
    c->owner = hk_xstrdup(h->owner);
  }
  owner = attr_get(attrs, "owner_unknown");
  if (json_is_string(owner) && json_string_length(owner) > 0) {
    c->owner_unknown = hk_xstrdup(json_string_value(owner));
  }
  owner = attr_get(attrs, "subject_name");
  if (json_is_string(owner) && json_string_length(owner) > 0) {
    c->subject_name = hk_xstrdup(json_string_value(owner));
  }
  return sla_ms;
}

/* ---------------------------------------------------------------------------
 * The set of events: kinds, duplicates, order
 * ------------------------------------------------------------------------- */

struct item {
  const struct hk_clock_event *e;
  const char *id; /* never NULL: a NULL id reads as "" */
  enum kind kind;
  /* The canonical attrs text, made only when a tie needs it: a slot of
   * its own outside the array, so that the comparators can fill it. */
  char **canon;
};

static const char *canon_of(const struct item *it) {
  if (*it->canon == NULL) {
    *it->canon = it->e->attrs != NULL
                     ? json_dumps(it->e->attrs, JSON_COMPACT | JSON_SORT_KEYS |
                                                    JSON_ENCODE_ANY)
                     : NULL;
    if (*it->canon == NULL) {
      *it->canon = hk_xstrdup("");
    }
  }
  return *it->canon;
}

/* Compares two values for qsort: -1, 0 or 1. */
static int cmp_i64(int64_t a, int64_t b) {
  return (a > b) - (a < b);
}

/* The copy of an id that stands for it: earliest, lowest rank, then the
 * smallest canonical attrs. */
static int cmp_copies(const void *pa, const void *pb) {
  const struct item *a = pa;
  const struct item *b = pb;
  int r = strcmp(a->id, b->id);
  if (r == 0) {
    r = cmp_i64(a->e->at_ms, b->e->at_ms);
  }
  if (r == 0) {
    r = cmp_i64(a->kind, b->kind);
  }
  if (r == 0) {
    r = strcmp(canon_of(a), canon_of(b));
  }
  return r;
}

/* Event order: time, then kind rank, then id (unique by now). */
static int cmp_events(const void *pa, const void *pb) {
  const struct item *a = pa;
  const struct item *b = pb;
  int r = cmp_i64(a->e->at_ms, b->e->at_ms);
  if (r == 0) {
    r = cmp_i64(a->kind, b->kind);
  }
  if (r == 0) {
    r = strcmp(a->id, b->id);
  }
  return r;
}

/*
 * The events h listens to, one per id, in event order. Returns a new array
 * (caller frees) and its length in *out_n.
 */
static struct item *event_set(const struct hk_handoff *h,
                              const struct hk_clock_event *events, size_t n,
                              size_t *out_n) {
  struct item *items = hk_xcalloc(n + 1, sizeof *items);
  char **canons = hk_xcalloc(n + 1, sizeof *canons);
  size_t m = 0;
  size_t kept = 0;
  size_t i;
  for (i = 0; events != NULL && i < n; i++) {
    enum kind k = kind_of(h, events[i].type);
    if (k != K_NONE) {
      items[m].e = &events[i];
      items[m].id = events[i].id != NULL ? events[i].id : "";
      items[m].kind = k;
      items[m].canon = &canons[m];
      m++;
    }
  }
  qsort(items, m, sizeof *items, cmp_copies);
  for (i = 0; i < m; i++) {
    if (kept == 0 || strcmp(items[kept - 1].id, items[i].id) != 0) {
      items[kept++] = items[i];
    }
  }
  for (i = 0; i < m; i++) {
    free(canons[i]);
  }
  free(canons);
  for (i = 0; i < kept; i++) {
    items[i].canon = NULL;
  }
  qsort(items, kept, sizeof *items, cmp_events);
  *out_n = kept;
  return items;
}

/* ---------------------------------------------------------------------------
 * The replay
 * ------------------------------------------------------------------------- */

/* The clock being replayed and what only the replay needs. */
struct run {
  struct hk_clock c;
  int live;   /* a clock is open or paused */
  int paused; /* since paused_ms */
  int64_t paused_ms;
  int64_t span_from;   /* start of the running span */
  int64_t sla_ms;      /* within (or offset) in force */
  int64_t warn_budget; /* within * warn_at */
};

static void run_push(struct hk_clocks *out, struct run *r) {
  out->items = hk_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
  out->items[out->n++] = r->c;
  memset(r, 0, sizeof *r);
}

static void on_pause(const struct hk_handoff *h, struct run *r, int64_t at) {
  r->c.elapsed_ms += hk_calendar_between(h->cal, r->span_from, at);
  r->paused = 1;
  r->paused_ms = at;
  r->c.state = HK_CLOCK_PAUSED;
}

/* Carries the remaining allowed time over a pause that ends at `at`. */
static void on_resume(const struct hk_handoff *h, struct run *r, int64_t at) {
  struct hk_clock *c = &r->c;
  if (h->is_deadline) {
    c->deadline_ms = sat_add(c->deadline_ms, at - r->paused_ms);
    c->warn_ms = sat_add(c->warn_ms, at - r->paused_ms);
  } else {
    if (r->sla_ms - c->elapsed_ms >= 0) {
      c->deadline_ms = hk_calendar_add(h->cal, at, r->sla_ms - c->elapsed_ms);
    }
    if (r->warn_budget - c->elapsed_ms >= 0) {
      c->warn_ms = hk_calendar_add(h->cal, at, r->warn_budget - c->elapsed_ms);
    }
  }
  r->paused = 0;
  r->span_from = at;
  c->state = HK_CLOCK_OPEN;
}

/* Ends the clock with a stop or a cancel at e. */
static void on_end(const struct hk_handoff *h, struct run *r,
                   const struct item *it) {
  struct hk_clock *c = &r->c;
  int64_t at = it->e->at_ms;
  if (r->paused && it->kind == K_STOP) {
    on_resume(h, r, at);
  }
  if (!r->paused) {
    c->elapsed_ms += hk_calendar_between(h->cal, r->span_from, at);
  }
  c->stopped_ms = at;
  c->stop_id = hk_xstrdup(it->id);
  if (it->kind == K_CANCEL) {
    c->state = HK_CLOCK_CANCELLED;
  } else if (at <= c->deadline_ms) {
    c->state = HK_CLOCK_MET;
  } else {
    c->state = HK_CLOCK_MET_LATE;
    c->ever_breached = 1;
  }
}

/* Judges a clock still running as of now. */
static void on_now(const struct hk_handoff *h, struct run *r, int64_t now) {
  struct hk_clock *c = &r->c;
  if (r->paused) {
    c->state = HK_CLOCK_PAUSED;
    return;
  }
  c->elapsed_ms += hk_calendar_between(h->cal, r->span_from, now);
  if (now >= c->deadline_ms) {
    c->state = HK_CLOCK_BREACHED;
    c->ever_breached = 1;
  } else if (now >= c->warn_ms) {
    c->state = HK_CLOCK_AT_RISK;
  } else {
    c->state = HK_CLOCK_OPEN;
  }
}

void hk_clock_eval(const struct hk_handoff *h,
                   const struct hk_clock_event *events, size_t n,
                   int64_t now_ms, struct hk_clocks *out) {
  struct run r;
  size_t m = 0;
  struct item *items = event_set(h, events, n, &m);
  size_t i;

  out->items = NULL;
  out->n = 0;
  memset(&r, 0, sizeof r);
  for (i = 0; i < m; i++) {
    const struct item *it = &items[i];
    int64_t at = it->e->at_ms;
    if (!r.live) {
      if (it->kind == K_START) {
        r.sla_ms = clock_open(h, it->e, &r.c);
        r.warn_budget = share(h->warn_at, r.sla_ms);
        r.live = 1;
        r.span_from = at;
      }
    } else if (it->kind == K_PAUSE && !r.paused) {
      on_pause(h, &r, at);
    } else if (it->kind == K_RESUME && r.paused) {
      on_resume(h, &r, at);
    } else if (it->kind == K_STOP || it->kind == K_CANCEL) {
      on_end(h, &r, it);
      run_push(out, &r);
    }
  }
  if (r.live) {
    on_now(h, &r, now_ms);
    run_push(out, &r);
  }
  free(items);
}
