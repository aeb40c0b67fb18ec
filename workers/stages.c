/*
 * stages.c -- the worker's shell of the stage records, for the stage KPIs.
 *
 * A subject's stage record ({prefix}stages, one field per subject) keeps
 * its first entry into each stage; its format, how an event enters it and
 * what it counts are journey/stages.c's (hk_stage_record_*). This file
 * hands the records a batch touches to the check-and-set (workers/cas.c),
 * and moves the KPI buckets with each record by the difference between its
 * old facts and its new (store.h: skpi:STAGE:DAY), so any order of events
 * over any number of workers ends in the same figures.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/cas.h"
#include "workers/kpi.h"

/* What the worker last saw of a subject's stage record. Entries only ever
 * move earlier, so a stale copy is still safe to skip with: an event that
 * comes at or after the copy's entry cannot change the record. */
struct seen {
  char *subject;
  struct hk_stage_record record;
};

#define SEEN_SLOTS 16384

struct hk_stages {
  struct hk_stage_list *list;
  struct seen *seen; /* SEEN_SLOTS, by hash of the subject */
};

struct hk_stages *hk_stages_new(const struct hk_config *cfg) {
  struct hk_stages *s = hk_xcalloc(1, sizeof *s);
  s->list = hk_stage_list_new(cfg);
  s->seen = hk_xcalloc(SEEN_SLOTS, sizeof *s->seen);
  return s;
}

void hk_stages_free(struct hk_stages *s) {
  if (s == NULL) {
    return;
  }
  for (size_t i = 0; i < SEEN_SLOTS; i++) {
    free(s->seen[i].subject);
    json_decref(s->seen[i].record.stages);
  }
  free(s->seen);
  hk_stage_list_free(s->list);
  free(s);
}

/* ---------------------------------------------------------------------------
 * Facts
 * ------------------------------------------------------------------------- */

json_t *hk_stages_facts(const struct hk_stages *s, const char *record) {
  size_t n = hk_stage_list_count(s->list);
  struct hk_stage_record rec;
  struct hk_stage_fact *f = hk_xcalloc(n + 1, sizeof *f);
  json_t *out = json_object();
  hk_stage_record_parse(record, &rec);
  hk_stage_record_facts(s->list, &rec, f);
  for (size_t i = 0; i < n; i++) {
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
    json_object_set_new(out, hk_stage_list_name(s->list, i), o);
  }
  free(f);
  hk_stage_record_fini(&rec);
  return out;
}

/* Moves the buckets by the facts, sign -1 for the old and +1 for the new. */
static void count_facts(const struct hk_stage_list *l,
                        const struct hk_stage_fact *f, int sign,
                        struct hk_ops *o) {
  for (size_t i = 0; i < hk_stage_list_count(l); i++) {
    char key[160];
    char field[160];
    int64_t hour;
    int hh;
    if (!f[i].entered || f[i].at_ms < 0) {
      continue;
    }
    hour = f[i].at_ms / 3600000;
    hh = (int)(hour % 24);
    snprintf(key, sizeof key, "skpi:%s:%" PRId64, hk_stage_list_name(l, i),
             hour / 24);
    snprintf(field, sizeof field, "%02d|entered", hh);
    hk_ops_incr(o, key, field, sign);
    if (f[i].moved) {
      snprintf(field, sizeof field, "%02d|moved", hh);
      hk_ops_incr(o, key, field, sign);
      snprintf(field, sizeof field, "%02d|t:%d", hh,
               hk_kpi_bucket(f[i].took_ms));
      hk_ops_incr(o, key, field, sign);
      snprintf(field, sizeof field, "%02d|to:%s", hh,
               hk_stage_list_name(l, (size_t)f[i].to));
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
  struct hk_stage_record record; /* as last computed (owned) */
};

static void compute(void *arg, struct hk_cas_item *it) {
  const struct hk_stage_list *l = *(const struct hk_stage_list **)arg;
  struct subject *sub = it->user;
  size_t n = hk_stage_list_count(l);
  struct hk_stage_record rec;
  struct hk_stage_fact *before = hk_xcalloc(n + 1, sizeof *before);
  struct hk_stage_fact *after = hk_xcalloc(n + 1, sizeof *after);
  int changed = 0;

  hk_stage_record_parse(it->old, &rec);
  /* The old facts out first, while their strings are there; an item that
   * does not change is not written, its ops unused. */
  hk_stage_record_facts(l, &rec, before);
  count_facts(l, before, -1, &it->ops);
  for (size_t k = 0; k < sub->n; k++) {
    changed |= hk_stage_record_add(l, &rec, sub->evs[k]);
  }
  if (changed) {
    hk_stage_record_facts(l, &rec, after);
    count_facts(l, after, +1, &it->ops);
    it->record = hk_stage_record_dump(&rec);
  }
  free(before);
  free(after);
  hk_stage_record_fini(&sub->record);
  sub->record = rec;
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
    if (hk_stage_record_takes(s->list, &x->record, sub->evs[k])) {
      return 0;
    }
  }
  return 1;
}

static void remember(struct hk_stages *s, const char *subject,
                     const struct hk_stage_record *record) {
  struct seen *x = seen_slot(s, subject);
  if (record->stages == NULL) {
    return;
  }
  free(x->subject);
  json_decref(x->record.stages);
  x->subject = hk_xstrdup(subject);
  x->record.stages = json_incref(record->stages);
}

struct hk_stages_round {
  struct hk_stages *s;
  const struct hk_stage_list *cs; /* the ctx of compute() */
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
  r->cs = s->list;
  r->subs = hk_xcalloc(nevs + 1, sizeof *r->subs);
  for (size_t e = 0; e < nevs; e++) {
    struct subject *sub = NULL;
    if (!hk_stage_list_wants(s->list, evs[e]->type)) {
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
      remember(r->s, r->subs[k].name, &r->subs[k].record);
    }
    free(r->subs[k].evs);
    hk_stage_record_fini(&r->subs[k].record);
  }
  free(r->subs);
  free(r);
}
