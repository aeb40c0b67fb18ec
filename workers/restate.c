/*
 * restate.c -- a worker loop's part in a restate (handoffctl restate).
 *
 * When the marker {prefix}restate appears, each loop compiles the new
 * config it carries and opens a second store under the shadow prefix
 * ({prefix}restate:). From then on every batch is applied to the live keys
 * under the live config (worker.c) and to the shadow under the new one
 * (hk_restate_apply). Meanwhile the loops share the history: each takes a
 * chunk of subjects (lua/restate_take.lua; a chunk whose worker died is
 * handed out again after its lease), reads their journey events and
 * applies each subject's whole history to the shadow. Applying an event
 * twice changes nothing, so a subject restated while its new events come
 * in ends the same either way. The worker of the last chunk evaluates the
 * shadow's due clocks and writes its documents, and marks it ready.
 *
 * Every shadow write is fenced with the generation the loop saw when it
 * armed: after handoffctl --apply switched the shadow in, a late write
 * is refused instead of leaving a shadow key behind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/restate.h"

static char *dup_or_null(const char *s) {
  return s != NULL ? hk_xstrdup(s) : NULL;
}

void hk_restate_init(struct hk_restate *r, const struct hk_redis_conf *redis) {
  memset(r, 0, sizeof *r);
  r->redis = *redis;
  r->redis.host = dup_or_null(redis->host);
  r->redis.unix_path = dup_or_null(redis->unix_path);
  r->redis.password = dup_or_null(redis->password);
  r->redis.prefix =
      hk_xstrdup(redis->prefix != NULL ? redis->prefix : "handoff:");
  r->gen = -1;
}

static void disarm(struct hk_restate *r) {
  if (r->id != NULL) {
    hk_log(HK_LOG_INFO, "restate ended here", "restate", r->id,
           (const char *)NULL);
  }
  hk_store_free(r->shadow);
  hk_stages_free(r->stages);
  hk_sla_free(r->sla);
  hk_config_free(r->cfg);
  free(r->id);
  r->id = NULL;
  r->shadow = NULL;
  r->stages = NULL;
  r->sla = NULL;
  r->cfg = NULL;
}

void hk_restate_fini(struct hk_restate *r) {
  disarm(r);
  free(r->redis.host);
  free(r->redis.unix_path);
  free(r->redis.password);
  free(r->redis.prefix);
  memset(r, 0, sizeof *r);
}

/* Compiles the marker's config and opens the shadow; logs why not. */
static void arm(struct hk_restate *r, const char *id, const char *text,
                int64_t gen) {
  struct hk_config_diag diag = {0};
  struct hk_error err = {HK_E_OK, ""};
  struct hk_redis_conf shadow = r->redis;
  char *prefix;
  if (hk_config_parse(text, strlen(text), "restate", HK_CONFIG_NO_SECRETS,
                      &r->cfg, &diag) != HK_E_OK ||
      (r->sla = hk_sla_new(r->cfg, &err)) == NULL) {
    hk_log(HK_LOG_ERROR, "restate config refused", "restate", id, "error",
           err.msg, (const char *)NULL);
    hk_config_diag_fini(&diag);
    hk_config_free(r->cfg);
    r->cfg = NULL;
    return;
  }
  hk_config_diag_fini(&diag);
  prefix = hk_xprintf("%s" HK_STORE_SHADOW, r->redis.prefix);
  shadow.prefix = prefix;
  r->shadow = hk_store_new(&shadow);
  free(prefix);
  hk_store_fence(r->shadow, r->redis.prefix, gen);
  r->stages = hk_stages_new(r->cfg);
  hk_sla_shell_init(&r->sh, r->cfg, r->sla, r->stages, r->shadow);
  r->gen = gen;
  r->id = hk_xstrdup(id);
  hk_log(HK_LOG_INFO, "restate armed: new events go to the shadow too",
         "restate", id, (const char *)NULL);
}

