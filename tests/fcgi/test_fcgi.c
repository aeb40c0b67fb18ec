/*
 * test_fcgi.c -- routing and reply writing, without a server.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "fcgi/fcgi.h"

/* Criterion may run each case in a fresh process image: parameters carry
 * their strings inline, never as pointers. "" for allow means none. */
struct route_case {
  char method[8];
  char path[48];
  enum hk_err rc;
  enum hk_route_id id;
  char param[32];
  char allow[16];
};

ParameterizedTestParameters(route, matches) {
  static struct route_case cases[] = {
      {"POST", "/hooks/demo", HK_E_OK, HK_ROUTE_HOOK, "demo", "POST"},
      {"POST", "/hooks/stripe-live_2", HK_E_OK, HK_ROUTE_HOOK, "stripe-live_2",
       "POST"},
      {"POST", "/hooks/", HK_E_OK, HK_ROUTE_HOOK, "", "POST"},
      {"POST", "/hooks/Demo", HK_E_OK, HK_ROUTE_HOOK, "", "POST"},
      {"POST", "/hooks/a/b", HK_E_OK, HK_ROUTE_HOOK, "", "POST"},
      {"POST", "/hooks/%2e%2e", HK_E_OK, HK_ROUTE_HOOK, "", "POST"},
      {"GET", "/hooks/demo", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "POST"},
      {"PUT", "/hooks/demo", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "POST"},
      {"GET", "/healthz", HK_E_OK, HK_ROUTE_HEALTHZ, "", "GET, HEAD"},
      {"HEAD", "/healthz", HK_E_OK, HK_ROUTE_HEALTHZ, "", "GET, HEAD"},
      {"POST", "/healthz", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "GET, HEAD"},
      {"GET", "/v1/health", HK_E_OK, HK_ROUTE_HEALTH, "", "GET, HEAD"},
      {"DELETE", "/v1/health", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "GET, HEAD"},
      {"GET", "/v1/nothing", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/handoffs", HK_E_OK, HK_ROUTE_HANDOFFS, "", "GET, HEAD"},
      {"HEAD", "/v1/handoffs/lead_response", HK_E_OK, HK_ROUTE_HANDOFF,
       "lead_response", "GET, HEAD"},
      {"GET", "/v1/handoffs/Lead", HK_E_OK, HK_ROUTE_HANDOFF, "", "GET, HEAD"},
      {"GET", "/v1/handoffs/lead_response/clocks", HK_E_OK, HK_ROUTE_CLOCKS,
       "lead_response", "GET, HEAD"},
      {"GET", "/v1/handoffs/x%2fy/clocks", HK_E_OK, HK_ROUTE_CLOCKS, "",
       "GET, HEAD"},
      {"POST", "/v1/handoffs/lead_response/clocks", HK_E_METHOD_NOT_ALLOWED,
       HK_ROUTE_NONE, "", "GET, HEAD"},
      {"GET", "/v1/handoffs/", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/handoffs//clocks", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/handoffs/a/clocks/", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/handoffs/a/b", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/stages", HK_E_OK, HK_ROUTE_STAGES, "", "GET, HEAD"},
      {"GET", "/v1/stages/mql", HK_E_OK, HK_ROUTE_STAGE, "mql", "GET, HEAD"},
      {"PUT", "/v1/stages/mql", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "GET, HEAD"},
      {"GET", "/v1/stages/mql/x", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/subjects/company%3A1", HK_E_OK, HK_ROUTE_SUBJECT, "",
       "GET, HEAD"},
      {"DELETE", "/v1/subjects/company%3A1", HK_E_METHOD_NOT_ALLOWED,
       HK_ROUTE_NONE, "", "GET, HEAD"},
      {"GET", "/v1/subjects/", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
      {"GET", "/healthz/", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
  };
  return cr_make_param_array(struct route_case, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct route_case *c, route, matches) {
  struct hk_route r;
  enum hk_err rc = hk_route_match(c->method, c->path, &r);
  cr_assert_eq(rc, c->rc, "%s %s", c->method, c->path);
  cr_assert_eq(r.id, c->id, "%s %s", c->method, c->path);
  cr_assert_str_eq(r.param, c->param, "%s %s", c->method, c->path);
  if (c->allow[0] == '\0') {
    cr_assert_null(r.allow);
  } else {
    cr_assert_str_eq(r.allow, c->allow);
  }
  cr_assert_eq(r.raw != NULL, r.id == HK_ROUTE_SUBJECT, "%s %s", c->method,
               c->path);
}

Test(route, the_subject_is_the_rest_of_the_path_as_sent) {
  struct hk_route r;
  cr_assert_eq(hk_route_match("GET", "/v1/subjects/email%3Aana%40x.io/y", &r),
               HK_E_OK);
  cr_assert_eq(r.id, HK_ROUTE_SUBJECT);
  cr_assert_str_eq(r.raw, "email%3Aana%40x.io/y");
}

Test(route, only_v1_routes_want_a_token) {
  cr_assert(hk_route_is_api(HK_ROUTE_HEALTH));
  cr_assert(hk_route_is_api(HK_ROUTE_CLOCKS));
  cr_assert(hk_route_is_api(HK_ROUTE_SUBJECT));
  cr_assert_not(hk_route_is_api(HK_ROUTE_HEALTHZ));
  cr_assert_not(hk_route_is_api(HK_ROUTE_METRICS));
  cr_assert_not(hk_route_is_api(HK_ROUTE_HOOK));
}

Test(reply, error_bodies_come_from_the_table) {
  struct hk_reply r;
  hk_reply_init(&r);
  hk_reply_error(&r, HK_E_UNSUPPORTED_MEDIA, NULL);
  cr_assert_eq(r.status, 415);
  cr_assert_str_eq(r.body,
                   "{\"error\":{\"code\":\"unsupported_media_type\","
                   "\"message\":\"the body must be application/json\"}}");
  cr_assert_eq(r.len, strlen(r.body));
  hk_reply_error(&r, HK_E_BAD_SIGNATURE, "no \"v1\" signature matches");
  cr_assert_eq(r.status, 401);
  cr_assert_str_eq(r.body, "{\"error\":{\"code\":\"bad_signature\","
                           "\"message\":\"no \\\"v1\\\" signature matches\"}}");
  hk_reply_fini(&r);
}

/* A message quoting a client's bytes that are not UTF-8 (a query
 * parameter's name, a subject cut in the middle of a character) gets the
 * table's words: never a crash, never invalid JSON. */
Test(reply, a_message_that_is_not_utf8_falls_back_to_the_table) {
  struct hk_reply r;
  hk_reply_init(&r);
  hk_reply_error(&r, HK_E_BAD_QUERY, "unknown parameter \"\xff\"");
  cr_assert_eq(r.status, 400);
  cr_assert_str_eq(r.body,
                   "{\"error\":{\"code\":\"bad_query\","
                   "\"message\":\"a query parameter is not valid\"}}",
                   "%s", r.body);
  hk_reply_fini(&r);
}

Test(reply, head_carries_status_length_and_optional_headers) {
  struct hk_reply r;
  char head[512];
  hk_reply_init(&r);
  hk_reply_error(&r, HK_E_UNAVAILABLE, NULL);
  r.retry_after_s = 5;
  hk_reply_head(&r, head, sizeof head);
  static const char status[] = "Status: 503 Service Unavailable\r\n";
  cr_assert(strncmp(head, status, sizeof status - 1) == 0, "%s", head);
  cr_assert(strstr(head, "\r\nRetry-After: 5\r\n") != NULL);
  cr_assert(strstr(head, "Content-Type: application/json\r\n") != NULL);
  cr_assert_null(strstr(head, "Allow:"));
  cr_assert(strstr(head, "\r\n\r\n") == head + strlen(head) - 4);
  hk_reply_fini(&r);
}

Test(reply, head_is_cut_safely_when_the_buffer_is_small) {
  struct hk_reply r;
  char head[16];
  size_t n;
  hk_reply_init(&r);
  hk_reply_error(&r, HK_E_METHOD_NOT_ALLOWED, NULL);
  r.allow = "POST";
  n = hk_reply_head(&r, head, sizeof head);
  cr_assert_eq(n, strlen(head));
  cr_assert(n < sizeof head);
  hk_reply_fini(&r);
}
