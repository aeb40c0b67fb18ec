/*
 * test_fcgi.c -- routing, reply writing and reading the headers from the
 * FastCGI params, without a server.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
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
  char allow[24];
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
      {"GET", "/v1/handoffs/lead_response/by/owner", HK_E_OK, HK_ROUTE_GROUPS,
       "lead_response", "GET, HEAD"},
      {"GET", "/v1/handoffs/lead_response/by/", HK_E_NOT_FOUND, HK_ROUTE_NONE,
       "", ""},
      {"GET", "/v1/handoffs/lead_response/by/a/b", HK_E_NOT_FOUND,
       HK_ROUTE_NONE, "", ""},
      {"GET", "/v1/handoffs/lead_response/series", HK_E_OK, HK_ROUTE_SERIES,
       "lead_response", "GET, HEAD"},
      {"POST", "/v1/handoffs/lead_response/series", HK_E_METHOD_NOT_ALLOWED,
       HK_ROUTE_NONE, "", "GET, HEAD"},
      {"GET", "/dashboard/", HK_E_OK, HK_ROUTE_ASSET, "", "GET, HEAD"},
      {"GET", "/dashboard/app.js", HK_E_OK, HK_ROUTE_ASSET, "", "GET, HEAD"},
      {"POST", "/dashboard/", HK_E_METHOD_NOT_ALLOWED, HK_ROUTE_NONE, "",
       "GET, HEAD"},
      {"GET", "/dashboard/a/b", HK_E_NOT_FOUND, HK_ROUTE_NONE, "", ""},
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
       "GET, HEAD, DELETE"},
      {"DELETE", "/v1/subjects/company%3A1", HK_E_OK, HK_ROUTE_FORGET, "",
       "GET, HEAD, DELETE"},
      {"PUT", "/v1/subjects/company%3A1", HK_E_METHOD_NOT_ALLOWED,
       HK_ROUTE_NONE, "", "GET, HEAD, DELETE"},
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
  cr_assert_eq(r.raw != NULL,
               r.id == HK_ROUTE_SUBJECT || r.id == HK_ROUTE_FORGET ||
                   r.id == HK_ROUTE_ASSET,
               "%s %s", c->method, c->path);
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
  cr_assert(hk_route_is_api(HK_ROUTE_GROUPS));
  cr_assert(hk_route_is_api(HK_ROUTE_SUBJECT));
  cr_assert(hk_route_is_api(HK_ROUTE_SERIES));
  cr_assert_not(hk_route_is_api(HK_ROUTE_ASSET));
  cr_assert_not(hk_route_is_api(HK_ROUTE_HEALTHZ));
  cr_assert_not(hk_route_is_api(HK_ROUTE_METRICS));
  cr_assert_not(hk_route_is_api(HK_ROUTE_HOOK));
}

Test(assets, the_page_with_its_csp_and_a_304_for_its_etag) {
  struct hk_reply r;
  char head[1024];
  char inm[64];
  hk_reply_init(&r);
  cr_assert_eq(hk_asset_reply("", NULL, &r), HK_E_OK);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.content_type, "text/html; charset=utf-8");
  cr_assert_not_null(strstr(r.body, "app.js"));
  cr_assert_str_eq(r.cache, "no-cache");
  hk_reply_head(&r, head, sizeof head);
  cr_assert_not_null(
      strstr(head, "Content-Security-Policy: default-src 'self'"));
  cr_assert_not_null(strstr(head, "ETag: \""));
  snprintf(inm, sizeof inm, "W/\"x\", \"%s\"", r.etag);
  hk_reply_fini(&r);
  cr_assert_eq(hk_asset_reply("", inm, &r), HK_E_OK);
  cr_assert_eq(r.status, 304);
  cr_assert_eq(r.len, 0);
  hk_reply_fini(&r);
  cr_assert_eq(hk_asset_reply("app.js", NULL, &r), HK_E_OK);
  cr_assert_str_eq(r.content_type, "text/javascript; charset=utf-8");
  cr_assert_str_eq(r.cache, "public, max-age=3600");
  hk_reply_fini(&r);
  cr_assert_eq(hk_asset_reply("nope.js", NULL, &r), HK_E_NOT_FOUND);
  hk_reply_fini(&r);
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

/* ---------------------------------------------------------------------------
 * Headers from the FastCGI params (headers.c)
 * ------------------------------------------------------------------------- */

