/*
 * test_ladder.c -- escalation ladders end to end: signed journey events
 * through nginx, workers that run the clocks in Redis, and every step's
 * alert at an HTTP endpoint started by the test (receiver.h).
 *
 * The ladder has three steps: at risk to the owner, breached to the owner
 * and their manager, breached for 2 s to the head of the team on Slack.
 * Each step arrives once, in order, at its time, naming the right people;
 * a stop between two steps cancels the rest; the webhook verifies with the
 * standardwebhooks library; the Slack message mentions, names and links.
 * In suite `order` (with test_order.c): events shuffled and duplicated
 * over four workers send exactly the steps that one worker sends for them
 * in order. Unknown owner ids are counted in /metrics and /v1/health.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "receiver.h"

static int port;

/* The config: demo events are journey events with an owner and a
 * subject name; within and the ladder's last step are given. */
static void up_with(const char *within, const char *last_notify) {
  char extra[8192];
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/slack", port);
  setenv("HK_TEST_SLACK_URL", url, 1);
  hk_stack_api_extra = ", \"public_url\": \"https://handoff.example.com\"";
  snprintf(extra, sizeof extra,
           "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
           " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
           " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
           " \"attrs\": {\"owner\": \"data.owner\", \"subject_name\":"
           " \"data.name\"}}],"
           "\"owners\": {"
           " \"ana\": {\"name\": \"Ana Lima\", \"slack\": \"U0ANA1\","
           "  \"manager\": \"bo\"},"
           " \"bo\": {\"name\": \"Bo Chen\", \"slack\": \"U0BO22\","
           "  \"manager\": \"cy\"},"
           " \"cy\": {\"name\": \"Cy Diaz\", \"slack\": \"U0CY33\"},"
           " \"dee\": {\"name\": \"Dee Park\", \"manager\": \"cy\"}},"
           "\"ladders\": {\"three\": ["
           " {\"state\": \"at_risk\"},"
           " {\"state\": \"breached\", \"to\": [\"owner\", \"manager\"]},"
           " {\"state\": \"breached\", \"after\": \"2s\", \"to\": [\"cy\"],"
           "  \"notify\": [%s]}]},"
           "\"handoffs\": {\"lead_response\": {\"owner\": \"sdr-team\","
           " \"start\": [\"lead.mql\"], \"stop\": [\"lead.contacted\"],"
           " \"sla\": {\"within\": \"%s\"}, \"warn_at\": 0.5,"
           " \"notify\": [\"hook\"], \"ladder\": \"three\","
           " \"group_by\": {\"owner\": {}}, \"group_top\": 1}},"
           "\"notifiers\": {\"hook\": {\"kind\": \"webhook\", \"url\":"
           " \"http://127.0.0.1:%d/alerts\", \"secret\": {\"env\":"
           " \"HK_TEST_SECRET\"}, \"retries\": 2, \"backoff\": \"100ms\","
           " \"timeout\": \"1s\"},"
           " \"revops\": {\"kind\": \"slack\", \"url\": {\"env\":"
           " \"HK_TEST_SLACK_URL\"}, \"retries\": 2, \"backoff\": \"100ms\","
           " \"timeout\": \"1s\"}},",
           last_notify, within, port);
  hk_stack_up(extra);
}

static void up_live(void) {
  port = hk_receiver_start(204);
  up_with("4s", "\"revops\"");
}

static void up_order(void) {
  port = hk_receiver_start(204);
  up_with("8s", "\"hook\"");
}

static void down(void) {
  hk_stack_down();
  hk_stack_api_extra = "";
  hk_receiver_stop();
}

static size_t want;

static int arrived(void) {
  return hk_receiver_count() >= want;
}

/* The value of header name in a received head (into out). */
static const char *head_value(const struct hk_received *r, const char *name,
                              char *out, size_t cap) {
  char key[64];
  const char *at;
  snprintf(key, sizeof key, "\r\n%s: ", name);
  at = strstr(r->head, key);
  cr_assert_not_null(at, "no %s in %s", name, r->head);
  at += strlen(key);
  snprintf(out, cap, "%.*s", (int)strcspn(at, "\r\n"), at);
  return out;
}

