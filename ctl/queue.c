/*
 * queue.c -- handoffctl queue and dlq: the intake queue's figures, and the
 * dead letters (list them, queue them again).
 *
 * dlq retry --all takes the oldest HK_CAP_BATCH letters, the ones there when
 * it started; a letter that fails again lands at the end of the stream,
 * after them, so one run never loops. Run it again for more.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "journey/journey.h"
#include "store/store.h"

enum hk_ctl_exit hk_ctl_queue(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  struct hk_config *cfg;
  struct hk_store *st;
  struct hk_queue_stats q;
  struct hk_error err = {HK_E_OK, ""};
  int c;
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    default: return hk_ctl_bad_usage();
    }
  }
  config = hk_ctl_config_or_env(config);
  if (config == NULL || optind != argc) {
    return hk_ctl_bad_usage();
  }
  cfg = hk_ctl_load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  st = hk_store_new(&cfg->redis);
  if (hk_store_queue_stats(st, &q, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else {
    printf("length     %" PRId64 "\npending    %" PRId64 "\nlag        %" PRId64
           "\nprocessed  %" PRId64 "\nconsumers  %" PRId64 "\n",
           q.length, q.pending, q.lag, q.processed, q.consumers);
  }
  hk_store_free(st);
  hk_config_free(cfg);
  return rc;
}

/* ---------------------------------------------------------------------------
 * dlq list, dlq retry
 * ------------------------------------------------------------------------- */

/* 1 when s looks like a stream id (digits, optionally "-digits"). */
static int is_stream_id(const char *s) {
  size_t n = strspn(s, "0123456789");
  if (n == 0 || n > 20) {
    return 0;
  }
  if (s[n] == '-') {
    size_t m = strspn(s + n + 1, "0123456789");
    return m > 0 && m <= 20 && s[n + 1 + m] == '\0';
  }
  return s[n] == '\0';
}

static const char *field(const struct hk_letter *l, const char *name) {
  const char *v = json_string_value(json_object_get(l->fields, name));
  return v != NULL ? v : "";
}

static void print_letters(const struct hk_letters *ls, int as_json) {
  for (size_t i = 0; i < ls->n; i++) {
    const struct hk_letter *l = &ls->items[i];
    if (as_json) {
      json_t *o = json_deep_copy(l->fields);
      char *s;
      json_object_set_new(o, "id", json_string(l->id));
      s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
      if (s != NULL) {
        puts(s);
      }
      free(s);
      json_decref(o);
    } else if (strcmp(field(l, "kind"), "alert") == 0) {
      /* Read through the queue's own codec; a letter whose alert cannot
       * be read whole still shows what could be read of it. */
      json_t *doc = NULL;
      struct hk_alert a;
      const char *notifier = NULL;
      struct hk_error err = {HK_E_OK, ""};
      int ok = hk_alert_parse(field(l, "alert"), &doc, &a, &notifier, &err) ==
               HK_E_OK;
      printf("%s  kind=alert notifier=%s alert=%s%s%s%s\n    %s\n", l->id,
             notifier != NULL ? notifier : "?", a.id != NULL ? a.id : "?",
             ok ? "" : " (unreadable: ", ok ? "" : err.msg, ok ? "" : ")",
             field(l, "reason"));
      json_decref(doc);
    } else {
      printf("%s  kind=delivery source=%s rule=%s type=%s delivery=%s\n"
             "    %s\n",
             l->id, field(l, "source"), field(l, "rule"), field(l, "ptype"),
             field(l, "delivery_id"), field(l, "reason"));
    }
  }
}

/* A dlq command line, parsed. */
struct dlq_args {
  const char *sub; /* list or retry */
  const char *config;
  const char *redis;
  const char *from;
  size_t limit;
  int as_json;
  int all;
  int first; /* argv index of the first ID of retry */
};

/* Parses and checks a dlq command line into a. Returns HK_CTL_EXIT_OK, or
 * HK_CTL_EXIT_USAGE after saying why. */
