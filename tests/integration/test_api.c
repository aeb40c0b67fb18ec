/*
 * test_api.c -- the status API (/v1) through nginx, from a real Redis:
 * every refusal with its exact status and JSON code, the documents served
 * as the workers stored them, and clocks and journeys seeded by posting
 * journey events and read back after a worker ran them, with paging that
 * stays stable while new clocks arrive.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define AUTH "Authorization: Bearer " HK_TEST_TOKEN
#define HANDOFF "/v1/handoffs/lead_response"

/* The demo source's events are journey events; two stages and one handoff
 * of an hour between them. */
static void up(void) {
  hk_stack_up(
      "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
      " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
      " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
      " \"attrs\": {\"owner\": \"data.owner\"}}],"
      "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
      " [\"lead.mql\"], \"next\": \"sql\"}, \"sql\": {\"owner\": \"SDR team\","
      " \"entered_on\": [\"lead.contacted\"]}},"
      "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
      " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
      " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"}}},");
}

static void down(void) {
  hk_stack_down();
}

/* GET path with the token (auth 1), none (0) or a wrong one (2). */
static void get(const char *path, int auth, struct hk_resp *r) {
  const char *good[] = {AUTH, NULL};
  const char *bad[] = {"Authorization: Bearer not-the-token", NULL};
  cr_assert_eq(hk_http("GET", path,
                       auth == 1   ? good
                       : auth == 2 ? bad
                                   : NULL,
                       NULL, 0, r),
               0, "%s: no answer", path);
}

/* Asserts the status and JSON error code of a response. */
static void assert_error(const struct hk_resp *r, long status, const char *code,
                         const char *what) {
  char got[64];
  cr_assert_eq(r->status, status, "%s: %ld %s", what, r->status, r->body);
  cr_assert_str_eq(hk_error_code(r, got, sizeof got), code, "%s: %s", what,
                   r->body);
  cr_assert_str_eq(r->content_type, "application/json", "%s", what);
}

/* GET path with the token, wanting 200 and a JSON object (caller frees). */
static json_t *get_json(const char *path) {
  struct hk_resp r;
  json_t *doc;
  get(path, 1, &r);
  cr_assert_eq(r.status, 200, "%s: %ld %s", path, r.status, r.body);
  doc = json_loads(r.body, 0, NULL);
  cr_assert(json_is_object(doc), "%s: %s", path, r.body);
  return doc;
}

/* ---------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------- */

Test(api, every_v1_route_wants_the_token, .init = up, .fini = down,
     .timeout = 60) {
  static const char *const paths[] = {"/v1/health",
                                      "/v1/handoffs",
                                      HANDOFF,
                                      HANDOFF "/clocks?state=nope",
                                      "/v1/handoffs/nobody",
                                      "/v1/stages",
                                      "/v1/stages/mql",
                                      "/v1/subjects/company%3A1"};
  struct hk_resp r;
  const char *basic[] = {"Authorization: Basic dGVzdHM6eA==", NULL};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    get(paths[i], 0, &r);
    assert_error(&r, 401, "unauthorized", paths[i]);
    get(paths[i], 2, &r);
    assert_error(&r, 401, "unauthorized", paths[i]);
  }
  cr_assert_eq(hk_http("GET", "/v1/handoffs", basic, NULL, 0, &r), 0);
  assert_error(&r, 401, "unauthorized", "basic");
}

