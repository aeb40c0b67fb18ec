/*
 * test_reload.c -- SIGHUP under load: a source's secret rotated and a
 * notifier moved to another endpoint while two threads post signed
 * deliveries through nginx, as a busy sender would.
 *
 * The rotation is the one docs/config.md describes, with a sender that
 * follows it: the config lists the old secret; the new one is added and
 * both programs reloaded; the sender switches to the new one; once nothing
 * signed with the old one is in flight, the old one is removed and both
 * reloaded again. No delivery signed with a secret in rotation may be
 * refused on the way, none accepted may be lost (the worker processes
 * every one), a delivery signed with the removed secret is refused at the
 * end, and the first alert after the reload goes to the new endpoint.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"

/* "this is the old secret!!" and "this is the new secret!!", base64. */
#define OLD_SECRET "whsec_dGhpcyBpcyB0aGUgb2xkIHNlY3JldCEh"
#define NEW_SECRET "whsec_dGhpcyBpcyB0aGUgbmV3IHNlY3JldCEh"
#define LOADERS 2

static char keys[64];
static int port_old;
static int port_new;

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  char *s = calloc(1, 65536);
  size_t n;
  cr_assert(f != NULL && s != NULL, "cannot read %s", path);
  n = fread(s, 1, 65535, f);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* The secret list of source "rot" as the config writes it. */
static void secrets_json(char *out, size_t cap, int old, int new) {
  char a[128] = "";
  char b[128] = "";
  if (old) {
    snprintf(a, sizeof a, "{\"file\": \"%s/old.key\"}", keys);
  }
  if (new) {
    snprintf(b, sizeof b, "{\"file\": \"%s/new.key\"}", keys);
  }
  snprintf(out, cap, "[%s%s%s]", a, old && new ? ", " : "", b);
}

static void up(void) {
  char extra[4096];
  char sources[1024];
  char secrets[512];
  snprintf(keys, sizeof keys, "/tmp/hk-keys-XXXXXX");
  cr_assert(mkdtemp(keys) != NULL);
  {
    char p[128];
    snprintf(p, sizeof p, "%s/old.key", keys);
    write_text(p, OLD_SECRET);
    snprintf(p, sizeof p, "%s/new.key", keys);
    write_text(p, NEW_SECRET);
  }
  port_old = hk_receiver_start_at(0, 204);
  port_new = hk_receiver_start_at(1, 204);
  secrets_json(secrets, sizeof secrets, 1, 0);
  snprintf(sources, sizeof sources,
           ", \"rot\": {\"kind\": \"standard-webhooks\", \"secret\": %s}",
           secrets);
  snprintf(extra, sizeof extra,
           "\"events\": [{\"name\": \"journey\", \"source\": \"demo\","
           " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
           " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}},"
           " {\"name\": \"load\", \"source\": \"rot\","
           " \"type\": \"{type}\", \"subject\": \"company:{data.company_id}\","
           " \"at\": {\"path\": \"timestamp\", \"format\": \"unix_ms\"}}],"
           "\"stages\": {\"mql\": {\"owner\": \"Marketing\", \"entered_on\":"
           " [\"lead.mql\"]}, \"sql\": {\"owner\": \"SDR team\","
           " \"entered_on\": [\"lead.contacted\"]}},"
           "\"handoffs\": {\"lead_response\": {\"owner\": \"SDR team\","
           " \"from\": \"mql\", \"to\": \"sql\", \"start\": [\"lead.mql\"],"
           " \"stop\": [\"lead.contacted\"], \"sla\": {\"within\": \"1h\"},"
           " \"notify\": [\"hook\"]}},"
           "\"notifiers\": {\"hook\": {\"kind\": \"webhook\", \"url\":"
           " \"http://127.0.0.1:%d/alerts\", \"secret\": {\"env\":"
           " \"HK_TEST_SECRET\"}, \"retries\": 2, \"backoff\": \"100ms\","
           " \"timeout\": \"1s\"}},",
           port_old);
  hk_stack_up_with(extra, sources);
}

static void down(void) {
  char cmd[128];
  hk_stack_down();
  hk_receiver_stop_at(0);
  hk_receiver_stop_at(1);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", keys);
  if (system(cmd) != 0) {
    fprintf(stderr, "could not remove %s\n", keys);
  }
}

