/*
 * test_e2e.c -- a scripted month of a B2B SaaS journey, end to end.
 *
 * tests/npm/month.js holds the script: about 300 companies over the past
 * 30 days, from leads and MQLs to first touches, deals, wins, Stripe
 * subscriptions and paid invoices and onboarding kickoffs. It gives the
 * config the stack runs with (--config-out: the mapping rules, stages,
 * handoffs and KPIs), posts the month through nginx as webhooks signed by
 * the providers' own libraries, waits for the queue to drain and for KPI
 * documents computed after that, and compares every number of
 * /v1/handoffs and /v1/stages with what it computes on its own from the
 * script. This test starts the real stack for it, with one worker writing
 * the documents every 200 ms, and passes when month.js exits 0; its
 * report is printed either way.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MONTH HK_SOURCE_DIR "/tests/npm/month.js"
#define STRIPE_SECRET "whsec_test_month_7Hq2Lr9XcV"
#define HUBSPOT_SECRET "hubspot-month-secret-3e81c0"

/* The whole of a small file (caller frees). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  cr_assert(f != NULL, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = calloc(1, (size_t)n + 1);
  cr_assert(buf != NULL);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return buf;
}

/* Runs month.js with args, printing its report; returns its exit status. */
static int month(const char *args) {
  char cmd[1200];
  char line[2048];
  FILE *p;
  int rc;
  snprintf(cmd, sizeof cmd, "node '%s' %s 2>&1", MONTH, args);
  p = popen(cmd, "r");
  cr_assert(p != NULL);
  while (fgets(line, sizeof line, p) != NULL) {
    fputs(line, stderr);
  }
  rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void up(void) {
  char *config;
  char *sources;
  /* The fragments go to /tmp first: the stack's folder does not exist
   * before the stack. */
  char dir[] = "/tmp/hk-month-XXXXXX";
  char args[600];
  char path[700];
  cr_assert(mkdtemp(dir) != NULL);
  snprintf(args, sizeof args,
           "--config-out '%s/config' --sources-out '%s/sources'", dir, dir);
  cr_assert_eq(month(args), 0, "month.js --config-out failed");
  snprintf(path, sizeof path, "%s/config", dir);
  config = slurp(path);
  remove(path);
  snprintf(path, sizeof path, "%s/sources", dir);
  sources = slurp(path);
  remove(path);
  rmdir(dir);
  setenv("HK_STRIPE_SECRET", STRIPE_SECRET, 1);
  setenv("HK_HUBSPOT_SECRET", HUBSPOT_SECRET, 1);
  setenv("HK_DEMO_SECRET", HK_TEST_SECRET, 1);
  hk_stack_up_with(config, sources);
  free(config);
  free(sources);
}

TestSuite(e2e, .init = up, .fini = hk_stack_down, .timeout = 300);

Test(e2e, a_month_of_journeys_gives_the_numbers_the_script_computes) {
  const char *kpi_every[] = {"--kpi-every", "200ms", NULL};
  char args[400];
  hk_worker_start(0, kpi_every);
  snprintf(args, sizeof args,
           "--url http://127.0.0.1:%d" HK_TEST_MOUNT
           " --token '%s' --seed 20261124 "
           "--subjects 300 --timeout-s 150",
           stack.http_port, HK_TEST_TOKEN);
  cr_assert_eq(month(args), 0,
               "the served figures differ from the script's (report above)");
}
