/*
 * kpi.c -- handoff and stage KPIs over rolling windows, the health verdicts
 * and the documents of the status API.
 *
 * The worker counts each clock into the hour it started (workers/sla.c) and
 * each subject into the hour it entered a stage (workers/stages.c), in
 * hashes of one UTC day ({prefix}hkpi:HANDOFF:DAY, {prefix}skpi:STAGE:DAY,
 * store.h). A window of 24 hours, 7 or 30 days is the current hour and the
 * 23, 167 or 719 before it, so a window's figures are sums of whole hours,
 * whatever the number of clocks: reading them costs the same with ten clocks
 * as with a million. Durations are counted in buckets 10% wide
 * (hk_kpi_bucket), so percentiles are within 5% of the exact value.
 *
 * hk_kpi_documents is pure: from the hashes read and the time, it builds
 * every document the status API serves; workers/kpi_shell.c reads the
 * hashes and writes the documents.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/journey.h"

/* ---------------------------------------------------------------------------
 * Buckets
 * ------------------------------------------------------------------------- */

#define NBOUNDS 1000

/* bounds[k] = 1.1^k, the upper bound of bucket k (k >= 1), computed once
 * by repeated products, so a value on a bound never lands on either side
 * by rounding. */
static double bounds[NBOUNDS + 1];
static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

static void bounds_init(void) {
  double b = 1.0;
  for (int k = 0; k <= NBOUNDS; k++) {
    bounds[k] = b;
    b *= 1.1;
  }
}

