/*
 * status.c -- handoffctl status and clocks: what the workers last computed,
 * read from Redis, for a terminal or as JSON.
 *
 * status prints the health document the KPI thread stores (GET /v1/health
 * without the queue) and exits with its verdict, so a script or a cron job
 * can act on it; below it, each handoff's clocks by state now. clocks lists
 * the clocks of one handoff, evaluated as of now, as the status API does.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "store/store.h"
#include "journey/journey.h"

/* ---------------------------------------------------------------------------
 * status
 * ------------------------------------------------------------------------- */

/* An instant as RFC 3339 UTC into buf ("-" for none). */
static const char *iso(int64_t ms, char *buf, size_t n) {
  time_t t;
  struct tm tm;
  if (ms <= 0 || ms == HK_NEVER) {
    snprintf(buf, n, "-");
    return buf;
  }
  t = (time_t)(ms / 1000);
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static long long count_of(const json_t *counters, const char *name) {
  return (long long)json_integer_value(json_object_get(counters, name));
}

/* The exit status for a health status name: green 0, red 4, amber (and
 * anything else: unknown, or nothing computed yet) 3. */
static enum hk_ctl_exit exit_for(const char *status) {
  if (status != NULL && strcmp(status, "green") == 0) {
    return HK_CTL_EXIT_OK;
  }
  if (status != NULL && strcmp(status, "red") == 0) {
    return HK_CTL_EXIT_RED;
  }
  return HK_CTL_EXIT_AMBER;
}

/* The terminal colour of a status, or "" without colour. */
static const char *paint(const char *status, int colour) {
  if (!colour || status == NULL) {
    return "";
  }
  if (strcmp(status, "red") == 0) {
    return "\033[1;31m";
  }
  if (strcmp(status, "amber") == 0) {
    return "\033[33m";
  }
  if (strcmp(status, "green") == 0) {
    return "\033[32m";
  }
  return "\033[2m"; /* unknown: dim */
}

static const char *str_of(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v != NULL ? v : "";
}

/* One handoff or stage of the health document and its KPIs, as rows. */
static void print_entry(const char *label, const json_t *e, int colour) {
  const char *status = str_of(e, "status");
  const char *off = colour ? "\033[0m" : "";
  const json_t *kpis = json_object_get(e, "kpis");
  const json_t *k;
  size_t i;
  char name[160];
  snprintf(name, sizeof name, "%s%s", label, str_of(e, "name"));
  printf("%-34s %s%-7s%s %s\n", name, paint(status, colour), status, off,
         str_of(e, "owner"));
  if (strcmp(status, "green") != 0) {
    printf("    why: %s\n", str_of(e, "reason"));
  }
  json_array_foreach(kpis, i, k) {
    const char *ks = str_of(k, "status");
    printf("    %-30s %s%-7s%s %-24s %s\n", str_of(k, "name"),
           paint(ks, colour), ks, off, str_of(k, "owner"), str_of(k, "text"));
  }
}

/* The health document as a table: the overall status and why, then each
 * handoff and stage with its owner, why it is not green, and its KPIs. */
static void print_health(const json_t *doc, int colour) {
  const char *status = str_of(doc, "status");
  const char *computed = str_of(doc, "computed_at");
  const json_t *e;
  size_t i;
  char upper[16];
  size_t n = 0;
  for (; status[n] != '\0' && n < sizeof upper - 1; n++) {
    upper[n] = (char)(status[n] >= 'a' && status[n] <= 'z' ? status[n] - 32
                                                           : status[n]);
  }
  upper[n] = '\0';
  printf("handoff health: %s%s%s: %s\n", paint(status, colour), upper,
         colour ? "\033[0m" : "", str_of(doc, "reason"));
  if (computed[0] != '\0') {
    int64_t at = 0;
    if (hk_map_rfc3339_ms(computed, &at) == 0) {
      printf("computed %s (%llds ago)\n", computed,
             (long long)((hk_time_now_ms() - at) / 1000));
    } else {
      printf("computed %s\n", computed);
    }
  }
  printf("\n%-34s %-7s %s\n", "HANDOFF / STAGE", "STATUS",
         "OWNER / KPI, OWNER, VALUE");
  json_array_foreach(json_object_get(doc, "handoffs"), i, e) {
    print_entry("", e, colour);
  }
  json_array_foreach(json_object_get(doc, "stages"), i, e) {
    print_entry("stage ", e, colour);
  }
}

/* Prints the health document the workers last stored, as a table or as
 * JSON (as_json), or says that none was computed yet. Returns the exit
 * status of its verdict, HK_CTL_EXIT_FAILURE when it is not a JSON object
 * or HK_CTL_EXIT_UNAVAILABLE; sets *table when the table was printed (the
 * clock counts go below it). */
static enum hk_ctl_exit show_health(struct hk_store *st, const char *prefix,
                                    int as_json, int colour, int *table) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc;
  char *text = NULL;
  size_t len = 0;
  json_t *doc = NULL;
  if (hk_store_get(st, "kpi:health", &text, &len, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else if (text == NULL) {
    /* As GET /v1/health says before any worker has run. */
    if (as_json) {
      puts("{\"status\":\"amber\",\"reason\":\"handoff health has not been "
           "computed yet: no worker has run\",\"handoffs\":[],\"stages\":[]}");
    } else {
      printf("handoff health: %sAMBER%s: handoff health has not been computed "
             "yet: no worker has run\n",
             paint("amber", colour), colour ? "\033[0m" : "");
    }
    rc = HK_CTL_EXIT_AMBER;
  } else if ((doc = json_loadb(text, len, 0, NULL)) == NULL ||
             !json_is_object(doc)) {
    fprintf(stderr, "handoffctl: %skpi:health is not a JSON object\n", prefix);
    rc = HK_CTL_EXIT_FAILURE;
  } else {
    rc = exit_for(json_string_value(json_object_get(doc, "status")));
    if (as_json) {
      fwrite(text, 1, len, stdout);
      putchar('\n');
    } else {
      print_health(doc, colour);
    }
  }
  *table = !as_json && text != NULL && doc != NULL && rc != HK_CTL_EXIT_FAILURE;
  json_decref(doc);
  free(text);
  return rc;
}

/* The queue as the workers left it: a line under the verdicts (not with
 * --json), and the exit status raised to amber or red when deliveries wait
 * and no worker has read for intake.stall_amber or stall_red. */
static enum hk_ctl_exit show_queue(struct hk_store *st,
                                   const struct hk_config *cfg, int print,
                                   int colour, enum hk_ctl_exit rc) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_queue_stats q;
  char why[160];
  int stall;
  int64_t now = hk_time_now_ms();
  if (hk_store_queue_stats(st, &q, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  stall = hk_queue_stall(&q, now, cfg->stall_amber_ms, cfg->stall_red_ms, why,
                         sizeof why);
  if (print && stall > 0) {
    const char *status = stall > 1 ? "red" : "amber";
    printf("queue: %s%s%s: %s\n", paint(status, colour),
           stall > 1 ? "RED" : "AMBER", colour ? "\033[0m" : "", why);
  } else if (print) {
    char age[48] = "no worker has read yet";
    if (q.last_read_ms >= 0) {
      snprintf(age, sizeof age, "last read %lld s ago",
               (long long)((now - q.last_read_ms) / 1000));
    }
    printf("queue: %lld waiting, %lld pending; %lld %s alive, %s\n",
           (long long)(q.lag > 0 ? q.lag : 0), (long long)q.pending,
           (long long)q.workers, q.workers == 1 ? "worker" : "workers", age);
  }
  if (stall > 1 && (rc == HK_CTL_EXIT_OK || rc == HK_CTL_EXIT_AMBER)) {
    return HK_CTL_EXIT_RED;
  }
  if (stall == 1 && rc == HK_CTL_EXIT_OK) {
    return HK_CTL_EXIT_AMBER;
  }
  return rc;
}

/* Below the verdicts, the clocks of each handoff now, by state. Returns
 * HK_CTL_EXIT_OK, or HK_CTL_EXIT_UNAVAILABLE at the first Redis failure. */
static enum hk_ctl_exit print_clock_counts(struct hk_store *st,
                                           const struct hk_sla *sla) {
  static const char *const shown[] = {"breached",  "at_risk",   "open",
                                      "paused",    "met",       "met_late",
                                      "cancelled", "incomplete"};
  struct hk_error err = {HK_E_OK, ""};
  for (size_t i = 0; i < hk_sla_count(sla); i++) {
    const struct hk_handoff *h = hk_sla_at(sla, i);
    json_t *cs = NULL;
    if (hk_store_counters(st, hk_handoff_name(h), &cs, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      return HK_CTL_EXIT_UNAVAILABLE;
    }
    if (i == 0) {
      printf("\n%-30s", "CLOCKS NOW");
      for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        printf(" %10s", shown[k]);
      }
      printf("\n");
    }
    printf("%-30s", hk_handoff_name(h));
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
      printf(" %10lld", count_of(cs, shown[k]));
    }
    printf("\n");
    json_decref(cs);
  }
  return HK_CTL_EXIT_OK;
}

/* A share as a percentage into buf ("-" for null). */
static const char *pct(const json_t *v, char *buf, size_t n) {
  if (!json_is_number(v)) {
    snprintf(buf, n, "-");
  } else {
    snprintf(buf, n, "%.1f%%", json_number_value(v) * 100.0);
  }
  return buf;
}

/* A duration in ms as minutes into buf ("-" for null). */
static const char *mins(const json_t *v, char *buf, size_t n) {
  if (!json_is_integer(v)) {
    snprintf(buf, n, "-");
  } else {
    snprintf(buf, n, "%.1fm", (double)json_integer_value(v) / 60000.0);
  }
  return buf;
}

/* The figures by dimension of each handoff that groups by it, from the
 * documents kpi:by:HANDOFF:DIM. Returns HK_CTL_EXIT_OK, or
 * HK_CTL_EXIT_UNAVAILABLE at the first Redis failure. */
static enum hk_ctl_exit print_by(struct hk_store *st, const json_t *cfg_doc,
                                 const char *dim, int as_json) {
  const char *name;
  json_t *conf;
  json_object_foreach(json_object_get(cfg_doc, "handoffs"), name, conf) {
    struct hk_error err = {HK_E_OK, ""};
    char key[200];
    char *text = NULL;
    size_t len = 0;
    json_t *doc;
    size_t i;
    json_t *v;
    if (json_object_get(json_object_get(conf, "group_by"), dim) == NULL) {
      continue;
    }
    snprintf(key, sizeof key, "kpi:by:%s:%s", name, dim);
    if (hk_store_get(st, key, &text, &len, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      return HK_CTL_EXIT_UNAVAILABLE;
    }
    if (as_json) {
      if (text != NULL) {
        fwrite(text, 1, len, stdout);
        putchar('\n');
      }
      free(text);
      continue;
    }
    doc = text != NULL ? json_loadb(text, len, 0, NULL) : NULL;
    printf("\n%s BY %s (30 days)\n%-24s %8s %8s %8s %8s %11s %8s %8s\n", name,
           dim, "VALUE", "started", "met", "met_late", "breached", "attainment",
           "p50", "p90");
    json_array_foreach(json_object_get(doc, "values"), i, v) {
      const json_t *w = json_object_get(json_object_get(v, "windows"), "30d");
      char a[16];
      char p50[16];
      char p90[16];
      printf("%-24.24s %8lld %8lld %8lld %8lld %11s %8s %8s\n",
             str_of(v, "value"), count_of(w, "started"), count_of(w, "met"),
             count_of(w, "met_late"), count_of(w, "breached"),
             pct(json_object_get(w, "attainment"), a, sizeof a),
             mins(json_object_get(w, "response_p50_ms"), p50, sizeof p50),
             mins(json_object_get(w, "response_p90_ms"), p90, sizeof p90));
    }
    if (doc == NULL) {
      printf("(not computed yet)\n");
    }
    json_decref(doc);
    free(text);
  }
  return HK_CTL_EXIT_OK;
}

enum hk_ctl_exit hk_ctl_status(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"json", no_argument, NULL, 'j'},
      {"by", required_argument, NULL, 'b'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL;
  const char *redis = NULL;
  const char *by = NULL;
  const char *no_color = getenv("NO_COLOR");
  int as_json = 0;
  int colour =
      isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0');
  int table = 0;
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  struct hk_config *cfg;
  struct hk_sla *sla;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  int c;

  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'j': as_json = 1; break;
    case 'b': by = optarg; break;
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
  sla = hk_sla_new(cfg, &err);
  if (sla == NULL) {
    fprintf(stderr, "%s: %s\n", config, err.msg);
    hk_config_free(cfg);
    return HK_CTL_EXIT_CONFIG;
  }
  st = hk_store_new(&cfg->redis);
  rc = show_health(st, cfg->redis.prefix, as_json, colour, &table);
  if (rc != HK_CTL_EXIT_UNAVAILABLE && rc != HK_CTL_EXIT_FAILURE) {
    rc = show_queue(st, cfg, !as_json, colour, rc);
  }
  if (table && print_clock_counts(st, sla) != HK_CTL_EXIT_OK) {
    rc = HK_CTL_EXIT_UNAVAILABLE;
  }
  if (by != NULL && rc != HK_CTL_EXIT_UNAVAILABLE &&
      rc != HK_CTL_EXIT_FAILURE &&
      print_by(st, cfg->doc, by, as_json) != HK_CTL_EXIT_OK) {
    rc = HK_CTL_EXIT_UNAVAILABLE;
  }
  hk_store_free(st);
  hk_sla_free(sla);
  hk_config_free(cfg);
  return rc;
}

/* ---------------------------------------------------------------------------
 * clocks
 * ------------------------------------------------------------------------- */

static int state_of(const char *name) {
  for (int i = 0; i < HK_CLOCK_STATES; i++) {
    if (strcmp(hk_clock_state_name((enum hk_clock_state)i), name) == 0) {
      return i;
    }
  }
  return -1;
}

/* Prints the clocks of one record that pass the filter; returns how many. */
static size_t print_clocks(const struct hk_handoff *h, const char *subject,
                           const char *record, int want, int64_t now,
                           size_t room, int as_json) {
  struct hk_clocks cs = {NULL, 0};
  size_t shown = 0;
  hk_record_clocks(h, record, now, &cs);
  for (size_t i = 0; i < cs.n && shown < room; i++) {
    const struct hk_clock *c = &cs.items[i];
    char a[32], b[32], d[32];
    /* open means running, as in the status API: at risk is open too. */
    int running = c->state == HK_CLOCK_OPEN || c->state == HK_CLOCK_AT_RISK;
    if (want >= 0 && (int)c->state != want &&
        !(want == HK_CLOCK_OPEN && running)) {
      continue;
    }
    shown++;
    if (as_json) {
      json_t *o = json_pack(
          "{s:s, s:s, s:I, s:o, s:o, s:s, s:b, s:O}", "subject", subject,
          "state", hk_clock_state_name(c->state), "started",
          (json_int_t)c->started_ms, "deadline",
          c->deadline_ms == HK_NEVER ? json_null()
                                     : json_integer(c->deadline_ms),
          "stopped",
          c->stopped_ms > 0 ? json_integer(c->stopped_ms) : json_null(),
          "owner", c->owner != NULL ? c->owner : "", "ever_breached",
          c->ever_breached, "missing", c->missing);
      char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
      if (text != NULL) {
        puts(text);
      }
      free(text);
      json_decref(o);
    } else {
      printf("%-28s %-10s %-20s %-20s %-20s %s\n", subject,
             hk_clock_state_name(c->state), iso(c->started_ms, a, sizeof a),
             iso(c->deadline_ms, b, sizeof b), iso(c->stopped_ms, d, sizeof d),
             c->owner != NULL ? c->owner : "");
    }
  }
  hk_clocks_fini(&cs);
  return shown;
}

/* A clocks command line, parsed. */
struct clocks_args {
  const char *config;
  const char *redis;
  int want; /* the state asked for, or -1 for all */
  size_t limit;
  int as_json;
};

/* Parses and checks a clocks command line into a; the handoff's name is
 * argv[optind] after. Returns HK_CTL_EXIT_OK, or HK_CTL_EXIT_USAGE after
 * saying why. */
static enum hk_ctl_exit clocks_args_parse(int argc, char **argv,
                                          struct clocks_args *a) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"state", required_argument, NULL, 's'},
      {"limit", required_argument, NULL, 'l'},
      {"json", no_argument, NULL, 'j'},
      {NULL, 0, NULL, 0}};
  char *end;
  int c;

  *a = (struct clocks_args){NULL, NULL, -1, 100, 0};
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': a->config = optarg; break;
    case 'r': a->redis = optarg; break;
    case 'j': a->as_json = 1; break;
    case 's':
      a->want = state_of(optarg);
      if (a->want < 0) {
        fprintf(stderr,
                "handoffctl: %s is not a clock state (open, at_risk, "
                "paused, met, breached, met_late, cancelled)\n",
                optarg);
        return HK_CTL_EXIT_USAGE;
      }
      break;
    case 'l':
      a->limit = strtoul(optarg, &end, 10);
      if (*end != '\0' || a->limit == 0 || a->limit > 100000) {
        fprintf(stderr, "handoffctl: --limit wants 1 to 100000\n");
        return HK_CTL_EXIT_USAGE;
      }
      break;
    default: return hk_ctl_bad_usage();
    }
  }
  a->config = hk_ctl_config_or_env(a->config);
  if (a->config == NULL || optind + 1 != argc) {
    return hk_ctl_bad_usage();
  }
  return HK_CTL_EXIT_OK;
}

