/*
 * test_scripts.c -- each Lua script of store/lua on its own against a real
 * redis-server (started on a unix socket of its own for each test, and
 * ready once it answers PING), asserting what it writes; and the
 * loader (store/conn.c) finding its scripts again after SCRIPT FLUSH.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store_internal.h"

static pid_t server;
/* A unix socket in a folder of its own: no TCP port another test could
 * take between choosing it and redis binding it. */
static char dir[64];
static char sock[128];
static redisContext *rc;

/* Whether redis answers PING (connecting when needed). */
static int answers(void) {
  redisReply *r;
  int ok;
  if (rc == NULL) {
    struct timeval tv = {0, 200000};
    rc = redisConnectUnixWithTimeout(sock, tv);
    if (rc == NULL || rc->err != 0) {
      redisFree(rc);
      rc = NULL;
      return 0;
    }
  }
  r = redisCommand(rc, "PING");
  ok = r != NULL && r->type == REDIS_REPLY_STATUS;
  freeReplyObject(r);
  return ok;
}

static void start(void) {
  struct timespec pause = {0, 10 * 1000 * 1000};
  snprintf(dir, sizeof dir, "/tmp/hk-scripts-XXXXXX");
  cr_assert(mkdtemp(dir) != NULL);
  snprintf(sock, sizeof sock, "%s/redis.sock", dir);
  server = fork();
  cr_assert(server >= 0);
  if (server == 0) {
    /* Its log would bury the test's own output. */
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl("/usr/bin/redis-server", "redis-server", "--port", "0",
          "--unixsocket", sock, "--dir", dir, "--save", "", "--appendonly",
          "no", "--loglevel", "warning", (char *)NULL);
    _exit(127);
  }
  /* Wait for the condition (PING answered), polling, at most 10 s. */
  for (int i = 0; i < 1000 && !answers(); i++) {
    nanosleep(&pause, NULL);
  }
  cr_assert(answers(), "redis did not answer PING within 10 s");
}

static void stop(void) {
  redisFree(rc);
  rc = NULL;
  if (server > 0) {
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
  }
  unlink(sock);
  rmdir(dir);
}

TestSuite(lua, .init = start, .fini = stop, .timeout = 30);
TestSuite(loader, .init = start, .fini = stop, .timeout = 30);

/* A command of NUL-terminated arguments; the reply (caller frees). */
static redisReply *cmd(int argc, const char **argv) {
  redisReply *r = redisCommandArgv(rc, argc, argv, NULL);
  cr_assert(r != NULL);
  return r;
}

/* EVAL of script which with the NULL-terminated arguments (numkeys,
 * keys, argv). */
static redisReply *eval(enum hk_script which, ...) {
  const char *argv[64];
  int argc = 0;
  va_list ap;
  argv[argc++] = "EVAL";
  argv[argc++] = hk_script_text(which);
  va_start(ap, which);
  for (const char *s = va_arg(ap, const char *); s != NULL;
       s = va_arg(ap, const char *)) {
    cr_assert(argc < 64);
    argv[argc++] = s;
  }
  va_end(ap);
  return cmd(argc, argv);
}

static long long integer(const char *fmt, const char *a, const char *b) {
  redisReply *r = redisCommand(rc, fmt, a, b);
  long long v;
  cr_assert(r != NULL);
  v = r->type == REDIS_REPLY_INTEGER  ? r->integer
      : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
                                      : -1;
  freeReplyObject(r);
  return v;
}

/* A string reply as a new string, "(nil)" for nil. */
static char *text(const char *fmt, const char *a, const char *b) {
  redisReply *r = redisCommand(rc, fmt, a, b);
  char *s;
  cr_assert(r != NULL);
  s = r->type == REDIS_REPLY_STRING ? hk_xstrndup(r->str, r->len)
                                    : hk_xstrdup("(nil)");
  freeReplyObject(r);
  return s;
}

static void expect_text(const char *want, const char *fmt, const char *a,
                        const char *b) {
  char *got = text(fmt, a, b);
  cr_assert_str_eq(got, want, "%s %s %s", fmt, a, b);
  free(got);
}

/* The value of field name of the first entry of the stream key. */
static char *first_field(const char *key, const char *name) {
  redisReply *r = redisCommand(rc, "XRANGE %s - + COUNT 1", key);
  char *out = NULL;
  cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
  for (size_t i = 0; i + 1 < r->element[0]->element[1]->elements; i += 2) {
    redisReply *k = r->element[0]->element[1]->element[i];
    redisReply *v = r->element[0]->element[1]->element[i + 1];
    if (strcmp(k->str, name) == 0) {
      out = hk_xstrndup(v->str, v->len);
    }
  }
  freeReplyObject(r);
  cr_assert(out != NULL, "no field %s in %s", name, key);
  return out;
}

static void expect_field(const char *key, const char *name, const char *want) {
  char *got = first_field(key, name);
  cr_assert_str_eq(got, want, "%s.%s", key, name);
  free(got);
}

/* ------------------------------------------------------------------------ */

