/*
 * test_hosts.c -- many hosts: two handoff-fcgi behind one nginx upstream,
 * two workers in one consumer group, each a separate process with its own
 * socket, as separate hosts would be, on one Redis.
 *
 * nginx's upstream lists both responders with max_fails=1 fail_timeout=10s,
 * as deploy/nginx/upstream.conf shows; two more server blocks reach each
 * responder alone, so the test can ask both the same question. Deliveries
 * are posted through nginx by POSTERS threads at once; one responder is
 * SIGKILLed mid-stream. What nginx does then is measured and asserted:
 * the requests that were inside the killed responder get nginx's 503
 * (a 502 turned into JSON by the snippet's error_page), every request sent
 * once the responder is gone gets its 202 from the other one (a refused
 * connect is passed to the next server, POST or not), and every delivery,
 * resent until its 202, is a journey event once.
 *
 *   HK_HOSTS_DELIVERIES   deliveries of the run (default 600)
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define POSTERS 4
#define MAX_DELIVERIES 20000

#define JOURNEY_CONFIG                                                         \
  "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","                 \
  " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","         \
  " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}}],"

static char sock_b[320];
static pid_t fcgi_b;
/* The ports of the server blocks that reach responder A, B alone. */
static int port_a;
static int port_b;
static int port_lb;

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long env_count(const char *name, long def) {
  const char *v = getenv(name);
  return v != NULL && atol(v) > 0 ? atol(v) : def;
}

static const char fcgi_bin[] = HK_BIN_DIR "/fcgi/handoff-fcgi";

/* A handoff-fcgi of its own on sock, as on another host. */
static pid_t responder_start(const char *sock, const char *log) {
  char config[400];
  char redis[64];
  char logpath[400];
  const char *argv[] = {fcgi_bin, "--config",      config, "--listen",
                        sock,     "--socket-mode", "0666", "--threads",
                        "4",      "--redis",       redis,  NULL};
  pid_t pid;
  snprintf(config, sizeof config, "%s/handoff.json", stack.dir);
  snprintf(redis, sizeof redis, "127.0.0.1:%d", stack.redis_port);
  snprintf(logpath, sizeof logpath, "%s/%s", stack.dir, log);
  unlink(sock);
  pid = hk_spawn(argv, logpath);
  for (int i = 0; i < 1000; i++) {
    if (hk_unix_accepts(sock)) {
      return pid;
    }
    msleep(10);
  }
  cr_assert_fail("handoff-fcgi did not open %s", sock);
  return 0;
}

static void reap(pid_t pid, int sig) {
  int status;
  if (pid > 0) {
    kill(pid, sig);
    waitpid(pid, &status, 0);
  }
}

/* One server block that reaches one responder alone. */
static void direct_server(char *out, size_t cap, int port, const char *sock) {
  snprintf(out, cap,
           "  server {\n    listen 127.0.0.1:%d;\n"
           "    location / { include fastcgi_params;"
           " fastcgi_keep_conn off; fastcgi_pass unix:%s; }\n  }\n",
           port, sock);
}

/* nginx with the upstream over both responders; 1 when it listens. */
static int nginx_lb_start(void) {
  char conf[6000];
  char da[600];
  char db[600];
  char path[400];
  const char *argv[] = {"/usr/sbin/nginx", "-p", stack.dir, "-c", path, NULL};
  FILE *f;
  port_lb = hk_free_port();
  port_a = hk_free_port();
  port_b = hk_free_port();
  direct_server(da, sizeof da, port_a, stack.fcgi_sock);
  direct_server(db, sizeof db, port_b, sock_b);
  snprintf(path, sizeof path, "%s/nginx-hosts.conf", stack.dir);
  snprintf(conf, sizeof conf,
           "daemon off;\nmaster_process off;\n%s"
           "error_log %s/nginx-error.log warn;\npid %s/nginx-hosts.pid;\n"
           "events { worker_connections 256; }\n"
           "http {\n  access_log off;\n"
           "  client_body_temp_path %s/body;\n  fastcgi_temp_path %s/fastcgi;\n"
           "  proxy_temp_path %s/proxy;\n  scgi_temp_path %s/scgi;\n"
           "  uwsgi_temp_path %s/uwsgi;\n"
           "  upstream handoff_fcgi {\n"
           "    server unix:%s max_fails=1 fail_timeout=10s;\n"
           "    server unix:%s max_fails=1 fail_timeout=10s;\n  }\n"
           "  server {\n    listen 127.0.0.1:%d;\n"
           "    include %s/deploy/nginx/handoff.conf;\n  }\n%s%s"
           "}\n",
           geteuid() == 0 ? "user root;\n" : "", stack.dir, stack.dir,
           stack.dir, stack.dir, stack.dir, stack.dir, stack.dir,
           stack.fcgi_sock, sock_b, port_lb, HK_SOURCE_DIR, da, db);
  f = fopen(path, "w");
  cr_assert(f != NULL);
  fputs(conf, f);
  fclose(f);
  stack.nginx = hk_spawn(argv, "/dev/null");
  for (int i = 0; i < 1000; i++) {
    int status;
    if (hk_port_open(port_lb) && hk_port_open(port_a) && hk_port_open(port_b)) {
      stack.http_port = port_lb;
      return 1;
    }
    if (waitpid(stack.nginx, &status, WNOHANG) == stack.nginx) {
      stack.nginx = 0;
      return 0;
    }
    msleep(10);
  }
  cr_assert_fail("nginx did not start within 10 s");
  return 0;
}