/* An envp of n padding headers, then the given lines, then the
 * non-header params nginx also passes. Strings are heap copies (freed by
 * free_env). */
static char **make_env(size_t npad, const char *const *tail) {
  size_t ntail = 0;
  char **env;
  size_t k = 0;

  while (tail != NULL && tail[ntail] != NULL) {
    ntail++;
  }
  env = calloc(npad + ntail + 3, sizeof *env);
  cr_assert_not_null(env);
  env[k++] = strdup("REQUEST_METHOD=POST");
  for (size_t i = 0; i < npad; i++) {
    char line[64];
    snprintf(line, sizeof line, "HTTP_X_PAD_%zu=v%zu", i, i);
    env[k++] = strdup(line);
  }
  for (size_t i = 0; i < ntail; i++) {
    env[k++] = strdup(tail[i]);
  }
  env[k++] = strdup("CONTENT_TYPE=application/json");
  env[k] = NULL;
  return env;
}

static void free_env(char **env) {
  for (size_t i = 0; env[i] != NULL; i++) {
    free(env[i]);
  }
  free(env);
}

/* Shared by the header tests: big enough to live off the test's stack. */
static struct hk_header hs[HK_CAP_HEADERS];
static char names[HK_CAP_HEADERS][HK_CAP_HEADER_NAME];

Test(headers, lower_case_names_with_dashes) {
  static const char *const tail[] = {"HTTP_WEBHOOK_SIGNATURE=v1,abc",
                                     "HTTP_X_EMPTY=", "HTTP_=nameless",
                                     "HTTPX_NOT=1", NULL};
  char **env = make_env(0, tail);
  struct hk_error err = {HK_E_OK, ""};
  size_t n = 99;

  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(hs[0].name, "webhook-signature");
  cr_assert_str_eq(hs[0].value, "v1,abc");
  cr_assert_str_eq(hs[1].name, "x-empty");
  cr_assert_str_eq(hs[1].value, "");
  free_env(env);
}

/* 70 headers before the signature, as a proxy chain may add: all read,
 * the signature last among them. */
Test(headers, reads_a_signature_after_70_headers) {
  static const char *const tail[] = {"HTTP_WEBHOOK_SIGNATURE=v1,abc", NULL};
  char **env = make_env(70, tail);
  struct hk_error err = {HK_E_OK, ""};
  struct hk_request req;
  size_t n = 0;

  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(n, 71);
  memset(&req, 0, sizeof req);
  req.headers = hs;
  req.nheaders = n;
  cr_assert_str_eq(hk_request_header(&req, "webhook-signature"), "v1,abc");
  free_env(env);
}

Test(headers, reads_exactly_the_cap) {
  char **env = make_env(HK_CAP_HEADERS, NULL);
  struct hk_error err = {HK_E_OK, ""};
  size_t n = 0;

  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(n, HK_CAP_HEADERS);
  free_env(env);
}

/* One past the cap refuses the request whole: never a request read with
 * its last headers (its signature, perhaps) left out. */
Test(headers, refuses_one_past_the_cap_with_431) {
  static const char *const tail[] = {"HTTP_WEBHOOK_SIGNATURE=v1,abc", NULL};
  char **env = make_env(HK_CAP_HEADERS, tail);
  struct hk_error err = {HK_E_OK, ""};
  size_t n = 99;

  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err),
               HK_E_HEADERS_TOO_LARGE);
  cr_assert_eq(err.code, HK_E_HEADERS_TOO_LARGE);
  cr_assert_eq(hk_err_status(err.code), 431);
  cr_assert_str_eq(hk_err_code(err.code), "headers_too_large");
  cr_assert(strstr(err.msg, "256 headers") != NULL, "%s", err.msg);
  cr_assert_eq(n, 0);
  free_env(env);
}

/* An envp of one header whose name is len bytes long. */
static char **env_with_name_of(size_t len, char *line) {
  const char *tail[] = {line, NULL};

  memcpy(line, "HTTP_", 5);
  memset(line + 5, 'X', len);
  memcpy(line + 5 + len, "=v", 3);
  return make_env(0, tail);
}