Test(api, unknown_routes_names_and_methods, .init = up, .fini = down,
     .timeout = 60) {
  struct hk_resp r;
  const char *token[] = {AUTH, NULL};
  get("/v1/nothing", 1, &r);
  assert_error(&r, 404, "not_found", "/v1/nothing");
  get("/v1/handoffs/lead_response/other", 1, &r);
  assert_error(&r, 404, "not_found", "other");
  get("/v1/handoffs/nobody", 1, &r);
  assert_error(&r, 404, "unknown_handoff", "handoff");
  get("/v1/handoffs/nobody/clocks?state=breached", 1, &r);
  assert_error(&r, 404, "unknown_handoff", "clocks");
  get("/v1/handoffs/Not%20A%20Name/clocks", 1, &r);
  assert_error(&r, 404, "unknown_handoff", "not a name");
  get("/v1/stages/nobody", 1, &r);
  assert_error(&r, 404, "unknown_stage", "stage");
  get("/v1/subjects/company%3A404", 1, &r);
  assert_error(&r, 404, "unknown_subject", "subject");
  /* nginx refuses a malformed escape and %00 itself (HTML, before any
   * location);
   * what it lets through and handoff-fcgi cannot decode is a JSON 400. */
  get("/v1/subjects/bad%zzescape", 1, &r);
  cr_assert_eq(r.status, 400);
  get("/v1/subjects/latin%E9", 1, &r);
  assert_error(&r, 400, "bad_request", "not UTF-8");
  get("/v1/subjects/nul%00", 1, &r);
  cr_assert_eq(r.status, 400);
  /* The method is checked with the route, before the token. */
  cr_assert_eq(hk_http("POST", HANDOFF "/clocks", token, "{}", 2, &r), 0);
  assert_error(&r, 405, "method_not_allowed", "POST");
  cr_assert_str_eq(r.allow, "GET, HEAD");
  cr_assert_eq(hk_http("DELETE", "/v1/health", NULL, NULL, 0, &r), 0);
  assert_error(&r, 405, "method_not_allowed", "DELETE");
  cr_assert_str_eq(r.allow, "GET, HEAD");
}

struct bad_query {
  char query[80];
  char names[16];
};

ParameterizedTestParameters(api, each_bad_query_parameter_is_400) {
  static struct bad_query cases[] = {
      {"state=late", "state"},
      {"state=", "state"},
      {"limit=0", "limit"},
      {"limit=abc", "limit"},
      {"limit=1001", "limit"},
      {"cursor=%21%21", "cursor"},
      {"cursor=bm90IGEgY3Vyc29y", "cursor"},
      {"page=2", "page"},
      {"state=met&state=open", "state"},
  };
  return cr_make_param_array(struct bad_query, cases,
                             sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_query *c, api, each_bad_query_parameter_is_400,
                  .init = up, .fini = down, .timeout = 60) {
  struct hk_resp r;
  char path[160];
  json_t *doc;
  const char *msg;
  snprintf(path, sizeof path, HANDOFF "/clocks?%s", c->query);
  get(path, 1, &r);
  assert_error(&r, 400, "bad_query", c->query);
  doc = json_loads(r.body, 0, NULL);
  msg = json_string_value(
      json_object_get(json_object_get(doc, "error"), "message"));
  cr_assert(msg != NULL && strstr(msg, c->names) != NULL, "%s: %s", c->query,
            r.body);
  json_decref(doc);
}

Test(api, documents_are_not_ready_before_any_worker_ran, .init = up,
     .fini = down, .timeout = 60) {
  static const char *const paths[] = {"/v1/handoffs", HANDOFF, "/v1/stages",
                                      "/v1/stages/mql"};
  struct hk_resp r;
  json_t *doc;
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    get(paths[i], 1, &r);
    assert_error(&r, 503, "not_ready", paths[i]);
    cr_assert(atoi(r.retry_after) > 0, "%s: Retry-After %s", paths[i],
              r.retry_after);
  }
  /* Health answers still, amber, saying why. */
  doc = get_json("/v1/health");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "amber");
  cr_assert_str_eq(
      json_string_value(json_object_get(doc, "reason")),
      "handoff health has not been computed yet: no worker has run");
  cr_assert_eq(json_array_size(json_object_get(doc, "handoffs")), 0);
  cr_assert_eq(json_array_size(json_object_get(doc, "stages")), 0);
  cr_assert(json_is_integer(
      json_object_get(json_object_get(doc, "queue"), "consumers")));
  json_decref(doc);
}

Test(api, redis_down_is_503_with_retry_after, .init = up, .fini = down,
     .timeout = 60) {
  static const char *const paths[] = {"/v1/health", "/v1/handoffs",
                                      HANDOFF "/clocks?state=breached",
                                      "/v1/subjects/company%3A1"};
  struct hk_resp r;
  hk_redis_stop();
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    get(paths[i], 1, &r);
    assert_error(&r, 503, "redis_unavailable", paths[i]);
    cr_assert(atoi(r.retry_after) > 0, "%s", paths[i]);
  }
}