Test(lua, consumer_leave_removes_only_an_idle_consumer) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "XGROUP CREATE s g 0 MKSTREAM"));
  freeReplyObject(redisCommand(rc, "XADD s * a 1"));
  freeReplyObject(
      redisCommand(rc, "XREADGROUP GROUP g busy COUNT 1 STREAMS s >"));
  freeReplyObject(redisCommand(rc, "XGROUP CREATECONSUMER s g idle"));
  r = eval(HK_SCRIPT_CONSUMER_LEAVE, "1", "s", "g", "busy", NULL);
  cr_assert_eq(r->integer, 0);
  freeReplyObject(r);
  r = eval(HK_SCRIPT_CONSUMER_LEAVE, "1", "s", "g", "idle", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  r = redisCommand(rc, "XINFO CONSUMERS s g");
  cr_assert_eq(r->elements, 1);
  freeReplyObject(r);
  r = eval(HK_SCRIPT_CONSUMER_LEAVE, "1", "s", "nogroup", "idle", NULL);
  cr_assert_eq(r->integer, 0);
  freeReplyObject(r);
}

#define MEMBER_E1 "[\"demo:r:e1\",\"lead\",{\"a\":1}]"

/* Runs the journal of intake entry id with an event, an ignored item and a
 * dead letter; returns the script's count. */
static long long journal(const char *id) {
  redisReply *r = eval(
      HK_SCRIPT_JOURNAL, "6", "p:intake", "p:events", "p:dlq", "p:counts",
      "p:stats", "p:subjects", "workers", id, "60", "p:seen:", "1700000000999",
      "demo", "standard-webhooks", "d1", "1700000000001", "1700000000000", "{}",
      "64", "e", "k-event", "mapped:demo:lead", "{\"id\":\"e1\"}",
      "p:journey:s1", "1700000000500", MEMBER_E1, "s1", "i", "k-ignored",
      "ignored:demo:ping", "d", "k-dead", "dead:demo:r1", "r1", "no mapping",
      "order.created", "{\"b\":2}", NULL);
  long long n;
  cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s",
               r->type == REDIS_REPLY_ERROR ? r->str : "");
  n = r->integer;
  freeReplyObject(r);
  return n;
}

Test(lua, journal_writes_every_outcome_once_and_acknowledges) {
  redisReply *r;
  char *id;
  freeReplyObject(
      redisCommand(rc, "XGROUP CREATE p:intake workers 0 MKSTREAM"));
  r = redisCommand(rc, "XADD p:intake * source demo");
  id = hk_xstrndup(r->str, r->len);
  freeReplyObject(r);
  freeReplyObject(redisCommand(
      rc, "XREADGROUP GROUP workers w COUNT 1 STREAMS p:intake >"));

  cr_assert_eq(journal(id), 3);
  cr_assert_eq(integer("XLEN %s", "p:events", NULL), 1);
  expect_field("p:events", "event", "{\"id\":\"e1\"}");
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:lead"), 1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "ignored:demo:ping"), 1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "dead:demo:r1"), 1);
  expect_field("p:dlq", "rule", "r1");
  expect_field("p:dlq", "reason", "no mapping");
  expect_field("p:dlq", "ptype", "order.created");
  expect_field("p:dlq", "body", "{\"b\":2}");
  expect_field("p:dlq", "intake_id", id);
  expect_field("p:dlq", "failed_ms", "1700000000999");
  expect_field("p:dlq", "delivery_id", "d1");
  cr_assert_eq(integer("ZSCORE %s %s", "p:journey:s1", MEMBER_E1),
               1700000000500LL);
  cr_assert_eq(integer("ZSCORE %s %s", "p:subjects", "s1"), 1700000000500LL);
  cr_assert_eq(integer("HGET %s %s", "p:stats", "newest_event_ms"),
               1700000000500LL);
  cr_assert_eq(integer("HGET %s %s", "p:stats", "processed"), 1);
  r = redisCommand(rc, "XPENDING p:intake workers");
  cr_assert_eq(r->element[0]->integer, 0);
  freeReplyObject(r);

  /* Twice: nothing changes. */
  cr_assert_eq(journal(id), 0);
  cr_assert_eq(integer("XLEN %s", "p:events", NULL), 1);
  cr_assert_eq(integer("XLEN %s", "p:dlq", NULL), 1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:lead"), 1);
  cr_assert_eq(integer("HGET %s %s", "p:stats", "processed"), 1);
  free(id);
}

Test(lua, journal_keeps_every_journey_entry_and_the_newest_times) {
  static const int ats[] = {102, 100, 101};
  freeReplyObject(
      redisCommand(rc, "XGROUP CREATE p:intake workers 0 MKSTREAM"));
  for (int i = 0; i < 3; i++) {
    char key[16];
    char at[16];
    char member[16];
    redisReply *r;
    snprintf(key, sizeof key, "k%d", i);
    snprintf(at, sizeof at, "%d", ats[i]);
    snprintf(member, sizeof member, "[\"e%d\"]", i);
    r = eval(HK_SCRIPT_JOURNAL, "6", "p:intake", "p:events", "p:dlq",
             "p:counts", "p:stats", "p:subjects", "workers", "0-1", "60",
             "p:seen:", "0", "demo", "k", "d", "0", "0", "{}", "64", "e", key,
             "c", "{}", "p:journey:s", at, member, "s", NULL);
    cr_assert_eq(r->integer, 1);
    freeReplyObject(r);
  }
  /* No count cap: history goes by time, in the retention duty. */
  cr_assert_eq(integer("ZCARD %s", "p:journey:s", NULL), 3);
  cr_assert_eq(integer("ZSCORE %s %s", "p:journey:s", "[\"e1\"]"), 100);
  /* The newest time stays the newest whatever the order of arrival. */
  cr_assert_eq(integer("ZSCORE %s %s", "p:subjects", "s"), 102);
  cr_assert_eq(integer("HGET %s %s", "p:stats", "newest_event_ms"), 102);
}

/* Types from senders: the first two distinct ones of a source count under
 * their own name (label cap 2), later ones as "other"; a type already
 * counted stays itself; another source has its own two. */
Test(lua, journal_caps_the_distinct_types_a_sender_makes) {
  static const char *const counters[] = {
      "mapped:demo:a",  "mapped:demo:b", "mapped:demo:c",   "mapped:demo:a",
      "ignored:demo:x", "mapped:demo:d", "mapped:stripe:z", "dead:demo:r1",
      "dead:demo:r2",   "dead:demo:r3"};
  freeReplyObject(
      redisCommand(rc, "XGROUP CREATE p:intake workers 0 MKSTREAM"));
  for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
    char key[16];
    const char *kind = strncmp(counters[i], "mapped:", 7) == 0    ? "e"
                       : strncmp(counters[i], "ignored:", 8) == 0 ? "i"
                                                                  : "d";
    redisReply *r;
    snprintf(key, sizeof key, "k%zu", i);
    if (kind[0] == 'e') {
      r = eval(HK_SCRIPT_JOURNAL, "6", "p:intake", "p:events", "p:dlq",
               "p:counts", "p:stats", "p:subjects", "workers", "0-1", "60",
               "p:seen:", "0", "demo", "k", "d", "0", "0", "{}", "2", kind, key,
               counters[i], "{}", "", "0", "", "", NULL);
    } else if (kind[0] == 'i') {
      r = eval(HK_SCRIPT_JOURNAL, "6", "p:intake", "p:events", "p:dlq",
               "p:counts", "p:stats", "p:subjects", "workers", "0-1", "60",
               "p:seen:", "0", "demo", "k", "d", "0", "0", "{}", "2", kind, key,
               counters[i], NULL);
    } else {
      r = eval(HK_SCRIPT_JOURNAL, "6", "p:intake", "p:events", "p:dlq",
               "p:counts", "p:stats", "p:subjects", "workers", "0-1", "60",
               "p:seen:", "0", "demo", "k", "d", "0", "0", "{}", "2", kind, key,
               counters[i], "r", "why", "t", "{}", NULL);
    }
    cr_assert_eq(r->integer, 1, "%s", counters[i]);
    freeReplyObject(r);
  }
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:a"), 2);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:b"), 1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:c"), -1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:d"), -1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:demo:other"), 2);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "ignored:demo:x"), 1);
  cr_assert_eq(integer("HGET %s %s", "p:counts", "mapped:stripe:z"), 1);
  /* Rule names come from the config, not from senders: never capped. */
  cr_assert_eq(integer("HGET %s %s", "p:counts", "dead:demo:r3"), 1);
}

