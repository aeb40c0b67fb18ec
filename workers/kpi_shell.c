/*
 * kpi_shell.c -- reads the KPI buckets, writes the status API's documents
 * (kpi.c builds them), and the worker's thread that does it every
 * --kpi-every.
 *
 * One read of the last 31 days' bucket hashes (a pipeline of HGETALLs, a
 * few per handoff and stage, however many clocks there are), one MSET of
 * the documents. Several worker processes take turns through a lock key
 * that lives one period, so the documents are written about once per
 * period in all.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/configs.h"
#include "workers/kpi.h"

#define DAY_MS 86400000LL

/* Appends s (a new string, taken) to keys. */
static void push(struct hk_strings *keys, char *s) {
  keys->v = hk_xrealloc(keys->v, (keys->n + 1) * sizeof *keys->v);
  keys->v[keys->n++] = s;
}

/* Appends "PREFIX:NAME:DAY" for every day of the 30-day window to keys. */
static void day_keys(const char *prefix, const char *name, int64_t now_ms,
                     struct hk_strings *keys) {
  int64_t last = now_ms / DAY_MS;
  int64_t first = (now_ms / 3600000 - 719) / 24;
  for (int64_t d = first; d <= last; d++) {
    push(keys, hk_xprintf("%s:%s:%" PRId64, prefix, name, d));
  }
}

/* The data hk_kpi_documents reads, from the hashes read for keys. */
static json_t *assemble(char **keys, size_t n, const json_t *hashes) {
  json_t *data =
      json_pack("{s:{}, s:{}, s:{}}", "handoffs", "stages", "groups");
  for (size_t i = 0; i < n; i++) {
    char *k = hk_xstrdup(keys[i]);
    char *kind = k;
    char *name = strchr(k, ':');
    char *day;
    json_t *group;
    json_t *entry;
    if (name == NULL) {
      free(k);
      continue;
    }
    *name++ = '\0';
    day = strrchr(name, ':');
    group = json_object_get(data, strcmp(kind, "skpi") == 0   ? "stages"
                                  : strcmp(kind, "gkpi") == 0 ? "groups"
                                                              : "handoffs");
    if (strcmp(kind, "hcount") == 0) {
      day = NULL;
    } else if (day != NULL) {
      *day++ = '\0';
    }
    entry = json_object_get(group, name);
    if (entry == NULL) {
      entry = json_pack("{s:{}}", "days");
      json_object_set_new(group, name, entry);
    }
    if (day == NULL) {
      json_object_set(entry, "running", json_array_get(hashes, i));
    } else if (json_object_size(json_array_get(hashes, i)) > 0) {
      json_object_set(json_object_get(entry, "days"), day,
                      json_array_get(hashes, i));
    }
    free(k);
  }
  return data;
}

enum hk_err hk_kpi_refresh(const struct hk_config *cfg, struct hk_store *st,
                           int64_t now_ms, struct hk_error *err) {
  struct hk_strings keys = {NULL, 0};
  json_t *hashes = NULL;
  json_t *data;
  json_t *docs;
  const char *name;
  json_t *conf;
  enum hk_err rc;

  json_object_foreach(json_object_get(cfg->doc, "handoffs"), name, conf) {
    const char *dim;
    json_t *spec;
    push(&keys, hk_xprintf("hcount:%s", name));
    day_keys("hkpi", name, now_ms, &keys);
    /* gkpi:HANDOFF:DIM:DAY, read as the group "HANDOFF:DIM". */
    json_object_foreach(json_object_get(conf, "group_by"), dim, spec) {
      char *hd = hk_xprintf("%s:%s", name, dim);
      day_keys("gkpi", hd, now_ms, &keys);
      free(hd);
    }
  }
  json_object_foreach(json_object_get(cfg->doc, "stages"), name, conf) {
    day_keys("skpi", name, now_ms, &keys);
  }
  rc = hk_store_hashes(st, (const char *const *)keys.v, keys.n, &hashes, err);
  if (rc != HK_E_OK) {
    hk_strings_fini(&keys);
    return rc;
  }
  data = assemble(keys.v, keys.n, hashes);
  hk_strings_fini(&keys);
  json_decref(hashes);
  docs = hk_kpi_documents(cfg->doc, data, now_ms);
  json_decref(data);
  {
    size_t nd = json_object_size(docs);
    const char **ks = hk_xcalloc(nd + 1, sizeof *ks);
    char **vs = hk_xcalloc(nd + 1, sizeof *vs);
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(docs, k, v) {
      ks[i] = k;
      vs[i] = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
      if (vs[i] == NULL) {
        abort(); /* out of memory */
      }
      i++;
    }
    rc = hk_store_set_many(st, ks, (const char *const *)vs, nd, err);
    for (i = 0; i < nd; i++) {
      free(vs[i]);
    }
    free(vs);
    free(ks);
  }
  json_decref(docs);
  return rc;
}

