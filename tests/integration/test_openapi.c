/*
 * test_openapi.c -- every route of the status API, through nginx, checked
 * against docs/openapi.json.
 *
 * A stack with two stages, one handoff and two KPIs gets a few journey
 * events; a worker maps them and writes the KPI documents every 200 ms.
 * Then each route is asked for real (the documents, one handoff and one
 * stage, the clocks in each state and paged, a subject) along with each
 * error it can give (401 without or with a wrong token, 404 for unknown
 * names, 400 for each kind of bad query, 405 for other methods, 503
 * before any worker has run), and each response body goes through
 * tests/npm/openapi-check.js, which validates it with ajv against the
 * spec's schema for that path, method and status. A response the spec
 * does not describe fails the test, so does a spec the server outgrew.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"

#define SPEC HK_SOURCE_DIR "/docs/openapi.json"
#define CHECKER HK_SOURCE_DIR "/tests/npm/openapi-check.js"

static const char journey[] =
    "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
    " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
    " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
    " \"attrs\": {\"owner\": \"data.owner\", \"email\": \"data.email\","
    " \"amount\": \"data.amount\", \"currency\": \"data.currency\"}}],"
    "\"stages\": {\"mql\": {\"description\": \"Marketing qualified.\","
    " \"owner\": \"Marketing\", \"entered_on\": [\"lead.mql\"],"
    " \"next\": \"sql\", \"amount_attr\": \"amount\"},"
    " \"sql\": {\"owner\": \"SDR team\", \"entered_on\": "
    "[\"lead.contacted\"]}},"
    "\"handoffs\": {\"lead_response\": {\"description\": \"First touch.\","
    " \"owner\": \"SDR team\", \"from\": \"mql\", \"to\": \"sql\","
    " \"start\": [\"lead.mql\"], \"stop\": [\"lead.contacted\"],"
    " \"cancel\": [\"lead.disqualified\"], \"sla\": {\"within\": \"1h\"},"
    " \"requires\": [\"email\"], \"group_by\": {\"owner\": {}}}},"
    "\"kpis\": {\"lead_attainment\": {\"handoff\": \"lead_response\","
    " \"metric\": \"attainment\", \"target\": 0.95, \"amber\": 0.9,"
    " \"red\": 0.8, \"owner\": \"Head of SDR\", \"action\": \"Call back.\"},"
    " \"mql_revenue\": {\"stage\": \"mql\", \"metric\": \"revenue\","
    " \"currency\": \"EUR\", \"target\": 1000, \"amber\": 500, \"red\": 100,"
    " \"window\": \"30d\", \"owner\": \"CMO\", \"action\": \"Spend.\"}},";

static void up(void) {
  hk_stack_up(journey);
}

TestSuite(openapi, .init = up, .fini = hk_stack_down, .timeout = 180);

/* A journey event with amount and currency, and email when with_email. */
static void post_event(const char *type, int company, int64_t at_ms,
                       int with_email) {
  hk_post_event(type, company, at_ms,
                with_email ? ",\"owner\":\"ana\",\"amount\":1200.5,"
                             "\"currency\":\"EUR\",\"email\":\"a@example.com\""
                           : ",\"owner\":\"ana\",\"amount\":1200.5,"
                             "\"currency\":\"EUR\"");
}

/* ---------------------------------------------------------------------------
 * One request, its body to a file, the checker on it
 * ------------------------------------------------------------------------- */

struct got {
  long status;
  char allow[64];
  char content_type[128];
  char retry_after[32];
  char file[400];
  char *body; /* the whole body, NUL-terminated; freed by got_fini */
  size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  struct got *g = arg;
  size_t add = size * n;
  g->body = realloc(g->body, g->len + add + 1);
  cr_assert(g->body != NULL);
  memcpy(g->body + g->len, data, add);
  g->len += add;
  g->body[g->len] = '\0';
  return add;
}