enum hk_err hk_restate_poll(struct hk_restate *r, struct hk_store *live,
                            int force, int64_t *gen, struct hk_error *err) {
  json_t *marker = NULL;
  const char *id;
  int64_t now = hk_time_mono_ms();
  size_t woken = 0;
  enum hk_err rc;
  if (!force && r->last_poll != 0 && now - r->last_poll < HK_RESTATE_POLL_MS) {
    return HK_E_OK;
  }
  r->last_poll = now;
  rc = hk_store_restate_poll(live, gen, &marker, err);
  if (rc != HK_E_OK) {
    return rc;
  }
  id = json_string_value(json_object_get(marker, "id"));
  if (r->id != NULL &&
      (id == NULL || strcmp(id, r->id) != 0 || *gen != r->gen)) {
    disarm(r);
  }
  if (r->id == NULL && r->cfg == NULL && id != NULL) {
    arm(r, id, json_string_value(json_object_get(marker, "config")), *gen);
  } else if (id == NULL) {
    hk_config_free(r->cfg); /* a refused config: forget it */
    r->cfg = NULL;
  }
  json_decref(marker);
  if (r->id != NULL) {
    rc = hk_sla_shell_tick(&r->sh, hk_time_now_ms(), &woken, err);
    if (rc == HK_E_STALE_CONFIG) {
      disarm(r);
      rc = HK_E_OK;
    }
  }
  return rc;
}

enum hk_err hk_restate_apply(struct hk_restate *r,
                             const struct hk_event *const *evs, size_t n,
                             int64_t now_ms, struct hk_error *err) {
  if (r->id == NULL || n == 0) {
    return HK_E_OK;
  }
  return hk_sla_shell_apply(&r->sh, evs, n, now_ms, err);
}

/* ---------------------------------------------------------------------------
 * A chunk of history
 * ------------------------------------------------------------------------- */

/* The attributes the live clock records keep of each event id of the
 * chunk's subjects: for history members written before they carried
 * attributes ([id, type, source]). An object id -> attrs. */
static json_t *record_attrs(struct hk_store *live, const struct hk_config *cfg,
                            const struct hk_strings *subjects,
                            struct hk_error *err) {
  json_t *handoffs = json_object_get(cfg->doc, "handoffs");
  size_t n = json_object_size(handoffs) * subjects->n;
  char **keys = hk_xcalloc(n + 1, sizeof *keys);
  const char **fields = hk_xcalloc(n + 1, sizeof *fields);
  char **records = hk_xcalloc(n + 1, sizeof *records);
  json_t *out = json_object();
  const char *name;
  json_t *conf;
  size_t i = 0;
  json_object_foreach(handoffs, name, conf) {
    for (size_t s = 0; s < subjects->n; s++, i++) {
      keys[i] = hk_xprintf("clocks:%s", name);
      fields[i] = subjects->v[s];
    }
  }
  if (hk_store_cas_get(live, (const char *const *)keys, fields, n, records,
                       err) == HK_E_OK) {
    for (i = 0; i < n; i++) {
      struct hk_clock_record rec;
      size_t k;
      json_t *e;
      hk_record_parse(records[i], &rec);
      json_array_foreach(rec.events, k, e) {
        const char *id = json_string_value(json_array_get(e, 0));
        json_t *attrs = json_array_get(e, 3);
        json_t *have = id != NULL ? json_object_get(out, id) : NULL;
        if (id == NULL || !json_is_object(attrs)) {
          continue;
        }
        if (have == NULL) {
          json_object_set_new(out, id, json_deep_copy(attrs));
        } else {
          json_object_update_missing(have, attrs);
        }
      }
      hk_record_fini(&rec);
      free(records[i]);
    }
  }
  for (i = 0; i < n; i++) {
    free(keys[i]);
  }
  free(keys);
  free(fields);
  free(records);
  return out;
}

/* The event of one history member (hk_history_read) at score, into ev;
 * a member written before attrs were kept takes them from fallback (the
 * live records' entries by id). 0 when it is not one. */
static int event_of(const char *member, const char *score, const char *subject,
                    const json_t *fallback, struct hk_event *ev) {
  if (!hk_history_read(member, ev)) {
    return 0;
  }
  if (ev->attrs == NULL) {
    const json_t *attrs = json_object_get(fallback, ev->id);
    ev->attrs = attrs != NULL ? json_deep_copy(attrs) : json_object();
  }
  ev->subject = hk_xstrdup(subject);
  ev->at_ms = strtoll(score, NULL, 10);
  return 1;
}

/* Applies the histories of the chunk's subjects to the shadow; *events
 * counts them. */
