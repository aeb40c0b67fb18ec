/*
 * restate.c -- handoffctl restate and replay.
 *
 * restate: checks the new config, writes the marker the workers watch
 * ({prefix}restate, store.h), and waits while they restate every subject's
 * history into the shadow ({prefix}restate:…) and keep applying new events
 * to both; then prints each handoff's and stage's figures as measured and
 * as restated. Without --apply it drops the shadow; with --apply it puts
 * the new config in place of the service's file and switches the shadow in
 * with one script, which moves the config generation on: the workers and
 * handoff-fcgi see it and load the file again.
 *
 * ctl does no recompute of its own: only the workers apply events to
 * records (ctl may not include workers/), so it orchestrates and reads.
 *
 * replay: queues again, through the current mapping, the deliveries the
 * intake stream still keeps from a time on; the seen keys and the
 * records' per-id dedupe make the events already made not made twice.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ctl/ctl.h"
#include "journey/journey.h"
#include "store/store.h"

/* Subjects per chunk of work the workers take. */
#define CHUNK 100
/* How long the workers get to see the marker before chunks are handed out
 * (they look about once a second). */
#define ARM_MS 3000

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  interrupted = 1;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0;
  size_t cap = 0;
  size_t got;
  if (f == NULL) {
    return NULL;
  }
  do {
    if (cap - n < 4096) {
      cap = cap == 0 ? 8192 : cap * 2;
      buf = hk_xrealloc(buf, cap + 1);
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Writes text over path through a temporary file and a rename. */
static int replace_file(const char *path, const char *text) {
  char *tmp = hk_xprintf("%s.restate-%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int ok = f != NULL && fwrite(text, 1, strlen(text), f) == strlen(text);
  if (f != NULL && fclose(f) != 0) {
    ok = 0;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
  }
  if (!ok) {
    unlink(tmp);
  }
  free(tmp);
  return ok;
}

static int64_t field_int(const json_t *m, const char *k) {
  const char *s = json_string_value(json_object_get(m, k));
  return s != NULL ? strtoll(s, NULL, 10) : 0;
}

/* ---------------------------------------------------------------------------
 * Progress
 * ------------------------------------------------------------------------- */

struct progress {
  int tty;
  int64_t t0;        /* monotonic ms when chunks began */
  int64_t last_line; /* monotonic ms of the last plain line */
};

static void show(struct progress *p, const json_t *m) {
  const char *state = json_string_value(json_object_get(m, "state"));
  int64_t total = field_int(m, "subjects");
  int64_t done = field_int(m, "subjects_done");
  int64_t events = field_int(m, "events_done");
  int64_t now = hk_time_mono_ms();
  double secs;
  double rate;
  double left;
  int width = 30;
  int fill;
  if (state == NULL || strcmp(state, "arming") == 0) {
    if (p->tty) {
      fprintf(stderr, "\rwaiting for the workers to take the restate...");
    }
    return;
  }
  if (p->t0 == 0) {
    p->t0 = now;
  }
  secs = (double)(now - p->t0) / 1000.0;
  rate = secs > 0 ? (double)events / secs : 0;
  left = done > 0 && total > done ? secs * (double)(total - done) / (double)done
                                  : 0;
  fill = total > 0 ? (int)(width * done / total) : width;
  if (p->tty) {
    fprintf(stderr,
            "\r[%.*s%*s] %" PRId64 "/%" PRId64 " subjects, %" PRId64
            " events, %.0f events/s, %.0f s left ",
            fill, "##############################", width - fill, "", done,
            total, events, rate, left);
  } else if (now - p->last_line >= 5000) {
    p->last_line = now;
    fprintf(stderr,
            "restate: %" PRId64 "/%" PRId64 " subjects, %" PRId64
            " events, %.0f events/s, %.0f s left, %s\n",
            done, total, events, rate, left, state);
  }
}

/* Waits until restate id is ready; 0 on success, else an exit status
 * (after saying why). */
static enum hk_ctl_exit wait_ready(struct hk_store *st, const char *id,
                                   int64_t timeout_ms, json_t **final) {
  struct progress p = {isatty(STDERR_FILENO), 0, 0};
  int64_t start = hk_time_mono_ms();
  struct hk_error err = {HK_E_OK, ""};
  for (;;) {
    int64_t gen = 0;
    json_t *m = NULL;
    const char *state;
    if (hk_store_restate_poll(st, &gen, &m, &err) != HK_E_OK) {
      fprintf(stderr, "\nhandoffctl: %s\n", err.msg);
      return HK_CTL_EXIT_UNAVAILABLE;
    }
    if (m == NULL || json_string_value(json_object_get(m, "id")) == NULL ||
        strcmp(json_string_value(json_object_get(m, "id")), id) != 0) {
      fprintf(stderr, "\nhandoffctl: the restate was cleared meanwhile\n");
      json_decref(m);
      return HK_CTL_EXIT_FAILURE;
    }
    show(&p, m);
    state = json_string_value(json_object_get(m, "state"));
    if (state != NULL && strcmp(state, "ready") == 0) {
      if (p.tty) {
        fputc('\n', stderr);
      }
      *final = m;
      return HK_CTL_EXIT_OK;
    }
    json_decref(m);
    if (interrupted ||
        (timeout_ms > 0 && hk_time_mono_ms() - start > timeout_ms)) {
      fprintf(stderr, "\nhandoffctl: %s; the restate is dropped\n",
              interrupted ? "interrupted" : "timed out");
      return HK_CTL_EXIT_FAILURE;
    }
    hk_sleep_ms(200);
  }
}

/* ---------------------------------------------------------------------------
 * Side by side
 * ------------------------------------------------------------------------- */

static json_t *doc(struct hk_store *st, const char *key) {
  struct hk_error err = {HK_E_OK, ""};
  char *text = NULL;
  size_t len = 0;
  json_t *d = NULL;
  if (hk_store_get(st, key, &text, &len, &err) == HK_E_OK && text != NULL) {
    d = json_loadb(text, len, 0, NULL);
  }
  free(text);
  return d;
}

/* One figure of a window, as text ("-" when absent). */
static void figure(const json_t *w, const char *k, char *out, size_t cap) {
  const json_t *v = json_object_get(w, k);
  if (json_is_integer(v)) {
    snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(out, cap, "%.3f", json_real_value(v));
  } else {
    snprintf(out, cap, "-");
  }
}

static void compare(struct hk_store *st, const char *kind, const char *name,
                    const char *const *figures) {
  static const char *const windows[] = {"24h", "7d", "30d"};
  char *key = hk_xprintf("kpi:%s:%s", kind, name);
  char *shadow = hk_xprintf(HK_STORE_SHADOW "kpi:%s:%s", kind, name);
  json_t *was = doc(st, key);
  json_t *now = doc(st, shadow);
  printf("%s %s\n  %-24s %12s %12s\n", kind, name, "", "measured", "restated");
  for (size_t w = 0; w < 3; w++) {
    const json_t *a =
        json_object_get(json_object_get(was, "windows"), windows[w]);
    const json_t *b =
        json_object_get(json_object_get(now, "windows"), windows[w]);
    for (size_t f = 0; figures[f] != NULL; f++) {
      char x[32], y[32];
      figure(a, figures[f], x, sizeof x);
      figure(b, figures[f], y, sizeof y);
      printf("  %-4s %-19s %12s %12s%s\n", f == 0 ? windows[w] : "", figures[f],
             x, y, strcmp(x, y) != 0 ? "  *" : "");
    }
  }
  json_decref(was);
  json_decref(now);
  free(key);
  free(shadow);
}

/* Every handoff and stage of either config, measured and restated. */
static void side_by_side(struct hk_store *st, const struct hk_config *old,
                         const struct hk_config *neu) {
  static const char *const hf[] = {
      "started",         "met",        "met_late",
      "breached",        "cancelled",  "open",
      "incomplete",      "attainment", "response_p50_ms",
      "response_p90_ms", NULL};
  static const char *const sf[] = {"entered", "moved_on", "conversion",
                                   "median_time_in_stage_ms", NULL};
  const char *groups[] = {"handoffs", "stages"};
  const char *kinds[] = {"handoff", "stage"};
  for (int g = 0; g < 2; g++) {
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(neu->doc, groups[g]), name, v) {
      compare(st, kinds[g], name, g == 0 ? hf : sf);
    }
    json_object_foreach(json_object_get(old->doc, groups[g]), name, v) {
      if (json_object_get(json_object_get(neu->doc, groups[g]), name) == NULL) {
        compare(st, kinds[g], name, g == 0 ? hf : sf);
      }
    }
  }
}

/* ---------------------------------------------------------------------------
 * Dropping and switching
 * ------------------------------------------------------------------------- */

static int starts(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

/* 1 when suffix names a key of the derived state. */
static int derived(const char *k) {
  return starts(k, "clocks:") || starts(k, "due:") || starts(k, "hcount:") ||
         starts(k, "cs:") || starts(k, "hkpi:") || starts(k, "skpi:") ||
         (starts(k, "kpi:") && strcmp(k, "kpi:lock") != 0) ||
         strcmp(k, "stages") == 0;
}

/* Deletes every shadow key (the restate's bookkeeping too). */
static enum hk_err drop_shadow(struct hk_store *st, struct hk_error *err) {
  struct hk_strings all = {NULL, 0};
  struct hk_strings gone = {NULL, 0};
  enum hk_err rc = hk_store_scan_all(st, &all, err);
  gone.v = hk_xcalloc(all.n + 1, sizeof *gone.v);
  for (size_t i = 0; rc == HK_E_OK && i < all.n; i++) {
    if (starts(all.v[i], HK_STORE_SHADOW)) {
      gone.v[gone.n++] = all.v[i];
    }
  }
  for (size_t i = 0; rc == HK_E_OK && i < gone.n; i += 500) {
    size_t n = gone.n - i < 500 ? gone.n - i : 500;
    rc = hk_store_delete(st, (const char *const *)gone.v + i, n, err);
  }
  free(gone.v);
  hk_strings_fini(&all);
  return rc;
}

static void add(struct hk_strings *s, size_t *cap, char *k) {
  if (s->n == *cap) {
    *cap = *cap == 0 ? 64 : *cap * 2;
    s->v = hk_xrealloc(s->v, *cap * sizeof *s->v);
  }
  s->v[s->n++] = k;
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names a config's handoffs and stages give the derived keys now:
 * those that come and go (a state index, a due index, today's buckets),
 * so a key made after the scan is switched too. */
static void named_keys(const struct hk_config *cfg, struct hk_strings *s,
                       size_t *cap) {
  static const char *const states[] = {"paused", "breached", "met", "met_late",
                                       "cancelled"};
  int64_t today = hk_time_now_ms() / 86400000LL;
  const char *name;
  json_t *v;
  json_object_foreach(json_object_get(cfg->doc, "handoffs"), name, v) {
    add(s, cap, hk_xprintf("clocks:%s", name));
    struct hk_strings due;
    hk_store_due_names(name, &due);
    for (size_t i = 0; i < due.n; i++) {
      add(s, cap, due.v[i]); /* taken */
    }
    free(due.v);
    add(s, cap, hk_xprintf("hcount:%s", name));
    add(s, cap, hk_xprintf("kpi:handoff:%s", name));
    for (size_t i = 0; i < 5; i++) {
      add(s, cap, hk_xprintf("cs:%s:%s", name, states[i]));
    }
    for (int64_t d = today - 1; d <= today + 1; d++) {
      add(s, cap, hk_xprintf("hkpi:%s:%" PRId64, name, d));
    }
  }
  json_object_foreach(json_object_get(cfg->doc, "stages"), name, v) {
    add(s, cap, hk_xprintf("kpi:stage:%s", name));
    for (int64_t d = today - 1; d <= today + 1; d++) {
      add(s, cap, hk_xprintf("skpi:%s:%" PRId64, name, d));
    }
  }
}

/* 1 when key is what a forget request carried out at or after since_ms
 * left behind (forget:done:ID, ID the request's stream id). */
static int forgotten_since(const char *key, int64_t since_ms) {
  return starts(key, "forget:done:") &&
         strtoll(key + strlen("forget:done:"), NULL, 10) >= since_ms;
}

/* Switches the shadow in; *gen the new generation (0: not ready, or a
 * subject was forgotten since since_ms: its records may be in the shadow,
 * so nothing is switched and *forgot is set). */
static enum hk_err switch_in(struct hk_store *st, const char *id,
                             const struct hk_config *old,
                             const struct hk_config *neu, int64_t since_ms,
                             int64_t *gen, int *forgot, struct hk_error *err) {
  struct hk_strings all = {NULL, 0};
  struct hk_strings keys = {NULL, 0};
  size_t cap = 0;
  size_t uniq = 0;
  enum hk_err rc = hk_store_scan_all(st, &all, err);
  for (size_t i = 0; rc == HK_E_OK && i < all.n; i++) {
    const char *k = all.v[i];
    if (starts(k, HK_STORE_SHADOW)) {
      k += strlen(HK_STORE_SHADOW);
    }
    if (derived(k)) {
      add(&keys, &cap, hk_xstrdup(k));
    }
    *forgot = *forgot || forgotten_since(k, since_ms);
  }
  add(&keys, &cap, hk_xstrdup("stages"));
  add(&keys, &cap, hk_xstrdup("kpi:health"));
  add(&keys, &cap, hk_xstrdup("kpi:handoffs"));
  add(&keys, &cap, hk_xstrdup("kpi:stages"));
  named_keys(old, &keys, &cap);
  named_keys(neu, &keys, &cap);
  qsort(keys.v, keys.n, sizeof *keys.v, by_text);
  for (size_t i = 0; i < keys.n; i++) {
    if (uniq > 0 && strcmp(keys.v[uniq - 1], keys.v[i]) == 0) {
      free(keys.v[i]);
    } else {
      keys.v[uniq++] = keys.v[i];
    }
  }
  keys.n = uniq;
  *gen = 0;
  if (rc == HK_E_OK && !*forgot) {
    rc = hk_store_restate_switch(st, id, (const char *const *)keys.v, keys.n,
                                 gen, err);
  }
  hk_strings_fini(&keys);
  hk_strings_fini(&all);
  return rc;
}

/* ---------------------------------------------------------------------------
 * The commands
 * ------------------------------------------------------------------------- */

struct restate_args {
  const char *config;
  const char *redis;
  const char *next;
  int apply;
  int abort; /* --abort: end a restate left behind, no NEW.json */
  int64_t timeout_ms;
};

static enum hk_ctl_exit restate_parse(int argc, char **argv,
                                      struct restate_args *a) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"apply", no_argument, NULL, 'a'},
      {"abort", no_argument, NULL, 'A'},
      {"timeout", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0}};
  int c;
  memset(a, 0, sizeof *a);
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': a->config = optarg; break;
    case 'r': a->redis = optarg; break;
    case 'a': a->apply = 1; break;
    case 'A': a->abort = 1; break;
    case 't':
      if (hk_duration_parse(optarg, &a->timeout_ms) != 0) {
        fprintf(stderr, "handoffctl: --timeout wants a duration, not %s\n",
                optarg);
        return hk_ctl_bad_usage();
      }
      break;
    default: return hk_ctl_bad_usage();
    }
  }
  a->config = hk_ctl_config_or_env(a->config);
  if (a->config == NULL || optind + (a->abort ? 0 : 1) != argc ||
      (a->abort && a->apply)) {
    return hk_ctl_bad_usage();
  }
  a->next = a->abort ? NULL : argv[optind];
  return HK_CTL_EXIT_OK;
}

