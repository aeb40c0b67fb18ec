/*
 * test_sla.c -- the SLA engine end to end: signed journey events through
 * nginx, a worker that runs the clocks in Redis, and alerts at an HTTP
 * endpoint started by the test (receiver.h), signed with the Standard
 * Webhooks scheme.
 *
 * Start events with event times in the past give breached clocks and one
 * alert each; a stop before the deadline gives a met clock and no alert; a
 * live clock is marked breached within a second of its deadline; an
 * endpoint that answers 500 is retried with backoff and the alert then
 * dead-lettered, where handoffctl finds it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "receiver.h"

static int receiver_port;

/* A config whose demo events are journey events already, one handoff of
 * `within` whose alerts go to the receiver (retried twice, 100 ms
 * apart). */
static void up_with(const char *within) {
  char extra[4096];
  snprintf(extra, sizeof extra,
           "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
           " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
           " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
           " \"attrs\": {\"owner\": \"data.owner\"}}],"
           "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
           " [\"lead.mql\"]}, \"sql\": {\"owner\": \"SDR team\","
           " \"entered_on\": [\"lead.contacted\"]}},"
           "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
           " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
           " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"%s\"},"
           " \"notify\": [\"hook\"]}},"
           "\"notifiers\": {\"hook\": {\"kind\": \"webhook\", \"url\":"
           " \"http://127.0.0.1:%d/alerts\", \"secret\": {\"env\":"
           " \"HK_TEST_SECRET\"}, \"retries\": 2, \"backoff\": \"100ms\","
           " \"timeout\": \"1s\"}},",
           within, receiver_port);
  hk_stack_up(extra);
}

static void up_ok(void) {
  receiver_port = hk_receiver_start(204);
  up_with("1h");
}

static void up_failing(void) {
  receiver_port = hk_receiver_start(500);
  up_with("1h");
}

static void up_live(void) {
  receiver_port = hk_receiver_start(200);
  up_with("3s");
}

static void down(void) {
  hk_stack_down();
  hk_receiver_stop();
}

static long long counter(const char *state) {
  long long v = hk_redis_int("HGET handoff:hcount:lead_response %s", state);
  return v < 0 ? 0 : v;
}

/* Clocks started: every clock is in one state. */
static long long started(void) {
  static const char *const states[] = {
      "open", "at_risk", "paused", "met", "breached", "met_late", "cancelled"};
  long long n = 0;
  for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
    n += counter(states[i]);
  }
  return n;
}

static size_t want_alerts;

static int alerts_arrived(void) {
  return hk_receiver_count() >= want_alerts;
}

static long long want_breached;

static int breached_counted(void) {
  return counter("breached") == want_breached;
}

Test(sla, late_starts_are_breached_at_once_and_alerted_once, .init = up_ok,
     .fini = down, .timeout = 60) {
  int64_t three_hours_ago = hk_now_ms() - 3 * 3600 * 1000;
  struct hk_received got;
  char sig[200];
  char *sig_at;

  for (int c = 1; c <= 3; c++) {
    hk_post_event("lead.mql", c, three_hours_ago, ",\"owner\":\"ana\"");
  }
  hk_worker_start(0, NULL);
  want_breached = 3;
  cr_assert(hk_wait_until(breached_counted, 10000), "breached %lld",
            counter("breached"));
  cr_assert_eq(started(), 3);
  cr_assert_eq(counter("open"), 0);
  want_alerts = 3;
  cr_assert(hk_wait_until(alerts_arrived, 10000), "alerts %zu",
            hk_receiver_count());
  for (size_t i = 0; i < 3; i++) {
    hk_receiver_get(i, &got);
    cr_assert(strstr(got.head, "POST /alerts ") == got.head, "%s", got.head);
    cr_assert(strstr(got.body, "\"type\":\"handoff.breached\"") != NULL, "%s",
              got.body);
    cr_assert(strstr(got.body, "\"handoff\":\"lead_response\"") != NULL, "%s",
              got.body);
    cr_assert(strstr(got.body, "\"owner\":\"ana\"") != NULL, "%s", got.body);
    /* The signature covers the body: recompute it as a receiver would. */
    {
      const char *idh = strstr(got.head, "webhook-id: ");
      const char *tsh = strstr(got.head, "webhook-timestamp: ");
      char id[256];
      long long ts;
      cr_assert(idh != NULL && tsh != NULL, "%s", got.head);
      snprintf(id, sizeof id, "%.*s", (int)strcspn(idh + 12, "\r\n"), idh + 12);
      ts = atoll(tsh + 19);
      hk_sign(HK_TEST_SECRET, id, ts, got.body, sig, sizeof sig);
      sig_at = strstr(got.head, sig);
      cr_assert(sig_at != NULL, "signature %s not in %s", sig, got.head);
    }
  }
  /* Once per clock and state: time passes, nothing more is sent. */
  hk_worker_stop(0, SIGTERM);
  hk_worker_start(1, NULL);
  hk_post_event("lead.mql", 1, three_hours_ago,
                ",\"owner\":\"ana\""); /* a provider's retry */
  hk_wait_until(alerts_arrived, 1500);
  cr_assert_eq(hk_receiver_count(), 3);
  cr_assert_eq(started(), 3);
}