Test(lua, dlq_retry_queues_a_delivery_or_an_alert_again) {
  redisReply *r;
  char *delivery;
  char *alert;
  r = redisCommand(rc, "XADD p:dlq * source demo kind k delivery_id d1 "
                       "received_ms 1 signed_ms 2 headers {} body B rule r");
  delivery = hk_xstrndup(r->str, r->len);
  freeReplyObject(r);
  r = redisCommand(rc, "XADD p:dlq * kind alert alert {\"x\":1}");
  alert = hk_xstrndup(r->str, r->len);
  freeReplyObject(r);

  r = eval(HK_SCRIPT_DLQ_RETRY, "3", "p:dlq", "p:intake", "p:alerts", delivery,
           NULL);
  cr_assert_eq(r->type, REDIS_REPLY_STRING);
  freeReplyObject(r);
  expect_field("p:intake", "retried_from", delivery);
  expect_field("p:intake", "body", "B");
  expect_field("p:intake", "received_ms", "1");

  r = eval(HK_SCRIPT_DLQ_RETRY, "3", "p:dlq", "p:intake", "p:alerts", alert,
           NULL);
  cr_assert_eq(r->type, REDIS_REPLY_STRING);
  freeReplyObject(r);
  expect_field("p:alerts", "alert", "{\"x\":1}");
  expect_field("p:alerts", "attempt", "0");
  cr_assert_eq(integer("XLEN %s", "p:dlq", NULL), 0);

  r = eval(HK_SCRIPT_DLQ_RETRY, "3", "p:dlq", "p:intake", "p:alerts", alert,
           NULL);
  cr_assert_eq(r->type, REDIS_REPLY_NIL);
  freeReplyObject(r);
  free(delivery);
  free(alert);
}

