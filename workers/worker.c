/*
 * worker.c -- the worker: its loops (one per --threads), what each turn of
 * a loop does, and the reloads they share.
 *
 * Each turn runs a list of duties, one function each, listed in order
 * above loop_run, as Redis's serverCron lists its own. At the heart of
 * it, a batch of deliveries is mapped to journey events (the mapping rules
 * of the config and the providers' presets), the events are applied to
 * the clocks, and then the events, the counters, the dead letters and the
 * acknowledgement are written in one atomic step (hk_store_journal).
 * A delivery is acknowledged only after it was processed, so a worker killed
 * at any point leaves its unfinished deliveries pending for another.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "workers/configs.h"
#include "workers/kpi.h"
#include "workers/sla_shell.h"
#include "workers/workers.h"

/* ---------------------------------------------------------------------------
 * One delivery: map it, then journal the outcomes and acknowledge at once
 * ------------------------------------------------------------------------- */

/* Strings that outlive the loop that builds the journal items. */
struct scratch {
  char **s;
  size_t n;
  size_t cap;
};

static const char *keep(struct scratch *sc, char *s) {
  if (sc->n == sc->cap) {
    sc->cap = sc->cap == 0 ? 16 : sc->cap * 2;
    sc->s = hk_xrealloc(sc->s, sc->cap * sizeof *sc->s);
  }
  sc->s[sc->n++] = s;
  return s;
}

static const char *fmt(struct scratch *sc, const char *a, const char *b,
                       const char *c, const char *d) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
  char *s = hk_xmalloc(n);
  snprintf(s, n, "%s%s%s%s", a, b, c, d);
  return keep(sc, s);
}

static void scratch_fini(struct scratch *sc) {
  for (size_t i = 0; i < sc->n; i++) {
    free(sc->s[i]);
  }
  free(sc->s);
}

/* 1 when the body is a JSON array (a batch of items), else 0. */
static int is_batch(const struct hk_entry *e) {
  size_t i = 0;
  while (i < e->body_len && strchr(" \t\r\n", e->body[i]) != NULL) {
    i++;
  }
  return i < e->body_len && e->body[i] == '[';
}

/* The letter of a dead item: the bytes a retry queues again. A batch item
 * is queued alone, as a batch of one, so a retry does not map its siblings
 * twice (they would be deduplicated anyway). */
static const char *dead_body(struct scratch *sc, const struct hk_entry *e,
                             json_t *item, size_t *len) {
  const char *body = e->body;
  *len = e->body_len;
  if (item != NULL && is_batch(e)) {
    json_t *one = json_pack("[O]", item);
    char *s = json_dumps(one, JSON_COMPACT);
    json_decref(one);
    if (s == NULL) {
      abort(); /* out of memory: nothing was acknowledged */
    }
    *len = strlen(s);
    body = keep(sc, s);
  }
  return body;
}

struct tally {
  size_t events, ignored, dead, fresh;
};

/* One delivery of the batch, mapped, with the journal items it makes. */
struct prepared {
  struct hk_map_result res;
  struct hk_journal_item *items;
  size_t n;
  struct scratch sc;
  struct tally t;
};

/*
 * Maps e into p (fini it with prepared_fini): its events, and the journal
 * items of every outcome. A delivery the mapping cannot read at all (its
 * source was removed from the config since it was queued) becomes one dead
 * letter: nothing acknowledged is ever dropped.
 */
