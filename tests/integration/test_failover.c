/*
 * test_failover.c -- Redis Sentinel failover, workers killed, and a stall,
 * with the real servers: redis-server as primary and replica, three
 * sentinels (redis-server --sentinel) with down-after-milliseconds 2000,
 * nginx, handoff-fcgi and workers, all on loopback.
 *
 * The counts are settable, the defaults keep the suite short:
 *   HK_FAILOVER_DELIVERIES   deliveries of the failover run (default 600;
 *                            the full run is 5000)
 *   HK_FAILOVER_KILLS        times a worker is SIGKILLed (default 5; 20)
 *   HK_FAILOVER_REPLICAS     replicas (default 1, the two
 *                            redis-servers; 2 shows the wait without the
 *                            old primary's return)
 *   HK_FAILOVER_REJOIN       how the killed primary is started again once
 *                            the sentinels moved: "replica" (default:
 *                            --replicaof the new primary, as deploy/dev
 *                            restart does) or "primary" (as it was; the
 *                            sentinels demote it about 8 s later)
 * The failover test prints the time from the kill to the first 202 on the
 * new primary.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MASTER "hk"
#define NSENT 3

static int sent_port[NSENT];
static pid_t sent_pid[NSENT];
/* HK_FAILOVER_REPLICAS: 1 (the redis-server x2) or 2. */
#define MAX_REPLICAS 2
static int nreplicas;
static int replica_ports[MAX_REPLICAS];
static pid_t replica_pids[MAX_REPLICAS];
static int replica_port; /* the one being started */
static char redis_json[512];

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long env_count(const char *name, long def) {
  const char *v = getenv(name);
  return v != NULL && atol(v) > 0 ? atol(v) : def;
}

static void stop(pid_t *pid, int sig) {
  if (*pid > 0) {
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
    *pid = 0;
  }
}

/* One command to the server at port; NULL when it did not answer. */
static redisReply *at(int port, const char *fmt, ...) {
  struct timeval tv = {0, 500000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
  redisReply *r = NULL;
  va_list ap;
  if (c == NULL || c->err != 0) {
    if (c != NULL) {
      redisFree(c);
    }
    return NULL;
  }
  redisSetTimeout(c, tv);
  va_start(ap, fmt);
  r = redisvCommand(c, fmt, ap);
  va_end(ap);
  redisFree(c);
  return r;
}

/* The primary's port as the first sentinel that answers names it; 0 when
 * none does. */
static int primary_port(void) {
  for (int i = 0; i < NSENT; i++) {
    redisReply *r =
        at(sent_port[i], "SENTINEL get-master-addr-by-name %s", MASTER);
    int port = 0;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
      port = atoi(r->element[1]->str);
    }
    if (r != NULL) {
      freeReplyObject(r);
    }
    if (port > 0) {
      return port;
    }
  }
  return 0;
}

/* An integer from the primary; -1 when it cannot say. */
static long long on_primary(const char *fmt, const char *arg) {
  redisReply *r = at(primary_port(), fmt, arg);
  long long v = -1;
  if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
    v = r->integer;
  } else if (r != NULL && r->type == REDIS_REPLY_STRING) {
    v = atoll(r->str);
  } else if (r != NULL && r->type == REDIS_REPLY_NIL) {
    v = 0;
  }
  if (r != NULL) {
    freeReplyObject(r);
  }
  return v;
}

/* 1 when INFO of the server at port holds needle. */
static int info_has(int port, const char *section, const char *needle) {
  redisReply *r = at(port, "INFO %s", section);
  int yes = r != NULL && r->type == REDIS_REPLY_STRING &&
            strstr(r->str, needle) != NULL;
  if (r != NULL) {
    freeReplyObject(r);
  }
  return yes;
}

static int replica_linked(void) {
  return info_has(replica_port, "replication", "master_link_status:up");
}

/* Every sentinel sees the replica and the two other sentinels, so a
 * failover can be agreed on. */
