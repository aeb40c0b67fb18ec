/*
 * test_ctl.c -- handoffctl as a newcomer meets it: every command's --help,
 * sign with nothing but its source's secret, and Redis found the ways the
 * README says (a relative unix: path, $HANDOFF_REDIS, the dev stack's
 * ./.run/redis.sock), against a real redis-server on a unix socket.
 *
 * Each test writes its config in a private folder and runs this build's
 * handoffctl through sh, with the variables it reads cleared first, so the
 * environment of whoever runs the suite cannot change the result.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The variables handoffctl reads, cleared before each command. */
#define CLEAN_ENV                                                              \
  "env -u HANDOFF_REDIS -u HANDOFF_CONFIG -u CTL_TEST_SECRET "                 \
  "-u CTL_TEST_TOKEN "

static char dir[64];    /* the test's folder: configs, and .run/ */
static char sock[300];  /* dir/.run/redis.sock */
static pid_t redis_pid; /* 0 when this test started none */

/* A config with one standard-webhooks source and one API token, each
 * from its own variable; redis is spliced in ("" for none). */
static void write_config(const char *name, const char *redis) {
  char path[320];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "w");
  cr_assert(f != NULL);
  fprintf(f,
          "{%s\"sources\": {\"demo\": {\"kind\": \"standard-webhooks\", "
          "\"secret\": {\"env\": \"CTL_TEST_SECRET\"}}},\n"
          " \"api\": {\"tokens\": [{\"name\": \"t\", \"env\": "
          "\"CTL_TEST_TOKEN\"}]}}\n",
          redis);
  fclose(f);
}

/* Runs "cd DIR && env … handoffctl ARGS" through sh; stdout goes to out,
 * stderr to err (each cap bytes, terminated). Returns the exit status. */
static int ctl(const char *env, const char *args, char *out, char *err,
               size_t cap) {
  char cmd[2000];
  char errpath[320];
  FILE *f;
  size_t len;
  int status;
  snprintf(errpath, sizeof errpath, "%s/stderr", dir);
  snprintf(cmd, sizeof cmd,
           "cd '%s' && " CLEAN_ENV "%s '%s/ctl/handoffctl' %s 2>'%s'", dir, env,
           HK_BIN_DIR, args, errpath);
  f = popen(cmd, "r");
  cr_assert(f != NULL);
  len = fread(out, 1, cap - 1, f);
  out[len] = '\0';
  status = pclose(f);
  f = fopen(errpath, "r");
  cr_assert(f != NULL);
  len = fread(err, 1, cap - 1, f);
  err[len] = '\0';
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/hk-ctl-XXXXXX");
  cr_assert(mkdtemp(dir) != NULL);
  redis_pid = 0;
}

static void remove_dir(void) {
  char cmd[300];
  if (redis_pid > 0) {
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert(system(cmd) == 0);
}

static int redis_answers(void) {
  struct timeval tv = {1, 0};
  redisContext *c = redisConnectUnixWithTimeout(sock, tv);
  redisReply *r = c != NULL && !c->err ? redisCommand(c, "PING") : NULL;
  int ok =
      r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
  if (r != NULL) {
    freeReplyObject(r);
  }
  if (c != NULL) {
    redisFree(c);
  }
  return ok;
}

/* A redis-server on dir/.run/redis.sock, as deploy/dev runs it, answering
 * PING (not only listening) before the test goes on. */
static void start_redis(void) {
  char run[96];
  make_dir();
  snprintf(run, sizeof run, "%s/.run", dir);
  cr_assert(mkdir(run, 0700) == 0);
  snprintf(sock, sizeof sock, "%s/redis.sock", run);
  redis_pid = fork();
  cr_assert(redis_pid >= 0);
  if (redis_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    freopen("/dev/null", "w", stdout);
    execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
           "--save", "", "--appendonly", "no", "--dir", run, (char *)NULL);
    _exit(127);
  }
  cr_assert(hk_wait_until(redis_answers, 10000), "redis-server on %s", sock);
}

/* ---------------------------------------------------------------------------
 * --help
 * ------------------------------------------------------------------------- */

static const char *const commands[] = {"check-config", "sign",   "queue",
                                       "status",       "clocks", "dlq"};

/* Indexes, not pointers: Criterion copies parameters into each test's own
 * process, where only plain data means the same thing. */
ParameterizedTestParameters(ctl_help, prints_the_command_usage_on_stdout) {
  static int index[sizeof commands / sizeof commands[0]];
  for (size_t i = 0; i < sizeof index / sizeof index[0]; i++) {
    index[i] = (int)i;
  }
  return cr_make_param_array(int, index, sizeof index / sizeof index[0]);
}

ParameterizedTest(int *i, ctl_help, prints_the_command_usage_on_stdout,
                  .init = make_dir, .fini = remove_dir) {
  const char *command = commands[*i];
  char out[8192], err[8192], args[64], want[64];
  snprintf(args, sizeof args, "%s --help", command);
  snprintf(want, sizeof want, "usage: handoffctl %s", command);
  cr_assert_eq(ctl("", args, out, err, sizeof out), 0, "%s", err);
  cr_assert(strncmp(out, want, strlen(want)) == 0, "%s", out);
  cr_assert(strstr(out, "69 Redis unreachable") != NULL, "%s", out);
  cr_assert_str_empty(err);
}