static void prepare(const struct hk_mapper *m, const struct hk_entry *e,
                    struct prepared *p) {
  struct hk_error merr = {HK_E_OK, ""};
  const char *origin = e->delivery_id[0] != '\0' ? e->delivery_id : e->id;
  enum hk_err rc;

  memset(p, 0, sizeof *p);
  rc = hk_map_delivery(m, e->source, e->delivery_id, e->headers, e->body,
                       e->body_len, e->received_ms, &p->res, &merr);
  if (rc == HK_E_OK && p->res.n > HK_CAP_JOURNAL_ITEMS) {
    /* More outcomes than one journal step holds (a delivery queued before
     * intake capped arrays, or rules that fan out): the whole delivery
     * becomes one dead letter rather than a batch that can never be
     * acknowledged. */
    rc = hk_fail(&merr, HK_E_TOO_LARGE,
                 "the delivery made %zu outcomes, over the %u one delivery "
                 "may make",
                 p->res.n, HK_CAP_JOURNAL_ITEMS);
    hk_map_result_fini(&p->res);
  }
  p->items = hk_xcalloc(p->res.n > 0 ? p->res.n : 1, sizeof *p->items);
  if (rc != HK_E_OK) {
    struct hk_journal_item *it = &p->items[p->n++];
    it->kind = HK_JOURNAL_DEAD;
    it->key = fmt(&p->sc, "d:", e->id, ":0", "");
    it->counter = fmt(&p->sc, "dead:", e->source, ":", "(unmapped)");
    it->rule = "";
    it->reason = keep(&p->sc, hk_xstrdup(merr.msg));
    it->ptype = "unknown";
    it->body = e->body;
    it->body_len = e->body_len;
    p->t.dead++;
  }
  for (size_t i = 0; rc == HK_E_OK && i < p->res.n; i++) {
    const struct hk_map_out *o = &p->res.items[i];
    struct hk_journal_item *it = &p->items[p->n++];
    char idx[24];
    snprintf(idx, sizeof idx, ":%zu", i);
    if (o->status == HK_MAP_EVENT) {
      json_t *j = hk_event_json(&o->ev);
      char *s = json_dumps(j, JSON_COMPACT);
      json_decref(j);
      if (s == NULL) {
        abort(); /* out of memory: nothing was acknowledged */
      }
      it->kind = HK_JOURNAL_EVENT;
      it->key = fmt(&p->sc, "e:", o->ev.id, "", "");
      it->counter = fmt(&p->sc, "mapped:", e->source, ":", o->ev.type);
      it->event = keep(&p->sc, s);
      p->t.events++;
    } else if (o->status == HK_MAP_IGNORED) {
      it->kind = HK_JOURNAL_IGNORED;
      it->key =
          fmt(&p->sc, "i:", e->source, ":", fmt(&p->sc, origin, idx, "", ""));
      it->counter = fmt(&p->sc, "ignored:", e->source, ":",
                        o->ptype != NULL ? o->ptype : "unknown");
      p->t.ignored++;
    } else {
      it->kind = HK_JOURNAL_DEAD;
      it->key = fmt(&p->sc, "d:", e->id, idx, "");
      it->counter =
          fmt(&p->sc, "dead:", e->source, ":", o->rule != NULL ? o->rule : "");
      it->rule = o->rule;
      it->reason = o->reason;
      it->ptype = o->ptype;
      it->body = dead_body(&p->sc, e, o->item, &it->body_len);
      p->t.dead++;
      hk_log(HK_LOG_WARN, "dead letter", "id", e->id, "source", e->source,
             "rule", o->rule, "reason", o->reason, (const char *)NULL);
    }
  }
}

static void prepared_fini(struct prepared *p) {
  free(p->items);
  scratch_fini(&p->sc);
  hk_map_result_fini(&p->res);
}

/* Logs one journaled delivery. */
static void log_done(const struct hk_entry *e, const struct prepared *p,
                     int claimed, int64_t now_ms) {
  char nums[5][24];
  snprintf(nums[0], sizeof nums[0], "%zu", p->t.events);
  snprintf(nums[1], sizeof nums[1], "%zu", p->t.ignored);
  snprintf(nums[2], sizeof nums[2], "%zu", p->t.dead);
  snprintf(nums[3], sizeof nums[3], "%zu", p->n - p->t.fresh);
  snprintf(nums[4], sizeof nums[4], "%" PRId64, now_ms - e->received_ms);
  hk_log(HK_LOG_INFO, "delivery processed", "id", e->id, "source", e->source,
         "kind", e->kind, "delivery", e->delivery_id, "events", nums[0],
         "ignored", nums[1], "dead", nums[2], "duplicates", nums[3], "claimed",
         claimed ? "true" : "false", "lag_ms", nums[4], (const char *)NULL);
}