static void header(const char *line, size_t len, const char *name, char *out,
                   size_t cap) {
  size_t nl = strlen(name);
  if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl > 0 && *v == ' ') {
      v++;
      vl--;
    }
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) {
      vl--;
    }
    vl = vl < cap ? vl : cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
  }
}

static size_t on_header(char *data, size_t size, size_t n, void *arg) {
  struct got *g = arg;
  header(data, size * n, "Allow", g->allow, sizeof g->allow);
  header(data, size * n, "Content-Type", g->content_type,
         sizeof g->content_type);
  header(data, size * n, "Retry-After", g->retry_after, sizeof g->retry_after);
  return size * n;
}

/* method path with token ("" for none) into g, the body also written to a
 * file of the stack's folder. */
static void fetch(const char *method, const char *path, const char *token,
                  struct got *g) {
  static int seq;
  CURL *c = curl_easy_init();
  struct curl_slist *hs = NULL;
  char url[600];
  char auth[200];
  FILE *f;
  memset(g, 0, sizeof *g);
  g->body = calloc(1, 1);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s%s", stack.http_port,
           HK_TEST_MOUNT, path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  }
  if (token[0] != '\0') {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hs = curl_slist_append(hs, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  }
  cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s: no answer", method,
               path);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  snprintf(g->file, sizeof g->file, "%s/resp-%03d.json", stack.dir, ++seq);
  f = fopen(g->file, "wb");
  cr_assert(f != NULL);
  fwrite(g->body, 1, g->len, f);
  fclose(f);
}

static void got_fini(struct got *g) {
  free(g->body);
  g->body = NULL;
}

/* The checks of this test, a line each, run together by checks_pass(). */
static void checks_path(char *path, size_t cap) {
  snprintf(path, cap, "%s/openapi-checks.tsv", stack.dir);
}

/* Queues the check of g's body (kept in g->file) for method template
 * status. */
static void check(const char *method, const char *template, long status,
                  const struct got *g) {
  char path[400];
  FILE *f;
  checks_path(path, sizeof path);
  f = fopen(path, "a");
  cr_assert_not_null(f);
  fprintf(f, "%s\t%s\t%ld\t%s\n", method, template, status, g->file);
  fclose(f);
}

/* Runs the checker on every body queued by check() in one node process
 * (a process per body cost about a second each); asserts each passed,
 * with the checker's report of those that did not. Every test that asks
 * ends with it. */
static void checks_pass(void) {
  char path[400];
  char cmd[1400];
  char out[65536];
  size_t n = 0;
  size_t got;
  FILE *p;
  int rc;
  checks_path(path, sizeof path);
  snprintf(cmd, sizeof cmd, "node '%s' --batch '%s' '%s' 2>&1", CHECKER, SPEC,
           path);
  p = popen(cmd, "r");
  cr_assert(p != NULL);
  while (n < sizeof out - 1 &&
         (got = fread(out + n, 1, sizeof out - 1 - n, p)) > 0) {
    n += got;
  }
  out[n] = '\0';
  rc = pclose(p);
  cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
            "responses that do not match docs/openapi.json:\n%s", out);
  cr_assert(strstr(out, "ok: ") != NULL, "nothing was checked:\n%s", out);
}

/* Asks method path with token, asserts status (and the error code when
 * code is not NULL) and checks the body against template's spec. */
static void ask(const char *method, const char *path, const char *token,
                const char *template, long status, const char *code,
                struct got *g) {
  fetch(method, path, token, g);
  cr_assert_eq(g->status, status, "%s %s: %ld, not %ld: %.2000s", method, path,
               g->status, status, g->body);
  if (strcmp(method, "HEAD") != 0) {
    cr_assert(strncmp(g->content_type, "application/json", 16) == 0 ||
                  strcmp(template, "/metrics") == 0,
              "%s %s: Content-Type %s", method, path, g->content_type);
  }
  if (code != NULL) {
    char want[80];
    snprintf(want, sizeof want, "\"code\":\"%s\"", code);
    cr_assert(strstr(g->body, want) != NULL, "%s %s: not %s: %s", method, path,
              code, g->body);
  }
  if (strcmp(method, "HEAD") != 0) {
    char lower[16];
    size_t i = 0;
    for (; method[i] != '\0' && i < sizeof lower - 1; i++) {
      lower[i] = (char)(method[i] | 0x20);
    }
    lower[i] = '\0';
    /* The spec describes the 405 of every other method once, on POST. */
    check(status == 405 ? "post" : lower, template, status, g);
  }
}