/* A name fills its slot with its NUL: HK_CAP_HEADER_NAME - 1 bytes fit,
 * one more is 431. */
Test(headers, refuses_a_name_over_the_cap_with_431) {
  char line[HK_CAP_HEADER_NAME + 16];
  struct hk_error err = {HK_E_OK, ""};
  size_t n = 99;
  char **env = env_with_name_of(HK_CAP_HEADER_NAME, line);

  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err),
               HK_E_HEADERS_TOO_LARGE);
  cr_assert_eq(n, 0);
  free_env(env);
  env = env_with_name_of(HK_CAP_HEADER_NAME - 1, line);
  cr_assert_eq(hk_headers_collect(env, hs, names, &n, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(n, 1);
  cr_assert_eq(strlen(hs[0].name), HK_CAP_HEADER_NAME - 1);
  free_env(env);
}

/* The handler answers a refused header set with its 431 on any route,
 * before routing, the body or Redis (st and commit are never touched). */
Test(headers, handler_answers_431_before_anything_else) {
  static const char *const paths[] = {"/hooks/demo", "/v1/health", "/nope"};
  struct hk_error refused = {HK_E_OK, ""};
  struct hk_config cfg;
  struct hk_req_meta meta;
  struct hk_request req;
  struct hk_reply reply;
  json_t *doc;

  memset(&cfg, 0, sizeof cfg);
  memset(&meta, 0, sizeof meta);
  (void)hk_fail(&refused, HK_E_HEADERS_TOO_LARGE,
                "The request has more than %u headers.", HK_CAP_HEADERS);
  meta.headers_refused = &refused;
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = paths[i];
    req.query = "";
    req.body = "";
    hk_reply_init(&reply);
    hk_fcgi_handle(&cfg, NULL, NULL, NULL, &req, &meta, 0, &reply);
    cr_assert_eq(reply.status, 431, "%s", paths[i]);
    doc = json_loadb(reply.body, reply.len, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(doc, "error"), "code")),
                     "headers_too_large");
    json_decref(doc);
    hk_reply_fini(&reply);
  }
  cr_assert_str_eq(hk_reply_reason(431), "Request Header Fields Too Large");
}

/* The status of method path under a config whose api.mount is mount. The
 * answers checked need neither Redis nor a source (st is never touched). */
static int status_under(const char *mount, const char *method,
                        const char *path) {
  struct hk_config cfg;
  struct hk_req_meta meta;
  struct hk_request req;
  struct hk_reply reply;
  int status;
  memset(&cfg, 0, sizeof cfg);
  memset(&meta, 0, sizeof meta);
  memset(&req, 0, sizeof req);
  cfg.doc = json_pack("{s:{s:s}}", "api", "mount", mount);
  req.method = method;
  req.path = path;
  req.query = "";
  req.body = "";
  hk_reply_init(&reply);
  hk_fcgi_handle(&cfg, NULL, NULL, NULL, &req, &meta, 0, &reply);
  status = reply.status;
  hk_reply_fini(&reply);
  json_decref(cfg.doc);
  return status;
}

/* Routes are matched under api.mount, stripped once: what lies outside it
 * is 404, what lies under it is routed as at the root. */
Test(route, every_route_lives_under_the_mount) {
  cr_assert_eq(status_under("/handoff/", "GET", "/handoff/hooks/demo"), 405);
  cr_assert_eq(status_under("/handoff/", "DELETE", "/handoff/healthz"), 405);
  cr_assert_eq(status_under("/handoff/", "GET", "/hooks/demo"), 404);
  cr_assert_eq(status_under("/handoff/", "GET", "/handoffx/hooks/demo"), 404);
  cr_assert_eq(status_under("/handoff/", "GET", "/handoff"), 404);
  cr_assert_eq(status_under("/handoff/", "GET", "/handoff/nope"), 404);
  cr_assert_eq(status_under("/a/b/", "POST", "/a/b/metrics"), 405);
  cr_assert_eq(status_under("/", "GET", "/hooks/demo"), 405);
  cr_assert_eq(status_under("/", "GET", "/handoff/hooks/demo"), 404);
}