static int health_written(void) {
  char *doc = hk_redis_str("GET handoff:kpi:health");
  int ok = doc != NULL && strstr(doc, "\"breached_open\":2") != NULL;
  free(doc);
  return ok;
}

Test(sla, handoffctl_shows_status_and_lists_the_breached_clocks, .init = up_ok,
     .fini = down, .timeout = 60) {
  char out[8192];
  hk_post_event("lead.mql", 21, hk_now_ms() - 3 * 3600 * 1000,
                ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 22, hk_now_ms() - 3 * 3600 * 1000,
                ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 23, hk_now_ms() - 60 * 1000, ",\"owner\":\"ana\"");
  /* Before a worker computed health: amber (3), as GET /v1/health. */
  cr_assert_eq(hk_ctl("status", out, sizeof out), 3, "%s", out);
  cr_assert(strstr(out, "has not been computed yet") != NULL, "%s", out);
  hk_worker_start(0, NULL);
  want_breached = 2;
  cr_assert(hk_wait_until(breached_counted, 10000));
  cr_assert(hk_wait_until(health_written, 10000), "no kpi:health");
  /* Two clocks breached and still open: the handoff is amber (exit 3). */
  cr_assert_eq(hk_ctl("status --json", out, sizeof out), 3, "%s", out);
  cr_assert(strstr(out, "\"name\":\"lead_response\"") != NULL, "%s", out);
  cr_assert(strstr(out, "\"breached_open\":2") != NULL, "%s", out);
  cr_assert(strstr(out, "\"status\":\"amber\"") != NULL, "%s", out);
  cr_assert_eq(hk_ctl("status", out, sizeof out), 3, "%s", out);
  cr_assert(strstr(out, "handoff health: AMBER") != NULL, "%s", out);
  cr_assert(strstr(out, "2 waiting past the SLA") != NULL, "%s", out);
  cr_assert(strstr(out, "\033[") == NULL, "colour on a pipe: %s", out);
  /* The clocks by state now, below: breached 2, at risk 0, open 1. */
  cr_assert(strstr(out, "lead_response                           2          0"
                        "          1") != NULL,
            "%s", out);
  cr_assert_eq(hk_ctl("clocks lead_response --state breached", out, sizeof out),
               0, "%s", out);
  cr_assert(strstr(out, "company:21 ") != NULL, "%s", out);
  cr_assert(strstr(out, "company:22 ") != NULL, "%s", out);
  cr_assert(strstr(out, "company:23 ") == NULL, "%s", out);
  cr_assert(strstr(out, "2 clocks") != NULL, "%s", out);
  cr_assert_eq(hk_ctl("clocks lead_response --state late", out, sizeof out), 2);
  cr_assert(strstr(out, "not a clock state") != NULL, "%s", out);
  cr_assert_eq(hk_ctl("clocks nobody", out, sizeof out), 2);
  cr_assert(strstr(out, "no handoff is named nobody") != NULL, "%s", out);
}

static int three_alerts_counted(void) {
  return hk_redis_int("HGET handoff:stats alerts_sent") == 3;
}

/* One line of a text body, whole. */
static int has_line(const char *text, const char *line) {
  const char *p = text;
  size_t n = strlen(line);
  while ((p = strstr(p, line)) != NULL) {
    if ((p == text || p[-1] == '\n') && p[n] == '\n') {
      return 1;
    }
    p += n;
  }
  return 0;
}

