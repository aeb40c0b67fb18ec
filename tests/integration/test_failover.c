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
static int replica_port;
static pid_t replica_pid;
static char redis_json[512];

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long env_count(const char *name, long def) {
  const char *v = getenv(name);
  return v != NULL && atol(v) > 0 ? atol(v) : def;
}

static int free_port(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(fd >= 0);
  cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

static pid_t spawn(const char *const *argv, const char *log) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    char *args[32];
    size_t n = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    for (; argv[n] != NULL && n < 31; n++) {
      memcpy(&args[n], &argv[n], sizeof args[n]);
    }
    args[n] = NULL;
    execv(args[0], args);
    _exit(127);
  }
  return pid;
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
    if (slaves < 1 || others < NSENT - 1) {
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

static void replica_start(void) {
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
  snprintf(dir, sizeof dir, "%s/replica", stack.dir);
  mkdir(dir, 0755);
  snprintf(conf, sizeof conf, "%s/redis.conf", dir);
  snprintf(log, sizeof log, "%s/redis.log", dir);
  snprintf(text, sizeof text, "include %s/deploy/redis/handoff.conf\n",
           HK_SOURCE_DIR);
  write_text(conf, text);
  snprintf(port, sizeof port, "%d", replica_port);
  snprintf(primary, sizeof primary, "%d", stack.redis_port);
  replica_pid = spawn(argv, log);
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
  sent_pid[i] = spawn(argv, log);
}

/* The stack with its Redis as primary, a replica and three sentinels;
 * handoff-fcgi and the workers find the primary through the sentinels. */
static void ha_up(void) {
  char extra[2048];
  replica_port = free_port();
  for (int i = 0; i < NSENT; i++) {
    sent_port[i] = free_port();
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
  replica_start();
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
  stop(&replica_pid, SIGTERM);
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

/* After the kill: once the sentinels name the new primary, the old one
 * comes back (as a process supervisor would start it again) and the
 * sentinels make it a replica of the new one. */
static void restart_old_when_moved(int old_port, int *restarted) {
  if (!*restarted && primary_port() != old_port && primary_port() != 0) {
    hk_redis_start();
    *restarted = 1;
  }
}

TestSuite(failover, .timeout = 300);

Test(failover, no_acknowledged_delivery_is_lost_when_the_primary_dies,
     .init = ha_up, .fini = ha_down) {
  long n = env_count("HK_FAILOVER_DELIVERIES", 600) / 2 * 2;
  long kill_at = n / 3;
  unsigned char *retry = calloc((size_t)n, 1);
  int64_t t0 = hk_now_ms() - 3 * 3600 * 1000LL;
  int64_t t_kill = 0;
  int64_t t_first = 0;
  int old_port = stack.redis_port;
  int restarted = 0;
  long refused = 0;
  const char *const worker_args[] = {"--claim-idle", "2s", NULL};
  int64_t next = hk_now_ms();

  cr_assert(retry != NULL);
  want_total = n;
  hk_worker_start(0, worker_args);
  for (long i = 0; i < n; i++) {
    struct hk_resp r;
    if (i == kill_at) {
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
    }
    if (t_kill > 0) {
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
    restart_old_when_moved(old_port, &restarted);
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
          "failover: %ld deliveries, %ld refused with 503 and resent; "
          "kill to first 202 on the new primary: %lld ms\n",
          n, refused, (long long)(t_first - t_kill));
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
  free(retry);
}