Test(ctl_help, help_command_names_the_command, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  cr_assert_eq(ctl("", "help dlq", out, err, sizeof out), 0);
  cr_assert(strncmp(out, "usage: handoffctl dlq list", 26) == 0, "%s", out);
}

Test(ctl_help, a_bad_option_exits_2_with_the_usage_on_stderr, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  cr_assert_eq(ctl("", "queue --bogus", out, err, sizeof out), 2);
  cr_assert_str_empty(out);
  cr_assert(strstr(err, "usage: handoffctl queue") != NULL, "%s", err);
}

/* ---------------------------------------------------------------------------
 * sign
 * ------------------------------------------------------------------------- */

Test(ctl_sign, needs_only_the_secret_of_its_source, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  /* CTL_TEST_TOKEN, the API token, stays unset. */
  cr_assert_eq(ctl("CTL_TEST_SECRET=" HK_TEST_SECRET,
                   "sign --config c.json --id msg_1 --timestamp 1700000000 "
                   "demo /dev/null",
                   out, err, sizeof out),
               0, "%s", err);
  cr_assert(strstr(out, "webhook-id: msg_1\n") != NULL, "%s", out);
  cr_assert(strstr(out, "webhook-timestamp: 1700000000\n") != NULL, "%s", out);
  cr_assert(strstr(out, "webhook-signature: v1,") != NULL, "%s", out);
}

Test(ctl_sign, refuses_a_timestamp_that_is_not_unix_seconds, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  cr_assert_eq(ctl("CTL_TEST_SECRET=" HK_TEST_SECRET,
                   "sign --config c.json --timestamp 17e8 demo /dev/null", out,
                   err, sizeof out),
               2);
  cr_assert_str_empty(out);
  cr_assert(strstr(err, "--timestamp wants unix seconds, not 17e8") != NULL,
            "%s", err);
}

Test(ctl_sign, exits_78_naming_the_unset_source_secret, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  cr_assert_eq(ctl("CTL_TEST_TOKEN=x", "sign --config c.json demo /dev/null",
                   out, err, sizeof out),
               78);
  cr_assert_str_empty(out);
  cr_assert(strstr(err, "environment variable CTL_TEST_SECRET is not set") !=
                NULL,
            "%s", err);
}

Test(ctl_sign, takes_the_config_from_HANDOFF_CONFIG, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  cr_assert_eq(ctl("HANDOFF_CONFIG=c.json CTL_TEST_SECRET=" HK_TEST_SECRET,
                   "sign demo /dev/null", out, err, sizeof out),
               0, "%s", err);
  cr_assert(strstr(out, "webhook-signature: v1,") != NULL, "%s", out);
}

/* ---------------------------------------------------------------------------
 * Finding Redis
 * ------------------------------------------------------------------------- */

Test(ctl_redis, takes_a_relative_unix_path_from_the_current_directory,
     .init = start_redis, .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "\"redis\": {\"host\": \"127.0.0.1\", \"port\": 1},");
  cr_assert_eq(ctl("", "queue --config c.json --redis unix:.run/redis.sock",
                   out, err, sizeof out),
               0, "%s", err);
  cr_assert(strncmp(out, "length     0\n", 13) == 0, "%s", out);
}

Test(ctl_redis, takes_HANDOFF_REDIS_over_the_config, .init = start_redis,
     .fini = remove_dir) {
  char out[8192], err[8192], env[400];
  write_config("c.json", "\"redis\": {\"host\": \"127.0.0.1\", \"port\": 1},");
  snprintf(env, sizeof env, "HANDOFF_REDIS=unix:%s", sock);
  cr_assert_eq(ctl(env, "queue --config c.json", out, err, sizeof out), 0, "%s",
               err);
  cr_assert(strncmp(out, "length     0\n", 13) == 0, "%s", out);
}

Test(ctl_redis, finds_the_dev_stack_when_the_config_names_no_redis,
     .init = start_redis, .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  cr_assert_eq(ctl("", "queue --config c.json", out, err, sizeof out), 0, "%s",
               err);
  cr_assert(strncmp(out, "length     0\n", 13) == 0, "%s", out);
}

Test(ctl_redis, keeps_the_config_redis_over_the_dev_stack_and_exits_69,
     .init = start_redis, .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "\"redis\": {\"host\": \"127.0.0.1\", \"port\": 1},");
  cr_assert_eq(ctl("", "queue --config c.json", out, err, sizeof out), 69, "%s",
               err);
  cr_assert_str_empty(out);
}

Test(ctl_redis, a_malformed_HANDOFF_REDIS_exits_2_naming_it, .init = make_dir,
     .fini = remove_dir) {
  char out[8192], err[8192];
  write_config("c.json", "");
  cr_assert_eq(
      ctl("HANDOFF_REDIS=:1", "queue --config c.json", out, err, sizeof out),
      2);
  cr_assert(strstr(err, "(from HANDOFF_REDIS)") != NULL, "%s", err);
}
