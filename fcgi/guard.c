/*
 * guard.c -- the memory guard of intake: Redis's used_memory and maxmemory
 * as last read, so that handoff-fcgi refuses deliveries with 503 and
 * Retry-After while Redis still has room, instead of letting Redis refuse
 * the writes (with noeviction, every write, the workers' too).
 *
 * Reading. INFO memory costs a round trip, so no request pays it but one a
 * second: the request that finds the reading older than
 * HK_GUARD_REFRESH_MS, and no other refreshing it, reads it again on the
 * guard's own connection while every other request takes the last reading
 * as it is. Like the committer of store/commit.c, the refresher is a role,
 * not a thread: an idle responder asks Redis nothing, and a busy one asks
 * once a second. A reading that failed (Redis down) is "unknown" for a
 * period too, so a dead Redis costs one connect timeout a second here, not
 * one per request; intake then answers 503 from the XADD anyway.
 *
 * Deciding. hk_memory_over and hk_memory_reason are pure: the reading and
 * the share in, the verdict and its words out.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fcgi/fcgi.h"

/* How old a reading may be before a request reads it again. Writes keep
 * going in between: the share (redis.memory_guard) leaves the room for a
 * second of them, and Redis's own refusal (-OOM) is a 503 too. */
#define HK_GUARD_REFRESH_MS 1000

struct hk_guard {
  pthread_mutex_t lock;
  struct hk_memory last; /* guarded by lock */
  int64_t read_ms;       /* when last was read; 0: never; guarded by lock */
  int refreshing;        /* a request is reading it; guarded by lock */
  struct hk_store *st;   /* used by the refreshing request only */
};

struct hk_guard *hk_guard_new(const struct hk_redis_conf *conf) {
  struct hk_guard *g = hk_xcalloc(1, sizeof *g);
  pthread_mutex_init(&g->lock, NULL);
  g->st = hk_store_new(conf);
  return g;
}

void hk_guard_free(struct hk_guard *g) {
  if (g == NULL) {
    return;
  }
  hk_store_free(g->st);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

void hk_guard_read(struct hk_guard *g, int64_t now_ms, struct hk_memory *out) {
  struct hk_store_memory m = {0, 0};
  struct hk_error err = {HK_E_OK, ""};
  struct hk_memory next = {0, 0, 0};
  int mine;

  pthread_mutex_lock(&g->lock);
  mine = !g->refreshing &&
         (g->read_ms == 0 || now_ms - g->read_ms >= HK_GUARD_REFRESH_MS ||
          now_ms < g->read_ms);
  if (mine) {
    g->refreshing = 1;
  }
  *out = g->last;
  pthread_mutex_unlock(&g->lock);
  if (!mine) {
    return;
  }

  if (hk_store_memory(g->st, &m, &err) == HK_E_OK) {
    next.known = 1;
    next.used = m.used;
    next.max = m.max;
  } else {
    hk_log(HK_LOG_DEBUG, "redis memory not read", "error", err.msg,
           (const char *)NULL);
  }
  pthread_mutex_lock(&g->lock);
  g->last = next;
  g->read_ms = now_ms;
  g->refreshing = 0;
  *out = next;
  pthread_mutex_unlock(&g->lock);
}

int hk_memory_over(const struct hk_memory *m, double share) {
  return m != NULL && m->known && m->max > 0 &&
         (double)m->used >= share * (double)m->max;
}

/* n bytes in MiB with one decimal, for people. */
static double mib(int64_t n) {
  return (double)n / (1024.0 * 1024.0);
}

void hk_memory_reason(const struct hk_memory *m, double share, char *buf,
                      size_t cap) {
  if (!hk_memory_over(m, share)) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  snprintf(buf, cap,
           "Redis uses %.0f%% of its maxmemory (%.1f of %.1f MiB), over the "
           "memory guard of %.0f%%: deliveries are refused with 503 until "
           "memory is freed or maxmemory raised",
           100.0 * (double)m->used / (double)m->max, mib(m->used), mib(m->max),
           100.0 * share);
}

json_t *hk_memory_json(const struct hk_memory *m, double share) {
  if (m == NULL || !m->known) {
    return json_null();
  }
  return json_pack("{s:I,s:I,s:f,s:b}", "used_bytes", (json_int_t)m->used,
                   "max_bytes", (json_int_t)m->max, "guard", share, "over",
                   hk_memory_over(m, share));
}
