/*
 * test_retention.c -- the lifecycle of the data against real servers:
 * the retention duty (intake.keep 0, history.keep 1d) leaves in the
 * intake only what no worker acknowledged and nothing of an expired
 * subject or event anywhere; a forget (handoffctl forget, DELETE
 * /v1/subjects/{subject}) leaves nothing that names the subject and the
 * KPIs of a stack that never saw it.
 *
 * "Anywhere" is checked by reading every key of the prefix whole: each
 * string, hash field and value, set and sorted set member, stream entry.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "harness.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define AUTH "Authorization: Bearer " HK_TEST_TOKEN
#define ADMIN "Authorization: Bearer " HK_TEST_ADMIN_TOKEN

/* The handoff, stages and mapping of test_kpi.c; extra: more config. */
static void up_with(const char *extra) {
  char config[4096];
  snprintf(
      config, sizeof config,
      "%s"
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
      " \"requires\": [\"email\"]}},",
      extra);
  hk_stack_up(config);
}

/* POSTs the event with delivery id `id` (so a test knows what to look
 * for), asserting the 202. */
static void post(const char *id, const char *type, int company, int64_t at_ms,
                 const char *extra) {
  char body[1024];
  struct hk_resp r;
  snprintf(body, sizeof body,
           "{\"type\":\"%s\",\"timestamp\":%lld,\"data\":{\"company_id\":"
           "\"%d\"%s}}",
           type, (long long)at_ms, company, extra);
  cr_assert_eq(hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, &r),
               0);
  cr_assert_eq(r.status, 202, "%s", r.body);
}

/* ---------------------------------------------------------------------------
 * Every key of the prefix, read whole
 * ------------------------------------------------------------------------- */

static redisContext *connect_redis(void) {
  struct timeval tv = {10, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", stack.redis_port, tv);
  cr_assert(c != NULL && c->err == 0);
  return c;
}

/* Appends every string of reply r (nested) to buf. */
static void append_all(const redisReply *r, char **buf, size_t *len) {
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    *buf = realloc(*buf, *len + r->len + 2);
    cr_assert(*buf != NULL);
    memcpy(*buf + *len, r->str, r->len);
    *len += r->len;
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
  } else if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements; i++) {
      append_all(r->element[i], buf, len);
    }
  }
}

/* What key holds, every byte of it, with its name first. */
static char *contents(redisContext *c, const char *key) {
  redisReply *t = redisCommand(c, "TYPE %s", key);
  redisReply *r = NULL;
  char *buf = NULL;
  size_t len = 0;
  cr_assert(t != NULL && t->type == REDIS_REPLY_STATUS);
  if (strcmp(t->str, "string") == 0) {
    r = redisCommand(c, "GET %s", key);
  } else if (strcmp(t->str, "hash") == 0) {
    r = redisCommand(c, "HGETALL %s", key);
  } else if (strcmp(t->str, "zset") == 0) {
    r = redisCommand(c, "ZRANGE %s 0 -1", key);
  } else if (strcmp(t->str, "set") == 0) {
    r = redisCommand(c, "SMEMBERS %s", key);
  } else if (strcmp(t->str, "list") == 0) {
    r = redisCommand(c, "LRANGE %s 0 -1", key);
  } else if (strcmp(t->str, "stream") == 0) {
    r = redisCommand(c, "XRANGE %s - +", key);
  }
  buf = strdup(key);
  cr_assert(buf != NULL);
  len = strlen(buf);
  if (r != NULL) {
    append_all(r, &buf, &len);
  }
  freeReplyObject(r);
  freeReplyObject(t);
  return buf;
}

/* The first key of the prefix whose name or contents hold needle (a new
 * string), or NULL when none does. */
static char *key_holding(const char *needle) {
  redisContext *c = connect_redis();
  char cursor[32] = "0";
  char *found = NULL;
  do {
    redisReply *r =
        redisCommand(c, "SCAN %s MATCH handoff:* COUNT 1000", cursor);
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
    for (size_t i = 0; found == NULL && i < r->element[1]->elements; i++) {
      const char *key = r->element[1]->element[i]->str;
      char *all = contents(c, key);
      if (strstr(all, needle) != NULL) {
        found = strdup(key);
      }
      free(all);
    }
    freeReplyObject(r);
  } while (found == NULL && strcmp(cursor, "0") != 0);
  redisFree(c);
  return found;
}

static void assert_nothing_holds(const char *needle) {
  char *key = key_holding(needle);
  cr_assert_null(key, "%s still holds %s", key, needle);
}

/* ---------------------------------------------------------------------------
 * Retention
 * ------------------------------------------------------------------------- */

static void up_retention(void) {
  up_with("\"intake\": {\"keep\": \"0\"}, \"history\": {\"keep\": \"1d\"},");
}

