/*
 * test_kpi.c -- the KPI documents (journey/kpi.c) from hand-made buckets.
 * The stage facts (workers/stages.c) are tested in
 * tests/workers/test_stages.c.
 *
 * Buckets are written as the worker writes them (store.h): per UTC day,
 * "HH|field" counts. Expected figures are worked out by hand from NOW,
 * never computed by the code under test.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "journey/journey.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)
/* 2026-11-24T10:30:00Z: day 20781, hour 10. */
#define NOW (20781 * DAY + 10 * HOUR + 30 * 60000LL)

#define CONFIG                                                                 \
  "{\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\","                 \
  "  \"secret\": {\"env\": \"S\"}}},"                                          \
  "\"stages\": {"                                                              \
  "  \"mql\": {\"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\"],"      \
  "    \"next\": \"sql\"},"                                                    \
  "  \"sql\": {\"owner\": \"SDR team\", \"entered_on\": [\"lead.contacted\"]," \
  "    \"next\": \"won\"},"                                                    \
  "  \"won\": {\"owner\": \"CS\", \"entered_on\": [\"deal.won\"],"             \
  "    \"amount_attr\": \"amount\"}},"                                         \
  "\"handoffs\": {"                                                            \
  "  \"lead\": {\"owner\": \"SDR team\", \"from\": \"mql\", \"to\": \"sql\","  \
  "    \"start\": [\"lead.mql\"], \"stop\": [\"lead.contacted\"],"             \
  "    \"sla\": {\"within\": \"5m\"}, \"requires\": [\"email\", \"owner\"]},"  \
  "  \"inbound\": {\"owner\": \"SDR team\", \"from\": \"mql\","                \
  "    \"to\": \"sql\", \"start\": [\"lead.mql\"],"                            \
  "    \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"},"         \
  "    \"goals\": [{\"when\": {\"segment\": \"enterprise\"},"                  \
  "      \"within\": \"5m\"}]}},"                                              \
  "\"kpis\": {"                                                                \
  "  \"lead_attainment\": {\"handoff\": \"lead\", \"metric\": \"attainment\"," \
  "    \"target\": 0.95, \"amber\": 0.9, \"red\": 0.8, \"window\": \"7d\","    \
  "    \"owner\": \"Head of SDR\", \"action\": \"Rebalance the rota.\"},"      \
  "  \"lead_p90\": {\"handoff\": \"lead\", \"metric\": \"p90_response\","      \
  "    \"target\": \"2m\", \"amber\": \"5m\", \"red\": \"10m\","               \
  "    \"window\": \"24h\", \"owner\": \"Head of SDR\", \"action\": \"x\"},"   \
  "  \"mql_conversion\": {\"stage\": \"mql\", \"metric\": \"conversion\","     \
  "    \"target\": 0.3, \"amber\": 0.2, \"red\": 0.1, \"window\": \"30d\","    \
  "    \"owner\": \"Marketing\", \"action\": \"Tighten the score.\"},"         \
  "  \"won_revenue\": {\"stage\": \"won\", \"metric\": \"revenue\","           \
  "    \"currency\": \"EUR\", \"target\": 1000, \"amber\": 500, \"red\": 100," \
  "    \"window\": \"30d\", \"owner\": \"CRO\", \"action\": \"Sell.\"}}}"

static struct hk_config *cfg;

