/*
 * commit.c -- the group commit of intake: one thread writes the XADDs of
 * all concurrent requests together (the design is in store.h).
 *
 * A request thread puts a waiter, living on its own stack, at the tail of
 * a FIFO list under the committer's lock, wakes the committer if the list
 * was empty, and sleeps on the waiter's own semaphore. The committer takes
 * up to HK_CAP_COMMIT_BATCH waiters off the head, lets go of its lock for
 * the Redis round trip (hk_store_enqueue_many), writes each outcome into
 * its waiter and posts the waiter's semaphore, holding no lock. Waking a
 * waiter with a condition variable would make it take a mutex the committer
 * still holds while it signals the rest of the batch: on two cores that
 * contention cost one more sleep and wake per request. sem_post and sem_wait
 * order memory (POSIX), so the waiter reads the outcome after its
 * sem_wait returned, and POSIX lets it destroy the semaphore and leave (and
 * free its stack) at once; the committer touches nothing of the waiter's
 * after sem_post.
 *
 * Redis down: hk_store_enqueue_many fails every item of the batch with
 * HK_E_UNAVAILABLE and the next batch tries to connect again, so intake
 * answers 503 while Redis is away and recovers on its own.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/caps.h"
#include "store/store.h"

struct waiter {
  struct hk_store_xadd x; /* written by the committer before it posts done */
  sem_t done;
  struct waiter *next; /* guarded by the committer's lock */
};

struct hk_commit {
  pthread_mutex_t lock;
  pthread_cond_t work;  /* signalled when the list stops being empty */
  struct waiter *head;  /* guarded by lock, as are tail and stopping */
  struct waiter *tail;
  int stopping;
  pthread_t thread;
  struct hk_store *st; /* used by the committer thread only */
};

static void *committer_main(void *arg) {
  struct hk_commit *c = arg;
  struct waiter *taken[HK_CAP_COMMIT_BATCH];
  struct hk_store_xadd *items[HK_CAP_COMMIT_BATCH];

  pthread_mutex_lock(&c->lock);
  for (;;) {
    size_t n = 0;
    while (c->head == NULL && !c->stopping) {
      pthread_cond_wait(&c->work, &c->lock);
    }
    if (c->head == NULL) {
      /* Stopping, and nothing is left to write. */
      break;
    }
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

    for (size_t i = 0; i < n; i++) {
      sem_post(&taken[i]->done);
    }
    pthread_mutex_lock(&c->lock);
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

struct hk_commit *hk_commit_new(const struct hk_redis_conf *conf) {
  struct hk_commit *c = hk_xcalloc(1, sizeof *c);
  sigset_t all;
  sigset_t old;
  int rc;

  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->work, NULL);
  c->st = hk_store_new(conf);
  /* The thread inherits the mask in force when it is created: with every
   * signal blocked, SIGTERM and SIGHUP keep going to the thread that waits
   * for them, whenever the committer is made. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&c->thread, NULL, committer_main, c);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    hk_store_free(c->st);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
  }
  return c;
}

void hk_commit_free(struct hk_commit *c) {
  if (c == NULL) {
    return;
  }
  pthread_mutex_lock(&c->lock);
  c->stopping = 1;
  pthread_cond_signal(&c->work);
  pthread_mutex_unlock(&c->lock);
  pthread_join(c->thread, NULL);
  hk_store_free(c->st);
  pthread_cond_destroy(&c->work);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

enum hk_err hk_commit_enqueue(struct hk_commit *c, const struct hk_delivery *d,
                              char id[HK_STREAM_ID_MAX],
                              struct hk_error *err) {
  struct waiter w;
  enum hk_err rc;

  memset(&w, 0, sizeof w);
  w.x.d = d;
  w.x.rc = HK_E_UNAVAILABLE;
  sem_init(&w.done, 0, 0);

  pthread_mutex_lock(&c->lock);
  if (c->stopping) {
    /* A programmer error (see hk_commit_free), answered as an outage
     * rather than a crash: the sender retries. */
    hk_fail(&w.x.err, HK_E_UNAVAILABLE, "the intake is stopping");
    sem_post(&w.done);
  } else {
    if (c->tail != NULL) {
      c->tail->next = &w;
    } else {
      c->head = &w;
      pthread_cond_signal(&c->work);
    }
    c->tail = &w;
  }
  pthread_mutex_unlock(&c->lock);

  /* Signals are blocked in request threads, but a debugger or a profiler
   * may still interrupt the wait. */
  while (sem_wait(&w.done) != 0 && errno == EINTR) {
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