static int four_processed(void) {
  return hk_redis_int("HGET handoff:stats processed") >= 4;
}

/* The UTC day of the expired journey's events. */
static long long old_day;

static int only_pending_left(void) {
  return hk_redis_int("XLEN handoff:intake") == 2 &&
         hk_redis_int("EXISTS handoff:hkpi:lead_response:%lld", old_day) == 0 &&
         hk_redis_int("XLEN handoff:events") == 0 &&
         hk_redis_int("EXISTS handoff:journey:company:101") == 0 &&
         hk_redis_int("ZCARD handoff:journey:company:202") == 1;
}

TestSuite(retention, .init = up_retention, .fini = hk_stack_down,
          .timeout = 90);

Test(retention, leaves_only_unacknowledged_deliveries_and_recent_events) {
  int64_t now = hk_now_ms();
  int64_t old = now - 72 * HOUR;
  old_day = (long long)(old / (24 * HOUR));
  const char *const worker[] = {
      "--retention-every", "200ms", "--kpi-every", "200ms",
      "--claim-idle",      "1h",    NULL};
  int64_t horizon;
  int64_t horizon_day;
  redisReply *r;
  redisContext *c;

  /* 101: a whole journey three days ago, so past history.keep (1d behind
   * the newest event). 202: an event no handoff or stage listens to three
   * days ago, and an MQL an hour ago. */
  post("old-101-a", "lead.mql", 101, old, ",\"email\":\"a@x.io\"");
  post("old-101-b", "lead.contacted", 101, old + 10 * MIN, "");
  post("old-202", "page.viewed", 202, old, "");
  post("new-202", "lead.mql", 202, now - HOUR, ",\"email\":\"b@x.io\"");
  hk_worker_start(0, worker);
  cr_assert(hk_wait_until(four_processed, 20000));
  cr_assert_eq(hk_worker_stop(0, SIGTERM), 0);

  /* Two deliveries a consumer reads and never acknowledges. */
  post("pending-303-a", "lead.mql", 303, now - 30 * MIN, "");
  post("pending-303-b", "lead.contacted", 303, now - 20 * MIN, "");
  c = connect_redis();
  r = redisCommand(c, "XREADGROUP GROUP workers ghost COUNT 10 STREAMS "
                      "handoff:intake >");
  cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
  freeReplyObject(r);
  redisFree(c);

  hk_worker_start(0, worker);
  cr_assert(hk_wait_until(only_pending_left, 20000),
            "intake %lld, events %lld, journey:101 %lld, journey:202 %lld",
            hk_redis_int("XLEN handoff:intake"),
            hk_redis_int("XLEN handoff:events"),
            hk_redis_int("EXISTS handoff:journey:company:101"),
            hk_redis_int("ZCARD handoff:journey:company:202"));
  cr_assert(hk_worker_log_count(0, "retention pass") > 0);

  /* The intake holds exactly the two entries still pending. */
  cr_assert_eq(hk_redis_int("XLEN handoff:intake"), 2);
  r = NULL;
  c = connect_redis();
  r = redisCommand(c, "XPENDING handoff:intake workers");
  cr_assert_eq(r->element[0]->integer, 2);
  freeReplyObject(r);
  redisFree(c);

  /* Nothing holds the expired subject or the expired events, in any key
   * family: records, indexes, streams, histories, buckets. */
  assert_nothing_holds("company:101");
  assert_nothing_holds("old-101-a");
  assert_nothing_holds("old-101-b");
  assert_nothing_holds("old-202");
  /* 202 stays with its recent event; 101 left the subjects and the
   * running counters (its clock was met; 202's is breached). */
  cr_assert_eq(hk_redis_int("ZCARD handoff:subjects"), 1);
  cr_assert_eq(hk_redis_int("HGET handoff:hcount:lead_response met"), 0);
  cr_assert_eq(hk_redis_int("HGET handoff:hcount:lead_response breached"), 1);
  /* No KPI day before the horizon's is left. */
  horizon = now - HOUR - 24 * HOUR;
  horizon_day = horizon / (24 * HOUR);
  for (int64_t d = horizon_day - 10; d < horizon_day; d++) {
    cr_assert_eq(
        hk_redis_int("EXISTS handoff:hkpi:lead_response:%lld", (long long)d),
        0);
    cr_assert_eq(hk_redis_int("EXISTS handoff:skpi:mql:%lld", (long long)d), 0);
  }
}

/* ---------------------------------------------------------------------------
 * Forget
 * ------------------------------------------------------------------------- */

static void up_forget(void) {
  up_with("");
}

/* The events of test_kpi.c's journeys, two hours ago; `skip` (0: none) is
 * the company left out. Returns how many were posted. */
