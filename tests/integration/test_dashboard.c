/*
 * test_dashboard.c -- the dashboard page in a real browser, on a real stack
 * fed a scripted month.
 *
 * The stack (redis, nginx with the shipped snippet, handoff-fcgi, one
 * worker writing the documents every 200 ms) runs the config of
 * tests/npm/month.js, which posts its month of webhooks and waits until
 * the figures are computed (and checks them, as test_e2e.c does). Then
 * tests/npm/dashboard.js drives Debian's chromium headless through
 * puppeteer-core: the token prompt, every figure on the page against the
 * API's answer in each window, the subject link, axe-core, no request
 * outside the origin, the page's CSP, and the notice when the API cannot
 * be reached. The browser part is node because puppeteer and axe are; the
 * stack is this harness's, as for every other integration test, so the
 * browser test starts and stops servers the same way and runs in the same
 * suite. Screenshots and axe's report go to build/tests/artefacts/.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NPM HK_SOURCE_DIR "/tests/npm"
#define ARTEFACTS HK_BIN_DIR "/tests/artefacts/dashboard"
#define STRIPE_SECRET "whsec_test_month_7Hq2Lr9XcV"
#define HUBSPOT_SECRET "hubspot-month-secret-3e81c0"

/* Runs node with a script of tests/npm and args, printing its report;
 * returns its exit status. */
static int node(const char *script, const char *args) {
  char cmd[1400];
  char line[2048];
  FILE *p;
  int rc;
  snprintf(cmd, sizeof cmd, "node '%s/%s' %s 2>&1", NPM, script, args);
  p = popen(cmd, "r");
  cr_assert(p != NULL);
  while (fgets(line, sizeof line, p) != NULL) {
    fputs(line, stderr);
  }
  rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

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

static void up(void) {
  char dir[] = "/tmp/hk-dash-XXXXXX";
  char args[600];
  char path[700];
  char *config;
  char *sources;
  cr_assert(mkdtemp(dir) != NULL);
  snprintf(args, sizeof args,
           "--config-out '%s/config' --sources-out '%s/sources'", dir, dir);
  cr_assert_eq(node("month.js", args), 0, "month.js --config-out failed");
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

TestSuite(dashboard, .init = up, .fini = hk_stack_down, .timeout = 300);

Test(dashboard, the_page_shows_the_apis_numbers_in_a_real_browser) {
  const char *kpi_every[] = {"--kpi-every", "200ms", NULL};
  char args[800];
  hk_worker_start(0, kpi_every);
  snprintf(args, sizeof args,
           "--url http://127.0.0.1:%d" HK_TEST_MOUNT
           " --token '%s' --seed 20261202 "
           "--subjects 120 --timeout-s 150",
           stack.http_port, HK_TEST_TOKEN);
  cr_assert_eq(node("month.js", args), 0, "the scripted month did not load");
  (void)mkdir(HK_BIN_DIR "/tests/artefacts", 0755);
  snprintf(args, sizeof args,
           "--url http://127.0.0.1:%d" HK_TEST_MOUNT " --token '%s' --out '%s'",
           stack.http_port, HK_TEST_TOKEN, ARTEFACTS);
  cr_assert_eq(node("dashboard.js", args), 0,
               "the page differs from the API or fails a check (report "
               "above; screenshots in %s)",
               ARTEFACTS);
}