/* ---------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------- */

Test(api, documents_are_served_as_stored, .init = up, .fini = down,
     .timeout = 60) {
  static const char *const docs[][2] = {
      {"/v1/handoffs", "handoff:kpi:handoffs"},
      {HANDOFF, "handoff:kpi:handoff:lead_response"},
      {"/v1/stages", "handoff:kpi:stages"},
      {"/v1/stages/mql", "handoff:kpi:stage:mql"}};
  struct hk_resp r;
  char *want = NULL;
  const char *token[] = {AUTH, NULL};
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    char value[64];
    snprintf(value, sizeof value, "{\"seeded\":%zu}", i);
    free(hk_redis_str("SET %s %s", docs[i][1], value));
    get(docs[i][0], 1, &r);
    cr_assert_eq(r.status, 200, "%s: %s", docs[i][0], r.body);
    cr_assert_str_eq(r.body, value);
    cr_assert_str_eq(r.content_type, "application/json");
  }
  /* HEAD: the same head, no body. */
  cr_assert_eq(hk_http("HEAD", "/v1/stages/mql", token, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, "");

  /* Then what a worker really writes, byte for byte. */
  free(hk_redis_str("DEL handoff:kpi:handoffs"));
  hk_post_event("lead.mql", 1, hk_now_ms() - 3 * 3600 * 1000,
                ",\"owner\":\"ana\"");
  hk_worker_start(0, (const char *const[]){"--kpi-every", "200ms", NULL});
  for (int t = 0; t < 200 && want == NULL; t++) {
    want = hk_redis_str("GET handoff:kpi:handoffs");
    if (want == NULL) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  cr_assert(want != NULL, "no worker wrote the KPI documents");
  hk_worker_stop(0, SIGTERM);
  free(want);
  want = hk_redis_str("GET handoff:kpi:handoffs");
  get("/v1/handoffs", 1, &r);
  cr_assert_eq(r.status, 200, "%s", r.body);
  cr_assert_str_eq(r.body, want);
  free(want);
}

static long long health_handoffs;

static int health_has_handoffs(void) {
  char *doc = hk_redis_str("GET handoff:kpi:health");
  json_t *j = doc != NULL ? json_loads(doc, 0, NULL) : NULL;
  health_handoffs = (long long)json_array_size(json_object_get(j, "handoffs"));
  json_decref(j);
  free(doc);
  return health_handoffs > 0;
}

Test(api, health_is_the_workers_document_with_the_live_queue, .init = up,
     .fini = down, .timeout = 60) {
  json_t *doc;
  json_t *stored;
  char *text;
  /* A stored document, and deliveries waiting with no worker: the
   * status is the worse of the two and both reasons are given. */
  free(hk_redis_str("SET handoff:kpi:health %s",
                    "{\"status\":\"green\",\"computed_at\":"
                    "\"2026-11-24T10:00:00.000Z\",\"reason\":\"all green\","
                    "\"handoffs\":[],\"stages\":[]}"));
  hk_post_event("lead.mql", 2, hk_now_ms(), ",\"owner\":\"ana\"");
  doc = get_json("/v1/health");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "amber");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "reason")),
                   "deliveries are waiting and no worker is reading the queue");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "computed_at")),
                   "2026-11-24T10:00:00.000Z");
  cr_assert_eq(json_integer_value(
                   json_object_get(json_object_get(doc, "queue"), "length")),
               1);
  json_decref(doc);

  /* A worker's own document, as it wrote it, with the queue added. */
  hk_worker_start(0, (const char *const[]){"--kpi-every", "200ms", NULL});
  cr_assert(hk_wait_until(health_has_handoffs, 10000));
  hk_worker_stop(0, SIGTERM);
  text = hk_redis_str("GET handoff:kpi:health");
  stored = json_loads(text, 0, NULL);
  doc = get_json("/v1/health");
  cr_assert(json_equal(json_object_get(doc, "handoffs"),
                       json_object_get(stored, "handoffs")));
  cr_assert_str_eq(json_string_value(json_object_get(doc, "status")),
                   json_string_value(json_object_get(stored, "status")));
  cr_assert(json_is_object(json_object_get(doc, "queue")));
  json_decref(doc);
  json_decref(stored);
  free(text);
}

