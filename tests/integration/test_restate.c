/*
 * test_restate.c -- handoffctl restate and replay against a real stack.
 *
 * restate: a month of leads under a 15-minute lead response, restated
 * under 30 minutes. Without --apply nothing live changes and no shadow key
 * is left; with --apply, while deliveries keep coming from a thread, the
 * documents of /v1/handoffs and /v1/stages equal those of a fresh worker
 * (its own prefix) fed the very same deliveries under the 30-minute
 * config. replay: deliveries a wrong rule could not map are queued again
 * once the rule is fixed; their events appear once, and a second replay
 * changes nothing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "harness.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define LEADS 300
#define LATE_LEADS 40

static const char *const rules =
    "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
    " \"type\": \"{type}\", \"subject\": \"company:{data.%s}\","
    " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
    " \"attrs\": {\"segment\": \"data.segment\"}}],";

static char config_extra[4096];

static const char *extra(const char *within, const char *subject_path) {
  char r[1024];
  snprintf(r, sizeof r, rules, subject_path);
  snprintf(config_extra, sizeof config_extra,
           "%s"
           "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
           " [\"lead.mql\"], \"next\": \"sql\"}, \"sql\": {\"owner\": \"SDR\","
           " \"entered_on\": [\"lead.contacted\"]}},"
           "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
           " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
           " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"%s\"}}},",
           r, within);
  return config_extra;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  static char buf[65536];
  size_t n;
  cr_assert_not_null(f, "%s", path);
  n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* The stack's config with `from` replaced by `to` (once), written to
 * DIR/name. */
static void variant(const char *name, const char *from, const char *to,
                    const char *from2, const char *to2) {
  char path[512];
  char out[65536];
  char *text;
  char *at;
  snprintf(path, sizeof path, "%s/handoff.json", stack.dir);
  text = slurp(path);
  at = strstr(text, from);
  cr_assert_not_null(at, "%s", from);
  snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to,
           at + strlen(from));
  if (from2 != NULL) {
    char tmp[65536];
    at = strstr(out, from2);
    cr_assert_not_null(at);
    snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(at - out), out, to2,
             at + strlen(from2));
    memcpy(out, tmp, sizeof out);
  }
  snprintf(path, sizeof path, "%s/%s", stack.dir, name);
  spit(path, out);
}

/* A month of leads: lead i starts on day i % 30 and is contacted 5, 10,
 * 20, 25 or 40 minutes on, or never (every sixth). */
static void post_month(int first, int n, int64_t base) {
  static const int64_t after[] = {5, 10, 20, 25, 40};
  for (int i = first; i < first + n; i++) {
    int64_t t = base + (int64_t)(i % 30) * DAY + (int64_t)(i % 7) * HOUR;
    hk_post_event("lead.mql", i, t, "");
    if (i % 6 != 5) {
      hk_post_event("lead.contacted", i, t + after[i % 5] * MIN, "");
    }
  }
}

static int posted(int n) {
  int p = 0;
  for (int i = 0; i < n; i++) {
    p += i % 6 != 5 ? 2 : 1;
  }
  return p;
}

static long long want_processed;
static const char *stats_prefix = "handoff";
static int processed_all(void) {
  return hk_redis_int("HGET %s:stats processed", stats_prefix) >=
         want_processed;
}

static json_t *doc(const char *prefix, const char *key) {
  char *text = hk_redis_str("GET %s:%s", prefix, key);
  json_t *d = text != NULL ? json_loads(text, 0, NULL) : NULL;
  free(text);
  return d;
}

/* Drops the members that say when (computed_at, a window's "to"). */
static void timeless(json_t *v) {
  const char *k;
  json_t *x;
  size_t i;
  if (json_is_object(v)) {
    json_object_del(v, "computed_at");
    json_object_del(v, "to");
    json_object_foreach(v, k, x) {
      timeless(x);
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      timeless(x);
    }
  }
}

/* The document without the times it was computed at (the figures). */
static json_t *figures(const char *prefix, const char *key) {
  json_t *d = doc(prefix, key);
  timeless(d);
  return d;
}