/* The ids of a webhook's recipients, joined by commas. */
static void recipient_ids(const json_t *data, char *out, size_t cap) {
  size_t i;
  const json_t *r;
  size_t o = 0;
  out[0] = '\0';
  json_array_foreach(json_object_get(data, "recipients"), i, r) {
    o += (size_t)snprintf(out + o, cap - o, "%s%s", i > 0 ? "," : "",
                          json_string_value(json_object_get(r, "id")));
  }
}

/* Verifies a received webhook with the standardwebhooks library
 * (tests/npm/sign.js verify), as a receiver would. */
static void verify_with_library(const struct hk_received *r) {
  char id[256];
  char ts[32];
  char sig[256];
  char path[300];
  char cmd[1400];
  char out[8192];
  size_t len;
  FILE *f;
  snprintf(path, sizeof path, "%s/alert.json", stack.dir);
  f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs(r->body, f);
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "node '%s/tests/npm/sign.js' verify '%s' '%s' '%s' '%s' < '%s'",
           HK_SOURCE_DIR, HK_TEST_SECRET,
           head_value(r, "webhook-id", id, sizeof id),
           head_value(r, "webhook-timestamp", ts, sizeof ts),
           head_value(r, "webhook-signature", sig, sizeof sig), path);
  f = popen(cmd, "r");
  cr_assert_not_null(f);
  len = fread(out, 1, sizeof out - 1, f);
  out[len] = '\0';
  cr_assert_eq(pclose(f), 0, "standardwebhooks refused it: %s", r->body);
  cr_assert(strstr(out, "\"recipients\"") != NULL, "%s", out);
}

/* One expected step: the path, the webhook-id's state part, the
 * recipients, and when (ms after the start). */
struct expect {
  const char *path;
  const char *state;
  const char *to;
  int64_t at;
};