/* Replaces the first `from` in text (a new string of 70000 bytes). */
static char *replace(char *text, const char *from, const char *to) {
  char *out = calloc(1, 70000);
  const char *at = strstr(text, from);
  cr_assert(at != NULL, "no %s in the config", from);
  snprintf(out, 70000, "%.*s%s%s", (int)(at - text), text, to,
           at + strlen(from));
  free(text);
  return out;
}

/* Rewrites the config as an operator would (a new file moved into place):
 * the secrets of "rot" from `from` to `to`, and the notifier's URL from
 * the first endpoint to port (0: left as it is). */
static void rewrite(const char *from, const char *to, int port) {
  char path[400];
  char tmp[420];
  char was[64];
  char now[64];
  char *text;
  snprintf(path, sizeof path, "%s/handoff.json", stack.dir);
  snprintf(tmp, sizeof tmp, "%s.new", path);
  text = replace(read_text(path), from, to);
  if (port != 0) {
    snprintf(was, sizeof was, "127.0.0.1:%d/", port_old);
    snprintf(now, sizeof now, "127.0.0.1:%d/", port);
    text = replace(text, was, now);
  }
  write_text(tmp, text);
  free(text);
  cr_assert(rename(tmp, path) == 0);
}

static size_t fcgi_reloads_wanted;
static size_t worker_reloads_wanted;

/* Lines of the file at path that hold needle. */
static size_t file_count(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  char line[8192];
  size_t n = 0;
  cr_assert(f != NULL, "cannot read %s", path);
  while (fgets(line, sizeof line, f) != NULL) {
    n += strstr(line, needle) != NULL;
  }
  fclose(f);
  return n;
}

static int both_reloaded(void) {
  char path[400];
  snprintf(path, sizeof path, "%s/fcgi.log", stack.dir);
  return file_count(path, "configuration reloaded") >= fcgi_reloads_wanted &&
         hk_worker_log_count(0, "config reloaded") >= worker_reloads_wanted;
}

/* SIGHUP to the responder and the worker; waits until both logged it. */
static void reload_both(void) {
  fcgi_reloads_wanted++;
  worker_reloads_wanted++;
  kill(stack.fcgi, SIGHUP);
  kill(stack.workers[0], SIGHUP);
  cr_assert(hk_wait_until(both_reloaded, 10000), "no reload logged");
}

/* ---------------------------------------------------------------------------
 * The sender: phase 1 signs with the old secret, phase 2 with the new.
 * ------------------------------------------------------------------------- */

static atomic_int phase;
static atomic_int stop_load;

struct loader {
  int n;
  pthread_t thread;
  atomic_int last_phase; /* the phase of the last delivery answered */
  size_t sent, accepted;
  char refused[512]; /* the first refusal: status, phase and body */
  size_t nrefused;
};

static void *load(void *arg) {
  struct loader *l = arg;
  while (!atomic_load(&stop_load)) {
    int ph = atomic_load(&phase);
    char id[64];
    char body[256];
    struct hk_resp r;
    int64_t ts = hk_now_s();
    snprintf(id, sizeof id, "load-%d-%zu", l->n, l->sent);
    snprintf(body, sizeof body,
             "{\"type\":\"load.ping\",\"timestamp\":%lld,\"data\":"
             "{\"company_id\":\"%d%zu\"}}",
             (long long)hk_now_ms(), l->n, l->sent);
    l->sent++;
    if (hk_post_signed("rot", ph == 1 ? OLD_SECRET : NEW_SECRET, id, ts, body,
                       &r) == 0 &&
        r.status == 202) {
      l->accepted++;
    } else if (l->nrefused++ == 0) {
      snprintf(l->refused, sizeof l->refused, "%s in phase %d: %ld %.300s", id,
               ph, r.status, r.body);
    }
    atomic_store(&l->last_phase, ph);
  }
  return NULL;
}

static struct loader loaders[LOADERS];

/* Every loader has had a delivery answered since phase 2 began. */
static int all_in_phase_2(void) {
  for (int i = 0; i < LOADERS; i++) {
    if (atomic_load(&loaders[i].last_phase) < 2) {
      return 0;
    }
  }
  return 1;
}

static size_t want_processed;

static int all_processed(void) {
  return hk_worker_log_count(0, "source=rot kind=") >= want_processed;
}

static int old_alerted(void) {
  return hk_receiver_count_at(0) >= 1;
}