static int64_t fresh_after;
static const char *fresh_prefix = "handoff";
static int documents_fresh(void) {
  json_t *d = doc(fresh_prefix, "kpi:handoffs");
  const char *at = json_string_value(json_object_get(d, "computed_at"));
  char after[HK_TIME_TEXT];
  int ok;
  hk_time_format_ms(fresh_after, after);
  ok = at != NULL && strcmp(at, after) > 0;
  json_decref(d);
  return ok;
}

static void wait_documents(const char *prefix) {
  fresh_after = hk_now_ms() + 500;
  fresh_prefix = prefix;
  cr_assert(hk_wait_until(documents_fresh, 20000), "%s documents", prefix);
}

static long long shadow_keys(void) {
  return hk_redis_int("EVAL %s 0",
                      "return #redis.call('KEYS', 'handoff:restate*')");
}

static int64_t month_base(void) {
  return (hk_now_ms() / DAY - 30) * DAY;
}

static void up(void) {
  hk_stack_up(extra("15m", "company_id"));
}

TestSuite(restate, .init = up, .fini = hk_stack_down, .timeout = 240);

static void *post_late(void *arg) {
  (void)arg;
  post_month(LEADS, LATE_LEADS, month_base());
  return NULL;
}

Test(restate, shows_then_applies_the_month_under_30_minutes) {
  const char *const worker[] = {"--kpi-every", "200ms", "--log-level", "debug",
                                NULL};
  char out[65536];
  char path[512];
  json_t *before;
  json_t *after;
  pthread_t poster;

  hk_worker_start(0, worker);
  post_month(0, LEADS, month_base());
  want_processed = posted(LEADS);
  cr_assert(hk_wait_until(processed_all, 60000));
  wait_documents("handoff");
  variant("new.json", "\"15m\"", "\"30m\"", NULL, NULL);

  /* Without --apply: shown, nothing live changed, no shadow left. */
  before = figures("handoff", "kpi:handoff:lead_response");
  cr_assert_eq(hk_ctl("restate --timeout 60s ignored", out, sizeof out), 78);
  snprintf(path, sizeof path, "restate --timeout 60s %s/new.json", stack.dir);
  cr_assert_eq(hk_ctl(path, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "measured") != NULL, "%s", out);
  cr_assert(strstr(out, "dropped") != NULL, "%s", out);
  cr_assert_eq(shadow_keys(), 0);
  wait_documents("handoff");
  after = figures("handoff", "kpi:handoff:lead_response");
  cr_assert(json_equal(before, after), "live figures changed:\n%s\n%s",
            json_dumps(before, JSON_SORT_KEYS),
            json_dumps(after, JSON_SORT_KEYS));
  json_decref(before);
  json_decref(after);

  /* With --apply, while more deliveries come in. */
  cr_assert_eq(pthread_create(&poster, NULL, post_late, NULL), 0);
  snprintf(path, sizeof path, "restate --apply --timeout 90s %s/new.json",
           stack.dir);
  cr_assert_eq(hk_ctl(path, out, sizeof out), 0, "%s", out);
  pthread_join(poster, NULL);
  cr_assert(strstr(out, "applied") != NULL, "%s", out);
  cr_assert_eq(shadow_keys(), 0);
  cr_assert_eq(hk_redis_int("GET handoff:gen"), 1);
  snprintf(path, sizeof path, "%s/handoff.json", stack.dir);
  cr_assert(strstr(slurp(path), "\"30m\"") != NULL);
  want_processed = posted(LEADS + LATE_LEADS);
  cr_assert(hk_wait_until(processed_all, 60000));

  /* A fresh worker under 30 minutes, own prefix, the same deliveries. */
  variant("fresh.json", "\"30m\"", "\"30m\"", "\"timeout\": \"3s\"",
          "\"timeout\": \"3s\", \"prefix\": \"fresh:\"");
  cr_assert_eq(
      hk_redis_int("EVAL %s 0",
                   "local n = 0 "
                   "for _, e in ipairs(redis.call('XRANGE', 'handoff:intake',"
                   " '-', '+')) do "
                   "redis.call('XADD', 'fresh:intake', '*', unpack(e[2])) "
                   "n = n + 1 end return n"),
      want_processed);
  {
    char fresh[512];
    const char *const w1[] = {"--kpi-every", "200ms", "--config", fresh, NULL};
    snprintf(fresh, sizeof fresh, "%s/fresh.json", stack.dir);
    hk_worker_start(1, w1);
  }
  stats_prefix = "fresh";
  cr_assert(hk_wait_until(processed_all, 60000));
  stats_prefix = "handoff";
  wait_documents("fresh");
  wait_documents("handoff");

  {
    static const char *const keys[] = {
        "kpi:handoffs",  "kpi:stages",    "kpi:handoff:lead_response",
        "kpi:stage:mql", "kpi:stage:sql", NULL};
    for (size_t i = 0; keys[i] != NULL; i++) {
      json_t *live = figures("handoff", keys[i]);
      json_t *fresh = figures("fresh", keys[i]);
      char *a = json_dumps(live, JSON_SORT_KEYS | JSON_COMPACT);
      char *b = json_dumps(fresh, JSON_SORT_KEYS | JSON_COMPACT);
      cr_assert_not_null(live, "%s", keys[i]);
      cr_assert_str_eq(a, b, "%s differs:\nrestated %s\nfresh    %s", keys[i],
                       a, b);
      free(a);
      free(b);
      json_decref(live);
      json_decref(fresh);
    }
  }
  /* And the 30 minutes did change things: 20 and 25 minutes are met. */
  {
    json_t *h = figures("handoff", "kpi:handoff:lead_response");
    json_t *w;
    w = json_object_get(json_object_get(h, "windows"), "30d");
    cr_assert_gt(json_integer_value(json_object_get(w, "met")),
                 json_integer_value(json_object_get(w, "met_late")), "%s",
                 json_dumps(w, 0));
    json_decref(h);
  }
}

