/*
 * test_memory.c -- the memory guard against a real Redis with a small
 * maxmemory (set with CONFIG SET once it runs, from what it uses then, so
 * the margin is the same on every machine), through nginx: deliveries are
 * refused with 503 redis_full and Retry-After, never a 500, whether
 * handoff-fcgi's guard or Redis's -OOM refused them; every delivery that
 * got its 202 is in the stream and processed at the end; /healthz,
 * /v1/health and /metrics say why; and once memory is freed deliveries
 * get 202 again.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

TestSuite(memory, .init = hk_stack_up_default, .fini = hk_stack_down,
          .timeout = 180);

#define MIB (1024LL * 1024LL)

/* A field of INFO memory; -1 when Redis does not say. */
static long long info_memory(const char *field) {
  char *text = hk_redis_str("INFO memory");
  char key[64];
  const char *p;
  long long v = -1;
  snprintf(key, sizeof key, "\n%s:", field);
  if (text != NULL && (p = strstr(text, key)) != NULL) {
    v = strtoll(p + strlen(key), NULL, 10);
  }
  free(text);
  return v;
}

/* What Redis weighs against maxmemory: used_memory less the buffers it
 * leaves out (mem_not_counted_for_evict: the AOF buffer, which holds a
 * big write until a slow disk's fsync of the last one is done). */
static long long counted_memory(void) {
  return info_memory("used_memory") - info_memory("mem_not_counted_for_evict");
}

/* Sets maxmemory to what Redis uses now plus margin bytes; returns it. */
static long long limit_memory(long long margin) {
  long long max = info_memory("used_memory") + margin;
  char *ok;
  cr_assert_gt(max, margin);
  ok = hk_redis_str("CONFIG SET maxmemory %lld", max);
  cr_assert(ok != NULL && strcmp(ok, "OK") == 0);
  free(ok);
  return max;
}

/* Delivery n: a signed journey event of about 8 KB, id m_NNNNN. */
static int post_delivery(int n, struct hk_resp *r) {
  static char pad[8001];
  char id[32];
  char body[8300];
  if (pad[0] == '\0') {
    memset(pad, 'x', sizeof pad - 1);
  }
  snprintf(id, sizeof id, "m_%05d", n);
  snprintf(body, sizeof body,
           "{\"type\":\"lead.created\",\"data\":{\"n\":%d,\"pad\":\"%s\"}}", n,
           pad);
  return hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, r);
}

/* A refusal as the contract says: 503, Retry-After, redis_full, JSON. */
static void assert_full(const struct hk_resp *r, int n) {
  char code[64];
  cr_assert_eq(r->status, 503, "delivery %d: %ld %s", n, r->status, r->body);
  cr_assert_str_eq(r->retry_after, "5", "delivery %d", n);
  cr_assert_str_eq(hk_error_code(r, code, sizeof code), "redis_full",
                   "delivery %d: %s", n, r->body);
  cr_assert_str_eq(r->content_type, "application/json");
}

/* GET /healthz parsed (caller frees). */
static json_t *healthz(void) {
  struct hk_resp r;
  json_t *doc;
  cr_assert_eq(hk_http("GET", "/healthz", NULL, NULL, 0, &r), 0);
  cr_assert_eq(r.status, 200, "%s", r.body);
  doc = json_loads(r.body, 0, NULL);
  cr_assert_not_null(doc, "%s", r.body);
  return doc;
}

static long long want_max;

/* /healthz shows a reading of the new maxmemory with room to spare: the
 * guard read Redis a moment ago. */
static int healthz_reads_room(void) {
  json_t *doc = healthz();
  json_t *mem = json_object_get(doc, "memory");
  int ok = json_integer_value(json_object_get(mem, "max_bytes")) == want_max &&
           json_is_false(json_object_get(mem, "over")) &&
           strcmp(json_string_value(json_object_get(doc, "status")), "ok") == 0;
  json_decref(doc);
  return ok;
}