static int journeys(int64_t t, int skip) {
  static const struct {
    const char *type;
    int company;
    int64_t at;
    const char *extra;
  } evs[] = {
      {"lead.mql", 1, 0, ",\"email\":\"a@x.io\""},
      {"lead.contacted", 1, 10 * MIN, ""},
      {"lead.mql", 2, 0, ",\"email\":\"b@x.io\""},
      {"lead.contacted", 2, 40 * MIN, ""},
      {"deal.won", 2, 100 * MIN, ",\"amount\":\"70\",\"currency\":\"eur\""},
      {"lead.mql", 3, 0, ""},
      {"lead.mql", 4, 0, ",\"email\":\"d@x.io\""},
      {"lead.contacted", 4, 20 * MIN, ""},
      {"deal.won", 4, 100 * MIN,
       ",\"amount\":\"1200.50\",\"currency\":\"eur\""},
  };
  int n = 0;
  for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
    char id[32];
    if (evs[i].company == skip) {
      continue;
    }
    snprintf(id, sizeof id, "j-%d-%zu", evs[i].company, i);
    post(id, evs[i].type, evs[i].company, t + evs[i].at, evs[i].extra);
    n++;
  }
  return n;
}

static long long want_processed;
static int processed(void) {
  return hk_redis_int("HGET handoff:stats processed") >= want_processed;
}

/* The KPI documents were written after `since` (ms). */
static int64_t since;
static int documents_fresh(void) {
  char *text = hk_redis_str("GET handoff:kpi:handoffs");
  json_t *d = text != NULL ? json_loads(text, 0, NULL) : NULL;
  const char *at = json_string_value(json_object_get(d, "computed_at"));
  char after[64];
  int ok;
  hk_time_format_ms(since + 1000, after);
  ok = at != NULL && strcmp(at, after) > 0;
  json_decref(d);
  free(text);
  return ok;
}

/* Takes out of v, at any depth, the times that say when it was computed:
 * computed_at, and a window's "to" (now). */
static void strip_times(json_t *v) {
  const char *k;
  json_t *x;
  void *tmp;
  size_t i;
  if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      strip_times(x);
    }
    return;
  }
  json_object_foreach_safe(v, tmp, k, x) {
    const char *s = json_string_value(x);
    if (strcmp(k, "computed_at") == 0 || (strcmp(k, "to") == 0 && s != NULL &&
                                          strlen(s) == 24 && s[23] == 'Z')) {
      json_object_del(v, k);
    } else {
      strip_times(x);
    }
  }
}

