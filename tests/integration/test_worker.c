/*
 * test_worker.c -- handoff-worker against real Redis, fed through nginx:
 * it processes and acknowledges deliveries, a second worker takes over what
 * a killed one left pending, and SIGTERM finishes the batch in hand.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

TestSuite(worker, .init = hk_stack_up_default, .fini = hk_stack_down,
          .timeout = 120);

static void post_many(int n, const char *prefix) {
  for (int i = 0; i < n; i++) {
    char id[64];
    char body[256];
    struct hk_resp r;
    snprintf(id, sizeof id, "%s_%03d", prefix, i);
    snprintf(body, sizeof body,
             "{\"type\":\"lead.created\",\"data\":{\"n\":%d}}", i);
    cr_assert_eq(
        hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, &r), 0);
    cr_assert_eq(r.status, 202, "delivery %s: %s", id, r.body);
  }
}

static long long expected;

static int all_processed(void) {
  return hk_redis_int("HGET handoff:stats processed") == expected &&
         hk_redis_int("EVAL %s 1 handoff:intake",
                      "return redis.call('XPENDING', KEYS[1], 'workers')[1]") ==
             0;
}

static int first_worker_started_batch(void) {
  return hk_worker_log_count(0, "delivery processed") >= 5;
}

Test(worker, processes_and_acknowledges_each_delivery) {
  post_many(5, "msg");
  hk_worker_start(0, NULL);
  expected = 5;
  cr_assert(hk_wait_until(all_processed, 10000), "processed %lld",
            hk_redis_int("HGET handoff:stats processed"));
  /* Each delivery is logged just after its commit: stop the worker (it
   * finishes what it holds) before reading its log. */
  cr_assert_eq(hk_worker_stop(0, SIGTERM), 0);
  for (int i = 0; i < 5; i++) {
    char id[64];
    snprintf(id, sizeof id, "delivery=msg_%03d", i);
    cr_assert(hk_worker_log_has(0, "delivery processed", id), "%s", id);
  }
  /* No rule of this config maps the demo source: each delivery is
   * acknowledged and counted as ignored, not lost. */
  cr_assert(hk_worker_log_has(0, "ignored=1", "source=demo"));
  cr_assert_eq(hk_redis_int("HGET handoff:counts ignored:demo:lead.created"),
               5);
}

Test(worker, a_second_worker_takes_over_what_a_killed_one_left) {
  const char *slow[] = {"--throttle", "50ms", "--claim-idle", "1s", NULL};
  const char *fast[] = {"--claim-idle", "1s", NULL};
  size_t first;
  size_t second = 0;
  post_many(60, "k");
  hk_worker_start(0, slow);
  cr_assert(hk_wait_until(first_worker_started_batch, 10000));
  /* In the middle of its batch of 60: no chance to ack the rest. */
  cr_assert_eq(hk_worker_stop(0, SIGKILL), 128 + SIGKILL);
  first = hk_worker_log_count(0, "delivery processed");
  cr_assert(first < 60, "the first worker finished before it was killed");
  cr_assert(
      hk_redis_int("EVAL %s 1 handoff:intake",
                   "return redis.call('XPENDING', KEYS[1], 'workers')[1]") > 0);

  hk_worker_start(1, fast);
  expected = 60;
  cr_assert(hk_wait_until(all_processed, 20000), "processed %lld",
            hk_redis_int("HGET handoff:stats processed"));
  cr_assert(hk_worker_log_count(1, "claimed deliveries left pending") >= 1);
  /* As above: the log is complete once the worker has stopped. */
  cr_assert_eq(hk_worker_stop(1, SIGTERM), 0);
  /* Every delivery was recorded once, by one worker or the other. The
   * record (its dedupe key, written with the ack in one script) is the
   * proof, not the log: SIGKILL can land between a commit and its log
   * line, so the first worker may have done one more than it logged. */
  for (int i = 0; i < 60; i++) {
    char id[64];
    snprintf(id, sizeof id, "delivery=k_%03d ", i);
    cr_assert_eq(hk_redis_int("EVAL %s 0 i:demo:k_%03d:0",
                              "return redis.call('EXISTS', 'handoff:seen:' .. "
                              "redis.sha1hex(ARGV[1]))",
                              i),
                 1, "k_%03d was lost", i);
    if (hk_worker_log_has(1, "delivery processed", id)) {
      second++;
      /* Not done twice: the second worker met no finished one. */
      cr_assert(!hk_worker_log_has(0, "delivery processed", id), "%s", id);
    }
  }
  /* The second took over at most what the first left, at least what it
   * left but for the one a kill may have caught unlogged. */
  cr_assert(second <= 60 - first && second + 1 >= 60 - first,
            "worker 2 processed %zu of %zu left", second, 60 - first);
}

static int worker_took_batch(void) {
  return hk_worker_log_count(0, "delivery processed") >= 1;
}