/*
 * Journals the prepared deliveries with their acknowledgements: all in one
 * pipeline, or one at a time with a pause before each when throttled.
 * Returns HK_E_UNAVAILABLE when Redis failed; what was not acknowledged
 * stays pending.
 */
static enum hk_err journal(struct hk_store *st, int64_t ttl_s,
                           const struct hk_batch *b, struct prepared *ps,
                           int claimed, const struct hk_worker_opts *o,
                           struct hk_error *err) {
  struct hk_journal *js = hk_xcalloc(b->n > 0 ? b->n : 1, sizeof *js);
  size_t step = o->throttle_ms > 0 ? 1 : b->n;
  enum hk_err rc = HK_E_OK;

  for (size_t i = 0; i < b->n; i++) {
    js[i] = (struct hk_journal){&b->items[i], ps[i].items, ps[i].n, 0};
  }
  for (size_t i = 0; rc == HK_E_OK && i < b->n; i += step) {
    int64_t now_ms;
    size_t n = b->n - i < step ? b->n - i : step;
    if (o->throttle_ms > 0) {
      hk_sleep_ms(o->throttle_ms);
    }
    now_ms = hk_time_now_ms();
    rc = hk_store_journal_many(st, &js[i], n, ttl_s, now_ms, err);
    for (size_t k = i; rc == HK_E_OK && k < i + n; k++) {
      ps[k].t.fresh = js[k].fresh;
      log_done(&b->items[k], &ps[k], claimed, now_ms);
    }
  }
  free(js);
  return rc;
}

/*
 * Processes and acknowledges a batch: maps every delivery, applies all of
 * their events to the clocks at once (a subject's events together, two
 * round trips for the batch), then journals and acknowledges the
 * deliveries (one more).
 * Clocks come first: a worker that dies before an ack leaves the delivery
 * pending, and applying its events again changes nothing. Returns
 * HK_E_UNAVAILABLE when Redis failed: the rest stays pending, to be claimed
 * again.
 */
static enum hk_err run_batch(struct hk_store *st, struct hk_sla_shell *sh,
                             const struct hk_mapper *m, int64_t ttl_s,
                             const struct hk_batch *b, int claimed,
                             const struct hk_worker_opts *o,
                             struct hk_error *err) {
  struct prepared *ps = hk_xcalloc(b->n > 0 ? b->n : 1, sizeof *ps);
  const struct hk_event **evs;
  size_t nevs = 0;
  size_t cap = 0;
  int64_t now_ms = hk_time_now_ms();
  enum hk_err rc;

  for (size_t i = 0; i < b->n; i++) {
    prepare(m, &b->items[i], &ps[i]);
    cap += ps[i].res.n;
  }
  evs = hk_xcalloc(cap > 0 ? cap : 1, sizeof(const struct hk_event *));
  for (size_t i = 0; i < b->n; i++) {
    for (size_t k = 0; k < ps[i].res.n; k++) {
      if (ps[i].res.items[k].status == HK_MAP_EVENT) {
        evs[nevs++] = &ps[i].res.items[k].ev;
      }
    }
  }
  rc = hk_sla_shell_apply(sh, evs, nevs, now_ms, err);
  if (rc == HK_E_OK) {
    rc = journal(st, ttl_s, b, ps, claimed, o, err);
  }
  for (size_t i = 0; i < b->n; i++) {
    prepared_fini(&ps[i]);
  }
  free(evs);
  free(ps);
  return rc == HK_E_OK ? HK_E_OK : HK_E_UNAVAILABLE;
}