/* ---------------------------------------------------------------------------
 * Clocks and journeys
 * ------------------------------------------------------------------------- */

static long long want_indexed;

static int breached_indexed(void) {
  return hk_redis_int("ZCARD handoff:cs:lead_response:breached") ==
         want_indexed;
}

/* The subjects of a clocks page, "company:5 company:4", and its cursor. */
static void page(const char *query, char *subjects, size_t cap, char *cursor,
                 size_t ccap) {
  char path[512];
  json_t *doc;
  json_t *c;
  size_t i;
  size_t n = 0;
  snprintf(path, sizeof path, HANDOFF "/clocks?%s", query);
  doc = get_json(path);
  subjects[0] = '\0';
  json_array_foreach(json_object_get(doc, "clocks"), i, c) {
    n += (size_t)snprintf(subjects + n, cap - n, "%s%s", i > 0 ? " " : "",
                          json_string_value(json_object_get(c, "subject")));
  }
  snprintf(cursor, ccap, "%s",
           json_is_string(json_object_get(doc, "next_cursor"))
               ? json_string_value(json_object_get(doc, "next_cursor"))
               : "");
  json_decref(doc);
}

Test(api, breached_clocks_page_newest_first_and_stay_stable, .init = up,
     .fini = down, .timeout = 60) {
  int64_t base = hk_now_ms() - 5 * 3600 * 1000;
  char subjects[512];
  char cursor[512];
  char query[600];
  json_t *doc;
  json_t *c;

  for (int i = 1; i <= 5; i++) {
    hk_post_event("lead.mql", i, base + i * 60 * 1000, ",\"owner\":\"ana\"");
  }
  hk_worker_start(0, NULL);
  want_indexed = 5;
  cr_assert(hk_wait_until(breached_indexed, 10000));

  page("state=breached&limit=3", subjects, sizeof subjects, cursor,
       sizeof cursor);
  cr_assert_str_eq(subjects, "company:5 company:4 company:3");
  cr_assert_neq(cursor[0], '\0');

  /* A new breached clock between the pages, newer than every other. */
  hk_post_event("lead.mql", 6, base + 2 * 3600 * 1000, ",\"owner\":\"ana\"");
  want_indexed = 6;
  cr_assert(hk_wait_until(breached_indexed, 10000));

  snprintf(query, sizeof query, "state=breached&limit=3&cursor=%s", cursor);
  page(query, subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert_str_eq(subjects, "company:2 company:1");
  cr_assert_str_eq(cursor, "");
  page("state=breached&limit=3", subjects, sizeof subjects, cursor,
       sizeof cursor);
  cr_assert_str_eq(subjects, "company:6 company:5 company:4");

  /* One clock as the contract shows it. */
  doc = get_json(HANDOFF "/clocks?state=breached&limit=1");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "handoff")),
                   "lead_response");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "state")),
                   "breached");
  c = json_array_get(json_object_get(doc, "clocks"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(c, "subject")),
                   "company:6");
  cr_assert_str_eq(json_string_value(json_object_get(c, "state")), "breached");
  cr_assert_str_eq(json_string_value(json_object_get(c, "owner")), "ana");
  cr_assert(json_is_null(json_object_get(c, "stopped_at")));
  cr_assert_eq(strlen(json_string_value(json_object_get(c, "started_at"))), 24);
  cr_assert_eq(strlen(json_string_value(json_object_get(c, "deadline"))), 24);
  cr_assert(json_is_array(json_object_get(c, "missing")));
  cr_assert_str_eq(json_string_value(json_object_get(c, "link")),
                   "/handoff/v1/subjects/company%3A6");
  json_decref(doc);

  /* Nothing met yet: an empty page, no cursor. */
  page("state=met", subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert_str_eq(subjects, "");
  cr_assert_str_eq(cursor, "");
}