/* Prints h's clocks that a asks for, as of now, scanning Redis 500 records
 * at a time until a->limit were shown, then (for the table) their count.
 * Returns HK_CTL_EXIT_OK or HK_CTL_EXIT_UNAVAILABLE. */
static enum hk_ctl_exit list_clocks(struct hk_store *st,
                                    const struct hk_handoff *h,
                                    const struct clocks_args *a, int64_t now) {
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  char cursor[32] = "0";
  size_t shown = 0;
  if (!a->as_json) {
    printf("%-28s %-10s %-20s %-20s %-20s %s\n", "SUBJECT", "STATE", "STARTED",
           "DEADLINE", "STOPPED", "OWNER");
  }
  do {
    struct hk_strings subjects = {NULL, 0};
    struct hk_strings records = {NULL, 0};
    if (hk_store_clocks_scan(st, hk_handoff_name(h), cursor, 500, &subjects,
                             &records, &err) != HK_E_OK) {
      fprintf(stderr, "handoffctl: %s\n", err.msg);
      rc = HK_CTL_EXIT_UNAVAILABLE;
      break;
    }
    for (size_t i = 0; i < subjects.n && shown < a->limit; i++) {
      shown += print_clocks(h, subjects.v[i], records.v[i], a->want, now,
                            a->limit - shown, a->as_json);
    }
    hk_strings_fini(&subjects);
    hk_strings_fini(&records);
  } while (strcmp(cursor, "0") != 0 && shown < a->limit);
  if (rc == HK_CTL_EXIT_OK && !a->as_json) {
    fflush(stdout); /* the table first, then the count */
    fprintf(stderr, "%zu clock%s%s\n", shown, shown == 1 ? "" : "s",
            shown == a->limit ? " (the limit; --limit shows more)" : "");
  }
  return rc;
}