Test(ladder, three_steps_each_once_in_order_at_their_time, .init = up_live,
     .fini = down, .timeout = 90) {
  static const struct expect steps[] = {
      {"/alerts", "at_risk", "ana", 2000},
      {"/alerts", "breached", "ana,bo", 4000},
      {"/slack", NULL, NULL, 6000},
  };
  int64_t t0;
  struct hk_received got;
  size_t seen[2] = {0, 0};

  hk_worker_start(0, NULL);
  t0 = hk_now_ms();
  hk_post_event("lead.mql", 1, t0, ",\"owner\":\"ana\",\"name\":\"Acme Ltd\"");
  hk_post_event("lead.mql", 2, t0, ",\"owner\":\"ana\"");
  /* Both clocks' first two steps: 4 alerts; then company 2 is contacted,
   * stamped before its third step's time. */
  want = 4;
  cr_assert(hk_wait_until(arrived, 10000), "alerts %zu", hk_receiver_count());
  cr_assert_lt(hk_now_ms(), t0 + 5500, "too slow to test a cancellation");
  hk_post_event("lead.contacted", 2, hk_now_ms(), "");
  want = 5;
  cr_assert(hk_wait_until(arrived, 10000), "alerts %zu", hk_receiver_count());
  /* Nothing more: company 2's third step is cancelled, and every step went
   * out once. */
  want = 6;
  cr_assert_not(hk_wait_until(arrived, t0 + 9000 - hk_now_ms()),
                "a sixth alert came");

  for (size_t i = 0; i < hk_receiver_count(); i++) {
    char id[256];
    char want_id[256];
    char to[256];
    json_t *doc;
    json_t *data;
    const char *subject;
    int company;
    const struct expect *e;
    hk_receiver_get(i, &got);
    if (strncmp(got.head, "POST /slack ", 12) == 0) {
      e = &steps[2];
      company = 1;
      /* The Slack step: the head of the team mentioned, the subject by
       * name, an absolute link that opens. */
      cr_assert(strstr(got.body, "<@U0CY33> (Cy Diaz)") != NULL, "%s",
                got.body);
      cr_assert(strstr(got.body, "Acme Ltd (company:1) breached its SLA: "
                                 "overdue by") != NULL,
                "%s", got.body);
      cr_assert(strstr(got.body, "(owner: Ana Lima)") != NULL, "%s", got.body);
      cr_assert(strstr(got.body,
                       "<https://handoff.example.com/handoff/v1/subjects/"
                       "company%3A1|Open the clock>") != NULL,
                "%s", got.body);
    } else {
      cr_assert(strncmp(got.head, "POST /alerts ", 13) == 0, "%s", got.head);
      doc = json_loads(got.body, 0, NULL);
      cr_assert_not_null(doc, "%s", got.body);
      data = json_object_get(doc, "data");
      subject = json_string_value(json_object_get(data, "subject"));
      company = strcmp(subject, "company:1") == 0 ? 1 : 2;
      e = &steps[json_integer_value(json_object_get(data, "step"))];
      cr_assert(e != &steps[2], "the third step went to the webhook");
      snprintf(want_id, sizeof want_id, "lead_response:%s:%lld:%s", subject,
               (long long)t0, e->state);
      cr_assert_str_eq(head_value(&got, "webhook-id", id, sizeof id), want_id);
      recipient_ids(data, to, sizeof to);
      cr_assert_str_eq(to, e->to, "%s", got.body);
      cr_assert_str_eq(json_string_value(json_object_get(data, "link")),
                       company == 1 ? "https://handoff.example.com/handoff/v1/"
                                      "subjects/company%3A1"
                                    : "https://handoff.example.com/handoff/v1/"
                                      "subjects/company%3A2");
      cr_assert_str_eq(json_string_value(json_object_get(data, "owner_name")),
                       "Ana Lima");
      if (company == 1) {
        cr_assert_str_eq(
            json_string_value(json_object_get(data, "subject_name")),
            "Acme Ltd");
      }
      verify_with_library(&got);
      json_decref(doc);
    }
    /* In order, at the step's time (and within the loop's 500 ms and
     * the sender's hop). */
    cr_assert_eq(seen[company - 1], (size_t)(e - steps),
                 "company %d: step %zu came after %zu steps", company,
                 (size_t)(e - steps), seen[company - 1]);
    seen[company - 1]++;
    cr_assert_geq(got.at_ms, t0 + e->at, "step %zu came early",
                  (size_t)(e - steps));
    cr_assert_lt(got.at_ms, t0 + e->at + 1500, "step %zu came %lld ms late",
                 (size_t)(e - steps), (long long)(got.at_ms - t0 - e->at));
  }
  cr_assert_eq(seen[0], 3);
  cr_assert_eq(seen[1], 2);
}

/* ---------------------------------------------------------------------------
 * Order independence (suite `order`, beside test_order.c)
 * ------------------------------------------------------------------------- */

#define ORDER_SUBJECTS 12

struct ev {
  char id[32];
  char body[256];
};

static struct ev evs[ORDER_SUBJECTS * 2];
static size_t nevs;

/* Each subject starts at t0 (a third a second earlier); a third are
 * contacted a second after the start (met), a third six seconds after
 * (stamped before the deadline, so met too: no step at all, not even the
 * warning due at 4 s), a third never. Owners alternate between ana (whose
 * manager is bo) and dee (who is known by no Slack id; manager cy). */
static void journey(int64_t t0, int run) {
  nevs = 0;
  for (int s = 0; s < ORDER_SUBJECTS; s++) {
    int64_t start = t0 - (s % 3 == 0 ? 1000 : 0);
    struct ev *e = &evs[nevs++];
    snprintf(e->id, sizeof e->id, "r%d_s%d_start", run, s);
    snprintf(e->body, sizeof e->body,
             "{\"type\":\"lead.mql\",\"timestamp\":%lld,\"data\":"
             "{\"company_id\":\"%d\",\"owner\":\"%s\"}}",
             (long long)start, s, s % 2 == 0 ? "ana" : "dee");
    if (s % 3 != 2) {
      e = &evs[nevs++];
      snprintf(e->id, sizeof e->id, "r%d_s%d_stop", run, s);
      snprintf(e->body, sizeof e->body,
               "{\"type\":\"lead.contacted\",\"timestamp\":%lld,\"data\":"
               "{\"company_id\":\"%d\"}}",
               (long long)(start + (s % 3 == 0 ? 1000 : 6000)), s);
    }
  }
}