static int sentinels_agree(void) {
  for (int i = 0; i < NSENT; i++) {
    redisReply *r = at(sent_port[i], "SENTINEL MASTER %s", MASTER);
    int slaves = -1;
    int others = -1;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
      for (size_t k = 0; k + 1 < r->elements; k += 2) {
        if (strcmp(r->element[k]->str, "num-slaves") == 0) {
          slaves = atoi(r->element[k + 1]->str);
        } else if (strcmp(r->element[k]->str, "num-other-sentinels") == 0) {
          others = atoi(r->element[k + 1]->str);
        }
      }
    }
    if (r != NULL) {
      freeReplyObject(r);
    }
    if (slaves < nreplicas || others < NSENT - 1) {
      return 0;
    }
  }
  return 1;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static void replica_start(int k) {
  char port[16];
  char primary[16];
  char dir[300];
  char conf[330];
  char log[330];
  char text[600];
  const char *argv[] = {"/usr/bin/redis-server",
                        conf,
                        "--port",
                        port,
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        dir,
                        "--save",
                        "",
                        "--repl-diskless-sync-delay",
                        "0",
                        "--replicaof",
                        "127.0.0.1",
                        primary,
                        NULL};
  replica_port = replica_ports[k];
  snprintf(dir, sizeof dir, "%s/replica-%d", stack.dir, k);
  mkdir(dir, 0755);
  snprintf(conf, sizeof conf, "%s/redis.conf", dir);
  snprintf(log, sizeof log, "%s/redis.log", dir);
  snprintf(text, sizeof text, "include %s/deploy/redis/handoff.conf\n",
           HK_SOURCE_DIR);
  write_text(conf, text);
  snprintf(port, sizeof port, "%d", replica_port);
  snprintf(primary, sizeof primary, "%d", stack.redis_port);
  replica_pids[k] = hk_spawn(argv, log);
  cr_assert(hk_wait_until(replica_linked, 15000),
            "the replica did not sync with the primary");
}

static void sentinel_start(int i) {
  char conf[330];
  char log[330];
  char text[800];
  const char *argv[] = {"/usr/bin/redis-server", conf, "--sentinel", NULL};
  snprintf(conf, sizeof conf, "%s/sentinel-%d.conf", stack.dir, i);
  snprintf(log, sizeof log, "%s/sentinel-%d.log", stack.dir, i);
  snprintf(text, sizeof text,
           "port %d\nbind 127.0.0.1\ndir %s\n"
           "sentinel monitor %s 127.0.0.1 %d 2\n"
           "sentinel down-after-milliseconds %s 2000\n"
           "sentinel failover-timeout %s 10000\n"
           "sentinel parallel-syncs %s 1\n",
           sent_port[i], stack.dir, MASTER, stack.redis_port, MASTER, MASTER,
           MASTER);
  write_text(conf, text);
  sent_pid[i] = hk_spawn(argv, log);
}

/* The stack with its Redis as primary, a replica and three sentinels;
 * handoff-fcgi and the workers find the primary through the sentinels. */
static void ha_up(void) {
  char extra[2048];
  nreplicas = (int)env_count("HK_FAILOVER_REPLICAS", 1);
  nreplicas = nreplicas > MAX_REPLICAS ? MAX_REPLICAS : nreplicas;
  for (int k = 0; k < nreplicas; k++) {
    replica_ports[k] = hk_free_port();
  }
  for (int i = 0; i < NSENT; i++) {
    sent_port[i] = hk_free_port();
  }
  snprintf(redis_json, sizeof redis_json,
           "\"redis\": {\"sentinel\": {\"master\": \"%s\", \"nodes\": "
           "[\"127.0.0.1:%d\", \"127.0.0.1:%d\", \"127.0.0.1:%d\"]},"
           " \"connect_timeout\": \"300ms\", \"timeout\": \"3s\","
           " \"wait_timeout\": \"1s\"},",
           MASTER, sent_port[0], sent_port[1], sent_port[2]);
  hk_stack_redis_json = redis_json;
  snprintf(extra, sizeof extra,
           "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
           " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
           " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}}],"
           "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
           " [\"lead.mql\"]}, \"sql\": {\"owner\": \"SDR team\","
           " \"entered_on\": [\"lead.contacted\"]}},"
           "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
           " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
           " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"}}},");
  hk_stack_up(extra);
  for (int k = 0; k < nreplicas; k++) {
    replica_start(k);
  }
  for (int i = 0; i < NSENT; i++) {
    sentinel_start(i);
  }
  cr_assert(hk_wait_until(sentinels_agree, 20000),
            "the sentinels did not find each other and the replica");
}