static int new_alerted(void) {
  return hk_receiver_count_at(1) >= 1;
}

/* Lets the sender run for ms. */
static void under_load(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

Test(reload, rotates_a_secret_and_moves_a_notifier_under_load, .init = up,
     .fini = down, .timeout = 120) {
  int64_t three_hours_ago = hk_now_ms() - (int64_t)3 * 3600 * 1000;
  char old_only[256];
  char both[256];
  char new_only[256];
  size_t sent = 0;
  size_t accepted = 0;
  struct hk_resp r;

  secrets_json(old_only, sizeof old_only, 1, 0);
  secrets_json(both, sizeof both, 1, 1);
  secrets_json(new_only, sizeof new_only, 0, 1);
  hk_worker_start(0, NULL);
  /* The notifier as first configured gets the first alert. */
  hk_post_event("lead.mql", 1, three_hours_ago, "");
  cr_assert(hk_wait_until(old_alerted, 15000), "no alert at the first hook");

  atomic_store(&phase, 1);
  atomic_store(&stop_load, 0);
  for (int i = 0; i < LOADERS; i++) {
    memset(&loaders[i], 0, sizeof loaders[i]);
    loaders[i].n = i;
    cr_assert(pthread_create(&loaders[i].thread, NULL, load, &loaders[i]) == 0);
  }
  under_load(500);
  /* 1. The new secret beside the old, and the notifier moved. */
  rewrite(old_only, both, port_new);
  reload_both();
  under_load(300);
  /* 2. The sender switches to the new secret. */
  atomic_store(&phase, 2);
  cr_assert(hk_wait_until(all_in_phase_2, 10000));
  under_load(300);
  /* 3. Nothing signed with the old secret is in flight: it goes. */
  rewrite(both, new_only, 0);
  reload_both();
  under_load(500);
  atomic_store(&stop_load, 1);
  for (int i = 0; i < LOADERS; i++) {
    pthread_join(loaders[i].thread, NULL);
    cr_assert_eq(loaders[i].nrefused, 0, "%zu refused; the first: %s",
                 loaders[i].nrefused, loaders[i].refused);
    sent += loaders[i].sent;
    accepted += loaders[i].accepted;
  }
  cr_log_info("reload under load: %zu deliveries sent, %zu accepted", sent,
              accepted);
  cr_assert_gt(accepted, 50, "too little load: %zu", accepted);

  /* None lost: the worker processed every delivery it was handed. */
  want_processed = accepted;
  cr_assert(hk_wait_until(all_processed, 30000), "processed %zu of %zu",
            hk_worker_log_count(0, "source=rot kind="), accepted);
  cr_assert_eq(hk_worker_log_count(0, "source=rot kind="), accepted);
  cr_assert_eq(hk_redis_int("XLEN handoff:dlq"), 0);

  /* The removed secret no longer verifies. */
  cr_assert_eq(hk_post_signed("rot", OLD_SECRET, "late-old", hk_now_s(),
                              "{\"type\":\"load.ping\"}", &r),
               0);
  cr_assert_eq(r.status, 401, "%s", r.body);

  /* The next alert goes to the new endpoint, none to the old. */
  hk_post_event("lead.mql", 2, three_hours_ago, "");
  cr_assert(hk_wait_until(new_alerted, 15000), "no alert at the new hook");
  cr_assert_eq(hk_receiver_count_at(0), 1);
  cr_assert_eq(hk_receiver_count_at(1), 1);
}

/* ---------------------------------------------------------------------------
 * Redis moved by a reload: a worker started without --redis follows the
 * config's redis settings to a second server.
 * ------------------------------------------------------------------------- */

static long long count_in(const char *text, const char *needle) {
  long long n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) {
    n++;
  }
  return n;
}

static pid_t redis2;
static int redis2_port;
static pid_t mover;
static char mover_log[400];

