/*
 * test_intake.c -- POST /hooks/{source}, /healthz and /v1/health through
 * nginx and handoff-fcgi into a real Redis: every status of the contract,
 * and that nothing is queued when a request is refused.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define EVENT                                                                  \
  "{\"type\":\"lead.created\",\"timestamp\":\"2026-11-22T10:00:00Z\","         \
  "\"data\":{\"email\":\"ana@example.com\",\"company_id\":\"8812\"}}"

static long long queued(void) {
  return hk_redis_int("XLEN handoff:intake");
}

/* Asserts status and JSON error code, and that the queue stayed empty. */
static void assert_refused(const struct hk_resp *r, long status,
                           const char *code) {
  char buf[64];
  cr_assert_eq(r->status, status, "status %ld, body %s", r->status, r->body);
  cr_assert_str_eq(hk_error_code(r, buf, sizeof buf), code, "body %s", r->body);
  cr_assert_str_eq(r->content_type, "application/json");
  cr_assert_eq(queued(), 0, "a refused request was queued");
}

TestSuite(intake, .init = hk_stack_up_default, .fini = hk_stack_down,
          .timeout = 60);

Test(intake, queues_a_signed_delivery_and_answers_202) {
  struct hk_resp r;
  cr_assert_eq(
      hk_post_signed("demo", HK_TEST_SECRET, "msg_1", hk_now_s(), EVENT, &r),
      0);
  cr_assert_eq(r.status, 202, "body %s", r.body);
  cr_assert(strstr(r.body, "\"status\":\"queued\"") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "\"delivery_id\":\"msg_1\"") != NULL, "%s", r.body);
  cr_assert_eq(queued(), 1);
}

Test(intake, queues_body_source_and_headers_as_received) {
  struct hk_resp r;
  cr_assert_eq(
      hk_post_signed("demo", HK_TEST_SECRET, "msg_2", hk_now_s(), EVENT, &r),
      0);
  cr_assert_eq(r.status, 202);
  /* The stored body is byte for byte the body sent. */
  cr_assert_eq(
      hk_redis_int("EVAL %s 1 handoff:intake",
                   "local e = redis.call('XRANGE', KEYS[1], '-', '+')[1][2] "
                   "local f = {} for i = 1, #e, 2 do f[e[i]] = e[i+1] end "
                   "if f.body == '" EVENT "' and f.source == 'demo' and "
                   "f.delivery_id == 'msg_2' and "
                   "string.find(f.headers, 'webhook-id', 1, true) and "
                   "not string.find(f.headers, 'signature', 1, true) "
                   "then return 1 else return 0 end"),
      1);
}

Test(intake, refuses_a_forged_signature_with_401) {
  struct hk_resp r;
  hk_post_signed("demo", "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "msg_3",
                 hk_now_s(), EVENT, &r);
  assert_refused(&r, 401, "bad_signature");
}

Test(intake, refuses_a_tampered_body_with_401) {
  char sig[200];
  struct hk_resp r;
  int64_t ts = hk_now_s();
  hk_sign(HK_TEST_SECRET, "msg_4", ts, EVENT, sig, sizeof sig);
  hk_post_raw("demo", "msg_4", ts, sig,
              "{\"type\":\"lead.created\",\"data\":{}}", &r);
  assert_refused(&r, 401, "bad_signature");
}

Test(intake, refuses_a_tampered_timestamp_or_id_with_401) {
  char sig[200];
  struct hk_resp r;
  int64_t ts = hk_now_s();
  hk_sign(HK_TEST_SECRET, "msg_4", ts, EVENT, sig, sizeof sig);
  hk_post_raw("demo", "msg_4", ts - 1, sig, EVENT, &r);
  assert_refused(&r, 401, "bad_signature");
  hk_post_raw("demo", "msg_5", ts, sig, EVENT, &r);
  assert_refused(&r, 401, "bad_signature");
  /* The untampered original passes, so the refusals above were earned. */
  hk_post_raw("demo", "msg_4", ts, sig, EVENT, &r);
  cr_assert_eq(r.status, 202, "%s", r.body);
}

Test(intake, refuses_a_missing_signature_with_401) {
  const char *headers[] = {"Content-Type: application/json", NULL};
  struct hk_resp r;
  hk_http("POST", "/hooks/demo", headers, EVENT, strlen(EVENT), &r);
  assert_refused(&r, 401, "missing_signature");
}

Test(intake, refuses_a_stale_timestamp_with_401) {
  struct hk_resp r;
  /* The signature carries whole seconds, the check runs on milliseconds
   * some time after signing: 10 s past the 300 s tolerance keeps the
   * verdict clear of any second boundary crossed in between (the bound
   * itself is tested to the millisecond in tests/webhooks). */
  hk_post_signed("demo", HK_TEST_SECRET, "msg_5", hk_now_s() - 310, EVENT, &r);
  assert_refused(&r, 401, "stale_timestamp");
}

Test(intake, refuses_a_timestamp_from_the_future_with_401) {
  struct hk_resp r;
  /* As above: +301 s signed at x.999 and checked at x+1.001 is within. */
  hk_post_signed("demo", HK_TEST_SECRET, "msg_6", hk_now_s() + 310, EVENT, &r);
  assert_refused(&r, 401, "stale_timestamp");
}

Test(intake, refuses_a_body_that_is_not_json_with_400) {
  struct hk_resp r;
  hk_post_signed("demo", HK_TEST_SECRET, "msg_7", hk_now_s(), "{\"type\":", &r);
  assert_refused(&r, 400, "bad_json");
}