static void ha_down(void) {
  for (int i = 0; i < NSENT; i++) {
    stop(&sent_pid[i], SIGTERM);
  }
  for (int k = 0; k < nreplicas; k++) {
    stop(&replica_pids[k], SIGTERM);
  }
  hk_stack_down();
  hk_stack_redis_json = NULL;
}

/* Delivery i: subject i/2, its lead.mql (even i) 3 h ago, or its
 * lead.contacted (odd i) a minute later for even subjects (met) or 2 h
 * later for odd ones (met late). */
static int post_delivery(long i, int64_t t0, struct hk_resp *r) {
  char body[256];
  char id[48];
  long subject = i / 2;
  int64_t at = t0;
  if (i % 2 == 1) {
    at += subject % 2 == 0 ? 60000 : 7200000;
  }
  snprintf(body, sizeof body,
           "{\"type\": \"%s\", \"timestamp\": %lld, \"data\": "
           "{\"company_id\": \"%ld\"}}",
           i % 2 == 0 ? "lead.mql" : "lead.contacted", (long long)at, subject);
  snprintf(id, sizeof id, "msg_fo_%ld", i);
  return hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, r);
}

static long want_total;

static int all_journaled(void) {
  return on_primary("HGET handoff:counts %s", "mapped:demo:lead.mql") ==
             want_total / 2 &&
         on_primary("HGET handoff:counts %s", "mapped:demo:lead.contacted") ==
             want_total / 2;
}

/* Resends every delivery marked in retry until each got its 202. */
static void resend_all(unsigned char *retry, long n, int64_t t0) {
  int64_t until = hk_now_ms() + 60000;
  for (long left = n; left > 0 && hk_now_ms() < until;) {
    left = 0;
    for (long i = 0; i < n; i++) {
      struct hk_resp r;
      if (!retry[i]) {
        continue;
      }
      if (post_delivery(i, t0, &r) == 0 && r.status == 202) {
        retry[i] = 0;
      } else {
        cr_assert(r.status == 503, "a resent delivery got %ld", r.status);
        left++;
      }
    }
    if (left > 0) {
      msleep(200);
    }
  }
}

static int pongs(int port) {
  redisReply *r = at(port, "PING");
  int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
  if (r != NULL) {
    freeReplyObject(r);
  }
  return ok;
}

/* The old primary started again as a replica of the primary the
 * sentinels name now (HK_FAILOVER_REJOIN=replica), as a supervisor that
 * asks the sentinels first would start it: the same config, data folder
 * and port, with --replicaof. */
static void restart_as_replica(int old_port, int new_port) {
  char conf[330];
  char port[16];
  char primary[16];
  char log[330];
  const char *argv[] = {"/usr/bin/redis-server",
                        conf,
                        "--port",
                        port,
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        stack.dir,
                        "--appendfsync",
                        "everysec",
                        "--save",
                        "",
                        "--repl-diskless-sync-delay",
                        "0",
                        "--replicaof",
                        "127.0.0.1",
                        primary,
                        NULL};
  snprintf(conf, sizeof conf, "%s/redis.conf", stack.dir);
  snprintf(log, sizeof log, "%s/redis.log", stack.dir);
  snprintf(port, sizeof port, "%d", old_port);
  snprintf(primary, sizeof primary, "%d", new_port);
  stack.redis = hk_spawn(argv, log);
  for (int i = 0; i < 1000 && !pongs(old_port); i++) {
    msleep(10);
  }
}

/* After the kill: once the sentinels name the new primary, the old one
 * comes back (as a process supervisor would start it again), as the new
 * one's replica; with HK_FAILOVER_REJOIN=primary as it was, answering as
 * a primary until the sentinels make it a replica of the new one. */
