/*
 * record.c -- the clock record: the text kept for one handoff and subject,
 * encoded and decoded here, and nowhere else. workers/sla.c writes it by
 * check-and-set; the status API (fcgi/api.c) and handoffctl read it.
 *
 *   {"e": [[id, type, at, attrs?]…], "s": [[state, missing, alerted,
 *    start, bucket?, goal?, unknown_owner?, groups?]…]}
 *
 * "e" is every event of the subject the handoff listens to, slimmed to what
 * the handoff reads (hk_handoff_slim) and kept once per id, as arrays rather
 * than objects to keep a million open clocks small; "s" is the summary of
 * the clocks as last written, in order of start: their state, the names
 * of the attributes the start lacked (0: none), which alerts went out
 * (bit k: step k of the handoff's escalation ladder, journey/ladder.c; the
 * default ladder's bit 0 is the warning, bit 1 the breach), the index in
 * "e" of the event that started it (events are only ever appended, so an
 * index stays right), and for a stopped clock the bucket of its response
 * time (hk_kpi_bucket), for a clock at risk or breached the goal it is
 * held to (goal_value: "5m", the goal's or the SLA's own value, so the
 * health reason can name it), for a running clock the owner id the owners
 * directory did not know, and the values of the handoff's group_by it is
 * counted under ({"owner": "ana", "segment": "smb"}); trailing zeros are
 * left out. The summary is exactly what the counters, the state indexes
 * and the KPI buckets hold of the record (workers/sla.c, count_entry), so
 * what was counted does not depend on the config that later takes it out
 * again.
 *
 * Pure: no I/O, no clock, no logging.
 */
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

void hk_record_parse(const char *text, struct hk_clock_record *r) {
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

void hk_record_fini(struct hk_clock_record *r) {
  json_decref(r->events);
  json_decref(r->summary);
  r->events = NULL;
  r->summary = NULL;
}

char *hk_record_dump(const struct hk_clock_record *r) {
  json_t *doc = json_pack("{s:O, s:O}", "e", r->events, "s", r->summary);
  char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (text == NULL) {
    abort(); /* out of memory: nothing was acknowledged */
  }
  return text;
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

int hk_record_add(struct hk_clock_record *r, const json_t *slim) {
  json_t *e = compact(slim);
  int added = !has_event(r->events, e);
  if (added) {
    json_array_append(r->events, e);
  }
  json_decref(e);
  return added;
}

int64_t hk_record_entry_int(const json_t *entry, size_t i) {
  return (int64_t)json_integer_value(json_array_get(entry, i));
}

int64_t hk_record_entry_start(const json_t *events, const json_t *entry) {
  const json_t *e =
      json_array_get(events, (size_t)hk_record_entry_int(entry, 3));
  return json_is_array(e) ? hk_record_entry_int(e, 2) : -1;
}

/* The index in events of the event that started c. */
static int64_t start_index(const json_t *events, const struct hk_clock *c) {
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    const char *id = json_string_value(json_array_get(e, 0));
    if (hk_record_entry_int(e, 2) == c->started_ms && id != NULL &&
        c->start_id != NULL && strcmp(id, c->start_id) == 0) {
      return (int64_t)i;
    }
  }
  return 0;
}

int hk_record_alerted(const struct hk_clock_record *r, int64_t started_ms) {
  size_t i;
  json_t *s;
  json_array_foreach(r->summary, i, s) {
    if (hk_record_entry_start(r->events, s) == started_ms) {
      return (int)hk_record_entry_int(s, 2);
    }
  }
  return 0;
}

json_t *hk_record_entry_new(const struct hk_clock_record *r,
                            const struct hk_clock *c, int alerted,
                            const char *goal) {
  json_int_t start = (json_int_t)start_index(r->events, c);
  const char *unknown = c->owner_unknown;
  int bucket = 0;
  size_t len;
  json_t *e;

  if (c->state == HK_CLOCK_MET || c->state == HK_CLOCK_MET_LATE) {
    bucket = hk_kpi_bucket(c->elapsed_ms);
  }
  if (c->state != HK_CLOCK_AT_RISK && c->state != HK_CLOCK_BREACHED) {
    goal = NULL;
  }
  /* Trailing zeros left out, so a million open clocks stay small: an open
   * clock started by the record's first event is [0]. */
  if (c->state == HK_CLOCK_MET || c->state == HK_CLOCK_MET_LATE ||
      c->state == HK_CLOCK_CANCELLED) {
    unknown = NULL; /* counted while the clock runs */
  }
  len = unknown != NULL                   ? 7
        : goal != NULL                    ? 6
        : bucket != 0                     ? 5
        : start != 0                      ? 4
        : alerted != 0                    ? 3
        : json_array_size(c->missing) > 0 ? 2
                                          : 1;
  e = json_array();
  json_array_append_new(e, json_integer((int)c->state));
  if (len > 1) {
    json_array_append_new(e, json_array_size(c->missing) > 0
                                 ? json_copy(c->missing)
                                 : json_integer(0));
  }
  if (len > 2) {
    json_array_append_new(e, json_integer(alerted));
  }
  if (len > 3) {
    json_array_append_new(e, json_integer(start));
  }
  if (len > 4) {
    json_array_append_new(e, json_integer(bucket));
  }
  if (len > 5) {
    json_array_append_new(e,
                          goal != NULL ? json_string(goal) : json_integer(0));
  }
  if (len > 6) {
    json_array_append_new(e, json_string(unknown));
  }
  return e;
}

void hk_record_eval(const struct hk_handoff *h, const struct hk_clock_record *r,
                    int64_t now_ms, struct hk_clocks *out) {
  size_t n = json_array_size(r->events);
  struct hk_clock_event *v = hk_xcalloc(n > 0 ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(r->events, i);
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
  struct hk_clock_record rec;
  hk_record_parse(record, &rec);
  hk_record_eval(h, &rec, now_ms, out);
  hk_record_fini(&rec);
}

void hk_record_entry_groups(json_t *entry, json_t *groups) {
  if (groups == NULL) {
    return;
  }
  while (json_array_size(entry) < 7) {
    json_array_append_new(entry, json_integer(0));
  }
  json_array_append_new(entry, groups);
}

const json_t *hk_record_event_attrs(const struct hk_clock_record *r,
                                    const char *id) {
  size_t i;
  json_t *e;
  json_array_foreach(r->events, i, e) {
    const char *eid = json_string_value(json_array_get(e, 0));
    if (eid != NULL && id != NULL && strcmp(eid, id) == 0) {
      return json_array_get(e, 3);
    }
  }
  return NULL;
}