static void setup(void) {
  struct hk_config_diag diag = {NULL, 0};
  setenv("S", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
  cr_assert_eq(
      hk_config_parse(CONFIG, strlen(CONFIG), "t.json", 0, &cfg, &diag),
      HK_E_OK, "%s", diag.n > 0 ? diag.lines[0] : "");
  hk_config_diag_fini(&diag);
}

static void teardown(void) {
  hk_config_free(cfg);
}

TestSuite(kpi, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------------------
 * Buckets
 * ------------------------------------------------------------------------- */

/* From 100 ms up: below that, whole milliseconds are coarser than 5%. */
Test(kpi, every_bucket_stands_for_its_values_within_five_percent) {
  int last = 0;
  for (int64_t ms = 100; ms < 40LL * DAY; ms = ms * 101 / 100 + 1) {
    int b = hk_kpi_bucket(ms);
    double rep = (double)hk_kpi_bucket_ms(b);
    cr_assert_geq(b, last, "buckets go up with the value (%lld)",
                  (long long)ms);
    cr_assert_leq(fabs(rep - (double)ms) / (double)ms, 0.05,
                  "%lld ms stands as %.0f", (long long)ms, rep);
    last = b;
  }
  cr_assert_eq(hk_kpi_bucket(0), 1);
  cr_assert_eq(hk_kpi_bucket_ms(1), 1);
  cr_assert_lt(hk_kpi_bucket(90), hk_kpi_bucket(100));
}

/* ---------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------- */

/* Adds n to field of the bucket of the hour `hours_ago` before NOW's hour
 * in data[group][name]. */
static void put(json_t *data, const char *group, const char *name,
                int hours_ago, const char *field, int n) {
  int64_t h = NOW / HOUR - hours_ago;
  char day[24];
  char f[128];
  json_t *g = json_object_get(data, group);
  json_t *e = json_object_get(g, name);
  json_t *days;
  json_t *d;
  if (e == NULL) {
    e = json_pack("{s:{}}", "days");
    json_object_set_new(g, name, e);
  }
  days = json_object_get(e, "days");
  snprintf(day, sizeof day, "%lld", (long long)(h / 24));
  d = json_object_get(days, day);
  if (d == NULL) {
    d = json_object();
    json_object_set_new(days, day, d);
  }
  snprintf(f, sizeof f, "%02d|%s", (int)(h % 24), field);
  json_object_set_new(
      d, f, json_integer(json_integer_value(json_object_get(d, f)) + n));
}

static json_t *docs_of(json_t *data) {
  json_t *docs = hk_kpi_documents(cfg->doc, data, NOW);
  json_decref(data);
  return docs;
}

static json_t *at(json_t *docs, const char *key, const char *window) {
  return json_object_get(json_object_get(json_object_get(docs, key), "windows"),
                         window);
}

static json_int_t num(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

/* "r:B" for the bucket of ms. */
static const char *resp(const char *kind, int64_t ms) {
  static char f[8][32];
  static int i;
  i = (i + 1) % 8;
  snprintf(f[i], sizeof f[i], "%s:%d", kind, hk_kpi_bucket(ms));
  return f[i];
}

static json_t *journey(void) {
  json_t *data = json_pack("{s:{}, s:{}}", "handoffs", "stages");
  /* Lead: this hour, 2 met (20 s and 40 s) and 1 met late (7 min);
   * 30 hours ago 1 breached and incomplete (no email); 10 days ago 1 met
   * (1 s); 31 days ago 5 met, outside every window. */
  put(data, "handoffs", "lead", 0, "met", 2);
  put(data, "handoffs", "lead", 0, "met_late", 1);
  put(data, "handoffs", "lead", 0, resp("r", 20000), 1);
  put(data, "handoffs", "lead", 0, resp("r", 40000), 1);
  put(data, "handoffs", "lead", 0, resp("r", 420000), 1);
  put(data, "handoffs", "lead", 30, "breached", 1);
  put(data, "handoffs", "lead", 30, "incomplete", 1);
  put(data, "handoffs", "lead", 30, "missing:email", 1);
  put(data, "handoffs", "lead", 240, "met", 1);
  put(data, "handoffs", "lead", 240, "r:1", 1);
  put(data, "handoffs", "lead", 31 * 24, "met", 5);
  json_object_set_new(
      json_object_get(json_object_get(data, "handoffs"), "lead"), "running",
      json_pack("{s:i}", "breached", 1));
  /* Stages: 10 entered mql 2 days ago, 4 moved on; 3 won 20 days ago
   * with 1200.50 EUR and 99 USD. */
  put(data, "stages", "mql", 48, "entered", 10);
  put(data, "stages", "mql", 48, "moved", 4);
  put(data, "stages", "mql", 48, resp("t", 3 * HOUR), 4);
  /* Of the 4, 3 went on to sql and 1 skipped it to won; a bucket written
   * before flows were counted went below zero and is left out. */
  put(data, "stages", "mql", 48, "to:sql", 3);
  put(data, "stages", "mql", 48, "to:won", 1);
  put(data, "stages", "mql", 48, "to:lost", -1);
  put(data, "stages", "won", 480, "entered", 3);
  put(data, "stages", "won", 480, "rev:EUR", 120050);
  put(data, "stages", "won", 480, "rev:USD", 9900);
  return data;
}

Test(kpi, windows_count_clocks_by_the_hour_they_started) {
  json_t *docs = docs_of(journey());
  json_t *d24 = at(docs, "kpi:handoff:lead", "24h");
  json_t *d7 = at(docs, "kpi:handoff:lead", "7d");
  json_t *d30 = at(docs, "kpi:handoff:lead", "30d");

  cr_assert_eq(num(d24, "started"), 3);
  cr_assert_eq(num(d24, "met"), 2);
  cr_assert_eq(num(d24, "met_late"), 1);
  cr_assert_eq(num(d24, "breached"), 0);
  cr_assert_eq(num(d7, "started"), 4);
  cr_assert_eq(num(d7, "breached"), 1);
  cr_assert_eq(num(d7, "incomplete"), 1);
  cr_assert_eq(num(json_object_get(d7, "missing"), "email"), 1);
  cr_assert_eq(num(d30, "started"), 5, "the 31-day-old clocks stay out");
  cr_assert_eq(num(d30, "met"), 3);
  /* 24h window: from the start of the hour 23 hours back. */
  cr_assert_str_eq(json_string_value(json_object_get(d24, "from")),
                   "2026-11-23T11:00:00.000Z");
  cr_assert_str_eq(json_string_value(json_object_get(d24, "to")),
                   "2026-11-24T10:30:00.000Z");
  json_decref(docs);
}

Test(kpi, attainment_and_percentiles) {
  json_t *docs = docs_of(journey());
  json_t *d24 = at(docs, "kpi:handoff:lead", "24h");
  json_t *d7 = at(docs, "kpi:handoff:lead", "7d");
  /* 24h: met 2 of 3 judged; 7d: met 2 of 4 (the breached one counts). */
  cr_assert_float_eq(json_real_value(json_object_get(d24, "attainment")),
                     2.0 / 3.0, 1e-9);
  cr_assert_float_eq(json_real_value(json_object_get(d7, "attainment")), 0.5,
                     1e-9);
  /* 24h response times 20 s, 40 s, 7 min: p50 the second (nearest rank 2
   * of 3), p90 the third, each within 5%. */
  cr_assert_leq(labs((long)num(d24, "response_p50_ms") - 40000L), 2000L, "%lld",
                (long long)num(d24, "response_p50_ms"));
  cr_assert_leq(labs((long)num(d24, "response_p90_ms") - 420000L), 21000L);
  /* 30d adds the 1 ms one of 10 days ago: 1 ms, 20 s, 40 s, 7 min, and
   * the nearest rank 2 of 4 is 20 s. */
  cr_assert_leq(
      labs((long)num(at(docs, "kpi:handoff:lead", "30d"), "response_p50_ms") -
           20000L),
      1000L);
  json_decref(docs);
}

Test(kpi, stage_conversion_time_and_revenue_per_currency) {
  json_t *docs = docs_of(journey());
  json_t *m = at(docs, "kpi:stage:mql", "7d");
  json_t *w = at(docs, "kpi:stage:won", "30d");
  cr_assert_eq(num(m, "entered"), 10);
  cr_assert_eq(num(m, "moved_on"), 4);
  cr_assert_eq(num(json_object_get(m, "flows"), "sql"), 3);
  cr_assert_eq(num(json_object_get(m, "flows"), "won"), 1);
  cr_assert_eq(json_object_size(json_object_get(m, "flows")), 2);
  cr_assert_float_eq(json_real_value(json_object_get(m, "conversion")), 0.4,
                     1e-9);
  cr_assert_leq(labs((long)num(m, "median_time_in_stage_ms") - 3 * HOUR),
                3 * HOUR / 20);
  cr_assert_eq(num(at(docs, "kpi:stage:won", "7d"), "entered"), 0);
  cr_assert_eq(num(w, "entered"), 3);
  cr_assert_float_eq(
      json_real_value(json_object_get(json_object_get(w, "revenue"), "EUR")),
      1200.5, 1e-9);
  cr_assert_float_eq(
      json_real_value(json_object_get(json_object_get(w, "revenue"), "USD")),
      99.0, 1e-9);
  cr_assert(json_is_null(
      json_object_get(at(docs, "kpi:stage:sql", "30d"), "conversion")));
  json_decref(docs);
}

static json_t *kpi_named(json_t *doc, const char *name) {
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(doc, "kpis"), i, k) {
    if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0) {
      return k;
    }
  }
  return NULL;
}

Test(kpi, health_says_why_in_words) {
  json_t *docs = docs_of(journey());
  json_t *lead = json_object_get(docs, "kpi:handoff:lead");
  json_t *att = kpi_named(lead, "lead_attainment");
  json_t *p90 = kpi_named(lead, "lead_p90");
  json_t *health = json_object_get(docs, "kpi:health");
  const char *reason = json_string_value(json_object_get(lead, "reason"));

  /* 7d attainment 50% is past red (80%). */
  cr_assert_str_eq(json_string_value(json_object_get(att, "status")), "red");
  cr_assert_str_eq(json_string_value(json_object_get(att, "text")),
                   "attainment 50% vs 95% target (7d)");
  /* p90 ~7 min: past amber (5m), not past red (10m). */
  cr_assert_str_eq(json_string_value(json_object_get(p90, "status")), "amber");
  cr_assert_str_eq(json_string_value(json_object_get(lead, "status")), "red");
  cr_assert(strstr(reason, "1 waiting past the SLA (5m)") != NULL, "%s",
            reason);
  cr_assert(strstr(reason, "attainment 50% vs 95% target (7d)") != NULL);
  cr_assert(strstr(reason, "owner: Head of SDR; action: Rebalance the rota.") !=
                NULL,
            "%s", reason);
  /* mql conversion 40% is on target; won revenue 1200.50 EUR too. */
  cr_assert_str_eq(
      json_string_value(json_object_get(
          kpi_named(json_object_get(docs, "kpi:stage:mql"), "mql_conversion"),
          "status")),
      "green");
  cr_assert_str_eq(
      json_string_value(json_object_get(
          kpi_named(json_object_get(docs, "kpi:stage:won"), "won_revenue"),
          "text")),
      "revenue 1200.50 EUR vs 1000 EUR target (30d)");
  cr_assert_str_eq(json_string_value(json_object_get(health, "status")), "red");
  cr_assert_str_eq(json_string_value(json_object_get(health, "reason")),
                   "lead is red");
  cr_assert_eq(json_integer_value(json_object_get(
                   json_array_get(json_object_get(health, "handoffs"), 0),
                   "breached_open")),
               1);
  json_decref(docs);
}

Test(kpi, no_data_is_unknown_and_does_not_colour_health) {
  json_t *docs = docs_of(json_pack("{s:{}, s:{}}", "handoffs", "stages"));
  json_t *lead = json_object_get(docs, "kpi:handoff:lead");
  json_t *att = kpi_named(lead, "lead_attainment");
  cr_assert_str_eq(json_string_value(json_object_get(att, "status")),
                   "unknown");
  cr_assert(json_is_null(json_object_get(att, "value")));
  cr_assert_str_eq(json_string_value(json_object_get(lead, "status")), "green");
  /* Revenue with no entries is 0: a value, and red. */
  cr_assert_str_eq(
      json_string_value(json_object_get(
          kpi_named(json_object_get(docs, "kpi:stage:won"), "won_revenue"),
          "status")),
      "red");
  json_decref(docs);
}

/* ---------------------------------------------------------------------------
 * Running clocks in the verdict
 * ------------------------------------------------------------------------- */

/* The documents with inbound's hcount fields set to running (taken). */
static json_t *docs_running(json_t *running) {
  json_t *data = json_pack("{s:{s:{s:{}, s:o}}, s:{}}", "handoffs", "inbound",
                           "days", "running", running, "stages");
  return docs_of(data);
}

static const char *text_of(json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* The health entry of the handoff name. */
static json_t *health_of(json_t *docs, const char *name) {
  size_t i;
  json_t *e;
  json_array_foreach(
      json_object_get(json_object_get(docs, "kpi:health"), "handoffs"), i, e) {
    if (strcmp(text_of(e, "name"), name) == 0) {
      return e;
    }
  }
  return NULL;
}

Test(kpi, the_breach_reason_names_the_goal_the_clocks_are_held_to) {
  /* An enterprise lead on the 5-minute goal, not the SLA's own hour. */
  json_t *docs = docs_running(
      json_pack("{s:i, s:i, s:i}", "open", 4, "breached", 1, "breached@5m", 1));
  json_t *doc = json_object_get(docs, "kpi:handoff:inbound");
  cr_assert_str_eq(text_of(doc, "status"), "amber");
  cr_assert_str_eq(text_of(doc, "reason"),
                   "1 waiting past the SLA (5m); owner: SDR team");
  json_decref(docs);

  /* Two goals breached: each named with its count, in the order the
   * config matches them (the goals, then the SLA's own). */
  docs = docs_running(json_pack("{s:i, s:i, s:i}", "breached", 3, "breached@1h",
                                1, "breached@5m", 2));
  cr_assert_str_eq(
      text_of(json_object_get(docs, "kpi:handoff:inbound"), "reason"),
      "3 waiting past the SLA (2 on 5m, 1 on 1h); owner: SDR team");
  json_decref(docs);

  /* Clocks counted before the worker recorded goals: the SLA's own. */
  docs = docs_running(json_pack("{s:i}", "breached", 2));
  cr_assert_str_eq(
      text_of(json_object_get(docs, "kpi:handoff:inbound"), "reason"),
      "2 waiting past the SLA (1h); owner: SDR team");
  json_decref(docs);
}

Test(kpi, clocks_at_risk_make_the_handoff_amber_and_are_counted) {
  json_t *docs = docs_running(
      json_pack("{s:i, s:i, s:i}", "open", 3, "at_risk", 2, "at_risk@5m", 2));
  json_t *doc = json_object_get(docs, "kpi:handoff:inbound");
  json_t *entry = health_of(docs, "inbound");
  cr_assert_str_eq(text_of(doc, "status"), "amber");
  cr_assert_str_eq(text_of(doc, "reason"),
                   "2 at risk of breaching the SLA (5m); owner: SDR team");
  cr_assert_not_null(entry);
  cr_assert_eq(num(entry, "at_risk"), 2);
  cr_assert_eq(num(entry, "breached_open"), 0);
  cr_assert_str_eq(text_of(entry, "status"), "amber");
  cr_assert_str_eq(text_of(json_object_get(docs, "kpi:health"), "reason"),
                   "inbound is amber; stage won is red", "%s",
                   text_of(json_object_get(docs, "kpi:health"), "reason"));
  json_decref(docs);

  /* Breached and at risk together: both said, breached first. */
  docs =
      docs_running(json_pack("{s:i, s:i, s:i, s:i}", "at_risk", 1, "at_risk@1h",
                             1, "breached", 1, "breached@5m", 1));
  cr_assert_str_eq(
      text_of(json_object_get(docs, "kpi:handoff:inbound"), "reason"),
      "1 waiting past the SLA (5m); 1 at risk of breaching the SLA (1h); "
      "owner: SDR team");
  json_decref(docs);

  /* Nothing running late: green, and it says what it looked at. */
  docs = docs_running(json_pack("{s:i}", "open", 5));
  doc = json_object_get(docs, "kpi:handoff:inbound");
  cr_assert_str_eq(text_of(doc, "status"), "green");
  cr_assert_str_eq(text_of(doc, "reason"), "no clock past its SLA or at risk");
  cr_assert_eq(num(health_of(docs, "inbound"), "at_risk"), 0);
  json_decref(docs);
}

Test(kpi, an_at_risk_open_kpi_decides_what_clocks_at_risk_mean) {
  /* With a KPI on them, its thresholds judge the clocks at risk instead of
   * the default (any one makes the handoff amber). */
  json_t *doc = json_deep_copy(cfg->doc);
  json_t *data;
  json_t *docs;
  json_object_set_new(json_object_get(doc, "kpis"), "inbound_at_risk",
                      json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s}",
                                "handoff", "inbound", "metric", "at_risk_open",
                                "target", 0, "amber", 3, "red", 5, "window",
                                "24h", "owner", "SDR lead", "action",
                                "Work the queue."));
  for (int n = 2; n <= 6; n += 2) {
    static const char *const want[] = {"green", "amber", "red"};
    data =
        json_pack("{s:{s:{s:{}, s:{s:i, s:i}}}, s:{}}", "handoffs", "inbound",
                  "days", "running", "at_risk", n, "at_risk@1h", n, "stages");
    docs = hk_kpi_documents(doc, data, NOW);
    json_decref(data);
    cr_assert_str_eq(
        text_of(json_object_get(docs, "kpi:handoff:inbound"), "status"),
        want[n / 2 - 1], "%d at risk: %s", n,
        text_of(json_object_get(docs, "kpi:handoff:inbound"), "reason"));
    json_decref(docs);
  }
  json_decref(doc);
}

