/*
 * forget.c -- handoffctl forget SUBJECT: erase a subject on request.
 *
 * Only the worker knows how to take a record's figures out of the KPIs, so
 * this queues the request ({prefix}forget, with the OS user who asked) and
 * waits until a worker carried it out (store.h, hk_store_forget_status),
 * showing how long it has waited on a terminal. Forgetting twice, or a
 * subject never seen, is fine: the second finds nothing to remove.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "store/store.h"

/* The OS user running this, for the log line of the worker. */
static void who(char *out, size_t n) {
  const struct passwd *pw = getpwuid(getuid());
  if (pw != NULL && pw->pw_name != NULL) {
    snprintf(out, n, "user:%s", pw->pw_name);
  } else {
    snprintf(out, n, "uid:%ld", (long)getuid());
  }
}

/* Waits for request id until timeout_ms: HK_CTL_EXIT_OK once done (the
 * summary printed), else why not. */
static enum hk_ctl_exit wait_done(struct hk_store *st, const char *id,
                                  int64_t timeout_ms) {
  int tty = isatty(STDERR_FILENO);
  int64_t t0 = hk_time_mono_ms();
  for (;;) {
    struct hk_error err = {HK_E_OK, ""};
    char *summary = NULL;
    int queued = 0;
    int64_t waited = hk_time_mono_ms() - t0;
    if (hk_store_forget_status(st, id, &summary, &queued, &err) != HK_E_OK) {
      fprintf(stderr, "%shandoffctl: %s\n", tty ? "\n" : "", err.msg);
      return HK_CTL_EXIT_UNAVAILABLE;
    }
    if (summary != NULL) {
      if (tty) {
        fputs("\r\033[K", stderr);
      }
      printf("forgotten (request %s): %s\n", id, summary);
      free(summary);
      return HK_CTL_EXIT_OK;
    }
    if (!queued) {
      fprintf(stderr,
              "%shandoffctl: request %s is gone and left no outcome (its "
              "outcome is kept a day)\n",
              tty ? "\n" : "", id);
      return HK_CTL_EXIT_FAILURE;
    }
    if (waited >= timeout_ms) {
      fprintf(stderr,
              "%shandoffctl: request %s is queued but no worker carried it "
              "out within %" PRId64 " s; is a worker running? It will be "
              "carried out when one does.\n",
              tty ? "\n" : "", id, timeout_ms / 1000);
      return HK_CTL_EXIT_FAILURE;
    }
    if (tty) {
      fprintf(stderr,
              "\rwaiting for a worker to carry out request %s... %" PRId64 " s",
              id, waited / 1000);
      fflush(stderr);
    }
    hk_sleep_ms(100);
  }
}

enum hk_ctl_exit hk_ctl_forget(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"timeout", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  int64_t timeout_ms = 120000;
  struct hk_config *cfg;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  char id[HK_STREAM_ID_MAX];
  char by[128];
  int c;
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 't':
      if (hk_duration_parse(optarg, &timeout_ms) != 0) {
        fprintf(stderr, "handoffctl: --timeout wants a duration (30s, 5m)\n");
        return hk_ctl_bad_usage();
      }
      break;
    default: return hk_ctl_bad_usage();
    }
  }
  config = hk_ctl_config_or_env(config);
  if (config == NULL || optind + 1 != argc || argv[optind][0] == '\0') {
    return hk_ctl_bad_usage();
  }
  cfg = hk_ctl_load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  who(by, sizeof by);
  st = hk_store_new(&cfg->redis);
  if (hk_store_forget_ask(st, argv[optind], by, hk_time_now_ms(), id, &err) !=
      HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else {
    rc = wait_done(st, id, timeout_ms);
  }
  hk_store_free(st);
  hk_config_free(cfg);
  return rc;
}