/* ---------------------------------------------------------------------------
 * replay
 * ------------------------------------------------------------------------- */

static void up_wrong(void) {
  hk_stack_up(extra("30m", "nope"));
}

TestSuite(replay, .init = up_wrong, .fini = hk_stack_down, .timeout = 120);

static int reloaded(void) {
  return hk_worker_log_count(0, "config reloaded") >= 1;
}

static long long counted(const char *field) {
  char *v = hk_redis_str("HGET handoff:counts %s", field);
  long long n = v != NULL ? atoll(v) : 0;
  free(v);
  return n;
}

Test(replay, a_fixed_rule_makes_the_missing_events_once) {
  const char *const worker[] = {"--kpi-every", "200ms", NULL};
  char out[8192];
  char args[256];
  int64_t from = hk_now_ms() - 1000;
  int64_t base = (hk_now_ms() / HOUR - 3) * HOUR;
  long long clocks;
  char *hcount;

  hk_worker_start(0, worker);
  for (int i = 0; i < 5; i++) {
    hk_post_event("lead.mql", i, base, "");
    hk_post_event("lead.contacted", i, base + (10 + 10 * i) * MIN, "");
  }
  want_processed = 10;
  cr_assert(hk_wait_until(processed_all, 20000));
  /* The rule reads a subject the payloads lack: no event was made. */
  cr_assert_eq(counted("mapped:demo:lead.mql"), 0);
  cr_assert_eq(hk_redis_int("HLEN handoff:clocks:lead_response"), 0);

  variant("fixed.json", "{data.nope}", "{data.company_id}", NULL, NULL);
  {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/fixed.json", stack.dir);
    snprintf(b, sizeof b, "%s/handoff.json", stack.dir);
    cr_assert_eq(rename(a, b), 0);
  }
  kill(stack.workers[0], SIGHUP);
  cr_assert(hk_wait_until(reloaded, 10000));

  snprintf(args, sizeof args, "replay --from %lld", (long long)from);
  cr_assert_eq(hk_ctl(args, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "replayed 10 deliveries") != NULL, "%s", out);
  cr_assert(strstr(out, "10 new events") != NULL, "%s", out);
  cr_assert_eq(counted("mapped:demo:lead.mql"), 5);
  cr_assert_eq(counted("mapped:demo:lead.contacted"), 5);
  clocks = hk_redis_int("HLEN handoff:clocks:lead_response");
  cr_assert_eq(clocks, 5);
  hcount = hk_redis_str("EVAL %s 0", "return cjson.encode(redis.call('HGETALL',"
                                     " 'handoff:hcount:lead_response'))");
  cr_assert_not_null(hcount);

  /* Again, of the one source, from an ISO 8601 time: nothing new. */
  {
    char iso[HK_TIME_TEXT];
    char *again;
    hk_time_format_ms(from, iso);
    snprintf(args, sizeof args, "replay --source demo --from %s", iso);
    cr_assert_eq(hk_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "replayed 10 deliveries") != NULL, "%s", out);
    cr_assert(strstr(out, " 0 new events") != NULL, "%s", out);
    cr_assert_eq(counted("mapped:demo:lead.mql"), 5);
    cr_assert_eq(hk_redis_int("HLEN handoff:clocks:lead_response"), clocks);
    again =
        hk_redis_str("EVAL %s 0", "return cjson.encode(redis.call('HGETALL',"
                                  " 'handoff:hcount:lead_response'))");
    cr_assert_str_eq(again, hcount);
    free(again);
  }
  free(hcount);
  cr_assert_eq(hk_ctl("replay --from yesterday", out, sizeof out), 2);
  cr_assert_eq(hk_ctl("replay --from 0 --source nosuch", out, sizeof out), 2);
}