Test(lua, cas_put_writes_only_over_the_record_read) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "HSET p:clocks:h s1 old"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:h:3 5 s1"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:h:next 5 3"));
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s1", "stale", "new", "I",
           "p:hcount:h", "open", "1", NULL);
  cr_assert_eq(r->integer, 0);
  freeReplyObject(r);
  expect_text("old", "HGET %s %s", "p:clocks:h", "s1");
  cr_assert_eq(integer("EXISTS %s", "p:hcount:h", NULL), 0);

  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s1", "old", "new", "I",
           "p:hcount:h", "open", "2", "Z", "p:cs:h:met", "0", "m1", "U",
           "p:due:h:3", "s1", "", "X", "p:alerts", "{\"a\":1}", "", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  expect_text("new", "HGET %s %s", "p:clocks:h", "s1");
  cr_assert_eq(integer("HGET %s %s", "p:hcount:h", "open"), 2);
  cr_assert_eq(integer("ZSCORE %s %s", "p:cs:h:met", "m1"), 0);
  cr_assert_eq(integer("EXISTS %s", "p:due:h:3", NULL), 0);
  cr_assert_eq(integer("ZCARD %s", "p:due:h:next", NULL), 0,
               "an empty bucket leaves the list of buckets");
  expect_field("p:alerts", "alert", "{\"a\":1}");
  expect_field("p:alerts", "attempt", "0");

  /* No record yet: "" is what was read. */
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s2", "", "first", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  expect_text("first", "HGET %s %s", "p:clocks:h", "s2");
}

Test(lua, cas_put_refuses_a_record_of_another_config_generation) {
  redisReply *r;
  /* No generation yet counts as 0. */
  r = eval(HK_SCRIPT_CAS_PUT, "2", "p:clocks:g", "p:gen", "s1", "", "r0", "0",
           "I", "p:hcount:g", "open", "1", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  freeReplyObject(redisCommand(rc, "SET p:gen 1"));
  r = eval(HK_SCRIPT_CAS_PUT, "2", "p:clocks:g", "p:gen", "s1", "r0", "r1", "0",
           "I", "p:hcount:g", "open", "1", NULL);
  cr_assert_eq(r->integer, -1);
  freeReplyObject(r);
  expect_text("r0", "HGET %s %s", "p:clocks:g", "s1");
  cr_assert_eq(integer("HGET %s %s", "p:hcount:g", "open"), 1);
  r = eval(HK_SCRIPT_CAS_PUT, "2", "p:clocks:g", "p:gen", "s1", "r0", "r1", "1",
           "I", "p:hcount:g", "open", "1", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  expect_text("r1", "HGET %s %s", "p:clocks:g", "s1");
  cr_assert_eq(integer("HGET %s %s", "p:hcount:g", "open"), 2);
}

/* One reply of restate_take: its first element. */
static long long take(const char *now) {
  redisReply *r =
      eval(HK_SCRIPT_RESTATE_TAKE, "4", "p:restate", "p:restate:todo",
           "p:subjects", "p:restate:leases", "R1", now, "1000", NULL);
  long long k;
  cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0);
  k = r->element[0]->integer;
  freeReplyObject(r);
  return k;
}

Test(lua, restate_hands_out_chunks_again_after_a_lease_and_finishes_once) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "ZADD p:subjects 5 a 1 b 9 c"));
  r = eval(HK_SCRIPT_RESTATE_BEGIN, "1", "p:restate", "R1", "{}", "100", "2",
           "0", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  r = eval(HK_SCRIPT_RESTATE_BEGIN, "1", "p:restate", "R2", "{}", "100", "2",
           "0", NULL);
  cr_assert_eq(r->integer, 0, "a second restate while one is under way");
  freeReplyObject(r);
  cr_assert_eq(take("50"), -1, "before begin_ms");
  /* Chunks of two subjects, in order of name whatever their scores. */
  cr_assert_eq(take("100"), 0);
  expect_text("0", "ZSCORE %s %s", "p:restate:todo", "c");
  cr_assert_eq(take("100"), 1);
  cr_assert_eq(take("200"), -1, "all handed out, none done");
  /* Chunk 0's worker died: its lease lapses and it is handed out again. */
  cr_assert_eq(take("1101"), 0);
  r = eval(HK_SCRIPT_RESTATE_DONE, "2", "p:restate", "p:restate:leases", "R1",
           "1", "1", "4", "1200", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  r = eval(HK_SCRIPT_RESTATE_DONE, "2", "p:restate", "p:restate:leases", "R1",
           "1", "1", "4", "1200", NULL);
  cr_assert_eq(r->integer, 0, "a chunk counts once");
  freeReplyObject(r);
  r = eval(HK_SCRIPT_RESTATE_DONE, "2", "p:restate", "p:restate:leases", "R1",
           "0", "2", "6", "1300", NULL);
  cr_assert_eq(r->integer, 3, "the last chunk finishes");
  freeReplyObject(r);
  expect_text("finishing", "HGET %s %s", "p:restate", "state");
  cr_assert_eq(integer("HGET %s %s", "p:restate", "events_done"), 10);
  cr_assert_eq(integer("HGET %s %s", "p:restate", "subjects_done"), 3);
  cr_assert_eq(take("1400"), -1, "one finishes, the others wait");
}

Test(lua, restate_switch_renames_the_shadow_and_moves_the_generation) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "HSET p:restate id R1 state running"));
  freeReplyObject(redisCommand(rc, "HSET p:clocks:h s live"));
  freeReplyObject(redisCommand(rc, "HSET p:restate:clocks:h s restated"));
  freeReplyObject(redisCommand(rc, "SET p:kpi:stage:gone {}"));
  r = eval(HK_SCRIPT_RESTATE_SWITCH, "2", "p:restate", "p:gen", "R1",
           "p:", "p:restate:", "clocks:h", "kpi:stage:gone", NULL);
  cr_assert_eq(r->integer, 0, "not ready: nothing changes");
  freeReplyObject(r);
  expect_text("live", "HGET %s %s", "p:clocks:h", "s");
  freeReplyObject(redisCommand(rc, "HSET p:restate state ready"));
  r = eval(HK_SCRIPT_RESTATE_SWITCH, "2", "p:restate", "p:gen", "R1",
           "p:", "p:restate:", "clocks:h", "kpi:stage:gone", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  expect_text("restated", "HGET %s %s", "p:clocks:h", "s");
  cr_assert_eq(integer("EXISTS %s", "p:restate:clocks:h", NULL), 0);
  cr_assert_eq(integer("EXISTS %s", "p:kpi:stage:gone", NULL), 0);
  cr_assert_eq(integer("EXISTS %s", "p:restate", NULL), 0);
  cr_assert_eq(integer("GET %s", "p:gen", NULL), 1);
}