int hk_kpi_bucket(int64_t ms) {
  int lo = 1;
  int hi = NBOUNDS;
  pthread_once(&bounds_once, bounds_init);
  /* The first k with ms < 1.1^k. */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if ((double)ms < bounds[mid]) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

int64_t hk_kpi_bucket_ms(int bucket) {
  double low = 1.0;
  if (bucket <= 1) {
    return 1;
  }
  for (int k = 1; k < bucket; k++) {
    low *= 1.1;
  }
  return (int64_t)llround(low * sqrt(1.1));
}

/* ---------------------------------------------------------------------------
 * Windows
 * ------------------------------------------------------------------------- */

static const struct {
  const char *name;
  int64_t hours;
} windows[] = {{"24h", 24}, {"7d", 168}, {"30d", 720}};

#define NWINDOWS 3
#define HOUR_MS 3600000LL

/* Sums into sums[w][name] every "HH|name" field of the day hashes whose
 * hour falls in window w. days: object DAY -> {field: n}. */
static void sum_windows(json_t *days, int64_t now_ms, json_t *sums[NWINDOWS]) {
  int64_t now_h = now_ms / HOUR_MS;
  const char *day;
  json_t *fields;
  json_object_foreach(days, day, fields) {
    int64_t d = strtoll(day, NULL, 10);
    const char *f;
    json_t *v;
    json_object_foreach(fields, f, v) {
      char *end;
      long hh = strtol(f, &end, 10);
      int64_t h;
      if (*end != '|' || hh < 0 || hh > 23) {
        continue;
      }
      h = d * 24 + hh;
      for (int w = 0; w < NWINDOWS; w++) {
        if (h <= now_h && h > now_h - windows[w].hours) {
          json_t *cur = json_object_get(sums[w], end + 1);
          json_object_set_new(
              sums[w], end + 1,
              json_integer(json_integer_value(cur) + json_integer_value(v)));
        }
      }
    }
  }
}

static int64_t sum_of(const json_t *sums, const char *name) {
  return (int64_t)json_integer_value(json_object_get(sums, name));
}

/* The nearest-rank percentile p (0-100) of the buckets "PREFIXk" of sums,
 * or -1 when there are none. */
static int64_t percentile(json_t *sums, const char *prefix, int p) {
  int64_t counts[1001] = {0};
  int64_t total = 0;
  int64_t rank;
  int64_t seen = 0;
  size_t plen = strlen(prefix);
  const char *f;
  json_t *v;
  json_object_foreach(sums, f, v) {
    long k;
    if (strncmp(f, prefix, plen) != 0) {
      continue;
    }
    k = strtol(f + plen, NULL, 10);
    if (k >= 1 && k <= 1000 && json_integer_value(v) > 0) {
      counts[k] += json_integer_value(v);
      total += json_integer_value(v);
    }
  }
  if (total == 0) {
    return -1;
  }
  rank = (total * p + 99) / 100;
  if (rank < 1) {
    rank = 1;
  }
  for (int k = 1; k <= 1000; k++) {
    seen += counts[k];
    if (seen >= rank) {
      return hk_kpi_bucket_ms(k);
    }
  }
  return -1;
}

static json_t *ms_or_null(int64_t ms) {
  return ms < 0 ? json_null() : json_integer((json_int_t)ms);
}

static json_t *time_json(int64_t ms) {
  char t[HK_TIME_TEXT];
  hk_time_format_ms(ms, t);
  return json_string(t);
}

static json_t *share(int64_t num, int64_t den) {
  return den > 0 ? json_real((double)num / (double)den) : json_null();
}

/* Object of attribute -> count, most often missing first. */
static json_t *missing_of(json_t *sums) {
  struct item {
    const char *name;
    int64_t n;
  } items[64];
  size_t n = 0;
  json_t *out = json_object();
  const char *f;
  json_t *v;
  json_object_foreach(sums, f, v) {
    if (strncmp(f, "missing:", 8) == 0 && json_integer_value(v) > 0 && n < 64) {
      items[n].name = f + 8;
      items[n].n = json_integer_value(v);
      n++;
    }
  }
  /* Insertion sort: a handful of attributes. */
  for (size_t i = 1; i < n; i++) {
    struct item x = items[i];
    size_t j = i;
    while (j > 0 &&
           (items[j - 1].n < x.n ||
            (items[j - 1].n == x.n && strcmp(items[j - 1].name, x.name) > 0))) {
      items[j] = items[j - 1];
      j--;
    }
    items[j] = x;
  }
  for (size_t i = 0; i < n; i++) {
    json_object_set_new(out, items[i].name, json_integer(items[i].n));
  }
  return out;
}

static json_t *handoff_window(json_t *sums, int64_t from_ms, int64_t now_ms) {
  json_t *w = json_object();
  int64_t judged =
      sum_of(sums, "met") + sum_of(sums, "met_late") + sum_of(sums, "breached");
  json_object_set_new(w, "from", time_json(from_ms));
  json_object_set_new(w, "to", time_json(now_ms));
  int64_t started = 0;
  for (int i = 0; i < HK_CLOCK_STATES; i++) {
    const char *state = hk_clock_state_name((enum hk_clock_state)i);
    started += sum_of(sums, state);
    json_object_set_new(w, state, json_integer(sum_of(sums, state)));
  }
  /* Every clock is in one state: started is their sum. */
  json_object_set_new(w, "started", json_integer(started));
  json_object_set_new(w, "incomplete",
                      json_integer(sum_of(sums, "incomplete")));
  json_object_set_new(w, "missing", missing_of(sums));
  json_object_set_new(w, "attainment", share(sum_of(sums, "met"), judged));
  json_object_set_new(w, "response_p50_ms",
                      ms_or_null(percentile(sums, "r:", 50)));
  json_object_set_new(w, "response_p90_ms",
                      ms_or_null(percentile(sums, "r:", 90)));
  return w;
}

static json_t *stage_window(json_t *sums, int64_t from_ms, int64_t now_ms) {
  json_t *w = json_object();
  json_t *revenue = json_object();
  json_t *flows = json_object();
  const char *f;
  json_t *v;
  json_object_set_new(w, "from", time_json(from_ms));
  json_object_set_new(w, "to", time_json(now_ms));
  json_object_set_new(w, "entered", json_integer(sum_of(sums, "entered")));
  json_object_set_new(w, "moved_on", json_integer(sum_of(sums, "moved")));
  json_object_set_new(w, "conversion",
                      share(sum_of(sums, "moved"), sum_of(sums, "entered")));
  json_object_set_new(w, "median_time_in_stage_ms",
                      ms_or_null(percentile(sums, "t:", 50)));
  json_object_foreach(sums, f, v) {
    if (strncmp(f, "rev:", 4) == 0 && json_integer_value(v) != 0) {
      json_object_set_new(revenue, f + 4,
                          json_real((double)json_integer_value(v) / 100.0));
    }
    /* Buckets written before flows were counted can go below zero when
     * such a subject moves: those are left out. */
    if (strncmp(f, "to:", 3) == 0 && json_integer_value(v) > 0) {
      json_object_set_new(flows, f + 3, json_integer(json_integer_value(v)));
    }
  }
  json_object_set_new(w, "revenue", revenue);
  json_object_set_new(w, "flows", flows);
  return w;
}

/* ---------------------------------------------------------------------------
 * KPIs and health
 * ------------------------------------------------------------------------- */

enum unit { U_SHARE, U_MS, U_COUNT, U_MONEY };

static const struct metric {
  const char *name;
  const char *label;
  int on_stage;
  int higher_better;
  enum unit unit;
} metrics[] = {
    {"attainment", "attainment", 0, 1, U_SHARE},
    {"incomplete_rate", "incomplete", 0, 0, U_SHARE},
    {"p50_response", "p50 response", 0, 0, U_MS},
    {"p90_response", "p90 response", 0, 0, U_MS},
    {"breached_open", "breached and still open", 0, 0, U_COUNT},
    {"at_risk_open", "at risk and still open", 0, 0, U_COUNT},
    {"conversion", "conversion", 1, 1, U_SHARE},
    {"median_time_in_stage", "median time in stage", 1, 0, U_MS},
    {"revenue", "revenue", 1, 1, U_MONEY},
    {"entered", "entered", 1, 1, U_COUNT},
};

static const struct metric *metric_of(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof metrics / sizeof *metrics;
       i++) {
    if (strcmp(metrics[i].name, name) == 0) {
      return &metrics[i];
    }
  }
  return NULL;
}

enum status { S_UNKNOWN, S_GREEN, S_AMBER, S_RED };

static const char *status_name(enum status s) {
  static const char *const n[] = {"unknown", "green", "amber", "red"};
  return n[s];
}