/* What GET path answers, its times left out: the figures. */
static json_t *figures(const char *path) {
  const char *h[] = {AUTH, NULL};
  struct hk_resp r;
  json_t *doc;
  cr_assert_eq(hk_http("GET", path, h, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
  doc = json_loads(r.body, 0, NULL);
  cr_assert_not_null(doc);
  strip_times(doc);
  return doc;
}

/* Feeds the journeys but `skip`'s to a worker and waits for the
 * documents. */
static void feed(int64_t t, int skip) {
  const char *const worker[] = {"--kpi-every", "200ms", NULL};
  want_processed = journeys(t, skip);
  hk_worker_start(0, worker);
  cr_assert(hk_wait_until(processed, 20000));
  since = hk_now_ms();
  cr_assert(hk_wait_until(documents_fresh, 10000));
}

static int subject_gone(void) {
  const char *h[] = {AUTH, NULL};
  struct hk_resp r;
  return hk_http("GET", "/v1/subjects/company%3A2", h, NULL, 0, &r) == 0 &&
         r.status == 404;
}

/* The worker logs a forget once its outcome is stored, which is what
 * handoffctl and the API wait for: the line may come a moment later. */
static int forgotten_by_user(void) {
  return hk_worker_log_has(0, "subject forgotten", "by=user:");
}

static int forgotten_by_token(void) {
  return hk_worker_log_has(0, "subject forgotten", "by=token:admin");
}

TestSuite(forget, .init = up_forget, .fini = hk_stack_down, .timeout = 120);

Test(forget, leaves_nothing_of_the_subject_and_the_kpis_of_a_stack_without_it) {
  int64_t t = (hk_now_ms() / HOUR - 2) * HOUR;
  char out[4096];
  json_t *handoffs;
  json_t *stages;
  json_t *want_h;
  json_t *want_s;
  char *got_text;
  char *want_text;

  feed(t, 0);
  cr_assert_eq(hk_redis_int("HEXISTS handoff:stages company:2"), 1);
  cr_assert_eq(hk_ctl("forget company:2 --timeout 30s", out, sizeof out), 0,
               "%s", out);
  cr_assert(strstr(out, "forgotten") != NULL, "%s", out);
  cr_assert(hk_wait_until(forgotten_by_user, 5000));
  /* Twice, and a subject never seen: fine. */
  cr_assert_eq(hk_ctl("forget company:2", out, sizeof out), 0, "%s", out);
  cr_assert_eq(hk_ctl("forget company:999", out, sizeof out), 0, "%s", out);

  assert_nothing_holds("company:2");
  /* Its raw deliveries (ids j-2-…) and events are gone too. */
  assert_nothing_holds("j-2-");
  cr_assert(subject_gone());

  since = hk_now_ms();
  cr_assert(hk_wait_until(documents_fresh, 10000));
  handoffs = figures("/v1/handoffs");
  stages = figures("/v1/stages");

  /* A stack that never saw company 2. */
  hk_stack_down();
  up_forget();
  feed(t, 2);
  want_h = figures("/v1/handoffs");
  want_s = figures("/v1/stages");
  got_text = json_dumps(handoffs, JSON_SORT_KEYS);
  want_text = json_dumps(want_h, JSON_SORT_KEYS);
  cr_assert_str_eq(got_text, want_text);
  free(got_text);
  free(want_text);
  got_text = json_dumps(stages, JSON_SORT_KEYS);
  want_text = json_dumps(want_s, JSON_SORT_KEYS);
  cr_assert_str_eq(got_text, want_text);
  free(got_text);
  free(want_text);
  json_decref(handoffs);
  json_decref(stages);
  json_decref(want_h);
  json_decref(want_s);
}

Test(forget, delete_wants_the_admin_scope_and_answers_202) {
  int64_t t = (hk_now_ms() / HOUR - 2) * HOUR;
  const char *read[] = {AUTH, NULL};
  const char *admin[] = {ADMIN, NULL};
  struct hk_resp r;
  char code[64];
  json_t *body;

  feed(t, 0);
  cr_assert_eq(hk_http("DELETE", "/v1/subjects/company%3A2", read, NULL, 0, &r),
               0);
  cr_assert_eq(r.status, 403, "%s", r.body);
  cr_assert_str_eq(hk_error_code(&r, code, sizeof code), "forbidden");
  cr_assert(strstr(r.body, "admin") != NULL, "%s", r.body);
  cr_assert_eq(hk_redis_int("HEXISTS handoff:stages company:2"), 1);

  cr_assert_eq(
      hk_http("DELETE", "/v1/subjects/company%3A2", admin, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 202, "%s", r.body);
  body = json_loads(r.body, 0, NULL);
  cr_assert(json_is_string(json_object_get(body, "request")), "%s", r.body);
  json_decref(body);
  cr_assert(hk_wait_until(subject_gone, 10000));
  cr_assert(hk_wait_until(forgotten_by_token, 5000));
  assert_nothing_holds("company:2");
}

/* ---------------------------------------------------------------------------
 * The history's members, old and new
 * ------------------------------------------------------------------------- */

static int two_journaled(void) {
  return hk_redis_int("ZCARD handoff:journey:company:7") == 2;
}

TestSuite(history, .init = up_forget, .fini = hk_stack_down, .timeout = 60);

Test(history, keeps_the_compact_event_and_reads_members_written_before) {
  int64_t t = (hk_now_ms() / HOUR - 2) * HOUR;
  const char *const worker[] = {NULL};
  const char *h[] = {AUTH, NULL};
  char *member;
  struct hk_resp r;
  json_t *body;
  json_t *events;

  post("h-7-a", "lead.mql", 7, t, ",\"email\":\"g@x.io\"");
  hk_worker_start(0, worker);
  /* A member as written before the compact event: [id, type, source]. */
  cr_assert_eq(hk_redis_int("ZADD handoff:journey:company:7 %lld %s",
                            (long long)(t - HOUR),
                            "[\"old-1\",\"lead.seen\","
                            "\"demo\"]"),
               1);
  cr_assert(hk_wait_until(two_journaled, 20000));
  member = hk_redis_str("EVAL %s 1 handoff:journey:company:7",
                        "return redis.call('ZRANGE', KEYS[1], -1, -1)[1]");
  cr_assert_not_null(member);
  /* The source and the rule are the id's first two parts: not stored. */
  cr_assert_str_eq(member, "[\"demo:journey:h-7-a\",\"lead.mql\","
                           "{\"email\":\"g@x.io\"}]");
  free(member);
  cr_assert_eq(hk_redis_int("ZSCORE handoff:subjects company:7"), (long long)t);
  cr_assert_eq(hk_redis_int("HGET handoff:stats newest_event_ms"),
               (long long)t);

  cr_assert_eq(hk_http("GET", "/v1/subjects/company%3A7", h, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  body = json_loads(r.body, 0, NULL);
  events = json_object_get(body, "events");
  cr_assert_eq(json_array_size(events), 2, "%s", r.body);
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(events, 0), "id")),
      "old-1");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(events, 0), "source")),
      "demo");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(events, 1), "type")),
      "lead.mql");
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(events, 1), "source")),
      "demo");
  json_decref(body);
}
