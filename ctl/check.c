/*
 * check.c -- handoffctl check-config: validate a configuration the way the
 * programs will load it, and print every problem, one per line.
 *
 * Like `nginx -t`, it is safe to run before a reload: it reads the file
 * (and, unless --no-secrets, the secrets it names), compiles the mapping
 * rules and the handoffs' calendars as the worker would, and touches no
 * server.
 */
#include <getopt.h>
#include <stdio.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "journey/journey.h"

/* 1 when cfg's mapping rules and handoffs compile, else 0 after saying why.
 * The rules compile only against the presets, and calendars only against
 * the system's zoneinfo, both with the worker: an `extends` naming no
 * preset rule, or a zone that is not a zone file, is caught here. */
static int compiles(const struct hk_config *cfg, const char *path) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_mapper *m = hk_mapper_new(cfg, &err);
  struct hk_sla *sla = m != NULL ? hk_sla_new(cfg, &err) : NULL;
  int ok = m != NULL && sla != NULL;
  hk_sla_free(sla);
  hk_mapper_free(m);
  if (!ok) {
    fprintf(stderr, "%s: %s\n", path, err.msg);
  }
  return ok;
}

enum hk_ctl_exit hk_ctl_check_config(int argc, char **argv) {
  static const struct option longs[] = {{"no-secrets", no_argument, NULL, 's'},
                                        {NULL, 0, NULL, 0}};
  unsigned flags = 0;
  struct hk_config *cfg;
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    if (c != 's') {
      return hk_ctl_bad_usage();
    }
    flags |= HK_CONFIG_NO_SECRETS;
  }
  if (optind + 1 != argc) {
    return hk_ctl_bad_usage();
  }
  cfg = hk_ctl_load(argv[optind], flags);
  if (cfg == NULL) {
    return HK_CTL_EXIT_CONFIG;
  }
  if (!compiles(cfg, argv[optind])) {
    hk_config_free(cfg);
    return HK_CTL_EXIT_CONFIG;
  }
  printf("%s: ok (%zu sources)\n", argv[optind], cfg->nsources);
  hk_config_free(cfg);
  return HK_CTL_EXIT_OK;
}