/* A threshold of the config: a number, or a duration for U_MS metrics. */
static double threshold(const json_t *v) {
  int64_t ms = 0;
  if (json_is_string(v) && hk_duration_parse(json_string_value(v), &ms) == 0) {
    return (double)ms;
  }
  return json_number_value(v);
}

/* "1h5m", "30m", "45s", "850ms". */
static void format_ms(double ms, char *buf, size_t n) {
  int64_t v = llround(ms);
  static const struct {
    const char *u;
    int64_t ms;
  } parts[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
  size_t used = 0;
  if (v < 1000) {
    snprintf(buf, n, "%lldms", (long long)v);
    return;
  }
  buf[0] = '\0';
  for (size_t i = 0; i < 4 && used < n; i++) {
    int64_t q = v / parts[i].ms;
    if (q > 0) {
      used += (size_t)snprintf(buf + used, n - used, "%lld%s", (long long)q,
                               parts[i].u);
      v -= q * parts[i].ms;
    }
  }
}

static void format_value(enum unit u, double v, const char *currency, char *buf,
                         size_t n) {
  switch (u) {
  case U_SHARE: snprintf(buf, n, "%.0f%%", v * 100.0); break;
  case U_MS: format_ms(v, buf, n); break;
  case U_COUNT: snprintf(buf, n, "%.0f", v); break;
  case U_MONEY:
    if (v == floor(v)) {
      snprintf(buf, n, "%.0f %s", v, currency);
    } else {
      snprintf(buf, n, "%.2f %s", v, currency);
    }
    break;
  }
}

/* The KPI's value from its handoff's or stage's document; NaN when there
 * is no data. */
static double kpi_value(const struct metric *m, const json_t *kpi,
                        const json_t *subject_doc) {
  const char *window = json_string_value(json_object_get(kpi, "window"));
  json_t *w = json_object_get(json_object_get(subject_doc, "windows"),
                              window != NULL ? window : "7d");
  json_t *v = NULL;
  if (strcmp(m->name, "attainment") == 0) {
    v = json_object_get(w, "attainment");
  } else if (strcmp(m->name, "incomplete_rate") == 0) {
    int64_t started = json_integer_value(json_object_get(w, "started"));
    return started > 0
               ? (double)json_integer_value(json_object_get(w, "incomplete")) /
                     (double)started
               : NAN;
  } else if (strcmp(m->name, "p50_response") == 0) {
    v = json_object_get(w, "response_p50_ms");
  } else if (strcmp(m->name, "p90_response") == 0) {
    v = json_object_get(w, "response_p90_ms");
  } else if (strcmp(m->name, "breached_open") == 0) {
    v = json_object_get(json_object_get(subject_doc, "running"), "breached");
  } else if (strcmp(m->name, "at_risk_open") == 0) {
    v = json_object_get(json_object_get(subject_doc, "running"), "at_risk");
  } else if (strcmp(m->name, "conversion") == 0) {
    v = json_object_get(w, "conversion");
  } else if (strcmp(m->name, "median_time_in_stage") == 0) {
    v = json_object_get(w, "median_time_in_stage_ms");
  } else if (strcmp(m->name, "revenue") == 0) {
    const char *cur = json_string_value(json_object_get(kpi, "currency"));
    json_t *r =
        json_object_get(json_object_get(w, "revenue"), cur != NULL ? cur : "");
    return r != NULL ? json_number_value(r) : 0.0;
  } else if (strcmp(m->name, "entered") == 0) {
    v = json_object_get(w, "entered");
  }
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static enum status judge(const struct metric *m, double v, double amber,
                         double red) {
  if (isnan(v)) {
    return S_UNKNOWN;
  }
  if (m->higher_better) {
    return v < red ? S_RED : v < amber ? S_AMBER : S_GREEN;
  }
  return v > red ? S_RED : v > amber ? S_AMBER : S_GREEN;
}

/* The KPI object of the config's kpis.NAME for its handoff or stage
 * document; *st its status. */
static json_t *kpi_doc(const char *name, const json_t *conf,
                       const json_t *subject_doc, enum status *st) {
  const struct metric *m =
      metric_of(json_string_value(json_object_get(conf, "metric")));
  const char *window = json_string_value(json_object_get(conf, "window"));
  const char *currency = json_string_value(json_object_get(conf, "currency"));
  double target = threshold(json_object_get(conf, "target"));
  double amber = threshold(json_object_get(conf, "amber"));
  double red = threshold(json_object_get(conf, "red"));
  json_t *k = json_object();
  json_t *desc = json_object_get(conf, "description");
  char value[64];
  char goal[64];
  char text[256];
  double v;

  window = window != NULL ? window : "7d";
  *st = S_UNKNOWN;
  json_object_set_new(k, "name", json_string(name));
  if (json_is_string(desc)) {
    json_object_set(k, "description", desc);
  }
  json_object_set(k, "metric", json_object_get(conf, "metric"));
  if (json_object_get(conf, "handoff") != NULL) {
    json_object_set(k, "handoff", json_object_get(conf, "handoff"));
  } else {
    json_object_set(k, "stage", json_object_get(conf, "stage"));
  }
  json_object_set_new(k, "window", json_string(window));
  if (m == NULL) {
    return k; /* the loader refuses other metrics */
  }
  json_object_set_new(k, "unit",
                      json_string(m->unit == U_SHARE   ? "share"
                                  : m->unit == U_MS    ? "ms"
                                  : m->unit == U_COUNT ? "count"
                                  : currency != NULL   ? currency
                                                       : ""));
  v = kpi_value(m, conf, subject_doc);
  *st = judge(m, v, amber, red);
  json_object_set_new(k, "value", isnan(v) ? json_null() : json_real(v));
  json_object_set_new(k, "target", json_real(target));
  json_object_set_new(k, "amber", json_real(amber));
  json_object_set_new(k, "red", json_real(red));
  json_object_set_new(k, "status", json_string(status_name(*st)));
  json_object_set(k, "owner", json_object_get(conf, "owner"));
  json_object_set(k, "action", json_object_get(conf, "action"));
  format_value(m->unit, target, currency != NULL ? currency : "", goal,
               sizeof goal);
  if (isnan(v)) {
    snprintf(text, sizeof text, "%s: no data yet (%s)", m->label, window);
  } else {
    format_value(m->unit, v, currency != NULL ? currency : "", value,
                 sizeof value);
    snprintf(text, sizeof text, "%s %s vs %s target (%s)", m->label, value,
             goal, m->unit == U_COUNT && !m->on_stage ? "now" : window);
  }
  json_object_set_new(k, "text", json_string(text));
  return k;
}

/* Appends "; " and s to the growing string *out. */
static void join(char **out, const char *s) {
  size_t a = *out != NULL ? strlen(*out) : 0;
  size_t b = strlen(s);
  *out = hk_xrealloc(*out, a + b + 3);
  if (a > 0) {
    memcpy(*out + a, "; ", 2);
    a += 2;
  }
  memcpy(*out + a, s, b + 1);
}

/* Appends s to the growing string *out (no separator). */
static void append(char **out, const char *s) {
  size_t a = *out != NULL ? strlen(*out) : 0;
  size_t b = strlen(s);
  *out = hk_xrealloc(*out, a + b + 1);
  memcpy(*out + a, s, b + 1);
}

/* join() of a and b together. */
static void join_two(char **out, const char *a, const char *b) {
  join(out, a);
  append(out, b);
}

/* "5m of business time", "deadline renews_at -120d": the goal whose
 * value (`within` or `offset`) is v, of the handoff conf, in words. */
static void goal_words(const json_t *conf, const char *v, char *buf, size_t n) {
  const json_t *sla = json_object_get(conf, "sla");
  if (json_object_get(sla, "within") != NULL) {
    snprintf(buf, n, "%s%s", v,
             json_object_get(conf, "calendar") != NULL ? " of business time"
                                                       : "");
  } else {
    snprintf(buf, n, "deadline %s %s",
             json_string_value(
                 json_object_get(json_object_get(sla, "deadline"), "attr")),
             v);
  }
}

/* The value of the handoff's own SLA ("1h", "-90d"), "" when none. */
static const char *own_value(const json_t *conf) {
  const json_t *sla = json_object_get(conf, "sla");
  const char *v = json_string_value(json_object_get(sla, "within"));
  if (v == NULL) {
    v = json_string_value(
        json_object_get(json_object_get(sla, "deadline"), "offset"));
  }
  return v != NULL ? v : "";
}

/*
 * The handoff's clocks in state ("breached", "at_risk") in words, lead
 * ("waiting past the SLA") after their number, with the goals they are
 * held to: "2 waiting past the SLA (5m of business time)", or with
 * several goals "3 waiting past the SLA (2 on 5m of business time, 1 on
 * 1h of business time)". Every goal that has such clocks is named, in the
 * order the config matches them (its goals, then the SLA's own), then any
 * goal a reload took out. counts: the hcount fields, where the worker
 * keeps "STATE@GOAL" by the goal's value; clocks it counted before it
 * did (no goal recorded) are put on the SLA's own goal. Empty when none.
 */
static void clocks_words(const json_t *conf, json_t *counts, const char *state,
                         const char *lead, char *buf, size_t n) {
  struct part {
    const char *value;
    int64_t n;
  } parts[32];
  size_t np = 0;
  size_t own = 0;
  int64_t total = sum_of(counts, state);
  int64_t named = 0;
  size_t slen = strlen(state);
  size_t used;
  const json_t *goals = json_object_get(conf, "goals");
  const char *f;
  json_t *v;

  buf[0] = '\0';
  if (total <= 0) {
    return;
  }
  /* The goals in order, the SLA's own last; a value listed once. */
  for (size_t i = 0; i <= json_array_size(goals) && np < 31; i++) {
    const json_t *g = json_array_get(goals, i);
    const char *value = g == NULL ? own_value(conf)
                        : json_object_get(g, "within") != NULL
                            ? json_string_value(json_object_get(g, "within"))
                            : json_string_value(json_object_get(g, "offset"));
    size_t k = 0;
    while (k < np && strcmp(parts[k].value, value != NULL ? value : "") != 0) {
      k++;
    }
    if (k == np) {
      parts[np].value = value != NULL ? value : "";
      parts[np].n = 0;
      np++;
    }
    if (g == NULL) {
      own = k;
    }
  }
  json_object_foreach(counts, f, v) {
    size_t k = 0;
    if (strncmp(f, state, slen) != 0 || f[slen] != '@' ||
        json_integer_value(v) <= 0) {
      continue;
    }
    while (k < np && strcmp(parts[k].value, f + slen + 1) != 0) {
      k++;
    }
    if (k == np && np < 32) {
      parts[np].value = f + slen + 1;
      parts[np].n = 0;
      np++;
    }
    if (k < np) {
      parts[k].n += json_integer_value(v);
      named += json_integer_value(v);
    }
  }
  if (total > named) {
    parts[own].n += total - named;
  }
  used = (size_t)snprintf(buf, n, "%lld %s (", (long long)total, lead);
  {
    size_t shown = 0;
    size_t with = 0;
    for (size_t k = 0; k < np; k++) {
      with += parts[k].n > 0;
    }
    for (size_t k = 0; k < np && used < n; k++) {
      char words[160];
      if (parts[k].n <= 0) {
        continue;
      }
      goal_words(conf, parts[k].value, words, sizeof words);
      if (with == 1) {
        used += (size_t)snprintf(buf + used, n - used, "%s", words);
      } else {
        used += (size_t)snprintf(buf + used, n - used, "%s%lld on %s",
                                 shown > 0 ? ", " : "", (long long)parts[k].n,
                                 words);
      }
      shown++;
    }
  }
  if (used < n) {
    snprintf(buf + used, n - used, ")");
  }
}

/* 1 when a KPI of the config for the handoff name measures metric. */
static int has_kpi(json_t *cfg_kpis, const char *name, const char *metric) {
  const char *kname;
  json_t *kconf;
  json_object_foreach(cfg_kpis, kname, kconf) {
    const char *of = json_string_value(json_object_get(kconf, "handoff"));
    const char *m = json_string_value(json_object_get(kconf, "metric"));
    if (of != NULL && m != NULL && strcmp(of, name) == 0 &&
        strcmp(m, metric) == 0) {
      return 1;
    }
  }
  return 0;
}

/*
 * Adds "kpis", "status" and "reason" to the handoff's or stage's document
 * (kind "handoff" or "stage"): its KPIs from the config, and the verdict.
 * conf and counts: the handoff's config and its hcount fields (NULL for a
 * stage). A handoff with clocks breached and still open is at least
 * amber; so is one with clocks at risk, unless a KPI of metric
 * at_risk_open judges them (its thresholds decide). Returns the status.
 */
static enum status verdict(json_t *cfg_kpis, const char *kind, const char *name,
                           const char *owner, const json_t *conf,
                           json_t *counts, json_t *doc) {
  json_t *list = json_array();
  size_t unknown = 0;
  enum status worst = S_GREEN;
  const json_t *worst_kpi = NULL;
  enum status worst_kpi_st = S_GREEN;
  char *reason = NULL;
  const char *kname;
  json_t *kconf;
  char line[512];
  char at_risk[512] = "";

  if (sum_of(counts, "breached") > 0) {
    worst = S_AMBER;
    clocks_words(conf, counts, "breached", "waiting past the SLA", line,
                 sizeof line);
    join(&reason, line);
  }
  clocks_words(conf, counts, "at_risk", "at risk of breaching the SLA", at_risk,
               sizeof at_risk);
  if (at_risk[0] != '\0' && !has_kpi(cfg_kpis, name, "at_risk_open")) {
    worst = S_AMBER;
    join(&reason, at_risk);
    at_risk[0] = '\0';
  }
  json_object_foreach(cfg_kpis, kname, kconf) {
    const char *of = json_string_value(json_object_get(kconf, kind));
    enum status st;
    json_t *k;
    if (of == NULL || strcmp(of, name) != 0) {
      continue;
    }
    k = kpi_doc(kname, kconf, doc, &st);
    json_array_append_new(list, k);
    unknown += st == S_UNKNOWN;
    if (st == S_AMBER || st == S_RED) {
      join(&reason, json_string_value(json_object_get(k, "text")));
      if (st > worst) {
        worst = st;
      }
      if (worst_kpi == NULL || st > worst_kpi_st) {
        worst_kpi = k;
        worst_kpi_st = st;
      }
    }
  }
  if (worst_kpi != NULL) {
    /* Owner and action as long as they are: never cut. */
    const char *kowner = json_string_value(json_object_get(worst_kpi, "owner"));
    const char *action =
        json_string_value(json_object_get(worst_kpi, "action"));
    join_two(&reason, "owner: ", kowner != NULL ? kowner : "");
    append(&reason, "; action: ");
    append(&reason, action != NULL ? action : "");
  } else if (reason != NULL) {
    join_two(&reason, "owner: ", owner != NULL ? owner : "");
  }
  if (reason == NULL) {
    /* Green: say what was looked at. */
    size_t known = json_array_size(list) - unknown;
    if (strcmp(kind, "handoff") == 0) {
      join(&reason, sum_of(counts, "at_risk") > 0 ? "no clock past its SLA"
                                                  : "no clock past its SLA "
                                                    "or at risk");
    }
    if (at_risk[0] != '\0') {
      /* At risk, and a KPI says that is still green. */
      join(&reason, at_risk);
    }
    if (known > 0) {
      join(&reason, unknown > 0 ? "the KPIs with data on target"
                                : "every KPI on target");
    }
    if (unknown > 0) {
      snprintf(line, sizeof line, "%zu KPI%s without data yet", unknown,
               unknown == 1 ? "" : "s");
      join(&reason, line);
    }
    if (reason == NULL) {
      join(&reason, "no KPI configured");
    }
  }
  json_object_set_new(doc, "kpis", list);
  json_object_set_new(doc, "status", json_string(status_name(worst)));
  json_object_set_new(doc, "reason", json_string(reason));
  free(reason);
  return worst;
}

static void copy_if(json_t *to, const json_t *from, const char *key) {
  json_t *v = json_object_get(from, key);
  if (v != NULL) {
    json_object_set(to, key, v);
  }
}

/* {"24h": …, "7d": …, "30d": …}: each window's figures, made by fig from
 * the sums of the day hashes' fields over its hours. */
static json_t *windows_of(json_t *days, int64_t now_ms,
                          json_t *(*fig)(json_t *sums, int64_t from_ms,
                                         int64_t now_ms)) {
  json_t *sums[NWINDOWS];
  json_t *ws = json_object();
  for (int w = 0; w < NWINDOWS; w++) {
    sums[w] = json_object();
  }
  sum_windows(days, now_ms, sums);
  for (int w = 0; w < NWINDOWS; w++) {
    int64_t from = (now_ms / HOUR_MS - windows[w].hours + 1) * HOUR_MS;
    json_object_set_new(ws, windows[w].name, fig(sums[w], from, now_ms));
    json_decref(sums[w]);
  }
  return ws;
}

static json_t *handoff_doc(const char *name, const json_t *conf,
                           const json_t *data, json_t *cfg_kpis, int64_t now_ms,
                           enum status *st) {
  json_t *doc = json_object();
  json_t *running = json_object();
  json_t *counts = json_object_get(data, "running");
  const char *cal = json_string_value(json_object_get(conf, "calendar"));

  json_object_set_new(doc, "name", json_string(name));
  copy_if(doc, conf, "description");
  copy_if(doc, conf, "owner");
  /* A handoff may join no stage (a stop that enters none): null. */
  json_object_set(doc, "from",
                  json_object_get(conf, "from") != NULL
                      ? json_object_get(conf, "from")
                      : json_null());
  json_object_set(doc, "to",
                  json_object_get(conf, "to") != NULL
                      ? json_object_get(conf, "to")
                      : json_null());
  copy_if(doc, conf, "sla");
  json_object_set_new(doc, "calendar",
                      cal != NULL ? json_string(cal) : json_null());
  for (int i = 0; i < 5; i++) {
    static const char *const run[] = {"open", "at_risk", "paused", "breached",
                                      "unknown_owner"};
    json_object_set_new(running, run[i], json_integer(sum_of(counts, run[i])));
  }
  json_object_set_new(doc, "running", running);
  json_object_set_new(
      doc, "windows",
      windows_of(json_object_get(data, "days"), now_ms, handoff_window));
  *st = verdict(cfg_kpis, "handoff", name,
                json_string_value(json_object_get(conf, "owner")), conf, counts,
                doc);
  return doc;
}

static json_t *stage_doc(const char *name, const json_t *conf,
                         const json_t *data, json_t *cfg_kpis, int64_t now_ms,
                         enum status *st) {
  json_t *doc = json_object();
  const char *next = json_string_value(json_object_get(conf, "next"));

  json_object_set_new(doc, "name", json_string(name));
  copy_if(doc, conf, "description");
  copy_if(doc, conf, "owner");
  json_object_set_new(doc, "next",
                      next != NULL ? json_string(next) : json_null());
  json_object_set_new(
      doc, "windows",
      windows_of(json_object_get(data, "days"), now_ms, stage_window));
  if (next == NULL) {
    /* The last stage of a chain has nowhere to move on to: its conversion
     * is no figure, not 0. */
    const char *w;
    json_t *win;
    json_object_foreach(json_object_get(doc, "windows"), w, win) {
      json_object_set_new(win, "conversion", json_null());
    }
  }
  *st = verdict(cfg_kpis, "stage", name,
                json_string_value(json_object_get(conf, "owner")), NULL, NULL,
                doc);
  return doc;
}

/* ---------------------------------------------------------------------------
 * Figures per owner, segment, source (group_by)
 * ------------------------------------------------------------------------- */

/* Adds n to days[day][field] (creating both). */
static void add_to(json_t *days, const char *day, const char *field,
                   json_int_t n) {
  json_t *h = json_object_get(days, day);
  if (h == NULL) {
    h = json_object();
    json_object_set_new(days, day, h);
  }
  json_object_set_new(
      h, field,
      json_integer(json_integer_value(json_object_get(h, field)) + n));
}

/* Splits the day hashes of one dimension ("HH|VALUE|field") into one days
 * object per value ("HH|field"), as a handoff's own: a new object VALUE ->
 * days. */
static json_t *split_values(json_t *days) {
  json_t *per = json_object();
  const char *day;
  json_t *hash;
  json_object_foreach(days, day, hash) {
    const char *field;
    json_t *n;
    json_object_foreach(hash, field, n) {
      const char *first = strchr(field, '|');
      const char *last = strrchr(field, '|');
      char value[160];
      char f[200];
      json_t *vd;
      if (first == NULL || last == first || json_integer_value(n) == 0) {
        continue;
      }
      snprintf(value, sizeof value, "%.*s", (int)(last - first - 1), first + 1);
      snprintf(f, sizeof f, "%.*s|%s", (int)(first - field), field, last + 1);
      vd = json_object_get(per, value);
      if (vd == NULL) {
        vd = json_object();
        json_object_set_new(per, value, vd);
      }
      add_to(vd, day, f, json_integer_value(n));
    }
  }
  return per;
}

struct ranked {
  const char *value;
  int64_t started; /* in the 30-day window: the volume */
  json_t *windows;
};

static int by_volume(const void *a, const void *b) {
  const struct ranked *x = a;
  const struct ranked *y = b;
  if (x->started != y->started) {
    return x->started > y->started ? -1 : 1;
  }
  return strcmp(x->value, y->value);
}

/* The document of one dimension of a handoff's group_by: the top values
 * by clocks started in 30 days, each with the handoff's figures over the
 * same windows, and "other" for the rest (and for values outside the
 * dimension's bounds). */
static json_t *group_doc(const char *name, const char *dim, int top,
                         const json_t *gdata, int64_t now_ms) {
  json_t *per = split_values(json_object_get(gdata, "days"));
  json_t *other_days = json_object();
  json_t *values = json_array();
  size_t n = json_object_size(per);
  struct ranked *r = hk_xcalloc(n + 1, sizeof *r);
  size_t m = 0;
  size_t kept = 0;
  const char *v;
  json_t *vd;
  json_object_foreach(per, v, vd) {
    r[m].value = v;
    r[m].windows = windows_of(vd, now_ms, handoff_window);
    r[m].started = (int64_t)json_integer_value(
        json_object_get(json_object_get(r[m].windows, "30d"), "started"));
    m++;
  }
  qsort(r, m, sizeof *r, by_volume);
  for (size_t i = 0; i < m; i++) {
    if (r[i].started > 0 && kept < (size_t)top &&
        strcmp(r[i].value, "other") != 0) {
      json_array_append_new(values, json_pack("{s:s, s:O}", "value", r[i].value,
                                              "windows", r[i].windows));
      kept++;
    } else {
      const char *day;
      json_t *hash;
      json_object_foreach(json_object_get(per, r[i].value), day, hash) {
        const char *f;
        json_t *x;
        json_object_foreach(hash, f, x) {
          add_to(other_days, day, f, json_integer_value(x));
        }
      }
    }
    json_decref(r[i].windows);
  }
  json_array_append_new(
      values, json_pack("{s:s, s:o}", "value", "other", "windows",
                        windows_of(other_days, now_ms, handoff_window)));
  free(r);
  json_decref(other_days);
  json_decref(per);
  return json_pack("{s:s, s:s, s:i, s:o}", "handoff", name, "dimension", dim,
                   "top", top, "values", values);
}

/* Every group_by document: "kpi:by:HANDOFF:DIM" into out. */
static void group_docs(const json_t *cfg_doc, const json_t *data,
                       json_t *computed, int64_t now_ms, json_t *out) {
  const char *name;
  json_t *conf;
  json_object_foreach(json_object_get(cfg_doc, "handoffs"), name, conf) {
    const char *dim;
    json_t *spec;
    int top = (int)json_integer_value(json_object_get(conf, "group_top"));
    json_object_foreach(json_object_get(conf, "group_by"), dim, spec) {
      char key[200];
      json_t *doc;
      snprintf(key, sizeof key, "%s:%s", name, dim);
      doc = group_doc(name, dim, top > 0 ? top : 10,
                      json_object_get(json_object_get(data, "groups"), key),
                      now_ms);
      json_object_set(doc, "computed_at", computed);
      snprintf(key, sizeof key, "kpi:by:%s:%s", name, dim);
      json_object_set_new(out, key, doc);
    }
  }
}

/* The health entry of a handoff's or stage's document. */
static json_t *health_entry(const json_t *doc, int with_breached) {
  json_t *e = json_object();
  copy_if(e, doc, "name");
  copy_if(e, doc, "status");
  copy_if(e, doc, "owner");
  copy_if(e, doc, "reason");
  if (with_breached) {
    json_object_set(
        e, "breached_open",
        json_object_get(json_object_get(doc, "running"), "breached"));
    json_object_set(
        e, "at_risk",
        json_object_get(json_object_get(doc, "running"), "at_risk"));
  }
  copy_if(e, doc, "kpis");
  return e;
}

/* What hk_kpi_documents gathers of one kind (handoffs or stages). */
struct gather {
  json_t *out;      /* key -> document */
  json_t *computed; /* computed_at */
  enum status worst;
  char *reason;
};

typedef json_t *(*doc_fn)(const char *name, const json_t *conf,
                          const json_t *data, json_t *cfg_kpis, int64_t now_ms,
                          enum status *st);

/* The documents of every handoff or stage of the config: each under
 * "kpi:KIND:NAME", in list (without computed_at) and in health (its
 * entry). */
static void gather_kind(struct gather *g, const json_t *cfg_doc,
                        const json_t *data, int64_t now_ms, const char *kind,
                        doc_fn make, json_t *list, json_t *health) {
  int is_handoff = strcmp(kind, "handoff") == 0;
  json_t *all = json_object_get(cfg_doc, is_handoff ? "handoffs" : "stages");
  json_t *kpis = json_object_get(cfg_doc, "kpis");
  const char *name;
  json_t *conf;
  json_object_foreach(all, name, conf) {
    enum status st;
    json_t *d = make(
        name, conf,
        json_object_get(
            json_object_get(data, is_handoff ? "handoffs" : "stages"), name),
        kpis, now_ms, &st);
    char key[160];
    char line[256];
    json_object_set(d, "computed_at", g->computed);
    snprintf(key, sizeof key, "kpi:%s:%s", kind, name);
    json_object_set_new(g->out, key, json_deep_copy(d));
    json_array_append_new(health, health_entry(d, is_handoff));
    json_object_del(d, "computed_at");
    json_array_append_new(list, d);
    if (st > g->worst) {
      g->worst = st;
    }
    if (st == S_AMBER || st == S_RED) {
      snprintf(line, sizeof line, "%s%s is %s", is_handoff ? "" : "stage ",
               name, status_name(st));
      join(&g->reason, line);
    }
  }
}

static int cmp_text(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The clocks owned by ids the owners directory does not know, from every
 * handoff's "unknown_owner:ID" counters: {"clocks": n, "ids": [the first
 * 10, by id], "reason": "3 clocks owned by unknown ids: 1042, 1043"}. */
static json_t *unknown_owners(const json_t *data) {
  json_t *ids = json_object();
  json_t *list = json_array();
  json_int_t total = 0;
  const char *h;
  json_t *hd;
  const char *k;
  json_t *v;
  char reason[512];
  size_t o;
  json_object_foreach(json_object_get(data, "handoffs"), h, hd){
      json_object_foreach(json_object_get(hd, "running"), k,
                          v){json_int_t n = json_integer_value(v);
  if (strncmp(k, "unknown_owner:", 14) == 0 && n > 0) {
    total += n;
    json_object_set_new(ids, k + 14, json_true());
  }
}
}
{
  size_t n = json_object_size(ids);
  const char **keys = hk_xcalloc(n + 1, sizeof *keys);
  size_t m = 0;
  json_object_foreach(ids, k, v) {
    keys[m++] = k;
  }
  qsort(keys, m, sizeof *keys, cmp_text);
  for (size_t i = 0; i < m; i++) {
    json_array_append_new(list, json_string(keys[i]));
  }
  free(keys);
}
json_decref(ids);
o = (size_t)snprintf(reason, sizeof reason, "%lld clock%s owned by unknown ids",
                     (long long)total, total == 1 ? "" : "s");
for (size_t i = 0; i < json_array_size(list) && i < 10 && o < sizeof reason;
     i++) {
  o += (size_t)snprintf(reason + o, sizeof reason - o, "%s%.64s",
                        i == 0 ? ": " : ", ",
                        json_string_value(json_array_get(list, i)));
}
if (json_array_size(list) > 10 && o < sizeof reason) {
  snprintf(reason + o, sizeof reason - o, "…");
}
while (json_array_size(list) > 10) {
  json_array_remove(list, 10);
}
return json_pack("{s:I, s:o, s:s}", "clocks", total, "ids", list, "reason",
                 total > 0 ? reason : "every clock's owner is known");
}

json_t *hk_kpi_documents(const json_t *cfg_doc, const json_t *data,
                         int64_t now_ms) {
  struct gather g = {json_object(), time_json(now_ms), S_GREEN, NULL};
  json_t *hlist = json_array();
  json_t *slist = json_array();
  json_t *health = json_object();
  json_t *hh = json_array();
  json_t *hs = json_array();

  gather_kind(&g, cfg_doc, data, now_ms, "handoff", handoff_doc, hlist, hh);
  gather_kind(&g, cfg_doc, data, now_ms, "stage", stage_doc, slist, hs);
  json_object_set_new(
      g.out, "kpi:handoffs",
      json_pack("{s:O, s:o}", "computed_at", g.computed, "handoffs", hlist));
  json_object_set_new(
      g.out, "kpi:stages",
      json_pack("{s:O, s:o}", "computed_at", g.computed, "stages", slist));
  json_object_set_new(health, "status", json_string(status_name(g.worst)));
  json_object_set(health, "computed_at", g.computed);
  json_object_set_new(
      health, "reason",
      json_string(g.reason != NULL ? g.reason
                                   : "every handoff and stage is on target"));
  json_object_set_new(health, "handoffs", hh);
  json_object_set_new(health, "stages", hs);
  json_object_set_new(health, "unknown_owners", unknown_owners(data));
  group_docs(cfg_doc, data, g.computed, now_ms, g.out);
  json_object_set_new(g.out, "kpi:health", health);
  json_decref(g.computed);
  free(g.reason);
  return g.out;
}