/* The entries of the due index: the sum over its buckets. */
static const char due_count[] =
    "local n = 0 "
    "for _, b in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "n = n + redis.call('ZCARD', string.sub(KEYS[1], 1, -5) .. b) end "
    "return n";

static int three_open(void) {
  return hk_redis_int("EVAL %s 1 %s", due_count,
                      "handoff:due:lead_response:next") == 3;
}

Test(api, open_clocks_page_most_urgent_first, .init = up, .fini = down,
     .timeout = 60) {
  int64_t t = hk_now_ms();
  char subjects[512];
  char cursor[512];
  char query[600];

  hk_post_event("lead.mql", 11, t - 10 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 12, t - 30 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 13, t - 20 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(three_open, 10000));

  page("limit=2", subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert_str_eq(subjects, "company:12 company:13");
  cr_assert_neq(cursor[0], '\0');
  /* A new clock, the least urgent, between the pages. */
  hk_post_event("lead.mql", 14, t, ",\"owner\":\"ana\"");
  snprintf(query, sizeof query, "state=open&limit=2&cursor=%s", cursor);
  page(query, subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert(strncmp(subjects, "company:11", 10) == 0, "%s", subjects);
  cr_assert_null(strstr(subjects, "company:12"));
  cr_assert_null(strstr(subjects, "company:13"));
  /* None is past 80% of its hour. */
  page("state=at_risk", subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert_str_eq(subjects, "");
}

static int subject_recorded(void) {
  return hk_redis_int("HLEN handoff:stages") == 1 &&
         hk_redis_int("HGET handoff:hcount:lead_response met") == 1;
}

Test(api, a_subject_shows_its_stages_events_and_clocks, .init = up,
     .fini = down, .timeout = 60) {
  int64_t t = hk_now_ms() - 2 * 3600 * 1000;
  json_t *doc;
  json_t *x;
  char *text;

  /* The stop first: order does not matter. */
  hk_post_event("lead.contacted", 40, t + 10 * 60 * 1000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 40, t, ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(subject_recorded, 10000));

  doc = get_json("/v1/subjects/company%3A40");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "subject")),
                   "company:40");
  x = json_object_get(doc, "stages");
  cr_assert_eq(json_array_size(x), 2, "%s", json_dumps(x, 0));
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(x, 0), "stage")), "mql");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(x, 1), "stage")), "sql");
  x = json_object_get(doc, "events");
  cr_assert_eq(json_array_size(x), 2);
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(x, 0), "type")),
      "lead.mql");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(x, 1), "type")),
      "lead.contacted");
  text = json_dumps(json_object_get(json_array_get(x, 0), "handoffs"),
                    JSON_COMPACT);
  cr_assert_str_eq(text, "[\"lead_response\"]");
  free(text);
  x = json_object_get(doc, "clocks");
  cr_assert_eq(json_array_size(x), 1);
  x = json_array_get(x, 0);
  cr_assert_str_eq(json_string_value(json_object_get(x, "handoff")),
                   "lead_response");
  cr_assert_str_eq(json_string_value(json_object_get(x, "state")), "met");
  cr_assert(json_is_string(json_object_get(x, "stopped_at")));
  cr_assert_null(json_object_get(x, "link"));
  json_decref(doc);

  /* Unescaped, the same subject. */
  doc = get_json("/v1/subjects/company:40");
  cr_assert_str_eq(json_string_value(json_object_get(doc, "subject")),
                   "company:40");
  json_decref(doc);
}

/* A stage no handoff listens to (visitor, entered on site.visit) before
 * the lead's, and a handoff whose deadline is an attribute. */