static enum hk_err restate_chunk(struct hk_restate *r, struct hk_store *live,
                                 const struct hk_config *live_cfg,
                                 const struct hk_strings *subjects,
                                 int64_t *events, struct hk_error *err) {
  struct hk_strings *members = hk_xcalloc(subjects->n + 1, sizeof *members);
  struct hk_strings *scores = hk_xcalloc(subjects->n + 1, sizeof *scores);
  struct hk_event *evs = NULL;
  const struct hk_event **ptrs = NULL;
  json_t *fallback = NULL;
  size_t n = 0;
  size_t total = 0;
  int old = 0;
  enum hk_err rc = hk_store_journeys(live, (const char *const *)subjects->v,
                                     subjects->n, members, scores, err);
  for (size_t s = 0; rc == HK_E_OK && s < subjects->n; s++) {
    total += members[s].n;
    for (size_t k = 0; k < members[s].n && !old; k++) {
      /* Written before attrs were kept: [id, type, source]. */
      json_t *m = json_loads(members[s].v[k], 0, NULL);
      old = json_array_size(m) == 3 && json_is_string(json_array_get(m, 2));
      json_decref(m);
    }
  }
  if (rc == HK_E_OK && old) {
    fallback = record_attrs(live, live_cfg, subjects, err);
  }
  evs = hk_xcalloc(total + 1, sizeof *evs);
  ptrs = hk_xcalloc(total + 1, sizeof(const struct hk_event *));
  for (size_t s = 0; rc == HK_E_OK && s < subjects->n; s++) {
    for (size_t k = 0; k < members[s].n; k++) {
      if (event_of(members[s].v[k], scores[s].v[k], subjects->v[s], fallback,
                   &evs[n])) {
        ptrs[n] = &evs[n];
        n++;
      }
    }
  }
  if (rc == HK_E_OK) {
    rc = hk_sla_shell_apply(&r->sh, ptrs, n, hk_time_now_ms(), err);
  }
  *events = (int64_t)n;
  for (size_t i = 0; i < n; i++) {
    hk_event_fini(&evs[i]);
  }
  for (size_t s = 0; s < subjects->n; s++) {
    hk_strings_fini(&members[s]);
    hk_strings_fini(&scores[s]);
  }
  json_decref(fallback);
  free(ptrs);
  free(evs);
  free(scores);
  free(members);
  return rc;
}

/* The last piece: every due clock of the shadow evaluated at now, its
 * documents written, the restate ready for handoffctl. */
static enum hk_err finish(struct hk_restate *r, struct hk_store *live,
                          struct hk_error *err) {
  size_t woken = 0;
  int moved = 0;
  enum hk_err rc;
  do {
    rc = hk_sla_shell_tick(&r->sh, hk_time_now_ms(), &woken, err);
  } while (rc == HK_E_OK && woken > 0);
  if (rc == HK_E_OK) {
    rc = hk_kpi_refresh(r->cfg, r->shadow, hk_time_now_ms(), err);
  }
  if (rc == HK_E_OK) {
    rc = hk_store_restate_state(live, r->id, "finishing", "ready",
                                hk_time_now_ms(), &moved, err);
  }
  if (rc == HK_E_OK && moved) {
    hk_log(HK_LOG_INFO, "restate ready", "restate", r->id, (const char *)NULL);
  }
  return rc;
}

enum hk_err hk_restate_work(struct hk_restate *r, struct hk_store *live,
                            const struct hk_config *live_cfg,
                            struct hk_error *err) {
  struct hk_strings subjects = {NULL, 0};
  enum hk_restate_work work;
  int64_t chunk = -1;
  int64_t events = 0;
  int last = 0;
  enum hk_err rc;
  r->busy = 0;
  if (r->id == NULL) {
    return HK_E_OK;
  }
  rc = hk_store_restate_take(live, r->id, hk_time_now_ms(), HK_RESTATE_LEASE_MS,
                             &work, &chunk, &subjects, err);
  if (rc == HK_E_OK && work == HK_RESTATE_CHUNK) {
    r->busy = 1;
    rc = restate_chunk(r, live, live_cfg, &subjects, &events, err);
    if (rc == HK_E_OK) {
      rc = hk_store_restate_done(live, r->id, chunk, (int64_t)subjects.n,
                                 events, hk_time_now_ms(), &last, err);
    }
    {
      char k[24], e[24];
      snprintf(k, sizeof k, "%" PRId64, chunk);
      snprintf(e, sizeof e, "%" PRId64, events);
      hk_log(HK_LOG_DEBUG, "restate chunk", "restate", r->id, "chunk", k,
             "events", e, "error", rc == HK_E_OK ? "" : err->msg,
             (const char *)NULL);
    }
  }
  if (rc == HK_E_OK && (last || work == HK_RESTATE_FINISH)) {
    rc = finish(r, live, err);
  }
  hk_strings_fini(&subjects);
  if (rc == HK_E_STALE_CONFIG) {
    disarm(r); /* switched in meanwhile: this shadow is live now */
    rc = HK_E_OK;
  }
  return rc;
}
