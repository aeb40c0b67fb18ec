/*
 * test_kpi.c -- the KPI documents a worker writes to Redis from real
 * journey events posted through nginx: the windows of a handoff (started,
 * met, met late, breached, incomplete, the missing field, attainment, p50
 * and p90), a stage's entered, moved on, conversion, time in stage and
 * revenue per currency, and the health verdict that says why.
 *
 * Event times lie hours in the past, so every verdict is known when the
 * events arrive and does not depend on when the test runs.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "harness.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static void up(void) {
  hk_stack_up(
      "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
      " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
      " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
      " \"attrs\": {\"email\": \"data.email\", \"amount\": \"data.amount\","
      " \"currency\": \"data.currency\"}}],"
      "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
      " [\"lead.mql\"], \"next\": \"sql\"}, \"sql\": {\"owner\": \"SDR team\","
      " \"entered_on\": [\"lead.contacted\"], \"next\": \"won\"},"
      " \"won\": {\"owner\": \"CS\", \"entered_on\": [\"deal.won\"],"
      " \"amount_attr\": \"amount\"}},"
      "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
      " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
      " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"30m\"},"
      " \"requires\": [\"email\"]}},"
      "\"kpis\": {\"attainment\": {\"handoff\": \"lead_response\", \"metric\":"
      " \"attainment\", \"target\": 0.95, \"amber\": 0.9, \"red\": 0.8,"
      " \"window\": \"24h\", \"owner\": \"Head of SDR\", \"action\":"
      " \"Rebalance the rota.\"}},");
}

static json_t *doc(const char *key) {
  char *text = hk_redis_str("GET handoff:%s", key);
  json_t *d = text != NULL ? json_loads(text, 0, NULL) : NULL;
  free(text);
  return d;
}

static int processed_all(void) {
  long long acked = hk_redis_int("HGET handoff:stats processed");
  return acked >= 11;
}

/* The documents were written after every event was processed. */
static int64_t processed_at;
static int fresh(void) {
  json_t *d = doc("kpi:handoffs");
  const char *at = json_string_value(json_object_get(d, "computed_at"));
  char after[HK_TIME_TEXT];
  int fresh_enough;
  /* RFC 3339 times of one format sort as text. */
  hk_time_format_ms(processed_at + 1000, after);
  fresh_enough = at != NULL && strcmp(at, after) > 0;
  json_decref(d);
  return fresh_enough;
}