Test(intake, refuses_a_body_that_is_a_json_scalar_with_400) {
  /* Any object or array is a Standard Webhooks payload (the spec leaves
   * its shape to the sender); a bare number is no payload at all. */
  struct hk_resp r;
  hk_post_signed("demo", HK_TEST_SECRET, "msg_8", hk_now_s(), "42", &r);
  assert_refused(&r, 400, "bad_json");
}

Test(intake, refuses_an_unknown_source_with_404) {
  struct hk_resp r;
  hk_post_signed("nosuch", HK_TEST_SECRET, "msg_9", hk_now_s(), EVENT, &r);
  assert_refused(&r, 404, "unknown_source");
}

Test(intake, refuses_an_unknown_route_with_404) {
  struct hk_resp r;
  hk_http("GET", "/v1/nothing-here", NULL, NULL, 0, &r);
  assert_refused(&r, 404, "not_found");
}

Test(intake, refuses_get_on_a_hook_with_405_and_allow) {
  struct hk_resp r;
  hk_http("GET", "/hooks/demo", NULL, NULL, 0, &r);
  assert_refused(&r, 405, "method_not_allowed");
  cr_assert_str_eq(r.allow, "POST");
}

Test(intake, refuses_a_body_over_the_limit_with_413) {
  size_t n = 1024 * 1024 + 1;
  char *body = malloc(n + 1);
  struct hk_resp r;
  memset(body, ' ', n);
  body[0] = '{';
  body[n - 1] = '}';
  body[n] = '\0';
  hk_post_signed("demo", HK_TEST_SECRET, "msg_10", hk_now_s(), body, &r);
  free(body);
  assert_refused(&r, 413, "body_too_large");
}

Test(intake, refuses_a_body_over_nginx_ceiling_with_json_413) {
  size_t n = 9 * 1024 * 1024;
  char *body = malloc(n + 1);
  const char *headers[] = {"Content-Type: application/json", NULL};
  struct hk_resp r;
  memset(body, ' ', n);
  body[n] = '\0';
  hk_http("POST", "/hooks/demo", headers, body, n, &r);
  free(body);
  assert_refused(&r, 413, "body_too_large");
}

Test(intake, refuses_a_body_that_is_not_declared_json_with_415) {
  const char *headers[] = {"Content-Type: text/plain", NULL};
  struct hk_resp r;
  hk_http("POST", "/hooks/demo", headers, EVENT, strlen(EVENT), &r);
  assert_refused(&r, 415, "unsupported_media_type");
}

static int redis_down_healthz_503(void) {
  struct hk_resp r;
  return hk_http("GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 503;
}

Test(intake, answers_503_with_retry_after_while_redis_is_down_and_recovers) {
  struct hk_resp r;
  char buf[64];
  hk_http("GET", "/healthz", NULL, NULL, 0, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);

  hk_redis_stop();
  hk_post_signed("demo", HK_TEST_SECRET, "msg_11", hk_now_s(), EVENT, &r);
  cr_assert_eq(r.status, 503, "%s", r.body);
  cr_assert_str_eq(hk_error_code(&r, buf, sizeof buf), "redis_unavailable");
  cr_assert_str_eq(r.retry_after, "5");
  cr_assert(hk_wait_until(redis_down_healthz_503, 1000));
  hk_http("GET", "/healthz", NULL, NULL, 0, &r);
  cr_assert_str_eq(hk_error_code(&r, buf, sizeof buf), "redis_unavailable");
  cr_assert_str_eq(r.retry_after, "5");

  /* Same port, same handoff-fcgi: intake recovers by itself. */
  hk_redis_start();
  hk_http("GET", "/healthz", NULL, NULL, 0, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  hk_post_signed("demo", HK_TEST_SECRET, "msg_12", hk_now_s(), EVENT, &r);
  cr_assert_eq(r.status, 202, "%s", r.body);
  cr_assert_eq(queued(), 1);
}

Test(intake, answers_503_with_retry_after_when_handoff_fcgi_is_down) {
  struct hk_resp r;
  char buf[64];
  hk_fcgi_stop();
  hk_post_signed("demo", HK_TEST_SECRET, "msg_13", hk_now_s(), EVENT, &r);
  cr_assert_eq(r.status, 503, "%s", r.body);
  cr_assert_str_eq(hk_error_code(&r, buf, sizeof buf), "unavailable");
  cr_assert_str_eq(r.retry_after, "5");
}

Test(intake, health_wants_a_bearer_token) {
  const char *wrong[] = {"Authorization: Bearer not-the-token", NULL};
  const char *basic[] = {"Authorization: Basic dGVzdDp0ZXN0", NULL};
  const char *right[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  struct hk_resp r;
  char buf[64];
  hk_http("GET", "/v1/health", NULL, NULL, 0, &r);
  cr_assert_eq(r.status, 401);
  cr_assert_str_eq(hk_error_code(&r, buf, sizeof buf), "unauthorized");
  hk_http("GET", "/v1/health", wrong, NULL, 0, &r);
  cr_assert_eq(r.status, 401);
  hk_http("GET", "/v1/health", basic, NULL, 0, &r);
  cr_assert_eq(r.status, 401);
  hk_http("GET", "/v1/health", right, NULL, 0, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  /* No worker has computed handoff health in this stack: amber, saying
   * so (test_api.c has the rest of /v1/health). */
  cr_assert(strstr(r.body, "\"status\":\"amber\"") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "has not been computed yet") != NULL, "%s", r.body);
}

Test(intake, health_reports_queued_deliveries_no_worker_has_read) {
  const char *right[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  struct hk_resp r;
  hk_post_signed("demo", HK_TEST_SECRET, "msg_14", hk_now_s(), EVENT, &r);
  cr_assert_eq(r.status, 202);
  hk_http("GET", "/v1/health", right, NULL, 0, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert(strstr(r.body, "\"status\":\"amber\"") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "\"length\":1") != NULL, "%s", r.body);
}