Test(sla, metrics_count_intake_clocks_and_alerts, .init = up_ok, .fini = down,
     .timeout = 60) {
  int64_t long_ago = hk_now_ms() - 3 * 3600 * 1000;
  struct hk_resp r;
  for (int c = 31; c <= 33; c++) {
    hk_post_event("lead.mql", c, long_ago, ",\"owner\":\"ana\"");
  }
  hk_post_signed("demo", "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "forged",
                 hk_now_s(), "{\"type\":\"x\",\"data\":{}}", &r);
  cr_assert_eq(r.status, 401);
  hk_post_signed("nobody", HK_TEST_SECRET, "m", hk_now_s(),
                 "{\"type\":\"x\",\"data\":{}}", &r);
  cr_assert_eq(r.status, 404);
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(three_alerts_counted, 10000));
  cr_assert_eq(hk_http("GET", "/metrics", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  cr_assert(has_line(r.body, "handoff_intake_requests_total{source=\"demo\","
                             "status=\"202\"} 3"),
            "%s", r.body);
  cr_assert(has_line(r.body, "handoff_intake_requests_total{source=\"demo\","
                             "status=\"401\"} 1"),
            "%s", r.body);
  cr_assert(has_line(r.body, "handoff_intake_requests_total{source=\"-\","
                             "status=\"404\"} 1"),
            "%s", r.body);
  cr_assert(has_line(r.body, "handoff_clocks{handoff=\"lead_response\","
                             "state=\"breached\"} 3"),
            "%s", r.body);
  cr_assert(has_line(r.body, "handoff_alerts_total{outcome=\"sent\"} 3"), "%s",
            r.body);
  cr_assert(has_line(r.body, "handoff_events_total{source=\"demo\","
                             "type=\"lead.mql\"} 3"),
            "%s", r.body);
  cr_assert(has_line(r.body, "handoff_deliveries_processed_total 3"), "%s",
            r.body);
}

static int met_two(void) {
  return counter("met") == 2;
}

Test(sla, a_stop_before_the_deadline_is_met_and_alerts_nobody, .init = up_ok,
     .fini = down, .timeout = 60) {
  int64_t t = hk_now_ms() - 30 * 60 * 1000;
  /* Company 7: stop posted before start, both in event time order. */
  hk_post_event("lead.contacted", 7, t + 20 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 7, t, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 8, t, ",\"owner\":\"ana\"");
  hk_post_event("lead.contacted", 8, t + 59 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(met_two, 10000), "met %lld", counter("met"));
  cr_assert_eq(counter("breached"), 0);
  cr_assert_eq(counter("met_late"), 0);
  want_alerts = 1;
  cr_assert_eq(hk_wait_until(alerts_arrived, 1500), 0,
               "an alert went out for a met clock");
}

Test(sla, a_live_clock_is_marked_breached_within_a_second, .init = up_live,
     .fini = down, .timeout = 60) {
  int64_t start = hk_now_ms();
  struct hk_received got;
  hk_worker_start(0, NULL);
  hk_post_event("lead.mql", 5, start, ",\"owner\":\"ana\"");
  want_breached = 1;
  cr_assert(hk_wait_until(breached_counted, 10000));
  want_alerts = 1;
  cr_assert(hk_wait_until(alerts_arrived, 5000));
  /* The warning (80%) and the breach; the breach at most a second after
   * the deadline (start + 3 s). */
  want_alerts = 2;
  cr_assert(hk_wait_until(alerts_arrived, 5000), "alerts %zu",
            hk_receiver_count());
  hk_receiver_get(0, &got);
  cr_assert(strstr(got.body, "handoff.at_risk") != NULL, "%s", got.body);
  hk_receiver_get(1, &got);
  cr_assert(strstr(got.body, "handoff.breached") != NULL, "%s", got.body);
  cr_assert(got.at_ms - (start + 3000) < 1000, "breach alert %lld ms late",
            (long long)(got.at_ms - (start + 3000)));
}

static int dead_lettered(void) {
  return hk_redis_int("XLEN handoff:dlq") == 1;
}

/* The sender logs a dead letter just after writing it. */
static int dead_letter_logged(void) {
  return hk_worker_log_has(0, "dead-lettered", "attempt=3");
}

Test(sla, a_failing_endpoint_is_retried_then_dead_lettered, .init = up_failing,
     .fini = down, .timeout = 60) {
  char out[2048];
  hk_post_event("lead.mql", 9, hk_now_ms() - 2 * 3600 * 1000,
                ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(dead_lettered, 15000));
  /* The first attempt and two retries. */
  cr_assert_eq(hk_receiver_count(), 3);
  cr_assert(hk_wait_until(dead_letter_logged, 5000));
  cr_assert(hk_worker_log_has(0, "will retry", "attempt=1"));
  cr_assert_eq(hk_ctl("dlq list", out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "kind=alert") != NULL, "%s", out);
  cr_assert(strstr(out, "500") != NULL, "%s", out);
}