Test(worker, sigterm_finishes_the_batch_in_hand) {
  const char *slow[] = {"--throttle", "100ms", NULL};
  post_many(10, "t");
  hk_worker_start(0, slow);
  cr_assert(hk_wait_until(worker_took_batch, 10000));
  cr_assert_eq(hk_worker_stop(0, SIGTERM), 0);
  cr_assert_eq(hk_worker_log_count(0, "delivery processed"), 10);
  cr_assert_eq(hk_redis_int("HGET handoff:stats processed"), 10);
  cr_assert(hk_worker_log_has(0, "stopped", "consumer=test-worker-0"));
  /* Nothing left pending: it left the group, so restarts don't pile up
   * consumers. */
  cr_assert_eq(hk_redis_int("EVAL %s 1 handoff:intake",
                            "return #redis.call('XINFO', 'CONSUMERS', "
                            "KEYS[1], 'workers')"),
               0);
}

Test(worker, waits_for_redis_and_resumes) {
  post_many(3, "r");
  hk_redis_stop();
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(worker_took_batch, 1500) == 0);
  hk_redis_start();
  expected = 3;
  cr_assert(hk_wait_until(all_processed, 15000));
  cr_assert(hk_worker_log_has(0, "redis unreachable", "level=error"));
}

/* Replaces the stack's config file: the one the stack started with, with
 * extra spliced in before "sources", as hk_stack_up does. */
static void rewrite_config(const char *extra) {
  static char original[65536];
  char path[512];
  char *text;
  FILE *f;
  const char *at;
  snprintf(path, sizeof path, "%s/handoff.json", stack.dir);
  if (original[0] == '\0') {
    size_t n;
    f = fopen(path, "rb");
    cr_assert(f != NULL);
    n = fread(original, 1, sizeof original - 1, f);
    fclose(f);
    original[n] = '\0';
  }
  at = strstr(original, "\"sources\"");
  cr_assert(at != NULL);
  text = calloc(1, sizeof original + strlen(extra));
  cr_assert(text != NULL);
  memcpy(text, original, (size_t)(at - original));
  strcat(text, extra);
  strcat(text, at);
  f = fopen(path, "wb");
  cr_assert(f != NULL);
  fputs(text, f);
  fclose(f);
  free(text);
}

static int started(void) {
  return hk_worker_log_count(0, "msg=\"started\"") >= 1;
}

static int reloaded(void) {
  return hk_worker_log_count(0, "config reloaded") >= 1;
}

static int refused(void) {
  return hk_worker_log_count(0, "reload refused") >= 1;
}

static int events_made(void) {
  return hk_redis_int("XLEN handoff:events") == 1;
}

static int after_reload_logged(void) {
  return hk_worker_log_has(0, "delivery=after_reload", "events=1");
}

Test(worker, sighup_loads_new_rules_and_refuses_a_bad_config) {
  struct hk_resp r;
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(started, 5000)); /* its handlers are in place */
  /* A bad file: the running config stays. */
  rewrite_config("\"events\": [{\"source\": \"nowhere\"}],");
  kill(stack.workers[0], SIGHUP);
  cr_assert(hk_wait_until(refused, 5000));
  /* A good one with a rule for the demo source: deliveries map from now. */
  rewrite_config("\"events\": [{\"name\": \"all\", \"source\": \"demo\","
                 " \"type\": \"{type}\", \"subject\": \"lead:{data.n}\"}],");
  kill(stack.workers[0], SIGHUP);
  cr_assert(hk_wait_until(reloaded, 5000));
  cr_assert_eq(
      hk_post_signed("demo", HK_TEST_SECRET, "after_reload", hk_now_s(),
                     "{\"type\":\"lead.created\",\"data\":{\"n\":7}}", &r),
      0);
  cr_assert_eq(r.status, 202);
  cr_assert(hk_wait_until(events_made, 10000));
  /* The worker logs a delivery just after its commit: wait for the line. */
  cr_assert(hk_wait_until(after_reload_logged, 5000));
}

static size_t reloads_wanted;

static int reloaded_enough(void) {
  return hk_worker_log_count(0, "config reloaded") >= reloads_wanted;
}

/* The configs_alive=N of the worker's last "config reloaded" line. */
static int last_alive(void) {
  FILE *f = fopen(stack.worker_logs[0], "r");
  char line[8192];
  int alive = -1;
  cr_assert(f != NULL);
  while (fgets(line, sizeof line, f) != NULL) {
    const char *at = strstr(line, "configs_alive=");
    if (strstr(line, "config reloaded") != NULL && at != NULL) {
      alive = atoi(at + strlen("configs_alive="));
    }
  }
  fclose(f);
  return alive;
}

Test(worker, keeps_a_bounded_number_of_configs_across_many_reloads) {
  const char *two[] = {"--threads", "2", NULL};
  hk_worker_start(0, two);
  cr_assert(hk_wait_until(started, 5000));
  for (reloads_wanted = 1; reloads_wanted <= 12; reloads_wanted++) {
    kill(stack.workers[0], SIGHUP);
    cr_assert(hk_wait_until(reloaded_enough, 5000));
  }
  /* Whatever the loops and the KPI thread were doing: the caller's first
   * config, the newest, and one held by each of two loops and the KPI
   * thread at most. Before, every config stayed: 13 here. */
  cr_assert_leq(last_alive(), 5);
  cr_assert_geq(last_alive(), 2);
  cr_assert_eq(hk_worker_stop(0, SIGTERM), 0);
}
