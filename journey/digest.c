/*
 * digest.c -- the weekly review (digests.NAME of the config): when its
 * period starts, what it says, and the request its notifier sends.
 *
 * A digest runs on a schedule, "Mon 09:00", in the zone of its calendar
 * (UTC without one): its period starts at the latest such instant, and a
 * worker posts it once per period (workers/digest.c). It says the KPIs of
 * the handoffs and stages it covers, from the health document the workers
 * computed, each with its owner, target, value and verdict, the reds
 * first with their action plans, and what changed since the last digest
 * posted (its snapshot, kept by the worker). Slack gets Block Kit; the
 * webhook kind gets the document itself, signed as alerts are.
 *
 * Pure but for the zone file, read once when the digest is compiled.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"
#include "journey/zone.h"

#define DAY_S 86400

struct hk_digest {
  char *name;
  char *notifier;
  char *schedule;
  char *zone_name;
  struct hk_zone *zone;
  int weekday;      /* 0 Monday .. 6 Sunday */
  int minute;       /* of the local day */
  json_t *stages;   /* names covered; empty: all */
  json_t *handoffs; /* names covered; empty: all */
};

static const char *const days[] = {"Mon", "Tue", "Wed", "Thu",
                                   "Fri", "Sat", "Sun"};

static int digit(char c) {
  return c >= '0' && c <= '9';
}

int hk_digest_schedule_parse(const char *s, int *weekday, int *minute) {
  int h;
  int m;
  if (s == NULL || strlen(s) != 9 || s[3] != ' ' || s[6] != ':' ||
      !digit(s[4]) || !digit(s[5]) || !digit(s[7]) || !digit(s[8])) {
    return -1;
  }
  h = (s[4] - '0') * 10 + (s[5] - '0');
  m = (s[7] - '0') * 10 + (s[8] - '0');
  for (int d = 0; d < 7; d++) {
    if (strncmp(s, days[d], 3) == 0 && h < 24 && m < 60) {
      *weekday = d;
      *minute = h * 60 + m;
      return 0;
    }
  }
  return -1;
}

struct hk_digest *hk_digest_new(const char *name, const json_t *cfg_doc,
                                struct hk_error *err) {
  const json_t *conf =
      json_object_get(json_object_get(cfg_doc, "digests"), name);
  const char *cal = json_string_value(json_object_get(conf, "calendar"));
  const char *tz = json_string_value(json_object_get(
      json_object_get(json_object_get(cfg_doc, "calendars"), cal), "timezone"));
  struct hk_digest *d;
  enum hk_zone_err zerr = HK_ZONE_OK;
  if (conf == NULL) {
    hk_fail(err, HK_E_CONFIG, "no digest is named \"%s\"", name);
    return NULL;
  }
  d = hk_xcalloc(1, sizeof *d);
  d->name = hk_xstrdup(name);
  d->notifier =
      hk_xstrdup(json_string_value(json_object_get(conf, "notifier")));
  d->schedule =
      hk_xstrdup(json_string_value(json_object_get(conf, "schedule")));
  d->zone_name = hk_xstrdup(tz != NULL ? tz : "UTC");
  d->zone =
      tz != NULL ? hk_zone_load(tz, &zerr) : hk_zone_from_posix("UTC0", &zerr);
  d->stages = json_deep_copy(json_object_get(conf, "stages"));
  d->handoffs = json_deep_copy(json_object_get(conf, "handoffs"));
  if (d->zone == NULL ||
      hk_digest_schedule_parse(d->schedule, &d->weekday, &d->minute) != 0) {
    hk_fail(err, HK_E_CONFIG, "digest %s: %s", name,
            d->zone == NULL ? hk_zone_strerror(zerr) : "bad schedule");
    hk_digest_free(d);
    return NULL;
  }
  return d;
}

void hk_digest_free(struct hk_digest *d) {
  if (d == NULL) {
    return;
  }
  free(d->name);
  free(d->notifier);
  free(d->schedule);
  free(d->zone_name);
  hk_zone_free(d->zone);
  json_decref(d->stages);
  json_decref(d->handoffs);
  free(d);
}