/* The new config, checked as check-config does; NULL after saying why. */
static struct hk_config *load_new(const char *path) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg = hk_ctl_load(path, 0);
  struct hk_mapper *m = cfg != NULL ? hk_mapper_new(cfg, &err) : NULL;
  struct hk_sla *sla = m != NULL ? hk_sla_new(cfg, &err) : NULL;
  if (cfg != NULL && (m == NULL || sla == NULL)) {
    fprintf(stderr, "%s: %s\n", path, err.msg);
    hk_config_free(cfg);
    cfg = NULL;
  }
  hk_sla_free(sla);
  hk_mapper_free(m);
  return cfg;
}

/* --apply: NEW.json in place of the service's file, then the switch; the
 * file is put back when the switch does not happen. */
static enum hk_ctl_exit apply(struct hk_store *st, const char *id,
                              const struct restate_args *a,
                              const struct hk_config *old,
                              const struct hk_config *neu, const char *text,
                              int64_t since) {
  struct hk_error err = {HK_E_OK, ""};
  char *was = read_text(a->config);
  int64_t gen = 0;
  int forgot = 0;
  char g[24];
  if (was == NULL || !replace_file(a->config, text)) {
    fprintf(stderr, "handoffctl: cannot replace %s; the restate is dropped\n",
            a->config);
    free(was);
    return HK_CTL_EXIT_FAILURE;
  }
  if (switch_in(st, id, old, neu, since, &gen, &forgot, &err) != HK_E_OK ||
      gen == 0) {
    fprintf(stderr, "handoffctl: no switch: %s; %s is as it was\n",
            forgot ? "a subject was forgotten during the restate (its "
                     "records may be in the shadow): run it again"
            : err.code == HK_E_OK ? "the restate was not ready"
                                  : err.msg,
            a->config);
    if (!replace_file(a->config, was)) {
      fprintf(stderr, "handoffctl: cannot put %s back\n", a->config);
    }
    free(was);
    return forgot ? HK_CTL_EXIT_FAILURE : HK_CTL_EXIT_UNAVAILABLE;
  }
  free(was);
  snprintf(g, sizeof g, "%" PRId64, gen);
  hk_log(HK_LOG_WARN, "restate applied", "restate", id, "generation", g,
         "config", a->config, (const char *)NULL);
  printf("applied: %s now holds %s (config generation %s)\n", a->config,
         a->next, g);
  return HK_CTL_EXIT_OK;
}

