/*
 * test_digest.c -- the weekly review posted once per period by two
 * workers to a real HTTP receiver (receiver.h), signed as the webhook
 * notifier signs, with the KPIs of what it covers, reds first; and
 * `handoffctl digest --preview` printing it.
 *
 * The schedule names the next minute (in UTC, at least 20 s ahead), so the
 * period starts while the test runs: nothing is posted before it, the
 * events are processed by then, and one digest arrives after, however
 * many KPI passes of the two workers follow.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "receiver.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static int receiver_port;
static int64_t period_ms;

static void up(void) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  char extra[4096];
  char schedule[16];
  struct tm tm;
  time_t at;
  int64_t now = hk_now_ms();
  period_ms = (now / MIN + 1) * MIN;
  if (period_ms - now < 20000) {
    period_ms += MIN;
  }
  at = (time_t)(period_ms / 1000);
  gmtime_r(&at, &tm);
  snprintf(schedule, sizeof schedule, "%s %02d:%02d", days[tm.tm_wday],
           tm.tm_hour, tm.tm_min);
  receiver_port = hk_receiver_start(200);
  snprintf(
      extra, sizeof extra,
      "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
      " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
      " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}}],"
      "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
      " [\"lead.mql\"], \"next\": \"sql\"}, \"sql\": {\"owner\": \"SDR team\","
      " \"entered_on\": [\"lead.contacted\"]}},"
      "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
      " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
      " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"30m\"}},"
      " \"kickoff\": {\"owner\": \"CS\", \"start\": [\"deal.won\"],"
      " \"stop\": [\"kickoff.done\"], \"sla\": {\"within\": \"1d\"}}},"
      "\"notifiers\": {\"hook\": {\"kind\": \"webhook\", \"url\":"
      " \"http://127.0.0.1:%d/digest\", \"secret\": {\"env\":"
      " \"HK_TEST_SECRET\"}, \"retries\": 2, \"backoff\": \"100ms\","
      " \"timeout\": \"2s\"}},"
      "\"kpis\": {\"lead_attainment\": {\"handoff\": \"lead_response\","
      " \"metric\": \"attainment\", \"target\": 0.95, \"amber\": 0.9,"
      " \"red\": 0.8, \"window\": \"24h\", \"owner\": \"Head of SDR\","
      " \"action\": \"Rebalance the SDR rota.\"},"
      " \"mql_conversion\": {\"stage\": \"mql\", \"metric\": \"conversion\","
      " \"target\": 0.3, \"amber\": 0.2, \"red\": 0.1, \"window\": \"24h\","
      " \"owner\": \"Marketing lead\", \"action\": \"Review lead scoring.\"},"
      " \"kickoff_attainment\": {\"handoff\": \"kickoff\", \"metric\":"
      " \"attainment\", \"target\": 0.9, \"amber\": 0.8, \"red\": 0.7,"
      " \"owner\": \"CS lead\", \"action\": \"Staff onboarding.\"}},"
      "\"digests\": {\"weekly\": {\"notifier\": \"hook\", \"schedule\":"
      " \"%s\", \"handoffs\": [\"lead_response\"], \"stages\": [\"mql\"]}},",
      receiver_port, schedule);
  hk_stack_up(extra);
}

static void down(void) {
  hk_stack_down();
  hk_receiver_stop();
}

TestSuite(digest, .init = up, .fini = down, .timeout = 150);

static int posted(void) {
  return hk_receiver_count() >= 1;
}

/* The value of header name in a request head ("" when none). */
static void header_of(const char *head, const char *name, char *out,
                      size_t cap) {
  const char *p = strstr(head, name);
  size_t n = 0;
  out[0] = '\0';
  if (p == NULL) {
    return;
  }
  p += strlen(name);
  while (*p == ' ' || *p == ':') {
    p++;
  }
  while (p[n] != '\r' && p[n] != '\n' && p[n] != '\0' && n + 1 < cap) {
    n++;
  }
  memcpy(out, p, n);
  out[n] = '\0';
}

static void check_signature(const struct hk_received *r) {
  char id[128];
  char ts[32];
  char sig[256];
  char want[256];
  char want_id[128];
  header_of(r->head, "\nwebhook-id", id, sizeof id);
  header_of(r->head, "\nwebhook-timestamp", ts, sizeof ts);
  header_of(r->head, "\nwebhook-signature", sig, sizeof sig);
  snprintf(want_id, sizeof want_id, "digest:weekly:%lld", (long long)period_ms);
  cr_assert_str_eq(id, want_id, "the idempotence key names the period");
  hk_sign(HK_TEST_SECRET, id, atoll(ts), r->body, want, sizeof want);
  cr_assert_str_eq(sig, want, "signed as the webhook notifier signs");
}