Test(lua, cas_put_of_an_empty_record_erases_the_field) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "HSET p:stages s1 rec"));
  freeReplyObject(redisCommand(rc, "HSET p:hcount:h open 1"));
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:stages", "s1", "rec", "", "I",
           "p:hcount:h", "open", "-1", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  cr_assert_eq(integer("HEXISTS %s %s", "p:stages", "s1"), 0);
  cr_assert_eq(integer("HGET %s %s", "p:hcount:h", "open"), 0);
}

/* Adds an entry at id to stream key. */
static void xadd(const char *key, const char *id) {
  freeReplyObject(redisCommand(rc, "XADD %s %s f v", key, id));
}

/* The two integers of a {a, b} reply. */
static void pair_of(redisReply *r, long long *a, long long *b) {
  cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "%s",
               r->type == REDIS_REPLY_ERROR ? r->str : "");
  *a = r->element[0]->integer;
  *b = r->element[1]->integer;
  freeReplyObject(r);
}

Test(lua, stream_trim_stops_at_pending_and_unread_entries) {
  long long removed;
  long long more;
  for (int i = 1; i <= 6; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d-1", i * 10);
    xadd("p:intake", id);
  }
  freeReplyObject(redisCommand(rc, "XGROUP CREATE p:intake g 0"));
  /* g reads 10, 20, 30, 40; acks 10, 20, 40; 30 stays pending; 50 and 60
   * are unread. */
  freeReplyObject(
      redisCommand(rc, "XREADGROUP GROUP g c COUNT 4 STREAMS p:intake >"));
  freeReplyObject(redisCommand(rc, "XACK p:intake g 10-1 20-1 40-1"));
  pair_of(eval(HK_SCRIPT_STREAM_TRIM, "1", "p:intake", "1000", "100", NULL),
          &removed, &more);
  cr_assert_eq(removed, 2);
  cr_assert_eq(more, 0);
  freeReplyObject(redisCommand(rc, "XACK p:intake g 30-1"));
  pair_of(eval(HK_SCRIPT_STREAM_TRIM, "1", "p:intake", "1000", "100", NULL),
          &removed, &more);
  /* 30 and 40 go; 50 was never read. */
  cr_assert_eq(removed, 2);
  cr_assert_eq(integer("XLEN %s", "p:intake", NULL), 2);
  /* By time: nothing older than 55 ms is left that may go. */
  freeReplyObject(
      redisCommand(rc, "XREADGROUP GROUP g c COUNT 2 STREAMS p:intake >"));
  freeReplyObject(redisCommand(rc, "XACK p:intake g 50-1 60-1"));
  pair_of(eval(HK_SCRIPT_STREAM_TRIM, "1", "p:intake", "55", "100", NULL),
          &removed, &more);
  cr_assert_eq(removed, 1);
  /* A chunk: one at a time, saying there is more. */
  xadd("p:events", "1-1");
  xadd("p:events", "2-1");
  xadd("p:events", "3-1");
  pair_of(eval(HK_SCRIPT_STREAM_TRIM, "1", "p:events", "1000", "2", NULL),
          &removed, &more);
  cr_assert_eq(removed, 2);
  cr_assert_eq(more, 1);
  pair_of(eval(HK_SCRIPT_STREAM_TRIM, "1", "p:nothing", "1000", "2", NULL),
          &removed, &more);
  cr_assert_eq(removed, 0);
}