static void hosts_up(void) {
  hk_stack_up(JOURNEY_CONFIG);
  snprintf(sock_b, sizeof sock_b, "%s/fcgi-b.sock", stack.dir);
  fcgi_b = responder_start(sock_b, "fcgi-b.log");
  /* The harness's nginx knows one responder: ours replaces it. */
  reap(stack.nginx, SIGQUIT);
  stack.nginx = 0;
  for (int i = 0; !nginx_lb_start(); i++) {
    cr_assert(i < 10, "nginx found no free ports in 10 tries");
  }
}

static void hosts_down(void) {
  reap(fcgi_b, SIGTERM);
  fcgi_b = 0;
  hk_stack_down();
}

TestSuite(hosts, .init = hosts_up, .fini = hosts_down, .timeout = 300);

/* ---------------------------------------------------------------------------
 * Posting from several threads at once
 * ------------------------------------------------------------------------- */

/* Microseconds on the monotonic clock: the kill and a request's start can
 * fall in the same millisecond. */
static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct outcome {
  int64_t start_us;
  long status; /* 0: no HTTP answer */
  char code[32];
};

static struct outcome outcomes[MAX_DELIVERIES];
static atomic_long next_delivery;
static long total;

static int post_delivery(long i, struct hk_resp *r) {
  char body[256];
  char id[48];
  long subject = i / 2;
  /* From 2026-01-01; the contact a minute after the MQL. */
  int64_t at =
      1767225600000LL + (int64_t)subject * 1000 + (i % 2 == 1 ? 60000 : 0);
  snprintf(body, sizeof body,
           "{\"type\": \"%s\", \"timestamp\": %lld, \"data\": "
           "{\"company_id\": \"%ld\"}}",
           i % 2 == 0 ? "lead.mql" : "lead.contacted", (long long)at, subject);
  snprintf(id, sizeof id, "msg_hosts_%ld", i);
  return hk_post_signed("demo", HK_TEST_SECRET, id, hk_now_s(), body, r);
}