/* intake.dedupe_ttl in seconds (the loader filled the default). */
static int64_t dedupe_ttl_s(const struct hk_config *cfg) {
  json_t *v =
      json_object_get(json_object_get(cfg->doc, "intake"), "dedupe_ttl");
  int64_t ms = 0;
  if (!json_is_string(v) || hk_duration_parse(json_string_value(v), &ms) != 0 ||
      ms < 1000) {
    ms = (int64_t)7 * 24 * 3600 * 1000;
  }
  return ms / 1000;
}

/* ---------------------------------------------------------------------------
 * The configs the loops run on (configs.h): each loop and the KPI thread
 * hold the generation they run on; a reload publishes a newer one.
 * ------------------------------------------------------------------------- */

struct configs {
  struct hk_configs list;
  size_t kpi_gen; /* the KPI thread's hold */
};

/* The newest config, for the KPI thread: it holds one config from one
 * call to the next, so this releases the one it held before. */
static const struct hk_config *newest_of(void *arg) {
  struct configs *cs = arg;
  size_t before = cs->kpi_gen;
  const struct hk_config *cfg = hk_configs_acquire(&cs->list, &cs->kpi_gen);
  hk_configs_release(&cs->list, before);
  return cfg;
}

/* Checks that cfg's mapping rules and handoffs compile. */
static enum hk_err compiles(const struct hk_config *cfg, struct hk_error *err) {
  struct hk_mapper *m = hk_mapper_new(cfg, err);
  struct hk_sla *sla = m != NULL ? hk_sla_new(cfg, err) : NULL;
  enum hk_err rc = m != NULL && sla != NULL ? HK_E_OK : HK_E_CONFIG;
  hk_sla_free(sla);
  hk_mapper_free(m);
  return rc;
}

/* Loads the file again and, when it compiles, hands it to the loops; else
 * the running config stays. */
static void reload(const struct hk_worker_opts *o, struct configs *cs) {
  struct hk_error err = {HK_E_OK, ""};
  struct hk_config *cfg;
  *o->reload = 0;
  cfg = o->load();
  if (cfg == NULL) {
    hk_log(HK_LOG_ERROR, "reload refused; keeping the running config",
           (const char *)NULL);
  } else if (compiles(cfg, &err) != HK_E_OK) {
    hk_log(HK_LOG_ERROR, "reload refused; keeping the running config", "error",
           err.msg, (const char *)NULL);
    hk_config_free(cfg);
  } else {
    char alive[24];
    const char *path = cfg->path;
    hk_configs_push(&cs->list, cfg);
    snprintf(alive, sizeof alive, "%zu", hk_configs_alive(&cs->list));
    hk_log(HK_LOG_INFO, "config reloaded", "config", path, "configs_alive",
           alive, (const char *)NULL);
  }
}

/* How long to wait for new deliveries: at most block_ms, less when a clock
 * comes due sooner, so warnings and breaches are marked on time. */
static int64_t wait_ms(struct hk_sla_shell *sh, int64_t block_ms,
                       struct hk_error *err) {
  int64_t next = HK_STORE_NOT_DUE;
  int64_t now;
  if (hk_sla_shell_next_due(sh, &next, err) != HK_E_OK ||
      next == HK_STORE_NOT_DUE) {
    return block_ms;
  }
  now = hk_time_now_ms();
  if (next <= now) {
    return 1; /* 0 would block forever */
  }
  return next - now < block_ms ? next - now : block_ms;
}

/* ---------------------------------------------------------------------------
 * One loop: a consumer of the group with its own Redis connection, mapping
 * and clocks. A worker runs --threads of them.
 * ------------------------------------------------------------------------- */