static void check_body(const struct hk_received *r) {
  json_t *doc = json_loads(r->body, 0, NULL);
  json_t *data = json_object_get(doc, "data");
  json_t *kpis = json_object_get(data, "kpis");
  json_t *first = json_array_get(kpis, 0);
  json_t *second = json_array_get(kpis, 1);
  cr_assert_not_null(doc, "the body is JSON: %s", r->body);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "type")),
                   "handoff.digest");
  cr_assert_str_eq(json_string_value(json_object_get(data, "digest")),
                   "weekly");
  /* Only what it covers: kickoff is left out. */
  cr_assert_eq(json_array_size(kpis), 2, "%s", r->body);
  /* The red first, with owner, target, value and its action plan. */
  cr_assert_str_eq(json_string_value(json_object_get(first, "name")),
                   "lead_attainment");
  cr_assert_str_eq(json_string_value(json_object_get(first, "status")), "red");
  cr_assert_str_eq(json_string_value(json_object_get(first, "owner")),
                   "Head of SDR");
  cr_assert_float_eq(json_number_value(json_object_get(first, "target")), 0.95,
                     1e-9);
  cr_assert_float_eq(json_number_value(json_object_get(first, "value")),
                     1.0 / 3.0, 1e-9);
  cr_assert_str_eq(json_string_value(json_object_get(first, "action")),
                   "Rebalance the SDR rota.");
  cr_assert_str_eq(json_string_value(json_object_get(first, "change")), "new");
  cr_assert_str_eq(json_string_value(json_object_get(second, "name")),
                   "mql_conversion");
  cr_assert_str_eq(json_string_value(json_object_get(second, "status")),
                   "green");
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(data, "counts"), "red")),
               1);
  json_decref(doc);
}

Test(digest, two_workers_post_one_digest_per_period) {
  const char *kpi_every[] = {"--kpi-every", "200ms", NULL};
  int64_t t = (hk_now_ms() / HOUR - 3) * HOUR;
  struct hk_received r;
  char out[8192];
  /* Three MQLs three hours ago: one touched in 10 minutes, two never (two
   * breached: attainment 1/3, red); conversion 1/3, green. */
  hk_post_event("lead.mql", 1, t, "");
  hk_post_event("lead.mql", 2, t, "");
  hk_post_event("lead.mql", 3, t, "");
  hk_post_event("lead.contacted", 1, t + 10 * MIN, "");
  hk_post_event("deal.won", 9, t, "");
  hk_worker_start(0, kpi_every);
  hk_worker_start(1, kpi_every);

  cr_assert_eq(hk_receiver_count(), 0, "nothing before the period");
  cr_assert(hk_wait_until(posted, (int)(period_ms - hk_now_ms()) + 15000),
            "no digest after the period started");
  hk_receiver_get(0, &r);
  cr_assert_geq(r.at_ms, period_ms, "posted before its period");
  cr_assert(strstr(r.head, "POST /digest ") != NULL, "%s", r.head);
  check_signature(&r);
  check_body(&r);
  /* Dozens of KPI passes of both workers later, still one. */
  {
    int64_t until = hk_now_ms() + 4000;
    while (hk_now_ms() < until) {
      struct timespec ts = {0, 100000000L};
      nanosleep(&ts, NULL);
    }
  }
  cr_assert_eq(hk_receiver_count(), 1, "posted more than once per period");
  {
    char *state =
        hk_redis_str("GET handoff:digest:weekly:%lld", (long long)period_ms);
    cr_assert_str_eq(state != NULL ? state : "(nil)", "sent");
    free(state);
  }

  /* The preview: the same review, now compared with the one posted. */
  cr_assert_eq(hk_ctl("digest --preview weekly", out, sizeof out), 0, "%s",
               out);
  cr_assert(strstr(out, "Weekly review weekly") != NULL, "%s", out);
  cr_assert(strstr(out, "RED     lead_attainment (handoff lead_response), "
                        "owner Head of SDR") != NULL,
            "%s", out);
  cr_assert(strstr(out, "action plan: Rebalance the SDR rota.") != NULL, "%s",
            out);
  cr_assert(strstr(out, "last digest 33.3% (red): same") != NULL, "%s", out);
  cr_assert(strstr(out, "kickoff") == NULL, "%s", out);
  cr_assert(strstr(out, "lead_attainment") < strstr(out, "mql_conversion"),
            "reds first: %s", out);
  fprintf(stderr, "--- handoffctl digest --preview weekly ---\n%s", out);
}
