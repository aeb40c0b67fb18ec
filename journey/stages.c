/*
 * stages.c -- the stage record: the text kept per subject in
 * {prefix}stages, encoded and decoded here, and nowhere else. The worker
 * writes it by check-and-set (workers/stages.c); the status API reads it
 * (fcgi/api.c).
 *
 *   {"mql": [at_ms, "event id", amount | null, "CUR" | null], …}
 *
 * One entry per stage the subject entered: the earliest event of the
 * stage's `entered_on` types by (time, id), with the stage's amount
 * attribute and currency. Earliest-by-(time, id) is the same whatever order
 * and however often the events come, so the record is too. What the record
 * counts, per stage (hk_stage_record_facts): the hour the subject entered;
 * whether it moved on, that is entered a later stage of the `next` chain at
 * or after that time, which of them it reached first (a flow, skips
 * included) and how long that took; the amount at entry.
 *
 * A subject counts once per stage, at its first entry: a customer who
 * renews every year enters `renewal` once.
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

struct stage {
  char *name;
  char **types;
  size_t ntypes;
  int next; /* index, -1 when none */
  char *amount_attr;
  char *currency_attr;
};

struct hk_stage_list {
  struct stage *v;
  size_t n;
};

/* Amounts past this many major units are not counted: in cents, a
 * month of them stays far from int64's end. */
#define AMOUNT_MAX 1e12

/* ---------------------------------------------------------------------------
 * The stages of the config
 * ------------------------------------------------------------------------- */

static char *dup_str(const json_t *v) {
  return json_is_string(v) ? hk_xstrdup(json_string_value(v)) : NULL;
}

struct hk_stage_list *hk_stage_list_new(const struct hk_config *cfg) {
  json_t *stages = json_object_get(cfg->doc, "stages");
  struct hk_stage_list *s = hk_xcalloc(1, sizeof *s);
  const char *name;
  json_t *conf;
  size_t i = 0;