static enum hk_ctl_exit dlq_args_parse(int argc, char **argv,
                                       struct dlq_args *a) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"limit", required_argument, NULL, 'l'},
      {"from", required_argument, NULL, 'f'},
      {"json", no_argument, NULL, 'j'},
      {"all", no_argument, NULL, 'a'},
      {NULL, 0, NULL, 0}};
  char *end;
  int c;

  *a =
      (struct dlq_args){argc > 1 ? argv[1] : "", NULL, NULL, "-", 100, 0, 0, 0};
  if (strcmp(a->sub, "list") != 0 && strcmp(a->sub, "retry") != 0) {
    fprintf(stderr, "handoffctl: dlq wants list or retry\n\n");
    return hk_ctl_bad_usage();
  }
  optind = 2;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': a->config = optarg; break;
    case 'r': a->redis = optarg; break;
    case 'f': a->from = optarg; break;
    case 'j': a->as_json = 1; break;
    case 'a': a->all = 1; break;
    case 'l':
      a->limit = strtoul(optarg, &end, 10);
      if (*end != '\0' || a->limit == 0 || a->limit > HK_CAP_BATCH) {
        fprintf(stderr, "handoffctl: --limit wants 1 to %u\n", HK_CAP_BATCH);
        return HK_CTL_EXIT_USAGE;
      }
      break;
    default: return hk_ctl_bad_usage();
    }
  }
  a->config = hk_ctl_config_or_env(a->config);
  a->first = optind;
  if (a->config == NULL || (strcmp(a->sub, "list") == 0 && optind != argc) ||
      (strcmp(a->sub, "retry") == 0 && (optind == argc) == !a->all) ||
      (strcmp(a->from, "-") != 0 && !is_stream_id(a->from))) {
    return hk_ctl_bad_usage();
  }
  for (int i = optind; i < argc; i++) {
    if (!is_stream_id(argv[i])) {
      fprintf(stderr,
              "handoffctl: %s is not a dead letter id such as "
              "1732431600000-0\n",
              argv[i]);
      return HK_CTL_EXIT_USAGE;
    }
  }
  return HK_CTL_EXIT_OK;
}

/* dlq list: up to a->limit letters from a->from on, then their count. */
static enum hk_ctl_exit dlq_list(struct hk_store *st,
                                 const struct dlq_args *a) {
  struct hk_letters ls = {NULL, 0};
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  if (hk_store_dlq_list(st, a->from, a->limit, &ls, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else {
    print_letters(&ls, a->as_json);
    fflush(stdout);
    if (!a->as_json) {
      fprintf(stderr, "%zu dead letter%s\n", ls.n, ls.n == 1 ? "" : "s");
    }
  }
  hk_letters_fini(&ls);
  return rc;
}

/* dlq retry --all: the oldest HK_CAP_BATCH letters (see the top of the
 * file), stopping at the first Redis failure; a letter gone meanwhile (an
 * other retry took it) is not counted. */
static enum hk_ctl_exit dlq_retry_all(struct hk_store *st) {
  struct hk_letters ls = {NULL, 0};
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  size_t done = 0;
  if (hk_store_dlq_list(st, "-", HK_CAP_BATCH, &ls, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  }
  for (size_t i = 0; rc == HK_CTL_EXIT_OK && i < ls.n; i++) {
    char nid[HK_STREAM_ID_MAX];
    int found = 0;
    if (hk_store_dlq_retry(st, ls.items[i].id, &found, nid, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = HK_CTL_EXIT_UNAVAILABLE;
    } else if (found) {
      done++;
    }
  }
  fprintf(stderr, "%zu dead letter%s queued again\n", done,
          done == 1 ? "" : "s");
  hk_letters_fini(&ls);
  return rc;
}

/* dlq retry ID...: each letter named, stopping at the first Redis failure;
 * a letter that is not there is a failure (1) but the others still go. */
static enum hk_ctl_exit dlq_retry_ids(struct hk_store *st, int n, char **ids) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  for (int i = 0; rc != HK_CTL_EXIT_UNAVAILABLE && i < n; i++) {
    char nid[HK_STREAM_ID_MAX];
    int found = 0;
    if (hk_store_dlq_retry(st, ids[i], &found, nid, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = HK_CTL_EXIT_UNAVAILABLE;
    } else if (!found) {
      fprintf(stderr, "handoffctl: no dead letter %s\n", ids[i]);
      rc = HK_CTL_EXIT_FAILURE;
    } else {
      printf("%s queued again as %s\n", ids[i], nid);
    }
  }
  return rc;
}

enum hk_ctl_exit hk_ctl_dlq(int argc, char **argv) {
  struct dlq_args a;
  struct hk_config *cfg;
  struct hk_store *st;
  enum hk_ctl_exit rc = dlq_args_parse(argc, argv, &a);
  if (rc != HK_CTL_EXIT_OK) {
    return rc;
  }
  cfg = hk_ctl_load_for_redis(a.config, a.redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  st = hk_store_new(&cfg->redis);
  if (strcmp(a.sub, "list") == 0) {
    rc = dlq_list(st, &a);
  } else if (a.all) {
    rc = dlq_retry_all(st);
  } else {
    rc = dlq_retry_ids(st, argc - a.first, argv + a.first);
  }
  hk_store_free(st);
  hk_config_free(cfg);
  return rc;
}
