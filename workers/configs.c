/*
 * configs.c -- published configs with a count of readers each (see
 * configs.h). One mutex guards the list: readers touch it once per batch,
 * reloads are rare.
 */
#include "workers/configs.h"

#include <stdlib.h>

#include "config/config.h"
#include "core/core.h"
#include "store/store.h"

/* Frees generation gen when nobody holds it and it is not the newest.
 * Called with the lock held. */
static void drop_if_unused(struct hk_configs *cs, size_t gen) {
  if (gen + 1 >= cs->n || cs->refs[gen] > 0 || cs->owned[gen] == NULL) {
    return;
  }
  hk_config_free(cs->owned[gen]);
  cs->owned[gen] = NULL;
  cs->v[gen] = NULL;
}

void hk_configs_init(struct hk_configs *cs, const struct hk_config *first) {
  pthread_mutex_init(&cs->lock, NULL);
  cs->v = hk_xcalloc(1, sizeof(const struct hk_config *));
  cs->owned = hk_xcalloc(1, sizeof(struct hk_config *));
  cs->refs = hk_xcalloc(1, sizeof *cs->refs);
  cs->v[0] = first;
  cs->n = 1;
}

void hk_configs_fini(struct hk_configs *cs) {
  for (size_t i = 0; i < cs->n; i++) {
    hk_config_free(cs->owned[i]);
  }
  free(cs->v);
  free(cs->owned);
  free(cs->refs);
  pthread_mutex_destroy(&cs->lock);
}

void hk_configs_push(struct hk_configs *cs, struct hk_config *cfg) {
  size_t gen;
  pthread_mutex_lock(&cs->lock);
  gen = cs->n;
  cs->v = hk_xrealloc(cs->v, (gen + 1) * sizeof(const struct hk_config *));
  cs->owned = hk_xrealloc(cs->owned, (gen + 1) * sizeof(struct hk_config *));
  cs->refs = hk_xrealloc(cs->refs, (gen + 1) * sizeof *cs->refs);
  cs->v[gen] = cfg;
  cs->owned[gen] = cfg;
  cs->refs[gen] = 0;
  cs->n = gen + 1;
  drop_if_unused(cs, gen - 1);
  pthread_mutex_unlock(&cs->lock);
}

const struct hk_config *hk_configs_acquire(struct hk_configs *cs, size_t *gen) {
  const struct hk_config *cfg;
  pthread_mutex_lock(&cs->lock);
  *gen = cs->n - 1;
  cs->refs[*gen]++;
  cfg = cs->v[*gen];
  pthread_mutex_unlock(&cs->lock);
  return cfg;
}

void hk_configs_release(struct hk_configs *cs, size_t gen) {
  if (gen == HK_CONFIGS_NONE) {
    return;
  }
  pthread_mutex_lock(&cs->lock);
  if (gen < cs->n && cs->refs[gen] > 0) {
    cs->refs[gen]--;
    drop_if_unused(cs, gen);
  }
  pthread_mutex_unlock(&cs->lock);
}

size_t hk_configs_newest(struct hk_configs *cs) {
  size_t gen;
  pthread_mutex_lock(&cs->lock);
  gen = cs->n - 1;
  pthread_mutex_unlock(&cs->lock);
  return gen;
}

size_t hk_configs_alive(struct hk_configs *cs) {
  size_t alive = 0;
  pthread_mutex_lock(&cs->lock);
  for (size_t i = 0; i < cs->n; i++) {
    alive += cs->v[i] != NULL;
  }
  pthread_mutex_unlock(&cs->lock);
  return alive;
}

int hk_gen_store_follow(struct hk_gen_store *s, const struct hk_config *cfg,
                        size_t gen) {
  if (s->st != NULL && s->gen == gen) {
    return 0;
  }
  hk_store_free(s->st);
  s->st = hk_store_new(&cfg->redis);
  s->gen = gen;
  return 1;
}

void hk_gen_store_fini(struct hk_gen_store *s) {
  hk_store_free(s->st);
  s->st = NULL;
  s->gen = HK_CONFIGS_NONE;
}