struct loop {
  const struct hk_worker_opts *o;
  struct configs *cs;
  atomic_int *halt;
  char consumer[160];
  pthread_t thread;
  /* What the loop runs on, compiled from the config generation it holds. */
  size_t gen;
  struct hk_mapper *m;
  struct hk_sla *sla;
  struct hk_stages *stages;
  int64_t ttl_s;
  struct hk_sla_shell sh;
  /* The Redis address is read once: changing it needs a restart. */
  struct hk_store *st;
  /* What the duties keep from one turn to the next. */
  struct hk_error err; /* the last failure, for the log */
  int64_t claim_every; /* ms from one claim to the next */
  int64_t last_claim;  /* when the last claim ran, monotonic ms */
  int64_t backoff;     /* ms to wait before the next turn; 0 when up */
  int ready;           /* the consumer group is known to exist */
  int down;            /* Redis failed (logged once until it is back) */
  /* The heartbeat duty's: when the last read returned (wall ms), the last
   * beat and the last reap of dead consumers (monotonic ms); 0 before. */
  int64_t last_read;
  int64_t last_beat;
  int64_t last_reap;
};

/* Compiles the config the loop starts on (the caller checked that it
 * compiles) and connects its store; loop_close undoes it. */
static void loop_open(struct loop *l) {
  const struct hk_config *cfg = hk_configs_acquire(&l->cs->list, &l->gen);
  l->err = (struct hk_error){HK_E_OK, ""};
  l->m = hk_mapper_new(cfg, &l->err);
  l->sla = hk_sla_new(cfg, &l->err);
  l->stages = hk_stages_new(cfg);
  l->st = hk_store_new(&cfg->redis);
  l->ttl_s = dedupe_ttl_s(cfg);
  hk_sla_shell_init(&l->sh, cfg, l->sla, l->stages, l->st);
  /* Claims every quarter of claim_idle, kept within 1 to 10 s: a delivery
   * left pending is taken over soon after it counts as abandoned, without
   * an XAUTOCLAIM on every turn. */
  l->claim_every = l->o->claim_idle_ms / 4;
  if (l->claim_every < 1000) {
    l->claim_every = 1000;
  } else if (l->claim_every > 10000) {
    l->claim_every = 10000;
  }
  l->last_claim = 0;
  l->backoff = 0;
  l->ready = 0;
  l->down = 0;
}

static void loop_close(struct loop *l) {
  hk_store_free(l->st);
  hk_mapper_free(l->m);
  hk_sla_free(l->sla);
  hk_stages_free(l->stages);
  hk_configs_release(&l->cs->list, l->gen);
}

/* ---------------------------------------------------------------------------
 * The duties of one turn, in the order loop_run calls them. Each that talks
 * to Redis returns the error (detail in l->err); after one fails, the rest
 * of the turn is skipped and note_outcome backs off.
 * ------------------------------------------------------------------------- */

/* 1. After Redis failed, waits before the next try. Returns 0 when a stop
 * was asked meanwhile, else 1. */
static int back_off(struct loop *l) {
  if (l->backoff > 0) {
    hk_sleep_ms(l->backoff);
    if (atomic_load(l->halt)) {
      return 0;
    }
  }
  return 1;
}

/* 2. When a reload published a config newer than the generation the loop
 * holds, compiles its mapping, clocks and stages (reload() checked that
 * they compile), then drops the hold on the one the loop ran on. */
static void pick_up_reload(struct loop *l) {
  struct hk_error err = {HK_E_OK, ""};
  size_t newest;
  const struct hk_config *cfg;
  struct hk_mapper *m2;
  struct hk_sla *sla2;
  if (hk_configs_newest(&l->cs->list) == l->gen) {
    return;
  }
  cfg = hk_configs_acquire(&l->cs->list, &newest);
  m2 = hk_mapper_new(cfg, &err);
  sla2 = hk_sla_new(cfg, &err);
  if (m2 == NULL || sla2 == NULL) {
    /* Keep running on the config the loop holds. */
    hk_mapper_free(m2);
    hk_sla_free(sla2);
    hk_configs_release(&l->cs->list, newest);
    return;
  }
  hk_mapper_free(l->m);
  hk_sla_free(l->sla);
  l->m = m2;
  l->sla = sla2;
  l->ttl_s = dedupe_ttl_s(cfg);
  hk_stages_free(l->stages);
  l->stages = hk_stages_new(cfg);
  hk_sla_shell_init(&l->sh, cfg, l->sla, l->stages, l->st);
  hk_configs_release(&l->cs->list, l->gen);
  l->gen = newest;
}