/* Runs a started restate to its end: waits, compares, then drops or
 * applies. */
static enum hk_ctl_exit restate_run(struct hk_store *st, const char *id,
                                    const struct restate_args *a,
                                    const struct hk_config *old,
                                    const struct hk_config *neu,
                                    const char *text) {
  struct hk_error err = {HK_E_OK, ""};
  json_t *final = NULL;
  int64_t since = 0;
  enum hk_ctl_exit rc = wait_ready(st, id, a->timeout_ms, &final);
  if (rc == HK_CTL_EXIT_OK) {
    char n[2][24];
    snprintf(n[0], sizeof n[0], "%" PRId64, field_int(final, "subjects_done"));
    snprintf(n[1], sizeof n[1], "%" PRId64, field_int(final, "events_done"));
    hk_log(HK_LOG_WARN, "restate ready", "restate", id, "subjects", n[0],
           "events", n[1], (const char *)NULL);
    {
      int64_t took =
          field_int(final, "ready_ms") - field_int(final, "running_ms");
      printf("restated %s subjects, %s events in %" PRId64
             " ms (%.0f events/s)\n\n",
             n[0], n[1], took,
             took > 0 ? (double)field_int(final, "events_done") * 1000.0 /
                            (double)took
                      : 0.0);
    }
    side_by_side(st, old, neu);
    since = field_int(final, "created_ms");
    json_decref(final);
  }
  if (rc == HK_CTL_EXIT_OK && a->apply) {
    rc = apply(st, id, a, old, neu, text, since);
  }
  /* The marker goes first, so the workers stop writing to the shadow
   * (they look about once a second), then the shadow; then again, for a
   * write that was on its way. */
  if (hk_store_restate_clear(st, id, &err) != HK_E_OK ||
      drop_shadow(st, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  hk_sleep_ms(2500);
  if (drop_shadow(st, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  if (rc == HK_CTL_EXIT_OK && !a->apply) {
    printf("dropped: nothing live changed (--apply switches to the "
           "restated figures)\n");
  }
  return rc;
}

/* --abort: ends whatever restate is under way (its handoffctl was killed)
 * and drops its shadow. */
static enum hk_ctl_exit abort_restate(const struct hk_config *cfg) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_store *st = hk_store_new(&cfg->redis);
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  if (hk_store_restate_clear(st, NULL, &err) != HK_E_OK ||
      drop_shadow(st, &err) != HK_E_OK) {
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else {
    hk_sleep_ms(2500); /* a worker's write on its way */
    if (drop_shadow(st, &err) != HK_E_OK) {
      rc = HK_CTL_EXIT_UNAVAILABLE;
    }
  }
  if (rc != HK_CTL_EXIT_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
  } else {
    hk_log(HK_LOG_WARN, "restate aborted", (const char *)NULL);
    printf("no restate under way now; nothing live changed\n");
  }
  hk_store_free(st);
  return rc;
}

enum hk_ctl_exit hk_ctl_restate(int argc, char **argv) {
  struct restate_args a;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *old;
  struct hk_config *neu;
  struct hk_store *st;
  char *text;
  char id[48];
  int started = 0;
  enum hk_ctl_exit rc = restate_parse(argc, argv, &a);
  if (rc != HK_CTL_EXIT_OK) {
    return rc;
  }
  old = hk_ctl_load_for_redis(a.config, a.redis, &rc);
  if (old == NULL) {
    return rc;
  }
  if (a.abort) {
    rc = abort_restate(old);
    hk_config_free(old);
    return rc;
  }
  neu = load_new(a.next);
  text = neu != NULL ? read_text(a.next) : NULL;
  if (neu == NULL || text == NULL) {
    hk_config_free(neu);
    hk_config_free(old);
    return HK_CTL_EXIT_CONFIG;
  }
  signal(SIGINT, on_interrupt);
  signal(SIGTERM, on_interrupt);
  snprintf(id, sizeof id, "%" PRId64 "-%ld", hk_time_now_ms(), (long)getpid());
  st = hk_store_new(&old->redis);
  if (hk_store_restate_begin(st, id, text, hk_time_now_ms() + ARM_MS, CHUNK,
                             hk_time_now_ms(), &started, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    rc = HK_CTL_EXIT_UNAVAILABLE;
  } else if (!started) {
    fprintf(stderr, "handoffctl: a restate is under way already (when its "
                    "handoffctl is gone: handoffctl restate --abort)\n");
    rc = HK_CTL_EXIT_FAILURE;
  } else {
    hk_log(HK_LOG_WARN, "restate started", "restate", id, "config", a.next,
           "apply", a.apply ? "true" : "false", (const char *)NULL);
    rc = restate_run(st, id, &a, old, neu, text);
  }
  hk_store_free(st);
  free(text);
  hk_config_free(neu);
  hk_config_free(old);
  return rc;
}

/* TIME as ISO 8601 (RFC 3339) or milliseconds since the epoch. */
static int parse_time(const char *s, int64_t *ms) {
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (end != s && *end == '\0' && v >= 0) {
    *ms = v;
    return 0;
  }
  return hk_map_rfc3339_ms(s, ms);
}

/* The deliveries not yet processed, for the progress. */
static int64_t waiting(struct hk_store *st, struct hk_error *err) {
  struct hk_queue_stats q;
  if (hk_store_queue_stats(st, &q, err) != HK_E_OK) {
    return -1;
  }
  return (q.lag > 0 ? q.lag : 0) + q.pending;
}

/* The sum of the counters named "mapped:…" (the events made). */
static int64_t mapped(struct hk_store *st, struct hk_error *err) {
  const char *keys[] = {"counts"};
  json_t *out = NULL;
  int64_t sum = 0;
  const char *k;
  json_t *v;
  if (hk_store_hashes(st, keys, 1, &out, err) != HK_E_OK) {
    return -1;
  }
  json_object_foreach(json_array_get(out, 0), k, v) {
    if (starts(k, "mapped:")) {
      sum += json_integer_value(v);
    }
  }
  json_decref(out);
  return sum;
}

enum hk_ctl_exit hk_ctl_replay(int argc, char **argv) {
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"redis", required_argument, NULL, 'r'},
      {"from", required_argument, NULL, 'f'},
      {"source", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0}};
  const char *config = NULL, *redis = NULL, *source = NULL, *from = NULL;
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg;
  struct hk_store *st;
  int64_t start = 0, copied = 0, skipped = 0, before, after, left;
  int64_t t0 = hk_time_mono_ms();
  enum hk_ctl_exit rc = HK_CTL_EXIT_OK;
  int c;
  while ((c = getopt_long(argc, argv, "c:r:", longs, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'r': redis = optarg; break;
    case 'f': from = optarg; break;
    case 's': source = optarg; break;
    default: return hk_ctl_bad_usage();
    }
  }
  config = hk_ctl_config_or_env(config);
  if (config == NULL || from == NULL || optind != argc) {
    return hk_ctl_bad_usage();
  }
  if (parse_time(from, &start) != 0) {
    fprintf(stderr, "handoffctl: --from wants an ISO 8601 time or ms, not %s\n",
            from);
    return hk_ctl_bad_usage();
  }
  cfg = hk_ctl_load_for_redis(config, redis, &rc);
  if (cfg == NULL) {
    return rc;
  }
  if (source != NULL && hk_config_source(cfg, source) == NULL) {
    fprintf(stderr, "handoffctl: the config has no source %s\n", source);
    hk_config_free(cfg);
    return HK_CTL_EXIT_USAGE;
  }
  st = hk_store_new(&cfg->redis);
  before = mapped(st, &err);
  if (before < 0 ||
      hk_store_replay(st, start, source, &copied, &skipped, &err) != HK_E_OK) {
    fprintf(stderr, "handoffctl: %s\n", err.msg);
    hk_store_free(st);
    hk_config_free(cfg);
    return HK_CTL_EXIT_UNAVAILABLE;
  }
  {
    char n[2][24];
    snprintf(n[0], sizeof n[0], "%" PRId64, copied);
    snprintf(n[1], sizeof n[1], "%" PRId64, start);
    hk_log(HK_LOG_WARN, "replay queued", "deliveries", n[0], "from_ms", n[1],
           "source", source != NULL ? source : "(all)", (const char *)NULL);
  }
  /* Progress until the workers processed the copies (at most 10 min). */
  while ((left = waiting(st, &err)) > 0 && hk_time_mono_ms() - t0 < 600000) {
    fprintf(stderr, "%sreplay: %" PRId64 " of %" PRId64 " deliveries left%s",
            isatty(STDERR_FILENO) ? "\r" : "", left, copied,
            isatty(STDERR_FILENO) ? " " : "\n");
    hk_sleep_ms(isatty(STDERR_FILENO) ? 200 : 2000);
  }
  after = mapped(st, &err);
  printf("replayed %" PRId64 " deliveries (%" PRId64
         " skipped: other sources or replays); %" PRId64 " new events%s\n",
         copied, skipped, after >= before ? after - before : 0,
         left > 0 ? " so far (the workers are still at it)" : "");
  hk_store_free(st);
  hk_config_free(cfg);
  return left < 0 ? HK_CTL_EXIT_UNAVAILABLE : HK_CTL_EXIT_OK;
}