static void up_journey(void) {
  hk_stack_up(
      "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
      " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
      " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
      " \"attrs\": {\"owner\": \"data.owner\","
      " \"renews_at\": \"data.renews_at\"}}],"
      "\"stages\": {\"visitor\": {\"owner\": \"Web\", \"entered_on\":"
      " [\"site.visit\"], \"next\": \"mql\"}, \"mql\": {\"owner\":"
      " \"Marketing\", \"entered_on\": [\"lead.mql\"], \"next\": \"sql\"},"
      " \"sql\": {\"owner\": \"SDR team\", \"entered_on\":"
      " [\"lead.contacted\"]}},"
      "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
      " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
      " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"}},"
      " \"renewal\": {\"owner\": \"AM\", \"from\": \"mql\", \"to\": \"sql\","
      " \"start\": [\"renewal.due\"], \"stop\": [\"renewal.done\"],"
      " \"sla\": {\"deadline\": {\"attr\": \"renews_at\","
      " \"offset\": \"-90d\"}}}},");
}

static int renewals_open(void) {
  return hk_redis_int("HGET handoff:hcount:renewal open") == 3;
}

Test(api, the_open_listing_shows_a_clock_with_no_deadline, .init = up_journey,
     .fini = down, .timeout = 60) {
  int64_t t = hk_now_ms();
  char path[256];
  json_t *doc;
  json_t *c;
  char out[8192];

  /* 21: renews in a year; 22: its start lacks renews_at, so its clock
   * has no deadline (and never breaches), but it is open all the same. */
  snprintf(path, sizeof path, ",\"renews_at\":%lld",
           (long long)(t + 365LL * 24 * 3600 * 1000));
  hk_post_event("renewal.due", 21, t - 60 * 1000, path);
  hk_post_event("renewal.due", 22, t - 120 * 1000, "");
  /* 23: no deadline either, and a start far before 1970 (a sender's
   * garbage): listed as the oldest start, not due at once (a worker would
   * take it again and again). */
  hk_post_event("renewal.due", 23, -5000000000000000LL, "");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(renewals_open, 10000));

  doc = get_json("/v1/handoffs/renewal/clocks?state=open");
  cr_assert_eq(json_array_size(json_object_get(doc, "clocks")), 3, "%s",
               json_dumps(doc, 0));
  /* The one with a deadline first (more urgent), then the others, oldest
   * start first. */
  c = json_array_get(json_object_get(doc, "clocks"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(c, "subject")),
                   "company:21");
  c = json_array_get(json_object_get(doc, "clocks"), 1);
  cr_assert_str_eq(json_string_value(json_object_get(c, "subject")),
                   "company:23");
  c = json_array_get(json_object_get(doc, "clocks"), 2);
  cr_assert_str_eq(json_string_value(json_object_get(c, "subject")),
                   "company:22");
  cr_assert_str_eq(json_string_value(json_object_get(c, "state")), "open");
  cr_assert(json_is_null(json_object_get(c, "deadline")));
  cr_assert(json_is_null(json_object_get(doc, "next_cursor")));
  json_decref(doc);
  /* One page at a time, the same three. */
  {
    static const char *const order[] = {"company:21", "company:23",
                                        "company:22"};
    char cursor[200] = "";
    for (size_t i = 0; i < 3; i++) {
      snprintf(path, sizeof path,
               "/v1/handoffs/renewal/clocks?state=open&limit=1%s%s",
               i > 0 ? "&cursor=" : "", cursor);
      doc = get_json(path);
      cr_assert_str_eq(
          json_string_value(json_object_get(
              json_array_get(json_object_get(doc, "clocks"), 0), "subject")),
          order[i]);
      c = json_object_get(doc, "next_cursor");
      cr_assert_eq(json_is_null(c), i == 2, "page %zu", i);
      snprintf(cursor, sizeof cursor, "%s", i < 2 ? json_string_value(c) : "");
      json_decref(doc);
    }
  }
  /* handoffctl lists the same open clocks. */
  cr_assert_eq(hk_ctl("clocks renewal --state open", out, sizeof out), 0, "%s",
               out);
  cr_assert_not_null(strstr(out, "company:21"), "%s", out);
  cr_assert_not_null(strstr(out, "company:22"), "%s", out);
}

static int three_breached(void) {
  return hk_redis_int("ZCARD handoff:cs:lead_response:breached") == 3;
}