Test(kpi, a_handoff_that_joins_no_stage_says_null) {
  json_t *doc = json_deep_copy(cfg->doc);
  json_t *h = json_object_get(json_object_get(doc, "handoffs"), "inbound");
  json_t *data = json_pack("{s:{}, s:{}}", "handoffs", "stages");
  json_t *docs;
  json_t *out;
  json_object_del(h, "from");
  json_object_del(h, "to");
  docs = hk_kpi_documents(doc, data, NOW);
  json_decref(data);
  out = json_object_get(docs, "kpi:handoff:inbound");
  cr_assert_not_null(out);
  cr_assert(json_is_null(json_object_get(out, "from")));
  cr_assert(json_is_null(json_object_get(out, "to")));
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(docs, "kpi:handoff:lead"), "from")),
                   "mql");
  json_decref(docs);
  json_decref(doc);
}

Test(kpi, the_last_stage_of_a_chain_has_no_conversion) {
  json_t *docs = docs_of(journey());
  /* won has no next: 3 entered, and nowhere to move on to. */
  for (int i = 0; i < 3; i++) {
    static const char *const w[] = {"24h", "7d", "30d"};
    json_t *win = at(docs, "kpi:stage:won", w[i]);
    cr_assert_not_null(json_object_get(win, "conversion"));
    cr_assert(json_is_null(json_object_get(win, "conversion")), "%s", w[i]);
  }
  cr_assert_eq(num(at(docs, "kpi:stage:won", "30d"), "entered"), 3);
  /* mql, which has a next, keeps its figure. */
  cr_assert(json_is_real(
      json_object_get(at(docs, "kpi:stage:mql", "7d"), "conversion")));
  json_decref(docs);
}