static void restart_old_when_moved(int old_port, int *restarted) {
  int now = primary_port();
  const char *how = getenv("HK_FAILOVER_REJOIN");
  if (!*restarted && now != old_port && now != 0) {
    if (how != NULL && strcmp(how, "primary") == 0) {
      hk_redis_start();
    } else {
      restart_as_replica(old_port, now);
    }
    *restarted = 1;
  }
}

TestSuite(failover, .timeout = 300);

/* Posts the deliveries at a steady rate; a third of the way, the primary
 * is SIGKILLed (then started again once the sentinels moved), or, with
 * switchover, the sentinels are asked to fail over (SENTINEL FAILOVER:
 * the primary lives on, demoted to replica, and connections to it get
 * -READONLY). Every 202 must end as a journey event. */
static void run_failover(int switchover) {
  long n = env_count("HK_FAILOVER_DELIVERIES", 600) / 2 * 2;
  long kill_at = n / 3;
  unsigned char *retry = calloc((size_t)n, 1);
  int64_t t0 = hk_now_ms() - 3 * 3600 * 1000LL;
  int64_t t_kill = 0;
  int64_t t_first = 0;
  int old_port = stack.redis_port;
  int restarted = 0;
  long refused = 0;
  int64_t last_refused = 0;
  const char *const worker_args[] = {"--claim-idle", "2s", NULL};
  int64_t next = hk_now_ms();

  cr_assert(retry != NULL);
  want_total = n;
  hk_worker_start(0, worker_args);
  for (long i = 0; i < n; i++) {
    struct hk_resp r;
    if (i == kill_at && switchover) {
      redisReply *f = at(sent_port[0], "SENTINEL FAILOVER %s", MASTER);
      cr_assert(f != NULL && f->type != REDIS_REPLY_ERROR,
                "SENTINEL FAILOVER refused");
      freeReplyObject(f);
      t_kill = hk_now_ms();
    } else if (i == kill_at) {
      stop(&stack.redis, SIGKILL);
      t_kill = hk_now_ms();
    }
    cr_assert(post_delivery(i, t0, &r) == 0, "no answer to delivery %ld", i);
    if (r.status == 202 && t_kill > 0 && t_first == 0) {
      t_first = hk_now_ms();
    } else if (r.status != 202) {
      cr_assert(r.status == 503, "delivery %ld got %ld: %s", i, r.status,
                r.body);
      cr_assert(r.retry_after[0] != '\0', "a 503 without Retry-After");
      retry[i] = 1;
      refused++;
      last_refused = hk_now_ms();
    }
    if (t_kill > 0 && !switchover) {
      restart_old_when_moved(old_port, &restarted);
    }
    /* A steady rate: one delivery every 10 ms at most. */
    next += 10;
    if (next > hk_now_ms()) {
      msleep((int)(next - hk_now_ms()));
    }
  }
  while (t_first == 0 && hk_now_ms() - t_kill < 60000) {
    struct hk_resp r;
    if (!switchover) {
      restart_old_when_moved(old_port, &restarted);
    }
    for (long i = 0; i < n && t_first == 0; i++) {
      if (retry[i] && post_delivery(i, t0, &r) == 0 && r.status == 202) {
        retry[i] = 0;
        t_first = hk_now_ms();
      }
    }
    msleep(100);
  }
  cr_assert(t_first > 0, "no 202 within 60 s of the kill");
  resend_all(retry, n, t0);
  fprintf(stderr,
          "failover (%s): %d replica(s), %ld deliveries, %ld refused with 503 "
          "and resent, the last %lld ms after it; first 202 after it: %lld "
          "ms\n",
          switchover ? "SENTINEL FAILOVER" : "SIGKILL", nreplicas, n, refused,
          (long long)(last_refused > 0 ? last_refused - t_kill : 0),
          (long long)(t_first - t_kill));
  cr_assert(primary_port() != old_port, "no failover happened");
  cr_assert(hk_wait_until(all_journaled, 60000),
            "lost deliveries: lead.mql %lld, lead.contacted %lld of %ld each",
            on_primary("HGET handoff:counts %s", "mapped:demo:lead.mql"),
            on_primary("HGET handoff:counts %s", "mapped:demo:lead.contacted"),
            n / 2);
  /* The clocks end as in a run without failover: even subjects met, odd
   * ones met late. */
  cr_assert_eq(on_primary("HGET handoff:hcount:lead_response %s", "met"),
               (n / 2 + 1) / 2);
  cr_assert_eq(on_primary("HGET handoff:hcount:lead_response %s", "met_late"),
               n / 2 / 2);
  /* One clock per subject, none counted twice, none left open. */
  cr_assert_eq(on_primary("HLEN %s", "handoff:clocks:lead_response"), n / 2);
  cr_assert_eq(on_primary("ZCARD %s", "handoff:due:lead_response:next"), 0,
               "no bucket of the due index holds a clock");
  cr_assert_eq(on_primary("HGET handoff:hcount:lead_response %s", "open"), 0);
  cr_assert_eq(on_primary("HGET handoff:hcount:lead_response %s", "breached"),
               0);
  free(retry);
}

