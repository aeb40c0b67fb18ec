/*
 * stages.c -- where each subject stands in the journey, for the stage KPIs.
 *
 * A subject's stage record ({prefix}stages, one field per subject) keeps
 * its first entry into each stage:
 *
 *   {"mql": [at_ms, "event id", amount | null, "CUR" | null], …}
 *
 * the earliest event of the stage's `entered_on` types by (time, id), with
 * the stage's amount attribute and currency. Earliest-by-(time, id) is the
 * same whatever order and however often the events come, so the record is
 * too. What the record counts, per stage (facts()): the hour the subject
 * entered; whether it moved on, that is entered a later stage of the `next`
 * chain at or after that time, and how long that took; the amount at
 * entry. Like the clocks, a record changes by check-and-set together with
 * the KPI buckets, moved by the difference between the old facts and the
 * new (store.h: skpi:STAGE:DAY).
 *
 * A subject counts once per stage, at its first entry: a customer who
 * renews every year enters `renewal` once.
 */
#include <inttypes.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/cas.h"
#include "workers/kpi.h"

struct stage {
  char *name;
  char **types;
  size_t ntypes;
  int next; /* index, -1 when none */
  char *amount_attr;
  char *currency_attr;
};

/* What the worker last saw of a subject's stage record. Entries only ever
 * move earlier, so a stale copy is still safe to skip with: an event that
 * comes at or after the copy's entry cannot change the record. */
struct seen {
  char *subject;
  json_t *record;
};

#define SEEN_SLOTS 16384

struct hk_stages {
  struct stage *v;
  size_t n;
  struct seen *seen; /* SEEN_SLOTS, by hash of the subject */
};

static char *dup_str(const json_t *v) {
  return json_is_string(v) ? hk_xstrdup(json_string_value(v)) : NULL;
}

struct hk_stages *hk_stages_new(const struct hk_config *cfg) {
  json_t *stages = json_object_get(cfg->doc, "stages");
  struct hk_stages *s = hk_xcalloc(1, sizeof *s);
  const char *name;
  json_t *conf;
  size_t i = 0;

  s->n = json_object_size(stages);
  s->v = hk_xcalloc(s->n + 1, sizeof *s->v);
  s->seen = hk_xcalloc(SEEN_SLOTS, sizeof *s->seen);
  json_object_foreach(stages, name, conf) {
    struct stage *st = &s->v[i++];
    json_t *on = json_object_get(conf, "entered_on");
    const char *cur = json_string_value(json_object_get(conf, "currency_attr"));
    st->name = hk_xstrdup(name);
    st->ntypes = json_array_size(on);
    st->types = hk_xcalloc(st->ntypes + 1, sizeof *st->types);
    for (size_t k = 0; k < st->ntypes; k++) {
      st->types[k] = dup_str(json_array_get(on, k));
    }
    st->amount_attr = dup_str(json_object_get(conf, "amount_attr"));
    st->currency_attr = hk_xstrdup(cur != NULL ? cur : "currency");
    st->next = -1;
  }
  i = 0;
  json_object_foreach(stages, name, conf) {
    const char *next = json_string_value(json_object_get(conf, "next"));
    for (size_t k = 0; next != NULL && k < s->n; k++) {
      if (strcmp(s->v[k].name, next) == 0) {
        s->v[i].next = (int)k;
      }
    }
    i++;
  }
  return s;
}

void hk_stages_free(struct hk_stages *s) {
  if (s == NULL) {
    return;
  }
  for (size_t i = 0; i < s->n; i++) {
    for (size_t k = 0; k < s->v[i].ntypes; k++) {
      free(s->v[i].types[k]);
    }
    free(s->v[i].types);
    free(s->v[i].name);
    free(s->v[i].amount_attr);
    free(s->v[i].currency_attr);
  }
  for (size_t i = 0; i < SEEN_SLOTS; i++) {
    free(s->seen[i].subject);
    json_decref(s->seen[i].record);
  }
  free(s->seen);
  free(s->v);
  free(s);
}