/* ---------------------------------------------------------------------------
 * The thread
 * ------------------------------------------------------------------------- */

struct hk_kpi_thread {
  const struct hk_config *(*newest)(void *, size_t *);
  void *arg;
  int64_t every_ms;
  char owner[160];
  atomic_int stop;
  pthread_t thread;
};

static void *run(void *arg) {
  struct hk_kpi_thread *t = arg;
  struct hk_gen_store gs = {NULL, HK_CONFIGS_NONE};
  int down = 0;
  struct hk_digests *digests = NULL;
  size_t digests_gen = HK_CONFIGS_NONE; /* the generation digests is of */

  while (!atomic_load(&t->stop)) {
    struct hk_error err = {HK_E_OK, ""};
    int64_t t0 = hk_time_mono_ms();
    int got = 0;
    enum hk_err rc;
    size_t gen = 0;
    const struct hk_config *cfg = t->newest(t->arg, &gen);
    struct hk_store *st;
    (void)hk_gen_store_follow(&gs, cfg, gen);
    st = gs.st;
    rc = hk_store_lock(st, "kpi:lock", t->owner,
                       t->every_ms - 10 > 0 ? t->every_ms - 10 : 1, &got, &err);
    if (rc == HK_E_OK && got) {
      int64_t now = hk_time_now_ms();
      /* The bucket days and listed clocks that aged out go with the
       * retention pass (retention.c), by history.keep. */
      rc = hk_kpi_refresh(cfg, st, now, &err);
      if (rc == HK_E_OK) {
        /* The weekly digests read the documents just written. */
        if (gen != digests_gen) {
          hk_digests_free(digests);
          digests = hk_digests_new(cfg);
          digests_gen = gen;
        }
        hk_digests_tick(digests, cfg, st, now);
      }
    }
    if (rc != HK_E_OK && !down) {
      hk_log(HK_LOG_WARN, "KPI documents not written; retrying", "error",
             err.msg, (const char *)NULL);
    }
    down = rc != HK_E_OK;
    /* Sleep out the period in short steps, to stop promptly. */
    while (!atomic_load(&t->stop) && hk_time_mono_ms() - t0 < t->every_ms) {
      int64_t left = t->every_ms - (hk_time_mono_ms() - t0);
      hk_sleep_ms(left < 100 ? left : 100);
    }
  }
  hk_digests_free(digests);
  hk_gen_store_fini(&gs);
  return NULL;
}

struct hk_kpi_thread *
hk_kpi_start(const struct hk_config *(*newest)(void *, size_t *), void *arg,
             int64_t every_ms, const char *consumer) {
  struct hk_kpi_thread *t = hk_xcalloc(1, sizeof *t);
  t->newest = newest;
  t->arg = arg;
  t->every_ms = every_ms > 0 ? every_ms : 2000;
  snprintf(t->owner, sizeof t->owner, "%s", consumer);
  atomic_init(&t->stop, 0);
  if (pthread_create(&t->thread, NULL, run, t) != 0) {
    free(t);
    return NULL;
  }
  return t;
}

void hk_kpi_stop(struct hk_kpi_thread *t) {
  if (t == NULL) {
    return;
  }
  atomic_store(&t->stop, 1);
  pthread_join(t->thread, NULL);
  free(t);
}