/* 3. Makes sure the consumer group exists: at the start and after each
 * failure (Redis may have restarted empty), not on every turn. */
static enum hk_err join_group(struct loop *l) {
  enum hk_err rc = l->ready ? HK_E_OK : hk_store_group_ensure(l->st, &l->err);
  if (rc == HK_E_OK) {
    l->ready = 1;
  }
  return rc;
}

/* 3b. About once a second, the heartbeat: {prefix}worker:CONSUMER holds
 * the time of the last read and lives three seconds and two longest read
 * waits, so a worker killed with SIGKILL stops counting as alive soon
 * after. Every claim interval, the consumers with no heartbeat and
 * nothing pending (a dead worker's, once claimed) leave the group. */
static enum hk_err heartbeat(struct loop *l) {
  int64_t now = hk_time_mono_ms();
  enum hk_err rc = HK_E_OK;
  if (l->last_read == 0) {
    l->last_read = hk_time_now_ms(); /* started: no read yet */
  }
  if (l->last_beat == 0 || now - l->last_beat >= 1000) {
    rc = hk_store_heartbeat(l->st, l->consumer, l->last_read,
                            3000 + 2 * l->o->block_ms, &l->err);
    l->last_beat = now;
  }
  if (rc == HK_E_OK && now - l->last_reap >= l->claim_every) {
    size_t removed = 0;
    l->last_reap = now;
    rc = hk_store_reap_consumers(l->st, l->consumer, &removed, &l->err);
    if (rc == HK_E_OK && removed > 0) {
      char n[24];
      snprintf(n, sizeof n, "%zu", removed);
      hk_log(HK_LOG_INFO, "removed dead consumers from the group", "count", n,
             "consumer", l->consumer, (const char *)NULL);
    }
  }
  return rc;
}

/* 4. The periodic part: clocks whose warning or deadline came. */
static enum hk_err fire_due_clocks(struct loop *l) {
  size_t woken = 0;
  enum hk_err rc = hk_sla_shell_tick(&l->sh, hk_time_now_ms(), &woken, &l->err);
  if (rc == HK_E_OK && woken > 0) {
    char n[24];
    snprintf(n, sizeof n, "%zu", woken);
    hk_log(HK_LOG_DEBUG, "clocks re-evaluated", "count", n, (const char *)NULL);
  }
  return rc;
}

/* 5. Every claim interval, takes into b the deliveries another consumer
 * read but left unacknowledged for claim_idle (it died or hung), and sets
 * *claimed. */
static enum hk_err claim_idle(struct loop *l, struct hk_batch *b,
                              int *claimed) {
  enum hk_err rc = HK_E_OK;
  if (hk_time_mono_ms() - l->last_claim >= l->claim_every) {
    l->last_claim = hk_time_mono_ms();
    rc = hk_store_claim(l->st, l->consumer, l->o->claim_idle_ms, l->o->batch, b,
                        &l->err);
    *claimed = 1;
  }
  return rc;
}

/* 6. Reads up to `batch` new deliveries into b, waiting at most block_ms,
 * less when a clock comes due sooner. */
static enum hk_err read_new(struct loop *l, struct hk_batch *b) {
  enum hk_err rc =
      hk_store_read(l->st, l->consumer, l->o->batch,
                    wait_ms(&l->sh, l->o->block_ms, &l->err), b, &l->err);
  if (rc == HK_E_OK) {
    l->last_read = hk_time_now_ms(); /* for the heartbeat */
  }
  return rc;
}

/* 7. Processes the batch in hand (run_batch): maps each delivery, applies
 * the events to clocks and stages, journals and acknowledges; then counts
 * the batch for /metrics. */