const char *hk_digest_name(const struct hk_digest *d) {
  return d->name;
}
const char *hk_digest_notifier(const struct hk_digest *d) {
  return d->notifier;
}

/* The UTC second of the local wall-clock second lt (the earlier one when
 * a clock change repeats it; the one after a gap it skips). */
static int64_t utc_of_local(const struct hk_zone *z, int64_t lt) {
  int64_t until;
  int64_t t = lt - hk_zone_offset(z, lt, &until);
  return lt - hk_zone_offset(z, t, &until);
}

int64_t hk_digest_period(const struct hk_digest *d, int64_t now_ms) {
  int64_t until;
  int64_t now_s = hk_zone_floor_div(now_ms, 1000);
  int64_t local = now_s + hk_zone_offset(d->zone, now_s, &until);
  int64_t day = hk_zone_floor_div(local, DAY_S);
  for (int64_t back = 0; back <= 14; back++) {
    int64_t dd = day - back;
    /* 1970-01-01 was a Thursday (3, Monday being 0). */
    int wd = (int)(((dd + 3) % 7 + 7) % 7);
    int64_t at;
    if (wd != d->weekday) {
      continue;
    }
    at = utc_of_local(d->zone, dd * DAY_S + (int64_t)d->minute * 60);
    if (at <= now_s) {
      return at * 1000;
    }
  }
  return now_ms; /* not reached: a week back always has the day */
}

/* ---------------------------------------------------------------------------
 * The document
 * ------------------------------------------------------------------------- */

static int covers(const json_t *list, const char *name) {
  size_t i;
  json_t *v;
  if (json_array_size(list) == 0) {
    return 1;
  }
  json_array_foreach(list, i, v) {
    if (strcmp(json_string_value(v), name) == 0) {
      return 1;
    }
  }
  return 0;
}

static int rank(const char *status) {
  static const char *const order[] = {"red", "amber", "unknown", "green"};
  for (int i = 0; i < 4; i++) {
    if (status != NULL && strcmp(status, order[i]) == 0) {
      return i;
    }
  }
  return 2;
}

static int kpi_cmp(const void *pa, const void *pb) {
  json_t *a = *(json_t *const *)pa;
  json_t *b = *(json_t *const *)pb;
  int ra = rank(json_string_value(json_object_get(a, "status")));
  int rb = rank(json_string_value(json_object_get(b, "status")));
  if (ra != rb) {
    return ra - rb;
  }
  return strcmp(json_string_value(json_object_get(a, "name")),
                json_string_value(json_object_get(b, "name")));
}

/* better, worse, same or new, from the verdicts then and now. */
static const char *change_of(const json_t *was, const char *status) {
  const char *then = json_string_value(json_object_get(was, "status"));
  if (then == NULL) {
    return "new";
  }
  if (rank(status) == rank(then)) {
    return "same";
  }
  /* unknown sits between amber and green in the order, but it is no
   * better than either. */
  if (strcmp(status, "unknown") == 0 || strcmp(then, "unknown") == 0) {
    return "same";
  }
  return rank(status) > rank(then) ? "better" : "worse";
}

/* The KPI entries of the covered parts of one kind of the health doc. */
static void gather(const struct hk_digest *d, const json_t *health,
                   const char *kind, const json_t *previous, json_t *kpis,
                   json_t *parts) {
  int handoff = strcmp(kind, "handoff") == 0;
  const json_t *cover = handoff ? d->handoffs : d->stages;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(health, handoff ? "handoffs" : "stages"),
                     i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    size_t j;
    json_t *k;
    if (name == NULL || !covers(cover, name)) {
      continue;
    }
    json_array_append_new(
        parts, json_pack("{s:s,s:s,s:O,s:O,s:O}", "kind", kind, "name", name,
                         "status", json_object_get(p, "status"), "owner",
                         json_object_get(p, "owner"), "reason",
                         json_object_get(p, "reason")));
    json_array_foreach(json_object_get(p, "kpis"), j, k) {
      const char *kname = json_string_value(json_object_get(k, "name"));
      const char *status = json_string_value(json_object_get(k, "status"));
      json_t *was = json_object_get(previous, kname != NULL ? kname : "");
      json_t *e;
      if (kname == NULL || status == NULL) {
        continue;
      }
      e = json_pack(
          "{s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:O,s:s,s:O,s:O,s:O,s:s}", "name",
          kname, "of", kind, "part", name, "owner", json_object_get(k, "owner"),
          "window", json_object_get(k, "window"), "unit",
          json_object_get(k, "unit"), "target", json_object_get(k, "target"),
          "value", json_object_get(k, "value"), "status", status, "text",
          json_object_get(k, "text"), "action", json_object_get(k, "action"),
          "was", was != NULL ? was : json_null(), "change",
          change_of(was, status));
      if (e != NULL) {
        json_array_append_new(kpis, e);
      }
    }
  }
}