/* A plain GET with the token that must be 200 and match the spec. */
static void ok(const char *path, const char *template) {
  struct got g;
  ask("GET", path, HK_TEST_TOKEN, template, 200, NULL, &g);
  got_fini(&g);
}

static void refused(const char *method, const char *path, const char *token,
                    const char *template, long status, const char *code) {
  struct got g;
  ask(method, path, token, template, status, code, &g);
  if (status == 405) {
    cr_assert_str_eq(g.allow,
                     strcmp(template, "/v1/subjects/{subject}") == 0
                         ? "GET, HEAD, DELETE"
                         : "GET, HEAD",
                     "%s %s", method, path);
  }
  if (status == 503) {
    cr_assert(g.retry_after[0] != '\0', "%s %s: no Retry-After", method, path);
  }
  got_fini(&g);
}

/* ---------------------------------------------------------------------------
 * The routes
 * ------------------------------------------------------------------------- */

static const struct {
  const char *path;
  const char *template;
} routes[] = {
    {"/v1/health", "/v1/health"},
    {"/v1/handoffs", "/v1/handoffs"},
    {"/v1/handoffs/lead_response", "/v1/handoffs/{name}"},
    {"/v1/handoffs/lead_response/clocks", "/v1/handoffs/{name}/clocks"},
    {"/v1/handoffs/lead_response/by/owner",
     "/v1/handoffs/{name}/by/{dimension}"},
    {"/v1/handoffs/lead_response/series", "/v1/handoffs/{name}/series"},
    {"/v1/stages", "/v1/stages"},
    {"/v1/stages/mql", "/v1/stages/{name}"},
    {"/v1/subjects/company%3A1", "/v1/subjects/{subject}"},
};

#define NROUTES (sizeof routes / sizeof *routes)

static long long want_met;

/* The worker has stopped want_met clocks in time and written the KPI
 * documents since. */
static int clocks_settled(void) {
  char *doc;
  int done;
  if (hk_redis_int("HGET handoff:hcount:lead_response met") != want_met) {
    return 0;
  }
  doc = hk_redis_str("GET handoff:kpi:handoffs");
  done =
      doc != NULL &&
      (strstr(doc, "\"met\": 1") != NULL || strstr(doc, "\"met\":1") != NULL ||
       strstr(doc, "\"met\": 5") != NULL || strstr(doc, "\"met\":5") != NULL);
  free(doc);
  return done;
}

Test(openapi, before_any_worker_the_api_says_not_ready) {
  struct got g;
  ask("GET", "/v1/health", HK_TEST_TOKEN, "/v1/health", 200, NULL, &g);
  cr_assert(strstr(g.body, "\"status\":\"amber\"") != NULL ||
                strstr(g.body, "\"status\": \"amber\"") != NULL,
            "%s", g.body);
  cr_assert(strstr(g.body, "has not been computed yet") != NULL, "%s", g.body);
  got_fini(&g);
  refused("GET", "/v1/handoffs", HK_TEST_TOKEN, "/v1/handoffs", 503,
          "not_ready");
  refused("GET", "/v1/handoffs/lead_response", HK_TEST_TOKEN,
          "/v1/handoffs/{name}", 503, "not_ready");
  refused("GET", "/v1/stages", HK_TEST_TOKEN, "/v1/stages", 503, "not_ready");
  refused("GET", "/v1/stages/mql", HK_TEST_TOKEN, "/v1/stages/{name}", 503,
          "not_ready");
  checks_pass();
}