static redisContext *redis2_connect(void) {
  struct timeval tv = {0, 200000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", redis2_port, tv);
  if (c != NULL && c->err) {
    redisFree(c);
    c = NULL;
  }
  return c;
}

/* For the second Redis: with a NULL needle, 1 when command's integer
 * reply is above 0; else how many times needle is in its string reply. */
static long long redis2_ask(const char *command, const char *needle) {
  redisContext *c = redis2_connect();
  redisReply *r;
  long long n = 0;
  if (c == NULL) {
    return 0;
  }
  r = redisCommand(c, command);
  if (r != NULL && r->type == REDIS_REPLY_INTEGER && needle == NULL) {
    n = r->integer > 0;
  } else if (r != NULL && r->type == REDIS_REPLY_STRING && needle != NULL) {
    n = count_in(r->str, needle);
  }
  if (r != NULL) {
    freeReplyObject(r);
  }
  redisFree(c);
  return n;
}

static int redis2_up(void) {
  redisContext *c = redis2_connect();
  redisReply *r = c != NULL ? redisCommand(c, "PING") : NULL;
  int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
  if (r != NULL) {
    freeReplyObject(r);
  }
  if (c != NULL) {
    redisFree(c);
  }
  return ok;
}

static void up_two(void) {
  char port[16];
  const char *argv[] = {"/usr/bin/redis-server",
                        "--port",
                        port,
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        NULL};
  up();
  for (int tries = 0; tries < 10 && !redis2_up(); tries++) {
    char log[400];
    redis2_port = hk_free_port();
    snprintf(port, sizeof port, "%d", redis2_port);
    snprintf(log, sizeof log, "%s/redis2.log", stack.dir);
    redis2 = hk_spawn(argv, log);
    for (int i = 0; i < 200 && !redis2_up(); i++) {
      struct timespec ts = {0, 10000000L};
      nanosleep(&ts, NULL);
    }
  }
  cr_assert(redis2_up(), "the second redis did not start");
}

static void down_two(void) {
  int status;
  if (mover > 0) {
    kill(mover, SIGTERM);
    waitpid(mover, &status, 0);
    mover = 0;
  }
  if (redis2 > 0) {
    kill(redis2, SIGTERM);
    waitpid(redis2, &status, 0);
    redis2 = 0;
  }
  down();
}

static int mover_reloaded(void) {
  return file_count(mover_log, "config reloaded") >= 1;
}

/* The consumer loop and the alert sender block in XREADGROUP on the
 * second Redis, and the KPI thread wrote its documents there. */
static int mover_on_redis2(void) {
  return redis2_ask("EXISTS handoff:kpi:health", NULL) &&
         redis2_ask("CLIENT LIST", "cmd=xreadgroup") >= 2;
}

static int mover_processed_first(void) {
  return file_count(mover_log, "delivery=msg_1_") >= 1;
}

Test(reload, a_worker_follows_redis_to_another_server, .init = up_two,
     .fini = down_two, .timeout = 60) {
  static const char worker[] = HK_BIN_DIR "/workers/handoff-worker";
  const char *argv[] = {worker,  "--config",    NULL,    "--name",
                        "mover", "--kpi-every", "200ms", NULL};
  char config[400];
  char was[64];
  char now[64];
  snprintf(config, sizeof config, "%s/handoff.json", stack.dir);
  snprintf(mover_log, sizeof mover_log, "%s/mover.log", stack.dir);
  argv[2] = config;
  /* No --redis: the worker reads the config's redis, the first server. */
  mover = hk_spawn(argv, mover_log);
  hk_post_event("lead.mql", 1, hk_now_ms(), "");
  cr_assert(hk_wait_until(mover_processed_first, 10000), "not processed");
  cr_assert(!mover_on_redis2());

  snprintf(was, sizeof was, "\"port\": %d,", stack.redis_port);
  snprintf(now, sizeof now, "\"port\": %d,", redis2_port);
  {
    char tmp[420];
    char *text = replace(read_text(config), was, now);
    snprintf(tmp, sizeof tmp, "%s.new", config);
    write_text(tmp, text);
    free(text);
    cr_assert(rename(tmp, config) == 0);
  }
  kill(mover, SIGHUP);
  cr_assert(hk_wait_until(mover_reloaded, 10000), "no reload logged");
  /* Its consumer loop, KPI thread and alert sender all moved. */
  cr_assert(hk_wait_until(mover_on_redis2, 10000),
            "the worker did not follow redis to port %d", redis2_port);
  /* None of them is left reading the first. */
  {
    char *clients = hk_redis_str("CLIENT LIST");
    cr_assert_not_null(clients);
    cr_assert_eq(count_in(clients, "cmd=xreadgroup"), 0, "%s", clients);
    free(clients);
  }
}