static int one_at_risk(void) {
  return hk_redis_int("HGET handoff:hcount:lead_response at_risk") == 1 &&
         hk_redis_int("HGET handoff:hcount:lead_response open") == 1;
}

/* The number of clocks of a page, and whether it has a cursor. */
static size_t page_of(const char *query, int *has_cursor, char *cursor,
                      size_t cap) {
  char path[600];
  json_t *doc;
  size_t n;
  snprintf(path, sizeof path, HANDOFF "/clocks?%s", query);
  doc = get_json(path);
  n = json_array_size(json_object_get(doc, "clocks"));
  *has_cursor = json_is_string(json_object_get(doc, "next_cursor"));
  cr_assert(*has_cursor || json_is_null(json_object_get(doc, "next_cursor")));
  snprintf(cursor, cap, "%s",
           *has_cursor ? json_string_value(json_object_get(doc, "next_cursor"))
                       : "");
  json_decref(doc);
  return n;
}

Test(api, a_page_with_a_cursor_is_never_empty, .init = up, .fini = down,
     .timeout = 60) {
  int64_t t = hk_now_ms();
  char cursor[512];
  char query[700];
  int more = 0;

  /* Exactly 3 breached clocks. */
  for (int i = 1; i <= 3; i++) {
    hk_post_event("lead.mql", 50 + i, t - 5 * 3600 * 1000 + i * 60000,
                  ",\"owner\":\"ana\"");
  }
  /* 61: open, past 45 of its 60 minutes but not yet 48 (its warning);
   * 62: at risk, 50 minutes in. In the due index 61 comes first (its
   * warning is sooner than 62's deadline). */
  hk_post_event("lead.mql", 61, t - 45 * 60000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 62, t - 50 * 60000, ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(three_breached, 10000));
  cr_assert(hk_wait_until(one_at_risk, 10000));

  /* A last page exactly full carries no cursor. */
  cr_assert_eq(page_of("state=breached&limit=3", &more, cursor, sizeof cursor),
               3);
  cr_assert_eq(more, 0, "a cursor to an empty page: %s", cursor);
  cr_assert_eq(page_of("state=breached&limit=2", &more, cursor, sizeof cursor),
               2);
  cr_assert_eq(more, 1);
  snprintf(query, sizeof query, "state=breached&limit=2&cursor=%s", cursor);
  cr_assert_eq(page_of(query, &more, cursor, sizeof cursor), 1);
  cr_assert_eq(more, 0);
  /* The running clocks: 2, in one full page. */
  cr_assert_eq(page_of("state=open&limit=2", &more, cursor, sizeof cursor), 2);
  cr_assert_eq(more, 0);
  /* at_risk keeps only 62, though 61 comes first in the index: one clock,
   * no cursor (the page is not left empty). */
  cr_assert_eq(page_of("state=at_risk&limit=1", &more, cursor, sizeof cursor),
               1);
  cr_assert_eq(more, 0, "%s", cursor);
  /* handoffctl's open is the API's: both running clocks; at_risk, one. */
  {
    char out[8192];
    cr_assert_eq(hk_ctl("clocks lead_response --state open", out, sizeof out),
                 0, "%s", out);
    cr_assert_not_null(strstr(out, "company:61"), "%s", out);
    cr_assert_not_null(strstr(out, "company:62"), "%s", out);
    cr_assert_eq(
        hk_ctl("clocks lead_response --state at_risk", out, sizeof out), 0,
        "%s", out);
    cr_assert_null(strstr(out, "company:61"), "%s", out);
    cr_assert_not_null(strstr(out, "company:62"), "%s", out);
  }
}

static int twelve_open_two_at_risk(void) {
  return hk_redis_int("HGET handoff:hcount:lead_response at_risk") == 2 &&
         hk_redis_int("HGET handoff:hcount:lead_response open") == 12;
}