Test(failover, no_acknowledged_delivery_is_lost_when_the_primary_dies,
     .init = ha_up, .fini = ha_down) {
  run_failover(0);
}

Test(failover, no_acknowledged_delivery_is_lost_in_a_switchover, .init = ha_up,
     .fini = ha_down) {
  run_failover(1);
}

/* ---------------------------------------------------------------------------
 * Workers killed, and a stall, on one Redis
 * ------------------------------------------------------------------------- */

#define JOURNEY_CONFIG                                                         \
  "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","                 \
  " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","         \
  " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}}],"

static void one_up(void) {
  hk_stack_up(JOURNEY_CONFIG "\"intake\": {\"stall_amber\": \"2s\","
                             " \"stall_red\": \"5s\"},");
}

static long long counted(const char *type) {
  long long v = hk_redis_int("HGET handoff:counts mapped:demo:%s", type);
  return v < 0 ? 0 : v;
}

static long long pending(void) {
  return hk_redis_int("EVAL %s 1 handoff:intake",
                      "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1],"
                      " 'workers') if ok then return p[1] end return -1");
}

static int none_pending(void) {
  return counted("lead.mql") == want_total / 2 &&
         counted("lead.contacted") == want_total / 2 &&
         hk_redis_int("XLEN handoff:intake") == want_total && pending() == 0;
}

/* The entries consumer holds pending. */
static long long held_by(const char *consumer) {
  return hk_redis_int(
      "EVAL %s 1 handoff:intake %s",
      "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], 'workers', '-',"
      " '+', 1000, ARGV[1]) if ok then return #p end return -1",
      consumer);
}

#define MAX_KILLS 64

/* Each killed victim's name, when it was killed, what it held, and when
 * the last of that was claimed (0: not yet). */
struct victims {
  char name[MAX_KILLS][32];
  int64_t killed[MAX_KILLS];
  long long held[MAX_KILLS];
  int64_t claimed[MAX_KILLS];
  long n;
};

static long unclaimed(struct victims *v) {
  long left = 0;
  for (long k = 0; k < v->n; k++) {
    if (v->claimed[k] == 0 && held_by(v->name[k]) == 0) {
      v->claimed[k] = hk_now_ms();
    }
    left += v->claimed[k] == 0;
  }
  return left;
}