Test(lua, history_trim_walks_the_subjects_and_trims_by_time) {
  long long visited;
  long long removed;
  freeReplyObject(redisCommand(rc, "ZADD p:subjects 100 a 200 b 300 c"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:a 10 e1 100 e2"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:b 20 e3 200 e4"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:c 30 e5 300 e6"));
  pair_of(eval(HK_SCRIPT_HISTORY_TRIM, "2", "p:subjects", "p:stats",
               "p:journey:", "50", "2", NULL),
          &visited, &removed);
  cr_assert_eq(visited, 2);
  cr_assert_eq(removed, 2);
  cr_assert_eq(integer("HGET %s %s", "p:stats", "history_cursor"), 2);
  pair_of(eval(HK_SCRIPT_HISTORY_TRIM, "2", "p:subjects", "p:stats",
               "p:journey:", "50", "2", NULL),
          &visited, &removed);
  cr_assert_eq(visited, 1);
  cr_assert_eq(removed, 1);
  /* The walk starts over. */
  cr_assert_eq(integer("HGET %s %s", "p:stats", "history_cursor"), 0);
  cr_assert_eq(integer("ZCARD %s", "p:journey:c", NULL), 1);
  cr_assert_eq(integer("ZSCORE %s %s", "p:journey:c", "e6"), 300);
}

Test(lua, subject_drop_keeps_a_subject_that_had_a_new_event) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "ZADD p:subjects 100 a 900 b 50 c"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:a 100 e1"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:b 900 e2"));
  freeReplyObject(redisCommand(rc, "ZADD p:journey:c 50 e3"));
  r = eval(HK_SCRIPT_SUBJECT_DROP, "1", "p:subjects", "p:journey:", "500", "a",
           "b", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  cr_assert_eq(integer("EXISTS %s", "p:journey:a", NULL), 0);
  cr_assert_eq(integer("EXISTS %s", "p:journey:b", NULL), 1);
  /* A forget drops whatever the age. */
  r = eval(HK_SCRIPT_SUBJECT_DROP, "1", "p:subjects", "p:journey:", "", "b",
           "never-seen", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  cr_assert_eq(integer("EXISTS %s", "p:journey:b", NULL), 0);
  cr_assert_eq(integer("ZCARD %s", "p:subjects", NULL), 1);
}

Test(lua, intake_settled_waits_for_reads_and_acks_up_to_the_id) {
  redisReply *r;
  xadd("p:intake", "10-1");
  xadd("p:intake", "20-1");
  freeReplyObject(redisCommand(rc, "XGROUP CREATE p:intake workers 0"));
  r = eval(HK_SCRIPT_INTAKE_SETTLED, "1", "p:intake", "workers", "15-0", NULL);
  cr_assert_eq(r->integer, 0, "10-1 is unread");
  freeReplyObject(r);
  freeReplyObject(redisCommand(
      rc, "XREADGROUP GROUP workers c COUNT 1 STREAMS p:intake >"));
  r = eval(HK_SCRIPT_INTAKE_SETTLED, "1", "p:intake", "workers", "15-0", NULL);
  cr_assert_eq(r->integer, 0, "10-1 is pending");
  freeReplyObject(r);
  freeReplyObject(redisCommand(rc, "XACK p:intake workers 10-1"));
  r = eval(HK_SCRIPT_INTAKE_SETTLED, "1", "p:intake", "workers", "15-0", NULL);
  cr_assert_eq(r->integer, 1, "20-1 came after");
  freeReplyObject(r);
}

Test(lua, cas_put_keeps_a_due_bucket_listed_no_later_than_its_earliest) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "HSET p:clocks:h s1 r1 s2 r2"));
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s1", "r1", "r1b", "D",
           "p:due:h:4", "700", "s1", NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:h:next", "4"), 700);
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s2", "r2", "r2b", "D",
           "p:due:h:4", "600", "s2", NULL);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:h:next", "4"), 600,
               "an earlier entry moves the bucket up");
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s2", "r2b", "r2c", "U",
           "p:due:h:4", "s2", "", NULL);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:h:next", "4"), 600,
               "a removal leaves the score early, never late");
  cr_assert_eq(integer("ZCARD %s", "p:due:h:4", NULL), 1);
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s1", "r1b", "r1c", "D",
           "p:due:h:4", "800", "s1", NULL);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:h:next", "4"), 600,
               "a later entry does not raise it");
  /* A take that reads the bucket sets its score exactly. */
  r = eval(HK_SCRIPT_DUE_TAKE, "1", "p:due:h:next", "650", "5000", "9", "h",
           NULL);
  cr_assert_eq(r->elements, 0);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:h:next", "4"), 800);
  r = eval(HK_SCRIPT_CAS_PUT, "1", "p:clocks:h", "s1", "r1c", "r1d", "U",
           "p:due:h:4", "s1", "", NULL);
  freeReplyObject(r);
  cr_assert_eq(integer("EXISTS %s", "p:due:h:next", NULL), 0,
               "an empty bucket leaves the list");
}

Test(lua, due_take_leases_what_came_due) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:1 10 s1 60 s2"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:2 900 s3"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:5 50 s4"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:next 10 1 900 2 50 5"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:b:0 30 t1"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:b:next 30 0"));
  r = eval(HK_SCRIPT_DUE_TAKE, "2", "p:due:a:next", "p:due:b:next", "100",
           "500", "4", "a", "b", NULL);
  cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
  cr_assert_eq(r->elements, 4);
  cr_assert_str_eq(r->element[0]->str, "a:s1");
  cr_assert_str_eq(r->element[1]->str, "a:s2");
  cr_assert_str_eq(r->element[2]->str, "a:s4");
  cr_assert_str_eq(r->element[3]->str, "b:t1");
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:1", "s1"), 500);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:b:0", "t1"), 500);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:2", "s3"), 900);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:next", "1"), 500,
               "a leased bucket starts at its lease");
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:next", "5"), 500);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:next", "2"), 900);

  r = eval(HK_SCRIPT_DUE_TAKE, "1", "p:due:a:next", "100", "500", "1", "a",
           NULL);
  cr_assert_eq(r->elements, 0);
  freeReplyObject(r);

  /* A list that says a bucket is due when it is not is set right, and
   * the take goes on. */
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:next 1 2"));
  r = eval(HK_SCRIPT_DUE_TAKE, "1", "p:due:a:next", "100", "500", "9", "a",
           NULL);
  cr_assert_eq(r->elements, 0);
  freeReplyObject(r);
  cr_assert_eq(integer("ZSCORE %s %s", "p:due:a:next", "2"), 900);
}