static void *forget_one(void *arg) {
  char out[4096];
  (void)arg;
  hk_sleep_ms(500); /* the restate has begun */
  cr_assert_eq(hk_ctl("forget company:7", out, sizeof out), 0, "%s", out);
  return NULL;
}

Test(restate, a_subject_forgotten_meanwhile_stops_the_switch) {
  const char *const worker[] = {"--kpi-every", "200ms", NULL};
  char out[65536];
  char path[512];
  pthread_t forgetter;

  hk_worker_start(0, worker);
  post_month(0, 30, month_base());
  want_processed = posted(30);
  cr_assert(hk_wait_until(processed_all, 60000));
  variant("new.json", "\"15m\"", "\"30m\"", NULL, NULL);
  cr_assert_eq(pthread_create(&forgetter, NULL, forget_one, NULL), 0);
  snprintf(path, sizeof path, "restate --apply --timeout 60s %s/new.json",
           stack.dir);
  cr_assert_eq(hk_ctl(path, out, sizeof out), 1, "%s", out);
  pthread_join(forgetter, NULL);
  cr_assert(strstr(out, "forgotten") != NULL, "%s", out);
  snprintf(path, sizeof path, "%s/handoff.json", stack.dir);
  cr_assert(strstr(slurp(path), "\"15m\"") != NULL, "the file was put back");
  cr_assert_eq(hk_redis_int("EXISTS handoff:gen"), 0);
  cr_assert_eq(shadow_keys(), 0);
  cr_assert_eq(hk_redis_int("HEXISTS handoff:clocks:lead_response company:7"),
               0);

  /* A restate whose handoffctl was killed: refused, until --abort. */
  free(hk_redis_str("HSET handoff:restate id left-behind state running"));
  free(hk_redis_str("HSET handoff:restate:clocks:lead_response s x"));
  snprintf(path, sizeof path, "restate %s/new.json", stack.dir);
  cr_assert_eq(hk_ctl(path, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "--abort") != NULL, "%s", out);
  cr_assert_eq(hk_ctl("restate --abort", out, sizeof out), 0, "%s", out);
  cr_assert_eq(hk_redis_int("EXISTS handoff:restate"), 0);
  cr_assert_eq(shadow_keys(), 0);
}