Test(failover, a_worker_killed_again_and_again_loses_nothing, .init = one_up,
     .fini = hk_stack_down, .timeout = 300) {
  long kills = env_count("HK_FAILOVER_KILLS", 5);
  long n = kills * 40;
  int64_t t0 = hk_now_ms() - 3 * 3600 * 1000LL;
  const char *const steady[] = {"--claim-idle", "2s", NULL};
  const char *victim[] = {"--claim-idle", "2s",         "--batch",
                          "20",           "--throttle", "30ms",
                          "--name",       NULL,         NULL};
  static struct victims v;
  int64_t worst = 0;
  long with_pending = 0;
  cr_assert_leq(kills, MAX_KILLS);
  memset(&v, 0, sizeof v);
  want_total = n;
  hk_worker_start(0, steady);
  snprintf(v.name[0], sizeof v.name[0], "victim-0");
  victim[7] = v.name[0];
  hk_worker_start(1, victim);
  for (long i = 0; i < n; i++) {
    struct hk_resp r;
    cr_assert(post_delivery(i, t0, &r) == 0 && r.status == 202,
              "delivery %ld got %ld", i, r.status);
    if (i % 40 == 20) {
      /* Mid-stream, as an OOM kill or a lost host would. */
      cr_assert_eq(hk_worker_stop(1, SIGKILL), 128 + SIGKILL);
      v.killed[v.n] = hk_now_ms();
      v.held[v.n] = held_by(v.name[v.n]);
      with_pending += v.held[v.n] > 0;
      v.n++;
      snprintf(v.name[v.n], sizeof v.name[v.n], "victim-%ld", v.n);
      victim[7] = v.name[v.n];
      hk_worker_start(1, victim);
    }
    (void)unclaimed(&v);
    msleep(5);
  }
  for (int64_t until = hk_now_ms() + 30000;
       unclaimed(&v) > 0 && hk_now_ms() < until;) {
    msleep(20);
  }
  cr_assert(hk_wait_until(none_pending, 30000),
            "lost or stuck: mql %lld, contacted %lld of %ld each; %lld pending",
            counted("lead.mql"), counted("lead.contacted"), n / 2, pending());
  for (long k = 0; k < v.n; k++) {
    cr_assert(v.claimed[k] > 0, "%s's deliveries were never claimed",
              v.name[k]);
    if (v.held[k] > 0 && v.claimed[k] - v.killed[k] > worst) {
      worst = v.claimed[k] - v.killed[k];
    }
  }
  fprintf(stderr,
          "worker kills: %ld SIGKILLs (%ld holding deliveries), %ld "
          "deliveries, 0 lost; the longest wait for a claim %lld ms "
          "(claim-idle 2 s)\n",
          kills, with_pending, n, (long long)worst);
  /* Claimed within claim-idle and the claim interval (1 s), with slack
   * for a batch and the polling. */
  cr_assert_leq(worst, 2000 + 1000 + 1500);
}

static char health_status[32];
static char health_reason[512];