  s->n = json_object_size(stages);
  s->v = hk_xcalloc(s->n + 1, sizeof *s->v);
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

void hk_stage_list_free(struct hk_stage_list *s) {
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
  free(s->v);
  free(s);
}

size_t hk_stage_list_count(const struct hk_stage_list *s) {
  return s->n;
}

const char *hk_stage_list_name(const struct hk_stage_list *s, size_t i) {
  return i < s->n ? s->v[i].name : NULL;
}

/* 1 when events of type enter st. */
static int enters(const struct stage *st, const char *type) {
  for (size_t k = 0; k < st->ntypes; k++) {
    if (st->types[k] != NULL && strcmp(st->types[k], type) == 0) {
      return 1;
    }
  }
  return 0;
}

int hk_stage_list_wants(const struct hk_stage_list *s, const char *type) {
  for (size_t i = 0; i < s->n; i++) {
    if (enters(&s->v[i], type)) {
      return 1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------
 * The record
 * ------------------------------------------------------------------------- */

void hk_stage_record_parse(const char *text, struct hk_stage_record *r) {
  r->stages = text != NULL ? json_loads(text, 0, NULL) : NULL;
  if (!json_is_object(r->stages)) {
    json_decref(r->stages);
    r->stages = json_object();
  }
}

void hk_stage_record_fini(struct hk_stage_record *r) {
  json_decref(r->stages);
  r->stages = NULL;
}

char *hk_stage_record_dump(const struct hk_stage_record *r) {
  char *text = json_dumps(r->stages, JSON_COMPACT | JSON_SORT_KEYS);
  if (text == NULL) {
    abort(); /* out of memory: nothing was acknowledged */
  }
  return text;
}

/* The time of an entry; 0 when it has none (as the facts always read it). */
static int64_t entry_at(const json_t *e) {
  return (int64_t)json_integer_value(json_array_get(e, 0));
}

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
  int64_t at = entry_at(cand);
  int64_t eat = entry_at(e);
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
  json_t *e =
      json_pack("[I, s, o, o]", (json_int_t)ev->at_ms, ev->id,
                st->amount_attr != NULL ? amount_of(ev->attrs, st->amount_attr)
                                        : json_null(),
                currency_of(ev->attrs, st->currency_attr));
  if (e == NULL) {
    abort(); /* out of memory, or an event without its id */
  }
  return e;
}

/* 1 unless the event comes strictly after the entry e by (time, id): an
 * event of the same time and id may still be an earlier copy. */
static int may_precede(const struct hk_event *ev, const json_t *e) {
  int64_t eat = entry_at(e);
  const char *eid = json_string_value(json_array_get(e, 1));
  if (ev->at_ms != eat) {
    return ev->at_ms < eat;
  }
  return strcmp(ev->id, eid != NULL ? eid : "") <= 0;
}

/* The entry of a stage, or NULL when there is none. A member that is not
 * an array is no entry (the facts count none), so an event replaces it. */
static const json_t *entry_in(const struct hk_stage_record *r,
                              const char *stage) {
  const json_t *e = json_object_get(r->stages, stage);
  return json_is_array(e) ? e : NULL;
}

int hk_stage_record_add(const struct hk_stage_list *s,
                        struct hk_stage_record *r, const struct hk_event *ev) {
  int changed = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct stage *st = &s->v[i];
    const json_t *e = entry_in(r, st->name);
    json_t *cand;
    if (!enters(st, ev->type) || (e != NULL && !may_precede(ev, e))) {
      continue;
    }
    cand = entry_of(st, ev);
    if (e != NULL && !earlier(cand, e)) {
      json_decref(cand);
      continue;
    }
    json_object_set_new(r->stages, st->name, cand);
    changed = 1;
  }
  return changed;
}

int hk_stage_record_takes(const struct hk_stage_list *s,
                          const struct hk_stage_record *r,
                          const struct hk_event *ev) {
  for (size_t i = 0; i < s->n; i++) {
    const json_t *e = entry_in(r, s->v[i].name);
    if (enters(&s->v[i], ev->type) && (e == NULL || may_precede(ev, e))) {
      return 1;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------
 * Reading it: the facts it counts, the entries it lists
 * ------------------------------------------------------------------------- */

void hk_stage_record_facts(const struct hk_stage_list *s,
                           const struct hk_stage_record *r,
                           struct hk_stage_fact *f) {
  for (size_t i = 0; i < s->n; i++) {
    const json_t *e = json_object_get(r->stages, s->v[i].name);
    const json_t *amount = json_array_get(e, 2);
    memset(&f[i], 0, sizeof f[i]);
    if (!json_is_array(e)) {
      continue;
    }
    f[i].entered = 1;
    f[i].at_ms = entry_at(e);
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
      const json_t *e = json_object_get(r->stages, s->v[d].name);
      int64_t at;
      int64_t took;
      if (!json_is_array(e)) {
        continue;
      }
      at = entry_at(e);
      /* Times come from outside: a span past int64 saturates. */
      if (__builtin_sub_overflow(at, f[i].at_ms, &took)) {
        took = INT64_MAX;
      }
      if (at >= f[i].at_ms && (!f[i].moved || took < f[i].took_ms)) {
        f[i].moved = 1;
        f[i].took_ms = took;
        f[i].to = d;
      }
    }
  }
}

static int entry_cmp(const void *pa, const void *pb) {
  const struct hk_stage_entry *a = pa;
  const struct hk_stage_entry *b = pb;
  if (a->at_ms != b->at_ms) {
    return a->at_ms < b->at_ms ? -1 : 1;
  }
  return strcmp(a->stage, b->stage);
}

size_t hk_stage_record_entries(const struct hk_stage_record *r,
                               struct hk_stage_entry **out) {
  size_t n = 0;
  const char *name;
  json_t *e;
  *out = hk_xcalloc(json_object_size(r->stages) + 1, sizeof **out);
  json_object_foreach(r->stages, name, e) {
    const json_t *at = json_array_get(e, 0);
    const char *id = json_string_value(json_array_get(e, 1));
    if (!json_is_integer(at)) {
      continue;
    }
    (*out)[n].stage = name;
    (*out)[n].at_ms = (int64_t)json_integer_value(at);
    (*out)[n].event_id = id != NULL ? id : "";
    n++;
  }
  if (n > 1) {
    qsort(*out, n, sizeof **out, entry_cmp);
  }
  return n;
}
