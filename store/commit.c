/*
 * commit.c -- the group commit of intake: the XADDs of concurrent requests
 * go to Redis together, pipelined on one connection (the design is in
 * store.h).
 *
 * Who writes. The committer is not a thread of its own but a role: the
 * request thread that queues a delivery while no batch is on the wire
 * becomes the committer. It takes everything queued (itself first, up to
 * HK_CAP_COMMIT_BATCH), lets go of the lock for the Redis round trip
 * (hk_store_enqueue_many), wakes the other waiters of its batch, and hands
 * the role to the first delivery queued meanwhile, if any, before it
 * returns with its own outcome. A dedicated committer thread did the same
 * work, but it had to be woken for every batch and, on two busy cores, then
 * waited in the run queue while the batch grew no larger: bench/intake
 * measured about two deliveries per batch with it and three without, and
 * about 10 points more of the empty responder's throughput without it (see
 * bench/README.md). The thread that writes is already running, and the
 * round trip it waits for is the one it would wait for anyway.
 *
 * Waking. Every waiter lives on its own thread's stack and sleeps on its own
 * semaphore. The committer writes each outcome into its waiter and then
 * posts it; sem_post and sem_wait order memory (POSIX), and a waiter may
 * destroy its semaphore and leave as soon as sem_wait returned: the
 * committer touches nothing of a waiter's after posting it. A condition
 * variable would have each woken waiter take the mutex the committer still
 * holds while it wakes the rest of the batch: one more sleep and wake per
 * request. A waiter woken with `lead` set is the next committer: its
 * delivery is then at the head of the queue, not yet written.
 *
 * Redis down. hk_store_enqueue_many fails every delivery of the batch with
 * HK_E_UNAVAILABLE, so each request answers 503, and the next batch tries to
 * connect again: intake recovers on its own when Redis is back.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "store/store.h"

struct waiter {
  struct hk_store_xadd x; /* written by the committer before it posts done */
  sem_t done;
  int lead;            /* set before done is posted: commit the next batch */
  struct waiter *next; /* guarded by the committer's lock */
};

struct hk_commit {
  pthread_mutex_t lock;
  struct waiter *head; /* queued, not yet taken; guarded by lock */
  struct waiter *tail;
  int writing;         /* a committer is at work; guarded by lock */
  struct hk_store *st; /* used by the committer of the moment only */
};

struct hk_commit *hk_commit_new(const struct hk_redis_conf *conf) {
  struct hk_commit *c = hk_xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  c->st = hk_store_new(conf);
  return c;
}

void hk_commit_free(struct hk_commit *c) {
  if (c == NULL) {
    return;
  }
  hk_store_free(c->st);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Called with c->lock held by the committer of the moment, whose own
 * delivery is at the head of the queue. Writes one batch and passes the
 * role on; returns with the lock released. */
static void commit_batch(struct hk_commit *c) {
  struct waiter *taken[HK_CAP_COMMIT_BATCH];
  struct hk_store_xadd *items[HK_CAP_COMMIT_BATCH];
  size_t n = 0;

  while (c->head != NULL && n < HK_CAP_COMMIT_BATCH) {
    taken[n] = c->head;
    items[n] = &c->head->x;
    c->head = c->head->next;
    n++;
  }
  if (c->head == NULL) {
    c->tail = NULL;
  }
  pthread_mutex_unlock(&c->lock);

  hk_store_enqueue_many(c->st, items, n);

  /* taken[0] is the caller: it is awake. */
  for (size_t i = 1; i < n; i++) {
    sem_post(&taken[i]->done);
  }
  pthread_mutex_lock(&c->lock);
  if (c->head != NULL) {
    c->head->lead = 1;
    sem_post(&c->head->done);
  } else {
    c->writing = 0;
  }
  pthread_mutex_unlock(&c->lock);
}

enum hk_err hk_commit_enqueue(struct hk_commit *c, const struct hk_delivery *d,
                              char id[HK_STREAM_ID_MAX], struct hk_error *err) {
  struct waiter w;
  enum hk_err rc;

  memset(&w, 0, sizeof w);
  w.x.d = d;
  w.x.rc = HK_E_UNAVAILABLE;
  sem_init(&w.done, 0, 0);

  pthread_mutex_lock(&c->lock);
  if (c->tail != NULL) {
    c->tail->next = &w;
  } else {
    c->head = &w;
  }
  c->tail = &w;
  if (!c->writing) {
    /* No batch on the wire, so the queue was empty: w is its head. */
    c->writing = 1;
    commit_batch(c);
  } else {
    pthread_mutex_unlock(&c->lock);
    /* Signals are blocked in request threads, but a debugger or a profiler
     * may still interrupt the wait. */
    while (sem_wait(&w.done) != 0 && errno == EINTR) {
    }
    if (w.lead) {
      pthread_mutex_lock(&c->lock);
      commit_batch(c);
    }
  }
  sem_destroy(&w.done);

  rc = w.x.rc;
  if (rc == HK_E_OK) {
    memcpy(id, w.x.id, sizeof w.x.id);
  } else if (err != NULL) {
    *err = w.x.err;
  }
  return rc;
}