static json_int_t num(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

TestSuite(kpi, .init = up, .fini = hk_stack_down, .timeout = 60);

Test(kpi, a_worker_writes_windows_stages_and_health_from_events) {
  /* Two hours ago (kept inside the 24h window even at an hour's edge). */
  int64_t t = (hk_now_ms() / HOUR - 2) * HOUR;
  const char *const worker[] = {"--kpi-every", "200ms", NULL};
  json_t *h;
  json_t *w;
  json_t *m;
  json_t *won;
  json_t *mql;
  json_t *won_doc;
  json_t *health;
  const char *reason;

  /* 1: met after 10 min; 2: met late after 40 min; 3: breached, open,
   * without email; 4: met after 20 min, then won 2 h on with 1200.50 EUR,
   * its currency in Stripe's lower case (it moved mql -> sql -> won). */
  hk_post_event("lead.mql", 1, t, ",\"email\":\"a@x.io\"");
  hk_post_event("lead.contacted", 1, t + 10 * MIN, "");
  hk_post_event("lead.mql", 2, t, ",\"email\":\"b@x.io\"");
  hk_post_event("lead.contacted", 2, t + 40 * MIN, "");
  hk_post_event("lead.mql", 3, t, "");
  hk_post_event("lead.mql", 4, t, ",\"email\":\"d@x.io\"");
  hk_post_event("lead.contacted", 4, t + 20 * MIN, "");
  hk_post_event("deal.won", 4, t + 100 * MIN,
                ",\"amount\":\"1200.50\",\"currency\":\"eur\"");
  hk_post_event("deal.won", 5, t + 100 * MIN,
                ",\"amount\":99,\"currency\":\"USD\"");
  /* 6: won with an amount past 10^12 (not counted: its cents could
   * overflow a counter); 7: in a currency that is no ISO code (XXX). */
  hk_post_event("deal.won", 6, t + 100 * MIN,
                ",\"amount\":2e12,\"currency\":\"EUR\"");
  hk_post_event("deal.won", 7, t + 100 * MIN,
                ",\"amount\":5,\"currency\":\"euro\"");
  hk_worker_start(0, worker);
  cr_assert(hk_wait_until(processed_all, 20000));
  processed_at = hk_now_ms();
  cr_assert(hk_wait_until(fresh, 10000), "the documents were not rewritten");

  h = doc("kpi:handoff:lead_response");
  w = json_object_get(json_object_get(h, "windows"), "24h");
  cr_assert_not_null(w, "no 24h window");
  cr_assert(json_is_string(json_object_get(h, "computed_at")));
  cr_assert_eq(num(w, "started"), 4);
  cr_assert_eq(num(w, "met"), 2);
  cr_assert_eq(num(w, "met_late"), 1);
  cr_assert_eq(num(w, "breached"), 1);
  cr_assert_eq(num(w, "incomplete"), 1);
  cr_assert_eq(num(json_object_get(w, "missing"), "email"), 1);
  cr_assert_float_eq(json_real_value(json_object_get(w, "attainment")), 0.5,
                     1e-9);
  /* Responses 10, 20 and 40 min: p50 20 min, p90 40 min, within 5%. */
  cr_assert_leq(llabs(num(w, "response_p50_ms") - 20 * MIN), MIN);
  cr_assert_leq(llabs(num(w, "response_p90_ms") - 40 * MIN), 2 * MIN);
  /* /metrics gives the same p90, in seconds. */
  {
    struct hk_resp r;
    char line[160];
    cr_assert_eq(hk_http("GET", "/metrics", NULL, NULL, 0, &r), 0);
    snprintf(line, sizeof line,
             "handoff_response_p90_seconds{handoff=\"lead_response\","
             "window=\"24h\"} %.3f\n",
             (double)num(w, "response_p90_ms") / 1000.0);
    cr_assert(strstr(r.body, line) != NULL, "no %s in:\n%s", line, r.body);
  }
  cr_assert_eq(num(json_object_get(h, "running"), "breached"), 1);
  cr_assert_str_eq(json_string_value(json_object_get(h, "status")), "red");
  reason = json_string_value(json_object_get(h, "reason"));
  cr_assert_str_eq(reason,
                   "1 waiting past the SLA (30m); attainment 50% vs 95% target "
                   "(24h); owner: Head of SDR; action: Rebalance the rota.");

  mql = doc("kpi:stage:mql");
  m = json_object_get(json_object_get(mql, "windows"), "24h");
  cr_assert_eq(num(m, "entered"), 4);
  /* 1, 2 and 4 were contacted after they became MQLs. */
  cr_assert_eq(num(m, "moved_on"), 3);
  cr_assert_float_eq(json_real_value(json_object_get(m, "conversion")), 0.75,
                     1e-9);
  cr_assert_leq(llabs(num(m, "median_time_in_stage_ms") - 20 * MIN), MIN);
  won_doc = doc("kpi:stage:won");
  won = json_object_get(json_object_get(won_doc, "windows"), "24h");
  cr_assert_eq(num(won, "entered"), 4);
  cr_assert_float_eq(
      json_real_value(json_object_get(json_object_get(won, "revenue"), "EUR")),
      1200.5, 1e-9);
  cr_assert_float_eq(
      json_real_value(json_object_get(json_object_get(won, "revenue"), "USD")),
      99.0, 1e-9);
  cr_assert_float_eq(
      json_real_value(json_object_get(json_object_get(won, "revenue"), "XXX")),
      5.0, 1e-9);
  cr_assert_eq(json_object_size(json_object_get(won, "revenue")), 3);
  /* won ends the chain (no next): no conversion, not 0. */
  cr_assert(json_is_null(json_object_get(won, "conversion")));

  health = doc("kpi:health");
  cr_assert_str_eq(json_string_value(json_object_get(health, "status")), "red");
  cr_assert_str_eq(json_string_value(json_object_get(health, "reason")),
                   "lead_response is red");
  /* The breached clock is listed by its start, for the status API. */
  {
    char *member =
        hk_redis_str("EVAL %s 1 handoff:cs:lead_response:breached",
                     "return redis.call('ZRANGE', KEYS[1], 0, 0)[1]");
    char want[64];
    snprintf(want, sizeof want, "%013lld company:3", (long long)t);
    cr_assert(member != NULL && strcmp(member, want) == 0, "%s",
              member != NULL ? member : "(none)");
    free(member);
  }
  json_decref(health);
  json_decref(won_doc);
  json_decref(mql);
  json_decref(h);
}

static int at_risk_counted(void) {
  json_t *h = doc("kpi:health");
  json_t *e = json_array_get(json_object_get(h, "handoffs"), 0);
  int ok = json_integer_value(json_object_get(e, "at_risk")) == 1;
  json_decref(h);
  return ok;
}

Test(kpi, a_clock_at_risk_makes_health_amber_and_says_so) {
  const char *const worker[] = {"--kpi-every", "200ms", NULL};
  json_t *health;
  json_t *e;

  /* 26 minutes into its 30: past the warning (80%, 24 min), not late. */
  hk_post_event("lead.mql", 8, hk_now_ms() - 26 * MIN, ",\"email\":\"h@x.io\"");
  hk_worker_start(0, worker);
  cr_assert(hk_wait_until(at_risk_counted, 20000));
  health = doc("kpi:health");
  e = json_array_get(json_object_get(health, "handoffs"), 0);
  cr_assert_eq(num(e, "breached_open"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(e, "status")), "amber");
  cr_assert_str_eq(json_string_value(json_object_get(e, "reason")),
                   "1 at risk of breaching the SLA (30m); owner: SDR team",
                   "%s", json_string_value(json_object_get(e, "reason")));
  cr_assert_str_eq(json_string_value(json_object_get(health, "status")),
                   "amber");
  cr_assert_str_eq(json_string_value(json_object_get(health, "reason")),
                   "lead_response is amber");
  json_decref(health);
}