static enum hk_err process_batch(struct loop *l, const struct hk_batch *b,
                                 int claimed) {
  char n[24];
  int64_t t0;
  enum hk_err rc;
  /* A reload that came while the read waited applies to this batch. */
  pick_up_reload(l);
  snprintf(n, sizeof n, "%zu", b->n);
  if (claimed) {
    hk_log(HK_LOG_WARN, "claimed deliveries left pending by another worker",
           "count", n, "consumer", l->consumer, (const char *)NULL);
  }
  t0 = hk_time_mono_ms();
  rc = run_batch(l->st, &l->sh, l->m, l->ttl_s, b, claimed, l->o, &l->err);
  if (rc == HK_E_OK) {
    /* A count lost to Redis is not worth a retry. */
    static const char *const fields[] = {"batches", "batch_ms"};
    int64_t by[2] = {1, hk_time_mono_ms() - t0};
    struct hk_error ignored = {HK_E_OK, ""};
    (void)!hk_store_stats_add(l->st, fields, by, 2, &ignored);
  }
  return rc;
}

/* 8. After a failure: logs that Redis is down (once), forgets the group,
 * and doubles the wait (100 ms to 5 s). After a success: logs that it is
 * back, if it was down, and waits no more. */
static void note_outcome(struct loop *l, enum hk_err rc) {
  if (rc != HK_E_OK) {
    if (!l->down) {
      hk_log(HK_LOG_ERROR, "redis unreachable; retrying", "error", l->err.msg,
             "consumer", l->consumer, (const char *)NULL);
    }
    l->down = 1;
    l->ready = 0;
    l->backoff =
        l->backoff == 0 ? 100 : (l->backoff * 2 > 5000 ? 5000 : l->backoff * 2);
  } else {
    if (l->down) {
      hk_log(HK_LOG_INFO, "redis reachable again", "consumer", l->consumer,
             (const char *)NULL);
    }
    l->down = 0;
    l->backoff = 0;
  }
}

/* A clean stop with nothing pending leaves the group, so the consumers of
 * restarted workers do not pile up. */
static void leave_group(struct loop *l) {
  int left = 0;
  struct hk_error ignored = {HK_E_OK, ""};
  /* Not alive any more: the heartbeat expires now, the last read stays. */
  if (l->last_read > 0) {
    (void)!hk_store_heartbeat(l->st, l->consumer, l->last_read, 1, &ignored);
  }
  if (hk_store_consumer_leave(l->st, HK_STORE_GROUP, l->consumer, &left,
                              &l->err) != HK_E_OK) {
    hk_log(HK_LOG_WARN, "could not leave the consumer group", "consumer",
           l->consumer, "error", l->err.msg, (const char *)NULL);
  }
}

/*
 * The loop of one consumer. Each turn, until a stop is asked:
 *   1. back_off: after Redis failed, wait (100 ms, doubling to 5 s); a stop
 *      asked meanwhile ends the loop;
 *   2. pick_up_reload: when a reload published a newer config,
 *      compile its mapping, clocks and stages, and drop the older one;
 *   3. join_group: make sure the consumer group exists (XGROUP CREATE),
 *      at the start and after each failure; heartbeat: about once a
 *      second, the heartbeat key with the time of the last read, and every
 *      claim interval, dead consumers with nothing pending leave the group;
 *   4. fire_due_clocks: re-evaluate the clocks whose warning or deadline
 *      came, queuing their alerts;
 *   5. claim_idle: every claim interval, XAUTOCLAIM the deliveries another
 *      consumer left pending for claim_idle, and process them as its own;
 *   6. read_new: when none were claimed, XREADGROUP up to `batch` new
 *      deliveries, waiting at most block_ms, less when a clock comes due
 *      sooner;
 *   7. process_batch: pick up a reload that came during the read, then
 *      finish the whole batch, even when a stop was asked meanwhile: map
 *      each delivery to events, apply them to the clocks and stages (a
 *      subject's events together, compare-and-set), journal the outcomes
 *      and acknowledge (one atomic step per delivery), count the batch for
 *      /metrics;
 *   8. note_outcome: log Redis lost or back; after a failure, check the
 *      group again next time and set the next back-off.
 * A failure skips the rest of the turn. When the loop stops: leave_group.
 */