Test(openapi, every_route_and_error_matches_the_spec) {
  const char *kpi_every[] = {"--kpi-every", "200ms", NULL};
  int64_t now = hk_now_ms();
  struct got g;
  char path[300];

  /* Company 1: met; 2: breached; 3: met late; 4: open, no email; 5:
   * cancelled; 6: an MQL that is still fresh. */
  post_event("lead.mql", 1, now - 2 * 3600 * 1000, 1);
  post_event("lead.contacted", 1, now - 2 * 3600 * 1000 + 600000, 1);
  post_event("lead.mql", 2, now - 3 * 3600 * 1000, 1);
  post_event("lead.mql", 3, now - 5 * 3600 * 1000, 1);
  post_event("lead.contacted", 3, now - 3 * 3600 * 1000, 1);
  post_event("lead.mql", 4, now - 60 * 1000, 0);
  post_event("lead.mql", 5, now - 4 * 3600 * 1000, 1);
  post_event("lead.disqualified", 5, now - 4 * 3600 * 1000 + 1000, 1);
  hk_worker_start(0, kpi_every);
  want_met = 1;
  cr_assert(hk_wait_until(clocks_settled, 20000),
            "no KPI documents with the met clock");

  for (size_t i = 0; i < NROUTES; i++) {
    ok(routes[i].path, routes[i].template);
    /* Without a token, and with a wrong one. */
    refused("GET", routes[i].path, "", routes[i].template, 401, "unauthorized");
    refused("GET", routes[i].path, "not-the-token", routes[i].template, 401,
            "unauthorized");
    refused("POST", routes[i].path, HK_TEST_TOKEN, routes[i].template, 405,
            "method_not_allowed");
    if (strcmp(routes[i].template, "/v1/subjects/{subject}") == 0) {
      /* DELETE forgets a subject: a read token may not. */
      refused("DELETE", routes[i].path, HK_TEST_TOKEN, routes[i].template, 403,
              "forbidden");
    } else {
      refused("DELETE", routes[i].path, HK_TEST_TOKEN, routes[i].template, 405,
              "method_not_allowed");
    }
    fetch("HEAD", routes[i].path, HK_TEST_TOKEN, &g);
    cr_assert_eq(g.status, 200, "HEAD %s: %ld", routes[i].path, g.status);
    got_fini(&g);
  }

  /* Each state of the clocks, and paging through the finished ones. */
  {
    static const char *const states[] = {"open",     "at_risk",  "paused",
                                         "met",      "breached", "met_late",
                                         "cancelled"};
    for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
      snprintf(path, sizeof path, "/v1/handoffs/lead_response/clocks?state=%s",
               states[i]);
      ok(path, "/v1/handoffs/{name}/clocks");
    }
  }
  ask("GET", "/v1/handoffs/lead_response/clocks?state=open&limit=1",
      HK_TEST_TOKEN, "/v1/handoffs/{name}/clocks", 200, NULL, &g);
  cr_assert(strstr(g.body, "company:4") != NULL, "%s", g.body);
  got_fini(&g);

  /* Unknown names. */
  refused("GET", "/v1/handoffs/nobody", HK_TEST_TOKEN, "/v1/handoffs/{name}",
          404, "unknown_handoff");
  refused("GET", "/v1/handoffs/nobody/clocks", HK_TEST_TOKEN,
          "/v1/handoffs/{name}/clocks", 404, "unknown_handoff");
  refused("GET", "/v1/handoffs/nobody/by/owner", HK_TEST_TOKEN,
          "/v1/handoffs/{name}/by/{dimension}", 404, "unknown_handoff");
  refused("GET", "/v1/handoffs/lead_response/by/segment", HK_TEST_TOKEN,
          "/v1/handoffs/{name}/by/{dimension}", 404, "not_found");
  refused("GET", "/v1/handoffs/nobody/series", HK_TEST_TOKEN,
          "/v1/handoffs/{name}/series", 404, "unknown_handoff");
  refused("GET", "/v1/handoffs/lead_response/series?days=7", HK_TEST_TOKEN,
          "/v1/handoffs/{name}/series", 400, "bad_query");
  refused("GET", "/v1/stages/nowhere", HK_TEST_TOKEN, "/v1/stages/{name}", 404,
          "unknown_stage");
  refused("GET", "/v1/subjects/company%3A999", HK_TEST_TOKEN,
          "/v1/subjects/{subject}", 404, "unknown_subject");

  /* Each kind of bad query. */
  {
    static const char *const bad[] = {"state=late",  "limit=0",  "limit=abc",
                                      "limit=1001",  "limit=-1", "cursor=zz",
                                      "colour=blue", "state=",   "limit="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
      snprintf(path, sizeof path, "/v1/handoffs/lead_response/clocks?%s",
               bad[i]);
      refused("GET", path, HK_TEST_TOKEN, "/v1/handoffs/{name}/clocks", 400,
              "bad_query");
    }
  }

  /* The operations routes, without a token. */
  ask("GET", "/healthz", "", "/healthz", 200, NULL, &g);
  got_fini(&g);
  ask("GET", "/metrics", "", "/metrics", 200, NULL, &g);
  got_fini(&g);
  refused("POST", "/healthz", "", "/healthz", 405, "method_not_allowed");
  refused("POST", "/metrics", "", "/metrics", 405, "method_not_allowed");
  checks_pass();
}