/* The worst status of the parts covered, and the reasons of those that
 * are not green, joined ("no part ..." when all are). */
static void verdict(const json_t *parts, const char **status, json_t **reason) {
  static const char *const names[] = {"red", "amber", "unknown", "green"};
  int worst = 3;
  size_t i;
  json_t *p;
  char *joined = hk_xstrdup("");
  json_array_foreach(parts, i, p) {
    int r = rank(json_string_value(json_object_get(p, "status")));
    const char *why = json_string_value(json_object_get(p, "reason"));
    worst = r < worst ? r : worst;
    if (r < 2 && why != NULL) {
      char *next =
          hk_xprintf("%s%s%s: %s", joined, *joined ? "; " : "",
                     json_string_value(json_object_get(p, "name")), why);
      free(joined);
      joined = next;
    }
  }
  *status = names[worst];
  *reason = json_string(*joined ? joined
                                : "every handoff and stage it covers is on "
                                  "track");
  free(joined);
}

json_t *hk_digest_build(const struct hk_digest *d, const json_t *health,
                        const json_t *previous, int64_t period_ms,
                        int64_t now_ms) {
  json_t *kpis = json_array();
  json_t *parts = json_array();
  json_t *sorted = json_array();
  json_t **v;
  size_t n;
  json_int_t counts[4] = {0, 0, 0, 0};
  const char *status;
  json_t *reason;
  char period[HK_TIME_TEXT];
  char computed[HK_TIME_TEXT];
  gather(d, health, "handoff", previous, kpis, parts);
  gather(d, health, "stage", previous, kpis, parts);
  n = json_array_size(kpis);
  v = hk_xcalloc(n + 1, sizeof(void *));
  for (size_t i = 0; i < n; i++) {
    v[i] = json_array_get(kpis, i);
    counts[rank(json_string_value(json_object_get(v[i], "status")))]++;
  }
  qsort(v, n, sizeof(void *), kpi_cmp);
  for (size_t i = 0; i < n; i++) {
    json_array_append(sorted, v[i]);
  }
  free(v);
  json_decref(kpis);
  hk_time_format_ms(period_ms, period);
  hk_time_format_ms(now_ms, computed);
  verdict(parts, &status, &reason);
  return json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:o,s:{s:I,s:I,s:I,s:I},s:o,s:o}", "digest",
      d->name, "schedule", d->schedule, "zone", d->zone_name, "period", period,
      "sent_at", computed, "computed_at",
      json_object_get(health, "computed_at") != NULL
          ? json_object_get(health, "computed_at")
          : json_null(),
      "status", status, "reason", reason, "counts", "red", counts[0], "amber",
      counts[1], "unknown", counts[2], "green", counts[3], "kpis", sorted,
      "parts", parts);
}

json_t *hk_digest_snapshot(const json_t *doc) {
  json_t *out = json_object();
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(doc, "kpis"), i, k) {
    json_object_set_new(out, json_string_value(json_object_get(k, "name")),
                        json_pack("{s:O,s:O,s:O}", "value",
                                  json_object_get(k, "value"), "status",
                                  json_object_get(k, "status"), "unit",
                                  json_object_get(k, "unit")));
  }
  return out;
}