static void *loop_run(void *arg) {
  struct loop *l = arg;
  loop_open(l);
  while (!atomic_load(l->halt)) {
    struct hk_batch b = {NULL, 0};
    int claimed = 0;
    enum hk_err rc;

    if (!back_off(l)) {
      break;
    }
    pick_up_reload(l);
    rc = join_group(l);
    if (rc == HK_E_OK) {
      rc = heartbeat(l);
    }
    if (rc == HK_E_OK) {
      rc = fire_due_clocks(l);
    }
    if (rc == HK_E_OK) {
      rc = claim_idle(l, &b, &claimed);
    }
    if (rc == HK_E_OK && b.n == 0) {
      claimed = 0;
      rc = read_new(l, &b);
    }
    if (rc == HK_E_OK && b.n > 0) {
      rc = process_batch(l, &b, claimed);
    }
    hk_batch_fini(&b);
    note_outcome(l, rc);
  }
  leave_group(l);
  loop_close(l);
  return NULL;
}

enum hk_err hk_worker_run(const struct hk_config *cfg,
                          const struct hk_worker_opts *o, volatile int *stop) {
  struct hk_error err = {HK_E_OK, ""};
  struct configs cs;
  struct hk_deliverer *deliverer;
  struct hk_kpi_thread *kpis;
  size_t nloops = o->threads > 0 ? o->threads : 1;
  struct loop *loops;
  atomic_int halt;
  sigset_t all;
  sigset_t old;
  size_t started = 0;

  if (compiles(cfg, &err) != HK_E_OK) {
    hk_log(HK_LOG_ERROR, "invalid configuration", "error", err.msg,
           (const char *)NULL);
    return HK_E_CONFIG;
  }
  atomic_init(&halt, 0);
  hk_configs_init(&cs.list, cfg);
  cs.kpi_gen = HK_CONFIGS_NONE;
  /* Notifier URLs and secrets are read once: they change with a restart. */
  deliverer = hk_deliverer_start(cfg, o->consumer);
  if (deliverer == NULL) {
    hk_log(HK_LOG_ERROR, "cannot start the alert sender", (const char *)NULL);
  }
  kpis = o->kpi_every_ms > 0
             ? hk_kpi_start(newest_of, &cs, o->kpi_every_ms, o->consumer)
             : NULL;
  if (o->kpi_every_ms > 0 && kpis == NULL) {
    hk_log(HK_LOG_ERROR, "cannot start the KPI thread", (const char *)NULL);
  }
  loops = hk_xcalloc(nloops, sizeof *loops);
  /* Signals go to this thread, which owns the stop and reload flags. */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (size_t i = 0; i < nloops; i++) {
    loops[i].o = o;
    loops[i].cs = &cs;
    loops[i].halt = &halt;
    if (nloops == 1) {
      snprintf(loops[i].consumer, sizeof loops[i].consumer, "%s", o->consumer);
    } else {
      snprintf(loops[i].consumer, sizeof loops[i].consumer, "%s/%zu",
               o->consumer, i + 1);
    }
    if (pthread_create(&loops[i].thread, NULL, loop_run, &loops[i]) != 0) {
      hk_log(HK_LOG_ERROR, "cannot start a worker thread", (const char *)NULL);
      break;
    }
    started++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  while (!*stop && started > 0) {
    if (o->reload != NULL && *o->reload && o->load != NULL) {
      reload(o, &cs);
    }
    hk_sleep_ms(100);
  }
  atomic_store(&halt, 1);
  for (size_t i = 0; i < started; i++) {
    pthread_join(loops[i].thread, NULL);
  }
  hk_kpi_stop(kpis);
  hk_deliverer_stop(deliverer);
  hk_configs_fini(&cs.list);
  free(loops);
  return started > 0 ? HK_E_OK : HK_E_INTERNAL;
}