static int enters(const struct stage *st, const char *type) {
  for (size_t k = 0; k < st->ntypes; k++) {
    if (st->types[k] != NULL && strcmp(st->types[k], type) == 0) {
      return 1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------
 * Facts
 * ------------------------------------------------------------------------- */

struct fact {
  int entered;     /* the record has the stage */
  int64_t at_ms;   /* entry */
  int moved;       /* entered a later stage at or after at_ms */
  int64_t took_ms; /* until then */
  int has_amount;
  int64_t cents;
  const char *currency; /* borrowed from the record */
};

/* The facts of record (an object as above) per stage; f has s->n items. */
static void facts(const struct hk_stages *s, const json_t *record,
                  struct fact *f) {
  for (size_t i = 0; i < s->n; i++) {
    const json_t *e = json_object_get(record, s->v[i].name);
    const json_t *amount = json_array_get(e, 2);
    memset(&f[i], 0, sizeof f[i]);
    if (!json_is_array(e)) {
      continue;
    }
    f[i].entered = 1;
    f[i].at_ms = (int64_t)json_integer_value(json_array_get(e, 0));
    if (json_is_number(amount)) {
      f[i].has_amount = 1;
      f[i].cents = llround(json_number_value(amount) * 100.0);
      f[i].currency = json_string_value(json_array_get(e, 3));
      if (f[i].currency == NULL) {
        f[i].currency = "XXX"; /* ISO 4217: no currency */
      }
    }
  }
  for (size_t i = 0; i < s->n; i++) {
    int d = s->v[i].next;
    /* Follow the chain, at most once round it. */
    for (size_t steps = 0;
         f[i].entered && d >= 0 && (size_t)d != i && steps < s->n;
         steps++, d = s->v[d].next) {
      const json_t *e = json_object_get(record, s->v[d].name);
      int64_t at;
      if (!json_is_array(e)) {
        continue;
      }
      at = (int64_t)json_integer_value(json_array_get(e, 0));
      if (at >= f[i].at_ms && (!f[i].moved || at - f[i].at_ms < f[i].took_ms)) {
        f[i].moved = 1;
        f[i].took_ms = at - f[i].at_ms;
      }
    }
  }
}

json_t *hk_stages_facts(const struct hk_stages *s, const char *record) {
  json_t *rec = record != NULL ? json_loads(record, 0, NULL) : NULL;
  struct fact *f = hk_xcalloc(s->n + 1, sizeof *f);
  json_t *out = json_object();
  facts(s, rec, f);
  for (size_t i = 0; i < s->n; i++) {
    json_t *o;
    if (!f[i].entered) {
      continue;
    }
    o = json_pack("{s:I}", "entered", (json_int_t)f[i].at_ms);
    if (f[i].moved) {
      json_object_set_new(o, "moved",
                          json_integer((json_int_t)f[i].at_ms + f[i].took_ms));
    }
    if (f[i].has_amount) {
      json_object_set_new(o, "amount_cents", json_integer(f[i].cents));
      json_object_set_new(o, "currency", json_string(f[i].currency));
    }
    json_object_set_new(out, s->v[i].name, o);
  }
  free(f);
  json_decref(rec);
  return out;
}

/* Moves the buckets by the facts, sign -1 for the old and +1 for the new. */
static void count_facts(const struct hk_stages *s, const struct fact *f,
                        int sign, struct hk_ops *o) {
  for (size_t i = 0; i < s->n; i++) {
    char key[160];
    char field[160];
    int64_t hour;
    int hh;
    if (!f[i].entered || f[i].at_ms < 0) {
      continue;
    }
    hour = f[i].at_ms / 3600000;
    hh = (int)(hour % 24);
    snprintf(key, sizeof key, "skpi:%s:%" PRId64, s->v[i].name, hour / 24);
    snprintf(field, sizeof field, "%02d|entered", hh);
    hk_ops_incr(o, key, field, sign);
    if (f[i].moved) {
      snprintf(field, sizeof field, "%02d|moved", hh);
      hk_ops_incr(o, key, field, sign);
      snprintf(field, sizeof field, "%02d|t:%d", hh,
               hk_kpi_bucket(f[i].took_ms));
      hk_ops_incr(o, key, field, sign);
    }
    if (f[i].has_amount) {
      snprintf(field, sizeof field, "%02d|rev:%.16s", hh, f[i].currency);
      hk_ops_incr(o, key, field, sign * f[i].cents);
    }
  }
}

/* ---------------------------------------------------------------------------
 * Applying events
 * ------------------------------------------------------------------------- */

/* One subject the batch touches: its events that enter a stage. */
struct subject {
  const char *name;
  const struct hk_event **evs;
  size_t n;
  json_t *record; /* as last computed (owned) */
};

/* Amounts past this many major units are not counted: in cents, a
 * month of them stays far from int64's end. */
#define AMOUNT_MAX 1e12

/* The amount attribute as a number (a numeric string counts), or null
 * when there is none or it is out of range. */
static json_t *amount_of(const json_t *attrs, const char *attr) {
  const json_t *v = attr != NULL ? json_object_get(attrs, attr) : NULL;
  double d = NAN;
  if (json_is_number(v)) {
    d = json_number_value(v);
  } else if (json_is_string(v)) {
    char *end;
    d = strtod(json_string_value(v), &end);
    if (end == json_string_value(v) || *end != '\0') {
      d = NAN;
    }
  }
  return isfinite(d) && fabs(d) <= AMOUNT_MAX ? json_real(d) : json_null();
}

/* The currency attribute as an ISO 4217 code: three letters, upper case
 * (Stripe sends "eur"); null when it is not one. */
static json_t *currency_of(const json_t *attrs, const char *attr) {
  const char *c = json_string_value(json_object_get(attrs, attr));
  char code[4];
  if (c == NULL || strlen(c) != 3) {
    return json_null();
  }
  for (int i = 0; i < 3; i++) {
    char x = c[i];
    if (x >= 'a' && x <= 'z') {
      x = (char)(x - 'a' + 'A');
    }
    if (x < 'A' || x > 'Z') {
      return json_null();
    }
    code[i] = x;
  }
  code[3] = '\0';
  return json_string(code);
}

/* 1 when the entry cand = [at, id, amount, currency] comes before the
 * record entry e: by time, then id, then (two copies of one event that
 * differ) by their text, so any order of arrival keeps the same one. */
static int earlier(const json_t *cand, const json_t *e) {
  int64_t at = (int64_t)json_integer_value(json_array_get(cand, 0));
  int64_t eat = (int64_t)json_integer_value(json_array_get(e, 0));
  const char *id = json_string_value(json_array_get(cand, 1));
  const char *eid = json_string_value(json_array_get(e, 1));
  int c;
  if (at != eat) {
    return at < eat;
  }
  c = strcmp(id != NULL ? id : "", eid != NULL ? eid : "");
  if (c != 0) {
    return c < 0;
  }
  {
    char *a = json_dumps(cand, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    c = a != NULL && b != NULL ? strcmp(a, b) : 0;
    free(a);
    free(b);
  }
  return c < 0;
}

/* The entry the event would make for stage st. A new reference. */
static json_t *entry_of(const struct stage *st, const struct hk_event *ev) {
  return json_pack("[I, s, o, o]", (json_int_t)ev->at_ms, ev->id,
                   st->amount_attr != NULL
                       ? amount_of(ev->attrs, st->amount_attr)
                       : json_null(),
                   currency_of(ev->attrs, st->currency_attr));
}

static int may_precede(const struct hk_event *ev, const json_t *e);

static void compute(void *arg, struct hk_cas_item *it) {
  const struct hk_stages *s = *(const struct hk_stages **)arg;
  struct subject *sub = it->user;
  json_t *rec = it->old != NULL ? json_loads(it->old, 0, NULL) : NULL;
  struct fact *before = hk_xcalloc(s->n + 1, sizeof *before);
  struct fact *after = hk_xcalloc(s->n + 1, sizeof *after);
  int changed = 0;

  if (!json_is_object(rec)) {
    json_decref(rec);
    rec = json_object();
  }
  /* The old facts out first, while their strings are there; an item that
   * does not change is not written, its ops unused. */
  facts(s, rec, before);
  count_facts(s, before, -1, &it->ops);
  for (size_t k = 0; k < sub->n; k++) {
    const struct hk_event *ev = sub->evs[k];
    for (size_t i = 0; i < s->n; i++) {
      const struct stage *st = &s->v[i];
      const json_t *e = json_object_get(rec, st->name);
      json_t *cand;
      if (!enters(st, ev->type) || (e != NULL && !may_precede(ev, e))) {
        continue;
      }
      cand = entry_of(st, ev);
      if (e != NULL && !earlier(cand, e)) {
        json_decref(cand);
        continue;
      }
      json_object_set_new(rec, st->name, cand);
      changed = 1;
    }
  }
  if (changed) {
    facts(s, rec, after);
    count_facts(s, after, +1, &it->ops);
    it->record = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (it->record == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
  }
  free(before);
  free(after);
  json_decref(sub->record);
  sub->record = rec;
}

/* 1 unless the event comes strictly after the entry e by (time, id): an
 * event of the same time and id may still be an earlier copy. */
static int may_precede(const struct hk_event *ev, const json_t *e) {
  int64_t eat = (int64_t)json_integer_value(json_array_get(e, 0));
  const char *eid = json_string_value(json_array_get(e, 1));
  if (ev->at_ms != eat) {
    return ev->at_ms < eat;
  }
  return strcmp(ev->id, eid != NULL ? eid : "") <= 0;
}

static struct seen *seen_slot(const struct hk_stages *s, const char *subject) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
    h = (h ^ *p) * 1099511628211u;
  }
  return &s->seen[h % SEEN_SLOTS];
}

/* 1 when the last record seen of the subject shows that none of its events
 * can change it. */
static int nothing_new(const struct hk_stages *s, const struct subject *sub) {
  const struct seen *x = seen_slot(s, sub->name);
  if (x->subject == NULL || strcmp(x->subject, sub->name) != 0) {
    return 0;
  }
  for (size_t k = 0; k < sub->n; k++) {
    for (size_t i = 0; i < s->n; i++) {
      const json_t *e = json_object_get(x->record, s->v[i].name);
      if (enters(&s->v[i], sub->evs[k]->type) &&
          (e == NULL || may_precede(sub->evs[k], e))) {
        return 0;
      }
    }
  }
  return 1;
}

static void remember(struct hk_stages *s, const char *subject, json_t *record) {
  struct seen *x = seen_slot(s, subject);
  if (record == NULL) {
    return;
  }
  free(x->subject);
  json_decref(x->record);
  x->subject = hk_xstrdup(subject);
  x->record = json_incref(record);
}

struct hk_stages_round {
  struct hk_stages *s;
  const struct hk_stages *cs; /* the ctx of compute() */
  struct subject *subs;
  size_t n;
};

struct hk_stages_round *hk_stages_begin(struct hk_stages *s,
                                        const struct hk_event *const *evs,
                                        size_t nevs, struct hk_cas_item **items,
                                        size_t *n) {
  struct hk_stages_round *r = hk_xcalloc(1, sizeof *r);
  size_t first = *n;
  r->s = s;
  r->cs = s;
  r->subs = hk_xcalloc(nevs + 1, sizeof *r->subs);
  for (size_t e = 0; e < nevs; e++) {
    struct subject *sub = NULL;
    int wanted = 0;
    for (size_t i = 0; i < s->n && !wanted; i++) {
      wanted = enters(&s->v[i], evs[e]->type);
    }
    if (!wanted) {
      continue;
    }
    for (size_t k = 0; k < r->n && sub == NULL; k++) {
      if (strcmp(r->subs[k].name, evs[e]->subject) == 0) {
        sub = &r->subs[k];
      }
    }
    if (sub == NULL) {
      sub = &r->subs[r->n++];
      sub->name = evs[e]->subject;
      sub->evs = hk_xcalloc(nevs, sizeof(const struct hk_event *));
    }
    sub->evs[sub->n++] = evs[e];
  }
  *items = hk_xrealloc(*items, (first + r->n + 1) * sizeof **items);
  for (size_t k = 0; k < r->n; k++) {
    struct hk_cas_item *it = &(*items)[first + k];
    memset(it, 0, sizeof *it);
    it->fn = compute;
    it->ctx = &r->cs;
    it->key = "stages";
    it->field = r->subs[k].name;
    it->user = &r->subs[k];
    it->done = nothing_new(s, &r->subs[k]);
  }
  *n = first + r->n;
  return r;
}

void hk_stages_end(struct hk_stages_round *r, int ok) {
  if (r == NULL) {
    return;
  }
  for (size_t k = 0; k < r->n; k++) {
    /* What this round wrote or read last is what Redis holds (or holds
     * something earlier still). */
    if (ok) {
      remember(r->s, r->subs[k].name, r->subs[k].record);
    }
    free(r->subs[k].evs);
    json_decref(r->subs[k].record);
  }
  free(r->subs);
  free(r);
}
