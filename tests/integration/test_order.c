/*
 * test_order.c -- the rules of PRODUCT.md that make clocks trustworthy,
 * checked as a property over a generated journey: idempotence and order
 * independence.
 *
 * A journey of a few thousand events over a few hundred subjects (a fixed
 * seed, so a failure can be replayed) is posted once, in event-time order,
 * to one worker; the clocks and counters are kept. Redis is emptied, and
 * the same events are posted again shuffled, a fifth of them twice, to four
 * workers at once. Both runs must end in identical clocks (start, state,
 * incompleteness, per handoff and subject) and identical counters. Every
 * event time lies weeks in the past, past every deadline, so the verdicts
 * do not depend on when the test runs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define SUBJECTS 300
#define PER_SUBJECT 10
/* A few hot subjects carry many events, so that workers do meet on the
 * same clock and the check-and-set is put to work. */
#define HOT_SUBJECTS 10
#define PER_HOT_SUBJECT 80
#define EVENTS                                                                 \
  ((SUBJECTS - HOT_SUBJECTS) * PER_SUBJECT + HOT_SUBJECTS * PER_HOT_SUBJECT)

static const char rules[] =
    "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
    " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
    " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"},"
    " \"attrs\": {\"segment\": \"data.segment\", \"email\": \"data.email\","
    " \"renews_at\": \"data.renews_at\"}}],"
    "\"stages\": {\"mql\": {\"owner\": \"m\", \"entered_on\": [\"lead.mql\"],"
    " \"next\": \"sql\"},"
    " \"sql\": {\"owner\": \"s\", \"entered_on\": [\"lead.contacted\"]},"
    " \"customer\": {\"owner\": \"c\", \"entered_on\": [\"sub.created\"],"
    " \"next\": \"renewal\"},"
    " \"renewal\": {\"owner\": \"r\", \"entered_on\": [\"renewal.call\"]}},"
    "\"handoffs\": {"
    " \"lead_response\": {\"owner\": \"SDR\", \"from\": \"mql\", \"to\":"
    " \"sql\", \"start\": [\"lead.mql\"], \"stop\": [\"lead.contacted\"],"
    " \"cancel\": [\"lead.lost\"], \"pause\": [\"lead.hold\"], \"resume\":"
    " [\"lead.back\"], \"sla\": {\"within\": \"1h\"}, \"goals\": [{\"when\":"
    " {\"segment\": \"enterprise\"}, \"within\": \"5m\"}], \"requires\":"
    " [\"email\"]},"
    " \"renewal\": {\"owner\": \"AM\", \"from\": \"customer\", \"to\":"
    " \"renewal\", \"start\": [\"sub.created\"], \"stop\":"
    " [\"renewal.call\"], \"sla\": {\"deadline\": {\"attr\": \"renews_at\","
    " \"offset\": \"-90d\"}}}},";

static const char *const types[] = {
    "lead.mql",  "lead.mql",  "lead.contacted", "lead.contacted", "lead.lost",
    "lead.hold", "lead.back", "sub.created",    "renewal.call",   "lead.other"};

struct ev {
  int64_t at;
  char body[512];
  char id[64];
};

static struct ev evs[EVENTS];