Test(lua, due_next_answers_the_earliest_score_as_written) {
  redisReply *r = eval(HK_SCRIPT_DUE_NEXT, "1", "p:due:a:next", NULL);
  cr_assert_eq(r->type, REDIS_REPLY_NIL);
  freeReplyObject(r);
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:next 9007199254740991 1"));
  freeReplyObject(redisCommand(rc, "ZADD p:due:b:next 200000000000000 7"));
  r = eval(HK_SCRIPT_DUE_NEXT, "2", "p:due:a:next", "p:due:b:next", NULL);
  cr_assert_eq(r->type, REDIS_REPLY_STRING);
  cr_assert_str_eq(r->str, "200000000000000");
  freeReplyObject(r);
}

Test(lua, alerts_due_moves_due_retries_back_to_the_stream) {
  redisReply *r;
  freeReplyObject(redisCommand(rc, "ZADD p:alerts:retry 50 %s 500 %s",
                               "2|{\"a\":1}", "1|{\"b\":2}"));
  r = eval(HK_SCRIPT_ALERTS_DUE, "2", "p:alerts:retry", "p:alerts", "100",
           NULL);
  cr_assert_eq(r->integer, 1);
  freeReplyObject(r);
  expect_field("p:alerts", "alert", "{\"a\":1}");
  expect_field("p:alerts", "attempt", "2");
  cr_assert_eq(integer("ZCARD %s", "p:alerts:retry", NULL), 1);
}

/* ------------------------------------------------------------------------ */

static struct hk_store *store_here(void) {
  static char prefix[] = "p:";
  struct hk_redis_conf conf;
  memset(&conf, 0, sizeof conf);
  conf.unix_path = sock;
  conf.prefix = prefix;
  conf.connect_timeout_ms = 500;
  conf.timeout_ms = 2000;
  return hk_store_new(&conf);
}