static int healthz_degraded(void) {
  json_t *doc = healthz();
  int ok = strcmp(json_string_value(json_object_get(doc, "status")),
                  "degraded") == 0;
  json_decref(doc);
  return ok;
}

/* Lines of handoff-fcgi's log holding both a and b. */
static size_t fcgi_log_count(const char *a, const char *b) {
  char path[400];
  char line[4096];
  size_t n = 0;
  FILE *f;
  snprintf(path, sizeof path, "%s/fcgi.log", stack.dir);
  f = fopen(path, "r");
  cr_assert_not_null(f);
  while (fgets(line, sizeof line, f) != NULL) {
    n += strstr(line, a) != NULL && strstr(line, b) != NULL;
  }
  fclose(f);
  return n;
}

/* The deliveries in the stream: how many, and the sum of their numbers
 * (delivery m_NNNNN is number NNNNN). */
static long long stream_count(void) {
  return hk_redis_int("XLEN handoff:intake");
}

static long long stream_sum(void) {
  return hk_redis_int(
      "EVAL %s 1 handoff:intake",
      "local s = 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', "
      "'+')) do for i = 1, #e[2], 2 do if e[2][i] == 'delivery_id' then "
      "s = s + tonumber(string.sub(e[2][i + 1], 3)) end end end return s");
}

static long long expected;

static int all_processed(void) {
  return hk_redis_int("HGET handoff:stats processed") == expected &&
         hk_redis_int("EVAL %s 1 handoff:intake",
                      "return redis.call('XPENDING', KEYS[1], 'workers')[1]") ==
             0;
}