/* A fixed generator (not rand(), whose sequence libc may change). */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static void generate(void) {
  struct timespec ts;
  int64_t base;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* 25 days ago, on a whole hour: all deadlines are days past (a hot
   * subject's events run up to 5 days on, renewals up to 14 days after
   * their start), and every start is in the 30-day KPI buckets. */
  base = ((int64_t)ts.tv_sec - 25 * 86400) / 3600 * 3600 * 1000;
  size_t n = 0;
  for (int s = 0; s < SUBJECTS; s++) {
    int64_t t = base + (int64_t)(next_rand() % 86400) * 1000;
    int count = s < HOT_SUBJECTS ? PER_HOT_SUBJECT : PER_SUBJECT;
    for (int k = 0; k < count; k++) {
      struct ev *e = &evs[n++];
      const char *type = types[next_rand() % 10];
      t += (int64_t)(next_rand() % 5400) * 1000; /* up to 90 minutes on */
      e->at = t;
      snprintf(e->id, sizeof e->id, "ev_%d_%d", s, k);
      snprintf(e->body, sizeof e->body,
               "{\"type\":\"%s\",\"timestamp\":%lld,\"data\":{\"company_id\":"
               "\"%d\",\"segment\":\"%s\",%s\"renews_at\":%lld}}",
               type, (long long)t, s, s % 3 == 0 ? "enterprise" : "smb",
               s % 4 == 0 ? "" : "\"email\":\"x@example.com\",",
               (long long)(t + (int64_t)(80 + s % 25) * 86400 * 1000));
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

static long long posted;

static int all_done(void) {
  return hk_redis_int("HGET handoff:stats processed") == posted &&
         hk_redis_int("EVAL %s 1 handoff:intake",
                      "return redis.call('XPENDING', KEYS[1], 'workers')[1]") ==
             0;
}

/* Every clock (handoff, subject, state, missing attributes, start time
 * and response bucket; not which alerts went out, which depends on when a
 * breach was seen, nor the index of its start event, which depends on
 * arrival), every counter, the state indexes, the KPI buckets of clocks
 * and stages, and the stage records, sorted. The script goes to Redis as
 * an argument, so it is written as it runs (no printf escapes). */
static char *snapshot(void) {
  return hk_redis_str(
      "EVAL %s 0",
      "local out = {} "
      "for _, k in ipairs(redis.call('KEYS', 'handoff:clocks:*')) do "
      "  local h = redis.call('HGETALL', k) "
      "  for i = 1, #h, 2 do "
      "    local rec = cjson.decode(h[i + 1]) "
      "    for _, s in ipairs(rec.s) do "
      "      local start = rec.e[(s[4] or 0) + 1] "
      "      table.insert(out, k .. ' ' .. h[i] .. ' ' .. (s[1] or 0) .. ' ' .."
      "        cjson.encode(s[2] or 0) .. ' ' .. (start and start[3] or -1) .."
      "        ' ' .. (s[5] or 0)) "
      "    end "
      "  end "
      "end "
      "for _, p in ipairs({'hcount', 'hkpi', 'skpi', 'stages'}) do "
      "  for _, k in ipairs(redis.call('KEYS', 'handoff:' .. p .. '*')) do "
      "    local h = redis.call('HGETALL', k) "
      "    for i = 1, #h, 2 do "
      "      if h[i + 1] ~= '0' then "
      "        table.insert(out, k .. ' ' .. h[i] .. ' ' .. h[i + 1]) end "
      "    end "
      "  end "
      "end "
      "for _, k in ipairs(redis.call('KEYS', 'handoff:cs:*')) do "
      "  for _, m in ipairs(redis.call('ZRANGE', k, 0, -1)) do "
      "    table.insert(out, k .. ' ' .. m) end "
      "end "
      "table.sort(out) return table.concat(out, '\\n')");
}

static int cmp_at(const void *a, const void *b) {
  const struct ev *x = a;
  const struct ev *y = b;
  return x->at < y->at ? -1 : x->at > y->at;
}

TestSuite(order, .init = hk_stack_up_default, .fini = hk_stack_down,
          .timeout = 300);

Test(order, any_order_and_duplicates_over_four_workers_give_the_same_clocks) {
  static struct ev shuffled[EVENTS + EVENTS / 5];
  size_t n = 0;
  char *first;
  char *second;

  hk_stack_down();
  hk_stack_up(rules);
  generate();

  /* Run 1: in event-time order, one worker. */
  qsort(evs, EVENTS, sizeof evs[0], cmp_at);
  for (size_t i = 0; i < EVENTS; i++) {
    post(&evs[i]);
  }
  posted = EVENTS;
  hk_worker_start(0, NULL);
  cr_assert(hk_wait_until(all_done, 120000), "processed %lld of %lld",
            hk_redis_int("HGET handoff:stats processed"), posted);
  hk_worker_stop(0, SIGTERM);
  first = snapshot();
  cr_assert(first != NULL && strlen(first) > 1000, "no clocks were made");
  /* The journey is rich enough to mean something: every verdict occurs. */
  cr_assert(strstr(first, "hcount:lead_response met ") != NULL, "%s", first);
  /* The clocks' own lines are compared too: a met clock, and an incomplete
   * one naming its missing field. */
  cr_assert(strstr(first, " 3 0 ") != NULL, "no met clock line");
  cr_assert(strstr(first, "[\"email\"]") != NULL, "no incomplete clock line");
  cr_assert(strstr(first, "hcount:lead_response met_late ") != NULL);
  cr_assert(strstr(first, "hcount:lead_response breached ") != NULL);
  cr_assert(strstr(first, "hcount:lead_response cancelled ") != NULL);
  cr_assert(strstr(first, "hcount:lead_response incomplete ") != NULL);
  cr_assert(strstr(first, "hcount:renewal met ") != NULL);
  /* The KPI side is there too, so comparing it means something. */
  cr_assert(strstr(first, "handoff:hkpi:lead_response:") != NULL, "%s", first);
  cr_assert(strstr(first, "|r:") != NULL, "no response times counted");
  cr_assert(strstr(first, "|missing:email ") != NULL);
  cr_assert(strstr(first, "handoff:cs:lead_response:met ") != NULL);
  cr_assert(strstr(first, "handoff:skpi:mql:") != NULL);
  cr_assert(strstr(first, "|moved ") != NULL, "nobody moved on");
  cr_assert(strstr(first, "handoff:stages company:") != NULL);

  /* Run 2: an empty Redis, shuffled, a fifth twice, four workers. */
  {
    char *ok = hk_redis_str("FLUSHALL");
    cr_assert(ok != NULL && strcmp(ok, "OK") == 0);
    free(ok);
  }
  for (size_t i = 0; i < EVENTS; i++) {
    shuffled[n++] = evs[i];
    if (next_rand() % 5 == 0) {
      shuffled[n++] = evs[i];
    }
  }
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = next_rand() % (i + 1);
    struct ev t = shuffled[i];
    shuffled[i] = shuffled[j];
    shuffled[j] = t;
  }
  /* All queued first, so the four workers take batches side by side. */
  for (size_t i = 0; i < n; i++) {
    post(&shuffled[i]);
  }
  for (int w = 0; w < 4; w++) {
    hk_worker_start(w, NULL);
  }
  posted = (long long)n;
  cr_assert(hk_wait_until(all_done, 120000), "processed %lld of %lld",
            hk_redis_int("HGET handoff:stats processed"), posted);
  second = snapshot();
  cr_assert(second != NULL);
  cr_assert(strcmp(first, second) == 0,
            "the clocks differ between the two runs");
  free(first);
  free(second);
}