static void post(const struct ev *e) {
  struct hk_resp r;
  cr_assert_eq(
      hk_post_signed("demo", HK_TEST_SECRET, e->id, hk_now_s(), e->body, &r),
      0);
  cr_assert_eq(r.status, 202, "%s", r.body);
}

/* The steps received from index `from` on, as sorted lines "SUBJECT STEP
 * RECIPIENTS" (caller frees). */
static char *steps_from(size_t from, size_t *count) {
  char lines[64][160];
  size_t n = 0;
  char *out = calloc(64, 160);
  cr_assert_not_null(out);
  for (size_t i = from; i < hk_receiver_count() && n < 64; i++) {
    struct hk_received got;
    json_t *doc;
    json_t *data;
    char to[128];
    hk_receiver_get(i, &got);
    doc = json_loads(got.body, 0, NULL);
    cr_assert_not_null(doc, "%s", got.body);
    data = json_object_get(doc, "data");
    recipient_ids(data, to, sizeof to);
    snprintf(lines[n++], sizeof lines[0], "%s %lld %s",
             json_string_value(json_object_get(data, "subject")),
             (long long)json_integer_value(json_object_get(data, "step")), to);
    json_decref(doc);
  }
  qsort(lines, n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
  for (size_t i = 0; i < n; i++) {
    strcat(out, lines[i]);
    strcat(out, "\n");
  }
  *count = n;
  return out;
}

Test(order, ladder_steps_are_the_same_for_any_order_and_workers,
     .init = up_order, .fini = down, .timeout = 120) {
  /* Subjects 2, 5, 8, 11 run on: three steps each. */
  static const size_t expected = 4 * 3;
  char *first;
  char *second;
  size_t n1;
  size_t n2;
  uint32_t rng = 12345;

  /* Run 1: in event-time order, one worker. */
  hk_worker_start(0, NULL);
  journey(hk_now_ms(), 1);
  for (size_t i = 0; i < nevs; i++) {
    post(&evs[i]);
  }
  want = expected;
  cr_assert(hk_wait_until(arrived, 20000), "alerts %zu", hk_receiver_count());
  want = expected + 1;
  cr_assert_not(hk_wait_until(arrived, 2500), "more than %zu steps", expected);
  first = steps_from(0, &n1);
  hk_worker_stop(0, SIGTERM);

  /* Run 2: an empty Redis, shuffled, a third twice, four workers. */
  {
    char *ok = hk_redis_str("FLUSHALL");
    cr_assert(ok != NULL && strcmp(ok, "OK") == 0);
    free(ok);
  }
  for (int w = 0; w < 4; w++) {
    hk_worker_start(w, NULL);
  }
  journey(hk_now_ms(), 2);
  {
    struct ev shuffled[ORDER_SUBJECTS * 4];
    size_t n = 0;
    for (size_t i = 0; i < nevs; i++) {
      shuffled[n++] = evs[i];
      if (i % 3 == 0) {
        shuffled[n++] = evs[i];
      }
    }
    for (size_t i = n - 1; i > 0; i--) {
      size_t j;
      struct ev t;
      rng = rng * 1103515245u + 12345u;
      j = (rng >> 8) % (i + 1);
      t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
      post(&shuffled[i]);
    }
  }
  want = n1 + expected;
  cr_assert(hk_wait_until(arrived, 20000), "alerts %zu",
            hk_receiver_count() - n1);
  want = n1 + expected + 1;
  cr_assert_not(hk_wait_until(arrived, 2500), "more than %zu steps", expected);
  second = steps_from(n1, &n2);
  cr_assert_eq(n1, expected);
  cr_assert_eq(n2, expected);
  cr_assert_str_eq(first, second);
  cr_assert(strstr(first, "company:2 0 ana\n") != NULL, "%s", first);
  cr_assert(strstr(first, "company:2 1 ana,bo\n") != NULL, "%s", first);
  cr_assert(strstr(first, "company:5 1 dee,cy\n") != NULL, "%s", first);
  cr_assert(strstr(first, "company:5 2 cy\n") != NULL, "%s", first);
  free(first);
  free(second);
}

/* ---------------------------------------------------------------------------
 * Unknown owners
 * ------------------------------------------------------------------------- */

static int health_names_them(void) {
  char *doc = hk_redis_str("GET handoff:kpi:health");
  int ok = doc != NULL && strstr(doc, "\"clocks\":2") != NULL;
  free(doc);
  return ok;
}

Test(ladder, unknown_owner_ids_are_counted_and_named, .init = up_live,
     .fini = down, .timeout = 60) {
  const char *const auth[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  struct hk_resp r;
  int64_t later = hk_now_ms() + 3600 * 1000; /* no step comes due */
  hk_worker_start(0, NULL);
  hk_post_event("lead.mql", 31, later, ",\"owner\":\"1043\"");
  hk_post_event("lead.mql", 32, later, ",\"owner\":\"1042\"");
  hk_post_event("lead.mql", 33, later, ",\"owner\":\"ana\"");
  cr_assert(hk_wait_until(health_names_them, 20000), "health: %s",
            hk_redis_str("GET handoff:kpi:health"));
  cr_assert_eq(hk_http("GET", "/v1/health", auth, NULL, 0, &r), 0);
  cr_assert(strstr(r.body, "\"reason\":\"2 clocks owned by unknown ids: "
                           "1042, 1043\"") != NULL,
            "%s", r.body);
  cr_assert_eq(hk_http("GET", "/metrics", auth, NULL, 0, &r), 0);
  cr_assert(strstr(r.body, "handoff_clocks_unknown_owner{handoff=\""
                           "lead_response\"} 2") != NULL,
            "%s", r.body);
  /* The clocks fall back to the handoff's owner. */
  cr_assert_eq(hk_http("GET", "/v1/subjects/company%3A32", auth, NULL, 0, &r),
               0);
  cr_assert(strstr(r.body, "\"owner\":\"sdr-team\"") != NULL, "%s", r.body);
}

/* ---------------------------------------------------------------------------
 * handoffctl status --by owner
 * ------------------------------------------------------------------------- */

static int by_owner_written(void) {
  char *doc = hk_redis_str("GET handoff:kpi:by:lead_response:owner");
  int ok = doc != NULL && strstr(doc, "\"value\":\"ana\"") != NULL &&
           strstr(doc, "\"started\":2") != NULL &&
           strstr(doc, "\"started\":1") != NULL;
  free(doc);
  return ok;
}

Test(ladder, status_by_owner_shows_the_top_owner_and_the_rest, .init = up_live,
     .fini = down, .timeout = 60) {
  char out[8192];
  int64_t ago = hk_now_ms() - 3 * 3600 * 1000;
  hk_worker_start(0, NULL);
  hk_post_event("lead.mql", 41, ago, ",\"owner\":\"ana\"");
  hk_post_event("lead.mql", 42, ago, ",\"owner\":\"ana\"");
  hk_post_event("lead.contacted", 42, ago + 1000, "");
  hk_post_event("lead.mql", 43, ago, ",\"owner\":\"bo\"");
  cr_assert(hk_wait_until(by_owner_written, 20000), "%s",
            hk_redis_str("GET handoff:kpi:by:lead_response:owner"));
  hk_ctl("status --by owner", out, sizeof out);
  /* group_top 1: ana (2 clocks: one met, one breached), then bo as other. */
  cr_assert(strstr(out, "lead_response BY owner (30 days)") != NULL, "%s", out);
  cr_assert(strstr(out, "\nana                             2        1        0 "
                        "       1       50.0%") != NULL,
            "%s", out);
  cr_assert(strstr(out, "\nother                           1        0        0 "
                        "       1        0.0%") != NULL,
            "%s", out);
}