/* Posts delivery n until it gets its 202 (up to ms); 1 when it did. */
static int accepted_within(int n, int ms) {
  for (int t = 0; t < ms; t += 50) {
    struct hk_resp r;
    cr_assert_eq(post_delivery(n, &r), 0);
    if (r.status == 202) {
      return 1;
    }
    assert_full(&r, n);
    {
      struct timespec ts = {0, 50 * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  return 0;
}

Test(memory, fills_up_refuses_with_503_and_loses_nothing_acknowledged) {
  const char *worker[] = {"--claim-idle", "1s", NULL};
  long long accepted = 0;
  long long sum = 0;
  int refused = 0;
  int n = 0;
  struct hk_resp r;
  json_t *doc;
  char body[65536];

  want_max = limit_memory(8 * MIB);
  hk_worker_start(0, worker);
  /* Until refused, and 20 more: once full, Redis stays full. */
  for (; n < 20000 && refused < 20; n++) {
    cr_assert_eq(post_delivery(n, &r), 0);
    if (r.status == 202) {
      cr_assert_eq(refused, 0, "delivery %d accepted after a refusal", n);
      accepted++;
      sum += n;
    } else {
      assert_full(&r, n);
      refused++;
    }
  }
  cr_assert_eq(refused, 20, "%lld deliveries and none refused", accepted);
  cr_assert_gt(accepted, 100, "refused too early: %lld", accepted);

  /* Why, in words and figures. */
  cr_assert(hk_wait_until(healthz_degraded, 10000));
  doc = healthz();
  cr_assert(strstr(json_string_value(json_object_get(doc, "reason")),
                   "maxmemory") != NULL);
  cr_assert_eq(json_integer_value(json_object_get(
                   json_object_get(doc, "memory"), "max_bytes")),
               want_max);
  json_decref(doc);
  {
    const char *auth[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
    cr_assert_eq(hk_http("GET", "/v1/health", auth, NULL, 0, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    doc = json_loads(r.body, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "status")), "red",
                     "%s", r.body);
    cr_assert(strstr(json_string_value(json_object_get(doc, "reason")),
                     "over the memory guard") != NULL,
              "%s", r.body);
    cr_assert(
        json_is_true(json_object_get(json_object_get(doc, "memory"), "over")));
    json_decref(doc);
  }
  cr_assert_eq(hk_http("GET", "/metrics", NULL, NULL, 0, &r), 0);
  snprintf(body, sizeof body, "\nhandoff_redis_maxmemory_bytes %lld\n",
           want_max);
  cr_assert(strstr(r.body, body) != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "\nhandoff_redis_used_memory_bytes ") != NULL);

  /* Every 202 is in the stream, and nothing refused is. */
  cr_assert_eq(stream_count(), accepted);
  cr_assert_eq(stream_sum(), sum);

  /* Room again: deliveries get 202 within a reading of the guard. */
  want_max = limit_memory(64 * MIB);
  cr_assert(accepted_within(n, 10000), "still refused after maxmemory rose");
  accepted++;
  sum += n;
  cr_assert(hk_wait_until(healthz_reads_room, 10000));

  /* And the worker, refused too while Redis was full, processed every
   * one of them. */
  expected = accepted;
  cr_assert(hk_wait_until(all_processed, 30000), "processed %lld of %lld",
            hk_redis_int("HGET handoff:stats processed"), accepted);
  cr_assert_eq(stream_count(), accepted);
  cr_assert_eq(stream_sum(), sum);
  cr_assert_eq(fcgi_log_count("status=500", ""), 0);
}

Test(memory, redis_oom_is_a_503_and_the_guard_refuses_next) {
  struct hk_resp r;
  long long fill;
  int oom = 0;
  int n = 0;

  want_max = limit_memory(4 * MIB);
  /* Fill Redis past maxmemory right after the guard read it with room to
   * spare: the next delivery goes to Redis, which answers -OOM. Should
   * the guard read it again first (a stalled machine), free and retry. */
  for (int attempt = 0; attempt < 3 && !oom; attempt++) {
    cr_assert(hk_wait_until(healthz_reads_room, 10000));
    cr_assert_eq(hk_redis_int("EVAL %s 1 hk-test-filler",
                              "redis.call('SET', KEYS[1], string.rep('x', "
                              "6 * 1024 * 1024)) return 1"),
                 1);
    cr_assert_eq(post_delivery(n, &r), 0);
    assert_full(&r, n);
    n++;
    oom = fcgi_log_count("code=redis_full", "OOM command not allowed") > 0;
    cr_assert_eq(hk_redis_int("DEL hk-test-filler"), 1);
  }
  cr_assert(oom, "Redis never answered -OOM: the guard was always first");

  /* Between the guard and maxmemory: the guard's next reading refuses
   * while Redis would still take the write. */
  fill = want_max * 95 / 100 - counted_memory();
  cr_assert_gt(fill, 0);
  /* In pieces of 16000 bytes, which the allocator keeps in 16 KiB: one
   * big string would be rounded up by as much as the room left. */
  cr_assert_eq(hk_redis_int("EVAL %s 1 hk-test-filler %lld",
                            "local c = string.rep('x', 16000) "
                            "for i = 1, tonumber(ARGV[1]) do "
                            "redis.call('RPUSH', KEYS[1], c) end return 1",
                            fill / 16500),
               1);
  cr_assert_lt(counted_memory(), want_max,
               "used_memory %lld, not counted %lld, maxmemory %lld, fill %lld",
               info_memory("used_memory"),
               info_memory("mem_not_counted_for_evict"), want_max, fill);
  cr_assert(hk_wait_until(healthz_degraded, 10000));
  cr_assert_eq(post_delivery(n, &r), 0);
  assert_full(&r, n);
  cr_assert_eq(fcgi_log_count("code=redis_full", "over the memory guard"), 1);
  /* A refusal of the guard is counted; Redis took the HINCRBY then. */
  cr_assert_eq(hk_redis_int("HGET handoff:intake:counts %s", "demo 503"), 1);
  n++;
  cr_assert_eq(stream_count(), 0);

  /* The filler goes: deliveries get 202 again. */
  cr_assert_eq(hk_redis_int("DEL hk-test-filler"), 1);
  cr_assert(accepted_within(n, 10000), "still refused after the filler went");
  cr_assert_eq(stream_count(), 1);
  cr_assert_eq(fcgi_log_count("status=500", ""), 0);
}