enum hk_ctl_exit hk_ctl_clocks(int argc, char **argv) {
  int64_t now = hk_time_now_ms();
  struct clocks_args a;
  struct hk_config *cfg;
  struct hk_sla *sla;
  const struct hk_handoff *h;
  struct hk_store *st;
  struct hk_error err = {HK_E_OK, ""};
  enum hk_ctl_exit rc = clocks_args_parse(argc, argv, &a);
  if (rc != HK_CTL_EXIT_OK) {
    return rc;
  }
  cfg = hk_ctl_load_for_redis(a.config, a.redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  sla = hk_sla_new(cfg, &err);
  if (sla == NULL) {
    fprintf(stderr, "%s: %s\n", a.config, err.msg);
    hk_config_free(cfg);
    return HK_CTL_EXIT_CONFIG;
  }
  h = hk_sla_find(sla, argv[optind]);
  if (h == NULL) {
    fprintf(stderr, "handoffctl: no handoff is named %s in %s\n", argv[optind],
            a.config);
    hk_sla_free(sla);
    hk_config_free(cfg);
    return HK_CTL_EXIT_USAGE;
  }
  st = hk_store_new(&cfg->redis);
  rc = list_clocks(st, h, &a, now);
  hk_store_free(st);
  hk_sla_free(sla);
  hk_config_free(cfg);
  return rc;
}