Test(loader, loads_a_script_again_after_script_flush) {
  struct hk_store *st = store_here();
  struct hk_error err = {HK_E_OK, ""};
  const char *h[] = {"a"};
  int64_t next = 0;
  freeReplyObject(redisCommand(rc, "ZADD p:due:a:next 42 7"));
  cr_assert_eq(hk_store_due_next(st, h, 1, &next, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(next, 42);
  freeReplyObject(redisCommand(rc, "SCRIPT FLUSH"));
  cr_assert_eq(hk_store_due_next(st, h, 1, &next, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(next, 42);
  hk_store_free(st);
}

Test(loader, reloads_in_a_pipeline_after_script_flush) {
  struct hk_store *st = store_here();
  struct hk_error err = {HK_E_OK, ""};
  struct hk_cas_put p[2] = {{"clocks:h", "s1", NULL, "r1", NULL, 0},
                            {"clocks:h", "s2", NULL, "r2", NULL, 0}};
  struct hk_cas_put again = {"clocks:h", "s1", "r1", "r1b", NULL, 0};
  int written[2] = {0, 0};
  cr_assert_eq(hk_store_cas_put(st, p, 2, written, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert(written[0] && written[1]);
  freeReplyObject(redisCommand(rc, "SCRIPT FLUSH"));
  cr_assert_eq(hk_store_cas_put(st, &again, 1, written, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(written[0], 1);
  expect_text("r1b", "HGET %s %s", "p:clocks:h", "s1");
  hk_store_free(st);
}

/* ------------------------------------------------------------------------
 * The due index in buckets, through the door: what the workers write
 * (cas_put's 'D' and 'U'), what the status API pages through, and the
 * upgrade of an index of the layout before buckets.
 * ------------------------------------------------------------------------ */

TestSuite(due, .init = start, .fini = stop, .timeout = 60);

#define DUE_N 2000

/* Subject i ("s0000"…) due at i % mod: many ties, spread over buckets. */
static int due_mod = 37;

static void due_fill(struct hk_store *st) {
  static char members[DUE_N][8];
  static char scores[DUE_N][24];
  static struct hk_store_op ops[DUE_N];
  static struct hk_cas_put p[DUE_N];
  static int written[DUE_N];
  struct hk_error err = {HK_E_OK, ""};
  for (int i = 0; i < DUE_N; i++) {
    snprintf(members[i], sizeof members[i], "s%04d", i);
    /* one score for all: the far future of a clock with no deadline */
    snprintf(scores[i], sizeof scores[i], "%lld",
             due_mod > 1 ? (long long)(i % due_mod) : 9007199254740991LL);
    ops[i] = (struct hk_store_op){'D', "h", scores[i], members[i]};
    p[i] = (struct hk_cas_put){"clocks:h", members[i], NULL, "r", &ops[i], 1};
  }
  cr_assert_eq(hk_store_cas_put(st, p, DUE_N, written, &err), HK_E_OK, "%s",
               err.msg);
}

static int due_order(const void *a, const void *b) {
  int x = atoi((const char *)a + 1) % due_mod;
  int y = atoi((const char *)b + 1) % due_mod;
  return x != y ? x - y : strcmp(a, b);
}

/* Pages of 25, each past the last entry of the one before (its score and
 * member, as fcgi/api.c pages), walk every entry once, in Redis's order. */
static void due_walk(void) {
  struct hk_store *st = store_here();
  struct hk_error err = {HK_E_OK, ""};
  static char want[DUE_N][8];
  size_t seen = 0;
  int64_t at = 0;
  char last[8] = "";
  due_fill(st);
  cr_assert_gt(integer("ZCARD %s", "p:due:h:next", NULL), 100,
               "the entries are spread over buckets");
  for (int i = 0; i < DUE_N; i++) {
    snprintf(want[i], sizeof want[i], "s%04d", i);
  }
  qsort(want, DUE_N, sizeof want[0], due_order);
  for (int page = 0; seen < DUE_N && page < DUE_N; page++) {
    struct hk_strings m;
    struct hk_strings s;
    cr_assert_eq(hk_store_due_page(st, "h", seen > 0 ? &at : NULL, last, 25, &m,
                                   &s, &err),
                 HK_E_OK, "%s", err.msg);
    cr_assert(m.n == 25 || seen + m.n == DUE_N, "a short page before the end");
    for (size_t i = 0; i < m.n; i++) {
      cr_assert_str_eq(m.v[i], want[seen], "entry %zu", seen);
      snprintf(last, sizeof last, "%s", m.v[i]);
      at = strtoll(s.v[i], NULL, 10);
      seen++;
    }
    hk_strings_fini(&m);
    hk_strings_fini(&s);
  }
  cr_assert_eq(seen, DUE_N);
  hk_store_free(st);
}

Test(due, pages_walk_every_entry_once_in_order_across_buckets) {
  due_mod = 37;
  due_walk();
}

Test(due, pages_walk_entries_that_all_share_one_score) {
  due_mod = 1;
  due_walk();
}

Test(due, removing_every_entry_empties_the_index) {
  struct hk_store *st = store_here();
  struct hk_error err = {HK_E_OK, ""};
  static struct hk_store_op ops[DUE_N];
  static struct hk_cas_put p[DUE_N];
  static char members[DUE_N][8];
  static int written[DUE_N];
  int64_t next = 0;
  due_fill(st);
  for (int i = 0; i < DUE_N; i++) {
    snprintf(members[i], sizeof members[i], "s%04d", i);
    ops[i] = (struct hk_store_op){'U', "h", members[i], NULL};
    p[i] = (struct hk_cas_put){"clocks:h", members[i], "r", "", &ops[i], 1};
  }
  cr_assert_eq(hk_store_cas_put(st, p, DUE_N, written, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(hk_store_due_next(st, (const char *[]){"h"}, 1, &next, &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(next, HK_STORE_NOT_DUE);
  freeReplyObject(redisCommand(rc, "DEL p:clocks:h"));
  cr_assert_eq(integer("DBSIZE", NULL, NULL), 0, "no key is left behind");
  hk_store_free(st);
}

Test(due, an_index_of_the_layout_before_buckets_moves_into_them) {
  struct hk_store *st = store_here();
  struct hk_error err = {HK_E_OK, ""};
  struct hk_strings m;
  struct hk_strings s;
  size_t moved = 0;
  int64_t next = 0;
  static struct hk_store_op op = {'D', "h", "90", "b"};
  static struct hk_cas_put p = {"clocks:h", "b", NULL, "r", &op, 1};
  int written = 0;
  /* d: an open clock with no deadline, as the old layout scored it. */
  freeReplyObject(
      redisCommand(rc, "ZADD p:due:h 30 a 20 b 40 c 9007199254740991 d"));
  /* b was written since by a worker of this layout: that entry is newer. */
  cr_assert_eq(hk_store_cas_put(st, &p, 1, &written, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(hk_store_due_upgrade(st, "h", &moved, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(moved, 4);
  cr_assert_eq(integer("EXISTS %s", "p:due:h", NULL), 0);
  /* d comes due at once, so the next tick scores it by its start. */
  cr_assert_eq(hk_store_due_next(st, (const char *[]){"h"}, 1, &next, &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(next, 0);
  cr_assert_eq(hk_store_due_page(st, "h", NULL, NULL, 10, &m, &s, &err),
               HK_E_OK, "%s", err.msg);
  cr_assert_eq(m.n, 4);
  cr_assert_str_eq(m.v[0], "d");
  cr_assert_str_eq(s.v[0], "0");
  cr_assert_str_eq(m.v[1], "a");
  cr_assert_str_eq(m.v[2], "c");
  cr_assert_str_eq(m.v[3], "b");
  cr_assert_str_eq(s.v[3], "90");
  hk_strings_fini(&m);
  hk_strings_fini(&s);
  cr_assert_eq(hk_store_due_upgrade(st, "h", &moved, &err), HK_E_OK, "%s",
               err.msg);
  cr_assert_eq(moved, 0, "nothing more to move");
  hk_store_free(st);
}