/* Paging: a page of one, then the next, until next_cursor is null, visits
 * every finished clock once. */
Test(openapi, clock_pages_follow_next_cursor_to_the_end) {
  const char *kpi_every[] = {"--kpi-every", "200ms", NULL};
  int64_t now = hk_now_ms();
  char path[400];
  char cursor[200] = "";
  int pages = 0;

  for (int c = 11; c <= 14; c++) {
    post_event("lead.mql", c, now - (int64_t)(20 - c) * 3600 * 1000, 1);
    post_event("lead.contacted", c,
               now - (int64_t)(20 - c) * 3600 * 1000 + 60000, 1);
  }
  post_event("lead.mql", 1, now - 2 * 3600 * 1000, 1);
  post_event("lead.contacted", 1, now - 2 * 3600 * 1000 + 1000, 1);
  hk_worker_start(0, kpi_every);
  want_met = 5;
  cr_assert(hk_wait_until(clocks_settled, 20000), "not 5 met clocks");
  for (;;) {
    struct got g;
    char *next;
    if (cursor[0] == '\0') {
      snprintf(path, sizeof path,
               "/v1/handoffs/lead_response/clocks?state=met&limit=2");
    } else {
      char *esc = curl_easy_escape(NULL, cursor, 0);
      snprintf(path, sizeof path,
               "/v1/handoffs/lead_response/clocks?state=met&limit=2&cursor=%s",
               esc);
      curl_free(esc);
    }
    ask("GET", path, HK_TEST_TOKEN, "/v1/handoffs/{name}/clocks", 200, NULL,
        &g);
    pages++;
    next = strstr(g.body, "\"next_cursor\":");
    cr_assert(next != NULL, "%s", g.body);
    next += strlen("\"next_cursor\":");
    while (*next == ' ') {
      next++;
    }
    if (strncmp(next, "null", 4) == 0) {
      got_fini(&g);
      break;
    }
    cr_assert_eq(*next, '"', "%s", g.body);
    {
      const char *end = strchr(next + 1, '"');
      size_t n = (size_t)(end - next - 1);
      cr_assert(end != NULL && n < sizeof cursor);
      memcpy(cursor, next + 1, n);
      cursor[n] = '\0';
    }
    got_fini(&g);
    cr_assert(pages < 10, "paging does not end");
  }
  cr_assert_eq(pages, 3, "5 met clocks in pages of 2");
  checks_pass();
}
