/*
 * digest.c -- handoffctl digest --preview NAME: the weekly review of
 * digests.NAME as the workers would post it now (journey/digest.c builds
 * it), from the health document they last computed, compared with the last
 * digest they posted. Reads Redis; posts nothing, changes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/core.h"
#include "ctl/ctl.h"
#include "journey/journey.h"
#include "store/store.h"

/* The stored health document and last snapshot; rc as the command exits. */
static enum hk_ctl_exit read_inputs(struct hk_store *st, const char *name,
                                    json_t **health, json_t **last) {
  struct hk_error err = {HK_E_OK, ""};
  char *text = NULL;
  size_t len = 0;
  *health = NULL;
  *last = NULL;
  if (hk_store_get(st, "kpi:health", &text, &len, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: cannot read Redis: %s\n", err.msg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  if (text == NULL) {
    fprintf(stderr, "handoffctl: no worker has computed the health yet\n");
    return HK_CTL_EXIT_FAILURE;
  }
  *health = json_loadb(text, len, 0, NULL);
  free(text);
  text = NULL;
  if (hk_store_digest_last(st, name, &text, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: cannot read Redis: %s\n", err.msg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  *last = text != NULL ? json_loads(text, 0, NULL) : NULL;
  free(text);
  return *health != NULL ? HK_CTL_EXIT_OK : HK_CTL_EXIT_FAILURE;
}

enum hk_ctl_exit hk_ctl_digest(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"preview", no_argument, NULL, 'p'},
      {"json", no_argument, NULL, 'j'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  int preview = 0;
  int as_json = 0;
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg;
  struct hk_digest *d;
  struct hk_store *st;
  json_t *health = NULL;
  json_t *last = NULL;
  int c;

  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'p': preview = 1; break;
    case 'j': as_json = 1; break;
    default: return hk_ctl_bad_usage();
    }
  }
  config = hk_ctl_config_or_env(config);
  if (config == NULL || !preview || optind != argc - 1) {
    return hk_ctl_bad_usage();
  }
  cfg = hk_ctl_load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  d = hk_digest_new(argv[optind], cfg->doc, &err);
  if (d == NULL) {
    rc = json_object_get(json_object_get(cfg->doc, "digests"), argv[optind]) ==
                 NULL
             ? HK_CTL_EXIT_USAGE
             : HK_CTL_EXIT_CONFIG;
    fprintf(stderr, "%s: %s\n", config, err.msg);
    hk_config_free(cfg);
    return rc;
  }
  st = hk_store_new(&cfg->redis);
  rc = read_inputs(st, argv[optind], &health, &last);
  if (rc == HK_CTL_EXIT_OK) {
    int64_t now = hk_time_now_ms();
    json_t *doc =
        hk_digest_build(d, health, last, hk_digest_period(d, now), now);
    char *text =
        as_json ? json_dumps(doc, JSON_INDENT(2)) : hk_digest_text(doc);
    fputs(text, stdout);
    if (as_json) {
      fputc('\n', stdout);
    }
    free(text);
    json_decref(doc);
  }
  json_decref(health);
  json_decref(last);
  hk_store_free(st);
  hk_digest_free(d);
  hk_config_free(cfg);
  return rc;
}
