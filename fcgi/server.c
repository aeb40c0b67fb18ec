/*
 * server.c -- the libfcgi shell of handoff-fcgi.
 *
 * N threads each loop on FCGX_Accept_r over one listening socket: read the
 * params and the body (capped), hand a struct hk_request to hk_fcgi_handle,
 * write the reply, finish. Deliveries go to Redis through one group commit
 * (store/commit.c) that writes the XADDs of all threads together; each
 * thread keeps a connection of its own for the status API. The config,
 * with its group commit, its memory guard (guard.c) and its handoffs
 * compiled for the status API, is
 * shared by pointer with a reference count, so a reload (SIGHUP) swaps them
 * while requests in flight finish on the old ones, and they are freed once
 * the last of them is done.
 *
 * Kept connections. With `fastcgi_keep_conn on` (the shipped snippet),
 * nginx sends request after request on one connection, and libfcgi keeps
 * the thread that accepted it reading that connection between them: a
 * thread per kept connection, idle ones included. That is why --threads
 * must stay above what nginx keeps (its workers times the upstream's
 * keepalive) plus the requests in flight; docs/deploy.md has the rule.
 *
 * Stopping (SIGTERM) shuts the listening socket down, so the accepts
 * return, and wakes the threads waiting on an idle kept connection (they
 * wait in poll, wait_kept, not in libfcgi's read), which close it and
 * end; requests in hand are finished and their connections closed after
 * the reply, threads are joined. A request nginx sends on a kept
 * connection just as it is closed is not read: nginx, having sent a POST,
 * does not resend it (it is not idempotent) and answers 502, which the
 * snippet turns into its JSON 503 with Retry-After; nothing was queued
 * and the sender retries.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi/server.h"

/* ---------------------------------------------------------------------------
 * The shared config
 * ------------------------------------------------------------------------- */
struct cfg_ref {
  struct hk_config *cfg;
  struct hk_commit *commit; /* the group commit of this config's Redis */
  struct hk_guard *guard;   /* the memory guard of this config's Redis */
  struct hk_sla *sla;       /* cfg's handoffs, compiled */
  unsigned generation;
  int refs; /* guarded by cfg_lock */
};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfg_ref *cfg_current;

static struct cfg_ref *cfg_acquire(void) {
  struct cfg_ref *r;
  pthread_mutex_lock(&cfg_lock);
  r = cfg_current;
  r->refs++;
  pthread_mutex_unlock(&cfg_lock);
  return r;
}

static void cfg_release(struct cfg_ref *r) {
  int last;
  pthread_mutex_lock(&cfg_lock);
  last = (--r->refs == 0);
  pthread_mutex_unlock(&cfg_lock);
  if (last) {
    /* No request holds r: nobody is in its group commit any more. */
    hk_commit_free(r->commit);
    hk_guard_free(r->guard);
    hk_sla_free(r->sla);
    hk_config_free(r->cfg);
    free(r);
  }
}

void hk_server_set_config(struct hk_config *cfg, struct hk_sla *sla) {
  static unsigned generation;
  struct cfg_ref *r = hk_xcalloc(1, sizeof *r);
  struct cfg_ref *old;
  r->cfg = cfg;
  r->sla = sla;
  r->commit = hk_commit_new(&cfg->redis);
  r->guard = hk_guard_new(&cfg->redis);
  r->refs = 1; /* the reference held by cfg_current */
  pthread_mutex_lock(&cfg_lock);
  r->generation = ++generation;
  old = cfg_current;
  cfg_current = r;
  pthread_mutex_unlock(&cfg_lock);
  if (old != NULL) {
    cfg_release(old);
  }
}

void hk_server_clear_config(void) {
  struct cfg_ref *old;
  pthread_mutex_lock(&cfg_lock);
  old = cfg_current;
  cfg_current = NULL;
  pthread_mutex_unlock(&cfg_lock);
  if (old != NULL) {
    cfg_release(old);
  }
}

/* ---------------------------------------------------------------------------
 * One request
 * ------------------------------------------------------------------------- */

/* Reads the body into b (capped at its max). Past the cap it keeps reading
 * and discarding, so the connection stays in step; returns 1 when the body
 * went over the cap. */
static int read_body(FCGX_Request *fr, struct hk_buf *b) {
  char chunk[16384];
  int over = 0;
  const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
  if (cl != NULL && strtoull(cl, NULL, 10) > b->max) {
    over = 1;
  }
  for (;;) {
    int n = FCGX_GetStr(chunk, (int)sizeof chunk, fr->in);
    if (n <= 0) {
      break;
    }
    if (!over && hk_buf_add(b, chunk, (size_t)n) != HK_E_OK) {
      over = 1;
    }
  }
  return over;
}