/* Reads /v1/health into health_status and health_reason. */
static void read_health(void) {
  struct hk_resp r;
  const char *const auth[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  const char *p;
  health_status[0] = '\0';
  health_reason[0] = '\0';
  if (hk_http("GET", "/v1/health", auth, NULL, 0, &r) != 0 || r.status != 200) {
    return;
  }
  p = strstr(r.body, "\"status\":");
  if (p != NULL) {
    sscanf(p, "\"status\":%*[ \"]%31[a-z]", health_status);
  }
  p = strstr(r.body, "\"reason\":");
  if (p != NULL) {
    sscanf(p, "\"reason\":%*[ \"]%511[^\"]", health_reason);
  }
}

static int health_is(const char *status) {
  read_health();
  return strcmp(health_status, status) == 0;
}

static int is_green(void) {
  return health_is("green");
}

static int is_amber_stalled(void) {
  return health_is("amber") &&
         strstr(health_reason, "no worker has read for") != NULL;
}

static int is_red_stalled(void) {
  return health_is("red") &&
         strstr(health_reason, "no worker has read for") != NULL;
}

static int one_consumer(void) {
  return hk_redis_int("EVAL %s 0", "return #redis.call('XINFO','CONSUMERS',"
                                   "'handoff:intake','workers')") == 1;
}

Test(failover, a_stall_turns_health_amber_then_red_and_green_again,
     .init = one_up, .fini = hk_stack_down, .timeout = 120) {
  int64_t t0 = hk_now_ms() - 3 * 3600 * 1000LL;
  const char *const args[] = {"--claim-idle", "1s", "--kpi-every", "500ms",
                              NULL};
  char out[4096];
  struct hk_resp r;
  const char *const auth[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  want_total = 2;
  hk_worker_start(0, args);
  cr_assert(post_delivery(0, t0, &r) == 0 && r.status == 202);
  cr_assert(post_delivery(1, t0, &r) == 0 && r.status == 202);
  cr_assert(hk_wait_until(none_pending, 10000));
  cr_assert(hk_wait_until(is_green, 10000), "not green: %s: %s", health_status,
            health_reason);

  /* The only worker dies; its consumer stays in the group. */
  cr_assert_eq(hk_worker_stop(0, SIGKILL), 128 + SIGKILL);
  for (long i = 2; i < 12; i++) {
    cr_assert(post_delivery(i, t0, &r) == 0 && r.status == 202);
  }
  cr_assert(hk_wait_until(is_amber_stalled, 10000), "not amber: %s: %s",
            health_status, health_reason);
  cr_assert(hk_wait_until(is_red_stalled, 10000), "not red: %s: %s",
            health_status, health_reason);
  cr_assert_eq(hk_ctl("status", out, sizeof out), 4, "%s", out);
  cr_assert(strstr(out, "no worker has read for") != NULL, "%s", out);
  cr_assert(hk_http("GET", "/metrics", auth, NULL, 0, &r) == 0);
  cr_assert(strstr(r.body, "handoff_workers_alive 0") != NULL, "%s", r.body);
  cr_assert(strstr(r.body, "handoff_queue_last_read_age_seconds ") != NULL);

  /* A worker comes back: it reads, and removes the dead consumer. */
  want_total = 12;
  hk_worker_start(1, args);
  cr_assert(hk_wait_until(none_pending, 15000));
  cr_assert(hk_wait_until(is_green, 10000), "not green again: %s: %s",
            health_status, health_reason);
  cr_assert(hk_wait_until(one_consumer, 15000),
            "the dead consumer stayed in the group");
}

static long long health_lag;

static long long want_lag;

static int lag_is(void) {
  struct hk_resp r;
  const char *const auth[] = {"Authorization: Bearer " HK_TEST_TOKEN, NULL};
  const char *p;
  health_lag = -2;
  if (hk_http("GET", "/v1/health", auth, NULL, 0, &r) != 0 || r.status != 200) {
    return 0;
  }
  p = strstr(r.body, "\"lag\":");
  if (p != NULL) {
    health_lag = atoll(p + 6);
  }
  return health_lag == want_lag;
}

Test(failover, a_redis_restart_does_not_fake_a_backlog, .init = one_up,
     .fini = hk_stack_down, .timeout = 120) {
  int64_t t0 = hk_now_ms() - 3 * 3600 * 1000LL;
  const char *const args[] = {"--claim-idle", "1s", NULL};
  struct hk_resp r;
  want_total = 40;
  hk_worker_start(0, args);
  for (long i = 0; i < want_total; i++) {
    cr_assert(post_delivery(i, t0, &r) == 0 && r.status == 202);
  }
  cr_assert(hk_wait_until(none_pending, 15000));
  cr_assert_eq(hk_worker_stop(0, SIGTERM), 0);
  /* Processed entries trimmed, as retention does, then Redis restarts
   * from its AOF: the group's entries-read is gone, and Redis's own lag
   * with it. One new delivery waits. */
  cr_assert(hk_redis_int("EVAL %s 1 handoff:intake",
                         "local e = redis.call('XRANGE', KEYS[1], '-', '+',"
                         " 'COUNT', 20) for _, x in ipairs(e) do"
                         " redis.call('XDEL', KEYS[1], x[1]) end return #e") ==
            20);
  hk_redis_stop();
  hk_redis_start();
  cr_assert(post_delivery(40, t0, &r) == 0 && r.status == 202);
  want_lag = 1;
  cr_assert(hk_wait_until(lag_is, 10000),
            "lag %lld after the restart, with 1 delivery waiting", health_lag);
  want_lag = 0;
  hk_worker_start(1, args);
  cr_assert(hk_wait_until(lag_is, 10000), "lag %lld once read", health_lag);
}