static void *poster(void *arg) {
  static __thread struct hk_resp r;
  (void)arg;
  for (long i; (i = atomic_fetch_add(&next_delivery, 1)) < total;) {
    struct outcome *o = &outcomes[i];
    o->start_us = now_us();
    o->status = post_delivery(i, &r) == 0 ? r.status : 0;
    if (o->status != 202) {
      hk_error_code(&r, o->code, sizeof o->code);
    }
    msleep(2);
  }
  return NULL;
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

static int all_journaled(void) {
  return counted("lead.mql") == total / 2 &&
         counted("lead.contacted") == total / 2 && pending() == 0;
}

/* Resends each delivery without a 202 (same id) until it gets one. */
static void resend_failed(void) {
  for (long i = 0; i < total; i++) {
    for (int tries = 0; outcomes[i].status != 202; tries++) {
      struct hk_resp r;
      cr_assert(tries < 100, "delivery %ld never got its 202", i);
      if (post_delivery(i, &r) == 0 && r.status == 202) {
        break;
      }
      cr_assert(r.status == 503, "a resent delivery got %ld", r.status);
      msleep(100);
    }
  }
}

/* The body of GET path from the server block on port. */
static void get_from(int port, const char *path, struct hk_resp *r) {
  char auth[128];
  const char *headers[] = {auth, NULL};
  int saved = stack.http_port;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", HK_TEST_TOKEN);
  stack.http_port = port;
  cr_assert_eq(hk_http("GET", path, headers, NULL, 0, r), 0);
  stack.http_port = saved;
  cr_assert_eq(r->status, 200, "GET %s on %d: %ld %s", path, port, r->status,
               r->body);
}

/* Both responders answer path with the same document. */
static void same_from_both(const char *path) {
  static struct hk_resp a;
  static struct hk_resp b;
  get_from(port_a, path, &a);
  get_from(port_b, path, &b);
  cr_assert_str_eq(a.body, b.body, "%s differs between the responders", path);
}

/* Lines of the stack folder's file name holding needle. */
static long lines_with(const char *name, const char *needle) {
  char path[400];
  char line[8192];
  long n = 0;
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", stack.dir, name);
  f = fopen(path, "r");
  if (f == NULL) {
    return 0;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    n += strstr(line, needle) != NULL;
  }
  fclose(f);
  return n;
}

static long long consumers(void) {
  return hk_redis_int("EVAL %s 1 handoff:intake",
                      "local ok, c = pcall(redis.call, 'XINFO', 'CONSUMERS',"
                      " KEYS[1], 'workers') if ok then return #c end"
                      " return -1");
}

Test(hosts, a_responder_killed_mid_stream_loses_nothing_and_either_answers) {
  pthread_t t[POSTERS];
  int64_t dead_us;
  long failed = 0;
  long failed_late = 0;
  long from_nginx = 0;
  total = env_count("HK_HOSTS_DELIVERIES", 600) / 2 * 2;
  cr_assert_leq(total, MAX_DELIVERIES);
  memset(outcomes, 0, sizeof outcomes);
  atomic_store(&next_delivery, 0);
  hk_worker_start(0, NULL);
  hk_worker_start(1, NULL);
  for (int k = 0; k < POSTERS; k++) {
    cr_assert_eq(pthread_create(&t[k], NULL, poster, NULL), 0);
  }
  while (atomic_load(&next_delivery) < total / 3) {
    msleep(1);
  }
  /* Responder A's host is lost: SIGKILL, as an OOM kill would. */
  reap(stack.fcgi, SIGKILL);
  stack.fcgi = 0;
  dead_us = now_us();
  for (int k = 0; k < POSTERS; k++) {
    pthread_join(t[k], NULL);
  }
  for (long i = 0; i < total; i++) {
    if (outcomes[i].status == 202) {
      continue;
    }
    failed++;
    failed_late += outcomes[i].start_us > dead_us;
    fprintf(stderr, "hosts: delivery %ld got %ld (%s), sent %lld us %s\n", i,
            outcomes[i].status, outcomes[i].code,
            (long long)llabs(dead_us - outcomes[i].start_us),
            outcomes[i].start_us > dead_us ? "after A died" : "before A died");
    from_nginx += outcomes[i].status == 503 &&
                  strcmp(outcomes[i].code, "unavailable") == 0;
    cr_assert(outcomes[i].status == 503,
              "delivery %ld got %ld (%s): only 503s are retried by senders", i,
              outcomes[i].status, outcomes[i].code);
  }
  fprintf(stderr,
          "hosts: %ld deliveries by %d posters, responder A SIGKILLed after"
          " %ld: %ld got a 503 (%ld nginx's own, for a request inside the"
          " killed responder), %ld of them sent after it died\n",
          total, POSTERS, total / 3, failed, from_nginx, failed_late);
  /* nginx spread the deliveries over both before the kill. */
  cr_assert_gt(lines_with("fcgi.log", "status=202"), 0);
  cr_assert_gt(lines_with("fcgi-b.log", "status=202"), 0);
  /* At most one request per poster was inside the responder; none sent
   * after it died fails: nginx passes a refused connect to the other. */
  cr_assert_leq(failed, POSTERS);
  cr_assert_eq(failed_late, 0);
  resend_failed();
  cr_assert(hk_wait_until(all_journaled, 30000),
            "lost or doubled: mql %lld, contacted %lld of %ld each; %lld "
            "pending",
            counted("lead.mql"), counted("lead.contacted"), total / 2,
            pending());
  cr_assert_eq(consumers(), 2, "both workers read in the one group");
  /* A's host comes back (systemd's Restart=): both answer the same. */
  stack.fcgi = responder_start(stack.fcgi_sock, "fcgi.log");
  same_from_both("/v1/subjects/company:0");
  same_from_both("/v1/subjects/company:7");
  same_from_both("/v1/handoffs");
}