static void serve_one(FCGX_Request *fr, const struct cfg_ref *r,
                      struct hk_store *st) {
  const struct hk_config *cfg = r->cfg;
  struct hk_header headers[HK_CAP_HEADERS];
  char names[HK_CAP_HEADERS][HK_CAP_HEADER_NAME];
  struct hk_error headers_err = {HK_E_OK, ""};
  struct hk_request req;
  struct hk_req_meta meta;
  struct hk_reply reply;
  struct hk_buf body;
  char head[1024];
  const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
  const char *q;
  char *path;
  size_t hlen;

  memset(&req, 0, sizeof req);
  memset(&meta, 0, sizeof meta);
  hk_buf_init(&body, cfg->max_body);
  hk_reply_init(&reply);
  if (uri == NULL) {
    uri = FCGX_GetParam("DOCUMENT_URI", fr->envp);
  }
  if (uri == NULL) {
    uri = "/";
  }
  q = strchr(uri, '?');
  path = q != NULL ? hk_xstrndup(uri, (size_t)(q - uri)) : hk_xstrdup(uri);

  req.method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
  req.method = req.method != NULL ? req.method : "GET";
  req.path = path;
  req.query = q != NULL ? q + 1 : "";
  req.content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
  if (req.content_type != NULL && *req.content_type == '\0') {
    req.content_type = NULL;
  }
  req.headers = headers;
  if (hk_headers_collect(fr->envp, headers, names, &req.nheaders,
                         &headers_err) != HK_E_OK) {
    meta.headers_refused = &headers_err;
  }
  meta.request_id = FCGX_GetParam("REQUEST_ID", fr->envp);
  meta.guard = r->guard;
  meta.body_too_large = read_body(fr, &body);
  req.body = body.data != NULL ? body.data : "";
  req.body_len = body.len;

  hk_fcgi_handle(cfg, r->sla, st, r->commit, &req, &meta, hk_time_now_ms(),
                 &reply);

  hlen = hk_reply_head(&reply, head, sizeof head);
  FCGX_PutStr(head, (int)hlen, fr->out);
  if (strcmp(req.method, "HEAD") != 0) {
    FCGX_PutStr(reply.body, (int)reply.len, fr->out);
  }
  hk_reply_fini(&reply);
  hk_buf_fini(&body);
  free(path);
}

/* ---------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------- */
static int listen_fd = -1;
static atomic_int stopping;

/* Written once by hk_server_stop and never read: its read end then stays
 * readable, which wakes every thread waiting on a kept connection. */
static int stop_pipe[2] = {-1, -1};

/* Waits until the kept connection fd has something to read (the next
 * request, or nginx closing it) or the server stops. Returns 1 to go on
 * with the connection (libfcgi reads it), 0 to stop. libfcgi would wait
 * in a read of its own, which nothing but nginx could end; here the
 * connection stays libfcgi's, open, and is closed by FCGX_Free. */
static int wait_kept(int fd) {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 || p[0].revents != 0) {
      return 1; /* a request, a close or an error: libfcgi's to read */
    }
    if (p[1].revents != 0) {
      return 0;
    }
  }
}

static void *worker_main(void *arg) {
  FCGX_Request fr;
  struct hk_store *st = NULL;
  unsigned generation = 0;
  int rc = 0;
  (void)arg;
  if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
    hk_log(HK_LOG_ERROR, "cannot initialise a FastCGI request",
           (const char *)NULL);
    return NULL;
  }
  /* Between requests on a kept connection (fr.ipcFd open after
   * FCGX_Finish_r), wait_kept waits, so that a stop ends the wait. */
  while (!stopping && (fr.ipcFd < 0 || wait_kept(fr.ipcFd)) &&
         (rc = FCGX_Accept_r(&fr)) >= 0) {
    struct cfg_ref *r = cfg_acquire();
    if (st == NULL || generation != r->generation) {
      /* A reload may have moved Redis: reconnect with the new settings. */
      hk_store_free(st);
      st = hk_store_new(&r->cfg->redis);
      generation = r->generation;
    }
    serve_one(&fr, r, st);
    /* Finished here rather than by the next accept, so that the kept
     * connection, if any, is known while the thread waits on it. */
    FCGX_Finish_r(&fr);
    cfg_release(r);
  }
  if (!stopping) {
    /* An accept libfcgi gives up on (out of file descriptors, say): this
     * thread is gone, the others go on. */
    char err[16];
    snprintf(err, sizeof err, "%d", -rc);
    hk_log(HK_LOG_ERROR, "a request thread ended: accepting failed", "errno",
           err, (const char *)NULL);
  }
  FCGX_Free(&fr, 1);
  hk_store_free(st);
  return NULL;
}

static pthread_t *threads;
static size_t nthreads;

int hk_server_start(int fd, size_t n) {
  if (FCGX_Init() != 0) {
    return -1;
  }
  if (pipe(stop_pipe) != 0) {
    return -1;
  }
  listen_fd = fd;
  threads = hk_xcalloc(n, sizeof *threads);
  for (nthreads = 0; nthreads < n; nthreads++) {
    if (pthread_create(&threads[nthreads], NULL, worker_main, NULL) != 0) {
      break;
    }
  }
  return nthreads == n ? 0 : -1;
}

void hk_server_stop(void) {
  stopping = 1;
  /* Wakes every thread blocked in accept(); the socket stays open until
   * the threads are joined. */
  shutdown(listen_fd, SHUT_RDWR);
  /* And every one waiting on an idle kept connection (wait_kept); the
   * busy ones see stopping once their request is done. */
  if (write(stop_pipe[1], "x", 1) != 1) {
    hk_log(HK_LOG_WARN, "cannot wake the threads on kept connections",
           (const char *)NULL);
  }
  for (size_t i = 0; i < nthreads; i++) {
    pthread_join(threads[i], NULL);
  }
  free(threads);
  threads = NULL;
  nthreads = 0;
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  stop_pipe[0] = stop_pipe[1] = -1;
}