Test(api, at_risk_pages_read_past_many_open_clocks, .init = up, .fini = down,
     .timeout = 60) {
  int64_t t = hk_now_ms();
  char subjects[512];
  char cursor[512];
  char query[700];

  /* 70-81: open, 45 minutes in; their warnings (48 minutes) come before
   * the deadlines of 90 and 91, at risk 50 and 52 minutes in. So a page
   * of at_risk reads past the twelve open clocks, in chunks that grow. */
  for (int i = 0; i < 12; i++) {
    hk_post_event("lead.mql", 70 + i, t - 45 * 60000 + i * 1000,
                  ",\"owner\":\"ana\"");
  }
  hk_post_event("lead.mql", 90, t - 50 * 60000, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 91, t - 52 * 60000, ",\"owner\":\"ana\"");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(twelve_open_two_at_risk, 10000));

  page("state=at_risk&limit=1", subjects, sizeof subjects, cursor,
       sizeof cursor);
  cr_assert_str_eq(subjects, "company:91");
  cr_assert_neq(cursor[0], '\0');
  snprintf(query, sizeof query, "state=at_risk&limit=1&cursor=%s", cursor);
  page(query, subjects, sizeof subjects, cursor, sizeof cursor);
  cr_assert_str_eq(subjects, "company:90");
  cr_assert_eq(cursor[0], '\0', "a cursor to an empty page: %s", cursor);
}

static int visitor_71(void) {
  return hk_redis_int("HLEN handoff:stages") == 2 &&
         hk_redis_int("EXISTS handoff:journey:company:71") == 1;
}

/* Both deliveries journaled (the journey index holds each event), the
 * clock open and the stage record written: the worker may take the two
 * deliveries in one batch or in two. */
static int visitor_recorded(void) {
  return hk_redis_int("HGET handoff:hcount:lead_response open") == 1 &&
         hk_redis_int("HLEN handoff:stages") == 1 &&
         hk_redis_int("ZCARD handoff:journey:company:70") == 2;
}

Test(api, a_subject_shows_the_events_no_handoff_listens_to, .init = up_journey,
     .fini = down, .timeout = 60) {
  int64_t t = hk_now_ms() - 10 * 60000;
  json_t *doc;
  json_t *events;
  json_t *e;
  char *text;

  /* The subject enters visitor first (no handoff listens to site.visit),
   * then mql, which starts the lead's clock. */
  hk_post_event("lead.mql", 70, t + 60000, ",\"owner\":\"ana\"");
  hk_post_event("site.visit", 70, t, "");
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(visitor_recorded, 10000));

  doc = get_json("/v1/subjects/company%3A70");
  events = json_object_get(doc, "events");
  text = json_dumps(doc, JSON_COMPACT);
  cr_assert_eq(json_array_size(events), 2, "%s", text);
  e = json_array_get(events, 0);
  cr_assert_str_eq(json_string_value(json_object_get(e, "type")), "site.visit",
                   "%s", text);
  cr_assert_str_eq(json_string_value(json_object_get(e, "source")), "demo");
  cr_assert_eq(json_array_size(json_object_get(e, "handoffs")), 0);
  cr_assert_str_eq(
      json_string_value(json_array_get(json_object_get(e, "stages"), 0)),
      "visitor", "%s", text);
  e = json_array_get(events, 1);
  cr_assert_str_eq(json_string_value(json_object_get(e, "type")), "lead.mql");
  cr_assert_str_eq(
      json_string_value(json_array_get(json_object_get(e, "handoffs"), 0)),
      "lead_response");
  cr_assert_str_eq(
      json_string_value(json_array_get(json_object_get(e, "stages"), 0)),
      "mql");
  /* Its stages and clock, in time order too. */
  cr_assert_str_eq(
      json_string_value(json_object_get(
          json_array_get(json_object_get(doc, "stages"), 0), "stage")),
      "visitor");
  cr_assert_eq(json_array_size(json_object_get(doc, "clocks")), 1);
  free(text);
  json_decref(doc);

  /* A subject that only ever visited: its journey all the same. */
  hk_post_event("site.visit", 71, t, "");
  cr_assert(hk_wait_until(visitor_71, 10000));
  doc = get_json("/v1/subjects/company%3A71");
  cr_assert_eq(json_array_size(json_object_get(doc, "events")), 1);
  cr_assert_eq(json_array_size(json_object_get(doc, "clocks")), 0);
  json_decref(doc);
}
